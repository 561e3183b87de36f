"""Broker ingress over real HTTP: Knative's status-code table, TTL defaulting and arrival time (eventing.md §3.1)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jupyter_knative.eventing.broker import MAX_TTL, default_ttl
from jupyter_knative.eventing.plane import EventingPlane

from .plane_helpers import INGRESS, BrokerWiring, Subscriber, broker_obj, ce_headers, post


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[EventingPlane]:
    plane = EventingPlane(tmp_path / "eventing.db")
    await plane.start()
    yield plane
    await plane.stop()


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(None, 255, id="absent"),
    pytest.param(10, 9, id="int"),
    pytest.param("10", 9, id="string"),
    pytest.param(1, 0, id="one"),
    pytest.param(0, 0, id="floored"),
    pytest.param(-5, 0, id="negative"),
    pytest.param("abc", 255, id="non-integer"),
    pytest.param("1.5", 255, id="decimal"),
    pytest.param(2**31, 255, id="beyond-int32"),
    pytest.param(True, 255, id="bool"),
])
def test_ttl_defaulter(value: object, expected: int) -> None:
    assert default_ttl(value) == expected
    assert MAX_TTL == 255


async def test_options_answers_webhook_abuse_protection(plane: EventingPlane) -> None:
    resp = await post(plane.port, "/ns1/default", method="OPTIONS", body=b"")
    assert resp.status == 200
    assert resp.headers["webhook-allowed-origin"] == "*"
    assert resp.headers["webhook-allowed-rate"] == "*"


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_other_methods_get_405(plane: EventingPlane, method: str) -> None:
    resp = await post(plane.port, "/ns1/default", method=method, headers=ce_headers())
    assert resp.status == 405
    assert resp.headers["allow"] == "POST, OPTIONS"


@pytest.mark.parametrize(("path", "headers", "status"), [
    pytest.param("/", ce_headers(), 404, id="root"),
    pytest.param("/knative/ns/name", ce_headers(), 400, id="three-segments"),
    pytest.param("/ns1", ce_headers(), 400, id="one-segment"),
    pytest.param("/ns1/nope", {"content-type": "application/json"}, 400, id="not-an-event-before-unknown-broker"),
    pytest.param("/ns1/nope", {**ce_headers(), "ce-source": ""}, 400, id="invalid-event"),
    pytest.param("/ns1/nope", ce_headers(), 404, id="unknown-broker"),
    pytest.param("/ns1/default", ce_headers(knativebrokerttl="1"), 400, id="ttl-exhausted"),
    pytest.param("/ns1/default", ce_headers(knativebrokerttl="0"), 400, id="ttl-zero"),
    pytest.param("/ns1/default", ce_headers(), 202, id="accepted"),
    pytest.param("/ns1/default/", ce_headers(), 202, id="trailing-slash"),
    pytest.param("/ns1/default", ce_headers(knativebrokerttl="2"), 202, id="ttl-two"),
])
async def test_status_table(plane: EventingPlane, path: str, headers: dict[str, str], status: int) -> None:
    BrokerWiring(plane)
    resp = await post(plane.port, path, headers=headers)
    assert resp.status == status


async def test_broker_without_channel_annotation_is_500(plane: EventingPlane) -> None:
    plane.set_broker("ns1", "notready", broker_obj("ns1", "notready", ready=False))
    assert (await post(plane.port, "/ns1/notready", headers=ce_headers())).status == 500
    # the TTL check comes first
    assert (await post(plane.port, "/ns1/notready", headers=ce_headers(knativebrokerttl="1"))).status == 400


async def test_broker_removed_is_404(plane: EventingPlane) -> None:
    BrokerWiring(plane)
    plane.set_broker("ns1", "default", None)
    assert (await post(plane.port, "/ns1/default", headers=ce_headers())).status == 404


async def test_loopback_host_and_structured_mode(plane: EventingPlane) -> None:
    async with Subscriber() as sub:
        BrokerWiring(plane).add_trigger("t1", sub.url)
        event = {"specversion": "1.0", "id": "s1", "type": "t", "source": "/s", "data": {"a": 1}}
        resp = await post(plane.port, "/ns1/default", host=f"127.0.0.1:{plane.port}",
                          headers={"content-type": "application/cloudevents+json"}, body=json.dumps(event).encode())
        assert resp.status == 202
        (request,) = await sub.wait_for(1)
        assert request.ce("id") == "s1"
        assert json.loads(request.body) == {"a": 1}


async def test_ttl_and_arrival_time_reach_the_channel(plane: EventingPlane) -> None:
    async with Subscriber() as sub:
        # a plain channel subscriber of the broker's channel sees what ingress enqueued, TTL included
        wiring = BrokerWiring(plane)
        wiring.subscribers.append({"uid": "raw", "subscriberUri": sub.url})
        wiring._sync()
        assert (await post(plane.port, "/ns1/default", headers=ce_headers("a"))).status == 202
        assert (await post(plane.port, "/ns1/default", headers=ce_headers("b", knativebrokerttl="7"))).status == 202
        assert (await post(plane.port, "/ns1/default", headers=ce_headers("c", knativebrokerttl="x"))).status == 202
        requests = await sub.wait_for(3)
        ttl = {r.ce("id"): r.ce("knativebrokerttl") for r in requests}
        assert ttl == {"a": "255", "b": "6", "c": "255"}
        for r in requests:
            arrival = r.ce("knativearrivaltime")
            assert arrival is not None and arrival.endswith("Z") and arrival[10] == "T"
            assert r.headers["prefer"] == "reply"
            assert r.headers["kn-namespace"] == "ns1"


async def test_unknown_host_is_404(plane: EventingPlane) -> None:
    resp = await post(plane.port, "/ns1/default", host="example.com", headers=ce_headers())
    assert resp.status == 404
    assert INGRESS.startswith("broker-ingress")


async def test_pass_through_headers_are_forwarded(plane: EventingPlane) -> None:
    async with Subscriber() as sub:
        BrokerWiring(plane).add_trigger("t1", sub.url)
        headers = {**ce_headers(), "x-request-id": "rid-1", "knative-custom": "k", "x-other": "dropped",
                   "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
        assert (await post(plane.port, "/ns1/default", headers=headers)).status == 202
        (request,) = await sub.wait_for(1)
        assert request.headers["x-request-id"] == "rid-1"
        assert request.headers["knative-custom"] == "k"
        assert "x-other" not in request.headers
        assert request.headers["traceparent"].startswith("00-0af7")
        assert request.ce("knativebrokerttl") is None  # the filter hides it
