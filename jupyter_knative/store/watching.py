"""Watch subscriptions: the store pushes changes in resourceVersion order, a reader awaits them."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..api.status import StatusError

Predicate = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED
    obj: dict[str, Any]  # shared, never mutate
    raw: bytes  # the object's JSON
    rv: int
    type_key: str


class Watch:
    """One watcher's queue. Bounded: a reader that falls too far behind is closed with an error,
    as the apiserver drops slow watchers, so it re-lists instead of growing memory without end."""

    def __init__(self, type_key: str | None, namespace: str | None, predicate: Predicate | None,
                 on_close: Callable[[Watch], None], limit: int = 100_000) -> None:
        self.type_key = type_key
        self.namespace = namespace
        self.predicate = predicate
        self._on_close = on_close
        self._limit = limit
        self._queue: deque[WatchEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.error: StatusError | None = None

    def wants(self, type_key: str, namespace: str) -> bool:
        return (self.type_key is None or self.type_key == type_key) and \
            (self.namespace is None or self.namespace == namespace)

    def matches(self, obj: dict[str, Any] | None) -> bool:
        return obj is not None and (self.predicate is None or self.predicate(obj))

    def push(self, event: WatchEvent) -> None:
        if self.closed:
            return
        if len(self._queue) >= self._limit:
            self.close(StatusError("watch channel is full: the reader is too slow"))
            return
        self._queue.append(event)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def drain(self) -> list[WatchEvent]:
        """Everything queued now, without waiting."""
        events = list(self._queue)
        self._queue.clear()
        return events

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until events are queued or the watch closes; False on timeout."""
        if self._queue or self.closed:
            return True
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self._waiter), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiter = None

    async def next(self, timeout: float | None = None) -> WatchEvent | None:
        """The next event, or None on timeout or when closed."""
        if not self._queue and not await self.wait(timeout):
            return None
        return self._queue.popleft() if self._queue else None

    def close(self, error: StatusError | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        self.error = error
        self._on_close(self)
        self._wake()

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> WatchEvent:
        event = await self.next()
        if event is None:
            raise StopAsyncIteration
        return event
