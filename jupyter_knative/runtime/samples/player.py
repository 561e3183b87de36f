"""`cloudevents-player`: receive CloudEvents, list them, and send events to a broker.

The original's REST API: `POST /` receives an event (binary or structured) → 202; `GET /messages?page=
&size=` lists the newest first as JSON (`id`, `receivedAt`, `subject`, `eventType`, `source`,
`extensions`, `data`, `type` = RECEIVED/SENT/FAILED; at most 200 kept); `POST /messages` sends the
event in the request to the broker (structured if the request was) → 202; `DELETE /messages` clears →
202. `GET /` is a small page that polls the list (the original's websocket feed is not provided).

Where events go: `$K_SINK` (a SinkBinding), else `$BROKER_URI`/`$BROKER_URL`, else the broker
`$BROKER_NAME` (default `default`) in `$BROKER_NAMESPACE` (default: the Pod's namespace) through
Knative's broker ingress; `PLAYER_MODE=LOCAL` sends to itself.
"""

from __future__ import annotations

import json
import os
import sys
from collections import deque
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from ..asgi import Receive, Scope, Send, read_body, send_response
from ..httpclient import post
from .goevent import GoEvent, InvalidEvent, UnknownEncoding, from_http

__all__ = ["CloudEventsPlayer", "broker_url"]

MAX_MESSAGES = 200
_JSON = b"application/json"


def broker_url(env: dict[str, str]) -> str:
    port = env.get("PORT") or "8080"
    if env.get("PLAYER_MODE", "").upper() == "LOCAL":
        return f"http://localhost:{port}/"
    for name in ("K_SINK", "BROKER_URI", "BROKER_URL"):
        if env.get(name):
            return env[name]
    namespace = env.get("BROKER_NAMESPACE") or env.get("POD_NAMESPACE") or env.get("K_NAMESPACE") or "default"
    return f"http://broker-ingress.knative-eventing.svc.cluster.local/{namespace}/{env.get('BROKER_NAME') or 'default'}"


