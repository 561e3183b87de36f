"""The ingress over real loopback sockets, with fake replicas."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Callable

import pytest

from jupyter_knative.dataplane import Endpoint, HostRoute, RevisionKey, RevisionSettings, RouteTable, Target

from .client import Client, fetch
from .conftest import HELLO, HOST, Plane, _plane, endpoints
from .replicas import Conn, Request, free_port

OTHER = RevisionKey("default", "other-00001")


# -- routing --------------------------------------------------------------------------------------

async def test_routes_by_host_including_tags_ports_and_cluster_local_names(plane: Plane) -> None:
    a, b = await plane.replica("a"), await plane.replica("b")
    plane.ingress.set_endpoints(HELLO, endpoints(a))
    plane.ingress.set_endpoints(OTHER, endpoints(b))
    plane.ingress.set_routes(RouteTable.build({
        "hello.default.example.com": HostRoute((Target(HELLO, 100),)),
        "candidate-hello.default.example.com": HostRoute((Target(OTHER, 0), Target(HELLO, 100))),
        "other.default.example.com": HostRoute((Target(OTHER, 100),)),
        "other.default.svc.cluster.local": HostRoute((Target(OTHER, 100),), "cluster-local"),
    }))
    cases = {
        "hello.default.example.com": "a",
        f"Hello.Default.Example.com:{plane.port}": "a",
        "candidate-hello.default.example.com": "a",
        "other.default.example.com.": "b",
        "other.default.svc.cluster.local": "b",
    }
    for host, replica in cases.items():
        response = await fetch(plane.port, host)
        assert response.status == 200, host
        assert response.json()["replica"] == replica, host


async def test_unknown_host_gets_404_with_an_empty_body_and_keeps_the_connection(plane: Plane) -> None:
    await plane.serve()
    async with Client(plane.port, HOST) as client:
        missing = await client.request(host="nope.default.example.com")
        assert (missing.status, missing.body, missing.header("content-length")) == (404, b"", "0")
        missing_with_body = await client.request("POST", body=b"x" * 1000, host="nope.default.example.com")
        assert missing_with_body.status == 404
        ok = await client.request()
        assert ok.status == 200


async def test_fallback_routes_hosts_the_table_does_not_hold(plane: Plane) -> None:
    a, b = await plane.replica("a"), await plane.replica("b")
    plane.ingress.set_endpoints(HELLO, endpoints(a))
    plane.ingress.set_endpoints(OTHER, endpoints(b))
    plane.route(HOST, (HELLO, 100))
    asked: list[bytes] = []

    def fallback(host: bytes) -> HostRoute | None:
        asked.append(host)
        return HostRoute((Target(OTHER, 100),)) if host.endswith(b"-kn-channel.default.svc.cluster.local") else None

    plane.ingress.set_fallback(fallback)
    assert (await fetch(plane.port, HOST)).json()["replica"] == "a"
    assert asked == []  # the table answers first
    response = await fetch(plane.port, f"Orders-kn-channel.default.svc.cluster.local:{plane.port}")
    assert response.json()["replica"] == "b"
    assert asked == [b"orders-kn-channel.default.svc.cluster.local"]
    assert (await fetch(plane.port, "nope.default.example.com")).status == 404
    assert plane.ingress.routes_host("x-kn-channel.default.svc.cluster.local")
    assert plane.ingress.routes_host(HOST) and not plane.ingress.routes_host("nope.default.example.com")


async def test_traffic_split_50_50(plane: Plane) -> None:
    a, b = await plane.replica("a"), await plane.replica("b")
    plane.ingress.set_endpoints(HELLO, endpoints(a))
    plane.ingress.set_endpoints(OTHER, endpoints(b))
    plane.route(HOST, (HELLO, 50), (OTHER, 50))
    async with Client(plane.port, HOST) as client:
        for _ in range(400):
            assert (await client.request()).status == 200
    share = len(a.requests) / 400
    assert 0.42 <= share <= 0.58, share


# -- buffering and activation -------------------------------------------------------------------------

async def test_requests_wait_for_endpoints_then_are_served(plane: Plane) -> None:
    plane.route(HOST, (HELLO, 100))
    pending = [asyncio.ensure_future(fetch(plane.port, HOST, path=f"/{i}")) for i in range(5)]
    await asyncio.sleep(0.1)
    assert not any(p.done() for p in pending)
    assert plane.activations == [HELLO]
    stats = plane.ingress.snapshot()[HELLO]
    assert (stats.queued, stats.in_flight, stats.requests) == (5, 0, 5)
    replica = await plane.replica()
    plane.ingress.set_endpoints(HELLO, endpoints(replica))
    responses = await asyncio.gather(*pending)
    assert [r.status for r in responses] == [200] * 5
    assert sorted(r.json()["path"] for r in responses) == [f"/{i}" for i in range(5)]
    assert plane.activations == [HELLO]


async def test_activation_is_repeated_each_second_while_requests_wait(plane: Plane) -> None:
    plane.route(HOST, (HELLO, 100))
    first = asyncio.ensure_future(fetch(plane.port, HOST))
    await asyncio.sleep(0.3)
    burst = [asyncio.ensure_future(fetch(plane.port, HOST)) for _ in range(3)]
    await asyncio.sleep(0.3)
    assert plane.activations == [HELLO]  # one call for the whole burst
    await asyncio.sleep(0.6)
    assert plane.activations == [HELLO, HELLO]  # still waiting after a second: poked again
    plane.ingress.set_endpoints(HELLO, endpoints(await plane.replica()))
    assert [r.status for r in await asyncio.gather(first, *burst)] == [200] * 4
    await asyncio.sleep(1.1)
    assert plane.activations == [HELLO, HELLO]  # nothing waits any more


async def test_a_new_wait_pokes_at_once_even_within_a_second_of_the_last(plane: Plane) -> None:
    """Scaled to zero again right after serving: the next request must not wait for the last poke's timer."""
    plane.route(HOST, (HELLO, 100))
    first = asyncio.ensure_future(fetch(plane.port, HOST))
    await asyncio.sleep(0.05)
    replica = await plane.replica()
    plane.ingress.set_endpoints(HELLO, endpoints(replica))
    assert (await first).status == 200
    plane.ingress.set_endpoints(HELLO, [])
    second = asyncio.ensure_future(fetch(plane.port, HOST))
    await asyncio.sleep(0.05)
    assert plane.activations == [HELLO, HELLO]
    plane.ingress.set_endpoints(HELLO, endpoints(replica))
    assert (await second).status == 200


