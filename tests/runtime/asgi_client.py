"""Drive an ASGI application in process: one request in, the collected response out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jupyter_knative.runtime.asgi import ASGIApp, Message


@dataclass
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    chunks: list[bytes] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower().encode():
                return value.decode("latin-1")
        return None

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


async def call(app: ASGIApp, method: str = "GET", path: str = "/", body: bytes | str = b"",
               headers: dict[str, str] | list[tuple[str, str]] | None = None, query: str = "") -> Reply:
    data = body.encode() if isinstance(body, str) else body
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in pairs] + [(b"host", b"example.com")],
             "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8080)}
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": data, "more_body": False}

    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    chunks = [m.get("body", b"") for m in messages if m["type"] == "http.response.body"]
    return Reply(start["status"], [(bytes(k), bytes(v)) for k, v in start.get("headers", [])], b"".join(chunks),
                 chunks)
