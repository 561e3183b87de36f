"""Turn what an HTTP function returns into an ASGI response, with Flask's rules.

`str`/`bytes` → `text/html; charset=utf-8`; `dict`/`list` → JSON (sorted keys, compact, a final newline,
as Flask's default provider writes it); `(body, status)`, `(body, headers)`, `(body, status, headers)`;
our extra `(status, body)` when the first element is an int; `None` → 200 with an empty body; a
generator (sync or async) → a streamed body; a `Response`, a Werkzeug/Flask response, a Starlette
response, or any object with `status_code` and `body`.

Errors: `TypeError` for a value that cannot be a response.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from .asgi import Receive, Scope, Send

__all__ = ["Response", "send_return_value"]

_HTML = b"text/html; charset=utf-8"
_JSON = b"application/json"


@dataclass
class Response:
    """An explicit response: `return Response("created", status=201, headers={"Location": "/x"})`."""

    body: str | bytes | Any = b""
    status: int = 200
    headers: Mapping[str, str] | list[tuple[str, str]] = field(default_factory=dict)
    content_type: str | None = None

    @property
    def status_code(self) -> int:
        return self.status


async def send_return_value(rv: Any, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer with the response `rv` describes."""
    status: int | None = None
    headers: list[tuple[bytes, bytes]] = []
    if isinstance(rv, tuple):
        rv, status, headers = _unpack_tuple(rv)
    if _is_asgi_response(rv):  # a Starlette response is an ASGI application of its own
        await rv(scope, receive, send)
        return
    body, default_status, more_headers, content_type = _body_of(rv)
    status = default_status if status is None else status
    headers = more_headers + headers
    if content_type is not None and not any(k.lower() == b"content-type" for k, _ in headers):
        headers.append((b"content-type", content_type))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if isinstance(body, bytes):
        await send({"type": "http.response.body", "body": body})
        return
    await _stream(body, send)


def _unpack_tuple(rv: tuple[Any, ...]) -> tuple[Any, int | None, list[tuple[bytes, bytes]]]:
    if len(rv) == 3:
        return rv[0], _status(rv[1]), _headers(rv[2])
    if len(rv) == 2:
        first, second = rv
        if isinstance(first, int) and not isinstance(first, bool) and not isinstance(second, int):
            return second, _status(first), []  # (status, body): the plain-handler form
        if isinstance(second, (Mapping, list)):
            return first, None, _headers(second)
        return first, _status(second), []
    raise TypeError(f"a response tuple has 2 or 3 elements (body, status, headers), got {len(rv)}")


def _status(value: Any) -> int:
    if isinstance(value, HTTPStatus):
        return value.value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.split(" ", 1)[0].isdigit():
        return int(value.split(" ", 1)[0])
    raise TypeError(f"status = {value!r}, must be an int such as 200 or a string such as '200 OK'")


def _headers(value: Any) -> list[tuple[bytes, bytes]]:
    items = value.items() if isinstance(value, Mapping) else value
    return [(_b(k), _b(v)) for k, v in items]


def _b(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("latin-1")


def _body_of(rv: Any) -> tuple[bytes | Iterator[Any] | AsyncIterator[Any], int, list[tuple[bytes, bytes]],
                                bytes | None]:
    """(body, status, headers, content type) for a body value or a response object."""
    if rv is None:
        return b"", 200, [], None
    if isinstance(rv, str):
        return rv.encode("utf-8"), 200, [], _HTML
    if isinstance(rv, (bytes, bytearray, memoryview)):
        return bytes(rv), 200, [], _HTML
    if isinstance(rv, (dict, list)):
        return (json.dumps(rv, sort_keys=True, separators=(",", ":")) + "\n").encode(), 200, [], _JSON
    if isinstance(rv, Response):
        body, _, _, content_type = _body_of(rv.body)
        ct = rv.content_type.encode("latin-1") if rv.content_type else content_type
        return body, rv.status, _headers(rv.headers), ct
    if _is_werkzeug_response(rv):
        return _werkzeug_body(rv), int(rv.status_code), _headers(list(rv.headers.items())), None
    if hasattr(rv, "status_code") and hasattr(rv, "body"):
        body, _, _, content_type = _body_of(rv.body)
        raw_headers = getattr(rv, "headers", None) or {}
        return body, int(rv.status_code), _headers(raw_headers), content_type
    if inspect.isgenerator(rv) or inspect.isasyncgen(rv) or isinstance(rv, Iterator):
        return rv, 200, [], _HTML
    raise TypeError(f"the function returned {type(rv).__name__}, which is not a response: return str, bytes, "
                    f"dict, list, (body, status[, headers]), (status, body), None or a Response")


def _is_asgi_response(rv: Any) -> bool:
    return hasattr(rv, "raw_headers") and hasattr(rv, "status_code") and callable(rv) and \
        inspect.iscoroutinefunction(type(rv).__call__)


def _is_werkzeug_response(rv: Any) -> bool:
    return hasattr(rv, "get_data") and hasattr(rv, "status_code") and hasattr(rv, "is_streamed")


def _werkzeug_body(rv: Any) -> bytes | Iterator[Any]:
    if rv.is_streamed:
        chunks: Iterator[Any] = iter(rv.response)
        return chunks
    return bytes(rv.get_data())


async def _stream(body: Iterator[Any] | AsyncIterator[Any], send: Send) -> None:
    if isinstance(body, AsyncIterator):
        async for chunk in body:
            await send({"type": "http.response.body", "body": _chunk(chunk), "more_body": True})
    else:
        for chunk in body:
            await send({"type": "http.response.body", "body": _chunk(chunk), "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def _chunk(chunk: Any) -> bytes:
    return chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)