async def test_waiting_request_times_out_with_504_activator_request_timeout(plane: Plane) -> None:
    plane.route(HOST, (HELLO, 100))
    plane.ingress.set_revision(HELLO, RevisionSettings(timeout_seconds=0.2))
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await fetch(plane.port, HOST)
    assert 0.15 <= loop.time() - started < 1.0
    assert response.status == 504
    assert response.body == b"activator request timeout"
    assert response.header("content-type") == "text/plain; charset=utf-8"
    assert plane.ingress.snapshot()[HELLO].queued == 0


async def test_full_queue_answers_503_pending_request_queue_full(plane_with: Callable[..., _plane]) -> None:
    async with plane_with(queue_depth=2) as plane:
        plane.route(HOST, (HELLO, 100))
        waiting = [asyncio.ensure_future(fetch(plane.port, HOST)) for _ in range(2)]
        await asyncio.sleep(0.05)
        rejected = await fetch(plane.port, HOST)
        assert rejected.status == 503
        assert rejected.body == b"pending request queue full\n"
        assert rejected.header("x-content-type-options") == "nosniff"
        plane.ingress.set_endpoints(HELLO, endpoints(await plane.replica()))
        assert [r.status for r in await asyncio.gather(*waiting)] == [200, 200]


async def test_1000_concurrent_requests_to_a_revision_at_zero(plane: Plane) -> None:
    plane.route(HOST, (HELLO, 100))
    replica = await plane.replica()
    request = f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()

    async def one() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", plane.port)
        writer.write(request)
        data = await reader.read()
        writer.close()
        return data

    burst = [asyncio.ensure_future(one()) for _ in range(1000)]
    await asyncio.sleep(0.05)
    async with asyncio.timeout(10):  # the clients share this loop: let all 1,000 arrive and wait
        while (stats := plane.ingress.snapshot().get(HELLO)) is None or stats.queued < 1000:
            await asyncio.sleep(0.01)
    plane.ingress.set_endpoints(HELLO, endpoints(replica))
    answers = await asyncio.gather(*burst, return_exceptions=True)
    errors = [a for a in answers if not isinstance(a, bytes) or not a.startswith(b"HTTP/1.1 200 ")]
    assert errors == []
    assert len(replica.requests) == 1000
    assert plane.activations == [HELLO]


