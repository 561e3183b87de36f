"""The apiserver's event TTL (`--event-ttl`, one hour by default): core Events not written for that long
are deleted. etcd expires them with a lease renewed on every write; here a periodic sweep on the clock
deletes those whose latest timestamp is older than the TTL."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...api.status import NotFound
from ..runtime import Clock, Manager

if TYPE_CHECKING:
    from ...store import Store

log = logging.getLogger(__name__)

EVENT_TTL = 3600.0
SWEEP_INTERVAL = 60.0
RUNNABLE_NAME = "event-ttl"


def _seconds(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def last_written(event: dict[str, Any]) -> float | None:
    """The latest of the times an Event records about itself: when it was last seen, its series' last
    observation, its eventTime, or failing all of those when it was created."""
    series = event.get("series") or {}
    created = (event.get("metadata") or {}).get("creationTimestamp")
    times = [_seconds(event.get("lastTimestamp")), _seconds(series.get("lastObservedTime")),
             _seconds(event.get("eventTime")), _seconds(created)]
    known = [t for t in times if t is not None]
    return max(known) if known else None


class EventTTL:
    def __init__(self, store: Store, clock: Clock, *, ttl: float = EVENT_TTL,
                 interval: float = SWEEP_INTERVAL) -> None:
        self.store = store
        self.clock = clock
        self.ttl = ttl
        self.interval = interval

    def sweep(self) -> int:
        """Delete expired Events now; returns how many."""
        rt = self.store.registry.by_kind("", "Event")
        if rt is None:
            return 0
        cutoff = self.clock.now() - self.ttl
        entries, _ = self.store.entries(rt)
        expired = [e.obj["metadata"] for e in entries if (last_written(e.obj) or cutoff) < cutoff]
        for meta in expired:
            try:
                self.store.delete(rt, meta["namespace"], meta["name"])
            except NotFound:
                continue
        if expired:
            log.debug("event-ttl: deleted %d expired events", len(expired))
        return len(expired)

    async def run(self) -> None:
        while True:
            try:
                self.sweep()
            except Exception:
                log.exception("event-ttl: sweep failed")
            await self.clock.sleep(self.interval)

    def register(self, manager: Manager) -> None:
        manager.add_runnable(RUNNABLE_NAME, self.run)
