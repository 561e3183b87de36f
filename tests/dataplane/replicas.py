"""Fake replicas for the ingress tests: tiny HTTP/1.1 servers on 127.0.0.1 built on httptools.

A replica answers each request with its `handler` (default: a JSON echo of what it received, so a
test can see the headers that reached "the user container"), and records its connections, the
requests it saw, and how many it was serving at once.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httptools

from jupyter_knative.dataplane import Endpoint


@dataclass
class Request:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[-1] if values else None

    def names(self) -> set[str]:
        return {k.lower() for k, _ in self.headers}


Handler = Callable[["Request", "Conn"], Awaitable[None]]


class Conn(asyncio.Protocol):
    """One connection to the replica; handlers answer through it."""

    def __init__(self, replica: Replica) -> None:
        self.replica = replica
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._queue: asyncio.Queue[Request] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.replica.connections += 1
        self._worker = asyncio.get_running_loop().create_task(self._serve())

    def connection_lost(self, exc: Exception | None) -> None:
        if self._worker is not None:
            self._worker.cancel()

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.abort()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        req = Request(self.parser.get_method().decode(), self._url.decode(), self._headers, b"".join(self._body))
        self._url, self._headers, self._body = b"", [], []
        self._queue.put_nowait(req)

    async def _serve(self) -> None:
        while True:
            req = await self._queue.get()
            self.replica.requests.append(req)
            self.replica.active += 1
            self.replica.max_active = max(self.replica.max_active, self.replica.active)
            try:
                await self.replica.handler(req, self)
            finally:
                self.replica.active -= 1

    # -- for handlers --------------------------------------------------------------------------

    def respond(self, status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None,
                reason: str = "OK") -> None:
        head = [f"HTTP/1.1 {status} {reason}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if status not in (204, 304) and not any(k.lower() in ("content-length", "transfer-encoding")
                                                for k in (headers or {})):
            head.append(f"Content-Length: {len(body)}")
        self.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def reset(self) -> None:
        """Close with a TCP reset (SO_LINGER 0), as a crashing process's socket can."""
        if self.transport is not None:
            sock = self.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()


async def echo(req: Request, conn: Conn) -> None:
    body = json.dumps({"replica": conn.replica.name, "method": req.method, "path": req.path,
                       "headers": req.headers, "length": len(req.body)}).encode()
    conn.respond(200, body, {"Content-Type": "application/json"})


@dataclass
class Replica:
    name: str = "replica"
    handler: Handler = echo
    connections: int = 0
    active: int = 0
    max_active: int = 0
    requests: list[Request] = field(default_factory=list)
    server: asyncio.Server | None = None
    port: int = 0

    async def start(self) -> Replica:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(4096)
        self.server = await asyncio.get_running_loop().create_server(lambda: Conn(self), sock=sock, backlog=4096)
        self.port = sock.getsockname()[1]
        return self

    def endpoint(self) -> Endpoint:
        return Endpoint("127.0.0.1", self.port, self.name)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
