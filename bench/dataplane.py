"""Data plane benchmarks: the ingress hop against calling the replica directly, side by side.

Three processes, as in the plane: a replica stand-in (a minimal uvloop + httptools hello server),
the ingress (`jupyter_knative.dataplane.Ingress`, routing one host to that replica), and the load
generator: `wrk` when it is installed (`apt-get install -y wrk`), else a small uvloop generator
with raw sockets in a subprocess (`python -m bench.dataplane load ...`). Each measurement runs
against the replica directly and through the ingress, alternating, several rounds; medians of the
rounds are reported, and the ingress's own CPU time gives its requests per second per core.

Rows: latency p50/p99 of sequential keep-alive requests (one connection), the added latency of the
hop (ingress minus direct), rps at 64 connections both ways, the ingress's rps per core of its own
CPU, and the time for 1,000 concurrent requests to a revision with no replica until one appears.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

HOST = "hello.bench.example.com"
ROUNDS = 3
DURATION = 4.0

_REPLICA = textwrap.dedent("""
    import asyncio, socket, sys, httptools, uvloop
    BODY = b"Hello World!\\n"
    RESP = b"HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: %d\\r\\n\\r\\n%s" % (len(BODY), BODY)
    class Hello(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport
            self.parser = httptools.HttpRequestParser(self)
        def data_received(self, data):
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.transport.close()
        def on_message_complete(self):
            self.transport.write(RESP)
            if not self.parser.should_keep_alive():
                self.transport.close()
    async def main():
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(4096)
        server = await asyncio.get_running_loop().create_server(Hello, sock=sock, backlog=4096)
        print(sock.getsockname()[1], flush=True)
        await server.serve_forever()
    uvloop.run(main())
""")

_INGRESS = textwrap.dedent("""
    import asyncio, gc, sys, uvloop
    from jupyter_knative.dataplane import Endpoint, HostRoute, Ingress, RevisionKey, RouteTable, Target
    async def main():
        ingress = Ingress()
        await ingress.start("127.0.0.1", 0)
        key = RevisionKey("bench", "hello-00001")
        ingress.set_routes(RouteTable.build({sys.argv[2]: HostRoute((Target(key, 100),))}))
        if sys.argv[1] != "0":
            ingress.set_endpoints(key, [Endpoint("127.0.0.1", int(sys.argv[1]), "hello-00001-deployment-bench")])
        gc.freeze()
        print(ingress.port, flush=True)
        loop = asyncio.get_running_loop()
        # "endpoints <port> <delay> <n>": once n requests wait, a replica appears <delay> s later
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            words = line.split()
            if words and words[0] == "endpoints":
                for _ in range(500):
                    stats = ingress.snapshot().get(key)
                    if stats is not None and stats.queued >= int(words[3]):
                        break
                    await asyncio.sleep(0.01)
                await asyncio.sleep(float(words[2]))
                queued = ingress.snapshot()[key].queued
                ingress.set_endpoints(key, [Endpoint("127.0.0.1", int(words[1]), "hello-00001-deployment-bench")])
                print(queued, flush=True)
        await asyncio.Event().wait()
    uvloop.run(main())
""")


def _spawn(code: str, *args: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parent.parent)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError("a benchmark process failed to start")
    return proc, int(line)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs"


# -- load generation ---------------------------------------------------------------------------

_WRK_LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")


def _wrk(port: int, connections: int, duration: float) -> dict[str, float]:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", "-H", f"Host: {HOST}",
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True).stdout
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
    result = {f"p{q}": float(v) * scale[u] for q, v, u in _WRK_LATENCY.findall(out)}
    match = _WRK_RPS.search(out)
    result["rps"] = float(match.group(1)) if match else 0.0
    if re.search(r"Non-2xx or 3xx responses|Socket errors", out):
        result["errors"] = 1.0
    return result


def _pygen(port: int, connections: int, duration: float) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "bench.dataplane", "load", str(port), str(connections), str(duration)],
                         capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent).stdout
    rps, p50, p99, errors = (float(x) for x in out.split())
    return {"rps": rps, "p50": p50, "p99": p99, "errors": errors}


async def _load(port: int, connections: int, duration: float) -> tuple[int, list[float], int]:
    request = f"GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    stop = time.perf_counter() + duration
    latencies: list[float] = []
    errors = 0

    async def one() -> int:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        done = 0
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length:\s*(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
            latencies.append(time.perf_counter() - t0)
            done += 1
        writer.close()
        return done

    counts = await asyncio.gather(*(one() for _ in range(connections)))
    return sum(counts), latencies, errors


def _load_main(argv: list[str]) -> None:
    import uvloop

    port, connections, duration = int(argv[0]), int(argv[1]), float(argv[2])
    total, latencies, errors = uvloop.run(_load(port, connections, duration))
    print(total / duration, _pct(latencies, 0.5), _pct(latencies, 0.99), errors)


# -- scale from zero -----------------------------------------------------------------------------

async def _burst(port: int, n: int) -> tuple[int, float]:
    """n concurrent requests; returns (errors, the slowest one's latency)."""
    request = f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()

    async def one() -> tuple[bool, float]:
        t0 = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        data = await reader.read()
        writer.close()
        return data.startswith(b"HTTP/1.1 200"), time.perf_counter() - t0

    results = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
    errors = sum(1 for r in results if not isinstance(r, tuple) or not r[0])
    slowest = max((r[1] for r in results if isinstance(r, tuple)), default=0.0)
    return errors, slowest


def bench_scale_from_zero(replica_port: int, rows: list[dict[str, Any]]) -> None:
    """1,000 requests wait at a revision with no replica; one appears 50 ms after they all arrived."""
    import uvloop

    ingress, port = _spawn(_INGRESS, "0", HOST)
    try:
        assert ingress.stdin is not None and ingress.stdout is not None
        ingress.stdin.write(f"endpoints {replica_port} 0.05 1000\n")
        ingress.stdin.flush()
        errors, slowest = uvloop.run(_burst(port, 1000))
        queued = int(ingress.stdout.readline())
    finally:
        ingress.kill()
        ingress.wait()
    rows.append({"metric": "1,000 concurrent at zero, replica +50 ms: errors / max",
                 "value": f"{errors} / {slowest * 1000:.0f} ms", "target": "0 errors, max <= 500 ms"})
    rows.append({"metric": "  requests waiting when the replica came", "value": str(queued)})


# -- main ---------------------------------------------------------------------------------------

def run() -> dict[str, Any]:
    generator = _wrk if shutil.which("wrk") else _pygen
    rows: list[dict[str, Any]] = []
    replica, replica_port = _spawn(_REPLICA)
    ingress, ingress_port = _spawn(_INGRESS, str(replica_port), HOST)
    try:
        _wait_ready(ingress_port)
        generator(ingress_port, 4, 1.0)  # warm both paths: pools, caches
        generator(replica_port, 4, 1.0)
        lat: dict[str, list[dict[str, float]]] = {"direct": [], "ingress": []}
        rps: dict[str, list[float]] = {"direct": [], "ingress": []}
        per_core: list[float] = []
        for _ in range(ROUNDS):
            for name, port in (("direct", replica_port), ("ingress", ingress_port)):
                lat[name].append(generator(port, 1, DURATION))
            for name, port in (("direct", replica_port), ("ingress", ingress_port)):
                cpu0 = _cpu_seconds(ingress.pid)
                result = generator(port, 64, DURATION)
                cpu = _cpu_seconds(ingress.pid) - cpu0
                rps[name].append(result["rps"])
                if name == "ingress" and cpu > 0:
                    per_core.append(result["rps"] * DURATION / cpu)  # requests served per CPU-second
    finally:
        ingress.kill()
        ingress.wait()
    try:
        bench_scale_from_zero(replica_port, rows)
    finally:
        replica.kill()
        replica.wait()

    def med(name: str, q: str) -> float:
        return statistics.median(r[q] for r in lat[name])

    rows[:0] = [
        {"metric": "latency direct to replica p50 / p99", "value": f"{_us(med('direct', 'p50'))} / "
                                                                  f"{_us(med('direct', 'p99'))}"},
        {"metric": "latency through ingress p50 / p99", "value": f"{_us(med('ingress', 'p50'))} / "
                                                                f"{_us(med('ingress', 'p99'))}"},
        {"metric": "added latency of the hop p50 / p99",
         "value": f"{_us(med('ingress', 'p50') - med('direct', 'p50'))} / "
                  f"{_us(med('ingress', 'p99') - med('direct', 'p99'))}",
         "target": "p50 <= 150 µs, p99 <= 1 ms"},
        {"metric": "rps at 64 connections, direct", "value": f"{statistics.median(rps['direct']):,.0f}"},
        {"metric": "rps at 64 connections, through ingress (end to end)",
         "value": f"{statistics.median(rps['ingress']):,.0f}", "target": ">= 15k on 2 cores"},
        {"metric": "ingress rps per core of its own CPU", "value": f"{statistics.median(per_core):,.0f}",
         "target": ">= 20k"},
    ]
    return {"suite": "dataplane", "machine": os.uname().machine, "cpus": os.cpu_count(),
            "generator": "wrk" if generator is _wrk else "python (uvloop, raw sockets)", "rows": rows}


def _wait_ready(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)


if __name__ == "__main__":
    if sys.argv[1:2] == ["load"]:
        _load_main(sys.argv[2:])
    else:
        for row in run()["rows"]:
            print(f"  {row['metric']:<68} {row['value']:>20}   target {row.get('target', '-')}")
