"""A minimal HTTP/1.1 server running one ASGI 3 application on an already-bound listening socket.

What a replica needs and nothing more: keep-alive, pipelining (answered in order), request bodies with
Content-Length or chunked transfer coding, streaming responses (chunked when the application gives no
Content-Length), HEAD, `Expect: 100-continue`, `Connection: close`, 400 on unparseable input, 500
when the application fails before it starts its response (the traceback goes to stderr, which is the
Pod's log), the ASGI lifespan protocol when the application speaks it, and a graceful shutdown.

The request path is an asyncio `Protocol` fed by httptools' C parser: no streams, no per-request
timers, and a response written in one `write` when the application sends its body in one message.

Errors: `LifespanFailure` (the application refused to start).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import unquote_to_bytes

import httptools

from .asgi import ASGI_VERSION, ASGIApp, Message, Scope

__all__ = ["LifespanFailure", "Server", "ServerConfig"]


@dataclass(frozen=True)
class ServerConfig:
    """How one replica's server behaves."""

    keep_alive_timeout: float = 600.0
    """Idle seconds before a keep-alive connection is closed. Longer than the ingress' pool idle time, so
    the server never closes a connection the ingress is about to reuse."""
    read_buffer_limit: int = 256 * 1024
    """Request body bytes buffered ahead of the application before reading from the socket pauses."""
    lifespan: str = "auto"
    """"auto": run the lifespan protocol, ignore applications that do not speak it; "off": never."""
    backlog: int = 2048
    """listen() backlog: requests arriving before a forked replica runs wait here."""


class LifespanFailure(RuntimeError):
    """The application answered `lifespan.startup.failed` (or failed during shutdown)."""


_STATUS_LINES: dict[int, bytes] = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode() for s in HTTPStatus}
_NO_BODY_STATUS = frozenset({204, 304}) | frozenset(range(100, 200))
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_ERROR_500 = b"Internal Server Error\n"


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    return line if line is not None else f"HTTP/1.1 {status} \r\n".encode()


class _Clock:
    """The Date header, formatted once per second."""

    __slots__ = ("header", "second")

    def __init__(self) -> None:
        self.second = 0
        self.header = b""

    def date(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.header = b"date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
        return self.header


class Server:
    """Serve `app` on `sock` (bound, and listening or not) until `shutdown()`."""

    def __init__(self, app: ASGIApp, sock: socket.socket, config: ServerConfig | None = None) -> None:
        self.app = app
        self.sock = sock
        self.config = config or ServerConfig()
        self.connections: set[_Connection] = set()
        self.clock = _Clock()
        self.state: dict[str, Any] | None = None  # lifespan state, copied into each request scope
        self.draining = False
        self._server: asyncio.AbstractServer | None = None
        self._lifespan: _Lifespan | None = None
        self._all_closed: asyncio.Event | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.server_addr = _address(sock.getsockname())

    async def start(self) -> None:
        """Run lifespan startup, then accept connections. Raises `LifespanFailure`."""
        loop = asyncio.get_running_loop()
        if self.config.lifespan != "off":
            self._lifespan = _Lifespan(self.app)
            self.state = await self._lifespan.startup()
        self.sock.setblocking(False)
        self._server = await loop.create_server(lambda: _Connection(self), sock=self.sock,
                                                backlog=self.config.backlog)
        self._sweeper = loop.create_task(self._sweep_idle())

    async def shutdown(self, grace: float = 30.0) -> None:
        """Stop accepting, close idle connections, let in-flight requests finish for up to `grace`
        seconds, close what is left, then run lifespan shutdown."""
        self.draining = True
        if self._server is not None:
            self._server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for conn in list(self.connections):
            conn.drain()
        if self.connections:
            self._all_closed = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_closed.wait(), grace)
        for conn in list(self.connections):
            conn.abort()
        if self._lifespan is not None:
            await self._lifespan.shutdown()

    def forget(self, conn: _Connection) -> None:
        self.connections.discard(conn)
        if not self.connections and self._all_closed is not None:
            self._all_closed.set()

    async def _sweep_idle(self) -> None:
        timeout = self.config.keep_alive_timeout
        while True:
            await asyncio.sleep(min(timeout / 2, 30.0))
            deadline = time.monotonic() - timeout
            for conn in list(self.connections):
                if conn.idle_since is not None and conn.idle_since < deadline:
                    conn.close()


