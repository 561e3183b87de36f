"""Just enough HTTP/1.1 client for a sample to POST a CloudEvent (no aiohttp in a replica: it costs more
to import than the whole runtime).

Cluster-local names (`*.svc`, `*.svc.cluster.local`) do not resolve outside Kubernetes; when
`JUPYTER_KNATIVE_INGRESS` (an `http://host:port` the plane sets in a replica's environment) is there,
such requests go to it with the original Host header, and the plane's ingress routes them.
"""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

__all__ = ["post"]

INGRESS_ENV = "JUPYTER_KNATIVE_INGRESS"


async def post(url: str, body: bytes, headers: list[tuple[str, str]], timeout: float = 10.0) -> int:
    """POST and return the response status. Raises `OSError`, `TimeoutError` or `ValueError`."""
    return await asyncio.wait_for(_post(url, body, headers), timeout)


async def _post(url: str, body: bytes, headers: list[tuple[str, str]]) -> int:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"url = {url!r}, must be an http:// URL")
    host, port = parts.hostname, parts.port or 80
    authority = parts.netloc
    ingress = os.environ.get(INGRESS_ENV)
    if ingress and (host.endswith(".svc") or ".svc." in host or host.endswith(".cluster.local")):
        via = urlsplit(ingress)
        host, port = via.hostname or "127.0.0.1", via.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"POST {target} HTTP/1.1", f"Host: {authority}", f"Content-Length: {len(body)}",
                 "Connection: close", *(f"{k}: {v}" for k, v in headers)]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        status_line = await reader.readline()
        fields = status_line.split(b" ", 2)
        if len(fields) < 2 or not fields[1].isdigit():
            raise ValueError(f"not an HTTP response from {url}: {status_line[:80]!r}")
        await reader.read()  # the rest, until the server closes (we asked it to)
        return int(fields[1])
    finally:
        writer.close()
