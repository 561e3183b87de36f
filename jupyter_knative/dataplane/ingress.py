"""The ingress listener (plain HTTP on loopback). Until Knative Serving's routing lands, every host
is unknown to it and gets the gateway's answer for an unknown host: 404 with an empty body."""

from __future__ import annotations

import asyncio


class _NotFoundProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if b"\r\n\r\n" in self._buffer and self._transport is not None:
            self._transport.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            self._transport.close()
        elif len(self._buffer) > 65536 and self._transport is not None:
            self._transport.close()


async def start_ingress(host: str, port: int) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(_NotFoundProtocol, host, port, reuse_address=True)
