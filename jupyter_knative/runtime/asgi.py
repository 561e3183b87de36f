"""The one callable protocol everything in the runtime composes through: ASGI 3.

Adapters turn user code into an `ASGIApp`; the HTTP server runs one; samples are ones. Messages are
plain dicts, as the ASGI specification defines them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

__all__ = ["ASGI_VERSION", "ASGIApp", "Message", "Receive", "Scope", "Send", "header", "read_body", "send_response"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header (`name` in lower case), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def read_body(receive: Receive, limit: int | None = None) -> bytes:
    """Receive the whole request body. Raises `ValueError` beyond `limit` bytes."""
    first = await receive()
    body = first.get("body", b"")
    if not first.get("more_body", False):
        return bytes(body)
    parts = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client disconnected while sending the request body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise ValueError(f"request body = {size}+ bytes, must be at most {limit}")
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def send_response(send: Send, status: int, body: bytes = b"",
                        headers: Iterable[tuple[bytes, bytes]] = (),
                        content_type: bytes | None = b"text/plain; charset=utf-8") -> None:
    """Send a complete response in two messages."""
    raw = [(k, v) for k, v in headers]
    if content_type is not None and not any(k.lower() == b"content-type" for k, _ in raw):
        raw.append((b"content-type", content_type))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