class CloudEventsPlayer:
    def __init__(self) -> None:
        self.messages: deque[dict[str, Any]] = deque(maxlen=MAX_MESSAGES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        if path == "/" and method == "POST":
            await self._receive_event(scope, receive, send)
        elif path == "/" and method in ("GET", "HEAD"):
            await send_response(send, 200, _PAGE.encode(), content_type=b"text/html; charset=utf-8")
        elif path == "/messages" and method == "GET":
            await self._list(scope, send)
        elif path == "/messages" and method == "POST":
            await self._send_event(scope, receive, send)
        elif path == "/messages" and method == "DELETE":
            self.messages.clear()
            await send_response(send, 202, content_type=None)
        elif path in ("/", "/messages"):
            await send_response(send, 405, content_type=None)
        else:
            await send_response(send, 404, content_type=None)

    async def _read_event(self, scope: Scope, receive: Receive, send: Send) -> GoEvent | None:
        try:
            event = from_http(scope, await read_body(receive))
        except UnknownEncoding:
            await send_response(send, 415, content_type=None)
            return None
        except InvalidEvent as exc:
            await send_response(send, 400, json.dumps([{"message": str(exc)}]).encode(), content_type=_JSON)
            return None
        problems = event.validate()
        if problems:
            await send_response(send, 400, json.dumps([{"message": p} for p in problems]).encode(),
                                content_type=_JSON)
            return None
        return event

    async def _receive_event(self, scope: Scope, receive: Receive, send: Send) -> None:
        event = await self._read_event(scope, receive, send)
        if event is not None:
            self._record(event, "RECEIVED")
            await send_response(send, 202, content_type=None)

    async def _send_event(self, scope: Scope, receive: Receive, send: Send) -> None:
        event = await self._read_event(scope, receive, send)
        if event is None:
            return
        structured = any(k == b"content-type" and v.lower().startswith(b"application/cloudevents+json")
                         for k, v in scope["headers"])
        target = broker_url(dict(os.environ))
        try:
            status = await post(target, *_encode(event, structured))
        except (OSError, ValueError, TimeoutError) as exc:
            print(f"ERROR Unable to send cloudEvent to {target}: {exc}", file=sys.stderr, flush=True)
            status = 0
        if 0 < status < 400:
            self._record(event, "SENT")
        else:
            if status:
                print(f"ERROR Unable to send cloudEvent. StatusCode: {status}", file=sys.stderr, flush=True)
            self._record(event, "FAILED")
        await send_response(send, 202, content_type=None)  # as the original: sent (or failed), then 202

    def _record(self, event: GoEvent, kind: str) -> None:
        doc = event.to_json()
        known = {"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data",
                 "data_base64"}
        self.messages.append({
            "id": event.attrs.get("id"), "receivedAt": datetime.now().astimezone().isoformat(timespec="milliseconds"),
            "subject": event.attrs.get("subject"), "eventType": event.attrs.get("type"),
            "source": event.attrs.get("source"), "extensions": {k: v for k, v in doc.items() if k not in known},
            "data": doc.get("data"), "type": kind,
        })

    async def _list(self, scope: Scope, send: Send) -> None:
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        try:
            page, size = int(query.get("page", "0")), int(query.get("size", "10"))
        except ValueError:
            await send_response(send, 400, content_type=None)
            return
        newest = list(reversed(self.messages))
        # The original skips page*size and then takes page*size + size: kept, so pages read the same.
        chosen = newest[page * size:page * size + page * size + size]
        await send_response(send, 200, json.dumps(chosen).encode(), content_type=_JSON)


def _encode(event: GoEvent, structured: bool) -> tuple[bytes, list[tuple[str, str]]]:
    if structured:
        return json.dumps(event.to_json()).encode(), [("Content-Type", "application/cloudevents+json")]
    headers = [("Ce-Specversion", event.specversion)]
    for key, value in {**event.attrs, **event.extensions}.items():
        if key == "datacontenttype":
            headers.append(("Content-Type", value))
        else:
            headers.append((f"Ce-{key}", str(value).lower() if isinstance(value, bool) else str(value)))
    return event.data or b"", headers


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            mode = "LOCAL" if os.environ.get("PLAYER_MODE", "").upper() == "LOCAL" else "KNATIVE"
            print(f"INFO  Player mode {mode} - broker: {broker_url(dict(os.environ))}", flush=True)
            print(f"INFO  cloudevents-player started. Listening on: http://0.0.0.0:{os.environ.get('PORT') or 8080}",
                  flush=True)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>CloudEvents Player</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;
padding:4px 8px;text-align:left}pre{margin:0}</style></head>
<body><h1>CloudEvents Player</h1>
<form id="f"><input name="id" placeholder="id" required> <input name="type" placeholder="type" required>
<input name="source" placeholder="source" required> <input name="message" placeholder="message">
<button>Send event</button></form>
<h2>Activity</h2><table><thead><tr><th>time</th><th></th><th>id</th><th>type</th><th>source</th><th>data</th></tr>
</thead><tbody id="rows"></tbody></table>
<script>
const rows = document.getElementById("rows");
async function refresh() {
  const list = await (await fetch("messages?size=200")).json();
  rows.innerHTML = "";
  for (const m of list) {
    const tr = document.createElement("tr");
    for (const v of [m.receivedAt, m.type === "RECEIVED" ? "\\u2b07" : "\\u2b06", m.id, m.eventType, m.source,
                     JSON.stringify(m.data)]) {
      const td = document.createElement("td"); td.textContent = v ?? ""; tr.appendChild(td);
    }
    rows.appendChild(tr);
  }
}
document.getElementById("f").onsubmit = async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  await fetch("messages", {method: "POST", headers: {"Content-Type": "application/cloudevents+json"},
    body: JSON.stringify({specversion: "1.0", id: f.get("id"), type: f.get("type"), source: f.get("source"),
                          datacontenttype: "application/json", data: {message: f.get("message")}})});
  refresh();
};
refresh(); setInterval(refresh, 2000);
</script></body></html>
"""
