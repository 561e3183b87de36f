"""CloudEvents over HTTP for the adapters, through the CloudEvents Python SDK (imported on first use, so
a plain HTTP function's replica never pays for it).

Errors: `InvalidCloudEvent` (a `ValueError`) with a message fit for a 400 response.
"""

from __future__ import annotations

from typing import Any

from .asgi import Scope

__all__ = ["InvalidCloudEvent", "is_cloudevent", "looks_like_cloudevent", "parse", "to_binary", "to_structured"]


class InvalidCloudEvent(ValueError):
    """The request is not a valid CloudEvent in binary or structured mode."""


def looks_like_cloudevent(scope: Scope) -> bool:
    """A `ce-specversion` header (binary mode) or a CloudEvents content type (structured mode)."""
    for name, value in scope["headers"]:
        if name == b"ce-specversion":
            return True
        if name == b"content-type" and value.lower().startswith(b"application/cloudevents"):
            return True
    return False


def parse(scope: Scope, body: bytes) -> Any:
    """A `cloudevents.http.CloudEvent` from a binary or structured mode request."""
    from cloudevents.http import from_http

    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1")
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]},{text}" if key in headers else text
    try:
        return from_http(headers, body)
    except Exception as exc:  # the SDK's exceptions share no base class worth naming
        raise InvalidCloudEvent(_reason(exc)) from exc


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return (f"the request is not a valid CloudEvent ({text}); send binary mode (ce-specversion, ce-id, "
            f"ce-source and ce-type headers) or structured mode (Content-Type: application/cloudevents+json)")


def is_cloudevent(value: Any) -> bool:
    """An event object of the CloudEvents SDK (any of its flavours)."""
    return callable(getattr(value, "get_attributes", None)) and callable(getattr(value, "get_data", None))


def to_binary(event: Any) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers and body of `event` in binary mode."""
    from cloudevents.conversion import to_binary as convert

    headers, body = convert(event)
    raw = _raw(headers)
    if isinstance(event.get_data(), (dict, list)) and not any(k == b"content-type" for k, _ in raw):
        raw.append((b"content-type", b"application/json"))  # the SDK wrote JSON without saying so
    return raw, _bytes(body)


def to_structured(event: Any) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers and body of `event` in structured mode."""
    from cloudevents.conversion import to_structured as convert

    headers, body = convert(event)
    return _raw(headers), _bytes(body)


def _raw(headers: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    return [(str(k).lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]


def _bytes(body: Any) -> bytes:
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)