# -- concurrency ------------------------------------------------------------------------------------

async def slow(req: Request, conn: Conn) -> None:
    await asyncio.sleep(0.05)
    conn.respond(200, conn.replica.name.encode())


async def test_container_concurrency_1_serialises_requests_per_replica(plane: Plane) -> None:
    replicas = await plane.serve(settings=RevisionSettings(container_concurrency=1), replicas=2, handler=slow)
    responses = await asyncio.gather(*(fetch(plane.port, HOST) for _ in range(8)))
    assert [r.status for r in responses] == [200] * 8
    assert [r.max_active for r in replicas] == [1, 1]
    assert sorted(len(r.requests) for r in replicas) == [4, 4]
    # every request beyond the two slots waited in the activator's queue and says so
    assert sum(1 for r in replicas for q in r.requests if q.header("k-proxy-request") == "activator") == 6


async def test_unlimited_concurrency_still_counts_in_flight(plane: Plane) -> None:
    release = asyncio.Event()

    async def held(req: Request, conn: Conn) -> None:
        await release.wait()
        conn.respond(200, b"ok")

    (replica,) = await plane.serve(handler=held)
    pending = [asyncio.ensure_future(fetch(plane.port, HOST)) for _ in range(6)]
    while replica.active < 6:
        await asyncio.sleep(0.01)
    stats = plane.ingress.snapshot()[HELLO]
    assert (stats.in_flight, stats.queued) == (6, 0)
    release.set()
    assert [r.status for r in await asyncio.gather(*pending)] == [200] * 6
    assert plane.ingress.snapshot()[HELLO].in_flight == 0


# -- proxying ---------------------------------------------------------------------------------------

async def test_streams_a_chunked_response_as_it_is_written(plane: Plane) -> None:
    seen_first = asyncio.Event()

    async def stream(req: Request, conn: Conn) -> None:
        conn.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n")
        conn.write(b"5\r\nfirst\r\n")
        await asyncio.wait_for(seen_first.wait(), 5)  # the client must see it before the rest exists
        for part in (b"second", b"third"):
            conn.write(b"%x\r\n%s\r\n" % (len(part), part))
        conn.write(b"0\r\n\r\n")

    await plane.serve(handler=stream)
    async with Client(plane.port, HOST) as client:
        client.send()
        pieces: list[bytes] = []
        async for item in client.stream():
            if isinstance(item, bytes):
                pieces.append(item)
                seen_first.set()
            else:
                assert item.status == 200
                assert item.header("transfer-encoding") == "chunked"
        assert b"".join(pieces) == b"firstsecondthird"
        assert (await client.request()).status == 200  # and the connection goes on


async def test_response_without_length_is_chunked_for_http11_and_closes_for_http10(plane: Plane) -> None:
    async def eof_delimited(req: Request, conn: Conn) -> None:
        conn.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
        conn.close()

    await plane.serve(handler=eof_delimited)
    async with Client(plane.port, HOST) as client:
        response = await client.request()
        assert (response.status, response.body) == (200, b"until the end")
        assert response.header("transfer-encoding") == "chunked"
        assert response.header("connection") is None
        assert (await client.request()).body == b"until the end"
    async with Client(plane.port, HOST) as client:
        response = await client.request(version="1.0")
        assert response.body == b"until the end"
        assert response.header("transfer-encoding") is None
        assert await client.closed()


async def test_large_request_bodies_stream_both_ways(plane: Plane) -> None:
    async def digest(req: Request, conn: Conn) -> None:
        conn.respond(200, json.dumps({"length": len(req.body), "sha": hashlib.sha256(req.body).hexdigest()}).encode()
                     + b"\n" + req.body[:10] * 100_000)

    await plane.serve(handler=digest)
    body = bytes(range(256)) * (8 * 4096)  # 8 MiB
    async with Client(plane.port, HOST) as client:
        response = await client.request("POST", body=body)
        summary, echo = response.body.split(b"\n", 1)
        assert json.loads(summary) == {"length": len(body), "sha": hashlib.sha256(body).hexdigest()}
        assert len(echo) == 1_000_000
        chunks = [body[i:i + 100_000] for i in range(0, len(body), 100_000)]
        response = await client.request("PUT", body=chunks)
        assert json.loads(response.body.split(b"\n", 1)[0])["length"] == len(body)