def _address(addr: Any) -> tuple[str, int] | None:
    if isinstance(addr, tuple) and len(addr) >= 2:
        return str(addr[0]), int(addr[1])
    return None


class _Connection(asyncio.Protocol):
    """One client connection: parses requests, runs one `_Cycle` at a time, queues pipelined ones."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.client: tuple[str, int] | None = None
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.parsing: _Cycle | None = None  # the request whose body is arriving
        self.running: _Cycle | None = None  # the request being answered
        self.pipeline: deque[_Cycle] = deque()
        self.idle_since: float | None = time.monotonic()
        self.reading_paused = False
        self.writing_paused = False
        self.drained: asyncio.Future[None] | None = None
        self.closing = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        self.client = _address(transport.get_extra_info("peername"))
        self.server.connections.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.idle_since = None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # No protocol upgrades (websockets) here: the request is answered as plain HTTP, without a
            # body, and the connection closes after it.
            cycle = self.parsing or self.running
            if cycle is not None:
                cycle.keep_alive = False
                cycle.more_body = False
                cycle.wake()
            self.parsing = None
            self._pause_reading()
        except httptools.HttpParserError as exc:
            self._bad_request(str(exc) or "malformed request")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        for cycle in (self.running, self.parsing, *self.pipeline):
            if cycle is not None:
                cycle.disconnect()
        self.pipeline.clear()
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)
        self.server.forget(self)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)
        self.drained = None

    # httptools callbacks

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        parser = self.parser
        method = parser.get_method().decode("ascii")
        raw_path, _, query = self.url.partition(b"?")
        path = unquote_to_bytes(raw_path).decode("utf-8", "surrogateescape") if b"%" in raw_path else \
            raw_path.decode("utf-8", "surrogateescape")
        scope: Scope = {
            "type": "http", "asgi": ASGI_VERSION, "http_version": parser.get_http_version(),
            "method": method, "scheme": "http", "path": path, "raw_path": raw_path, "query_string": query,
            "root_path": "", "headers": self.headers, "client": self.client, "server": self.server.server_addr,
        }
        if self.server.state is not None:
            scope["state"] = dict(self.server.state)
        cycle = _Cycle(self, scope, parser.should_keep_alive() and not self.server.draining)
        for name, value in self.headers:
            if name == b"expect" and value.lower() == b"100-continue":
                cycle.expect_100 = True
        if parser.should_upgrade():
            cycle.keep_alive = False
        self.parsing = cycle
        if self.running is None:
            self._run(cycle)
        else:
            self.pipeline.append(cycle)
            if len(self.pipeline) > 16:
                self._pause_reading()

    def on_body(self, body: bytes) -> None:
        cycle = self.parsing
        if cycle is None or cycle.response_complete:
            return  # the application answered without reading it: discard
        cycle.body.append(body)
        cycle.buffered += len(body)
        cycle.wake()
        if cycle.buffered > self.server.config.read_buffer_limit:
            self._pause_reading()

    def on_message_complete(self) -> None:
        cycle = self.parsing
        if cycle is None:
            return
        cycle.more_body = False
        cycle.wake()
        self.parsing = None

    # internals

    def _run(self, cycle: _Cycle) -> None:
        self.running = cycle
        self.idle_since = None
        cycle.task = asyncio.get_running_loop().create_task(cycle.run(self.server.app))

    def cycle_done(self, cycle: _Cycle) -> None:
        """The application returned for `cycle`; start the next pipelined request or go idle."""
        if self.running is not cycle:
            return
        self.running = None
        if self.transport is None or self.closing:
            return
        if not cycle.keep_alive or (cycle.more_body and cycle.expect_100 and not cycle.sent_continue):
            # The client may or may not send a body nobody asked for: no safe way to reuse the connection.
            self.close()
            return
        if self.pipeline:
            self._run(self.pipeline.popleft())
        else:
            self.idle_since = time.monotonic()
            if self.server.draining and self.parsing is None:
                self.close()
        self._resume_reading()

    def _pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.reading_paused and self.transport is not None and not self.closing:
            self.reading_paused = False
            self.transport.resume_reading()

    def resume_for(self, cycle: _Cycle) -> None:
        """The application consumed `cycle`'s buffered body: read more from the socket."""
        if cycle is self.parsing and len(self.pipeline) <= 16:
            self._resume_reading()

    def _bad_request(self, reason: str) -> None:
        if self.running is None and self.transport is not None and not self.closing:
            body = f"Bad Request: {reason}\n".encode()
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                 b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n"
                                 + self.server.clock.date() + b"\r\n" + body)
            self.close()
        else:
            # Answer what is in flight, then close: the stream is no longer in sync.
            self.pipeline.clear()
            if self.running is not None:
                self.running.keep_alive = False
            self.parsing = None
            self._pause_reading()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closing:
            self.transport.write(data)

    async def drain_writes(self) -> None:
        if self.writing_paused and not self.closing:
            if self.drained is None:
                self.drained = asyncio.get_running_loop().create_future()
            await self.drained

    def drain(self) -> None:
        """Graceful shutdown: finish the current response, then close."""
        self.pipeline.clear()
        if self.running is None:
            self.close()
        else:
            self.running.keep_alive = False

    def close(self) -> None:
        if self.transport is not None and not self.closing:
            self.closing = True
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.closing = True
            self.transport.abort()


