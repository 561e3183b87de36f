"""A work queue with client-go's semantics: de-duplication, delayed adds and per-key backoff.

A key is queued at most once. A key being processed is never handed to a second worker: adding it again
marks it dirty, and `done` puts it back in the queue. `add_after` waits on the injected clock;
`add_rate_limited` waits as long as the rate limiter says, which by default is controller-runtime's
(per-key exponential backoff 5 ms → 1000 s, combined with an overall 10 qps / 100 burst token bucket).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

from .clock import Clock, RealClock

K = TypeVar("K", bound=Hashable)
K_contra = TypeVar("K_contra", bound=Hashable, contravariant=True)

BASE_DELAY = 0.005
MAX_DELAY = 1000.0
BUCKET_QPS = 10.0
BUCKET_BURST = 100


class RateLimiter(Protocol[K_contra]):
    def when(self, key: K_contra) -> float:
        """Seconds to wait before the key's next retry (and count the retry)."""
        ...

    def forget(self, key: K_contra) -> None:
        ...

    def num_requeues(self, key: K_contra) -> int:
        ...


class ItemExponentialFailureRateLimiter(Generic[K]):
    """`base * 2**failures`, capped at `maximum`, counted per key until it is forgotten."""

    def __init__(self, base: float = BASE_DELAY, maximum: float = MAX_DELAY) -> None:
        self.base = base
        self.maximum = maximum
        self._failures: dict[K, int] = {}

    def when(self, key: K) -> float:
        exp = self._failures.get(key, 0)
        self._failures[key] = exp + 1
        if exp >= 1024:  # 2**exp would overflow a float long before; the cap applies anyway
            return self.maximum
        return min(self.base * 2.0**exp, self.maximum)

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: K) -> int:
        return self._failures.get(key, 0)


class BucketRateLimiter(Generic[K]):
    """An overall token bucket (`golang.org/x/time/rate`'s reservation semantics): each call takes a
    token; when the bucket is empty the call is told how long until its token would have refilled."""

    def __init__(self, clock: Clock, qps: float = BUCKET_QPS, burst: int = BUCKET_BURST) -> None:
        self._clock = clock
        self.qps = qps
        self.burst = burst
        self._tokens = float(burst)
        self._last = clock.monotonic()

    def when(self, key: K) -> float:
        now = self._clock.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, key: K) -> None:
        return None

    def num_requeues(self, key: K) -> int:
        return 0


class MaxOfRateLimiter(Generic[K]):
    """The longest wait any of the limiters asks for; requeues counted by the most pessimistic one."""

    def __init__(self, *limiters: RateLimiter[K]) -> None:
        self.limiters = limiters

    def when(self, key: K) -> float:
        return max((limiter.when(key) for limiter in self.limiters), default=0.0)

    def forget(self, key: K) -> None:
        for limiter in self.limiters:
            limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return max((limiter.num_requeues(key) for limiter in self.limiters), default=0)


def default_rate_limiter(clock: Clock) -> MaxOfRateLimiter[K]:
    """controller-runtime's (and client-go's) `DefaultTypedControllerRateLimiter`."""
    return MaxOfRateLimiter(ItemExponentialFailureRateLimiter(BASE_DELAY, MAX_DELAY),
                            BucketRateLimiter(clock, BUCKET_QPS, BUCKET_BURST))


class WorkQueue(Generic[K]):
    def __init__(self, clock: Clock | None = None, rate_limiter: RateLimiter[K] | None = None,
                 name: str = "") -> None:
        self.name = name
        self._clock: Clock = clock or RealClock()
        self.rate_limiter: RateLimiter[K] = rate_limiter or default_rate_limiter(self._clock)
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._getters: deque[asyncio.Future[None]] = deque()
        self._waiting: dict[K, tuple[float, asyncio.Task[None]]] = {}  # add_after: key -> (ready at, timer)
        self._shutting_down = False

    # --- the basic queue --------------------------------------------------------------------------

    def add(self, key: K) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return  # `done` queues it again
        self._queue.append(key)
        self._wake_getter()

    async def get(self) -> K | None:
        """The next key, marked as being processed; None once the queue is shut down."""
        while not self._queue and not self._shutting_down:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and self._queue:
                    self._wake_getter()  # pass the wake-up on: this getter will not take the key
                raise
            finally:
                if waiter in self._getters:
                    self._getters.remove(waiter)
        if self._shutting_down:
            return None
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty and not self._shutting_down:
            self._queue.append(key)
            self._wake_getter()

    def __len__(self) -> int:
        return len(self._queue)

    def __contains__(self, key: object) -> bool:
        return key in self._dirty

    @property
    def processing(self) -> frozenset[K]:
        return frozenset(self._processing)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def shutdown(self) -> None:
        """Stop handing out keys: getters get None, adds are ignored, pending delays are cancelled."""
        self._shutting_down = True
        for _, timer in self._waiting.values():
            timer.cancel()
        self._waiting.clear()
        for waiter in self._getters:
            if not waiter.done():
                waiter.set_result(None)

    # --- delays -----------------------------------------------------------------------------------

    def add_after(self, key: K, delay: float) -> None:
        """Add the key once `delay` seconds have passed on the clock; a key already waiting keeps the
        earlier of its two deadlines."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        ready_at = self._clock.monotonic() + delay
        pending = self._waiting.get(key)
        if pending is not None:
            if pending[0] <= ready_at:
                return
            pending[1].cancel()
        timer = asyncio.get_running_loop().create_task(self._fire(key, delay), name=f"workqueue-after:{key}")
        self._waiting[key] = (ready_at, timer)

    async def _fire(self, key: K, delay: float) -> None:
        await self._clock.sleep(delay)
        self._waiting.pop(key, None)
        self.add(key)

    def waiting(self) -> dict[K, float]:
        """Keys waiting in `add_after`, with the seconds left until each is added."""
        now = self._clock.monotonic()
        return {key: ready_at - now for key, (ready_at, _) in self._waiting.items()}

    # --- rate limiting ----------------------------------------------------------------------------

    def add_rate_limited(self, key: K) -> None:
        self.add_after(key, self.rate_limiter.when(key))

    def forget(self, key: K) -> None:
        self.rate_limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return self.rate_limiter.num_requeues(key)

    # --- internals --------------------------------------------------------------------------------

    def _wake_getter(self) -> None:
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
