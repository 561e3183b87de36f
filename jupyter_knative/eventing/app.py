"""The data plane's one ASGI application: the Host header (and for loopback, the path) picks the handler."""

from __future__ import annotations

from ..runtime.asgi import ASGIApp, Receive, Scope, Send, header, read_body
from .broker import BrokerIngress, Reply, TriggerFilter
from .channel import ChannelReceiver
from .routes import Kind, classify_request

__all__ = ["MAX_BODY", "make_app"]

MAX_BODY = 64 * 1024 * 1024


def make_app(ingress: BrokerIngress, trigger_filter: TriggerFilter, channels: ChannelReceiver) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        host = header(scope, b"host") or b""
        path: str = scope["path"]
        method: str = scope["method"]
        kind, channel = classify_request(host.decode("latin-1"), path)
        try:
            body = await read_body(receive, MAX_BODY)
        except ValueError:
            await _respond(send, (413, [], b""))
            return
        except ConnectionError:
            return
        headers = scope["headers"]
        reply: Reply
        if kind is Kind.INGRESS:
            reply = await ingress.handle(method, path, headers, body)
        elif kind is Kind.FILTER:
            reply = await trigger_filter.handle(method, path, headers, body)
        elif kind is Kind.CHANNEL and channel is not None:
            reply = await channels.handle(method, channel[0], channel[1], headers, body)
        else:
            reply = (404, [], b"")
        await _respond(send, reply)

    return app


async def _respond(send: Send, reply: Reply) -> None:
    status, headers, body = reply
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
