"""Knative Eventing's `event_display`: print each CloudEvent the way the Go SDK's `Event.String()` does.

As the Go receiver answers: `/healthz` → 204; GET, OPTIONS and DELETE → 405; a CloudEvent (binary or
structured) → printed to stdout, 200 with an empty body; a request that is not a CloudEvent → 415; an
invalid one → 400 with the reason.
"""

from __future__ import annotations

import sys

from ..asgi import Receive, Scope, Send, read_body, send_response
from .goevent import GoEvent, InvalidEvent, UnknownEncoding, from_http

__all__ = ["EventDisplay", "display"]

_NOT_EVENTS = frozenset({"GET", "OPTIONS", "DELETE"})


def display(event: GoEvent) -> str:
    """The text the Go program prints for one event."""
    return "☁️  cloudevents.Event\n" + event.string()


class EventDisplay:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/healthz" and not scope["query_string"]:
            await send_response(send, 204, content_type=None)
            return
        if scope["method"] in _NOT_EVENTS:
            await send_response(send, 405, content_type=None)
            return
        body = await read_body(receive)
        try:
            event = from_http(scope, body)
        except UnknownEncoding:
            await send_response(send, 415, content_type=None)
            return
        except InvalidEvent as exc:
            await send_response(send, 400, str(exc).encode())
            return
        problems = event.validate()
        if problems:
            await send_response(send, 400, "\n".join(problems).encode())
            return
        sys.stdout.write(display(event))
        sys.stdout.flush()
        await send_response(send, 200, content_type=None)
