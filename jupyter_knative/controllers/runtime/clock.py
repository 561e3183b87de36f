"""Time, injected: controllers read and wait on a `Clock`, so tests run on a virtual one.

Nothing in controller logic calls `time.time()` or sleeps for real; it asks the clock. `FakeClock` only
moves when a test advances it, and wakes sleepers in deadline order as it goes.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol

# A date well inside the store's timestamp range, so fake times print like real ones.
DEFAULT_FAKE_START = 1_800_000_000.0
# Loop turns `FakeClock` gives woken tasks to run before it moves on to the next deadline.
DEFAULT_SETTLE_TURNS = 100


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock time in unix seconds (for timestamps written into objects)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for deadlines and backoff)."""
        ...

    async def sleep(self, seconds: float) -> None:
        ...


class RealClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


async def settle(turns: int = DEFAULT_SETTLE_TURNS) -> None:
    """Give the event loop `turns` turns, so tasks woken by a change run to their next await."""
    for _ in range(turns):
        await asyncio.sleep(0)


def _ns(seconds: float) -> int:
    return round(seconds * 1_000_000_000)


class FakeClock:
    """A virtual clock: time moves only through `advance`; `now` and `monotonic` move together.

    Time is kept in integer nanoseconds, so a sleep of 0.005 s ends exactly after advancing 0.0049 s and
    then 0.0001 s, whatever the float rounding of the wall-clock value."""

    def __init__(self, start: float = DEFAULT_FAKE_START, *,
                 settle_turns: int = DEFAULT_SETTLE_TURNS) -> None:
        self._start = float(start)
        self._elapsed = 0  # nanoseconds since start
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self.settle_turns = settle_turns

    def now(self) -> float:
        return self._start + self._elapsed / 1e9

    def monotonic(self) -> float:
        return self._elapsed / 1e9

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._elapsed + max(1, _ns(seconds)), next(self._seq), future))
        await future

    @property
    def sleepers(self) -> int:
        """How many sleeps are pending (cancelled ones excluded)."""
        return sum(1 for _, _, f in self._sleepers if not f.done())

    def next_deadline(self) -> float | None:
        """Seconds until the earliest pending sleep ends, or None."""
        self._drop_cancelled()
        return (self._sleepers[0][0] - self._elapsed) / 1e9 if self._sleepers else None

    async def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, stopping at each sleeper's deadline to wake it (in deadline
        order, ties in the order they went to sleep) and letting the loop settle before going on, so that
        sleeps started by woken tasks within the interval are honoured too."""
        if seconds < 0:
            raise ValueError(f"cannot advance a clock backwards: {seconds}")
        target = self._elapsed + _ns(seconds)
        await settle(self.settle_turns)
        while True:
            self._drop_cancelled()
            if not self._sleepers or self._sleepers[0][0] > target:
                break
            self._elapsed = max(self._elapsed, self._sleepers[0][0])
            self._wake_due()
            await settle(self.settle_turns)
        self._elapsed = target
        await settle(self.settle_turns)

    def _wake_due(self) -> None:
        while self._sleepers and self._sleepers[0][0] <= self._elapsed:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    def _drop_cancelled(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
