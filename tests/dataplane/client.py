"""A small HTTP/1.1 client for the ingress tests: raw sockets, one keep-alive connection, and the
response seen exactly as the ingress wrote it (status, header list, body, framing)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import httptools


@dataclass
class Response:
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[-1] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


class _Parse:
    def __init__(self, head_only: bool) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.head_only = head_only
        self.response = Response()
        self.chunks: list[bytes] = []
        self.head_done = self.done = False

    def on_status(self, reason: bytes) -> None:
        self.response.reason += reason.decode()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.response.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self.response.status = self.parser.get_status_code()
        self.head_done = self.response.status >= 200
        if self.head_only and self.head_done:
            self.done = True

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        if self.response.status >= 200:
            self.done = True


class Client:
    def __init__(self, port: int, host: str) -> None:
        self.port = port
        self.host = host
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Client:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def send(self, method: str = "GET", path: str = "/", headers: dict[str, str] | None = None,
             body: bytes | Iterable[bytes] = b"", *, host: str | None = None, version: str = "1.1") -> None:
        lines = [f"{method} {path} HTTP/{version}", f"Host: {self.host if host is None else host}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if isinstance(body, bytes):
            if body or method in ("POST", "PUT"):
                lines.append(f"Content-Length: {len(body)}")
            data = body
        else:
            lines.append("Transfer-Encoding: chunked")
            data = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in body if c) + b"0\r\n\r\n"
        assert self.writer is not None
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)

    async def read(self, *, head_only: bool = False) -> Response:
        parse = _Parse(head_only)
        assert self.reader is not None
        while not parse.done:
            data = await self.reader.read(65536)
            if not data:
                if parse.head_done and not (parse.response.header("content-length")
                                            or parse.response.header("transfer-encoding")):
                    break  # delimited by the end of the connection
                raise ConnectionError("connection closed before the response ended")
            parse.parser.feed_data(data)
        parse.response.body = b"".join(parse.chunks)
        return parse.response

    async def stream(self) -> AsyncIterator[Response | bytes]:
        """The response head, then each body piece as it arrives."""
        parse = _Parse(False)
        assert self.reader is not None
        sent_head = False
        while not parse.done:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("connection closed before the response ended")
            parse.parser.feed_data(data)
            if parse.head_done and not sent_head:
                sent_head = True
                yield parse.response
            while parse.chunks:
                yield parse.chunks.pop(0)

    async def closed(self, timeout: float = 2.0) -> bool:
        """True once the server closed the connection (everything before is discarded)."""
        assert self.reader is not None
        try:
            async with asyncio.timeout(timeout):
                while await self.reader.read(65536):
                    pass
            return True
        except (TimeoutError, ConnectionError):
            return False

    async def request(self, method: str = "GET", path: str = "/", headers: dict[str, str] | None = None,
                      body: bytes | Iterable[bytes] = b"", **kw: Any) -> Response:
        self.send(method, path, headers, body, **kw)
        return await self.read(head_only=method == "HEAD")


async def fetch(port: int, host: str, method: str = "GET", path: str = "/", headers: dict[str, str] | None = None,
                body: bytes | Iterable[bytes] = b"") -> Response:
    """One request on a connection of its own."""
    async with Client(port, host) as client:
        return await client.request(method, path, headers, body)
