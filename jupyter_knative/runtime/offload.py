"""Run blocking user code off the event loop, in a thread pool made in the process that uses it.

A replica answers many requests at once (Knative's default `containerConcurrency` is unlimited), so a
synchronous function that sleeps or does I/O must not stall the loop: like Starlette and Flask under
gunicorn's threads, each call runs in a worker thread. The pool is created on first use, so a zygote
(which must stay single-threaded to fork safely) never has one, and each forked replica makes its own.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["SYNC_CALLS_ENV", "Offload", "SyncCaller"]

T = TypeVar("T")
_DONE = object()


class Offload:
    """A lazily created, per-process thread pool."""

    def __init__(self, max_workers: int = 64) -> None:
        self.max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0

    def _executor(self) -> ThreadPoolExecutor:
        pid = os.getpid()
        if self._pool is None or self._pid != pid:  # never reuse a pool across fork(): its threads are gone
            self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="function")
            self._pid = pid
        return self._pool

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(self._executor(), ctx.run, fn, *args)

    async def iterate(self, iterator: Iterator[Any]) -> AsyncIterator[Any]:
        """Pull a blocking iterator (a streaming body) one item per thread hop."""
        while True:
            item = await self.call(next, iterator, _DONE)
            if item is _DONE:
                return
            yield item


SYNC_CALLS_ENV = "JUPYTER_KNATIVE_SYNC_CALLS"
"""`auto` (default), `thread` or `inline`: how a synchronous user function is called."""
BLOCKED_WAIT = 0.002  # seconds a call spent waiting (wall time minus its thread's CPU time)
BLOCKED_WALL = 0.050  # seconds a call may hold the loop at all


class SyncCaller:
    """Call a synchronous function on the loop until it shows that it blocks, then in threads.

    A function that returns in microseconds costs a thread hop more than it costs to run (a hello
    function serves about twice the requests inline), but one that sleeps or waits on I/O would stall
    every other request of the replica. So, in `auto` mode, calls run inline while each one is quick
    and spends its time computing; the first call that waited more than 2 ms (wall time minus the
    thread's CPU time) or ran longer than 50 ms moves the function to threads for the rest of the
    process's life. Worst case: that one call held the loop once.
    """

    def __init__(self, function: Callable[..., Any], offload: Offload) -> None:
        self.function = function
        self.offload = offload
        self.inline: bool | None = None  # decided on first call, in the replica (its environment)
        self.adaptive = True

    async def __call__(self, *args: Any) -> Any:
        if self.inline is None:
            self.inline = os.environ.get(SYNC_CALLS_ENV, "auto").strip().lower() != "thread"
            self.adaptive = os.environ.get(SYNC_CALLS_ENV, "auto").strip().lower() != "inline"
        if not self.inline:
            return await self.offload.call(self.function, *args)
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return self.function(*args)
        finally:
            if self.adaptive:
                wall = time.perf_counter() - wall
                if wall > BLOCKED_WALL or wall - (time.thread_time() - cpu) > BLOCKED_WAIT:
                    self.inline = False