class _Cycle:
    """One request and its response: the `receive` and `send` the application is given."""

    __slots__ = ("body", "buffered", "chunked", "conn", "disconnected", "expect_100", "head", "keep_alive",
                 "more_body", "response_complete", "response_started", "scope", "sent_continue", "start",
                 "task", "waiter")

    def __init__(self, conn: _Connection, scope: Scope, keep_alive: bool) -> None:
        self.conn = conn
        self.scope = scope
        self.keep_alive = keep_alive
        self.head = scope["method"] == "HEAD"
        self.body: list[bytes] = []
        self.buffered = 0
        self.more_body = True
        self.expect_100 = False
        self.sent_continue = False
        self.disconnected = False
        self.waiter: asyncio.Future[None] | None = None
        self.start: Message | None = None
        self.response_started = False
        self.response_complete = False
        self.chunked = False
        self.task: asyncio.Task[None] | None = None  # held so the running request is not collected

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def disconnect(self) -> None:
        self.disconnected = True
        self.wake()

    async def run(self, app: ASGIApp) -> None:
        try:
            await app(self.scope, self.receive, self.send)
        except BaseException as exc:
            _log_exception(self.scope, exc)
            if not self.response_started and not self.disconnected:
                self.keep_alive = False
                self._write_error()
            else:
                self.conn.abort()
            if not isinstance(exc, Exception):
                raise
        else:
            if not self.response_started and not self.disconnected:
                print(f"ASGI application returned without a response for {self.scope['method']} "
                      f"{self.scope['path']}", file=sys.stderr, flush=True)
                self._write_error()
            elif not self.response_complete and not self.disconnected:
                self.conn.abort()  # an unfinished body: the client must not take it as complete
        finally:
            self.conn.cycle_done(self)

    def _write_error(self) -> None:
        self.response_started = self.response_complete = True
        self.conn.write(_status_line(500) + b"content-type: text/plain; charset=utf-8\r\ncontent-length: "
                        + str(len(_ERROR_500)).encode() + b"\r\n" + self.conn.server.clock.date()
                        + (b"" if self.keep_alive else b"connection: close\r\n") + b"\r\n"
                        + (b"" if self.head else _ERROR_500))

    async def receive(self) -> Message:
        if self.expect_100 and not self.sent_continue and not self.response_started and self.more_body:
            self.sent_continue = True
            self.conn.write(_CONTINUE)
        while not self.body and self.more_body and not self.disconnected and not self.response_complete:
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
            self.waiter = None
        if self.disconnected or (self.response_complete and not self.body):
            return {"type": "http.disconnect"}
        chunk = b"".join(self.body) if len(self.body) != 1 else self.body[0]
        self.body.clear()
        self.buffered = 0
        if self.more_body:
            self.conn.resume_for(self)
        return {"type": "http.request", "body": chunk, "more_body": self.more_body}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if self.disconnected:
            return  # ASGI: sends after a disconnect are no-ops
        if kind == "http.response.body":
            if self.start is None or self.response_complete:
                raise RuntimeError("http.response.body sent before http.response.start or after the last body")
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if not self.response_started:
                self._write_head(body, more)
            elif self.chunked:
                if body and not self.head:
                    self.conn.write(b"%x\r\n%b\r\n" % (len(body), body))
                if not more and not self.head:
                    self.conn.write(b"0\r\n\r\n")
            elif body and not self.head:
                self.conn.write(body)
            if not more:
                self.response_complete = True
                self.wake()
                if not self.keep_alive:
                    self.conn.close()
            else:
                await self.conn.drain_writes()
        elif kind == "http.response.start":
            if self.start is not None:
                raise RuntimeError("http.response.start sent twice")
            self.start = message
        else:
            raise RuntimeError(f"unexpected ASGI message type {kind!r} on an http connection")

    def _write_head(self, body: bytes, more: bool) -> None:
        start = self.start
        assert start is not None
        status = int(start["status"])
        parts = [_status_line(status)]
        has_length = has_date = False
        for name, value in start.get("headers", ()):
            lname = name.lower()
            if lname == b"content-length":
                has_length = True
            elif lname == b"connection":
                if value.lower() == b"close":
                    self.keep_alive = False
                continue  # we say it ourselves below
            elif lname == b"transfer-encoding":
                continue  # framing is ours
            elif lname == b"date":
                has_date = True
            parts.append(b"%b: %b\r\n" % (name, value))
        no_body = status in _NO_BODY_STATUS
        if not has_length and not no_body:
            if not more:
                parts.append(b"content-length: %d\r\n" % len(body))
            elif self.scope["http_version"] == "1.1":
                self.chunked = True
                parts.append(b"transfer-encoding: chunked\r\n")
            else:
                self.keep_alive = False  # HTTP/1.0 streaming: the end of the body is the end of the connection
        if not has_date:
            parts.append(self.conn.server.clock.date())
        if not self.keep_alive:
            parts.append(b"connection: close\r\n")
        elif self.scope["http_version"] == "1.0":
            parts.append(b"connection: keep-alive\r\n")
        parts.append(b"\r\n")
        self.response_started = True
        if body and not self.head and not no_body:
            parts.append(b"%x\r\n%b\r\n" % (len(body), body) if self.chunked else body)
        if self.chunked and not more and not self.head:
            parts.append(b"0\r\n\r\n")
        self.conn.write(b"".join(parts))