async def test_no_body_for_head_204_and_304(plane: Plane) -> None:
    async def answers(req: Request, conn: Conn) -> None:
        if req.path == "/204":
            conn.respond(204, headers={"X-Kind": "empty"}, reason="No Content")
        elif req.path == "/304":
            conn.respond(304, headers={"ETag": '"v1"'}, reason="Not Modified")
        else:
            body = b"" if req.method == "HEAD" else b"hello world"
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n" + body)

    await plane.serve(handler=answers)
    async with Client(plane.port, HOST) as client:
        head = await client.request("HEAD")
        assert (head.status, head.header("content-length"), head.body) == (200, "11", b"")
        assert (await client.request(path="/204")).status == 204
        assert (await client.request(path="/304")).header("etag") == '"v1"'
        full = await client.request()
        assert full.body == b"hello world"
        assert (await client.request("HEAD")).status == 200


async def test_keepalive_connections_to_the_replica_are_reused(plane: Plane) -> None:
    (replica,) = await plane.serve()
    for _ in range(5):  # separate client connections, one after another
        assert (await fetch(plane.port, HOST)).status == 200
    async with Client(plane.port, HOST) as client:
        for _ in range(20):
            assert (await client.request()).status == 200
    assert replica.connections == 1


async def test_pipelined_requests_are_answered_in_order(plane: Plane) -> None:
    async def delayed(req: Request, conn: Conn) -> None:
        await asyncio.sleep(0.03 if req.path == "/1" else 0)
        conn.respond(200, req.path.encode())

    await plane.serve(handler=delayed)
    async with Client(plane.port, HOST) as client:
        for i in range(1, 4):
            client.send(path=f"/{i}")
        assert [(await client.read()).body for _ in range(3)] == [b"/1", b"/2", b"/3"]


async def test_expect_100_continue_is_answered_by_the_ingress(plane: Plane) -> None:
    (replica,) = await plane.serve()
    async with Client(plane.port, HOST) as client:
        assert client.writer is not None and client.reader is not None
        client.writer.write(f"POST / HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
                            .encode())
        assert await client.reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        client.writer.write(b"body")
        response = await client.read()
        assert response.json()["length"] == 4
    assert "expect" not in replica.requests[0].names()


async def test_headers_seen_by_the_replica(plane: Plane) -> None:
    (replica,) = await plane.serve()
    response = await fetch(plane.port, HOST, path="/p?q=1", headers={
        "Knative-Serving-Revision": "hello-00001", "Knative-Serving-Namespace": "default",
        "Connection": "keep-alive, X-Hop", "Keep-Alive": "timeout=5", "X-Hop": "secret", "TE": "trailers",
        "Proxy-Authorization": "Basic eA==", "Upgrade": "h2c", "X-Custom": "kept", "Traceparent": "00-ab-cd-01",
    })
    assert response.status == 200
    seen = replica.requests[0]
    assert seen.path == "/p?q=1"
    assert seen.header("host") == HOST
    assert seen.header("x-forwarded-for") == "127.0.0.1"
    assert seen.header("x-forwarded-proto") == "http"
    assert seen.header("forwarded") == "for=127.0.0.1;proto=http"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        seen.header("x-request-id") or "")
    assert seen.header("x-custom") == "kept"
    assert seen.header("traceparent") == "00-ab-cd-01"
    gone = {"knative-serving-revision", "knative-serving-namespace", "connection", "keep-alive", "x-hop", "te",
            "proxy-authorization", "upgrade", "k-proxy-request"}
    assert not gone & seen.names()


async def test_forwarding_headers_from_a_trusted_hop_are_extended(plane: Plane) -> None:
    (replica,) = await plane.serve()
    await fetch(plane.port, HOST, headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
                                           "X-Forwarded-Host": "hello.example.org", "X-Request-Id": "given"})
    seen = replica.requests[0]
    assert seen.header("x-forwarded-for") == "203.0.113.7, 127.0.0.1"
    assert seen.header("x-forwarded-proto") == "https"
    assert seen.header("forwarded") == "for=203.0.113.7;host=hello.example.org;proto=https, for=127.0.0.1"
    assert seen.header("x-request-id") == "given"
    await fetch(plane.port, HOST, headers={"Forwarded": "for=192.0.2.60;proto=http"})
    assert replica.requests[1].header("forwarded") == "for=192.0.2.60;proto=http"


