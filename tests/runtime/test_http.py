"""The replica HTTP server over real loopback sockets, byte for byte."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from jupyter_knative.runtime.asgi import Message, Receive, Scope, Send, read_body
from jupyter_knative.runtime.http import LifespanFailure, Server, ServerConfig


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Echo the method, path, query and body; `/stream` answers in three chunks, `/boom` raises."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/boom":
        raise RuntimeError("the function exploded")
    if scope["path"] == "/silent":
        return
    if scope["path"] == "/early":  # answer without reading the body
        await send({"type": "http.response.start", "status": 413, "headers": []})
        await send({"type": "http.response.body", "body": b"too big"})
        return
    body = await read_body(receive)
    if scope["path"] == "/slow":
        await asyncio.sleep(0.3)
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    text = f"{scope['method']} {scope['path']} {scope['query_string'].decode()} ".encode() + body
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": text})


class Client:
    """A raw connection: write bytes, read one response (Content-Length, chunked or close-delimited)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Client:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def response(self, head: bool = False) -> tuple[int, dict[str, str], bytes]:
        status_line = await asyncio.wait_for(self.reader.readline(), 5)
        assert status_line, "connection closed before a response"
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while True:
            line = (await self.reader.readline()).decode().rstrip("\r\n")
            if not line:
                break
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        if head or status in (100, 204, 304):
            return status, headers, b""
        if "content-length" in headers:
            return status, headers, await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    return status, headers, body
                body += chunk[:-2]
        return status, headers, await self.reader.read()

    async def closed(self) -> bool:
        try:
            return await asyncio.wait_for(self.reader.read(1), 2) == b""
        except (ConnectionError, TimeoutError):
            return False

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Any]:
    servers: list[Server] = []

    async def start(app: Any = echo, **config: Any) -> tuple[Server, int]:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = Server(app, sock, ServerConfig(**config))
        await server.start()
        servers.append(server)
        return server, sock.getsockname()[1]

    yield start
    for server in servers:
        if not server.draining:
            await server.shutdown(0.5)


