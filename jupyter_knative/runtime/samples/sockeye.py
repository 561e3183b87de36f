"""`sockeye`: a page that shows the CloudEvents a service receives.

As the Go program: a POST (any path) is a CloudEvent, printed as `got <event.String()>` and answered
200; `GET /` is the page; `POST /inject` sends an event described by
`{"headers": {"ce-type", "ce-source", "ce-id", "content-type"}, "data": ..., "destination": url}`.
The page polls `GET /events` (JSON, newest last, up to 100 kept) instead of the original's websocket.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from typing import Any

from ..asgi import Receive, Scope, Send, read_body, send_response
from ..httpclient import post
from .goevent import InvalidEvent, UnknownEncoding, from_http

__all__ = ["Sockeye"]

MAX_EVENTS = 100


class Sockeye:
    def __init__(self) -> None:
        self.events: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    print("Server starting on port 8080", file=sys.stderr, flush=True)
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/inject":
            await self._inject(receive, send)
        elif method == "POST":
            await self._event(scope, receive, send)
        elif path == "/events" and method == "GET":
            await send_response(send, 200, json.dumps(list(self.events)).encode(), content_type=b"application/json")
        elif method in ("GET", "HEAD") and path in ("/", "/index.html"):
            await send_response(send, 200, _PAGE.encode(), content_type=b"text/html; charset=utf-8")
        else:
            await send_response(send, 404, b"404 page not found\n")

    async def _event(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            event = from_http(scope, await read_body(receive))
        except UnknownEncoding:
            await send_response(send, 415, content_type=None)
            return
        except InvalidEvent as exc:
            await send_response(send, 400, str(exc).encode())
            return
        print("got", event.string(), flush=True)
        self.events.append(event.to_json())
        await send_response(send, 200, content_type=None)

    async def _inject(self, receive: Receive, send: Send) -> None:
        cors = [(b"access-control-allow-origin", b"*"), (b"access-control-allow-headers", b"Content-Type")]
        await send_response(send, 200, b'"OKOK"\n', headers=cors, content_type=b"application/json")
        try:
            spec = json.loads(await read_body(receive))
            headers = spec.get("headers") or {}
            destination = str(spec["destination"])
            data = json.dumps(spec.get("data")).encode()
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            print(f"Error occured unmarsaling data: {exc}", flush=True)
            return
        ce_headers = [("Ce-Specversion", "1.0"), ("Ce-Type", str(headers.get("ce-type", ""))),
                      ("Ce-Source", str(headers.get("ce-source", ""))), ("Ce-Id", str(headers.get("ce-id", ""))),
                      ("Content-Type", str(headers.get("content-type") or "application/json"))]
        try:
            await post(destination, data, ce_headers)
        except (OSError, ValueError, TimeoutError) as exc:
            print(f"failed to send, {exc}", flush=True)
        print(f"sent Event to: {destination}", flush=True)


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>sockeye</title>
<style>body{font-family:monospace;margin:2em}pre{background:#f4f4f4;padding:1em;border-radius:4px}</style>
</head><body><h1>sockeye</h1><p>CloudEvents received by this service, newest first.</p><div id="events"></div>
<script>
async function refresh() {
  const events = await (await fetch("events")).json();
  const box = document.getElementById("events");
  box.innerHTML = "";
  for (const e of events.reverse()) {
    const pre = document.createElement("pre"); pre.textContent = JSON.stringify(e, null, 2); box.appendChild(pre);
  }
}
refresh(); setInterval(refresh, 1000);
</script></body></html>
"""