async def test_response_hop_by_hop_headers_are_removed(plane: Plane) -> None:
    async def hoppy(req: Request, conn: Conn) -> None:
        conn.respond(200, b"ok", {"Connection": "keep-alive, X-Secret", "Keep-Alive": "timeout=5", "X-Secret": "s",
                                  "X-Visible": "v"})

    await plane.serve(handler=hoppy)
    response = await fetch(plane.port, HOST)
    names = {k.lower() for k, _ in response.headers}
    assert "x-visible" in names
    assert not {"keep-alive", "x-secret", "connection"} & names


# -- failures ------------------------------------------------------------------------------------

async def test_replica_dying_mid_request_gives_502(plane: Plane) -> None:
    async def dies(req: Request, conn: Conn) -> None:
        if req.path == "/reset":
            conn.reset()
        else:
            conn.close()

    await plane.serve(handler=dies)
    response = await fetch(plane.port, HOST)
    assert response.status == 502
    assert response.body == b"EOF\n"
    assert response.header("content-type") == "text/plain; charset=utf-8"
    reset = await fetch(plane.port, HOST, path="/reset")
    assert reset.status == 502
    assert re.fullmatch(rb"read tcp 127\.0\.0\.1:\d+->127\.0\.0\.1:\d+: read: connection reset by peer\n", reset.body)
    assert plane.ingress.snapshot()[HELLO].in_flight == 0


async def test_replica_dying_mid_response_cuts_the_client_connection(plane: Plane) -> None:
    async def half(req: Request, conn: Conn) -> None:
        conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
        await asyncio.sleep(0.02)
        conn.abort()

    await plane.serve(handler=half)
    async with Client(plane.port, HOST) as client:
        with pytest.raises(ConnectionError):
            await client.request()
    assert plane.ingress.snapshot()[HELLO].in_flight == 0


async def test_refused_connection_gives_502_with_the_dial_error(plane: Plane) -> None:
    port = free_port()
    plane.route(HOST, (HELLO, 100))
    plane.ingress.set_endpoints(HELLO, [Endpoint("127.0.0.1", port, "dead")])
    response = await fetch(plane.port, HOST)
    assert response.status == 502
    assert response.body == f"dial tcp 127.0.0.1:{port}: connect: connection refused\n".encode()


async def test_refused_connection_fails_over_to_another_ready_replica(plane: Plane) -> None:
    live = await plane.replica("live")
    plane.route(HOST, (HELLO, 100))
    plane.ingress.set_revision(HELLO, RevisionSettings(container_concurrency=1))  # first-available: dead first
    plane.ingress.set_endpoints(HELLO, [Endpoint("127.0.0.1", free_port(), "dead"), live.endpoint()])
    for _ in range(3):
        assert (await fetch(plane.port, HOST)).status == 200
    assert len(live.requests) == 3


async def test_stale_pooled_connection_is_retried_on_a_new_one(plane: Plane) -> None:
    async def once(req: Request, conn: Conn) -> None:
        conn.respond(200, b"ok")
        await asyncio.sleep(0.01)
        conn.close()  # the replica drops keep-alive connections after one answer, without saying so

    (replica,) = await plane.serve(handler=once)
    for _ in range(3):
        assert (await fetch(plane.port, HOST)).status == 200
        await asyncio.sleep(0.03)
    assert replica.connections == 3


async def test_proxied_request_without_response_head_times_out_with_504_request_timeout(plane: Plane) -> None:
    async def stalls(req: Request, conn: Conn) -> None:
        await asyncio.sleep(5)

    await plane.serve(settings=RevisionSettings(timeout_seconds=0.2), handler=stalls)
    response = await fetch(plane.port, HOST)
    assert (response.status, response.body) == (504, b"request timeout")
    assert plane.ingress.snapshot()[HELLO].in_flight == 0


