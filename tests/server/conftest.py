"""jupyter_server under pytest-jupyter with the extension pointed at the session's plane (`plane.home`), a
namespace with a deployed function (module-scoped: one build per module), and an SSE reader."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# pytest-jupyter's fixtures (jp_fetch, jp_serverapp, ...); its plugin has no entry point and `pytest_plugins`
# may only live in the root conftest
from pytest_jupyter.jupyter_server import *  # noqa: F403

from jupyter_knative.client import Client
from jupyter_knative.home import PlaneHome

from ..conftest import Plane

ECHO = """
import os

def handler(request):
    print("echo", request.method, request.path, flush=True)
    return {"method": request.method, "path": request.path, "query": request.query_string.decode(),
            "body": request.get_data(as_text=True), "headers": {k.lower(): v for k, v in request.headers.items()},
            "version": VERSION}

VERSION = @VERSION@
"""


def echo_source(version: int) -> str:
    return ECHO.replace("@VERSION@", str(version))


@pytest.fixture
def knative_config(plane: Plane) -> dict[str, Any]:
    return {"home": str(plane.home)}


@pytest.fixture
def jp_server_config(knative_config: dict[str, Any]) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_knative": True}}, "KnativeExtension": knative_config}


@dataclass
class Served:
    namespace: str
    client: Client


@pytest.fixture(scope="module")
def served(plane: Plane) -> Iterator[Served]:
    """A namespace holding `echo` (revisions echo-00001 tagged v1, echo-00002 the latest with all the traffic)."""
    namespace = "lab-" + uuid.uuid4().hex[:8]
    resp = plane.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": namespace}})
    assert resp.status == 201, resp.body
    client = Client.embedded(home=PlaneHome(plane.home), namespace=namespace, start=False)
    try:
        client.deploy_function("echo", echo_source(1))
        client.deploy_function("echo", echo_source(2))
        client.traffic("echo", {"echo-00002": 100}, tags={"echo-00001": "v1"})
        yield Served(namespace, client)
    finally:
        client.close()
        plane.request("DELETE", f"/api/v1/namespaces/{namespace}")


class SSE:
    """A raw HTTP/1.1 client for `api/stream`: reads the chunked body and splits it into events."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.status = 0
        self.headers: dict[str, str] = {}
        self._buffer = ""
        self.ended = False

    @classmethod
    async def open(cls, port: int, path: str, headers: dict[str, str]) -> SSE:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: text/event-stream",
                 *(f"{k}: {v}" for k, v in headers.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        sse = cls(reader, writer)
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        status_line, *header_lines = head.strip().split("\r\n")
        sse.status = int(status_line.split()[1])
        sse.headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
        return sse

    async def _chunk(self) -> str | None:
        size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
        data = await self.reader.readexactly(size + 2)
        if size == 0:
            self.ended = True
            return None
        return data[:-2].decode()

    async def next(self, timeout: float = 30.0) -> tuple[str, str]:
        """The next event as (event, data); a comment comes as ("", text)."""
        async def read() -> tuple[str, str]:
            while "\n\n" not in self._buffer:
                chunk = await self._chunk()
                if chunk is None:
                    raise EOFError("the stream ended")
                self._buffer += chunk
            block, self._buffer = self._buffer.split("\n\n", 1)
            if block.startswith(":"):
                return "", block[1:].strip()
            fields = dict(line.split(": ", 1) for line in block.split("\n"))
            return fields.get("event", "message"), fields.get("data", "")

        return await asyncio.wait_for(read(), timeout)

    async def next_of(self, event: str, timeout: float = 30.0) -> Any:
        while True:
            kind, data = await self.next(timeout)
            if kind == event:
                return json.loads(data)

    async def end(self, timeout: float = 10.0) -> None:
        """Read until the server ends the response."""
        async def drain() -> None:
            while await self._chunk() is not None:
                pass

        await asyncio.wait_for(drain(), timeout)

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
def run(jp_asyncio_loop: asyncio.AbstractEventLoop) -> Any:
    """Run a coroutine on the server's loop (pytest-asyncio's auto mode would run async tests on another one).
    The loop is made current first: jp_fetch's HTTP client makes its future before the loop runs, and an earlier
    test may have left no current loop behind."""
    asyncio.set_event_loop(jp_asyncio_loop)
    return jp_asyncio_loop.run_until_complete


@pytest.fixture
def fetch(jp_fetch: Any, run: Any) -> Any:
    """jp_fetch, synchronously and without raising for an error status."""
    def call(*parts: str, **kwargs: Any) -> Any:
        kwargs.setdefault("raise_error", False)
        return run(jp_fetch(*parts, **kwargs))

    return call


@pytest.fixture
def open_stream(jp_fetch: Any, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str],
                run: Any) -> Iterator[Any]:
    """Open `api/stream` with a raw client (jp_fetch starts the server; its client cannot stop mid-stream)."""
    opened: list[SSE] = []

    def open_(namespace: str, headers: dict[str, str] | None = None) -> SSE:
        sse = run(SSE.open(jp_http_port, f"{jp_base_url}knative/api/stream?namespace={namespace}",
                           {**jp_auth_header, **(headers or {})}))
        opened.append(sse)
        return sse

    yield open_
    for sse in opened:
        sse.close()


def state_of(serverapp: Any) -> Any:
    return serverapp.web_app.settings["jupyter_knative"]