async def test_keep_alive_serves_many_requests_on_one_connection(serve: Any) -> None:
    _, port = await serve()
    client = await Client.open(port)
    for i in range(3):
        client.send(f"GET /n/{i}?x={i} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        status, headers, body = await client.response()
        assert (status, body) == (200, f"GET /n/{i} x={i} ".encode())
        assert headers["content-length"] == str(len(body)) and "date" in headers
        assert "connection" not in headers
    client.close()


async def test_pipelined_requests_are_answered_in_order(serve: Any) -> None:
    _, port = await serve()
    client = await Client.open(port)
    client.send(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET /fast HTTP/1.1\r\nHost: t\r\n\r\n")
    assert (await client.response())[2] == b"GET /slow  "
    assert (await client.response())[2] == b"GET /fast  "
    client.close()


async def test_request_body_with_content_length_and_chunked(serve: Any) -> None:
    _, port = await serve()
    client = await Client.open(port)
    client.send(b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
    assert (await client.response())[2] == b"POST /a  hello"
    client.send(b"POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n")
    assert (await client.response())[2] == b"POST /b  abcdefg"
    client.close()


async def test_large_body_arrives_whole(serve: Any) -> None:
    _, port = await serve(read_buffer_limit=1024)
    client = await Client.open(port)
    payload = bytes(range(256)) * 4096  # 1 MiB: reading pauses and resumes many times
    client.send(b"PUT /big HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload)
    status, _, body = await client.response()
    assert status == 200 and body == b"PUT /big  " + payload
    client.close()


async def test_streamed_response_is_chunked(serve: Any) -> None:
    _, port = await serve()
    client = await Client.open(port)
    client.send(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
    _, headers, body = await client.response()
    assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
    assert body == b"one,two,three"
    client.send(b"GET /again HTTP/1.1\r\nHost: t\r\n\r\n")  # and the connection is still good
    assert (await client.response())[2] == b"GET /again  "
    client.close()


async def test_streamed_response_to_http_1_0_is_delimited_by_close(serve: Any) -> None:
    _, port = await serve()
    client = await Client.open(port)
    client.send(b"GET /stream HTTP/1.0\r\n\r\n")
    _, headers, body = await client.response()
    assert headers["connection"] == "close" and body == b"one,two,three"


async def test_head_has_headers_and_no_body(serve: Any) -> None:
    _, port = await serve()
    client = await Client.open(port)
    client.send(b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n")
    status, headers, _ = await client.response(head=True)
    assert status == 200 and headers["content-length"] == str(len(b"HEAD /h  "))
    client.send(b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n")  # no stray body bytes before this answer
    assert (await client.response())[2] == b"GET /next  "
    client.close()


async def test_expect_100_continue(serve: Any) -> None:
    _, port = await serve()
    client = await Client.open(port)
    client.send(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    status, _, _ = await client.response()
    assert status == 100
    client.send(b"data")
    assert (await client.response())[2] == b"POST /up  data"
    client.close()


async def test_answer_without_reading_an_expected_body_closes(serve: Any) -> None:
    _, port = await serve()
    client = await Client.open(port)
    client.send(b"POST /early HTTP/1.1\r\nHost: t\r\nContent-Length: 9999\r\nExpect: 100-continue\r\n\r\n")
    status, _, body = await client.response()
    assert (status, body) == (413, b"too big")
    assert await client.closed()


async def test_connection_close_is_honoured(serve: Any) -> None:
    _, port = await serve()
    client = await Client.open(port)
    client.send(b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    _, headers, _ = await client.response()
    assert headers["connection"] == "close"
    assert await client.closed()


async def test_http_1_0_keep_alive(serve: Any) -> None:
    _, port = await serve()
    client = await Client.open(port)
    client.send(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    _, headers, _ = await client.response()
    assert headers["connection"] == "keep-alive"
    client.send(b"GET /b HTTP/1.0\r\n\r\n")
    _, headers, body = await client.response()
    assert body == b"GET /b  " and headers["connection"] == "close"
    assert await client.closed()


@pytest.mark.parametrize("garbage", [
    pytest.param(b"NOT HTTP AT ALL\r\n\r\n", id="not-http"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n", id="bad-content-length"),
    pytest.param(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", id="bad-header"),
])
async def test_malformed_request_gets_400_and_close(serve: Any, garbage: bytes) -> None:
    _, port = await serve()
    client = await Client.open(port)
    client.send(garbage)
    status, headers, body = await client.response()
    assert status == 400 and headers["connection"] == "close" and body.startswith(b"Bad Request")
    assert await client.closed()


async def test_application_exception_is_a_500_with_traceback_on_stderr(serve: Any,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    _, port = await serve()
    client = await Client.open(port)
    client.send(b"GET /boom HTTP/1.1\r\nHost: t\r\n\r\n")
    status, _, body = await client.response()
    assert status == 500 and body == b"Internal Server Error\n"
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: the function exploded" in err and "GET /boom" in err
    assert await client.closed()


async def test_application_returning_without_response_is_a_500(serve: Any) -> None:
    _, port = await serve()
    client = await Client.open(port)
    client.send(b"GET /silent HTTP/1.1\r\nHost: t\r\n\r\n")
    assert (await client.response())[0] == 500
    client.close()


async def test_graceful_shutdown_finishes_in_flight_and_closes_idle(serve: Any) -> None:
    server, port = await serve()
    idle = await Client.open(port)
    idle.send(b"GET /warm HTTP/1.1\r\nHost: t\r\n\r\n")
    await idle.response()
    busy = await Client.open(port)
    busy.send(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
    await asyncio.sleep(0.05)
    shutdown = asyncio.ensure_future(server.shutdown(grace=5))
    assert await idle.closed()
    status, headers, body = await busy.response()
    assert (status, body) == (200, b"GET /slow  ") and headers["connection"] == "close"
    await asyncio.wait_for(shutdown, 5)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_graceful_shutdown_gives_up_after_grace(serve: Any) -> None:
    never = asyncio.Event()

    async def hang(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await never.wait()

    server, port = await serve(hang)
    client = await Client.open(port)
    client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    await asyncio.sleep(0.05)
    await asyncio.wait_for(server.shutdown(grace=0.2), 3)
    assert not server.connections


async def test_lifespan_startup_state_and_shutdown(serve: Any) -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                events.append(message["type"])
                if message["type"] == "lifespan.startup":
                    scope["state"]["greeting"] = b"hi"
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["state"]["greeting"]})

    server, port = await serve(app)
    client = await Client.open(port)
    client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert (await client.response())[2] == b"hi"
    client.close()
    await server.shutdown(1)
    assert events == ["lifespan.startup", "lifespan.shutdown"]


async def test_lifespan_failure_refuses_to_start(serve: Any) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    with pytest.raises(LifespanFailure, match="no database"):
        await serve(app)


async def test_apps_without_lifespan_are_served(serve: Any) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http", "this app does not know lifespan"
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    _, port = await serve(app)
    client = await Client.open(port)
    client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    status, headers, _ = await client.response()
    assert status == 204 and "content-length" not in headers
    client.close()


async def test_upgrade_requests_are_answered_as_plain_http(serve: Any) -> None:
    _, port = await serve()
    client = await Client.open(port)
    client.send(b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    status, headers, body = await client.response()
    assert (status, body, headers["connection"]) == (200, b"GET /ws  ", "close")
    assert await client.closed()


async def test_disconnect_is_reported_to_a_waiting_application(serve: Any) -> None:
    seen: asyncio.Future[Message] = asyncio.get_running_loop().create_future()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await receive()  # the (partial) body
        seen.set_result(await receive())

    _, port = await serve(app)
    client = await Client.open(port)
    client.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
    await asyncio.sleep(0.05)
    client.close()
    assert (await asyncio.wait_for(seen, 3))["type"] == "http.disconnect"