async def test_response_start_timeout_is_shorter_than_the_request_timeout(plane: Plane) -> None:
    async def late(req: Request, conn: Conn) -> None:
        await asyncio.sleep(0.5)
        conn.respond(200, b"too late")

    await plane.serve(settings=RevisionSettings(timeout_seconds=30, response_start_timeout_seconds=0.1), handler=late)
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await fetch(plane.port, HOST)
    assert (response.status, response.body) == (504, b"request timeout")
    assert loop.time() - started < 0.45


async def test_timeout_does_not_cut_a_response_that_has_started(plane: Plane) -> None:
    async def slow_stream(req: Request, conn: Conn) -> None:
        conn.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(4):
            await asyncio.sleep(0.1)
            conn.write(b"1\r\nx\r\n")
        conn.write(b"0\r\n\r\n")

    await plane.serve(settings=RevisionSettings(timeout_seconds=0.15, idle_timeout_seconds=0.3), handler=slow_stream)
    response = await fetch(plane.port, HOST)
    assert (response.status, response.body) == (200, b"xxxx")


async def test_idle_timeout_cuts_a_stalled_response(plane: Plane) -> None:
    async def stalls_midway(req: Request, conn: Conn) -> None:
        conn.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n")
        await asyncio.sleep(5)

    await plane.serve(settings=RevisionSettings(idle_timeout_seconds=0.2), handler=stalls_midway)
    async with Client(plane.port, HOST) as client:
        with pytest.raises(ConnectionError):
            await client.request()
    await asyncio.sleep(0.05)
    assert plane.ingress.snapshot()[HELLO].in_flight == 0


async def test_client_going_away_releases_its_slot(plane: Plane) -> None:
    await plane.serve(settings=RevisionSettings(container_concurrency=1), handler=slow)
    client = Client(plane.port, HOST)
    await client.__aenter__()
    client.send()
    await asyncio.sleep(0.01)
    client.close()
    await asyncio.sleep(0.01)
    assert (await fetch(plane.port, HOST)).status == 200
    stats = plane.ingress.snapshot()[HELLO]
    assert (stats.in_flight, stats.queued) == (0, 0)


async def test_malformed_and_oversized_requests(plane: Plane) -> None:
    await plane.serve()
    async with Client(plane.port, HOST) as client:
        assert client.writer is not None
        client.writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
        assert (await client.read()).status == 400
        assert await client.closed()
    async with Client(plane.port, HOST) as client:
        client.send(headers={f"X-Big-{i}": "v" * 1000 for i in range(80)})
        assert (await client.read()).status == 431


async def test_stop_fails_waiting_requests_with_503(plane: Plane) -> None:
    plane.route(HOST, (HELLO, 100))
    waiting = asyncio.ensure_future(fetch(plane.port, HOST))
    await asyncio.sleep(0.05)
    await plane.ingress.stop(grace=0)
    response = await waiting
    assert response.status == 503


async def test_removed_revision_fails_its_waiting_requests(plane: Plane) -> None:
    plane.route(HOST, (HELLO, 100))
    waiting = asyncio.ensure_future(fetch(plane.port, HOST))
    await asyncio.sleep(0.05)
    plane.ingress.remove_revision(HELLO)
    assert (await waiting).status == 503
    assert HELLO not in plane.ingress.snapshot()


# -- statistics and metrics ---------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_snapshot_reports_concurrency_and_counts_for_a_known_load(plane_with: Callable[..., _plane]) -> None:
    clock = Clock()
    gates = [asyncio.Event() for _ in range(2)]

    async def gated(req: Request, conn: Conn) -> None:
        await gates[int(req.path[1:])].wait()
        conn.respond(200, b"ok")

    async with plane_with(clock=clock) as plane:
        (replica,) = await plane.serve(handler=gated)
        plane.ingress.snapshot()  # opens a window at t=100
        first = [asyncio.ensure_future(fetch(plane.port, HOST, path=f"/{i}")) for i in range(2)]
        while replica.active < 2:
            await asyncio.sleep(0.005)
        clock.now = 101.0
        stats = plane.ingress.snapshot()[HELLO]
        assert (stats.in_flight, stats.queued, stats.requests, stats.request_count) == (2, 0, 2, 2)
        assert stats.average_concurrency == pytest.approx(2.0)
        clock.now = 101.5
        gates[0].set()
        await first[0]
        clock.now = 103.0
        stats = plane.ingress.snapshot()[HELLO]  # 2 for 0.5 s, then 1 for 1.5 s
        assert (stats.in_flight, stats.requests, stats.request_count) == (1, 2, 0)
        assert stats.average_concurrency == pytest.approx((2 * 0.5 + 1 * 1.5) / 2)
        gates[1].set()
        await first[1]
        plane.ingress.set_endpoints(HELLO, [])
        queued = [asyncio.ensure_future(fetch(plane.port, HOST, path="/0")) for _ in range(3)]
        await asyncio.sleep(0.05)
        clock.now = 104.0
        stats = plane.ingress.snapshot()[HELLO]  # queued requests count as concurrency too
        assert (stats.in_flight, stats.queued, stats.requests, stats.request_count) == (0, 3, 5, 3)
        assert stats.average_concurrency == pytest.approx(3.0)
        plane.ingress.set_endpoints(HELLO, endpoints(replica))
        await asyncio.gather(*queued)


