"""The last deliveries per trigger and channel subscriber (`EventingPlane.recent`), over real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_knative.eventing.cloudevent import CloudEvent
from jupyter_knative.eventing.metrics import FlowLabels
from jupyter_knative.eventing.plane import EventingPlane
from jupyter_knative.eventing.recent import RECENT_PER_SUBSCRIBER, RecentLog, entry, to_dicts

from .plane_helpers import (
    BrokerWiring,
    Request,
    Subscriber,
    ce_headers,
    channel_obj,
    eventually,
    fail_times,
    post,
    subscriber_entry,
)

WALL = 1_750_000_000.25


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[EventingPlane]:
    plane = EventingPlane(tmp_path / "eventing.db", wall=lambda: WALL)
    await plane.start()
    yield plane
    await plane.stop()


def only(items: list[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    return [item for item in items if all(item[k] == v for k, v in match.items())]


async def test_delivered_and_retried_delivery(plane: EventingPlane) -> None:
    async with Subscriber(fail_times(2)) as sub:
        uid = BrokerWiring(plane).add_trigger("t1", sub.url, delivery={"retry": 3, "backoffDelay": "PT0.01S"})
        headers = ce_headers("e1", type="order.created", source="/shop", subject="o-7", time="2026-01-02T03:04:05Z")
        assert (await post(plane.port, "/ns1/default", headers=headers)).status == 202
        await eventually(lambda: len(plane.recent("ns1")) == 1)
    (got,) = plane.recent("ns1")
    assert got == {"namespace": "ns1", "channel": "default-kne-trigger", "subscription_uid": f"sub-{uid}",
                   "subscription_name": "", "broker": "default", "trigger": "t1", "id": "e1",
                   "type": "order.created", "source": "/shop", "subject": "o-7", "time": "2026-01-02T03:04:05Z",
                   "outcome": "delivered", "response_code": 200, "attempts": 3, "at": "2025-06-15T15:06:40.250Z"}
    assert plane.recent("other") == []
    assert plane.recent(None) == [got]


async def test_failed_without_and_with_dead_letter_sink(plane: EventingPlane) -> None:
    async with Subscriber(fail_times(99, status=400)) as bad, Subscriber() as dls:
        wiring = BrokerWiring(plane)
        wiring.add_trigger("lost", bad.url, delivery={"retry": 0})
        wiring.add_trigger("kept", bad.url, delivery={"retry": 1, "backoffDelay": "PT0.01S"}, dls=dls.url)
        assert (await post(plane.port, "/ns1/default", headers=ce_headers("e2"))).status == 202
        await eventually(lambda: len(plane.recent("ns1")) == 2)
    (lost,) = only(plane.recent("ns1"), trigger="lost")
    assert (lost["outcome"], lost["response_code"], lost["attempts"]) == ("failed", 400, 1)
    # one entry per delivery: the dead letter hop replaces "failed", keeping the subscriber's answer
    (kept,) = only(plane.recent("ns1"), trigger="kept")
    assert (kept["outcome"], kept["response_code"], kept["attempts"]) == ("dead_lettered", 400, 1)
    # 400 is not retryable: one attempt despite retry 1; the counters still say failed then dead-lettered
    assert plane.trigger_stats()[("ns1", "kept")] == {"delivered": 0, "retried": 0, "failed": 1,
                                                      "dead_lettered": 1}


async def test_filtered_events_are_not_deliveries(plane: EventingPlane) -> None:
    async with Subscriber() as sub:
        BrokerWiring(plane).add_trigger("picky", sub.url, filter={"type": "wanted"})
        assert (await post(plane.port, "/ns1/default", headers=ce_headers("skip", type="other"))).status == 202
        assert (await post(plane.port, "/ns1/default", headers=ce_headers("take", type="wanted"))).status == 202
        await sub.wait_for(1)
        await eventually(lambda: plane.pending() == 0)
    assert [item["id"] for item in plane.recent("ns1")] == ["take"]


async def test_channel_subscriber_with_reply_and_bounded_history(plane: EventingPlane) -> None:
    def echo(request: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        return 200, [(b"ce-specversion", b"1.0"), (b"ce-id", b"r-" + (request.ce("id") or "").encode()),
                     (b"ce-type", b"reply"), (b"ce-source", b"/echo")], b""

    async with Subscriber(echo) as sub, Subscriber() as sink:
        plane.set_channel("ns2", "ch", channel_obj("ns2", "ch", [
            {**subscriber_entry("s-uid", sub.url, reply=sink.url), "name": "my-sub"}]))
        total = RECENT_PER_SUBSCRIBER + 5
        for i in range(total):
            assert (await post(plane.port, "/ns2/ch", host="ch-kn-channel.ns2.svc.cluster.local",
                               headers=ce_headers(f"e{i}"))).status == 202
        await sink.wait_for(total)
        await eventually(lambda: plane.pending() == 0)
    items = plane.recent("ns2")
    assert len(items) == RECENT_PER_SUBSCRIBER
    assert {item["id"] for item in items} == {f"e{i}" for i in range(5, total)}
    first = items[0]
    assert (first["channel"], first["subscription_uid"], first["subscription_name"], first["trigger"]) == (
        "ch", "s-uid", "my-sub", "")
    # the reply hop finished the delivery; the code is still the subscriber's
    assert (first["outcome"], first["response_code"], first["attempts"]) == ("delivered", 200, 1)


async def test_a_removed_subscriber_takes_its_history(plane: EventingPlane) -> None:
    async with Subscriber() as sub:
        plane.set_channel("ns3", "ch", channel_obj("ns3", "ch", [subscriber_entry("u1", sub.url)]))
        assert (await post(plane.port, "/ns3/ch", host="ch-kn-channel.ns3.svc.cluster.local",
                           headers=ce_headers())).status == 202
        await eventually(lambda: len(plane.recent("ns3")) == 1)
        plane.set_channel("ns3", "ch", channel_obj("ns3", "ch", []))
    assert plane.recent("ns3") == []


def test_entries_render_lazily_and_sort_across_subscribers() -> None:
    a = RecentLog(FlowLabels("ns", "c", "a"), size=2)
    b = RecentLog(FlowLabels("ns", "c", "b"))
    other = RecentLog(FlowLabels("elsewhere", "c", "x"))
    event = CloudEvent({"id": "1", "type": "t", "source": "/s"})
    a.entries.extend([entry(3.0, event, 0, 200, 1), entry(1.0, event, 2, None, 4), entry(5.0, event, 3, 500, 2)])
    b.entries.append(entry(4.0, event, 0, 202, 1))
    other.entries.append(entry(0.0, event, 0, 200, 1))
    got = to_dicts([a, b, other], "ns")
    # a's deque of 2 dropped its oldest entry (finished at 3.0); the rest are ordered by finishing time
    assert [(g["subscription_uid"], g["outcome"]) for g in got] == [("a", "failed"), ("b", "delivered"),
                                                                     ("a", "dead_lettered")]
    assert got[0]["subject"] is None and got[0]["time"] is None and got[0]["at"] == "1970-01-01T00:00:01.000Z"
    assert len(to_dicts([a, b, other], None)) == 4
