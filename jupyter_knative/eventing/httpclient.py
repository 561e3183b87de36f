"""A small HTTP/1.1 client for delivering events: keep-alive pools per (ip, port), httptools' C parser.

One request at a time per connection (no pipelining), Content-Length request bodies, responses
framed by Content-Length, chunked coding or the end of the connection. A connection taken from the
pool that the server had already closed gets the request once more on a fresh connection when no
byte of the response arrived (as Go's transport does for an idle connection the server closed).

Errors: `OSError` (connect/transport failures, including `ConnectionError`), `TimeoutError`
(the per-request timeout passed), `ResponseError` (the peer did not speak HTTP/1.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections import deque
from typing import cast

import httptools

__all__ = ["HttpClient", "Response", "ResponseError"]

Headers = list[tuple[bytes, bytes]]


class ResponseError(OSError):
    """The server's answer was not parseable HTTP/1.1."""


class Response:
    """A complete response: status, headers (names lower-cased, in order) and the body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: Headers, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def __repr__(self) -> str:
        return f"Response({self.status}, {len(self.body)} bytes)"


class _Connection(asyncio.Protocol):
    """One keep-alive connection carrying one exchange at a time."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Response] | None = None
        self.headers: Headers = []
        self.body: list[bytes] = []
        self.got_bytes = False
        self.headers_done = False
        self.until_close = False
        self.closed = False
        self.reused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def start(self, request: bytes) -> asyncio.Future[Response]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.headers = []
        self.body = []
        self.got_bytes = self.headers_done = self.until_close = False
        self.transport.write(request)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:  # bytes nobody asked for: the connection is out of sync
            self.abort()
            return
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ResponseError(f"malformed HTTP response: {exc}"))
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        if self.waiter is None or self.waiter.done():
            return
        if self.headers_done and self.until_close:
            self._finish(keep_alive=False)
            return
        if not self.got_bytes and self.reused:
            self._fail(_StaleConnection())
            return
        self._fail(exc if isinstance(exc, OSError) else ConnectionResetError("connection closed before the response"))

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.headers_done = True
        framed = any(k in (b"content-length", b"transfer-encoding") for k, _ in self.headers)
        self.until_close = not framed

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self._finish(keep_alive=self.parser.should_keep_alive())

    # internals

    def _finish(self, keep_alive: bool) -> None:
        waiter = self.waiter
        self.waiter = None
        status = self.parser.get_status_code()
        response = Response(status, self.headers, b"".join(self.body))
        if waiter is not None and not waiter.done():
            waiter.set_result(response)
        if keep_alive and not self.closed and waiter is not None and not waiter.cancelled():
            self.pool.release(self)
        else:
            self.close()

    def _fail(self, exc: BaseException) -> None:
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class _StaleConnection(ConnectionResetError):
    """A pooled connection was closed by the server before answering."""


class _Pool:
    """Idle keep-alive connections to one (ip, port)."""

    def __init__(self, addr: tuple[str, int], max_idle: int, tls: ssl.SSLContext | None, server_name: str) -> None:
        self.addr = addr
        self.max_idle = max_idle
        self.tls = tls
        self.server_name = server_name
        self.idle: deque[_Connection] = deque()
        self.all: set[_Connection] = set()

    async def acquire(self, loop: asyncio.AbstractEventLoop, fresh: bool) -> _Connection:
        while self.idle and not fresh:
            conn = self.idle.pop()
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                conn.reused = True
                return conn
        if self.tls is None:
            _, conn = await loop.create_connection(lambda: _Connection(self), self.addr[0], self.addr[1])
        else:
            _, conn = await loop.create_connection(lambda: _Connection(self), self.addr[0], self.addr[1],
                                                   ssl=self.tls, server_hostname=self.server_name)
        self.all.add(conn)
        return conn

    def release(self, conn: _Connection) -> None:
        if len(self.idle) >= self.max_idle:
            conn.close()
        else:
            self.idle.append(conn)

    def forget(self, conn: _Connection) -> None:
        self.all.discard(conn)
        with contextlib.suppress(ValueError):
            self.idle.remove(conn)

    def close(self) -> None:
        for conn in list(self.all):
            conn.abort()
        self.idle.clear()


class HttpClient:
    """Send requests over pooled keep-alive connections."""

    def __init__(self, max_idle_per_host: int = 128) -> None:
        self.max_idle = max_idle_per_host
        self.pools: dict[tuple[str, int] | tuple[str, int, str], _Pool] = {}
        self._tls: ssl.SSLContext | None = None

    async def request(self, addr: tuple[str, int], method: bytes, target: bytes, authority: bytes,
                      headers: Headers, body: bytes, timeout: float | None = None,
                      tls_name: str | None = None) -> Response:
        """Send one request to `addr` with `Host: authority`; return the whole response. With `tls_name`, over
        TLS verified for that server name (the system's trust store). Raises `OSError`, `TimeoutError`."""
        head = [method, b" ", target, b" HTTP/1.1\r\nhost: ", authority, b"\r\ncontent-length: ",
                str(len(body)).encode(), b"\r\n"]
        for name, value in headers:
            head += (name, b": ", value, b"\r\n")
        head += (b"\r\n", body)
        request = b"".join(head)
        key = addr if tls_name is None else (addr[0], addr[1], tls_name)
        pool = self.pools.get(key)
        if pool is None:
            if tls_name is not None and self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls if tls_name is not None else None
            pool = self.pools[key] = _Pool(addr, self.max_idle, tls, tls_name or "")
        if timeout is None:
            return await self._exchange(pool, request)
        async with asyncio.timeout(timeout):
            return await self._exchange(pool, request)

    async def _exchange(self, pool: _Pool, request: bytes) -> Response:
        loop = asyncio.get_running_loop()
        for fresh in (False, True):
            conn = await pool.acquire(loop, fresh)
            try:
                return await conn.start(request)
            except _StaleConnection:
                if fresh:
                    raise
            except BaseException:
                if conn.waiter is not None:  # cancelled (timeout) mid-exchange: the connection is unusable
                    conn.waiter = None
                    conn.abort()
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Abort every connection."""
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()