async def test_metrics_text_carries_knatives_names(plane: Plane) -> None:
    await plane.serve(settings=RevisionSettings(service_name="hello", configuration_name="hello"))
    for _ in range(3):
        await fetch(plane.port, HOST)
    await fetch(plane.port, HOST, method="POST", body=b"x")
    text = plane.ingress.metrics_text().decode()
    labels = ('k8s_namespace_name="default",kn_service_name="hello",kn_configuration_name="hello",'
              'kn_revision_name="hello-00001"')
    assert f"kn_revision_request_concurrency{{{labels}}} 0\n" in text
    assert 'kn_revision_request_queued{k8s_namespace_name="default",kn_revision_name="hello-00001"} 0' in text
    assert 'kn_revision_request_active{k8s_namespace_name="default",kn_revision_name="hello-00001"} 0' in text
    assert f'kn_serving_queue_depth{{{labels},k8s_pod_name="hello-00001-0"}} 0' in text
    assert re.search(r'http_server_request_duration_seconds_count\{http_request_method="GET",'
                     r'http_response_status_code="200",[^}]*\} 3\n', text)
    assert re.search(r'http_server_request_duration_seconds_count\{http_request_method="POST",[^}]*\} 1\n', text)
    assert f'kn_serving_invocation_duration_seconds_count{{http_response_status_code="200",{labels}}} 4\n' in text


async def test_replica_set_changes_keep_counts_and_pools(plane: Plane) -> None:
    a, b = await plane.replica("a"), await plane.replica("b")
    plane.route(HOST, (HELLO, 100))
    plane.ingress.set_endpoints(HELLO, endpoints(a))
    assert (await fetch(plane.port, HOST)).json()["replica"] == "a"
    plane.ingress.set_endpoints(HELLO, endpoints(b))
    assert (await fetch(plane.port, HOST)).json()["replica"] == "b"
    plane.ingress.set_endpoints(HELLO, endpoints(a, b))
    seen = {(await fetch(plane.port, HOST)).json()["replica"] for _ in range(20)}
    assert seen == {"a", "b"}
    assert a.connections == 2  # the pool to a was dropped when a left the set



async def test_upgrade_requests_go_on_as_plain_requests(plane: Plane) -> None:
    (replica,) = await plane.serve()
    async with Client(plane.port, HOST) as client:
        upgrade = {"Connection": "Upgrade, HTTP2-Settings", "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABkAAQAAP__"}
        h2c = await client.request("POST", body=b"abc", headers=upgrade)
        assert (h2c.status, h2c.json()["length"]) == (200, 3)
        ws = await client.request(headers={"Connection": "Upgrade", "Upgrade": "websocket"})
        assert ws.status == 200
        assert (await client.request(path="/after")).json()["path"] == "/after"
    for seen in replica.requests[:2]:
        assert not {"upgrade", "http2-settings", "connection"} & seen.names()


async def test_client_that_shuts_down_its_side_still_gets_its_answer(plane: Plane) -> None:
    await plane.serve(handler=slow)
    reader, writer = await asyncio.open_connection("127.0.0.1", plane.port)
    writer.write(f"GET /a HTTP/1.1\r\nHost: {HOST}\r\n\r\nGET /b HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    writer.write_eof()
    data = await asyncio.wait_for(reader.read(), 5)  # both answers, then the ingress closes
    assert data.count(b"HTTP/1.1 200 OK") == 2
    writer.close()
