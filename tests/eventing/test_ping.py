"""PingSource ticks: the event Knative's adapter sends, when it sends it, and how it retries (virtual time)."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from typing import Any

import pytest

from jupyter_knative.controllers.runtime import FakeClock
from jupyter_knative.eventing.cloudevent import CloudEvent
from jupyter_knative.eventing.ping import (
    PingScheduler,
    backoff,
    make_event,
    ping_config,
    rfc3339,
    send_with_retries,
)

START = 1_800_000_000.0  # 2027-01-15T08:00:00Z, a Friday
SINK = "http://sink.default.svc.cluster.local/"
UUID = "4f6bb7a4-1f3a-4a8a-9d7a-3a0c2b1e8f00"


def ping(name: str = "ping", *, schedule: str = "* * * * *", timezone: str | None = "UTC", sink: str | None = SINK,
         data: str | None = None, data_base64: str | None = None, content_type: str | None = None,
         extensions: dict[str, str] | None = None, deleting: bool = False) -> dict[str, Any]:
    """A PingSource as the controllers hand it over."""
    spec: dict[str, Any] = {"schedule": schedule}
    for key, value in (("timezone", timezone), ("data", data), ("dataBase64", data_base64),
                       ("contentType", content_type)):
        if value is not None:
            spec[key] = value
    if extensions is not None:
        spec["ceOverrides"] = {"extensions": extensions}
    meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": "u-" + name, "generation": 1}
    if deleting:
        meta["deletionTimestamp"] = "2027-01-15T08:00:00Z"
    return {"apiVersion": "sources.knative.dev/v1", "kind": "PingSource", "metadata": meta, "spec": spec,
            "status": {"sinkUri": sink} if sink else {}}


def event_for(obj: dict[str, Any]) -> CloudEvent:
    config = ping_config("default", obj["metadata"]["name"], obj)
    assert config is not None
    return make_event(config, UUID, START + 0.25)


class Sink:
    """Records every send with the virtual time it happened at; answers from a script of statuses."""

    def __init__(self, clock: FakeClock, answers: Callable[[int], int | Exception] = lambda n: 202) -> None:
        self.clock = clock
        self.answers = answers
        self.calls: list[tuple[float, str, CloudEvent]] = []

    async def __call__(self, url: str, event: CloudEvent) -> int:
        self.calls.append((self.clock.now() - START, url, event))
        answer = self.answers(len(self.calls))
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def times(self) -> list[float]:
        return [round(t, 3) for t, _, _ in self.calls]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


# --- the event -------------------------------------------------------------------------------------------

def test_event_without_data_has_no_body_and_no_content_type() -> None:
    event = event_for(ping(content_type="application/json"))
    assert event.attributes == {"specversion": "1.0", "id": UUID, "type": "dev.knative.sources.ping",
                                "source": "/apis/v1/namespaces/default/pingsources/ping",
                                "time": "2027-01-15T08:00:00.25Z"}
    assert event.data is None


def test_event_with_data_carries_it_with_the_content_type() -> None:
    event = event_for(ping(data='{"message": "Hello world!"}', content_type="application/json"))
    assert event.data == b'{"message": "Hello world!"}'
    assert event.attributes["datacontenttype"] == "application/json"


def test_event_with_data_base64_carries_the_decoded_bytes() -> None:
    raw = bytes([0, 1, 2, 255])
    event = event_for(ping(data_base64=base64.b64encode(raw).decode(), content_type="application/octet-stream"))
    assert (event.data, event.attributes["datacontenttype"]) == (raw, "application/octet-stream")


def test_data_without_content_type_has_no_datacontenttype() -> None:
    event = event_for(ping(data="hello"))
    assert event.data == b"hello"
    assert "datacontenttype" not in event.attributes


def test_ce_overrides_become_extensions_but_never_replace_context_attributes() -> None:
    event = event_for(ping(extensions={"team": "blue", "Region": "eu", "type": "hijack", "source": "x"}))
    assert (event.attributes["team"], event.attributes["region"]) == ("blue", "eu")
    assert (event.attributes["type"], event.attributes["source"]) == (
        "dev.knative.sources.ping", "/apis/v1/namespaces/default/pingsources/ping")


@pytest.mark.parametrize(("obj", "why"), [
    pytest.param(None, "gone", id="gone"),
    pytest.param(ping(sink=None), "no sink", id="no-sink"),
    pytest.param(ping(deleting=True), "deleting", id="deleting"),
    pytest.param(ping(data_base64="!!!"), "bad base64", id="bad-base64"),
])
def test_sources_that_get_no_timer(obj: dict[str, Any] | None, why: str) -> None:
    assert ping_config("default", "ping", obj) is None, why


def test_time_is_rfc3339_in_utc() -> None:
    assert rfc3339(START) == "2027-01-15T08:00:00Z"
    assert rfc3339(START + 0.000001) == "2027-01-15T08:00:00.000001Z"


# --- when it fires ---------------------------------------------------------------------------------------

async def test_fires_at_each_matching_second_after_a_random_delay(clock: FakeClock) -> None:
    sink = Sink(clock)
    draws = iter([0.0, 0.9999, 0.5])
    scheduler = PingScheduler(sink, clock=clock, rand=lambda: next(draws))
    scheduler.set_source("default", "ping", ping())
    await scheduler.start()
    await clock.advance(59.9)
    assert sink.calls == []
    await clock.advance(3 * 60)
    assert sink.times == [60.0, 120.499, 180.25]
    ids = {event.attributes["id"] for _, _, event in sink.calls}
    assert len(ids) == 3
    assert [event.attributes["time"] for _, _, event in sink.calls] == [
        "2027-01-15T08:01:00Z", "2027-01-15T08:02:00.499Z", "2027-01-15T08:03:00.25Z"]
    assert {url for _, url, _ in sink.calls} == {SINK}
    await scheduler.stop()


async def test_six_field_schedule_fires_on_seconds(clock: FakeClock) -> None:
    sink = Sink(clock)
    scheduler = PingScheduler(sink, clock=clock, rand=lambda: 0.0)
    scheduler.set_source("default", "ping", ping(schedule="*/10 * * * * *"))
    await scheduler.start()
    await clock.advance(35)
    assert sink.times == [10.0, 20.0, 30.0]
    await scheduler.stop()


async def test_the_timezone_decides_the_hour(clock: FakeClock) -> None:
    sink = Sink(clock)
    scheduler = PingScheduler(sink, clock=clock, rand=lambda: 0.0)
    scheduler.set_source("default", "ping", ping(schedule="30 9 * * *", timezone="Europe/Paris"))  # 08:30Z in winter
    await scheduler.start()
    await clock.advance(3600)
    assert sink.times == [1800.0]
    await scheduler.stop()


async def test_a_tick_does_not_wait_for_the_previous_send(clock: FakeClock) -> None:
    first_id: list[str] = []

    class FailingFirst(Sink):
        async def __call__(self, url: str, event: CloudEvent) -> int:
            first_id[:] = first_id or [event.attributes["id"]]
            await super().__call__(url, event)
            return 503 if event.attributes["id"] == first_id[0] else 202

    sink = FailingFirst(clock)
    scheduler = PingScheduler(sink, clock=clock, rand=lambda: 0.0)
    scheduler.set_source("default", "ping", ping(schedule="* * * * * *"))
    await scheduler.start()
    await clock.advance(3.5)
    assert sink.times == [1.0, 1.1, 1.3, 1.7, 2.0, 2.5, 3.0]  # the first tick's retries interleave with the next
    await scheduler.stop()


async def test_ticks_missed_while_stopped_are_not_replayed(clock: FakeClock) -> None:
    sink = Sink(clock)
    first = PingScheduler(sink, clock=clock, rand=lambda: 0.0)
    first.set_source("default", "ping", ping())
    await first.start()
    await clock.advance(61)
    await first.stop()
    await clock.advance(300)  # the daemon is down for five minutes
    second = PingScheduler(sink, clock=clock, rand=lambda: 0.0)
    second.set_source("default", "ping", ping())
    await second.start()
    await clock.advance(60)
    assert sink.times == [60.0, 420.0]
    await second.stop()


async def test_sources_set_before_start_are_scheduled_at_start(clock: FakeClock) -> None:
    sink = Sink(clock)
    scheduler = PingScheduler(sink, clock=clock, rand=lambda: 0.0)
    scheduler.set_source("default", "a", ping("a"))
    scheduler.set_source("default", "b", ping("b", sink=None))
    assert scheduler.scheduled() == []
    await scheduler.start()
    assert scheduler.scheduled() == [("default", "a")]
    await scheduler.stop()


# --- updates and deletes ---------------------------------------------------------------------------------

async def test_an_update_reschedules(clock: FakeClock) -> None:
    sink = Sink(clock)
    scheduler = PingScheduler(sink, clock=clock, rand=lambda: 0.0)
    scheduler.set_source("default", "ping", ping())
    await scheduler.start()
    await clock.advance(61)
    scheduler.set_source("default", "ping", ping(schedule="*/5 * * * *", sink="http://other/", data="x"))
    await clock.advance(300)
    assert sink.times == [60.0, 300.0]
    assert sink.calls[1][1] == "http://other/"
    assert sink.calls[1][2].data == b"x"
    await scheduler.stop()


async def test_a_status_only_update_keeps_the_timer(clock: FakeClock) -> None:
    sink = Sink(clock)
    scheduler = PingScheduler(sink, clock=clock, rand=lambda: 0.0)
    scheduler.set_source("default", "ping", ping())
    await scheduler.start()
    await clock.advance(30)
    before = scheduler._timers[("default", "ping")]
    updated = ping()
    updated["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    scheduler.set_source("default", "ping", updated)
    assert scheduler._timers[("default", "ping")] is before
    await clock.advance(31)
    assert sink.times == [60.0]
    await scheduler.stop()


@pytest.mark.parametrize("gone", [None, ping(sink=None), ping(deleting=True)], ids=["deleted", "sink-lost", "deleting"])
async def test_removing_a_source_cancels_its_timer(clock: FakeClock, gone: dict[str, Any] | None) -> None:
    sink = Sink(clock)
    scheduler = PingScheduler(sink, clock=clock, rand=lambda: 0.0)
    scheduler.set_source("default", "ping", ping())
    await scheduler.start()
    await clock.advance(61)
    scheduler.set_source("default", "ping", gone)
    assert scheduler.scheduled() == []
    await clock.advance(600)
    assert sink.times == [60.0]
    await scheduler.stop()


async def test_a_bad_schedule_gets_no_timer(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    sink = Sink(clock)
    scheduler = PingScheduler(sink, clock=clock, rand=lambda: 0.0)
    with caplog.at_level(logging.WARNING):
        scheduler.set_source("default", "ping", ping(schedule="2"))
        await scheduler.start()
        await clock.advance(120)
    assert sink.calls == []
    assert scheduler.scheduled() == []
    assert "expected 5 to 6 fields, found 1: [2]" in caplog.text


async def test_stop_cancels_ticks_in_flight(clock: FakeClock) -> None:
    sink = Sink(clock)
    scheduler = PingScheduler(sink, clock=clock, rand=lambda: 0.9)  # each tick waits 450 ms before sending
    scheduler.set_source("default", "ping", ping())
    await scheduler.start()
    await clock.advance(60.1)
    await scheduler.stop()
    await clock.advance(60)
    assert sink.calls == []


# --- retries ---------------------------------------------------------------------------------------------

def test_backoff_doubles_from_100_ms() -> None:
    assert [backoff(n) for n in range(1, 6)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6])


async def run_send(clock: FakeClock, answers: Callable[[int], int | Exception]) -> tuple[Sink, int | None]:
    sink = Sink(clock, answers)
    config = ping_config("default", "ping", ping())
    assert config is not None
    event = make_event(config, UUID, clock.now())
    result: list[int | None] = []

    async def go() -> None:
        result.append(await send_with_retries(sink, SINK, event, clock.sleep))

    task = asyncio.ensure_future(go())
    await clock.advance(10)
    await task
    return sink, result[0]


async def test_retries_five_times_with_exponential_backoff(clock: FakeClock) -> None:
    sink, status = await run_send(clock, lambda n: 503)
    assert status == 503
    assert sink.times == [0.0, 0.1, 0.3, 0.7, 1.5, 3.1]
    assert len({event.attributes["id"] for _, _, event in sink.calls}) == 1  # the same event each time


async def test_stops_retrying_on_success(clock: FakeClock) -> None:
    sink, status = await run_send(clock, lambda n: 429 if n < 3 else 202)
    assert (status, sink.times) == (202, [0.0, 0.1, 0.3])


async def test_transport_errors_are_retried(clock: FakeClock) -> None:
    sink, status = await run_send(clock, lambda n: ConnectionRefusedError("refused") if n == 1 else 200)
    assert (status, sink.times) == (200, [0.0, 0.1])


async def test_all_transport_errors_give_no_status(clock: FakeClock) -> None:
    sink, status = await run_send(clock, lambda n: OSError("down"))
    assert (status, len(sink.calls)) == (None, 6)


@pytest.mark.parametrize("code", [400, 401, 403, 500])
async def test_other_failures_are_not_retried(clock: FakeClock, code: int) -> None:
    sink, status = await run_send(clock, lambda n: code)
    assert (status, sink.times) == (code, [0.0])

