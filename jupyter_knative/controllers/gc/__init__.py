"""The garbage collector (owner references, background / foreground / orphan cascading deletion) and the
apiserver's event TTL.

    references.py  owner-reference and finalizer helpers (pure)
    collector.py   GarbageCollector: follows the store, attempt-to-delete and attempt-to-orphan queues
    eventttl.py    EventTTL: deletes core Events not written for an hour
"""

from .collector import DELETE_QUEUE, ORPHAN_QUEUE, GarbageCollector, new_garbage_collector
from .eventttl import EVENT_TTL, SWEEP_INTERVAL, EventTTL, last_written
from .references import FOREGROUND, ORPHAN

__all__ = ["DELETE_QUEUE", "EVENT_TTL", "FOREGROUND", "ORPHAN", "ORPHAN_QUEUE", "SWEEP_INTERVAL", "EventTTL",
           "GarbageCollector", "last_written", "new_garbage_collector"]