def _log_exception(scope: Scope, exc: BaseException) -> None:
    if isinstance(exc, asyncio.CancelledError):
        return
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    print(f"Exception in ASGI application for {scope.get('method')} {scope.get('path')}\n{''.join(lines)}",
          end="", file=sys.stderr, flush=True)


class _Lifespan:
    """Run the application's lifespan protocol, if it speaks it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.supported = False
        self.state: dict[str, Any] = {}

    async def startup(self) -> dict[str, Any] | None:
        scope: Scope = {"type": "lifespan", "asgi": ASGI_VERSION, "state": self.state}
        self.task = asyncio.get_running_loop().create_task(self._main(scope))
        await self.inbox.put({"type": "lifespan.startup"})
        reply = await self._reply()
        if reply is None:
            return None
        self.supported = True
        if reply["type"] == "lifespan.startup.failed":
            raise LifespanFailure(str(reply.get("message", "")) or "lifespan startup failed")
        return self.state

    async def shutdown(self) -> None:
        if not self.supported or self.task is None or self.task.done():
            return
        await self.inbox.put({"type": "lifespan.shutdown"})
        reply = await self._reply()
        if reply is not None and reply["type"] == "lifespan.shutdown.failed":
            print(f"lifespan shutdown failed: {reply.get('message', '')}", file=sys.stderr, flush=True)

    async def _reply(self) -> Message | None:
        assert self.task is not None
        getter = asyncio.ensure_future(self.outbox.get())
        done, _ = await asyncio.wait({getter, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            return getter.result()
        getter.cancel()
        return None  # the application returned or raised: it does not do lifespan

    async def _main(self, scope: Scope) -> None:
        try:
            await self.app(scope, self.inbox.get, self._send)
        except Exception as exc:
            if self.supported:
                _log_exception({"method": "lifespan", "path": ""}, exc)

    async def _send(self, message: Message) -> None:
        await self.outbox.put(message)
