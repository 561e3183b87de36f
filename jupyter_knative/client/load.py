"""A bounded load generator (hey-like) that never touches the caller's event loop.

The requests run on an asyncio loop of their own, in a background thread, with `concurrency` workers for at
most `duration` seconds, optionally paced to `rps` in total. The caller's thread waits for the summary (a
kernel's own loop is never used, so it works from a notebook cell); `on_progress` hears from the load
thread at most 4 times a second; `stop` (or Ctrl-C in the caller) ends the run early with what was measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import display
from .http import Endpoint

__all__ = ["LoadProgress", "LoadSummary", "percentile", "run_load", "summarize"]

PROGRESS_INTERVAL = 0.25  # seconds: at most 4 progress calls a second
REQUEST_TIMEOUT = 30.0
DRAIN_GRACE = 5.0  # seconds the run waits for requests still in flight after `duration`


@dataclass(frozen=True)
class LoadProgress:
    elapsed: float
    duration: float
    requests: int
    errors: int
    in_flight: int
    rps: float  # over the last interval
    p50: float | None  # latency so far (s)


@dataclass(frozen=True)
class LoadSummary:
    requests: int
    errors: int
    rps: float
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None
    status_codes: dict[int, int]
    duration: float
    concurrency: int = 0
    target: str = ""
    error_kinds: dict[str, int] = field(default_factory=dict)  # transport failures by exception name

    def __str__(self) -> str:
        return display.load_summary_text(self)

    def _repr_html_(self) -> str:
        return display.load_summary_html(self)


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not ordered:
        return None
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def summarize(latencies: Sequence[float], codes: Mapping[int, int], failures: Mapping[str, int], elapsed: float,
              *, concurrency: int = 0, target: str = "") -> LoadSummary:
    """A run's numbers; an error is a failed request or a status outside 200..399."""
    ordered = sorted(latencies)
    answered = sum(codes.values())
    failed = sum(failures.values())
    bad = sum(n for code, n in codes.items() if not 200 <= code < 400)
    total = answered + failed
    return LoadSummary(requests=total, errors=bad + failed, rps=total / elapsed if elapsed > 0 else 0.0,
                       p50=percentile(ordered, 50), p90=percentile(ordered, 90), p99=percentile(ordered, 99),
                       max=ordered[-1] if ordered else None, status_codes=dict(sorted(codes.items())),
                       duration=elapsed, concurrency=concurrency, target=target, error_kinds=dict(failures))


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    codes: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0

    @property
    def done(self) -> int:
        return len(self.latencies) + sum(self.failures.values())

    @property
    def errors(self) -> int:
        return sum(self.failures.values()) + sum(n for c, n in self.codes.items() if not 200 <= c < 400)


@dataclass(frozen=True)
class _Plan:
    endpoint: Endpoint
    method: str
    path: str
    body: bytes | None
    headers: dict[str, str]
    concurrency: int
    duration: float
    rps: float | None


def run_load(endpoint: Endpoint, *, concurrency: int, duration: float, rps: float | None = None, path: str = "/",
             method: str = "GET", body: bytes | None = None, headers: Mapping[str, str] | None = None,
             on_progress: Callable[[LoadProgress], None] | None = None,
             stop: threading.Event | None = None) -> LoadSummary:
    if concurrency < 1:
        raise ValueError(f"concurrency = {concurrency}, must be at least 1")
    if duration <= 0:
        raise ValueError(f"duration = {duration:g}, must be positive")
    if rps is not None and rps <= 0:
        raise ValueError(f"rps = {rps:g}, must be positive")
    plan = _Plan(endpoint, method.upper(), path, body, dict(headers or {}), concurrency, duration, rps)
    stopping = stop or threading.Event()
    outcome: dict[str, Any] = {}

    def main() -> None:
        loop = asyncio.new_event_loop()
        try:
            outcome["summary"] = loop.run_until_complete(_run(plan, on_progress, stopping))
        except BaseException as e:  # handed to the caller's thread
            outcome["error"] = e
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="knative-load", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.1)
    except KeyboardInterrupt:
        stopping.set()
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    summary: LoadSummary = outcome["summary"]
    return summary


async def _run(plan: _Plan, on_progress: Callable[[LoadProgress], None] | None,
               stop: threading.Event) -> LoadSummary:
    import aiohttp

    tally = _Tally()
    started = time.perf_counter()
    deadline = started + plan.duration
    pacer = _Pacer(plan.rps, started)
    connector = aiohttp.TCPConnector(limit=plan.concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False) as session:
        workers = [asyncio.create_task(_worker(session, plan, tally, deadline, pacer, stop))
                   for _ in range(plan.concurrency)]
        reporter = asyncio.create_task(_report(plan, tally, started, on_progress, workers))
        _, pending = await asyncio.wait(workers, timeout=plan.duration + DRAIN_GRACE)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
    elapsed = time.perf_counter() - started
    if on_progress is not None:
        with contextlib.suppress(Exception):
            on_progress(_progress(plan, tally, elapsed, tally.done / elapsed if elapsed > 0 else 0.0))
    return summarize(tally.latencies, tally.codes, tally.failures, elapsed, concurrency=plan.concurrency,
                     target=plan.endpoint.url(plan.path) if not plan.endpoint.host
                     else f"http://{plan.endpoint.host}{plan.path}")


class _Pacer:
    """Hands out send times 1/rps apart across all workers (no pacing without rps)."""

    def __init__(self, rps: float | None, start: float) -> None:
        self.interval = 1.0 / rps if rps else 0.0
        self.next = start

    def slot(self) -> float:
        if not self.interval:
            return 0.0
        now = time.perf_counter()
        at = max(self.next, now)
        self.next = at + self.interval
        return at - now


async def _worker(session: Any, plan: _Plan, tally: _Tally, deadline: float, pacer: _Pacer,
                  stop: threading.Event) -> None:
    import aiohttp

    url = plan.endpoint.url(plan.path)
    headers = {**plan.headers, **({"Host": plan.endpoint.host} if plan.endpoint.host else {})}
    while not stop.is_set():
        wait = pacer.slot()
        if time.perf_counter() + wait >= deadline:
            return
        if wait:
            await asyncio.sleep(wait)
        tally.in_flight += 1
        t0 = time.perf_counter()
        try:
            async with session.request(plan.method, url, data=plan.body, headers=headers) as resp:
                await resp.read()
                tally.codes[resp.status] += 1
                tally.latencies.append(time.perf_counter() - t0)
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            tally.failures[type(e).__name__] += 1
        finally:
            tally.in_flight -= 1


async def _report(plan: _Plan, tally: _Tally, started: float, on_progress: Callable[[LoadProgress], None] | None,
                  workers: list[asyncio.Task[None]]) -> None:
    if on_progress is None:
        return
    last_done, last_at = 0, started
    while not all(w.done() for w in workers):
        await asyncio.sleep(PROGRESS_INTERVAL)
        now = time.perf_counter()
        done = tally.done
        rate = (done - last_done) / (now - last_at) if now > last_at else 0.0
        last_done, last_at = done, now
        with contextlib.suppress(Exception):  # a broken callback must not stop the run
            on_progress(_progress(plan, tally, now - started, rate))


def _progress(plan: _Plan, tally: _Tally, elapsed: float, rate: float) -> LoadProgress:
    return LoadProgress(elapsed=elapsed, duration=plan.duration, requests=tally.done, errors=tally.errors,
                        in_flight=tally.in_flight, rps=rate, p50=percentile(sorted(tally.latencies), 50))
