"""A POST straight to an InMemoryChannel: fan-out to every subscriber, 202/500, async-handler (eventing.md §1.4)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jupyter_knative.eventing.plane import EventingPlane

from .plane_helpers import Request, Subscriber, ce_headers, channel_obj, fail_times, post, subscriber_entry

HOST = "ch-kn-channel.ns1.svc.cluster.local"


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[EventingPlane]:
    plane = EventingPlane(tmp_path / "eventing.db", fanout_timeout=1.0)
    await plane.start()
    yield plane
    await plane.stop()


async def test_fan_out_to_every_subscriber(plane: EventingPlane) -> None:
    async with Subscriber() as a, Subscriber() as b, Subscriber(fail_times(1, status=500)) as c:
        plane.set_channel("ns1", "ch", channel_obj("ns1", "ch", [
            subscriber_entry("a", a.url), subscriber_entry("b", b.url),
            subscriber_entry("c", c.url, delivery={"retry": 1})]))
        resp = await post(plane.port, "/", host=HOST, headers=ce_headers("e1"))
        assert resp.status == 202
        # synchronous: every subscriber had it before the answer
        assert [len(s.requests) for s in (a, b, c)] == [1, 1, 2]
        assert all(s.requests[-1].ce("id") == "e1" for s in (a, b, c))
        assert "knativebrokerttl" not in a.requests[0].headers


async def test_one_failing_subscriber_makes_it_500(plane: EventingPlane) -> None:
    async with Subscriber() as good, Subscriber(fail_times(99, status=503)) as bad:
        plane.set_channel("ns1", "ch", channel_obj("ns1", "ch", [
            subscriber_entry("good", good.url), subscriber_entry("bad", bad.url, delivery={"retry": 1})]))
        resp = await post(plane.port, "/", host=HOST, headers=ce_headers())
        assert resp.status == 500
        assert len(good.requests) == 1
        assert len(bad.requests) == 2
        assert plane.flow_stats()[("ns1", "ch", "bad")]["failed"] == 1


async def test_failure_taken_by_the_dead_letter_sink_is_success(plane: EventingPlane) -> None:
    async with Subscriber(fail_times(99, status=500)) as bad, Subscriber() as dls:
        plane.set_channel("ns1", "ch", channel_obj("ns1", "ch", [subscriber_entry("bad", bad.url, dls=dls.url)]))
        assert (await post(plane.port, "/", host=HOST, headers=ce_headers())).status == 202
        assert len(dls.requests) == 1
        # ... but a failing DLS too is a failure
        plane.set_channel("ns1", "ch", channel_obj("ns1", "ch", [subscriber_entry("bad", bad.url, dls=bad.url)]))
        assert (await post(plane.port, "/", host=HOST, headers=ce_headers())).status == 500


async def test_async_handler_answers_when_durable(plane: EventingPlane) -> None:
    async def slow(request: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        await asyncio.sleep(0.5)
        return 500, [], b""

    async with Subscriber(slow) as sub:
        plane.set_channel("ns1", "ch", channel_obj("ns1", "ch", [subscriber_entry("s", sub.url)], async_handler=True))
        start = time.monotonic()
        assert (await post(plane.port, "/", host=HOST, headers=ce_headers())).status == 202
        assert time.monotonic() - start < 0.4
        await sub.wait_for(1)


async def test_fan_out_timeout_is_500(plane: EventingPlane) -> None:
    async def slow(request: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        await asyncio.sleep(2)
        return 200, [], b""

    async with Subscriber(slow) as sub:
        plane.set_channel("ns1", "ch", channel_obj("ns1", "ch", [subscriber_entry("s", sub.url)]))
        start = time.monotonic()
        assert (await post(plane.port, "/", host=HOST, headers=ce_headers())).status == 500
        assert 0.9 <= time.monotonic() - start < 1.8


async def test_channel_status_codes(plane: EventingPlane) -> None:
    plane.set_channel("ns1", "ch", channel_obj("ns1", "ch", []))
    assert (await post(plane.port, "/", host=HOST, headers=ce_headers())).status == 202  # nobody to wait for
    assert (await post(plane.port, "/", host="nope-kn-channel.ns1.svc.cluster.local",
                       headers=ce_headers())).status == 404
    assert (await post(plane.port, "/", host=HOST, headers={"content-type": "text/plain"})).status == 400
    assert (await post(plane.port, "/", host=HOST, headers=ce_headers(), method="GET")).status == 405
    assert (await post(plane.port, "/ns1/ch", host="imc-dispatcher.knative-eventing.svc",
                       headers=ce_headers())).status == 202
    plane.set_channel("ns1", "ch", None)
    assert (await post(plane.port, "/", host=HOST, headers=ce_headers())).status == 404


async def test_removed_subscriber_loses_its_pending_deliveries(plane: EventingPlane) -> None:
    async with Subscriber(fail_times(99, status=503)) as sub:
        plane.set_channel("ns1", "ch", channel_obj("ns1", "ch", [
            subscriber_entry("s", sub.url, delivery={"retry": 50, "backoffPolicy": "linear",
                                                     "backoffDelay": "PT1S"})], async_handler=True))
        assert (await post(plane.port, "/", host=HOST, headers=ce_headers())).status == 202
        await sub.wait_for(2)
        assert plane.pending() == 1
        plane.set_channel("ns1", "ch", channel_obj("ns1", "ch", [], async_handler=True))
        assert plane.pending() == 0
        plane.journal.flush()
        assert plane.journal.db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0
        assert plane.journal.db.execute("SELECT count(*) FROM events").fetchone()[0] == 0


async def test_reply_into_another_channel_is_in_process(plane: EventingPlane) -> None:
    def reply(request: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        return 200, [(b"ce-specversion", b"1.0"), (b"ce-id", b"step2"), (b"ce-type", b"r"),
                     (b"ce-source", b"/s")], b""

    async with Subscriber(reply) as step1, Subscriber() as step2:
        plane.set_channel("ns1", "c0", channel_obj("ns1", "c0", [
            subscriber_entry("s1", step1.url, reply="http://c1-kn-channel.ns1.svc.cluster.local")]))
        plane.set_channel("ns1", "c1", channel_obj("ns1", "c1", [subscriber_entry("s2", step2.url)]))
        resp = await post(plane.port, "/", host="c0-kn-channel.ns1.svc.cluster.local", headers=ce_headers("in"))
        assert resp.status == 202
        (request,) = await step2.wait_for(1)
        assert request.ce("id") == "step2"
