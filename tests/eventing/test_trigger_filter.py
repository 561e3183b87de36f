"""The trigger filter endpoint over real HTTP (eventing.md §3.2), and filtering through the whole broker path."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jupyter_knative.eventing.plane import EventingPlane

from .plane_helpers import FILTER, BrokerWiring, Request, Subscriber, ce_headers, eventually, post


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[EventingPlane]:
    plane = EventingPlane(tmp_path / "eventing.db")
    await plane.start()
    yield plane
    await plane.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def filter_post(plane: EventingPlane, path: str, headers: dict[str, str] | None = None,
                      method: str = "POST"):  # type: ignore[no-untyped-def]
    return await post(plane.port, path, host=FILTER, headers=headers, method=method)


async def test_filter_status_table(plane: EventingPlane) -> None:
    wiring = BrokerWiring(plane)
    uid = wiring.add_trigger("t1", "http://127.0.0.1:9/")
    no_sub = wiring.add_trigger("nosub", None)
    ttl = ce_headers(knativebrokerttl="10")
    assert (await filter_post(plane, f"/triggers/ns1/t1/{uid}", ttl, method="GET")).status == 405
    assert (await filter_post(plane, f"/triggers/ns1/t1/{uid}", ttl, method="GET")).headers["allow"] == "POST"
    assert (await filter_post(plane, "/triggers/ns1/t1", ttl)).status == 400
    assert (await filter_post(plane, f"/other/ns1/t1/{uid}", ttl)).status == 400
    assert (await filter_post(plane, f"/triggers/ns1/t1/{uid}/reply/more", ttl)).status == 400
    assert (await filter_post(plane, f"/triggers/ns1/nope/{uid}", ttl)).status == 404
    assert (await filter_post(plane, "/triggers/ns1/t1/wrong-uid", ttl)).status == 400
    assert (await filter_post(plane, f"/triggers/ns1/t1/{uid}", {"content-type": "text/plain"})).status == 400
    assert (await filter_post(plane, f"/triggers/ns1/t1/{uid}", ce_headers())).status == 400  # no TTL
    assert (await filter_post(plane, f"/triggers/ns1/nosub/{no_sub}", ttl)).status == 404


async def test_subscriber_answers(plane: EventingPlane) -> None:
    answers = {
        "empty": (202, [], b""),
        "reply": (200, [(b"ce-specversion", b"1.0"), (b"ce-id", b"r1"), (b"ce-type", b"reply.type"),
                        (b"ce-source", b"/sub"), (b"content-type", b"text/plain")], b"pong"),
        "garbage": (200, [(b"content-type", b"text/plain")], b"not an event"),
        "unavailable": (503, [(b"retry-after", b"3"), (b"x-private", b"no")], b"try later"),
    }

    def behave(request: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        return answers[request.ce("id") or ""]

    async with Subscriber(behave) as sub:
        wiring = BrokerWiring(plane)
        uid = wiring.add_trigger("t1", sub.url)
        path = f"/triggers/ns1/t1/{uid}"

        resp = await filter_post(plane, path, ce_headers("empty", knativebrokerttl="10"))
        assert (resp.status, resp.body) == (202, b"")
        assert sub.requests[-1].ce("knativebrokerttl") is None  # hidden from the subscriber
        assert sub.requests[-1].headers["prefer"] == "reply"
        assert sub.requests[-1].headers["kn-namespace"] == "ns1"

        resp = await filter_post(plane, path, ce_headers("reply", knativebrokerttl="10"))
        assert resp.status == 200
        assert resp.headers["ce-id"] == "r1"
        assert resp.headers["ce-knativebrokerttl"] == "10"  # put back, not decremented
        assert resp.body == b"pong"

        assert (await filter_post(plane, path, ce_headers("garbage", knativebrokerttl="10"))).status == 502

        resp = await filter_post(plane, path, ce_headers("unavailable", knativebrokerttl="10"))
        assert resp.status == 503
        assert resp.headers["retry-after"] == "3"
        assert "x-private" not in resp.headers
        assert resp.json() == {"errdestination": sub.url,
                               "errresponsebody": base64.b64encode(b"try later").decode()}


async def test_transport_failure_is_500(plane: EventingPlane) -> None:
    wiring = BrokerWiring(plane)
    uid = wiring.add_trigger("t1", f"http://127.0.0.1:{free_port()}/")
    resp = await filter_post(plane, f"/triggers/ns1/t1/{uid}", ce_headers(knativebrokerttl="10"))
    assert resp.status == 500


async def test_non_matching_filter_answers_200_empty(plane: EventingPlane) -> None:
    async with Subscriber() as sub:
        wiring = BrokerWiring(plane)
        uid = wiring.add_trigger("t1", sub.url, filter={"type": "wanted"})
        resp = await filter_post(plane, f"/triggers/ns1/t1/{uid}", ce_headers(type="other", knativebrokerttl="5"))
        assert (resp.status, resp.body) == (200, b"")
        assert sub.requests == []


async def test_filters_through_the_broker(plane: EventingPlane) -> None:
    async with Subscriber() as everything, Subscriber() as orders, Subscriber() as dialects:
        wiring = BrokerWiring(plane)
        wiring.add_trigger("all", everything.url)
        wiring.add_trigger("orders", orders.url, filter={"type": "order.created", "source": ""})
        wiring.add_trigger("dialects", dialects.url,
                           filters=[{"prefix": {"type": "order."}}, {"cesql": "knativebrokerttl > 100"}])
        events = [("1", "order.created", "/shop", None), ("2", "order.deleted", "/shop", None),
                  ("3", "user.created", "/users", None), ("4", "order.created", "/shop", "50")]
        for event_id, type_, source, ttl in events:
            headers = ce_headers(event_id, type=type_, source=source)
            if ttl:
                headers["ce-knativebrokerttl"] = ttl
            assert (await post(plane.port, "/ns1/default", headers=headers)).status == 202
        await everything.wait_for(4)
        await eventually(lambda: plane.pending() == 0)
        assert sorted(r.ce("id") or "" for r in everything.requests) == ["1", "2", "3", "4"]
        assert sorted(r.ce("id") or "" for r in orders.requests) == ["1", "4"]
        assert sorted(r.ce("id") or "" for r in dialects.requests) == ["1", "2"]  # TTL 49 on event 4
        stats = plane.trigger_stats()
        assert stats[("ns1", "all")]["delivered"] == 4
        assert stats[("ns1", "orders")]["delivered"] == 2


async def test_structured_format_for_the_subscriber(plane: EventingPlane) -> None:
    async with Subscriber() as sub:
        BrokerWiring(plane).add_trigger("t1", sub.url, delivery={"format": "json"})
        assert (await post(plane.port, "/ns1/default", headers=ce_headers("j1"))).status == 202
        (request,) = await sub.wait_for(1)
        assert request.headers["content-type"].startswith("application/cloudevents+json")
        document = json.loads(request.body)
        assert document["id"] == "j1"
        assert document["data"] == {"hello": "world"}
        assert "knativebrokerttl" not in document
