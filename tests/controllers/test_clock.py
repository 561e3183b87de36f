"""FakeClock: time moves only when advanced, and sleepers wake in deadline order."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_knative.controllers.runtime import FakeClock, RealClock

from .conftest import START


async def test_time_stands_still_until_advanced(clock: FakeClock) -> None:
    assert clock.now() == START and clock.monotonic() == 0
    await clock.advance(1.5)
    assert clock.now() == START + 1.5 and clock.monotonic() == 1.5


async def test_sleepers_wake_in_deadline_order(clock: FakeClock) -> None:
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in [("c", 3), ("a", 1), ("b", 2), ("a2", 1)]]
    await clock.advance(2.5)
    assert woke == [("a", 1), ("a2", 1), ("b", 2)]
    await clock.advance(1)
    assert woke[-1] == ("c", 3)
    await asyncio.gather(*tasks)


async def test_sleeps_started_during_an_advance_are_honoured(clock: FakeClock) -> None:
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            await clock.sleep(1)
            ticks.append(clock.monotonic())

    task = asyncio.create_task(ticker())
    await clock.advance(3.5)
    assert ticks == [1, 2, 3]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert clock.sleepers == 0


async def test_next_deadline_and_zero_sleep(clock: FakeClock) -> None:
    assert clock.next_deadline() is None
    await clock.sleep(0)  # a plain yield
    task = asyncio.create_task(clock.sleep(4))
    await asyncio.sleep(0)
    assert clock.next_deadline() == pytest.approx(4)
    await clock.advance(4)
    assert task.done()


async def test_cannot_go_backwards(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="backwards"):
        await clock.advance(-1)


async def test_real_clock() -> None:
    real = RealClock()
    before = real.monotonic()
    await real.sleep(0)
    assert real.monotonic() >= before and real.now() > 1e9
