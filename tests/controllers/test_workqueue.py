"""The work queue: client-go's de-duplication, delays and per-key backoff, on a FakeClock."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_knative.controllers.runtime import (
    BucketRateLimiter,
    FakeClock,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    WorkQueue,
    default_rate_limiter,
)


async def drain(q: WorkQueue[str]) -> list[str]:
    """Everything queued now, in order (each marked done)."""
    out: list[str] = []
    while len(q):
        key = await q.get()
        assert key is not None
        out.append(key)
        q.done(key)
    return out


@pytest.mark.parametrize(("adds", "expected"), [
    pytest.param(["a"], ["a"], id="one"),
    pytest.param(["a", "a", "a"], ["a"], id="duplicates-collapse"),
    pytest.param(["a", "b", "a", "c", "b"], ["a", "b", "c"], id="first-add-keeps-its-place"),
    pytest.param([], [], id="empty"),
])
async def test_dedup(clock: FakeClock, adds: list[str], expected: list[str]) -> None:
    q: WorkQueue[str] = WorkQueue(clock)
    for key in adds:
        q.add(key)
    assert len(q) == len(expected)
    assert await drain(q) == expected


async def test_key_added_while_processing_is_requeued_after_done(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock)
    q.add("a")
    key = await q.get()
    assert key == "a" and q.processing == {"a"}
    q.add("a")
    q.add("a")
    assert len(q) == 0, "a key being processed is not handed out twice"
    q.done("a")
    assert len(q) == 1
    assert await drain(q) == ["a"]
    assert len(q) == 0


async def test_done_without_re_add_does_not_requeue(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock)
    q.add("a")
    assert await q.get() == "a"
    q.done("a")
    assert len(q) == 0 and not q.processing


async def test_get_waits_for_add(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock)
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    assert not getter.done()
    q.add("x")
    assert await getter == "x"


async def test_shutdown_wakes_getters_with_none_and_ignores_adds(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock)
    getters = [asyncio.create_task(q.get()) for _ in range(3)]
    await asyncio.sleep(0)
    q.shutdown()
    assert await asyncio.gather(*getters) == [None, None, None]
    q.add("late")
    assert len(q) == 0
    assert await q.get() is None


async def test_shutdown_cancels_pending_delays(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock)
    q.add_after("a", 5)
    await asyncio.sleep(0)
    q.shutdown()
    await clock.advance(10)
    assert len(q) == 0 and clock.sleepers == 0


@pytest.mark.parametrize(("delays", "expected"), [
    pytest.param({"a": 3, "b": 1, "c": 2}, ["b", "c", "a"], id="by-deadline"),
    pytest.param({"a": 1, "b": 1}, ["a", "b"], id="ties-in-add-order"),
    pytest.param({"a": 0, "b": 2}, ["a", "b"], id="zero-is-immediate"),
])
async def test_add_after_ordering(clock: FakeClock, delays: dict[str, float], expected: list[str]) -> None:
    q: WorkQueue[str] = WorkQueue(clock)
    seen: list[str] = []
    for key, delay in delays.items():
        q.add_after(key, delay)
    for _ in range(4):
        seen += await drain(q)
        await clock.advance(1)
    assert seen == expected


async def test_add_after_not_before_its_time(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock)
    q.add_after("a", 0.3)
    await clock.advance(0.299)
    assert len(q) == 0
    assert q.waiting() == {"a": pytest.approx(0.001)}
    await clock.advance(0.001)
    assert len(q) == 1 and q.waiting() == {}


async def test_add_after_keeps_the_earlier_deadline(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock)
    q.add_after("a", 10)
    q.add_after("a", 2)
    q.add_after("a", 5)
    await clock.advance(2)
    assert await drain(q) == ["a"]
    await clock.advance(20)
    assert len(q) == 0, "the superseded timers do not fire"


async def test_backoff_sequence(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock)
    expected = [0.005, 0.01, 0.02, 0.04, 0.08, 0.16]
    for i, delay in enumerate(expected):
        q.add_rate_limited("a")
        assert q.waiting() == {"a": pytest.approx(delay)}
        assert q.num_requeues("a") == i + 1
        await clock.advance(delay - 0.0001)
        assert len(q) == 0
        await clock.advance(0.0001)
        assert await drain(q) == ["a"]
    q.forget("a")
    assert q.num_requeues("a") == 0
    q.add_rate_limited("a")
    assert q.waiting() == {"a": pytest.approx(0.005)}, "forget resets the backoff"


async def test_backoff_is_per_key(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock)
    for _ in range(3):
        q.add_rate_limited("a")
        await clock.advance(1)
        await drain(q)
    q.add_rate_limited("b")
    assert q.waiting() == {"b": pytest.approx(0.005)}
    assert q.num_requeues("a") == 3


@pytest.mark.parametrize(("failures", "delay"), [
    pytest.param(0, 0.005, id="first"),
    pytest.param(1, 0.01, id="second"),
    pytest.param(10, 5.12, id="eleventh"),
    pytest.param(17, 655.36, id="under-cap"),
    pytest.param(18, 1000.0, id="capped"),
    pytest.param(5000, 1000.0, id="no-overflow"),
])
def test_item_exponential_limiter(failures: int, delay: float) -> None:
    limiter: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter()
    for _ in range(failures):
        limiter.when("k")
    assert limiter.when("k") == pytest.approx(delay)


def test_bucket_limiter_allows_a_burst_then_paces(clock: FakeClock) -> None:
    bucket: BucketRateLimiter[str] = BucketRateLimiter(clock, qps=10, burst=100)
    assert [bucket.when(str(i)) for i in range(100)] == [0.0] * 100
    assert bucket.when("x") == pytest.approx(0.1)
    assert bucket.when("y") == pytest.approx(0.2)


def test_default_limiter_is_the_max_of_both(clock: FakeClock) -> None:
    limiter: MaxOfRateLimiter[str] = default_rate_limiter(clock)
    delays = [limiter.when(f"k{i}") for i in range(101)]
    assert delays[:100] == [pytest.approx(0.005)] * 100, "per-key backoff while the bucket has tokens"
    assert delays[100] == pytest.approx(0.1), "then the overall bucket paces retries"
    assert limiter.num_requeues("k0") == 1
