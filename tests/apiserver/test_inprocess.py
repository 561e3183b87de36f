"""The API server in-process (plain HTTP on an ephemeral port): behaviour that needs the store's view."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from jupyter_knative.api.kinds import registry
from jupyter_knative.apiserver.app import APIServer
from jupyter_knative.apiserver.resources import ResourceAPI
from jupyter_knative.apiserver.seed import seed
from jupyter_knative.store import Store

TOKEN = "test-token"


@pytest.fixture
async def served() -> AsyncIterator[tuple[Store, int]]:
    store = Store(registry())
    seed(store)
    runner = web.AppRunner(APIServer(ResourceAPI(store)).app(TOKEN), handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield store, port
    await runner.cleanup()
    store.close()


async def _open_watch(port: int, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    assert b"200" in status
    return reader, writer


async def test_watch_ends_when_client_disconnects(served: tuple[Store, int]) -> None:
    store, port = served
    baseline = store.watch_count
    _, writer = await _open_watch(port, "/api/v1/namespaces/default/configmaps?watch=true")
    for _ in range(100):
        if store.watch_count == baseline + 1:
            break
        await asyncio.sleep(0.01)
    assert store.watch_count == baseline + 1
    writer.close()
    for _ in range(200):
        if store.watch_count == baseline:
            break
        await asyncio.sleep(0.01)
    assert store.watch_count == baseline, "the watch outlived its client"


async def test_shutdown_closes_watch_streams(served: tuple[Store, int]) -> None:
    store, port = served
    reader, writer = await _open_watch(port, "/api/v1/namespaces/default/configmaps?watch=true")
    await asyncio.sleep(0.05)
    store.close_watches()
    received = b""
    while not received.endswith(b"\r\n0\r\n\r\n"):
        chunk = await asyncio.wait_for(reader.read(4096), timeout=5)
        assert chunk, "connection closed before the chunked stream was terminated"
        received += chunk
    writer.close()
