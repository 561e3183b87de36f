"""Prometheus text of the plane, host routing, object reading and the sources' `send`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jupyter_knative.eventing.cloudevent import CloudEvent
from jupyter_knative.eventing.model import broker_info, channel_info
from jupyter_knative.eventing.plane import EventingPlane
from jupyter_knative.eventing.routes import Kind, classify_request, classify_url, host_only

from .plane_helpers import (
    FILTER,
    INGRESS,
    BrokerWiring,
    Subscriber,
    broker_obj,
    ce_headers,
    channel_obj,
    eventually,
    fail_times,
    post,
    subscriber_entry,
)


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[EventingPlane]:
    plane = EventingPlane(tmp_path / "eventing.db")
    await plane.start()
    yield plane
    await plane.stop()


def samples(text: bytes) -> dict[str, float]:
    out = {}
    for line in text.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


async def test_metrics_text(plane: EventingPlane) -> None:
    async with Subscriber(fail_times(1, status=500)) as sub:
        BrokerWiring(plane).add_trigger("t1", sub.url, delivery={"retry": 1})
        assert (await post(plane.port, "/ns1/default", headers=ce_headers(type="a.b"))).status == 202
        assert (await post(plane.port, "/ns1/default", headers=ce_headers(knativebrokerttl="1"))).status == 400
        await sub.wait_for(2)
        await eventually(lambda: plane.pending() == 0)
    text = plane.metrics_text()
    assert b"# TYPE event_count counter" in text
    assert b"# TYPE event_dispatch_latencies histogram" in text
    values = samples(text)
    ingress = ('event_count{namespace_name="ns1",broker_name="default",event_type="a.b",response_code="202",'
               'response_code_class="2xx"}')
    assert values[ingress] == 1
    assert values['event_count{namespace_name="ns1",broker_name="default",event_type="dev.test.event",'
                  'response_code="400",response_code_class="4xx"}'] == 1
    filter_ok = ('event_count{namespace_name="ns1",broker_name="default",trigger_name="t1",event_type="a.b",'
                 'response_code="200",response_code_class="2xx"}')
    assert values[filter_ok] == 1
    assert values[filter_ok.replace('"200"', '"500"').replace('"2xx"', '"5xx"')] == 1
    hist = ('event_dispatch_latencies_count{namespace_name="ns1",broker_name="default",trigger_name="t1",'
            'event_type="a.b",response_code="200",response_code_class="2xx"}')
    assert values[hist] == 1
    assert any(k.startswith("event_dispatch_latencies_bucket{") and 'le="10000"' in k for k in values)
    flows = {k: v for k, v in values.items() if k.startswith("jupyter_knative_delivery_total")}
    delivered = [v for k, v in flows.items() if 'trigger_name="t1"' in k and 'outcome="delivered"' in k]
    retried = [v for k, v in flows.items() if 'trigger_name="t1"' in k and 'outcome="retried"' in k]
    assert delivered == [1] and retried == [1]
    assert all('broker_name="default"' in k and 'channel_name="default-kne-trigger"' in k for k in flows)


async def test_send_for_sources(plane: EventingPlane) -> None:
    async with Subscriber() as sub, Subscriber(fail_times(9, status=404)) as missing:
        BrokerWiring(plane).add_trigger("t1", sub.url)
        event = CloudEvent({"specversion": "1.0", "id": "p1", "type": "dev.knative.sources.ping", "source": "/s"},
                           b"{}")
        assert await plane.send(f"http://{INGRESS}/ns1/default", event) == 202
        assert await plane.send(f"http://{INGRESS}/ns1/nope", event) == 404
        assert await plane.send(sub.url, event) == 200
        assert await plane.send(missing.url, event) == 404
        (via_broker, direct) = await sub.wait_for(2)
        assert {via_broker.ce("id"), direct.ce("id")} == {"p1"}
        with pytest.raises(ConnectionError):
            await plane.send("http://127.0.0.1:9/", event)
        assert event.attributes.get("knativebrokerttl") is None  # the caller's event is not modified


async def test_ping_source_is_scheduled(plane: EventingPlane) -> None:
    source = {"apiVersion": "sources.knative.dev/v1", "kind": "PingSource",
              "metadata": {"namespace": "ns1", "name": "p"},
              "spec": {"schedule": "* * * * *", "sink": {"uri": "http://example.invalid"}},
              "status": {"sinkUri": f"http://{INGRESS}/ns1/default"}}
    plane.set_ping_source("ns1", "p", source)
    assert plane.ping.scheduled() == [("ns1", "p")]
    plane.set_ping_source("ns1", "p", None)
    assert plane.ping.scheduled() == []


@pytest.mark.parametrize(("host", "path", "kind", "channel"), [
    pytest.param(INGRESS, "/ns/b", Kind.INGRESS, None, id="ingress"),
    pytest.param(INGRESS + ":80", "/ns/b", Kind.INGRESS, None, id="ingress-port"),
    pytest.param(FILTER, "/triggers/a/b/c", Kind.FILTER, None, id="filter"),
    pytest.param("c1-kn-channel.ns.svc.cluster.local", "/", Kind.CHANNEL, ("ns", "c1"), id="channel-host"),
    pytest.param("my-kn-channel-kn-channel.ns.svc", "/", Kind.CHANNEL, ("ns", "my-kn-channel"), id="channel-svc"),
    pytest.param("imc-dispatcher.knative-eventing.svc.cluster.local", "/ns/c", Kind.CHANNEL, ("ns", "c"),
                 id="channel-path"),
    pytest.param("imc-dispatcher.knative-eventing.svc.cluster.local", "/x", Kind.UNKNOWN, None, id="bad-path"),
    pytest.param("127.0.0.1:8080", "/ns/b", Kind.INGRESS, None, id="loopback"),
    pytest.param("", "/triggers/a/b/c", Kind.FILTER, None, id="no-host-filter"),
    pytest.param("hello.ns.svc.cluster.local", "/", Kind.UNKNOWN, None, id="service"),
    pytest.param("-kn-channel.ns.svc", "/", Kind.UNKNOWN, None, id="empty-channel-name"),
])
def test_classify_request(host: str, path: str, kind: Kind, channel: tuple[str, str] | None) -> None:
    assert classify_request(host, path) == (kind, channel)


def test_classify_url() -> None:
    target = classify_url("http://user@hello.ns.example.com:8080/a?b=1")
    assert (target.kind, target.host, target.port, target.authority, target.path) == (
        Kind.HTTP, "hello.ns.example.com", 8080, "hello.ns.example.com:8080", "/a?b=1")
    assert classify_url("http://127.0.0.1:9/triggers/x").kind is Kind.HTTP  # loopback URLs are real HTTP
    assert classify_url(f"http://{FILTER}/triggers/a/b/c").kind is Kind.FILTER
    assert classify_url("http://c-kn-channel.ns.svc.cluster.local").channel == ("ns", "c")
    with pytest.raises(ValueError):
        classify_url("/relative")
    assert host_only("[::1]:80") == "[::1]"
    assert host_only("Example.COM:80") == "example.com"


def test_object_reading() -> None:
    assert broker_info("ns", "b", broker_obj("ns", "b")).channel == ("ns", "b-kne-trigger")
    assert broker_info("ns", "b", broker_obj("ns", "b", ready=False)).channel is None
    channel = channel_info("ns", "c", channel_obj(
        "ns", "c", [subscriber_entry("a", "http://a", delivery={"retry": 3}, dls="http://dls-a"),
                    subscriber_entry("b", "http://b"), {"subscriberUri": "http://no-uid"}],
        delivery={"retry": 7}, dls="http://dls-c", async_handler=True))
    assert channel.async_handler
    a, b = channel.subscribers
    assert (a.policy.retry, a.dead_letter_uri) == (3, "http://dls-a")  # the subscription's own delivery
    assert (b.policy.retry, b.dead_letter_uri) == (7, "http://dls-c")  # else the channel's
