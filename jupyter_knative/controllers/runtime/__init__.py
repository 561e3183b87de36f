"""The machinery every controller shares, and nothing specific to any kind.

    clock.py       Clock protocol, RealClock, FakeClock (time passes only through these)
    workqueue.py   de-duplicating work queue with delays and per-key exponential backoff
    informer.py    list-then-watch cache of one resource type with add/update/delete handlers
    controller.py  Result, PermanentError, ObjectKey, Controller (the reconcile loop), wiring helpers
    manager.py     shared informers + controllers + loops, started and stopped together
    events.py      EventRecorder writing core/v1 Events like client-go's recorder
"""

from .clock import Clock, FakeClock, RealClock, settle
from .controller import (
    Controller,
    ObjectKey,
    PermanentError,
    Result,
    controller_of,
    watch_mapped,
    watch_objects,
    watch_owned,
)
from .events import NORMAL, WARNING, EventCorrelator, EventRecorder, go_sprintf, object_reference
from .informer import EventHandler, Informer
from .manager import Manager
from .workqueue import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    WorkQueue,
    default_rate_limiter,
)

__all__ = [
    "NORMAL",
    "WARNING",
    "BucketRateLimiter",
    "Clock",
    "Controller",
    "EventCorrelator",
    "EventHandler",
    "EventRecorder",
    "FakeClock",
    "Informer",
    "ItemExponentialFailureRateLimiter",
    "Manager",
    "MaxOfRateLimiter",
    "ObjectKey",
    "PermanentError",
    "RateLimiter",
    "RealClock",
    "Result",
    "WorkQueue",
    "controller_of",
    "default_rate_limiter",
    "go_sprintf",
    "object_reference",
    "settle",
    "watch_mapped",
    "watch_objects",
    "watch_owned",
]
