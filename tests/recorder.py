"""A subscriber that lives in the test process: any URL the plane may deliver to, recording every request.

Paths choose the behaviour, so one recorder serves a whole test:
- `/ok/<name>` answers 200 with no body;
- `/status/<code>/<name>` answers `<code>` (with body `no luck` and, for 429/503, `Retry-After: 1`);
- `/flaky/<n>/<name>` answers 503 to the first `n` attempts of each event id, then 200;
- `/reply/<type>/<name>` answers 200 with a binary CloudEvent of type `<type>` whose data is the received
  data with `+<name>` appended (the transformer used by Sequences and reply tests);
- `/filter/<type>/<name>` echoes the event back when its type is `<type>`, else answers 200 with no body.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    def ce(self, attribute: str) -> str | None:
        return self.headers.get(f"ce-{attribute}")


class Recorder:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._attempts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with recorder._lock:
                    recorder.received.append(got)
                status, headers, out = recorder._answer(got)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def at(self, name: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.name == name]

    def ids(self, name: str) -> list[str]:
        return [r.ce("id") or "" for r in self.at(name)]

    def wait_for(self, check: Callable[[], Any], timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                with self._lock:
                    seen = [(r.path, r.ce("id"), r.ce("type")) for r in self.received]
                raise AssertionError(f"condition not reached in {timeout}s; received: {seen}")
            time.sleep(0.05)

    def _answer(self, got: Received) -> tuple[int, dict[str, str], bytes]:
        parts = got.path.strip("/").split("/")
        kind = parts[0]
        if kind == "status":
            code = int(parts[1])
            return code, ({"Retry-After": "1"} if code in (429, 503) else {}), b"no luck"
        if kind == "flaky":
            key = (got.path, got.ce("id") or "")
            with self._lock:
                self._attempts[key] = n = self._attempts.get(key, 0) + 1
            return (503, {}, b"later") if n <= int(parts[1]) else (200, {}, b"")
        if kind == "reply":
            headers = {"ce-specversion": "1.0", "ce-id": uuid.uuid4().hex, "ce-type": parts[1],
                       "ce-source": f"/recorder/{parts[2]}", "Content-Type": "text/plain"}
            return 200, headers, got.body + f"+{parts[2]}".encode()
        if kind == "filter":
            if got.ce("type") != parts[1]:
                return 200, {}, b""
            echo = {k: v for k, v in got.headers.items() if k.startswith("ce-")}
            echo["Content-Type"] = got.headers.get("content-type", "application/octet-stream")
            return 200, echo, got.body
        return 200, {}, b""
