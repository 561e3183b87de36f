"""Eventing benchmarks on a running plane: broker ingress → trigger subscriber latency at a steady 1k events/s,
and the highest sustained rate with one trigger.

The subscriber is a small asyncio HTTP server in this process, on the same event loop as the senders, so a
send time and a receive time come from one clock. Latency is from the moment a request starts to be written
to the broker until the subscriber has read the delivered event's head.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any

from .apiserver import Conn, _pct, running_plane

HOST = "broker-ingress.knative-eventing.svc.cluster.local"
NS = "bench"


class Subscriber:
    """Answers 200 to every POST and notes when each event id arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                now = time.perf_counter()
                length, event_id = 0, ""
                for line in head.split(b"\r\n"):
                    low = line.lower()
                    if low.startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                    elif low.startswith(b"ce-id:"):
                        event_id = line.split(b":", 1)[1].strip().decode()
                if length:
                    await reader.readexactly(length)
                self.arrivals.setdefault(event_id, now)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()


class Sender:
    """A keep-alive connection to the plane's ingress posting binary CloudEvents to the broker."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, event_id: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        body = b'{"n": 1}'
        self.writer.write(
            (f"POST /{NS}/default HTTP/1.1\r\nHost: {HOST}\r\nce-specversion: 1.0\r\nce-id: {event_id}\r\n"
             f"ce-type: bench\r\nce-source: /bench\r\nContent-Type: application/json\r\n"
             f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        if length:
            await self.reader.readexactly(length)
        return int(head.split(b" ", 2)[1])


async def _steady(port: int, sub: Subscriber, rate: float, seconds: float) -> tuple[list[float], int]:
    """Open loop: one event every 1/rate s, each on the next free connection of a pool."""
    pool = [Sender(port) for _ in range(32)]
    free: asyncio.Queue[Sender] = asyncio.Queue()
    for sender in pool:
        free.put_nowait(sender)
    sent: dict[str, float] = {}
    refused = 0

    async def one(i: int) -> None:
        nonlocal refused
        sender = await free.get()
        event_id = f"steady-{i}"
        sent[event_id] = time.perf_counter()
        if await sender.send(event_id) != 202:
            refused += 1
        free.put_nowait(sender)

    start = time.perf_counter()
    tasks = []
    total = int(rate * seconds)
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(i)))
    await asyncio.gather(*tasks)
    deadline = time.perf_counter() + 30
    while len([k for k in sent if k in sub.arrivals]) < total - refused and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    latencies = [sub.arrivals[k] - t for k, t in sent.items() if k in sub.arrivals]
    return latencies, refused


async def _flood(port: int, sub: Subscriber, connections: int, seconds: float) -> tuple[float, float]:
    """Closed loop: `connections` senders as fast as the broker accepts. Returns (accepted/s, delivered/s)."""
    accepted = 0
    stop = time.perf_counter() + seconds
    before = len(sub.arrivals)

    async def loop(c: int) -> None:
        nonlocal accepted
        sender, i = Sender(port), 0
        while time.perf_counter() < stop:
            i += 1
            if await sender.send(f"flood-{c}-{i}") == 202:
                accepted += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(loop(c) for c in range(connections)))
    elapsed = time.perf_counter() - t0
    # delivered during the sending window plus the backlog drained afterwards, over the time it all took
    drain_deadline = time.perf_counter() + 60
    while len(sub.arrivals) - before < accepted and time.perf_counter() < drain_deadline:
        await asyncio.sleep(0.05)
    total_time = time.perf_counter() - t0
    return accepted / elapsed, (len(sub.arrivals) - before) / total_time


async def _main(c: Conn, ingress_port: int, rows: list[dict[str, Any]]) -> None:
    sub = Subscriber()
    await sub.start()
    try:
        c.call("POST", f"/apis/eventing.knative.dev/v1/namespaces/{NS}/brokers",
               {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "metadata": {"name": "default"}})
        c.call("POST", f"/apis/eventing.knative.dev/v1/namespaces/{NS}/triggers",
               {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger", "metadata": {"name": "one"},
                "spec": {"broker": "default", "subscriber": {"uri": f"http://127.0.0.1:{sub.port}/"}}})
        deadline = time.monotonic() + 60
        while True:
            _, body = c.call("GET", f"/apis/eventing.knative.dev/v1/namespaces/{NS}/triggers/one")
            conds = json.loads(body).get("status", {}).get("conditions", [])
            if any(x["type"] == "Ready" and x["status"] == "True" for x in conds):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"trigger not Ready: {conds}")
            await asyncio.sleep(0.05)
        await _steady(ingress_port, sub, 200, 1.0)  # warm up
        latencies, refused = await _steady(ingress_port, sub, 1000, 5.0)
        rows.append({"metric": "broker → subscriber latency at 1k ev/s, p50",
                     "value": f"{statistics.median(latencies) * 1e3:.2f} ms", "target": "<= 1 ms"})
        rows.append({"metric": "broker → subscriber latency at 1k ev/s, p99",
                     "value": f"{_pct(latencies, .99) * 1e3:.2f} ms", "target": "<= 5 ms"})
        rows.append({"metric": "events delivered of sent at 1k ev/s",
                     "value": f"{len(latencies)}/{5000} ({refused} refused)"})
        accepted, delivered = await _flood(ingress_port, sub, 32, 5.0)
        rows.append({"metric": "max sustained, one trigger: accepted ev/s", "value": f"{accepted:,.0f}",
                     "target": ">= 5k ev/s"})
        rows.append({"metric": "max sustained, one trigger: delivered ev/s", "value": f"{delivered:,.0f}",
                     "target": ">= 5k ev/s"})
    finally:
        await sub.stop()


def run() -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with running_plane() as home:
        c = Conn(home)
        c.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        ingress_port = int(json.loads((home / "daemon.json").read_text())["ingress"].rsplit(":", 1)[1])
        asyncio.run(_main(c, ingress_port, rows))
    return {"suite": "eventing", "machine": os.uname().machine, "cpus": os.cpu_count(), "rows": rows}


if __name__ == "__main__":
    for row in run()["rows"]:
        print(row, file=sys.stdout)
