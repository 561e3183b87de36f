"""The delivery HTTP client against raw asyncio servers: framing, keep-alive, stale connections, timeouts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from jupyter_knative.eventing.httpclient import HttpClient, ResponseError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        finally:
            writer.close()

    async def __aenter__(self) -> tuple[str, int]:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return "127.0.0.1", self.server.sockets[0].getsockname()[1]

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, await reader.readexactly(length)


def answering(response: bytes, keep_open: bool = True) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            writer.write(response)
            await writer.drain()
            if not keep_open:
                return
    return handler


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    client = HttpClient()
    yield client
    client.close()


OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-a: 1\r\n\r\nhi"


async def test_keep_alive_reuses_one_connection(client: HttpClient) -> None:
    raw = RawServer(answering(OK))
    async with raw as addr:
        for _ in range(5):
            resp = await client.request(addr, b"POST", b"/p", b"example", [(b"ce-id", b"1")], b"body")
            assert (resp.status, resp.body, resp.header(b"x-a")) == (200, b"hi", b"1")
        assert raw.connections == 1


async def test_request_head_and_body_are_sent(client: HttpClient) -> None:
    seen: list[tuple[bytes, bytes]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(OK)
        await writer.drain()

    async with RawServer(handler) as addr:
        await client.request(addr, b"POST", b"/a/b?x=1", b"svc.ns.example:8080", [(b"ce-id", b"42")], b"payload")
    head, body = seen[0]
    assert head.startswith(b"POST /a/b?x=1 HTTP/1.1\r\n")
    assert b"host: svc.ns.example:8080\r\n" in head
    assert b"content-length: 7\r\n" in head
    assert b"ce-id: 42\r\n" in head
    assert body == b"payload"


async def test_connection_closed_by_server_is_replaced(client: HttpClient) -> None:
    raw = RawServer(answering(OK, keep_open=False))
    async with raw as addr:
        for _ in range(3):
            assert (await client.request(addr, b"POST", b"/", b"h", [], b"")).status == 200
            await asyncio.sleep(0.02)
        assert raw.connections == 3


async def test_stale_pooled_connection_is_retried_on_a_fresh_one(client: HttpClient) -> None:
    async def close_after_response_without_saying_so(reader: asyncio.StreamReader,
                                                     writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()
        await reader.read(1)  # the next request arrives, the server hangs up without an answer

    raw = RawServer(close_after_response_without_saying_so)
    async with raw as addr:
        assert (await client.request(addr, b"POST", b"/", b"h", [], b"")).status == 200
        assert (await client.request(addr, b"POST", b"/", b"h", [], b"")).status == 200
        assert raw.connections == 2


@pytest.mark.parametrize("response", [
    pytest.param(b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n3\r\n!!!\r\n0\r\n\r\n",
                 id="chunked"),
    pytest.param(b"HTTP/1.1 201 Created\r\nconnection: close\r\n\r\nhi!!!", id="until-close"),
])
async def test_response_framing(client: HttpClient, response: bytes) -> None:
    async with RawServer(answering(response, keep_open=False)) as addr:
        resp = await client.request(addr, b"POST", b"/", b"h", [], b"")
        assert (resp.status, resp.body) == (201, b"hi!!!")


async def test_timeout(client: HttpClient) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async with RawServer(silent) as addr:
        with pytest.raises(TimeoutError):
            await client.request(addr, b"POST", b"/", b"h", [], b"", timeout=0.1)
        assert not client.pools[addr].idle


async def test_connection_refused(client: HttpClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OSError):
        await client.request(("127.0.0.1", port), b"POST", b"/", b"h", [], b"")


async def test_garbage_response(client: HttpClient) -> None:
    async with RawServer(answering(b"SSH-2.0-OpenSSH\r\n\r\n", keep_open=False)) as addr:
        with pytest.raises(ResponseError):
            await client.request(addr, b"POST", b"/", b"h", [], b"")


async def test_concurrent_requests_open_parallel_connections(client: HttpClient) -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            await asyncio.sleep(0.1)
            writer.write(OK)
            await writer.drain()

    raw = RawServer(slow)
    async with raw as addr:
        loop = asyncio.get_running_loop()
        start = loop.time()
        results = await asyncio.gather(*(client.request(addr, b"POST", b"/", b"h", [], b"") for _ in range(10)))
        assert all(r.status == 200 for r in results)
        assert loop.time() - start < 0.5
        assert raw.connections == 10
        assert len(client.pools[addr].idle) == 10
