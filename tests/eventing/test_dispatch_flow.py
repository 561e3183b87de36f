"""Retries, backoff, Retry-After, dead letter sinks and replies, end to end over real sockets (eventing.md §2)."""

from __future__ import annotations

import base64
import itertools
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jupyter_knative.eventing.plane import EventingPlane

from .plane_helpers import (
    INGRESS,
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


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[EventingPlane]:
    plane = EventingPlane(tmp_path / "eventing.db")
    await plane.start()
    yield plane
    await plane.stop()


def gaps(requests: list[Request]) -> list[float]:
    return [b.at - a.at for a, b in itertools.pairwise(requests)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_exponential_backoff_is_measured(plane: EventingPlane) -> None:
    async with Subscriber(fail_times(3)) as sub:
        BrokerWiring(plane).add_trigger("t1", sub.url, delivery={"retry": 5, "backoffPolicy": "exponential",
                                                                 "backoffDelay": "PT0.1S"})
        assert (await post(plane.port, "/ns1/default", headers=ce_headers())).status == 202
        requests = await sub.wait_for(4)
        waits = gaps(requests)
        for measured, expected in zip(waits, [0.1, 0.2, 0.4], strict=True):
            assert expected - 0.01 <= measured <= expected + 0.15, waits
        await eventually(lambda: plane.trigger_stats()[("ns1", "t1")]["delivered"] == 1)
        assert plane.trigger_stats()[("ns1", "t1")] == {"delivered": 1, "retried": 3, "failed": 0, "dead_lettered": 0}


async def test_linear_first_retry_is_immediate(plane: EventingPlane) -> None:
    async with Subscriber(fail_times(3, status=500)) as sub:
        BrokerWiring(plane).add_trigger("t1", sub.url, delivery={"retry": 3, "backoffPolicy": "linear",
                                                                 "backoffDelay": "PT0.1S"})
        assert (await post(plane.port, "/ns1/default", headers=ce_headers())).status == 202
        waits = gaps(await sub.wait_for(4))
        assert waits[0] < 0.05, waits
        assert 0.09 <= waits[1] <= 0.25, waits
        assert 0.19 <= waits[2] <= 0.35, waits


async def test_no_backoff_policy_means_no_wait(plane: EventingPlane) -> None:
    async with Subscriber(fail_times(2, status=429)) as sub:
        BrokerWiring(plane).add_trigger("t1", sub.url, delivery={"retry": 2, "backoffDelay": "PT1S"})
        assert (await post(plane.port, "/ns1/default", headers=ce_headers())).status == 202
        waits = gaps(await sub.wait_for(3))
        assert all(w < 0.1 for w in waits), waits


async def test_retry_after_is_honoured_up_to_retry_after_max(plane: EventingPlane) -> None:
    async with Subscriber(fail_times(1, status=503, headers=[(b"retry-after", b"1")])) as honoured, \
            Subscriber(fail_times(1, status=503, headers=[(b"retry-after", b"5")])) as capped, \
            Subscriber(fail_times(1, status=503, headers=[(b"retry-after", b"1")])) as ignored:
        wiring = BrokerWiring(plane)
        base = {"retry": 1, "backoffPolicy": "exponential", "backoffDelay": "PT0.1S"}
        wiring.add_trigger("honoured", honoured.url, delivery={**base, "retryAfterMax": "PT2S"})
        wiring.add_trigger("capped", capped.url, delivery={**base, "retryAfterMax": "PT0.3S"})
        wiring.add_trigger("ignored", ignored.url, delivery=base)
        assert (await post(plane.port, "/ns1/default", headers=ce_headers())).status == 202
        honoured_wait = gaps(await honoured.wait_for(2))[0]
        capped_wait = gaps(await capped.wait_for(2))[0]
        ignored_wait = gaps(await ignored.wait_for(2))[0]
        assert 0.95 <= honoured_wait <= 1.3
        assert 0.28 <= capped_wait <= 0.6
        assert 0.09 <= ignored_wait <= 0.3


async def test_non_retryable_status_is_not_retried(plane: EventingPlane) -> None:
    async with Subscriber(fail_times(5, status=400)) as sub, Subscriber() as dls:
        BrokerWiring(plane).add_trigger("t1", sub.url, delivery={"retry": 3}, dls=dls.url)
        assert (await post(plane.port, "/ns1/default", headers=ce_headers())).status == 202
        await dls.wait_for(1)
        assert len(sub.requests) == 1
        assert dls.requests[0].ce("knativeerrorcode") == "400"


async def test_dead_letter_sink_gets_the_original_event_with_extensions(plane: EventingPlane) -> None:
    async with Subscriber(fail_times(99, status=500, body=b"boom")) as sub, Subscriber() as dls:
        BrokerWiring(plane).add_trigger("t1", sub.url, delivery={"retry": 2}, dls=dls.url)
        assert (await post(plane.port, "/ns1/default", headers=ce_headers("orig", x="1"))).status == 202
        (dead,) = await dls.wait_for(1)
        assert len(sub.requests) == 3
        assert dead.ce("id") == "orig"
        assert dead.body == b'{"hello":"world"}'
        assert dead.ce("knativeerrordest") == sub.url  # the real subscriber, not the filter URL
        assert dead.ce("knativeerrorcode") == "500"
        assert dead.ce("knativeerrordata") == base64.b64encode(b"boom").decode()
        assert dead.ce("x") == "1"
        await eventually(lambda: plane.trigger_stats()[("ns1", "t1")]["dead_lettered"] == 1)
        assert plane.trigger_stats()[("ns1", "t1")] == {"delivered": 0, "retried": 2, "failed": 1,
                                                        "dead_lettered": 1}


async def test_transport_failure_dead_letter(plane: EventingPlane) -> None:
    async with Subscriber() as dls:
        wiring = BrokerWiring(plane)
        wiring.subscribers.append(subscriber_entry("raw", f"http://127.0.0.1:{free_port()}/x", dls=dls.url,
                                                   delivery={"retry": 1}))
        wiring._sync()
        assert (await post(plane.port, "/ns1/default", headers=ce_headers("t"))).status == 202
        (dead,) = await dls.wait_for(1)
        assert dead.ce("knativeerrorcode") == "500"
        assert dead.ce("knativeerrordest", ).endswith("/x")  # type: ignore[union-attr]
        assert dead.ce("knativeerrordata") is None


async def test_dead_letter_failure_is_logged(plane: EventingPlane, caplog: pytest.LogCaptureFixture) -> None:
    async with Subscriber(fail_times(99, status=500)) as sub, Subscriber(fail_times(99, status=502)) as dls:
        BrokerWiring(plane).add_trigger("t1", sub.url, delivery={"retry": 1}, dls=dls.url)
        with caplog.at_level(logging.ERROR, logger="jupyter_knative.eventing.dispatch"):
            assert (await post(plane.port, "/ns1/default", headers=ce_headers())).status == 202
            await dls.wait_for(2)
            await eventually(lambda: plane.pending() == 0)
        message = f"unable to complete request to either {sub.url} (unexpected HTTP response, expected 2xx, got 500)" \
                  f" or {dls.url} (unexpected HTTP response, expected 2xx, got 502)"
        assert message in caplog.text
        assert plane.trigger_stats()[("ns1", "t1")]["dead_lettered"] == 0


async def test_reply_reenters_the_broker_until_the_ttl_runs_out(plane: EventingPlane) -> None:
    def echo(request: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        hop = int(request.ce("hop") or "0") + 1
        return 200, [(b"ce-specversion", b"1.0"), (b"ce-id", f"r{hop}".encode()), (b"ce-type", b"loop"),
                     (b"ce-source", b"/echo"), (b"ce-hop", str(hop).encode())], b""

    async with Subscriber(echo) as sub, Subscriber() as dls:
        BrokerWiring(plane, dls=dls.url, delivery={"retry": 0}).add_trigger("t1", sub.url)
        assert (await post(plane.port, "/ns1/default", headers=ce_headers(knativebrokerttl="5"))).status == 202
        (dead,) = await dls.wait_for(1)
        assert [r.ce("id") for r in sub.requests] == ["1", "r1", "r2", "r3"]
        # the last reply hit ingress with TTL 1 → 400 → the ORIGINAL of that hop goes to the DLS
        assert dead.ce("id") == "r3"
        assert dead.ce("knativeerrorcode") == "400"
        assert dead.ce("knativeerrordest") == f"http://{INGRESS}/ns1/default"


async def test_channel_subscriber_reply_goes_to_reply_uri(plane: EventingPlane) -> None:
    def reply(request: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        return 202, [(b"ce-specversion", b"1.0"), (b"ce-id", b"answer"), (b"ce-type", b"r"),
                     (b"ce-source", b"/s"), (b"content-type", b"text/plain")], b"hi"

    async with Subscriber(reply) as sub, Subscriber(fail_times(1, status=503)) as sink, \
            Subscriber(lambda r: (200, [], b"not an event")) as silent:
        plane.set_channel("ns1", "ch", channel_obj("ns1", "ch", [
            subscriber_entry("a", sub.url, reply=sink.url, delivery={"retry": 2}),
            subscriber_entry("b", silent.url, reply=sink.url),
        ]))
        resp = await post(plane.port, "/", host="ch-kn-channel.ns1.svc.cluster.local", headers=ce_headers("q"))
        assert resp.status == 202
        replies = await sink.wait_for(2)
        assert [r.ce("id") for r in replies] == ["answer", "answer"]  # retried once after 503
        assert replies[-1].body == b"hi"
        assert len(silent.requests) == 1
        await eventually(lambda: plane.pending() == 0)
        assert plane.flow_stats()[("ns1", "ch", "a")] == {"delivered": 1, "retried": 1, "failed": 0,
                                                          "dead_lettered": 0}


async def test_reply_failure_dead_letters_the_original(plane: EventingPlane) -> None:
    def reply(request: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        return 200, [(b"ce-specversion", b"1.0"), (b"ce-id", b"answer"), (b"ce-type", b"r"),
                     (b"ce-source", b"/s")], b""

    async with Subscriber(reply) as sub, Subscriber(fail_times(9, status=404, body=b"gone")) as bad, \
            Subscriber() as dls:
        plane.set_channel("ns1", "ch", channel_obj("ns1", "ch", [
            subscriber_entry("a", sub.url, reply=bad.url, delivery={"retry": 1}, dls=dls.url)]))
        resp = await post(plane.port, "/ns1/ch", host="imc-dispatcher.knative-eventing.svc.cluster.local",
                          headers=ce_headers("orig"))
        assert resp.status == 202
        (dead,) = await dls.wait_for(1)
        assert len(bad.requests) == 2
        assert dead.ce("id") == "orig"
        assert dead.ce("knativeerrordest") == bad.url
        assert dead.ce("knativeerrorcode") == "404"
        assert dead.ce("knativeerrordata") == base64.b64encode(b"gone").decode()


async def test_channel_delivery_and_dls_apply_without_subscriber_delivery(plane: EventingPlane) -> None:
    async with Subscriber(fail_times(99, status=500)) as sub, Subscriber() as dls:
        plane.set_channel("ns1", "ch", channel_obj("ns1", "ch", [subscriber_entry("a", sub.url)],
                                                   delivery={"retry": 2, "backoffPolicy": "linear",
                                                             "backoffDelay": "PT0.1S"}, dls=dls.url))
        resp = await post(plane.port, "/", host="ch-kn-channel.ns1.svc.cluster.local", headers=ce_headers("c1"))
        assert resp.status == 202  # the DLS took it: a success for IMC
        assert len(sub.requests) == 3
        assert dls.requests[0].ce("knativeerrorcode") == "500"


async def test_a_retrying_event_does_not_hold_up_later_ones(plane: EventingPlane) -> None:
    def behave(request: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        first = request.ce("id") == "0" and sum(r.ce("id") == "0" for r in sub.requests) == 1
        return (503, [], b"") if first else (200, [], b"")

    async with Subscriber(behave) as sub:
        BrokerWiring(plane).add_trigger("t1", sub.url, delivery={"retry": 1, "backoffPolicy": "exponential",
                                                                 "backoffDelay": "PT0.3S"})
        for i in range(5):
            assert (await post(plane.port, "/ns1/default", headers=ce_headers(str(i)))).status == 202
        await sub.wait_for(6)
        assert [r.ce("id") for r in sub.requests] == ["0", "1", "2", "3", "4", "0"]
