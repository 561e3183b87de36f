"""Function runtime benchmarks: scale-from-zero cold start, idle replica memory, replica throughput.

- cold start: from `fork` (zygote) or process spawn (fresh interpreter) to the first response, on a
  listening socket bound beforehand, as the replica supervisor does it; p50/p99 of many starts.
- memory: private memory (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup) of idle replicas
  that have answered one request, for 1 and 20 replicas.
- throughput: keep-alive requests per second to one replica process from N concurrent connections,
  for the same hello function under this runtime and under functions-framework's own server
  (gunicorn, as `functions-framework --target` runs it), measured side by side in one run.

The load generator is a separate process (`python -m bench.runtime load PORT CONNS SECONDS`) on
uvloop, so the server has a core of its own on a 2-core machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HELLO = "def hello(request):\n    return 'Hello World!\\n'\n"
HELLO_FF = ("import functions_framework\n\n@functions_framework.http\ndef hello(request):\n"
            "    return 'Hello World!\\n'\n")
REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _listening() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock, sock.getsockname()[1]


async def _first_response(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(REQUEST)
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    body = await reader.readexactly(length)
    writer.close()
    return body


def _private_kb(pid: int) -> int:
    total = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1])
    return total


class _Exits:
    def __init__(self) -> None:
        self.done: dict[int, asyncio.Future[int]] = {}

    def expect(self, pid: int) -> asyncio.Future[int]:
        return self.done.setdefault(pid, asyncio.get_running_loop().create_future())

    def __call__(self, pid: int, returncode: int) -> None:
        future = self.expect(pid)
        if not future.done():
            future.set_result(returncode)


async def _cold_starts(spawner: Any, runs: int, workdir: Path) -> list[float]:
    exits = _Exits()
    spawner.on_exit(exits)
    times = []
    for i in range(runs):
        sock, port = _listening()
        started = time.perf_counter()
        pid = await spawner.fork(sock, {}, workdir / "cold.log", f"cold-{i}")
        await _first_response(port)
        times.append(time.perf_counter() - started)
        os.kill(pid, signal.SIGKILL)
        await asyncio.wait_for(exits.expect(pid), 10)
        sock.close()
    return times


async def bench_cold_start(store: Path, ref: str, work: Path, rows: list[dict[str, Any]]) -> None:
    from jupyter_knative.runtime import FreshSpawner, ZygoteClient

    zygote = await ZygoteClient.start(ref, store=store, workdir=work / "zygote")
    try:
        warm = await _cold_starts(zygote, 200, work)
    finally:
        await zygote.stop(2)
    fresh_spawner = await FreshSpawner.start(ref, store=store, workdir=work / "fresh")
    try:
        fresh = await _cold_starts(fresh_spawner, 20, work)
    finally:
        await fresh_spawner.stop(2)
    rows.append({"metric": "cold start, zygote fork, p50 / p99 (200)",
                 "value": f"{_ms(_pct(warm, .5))} / {_ms(_pct(warm, .99))}", "target": "p50 <= 10 ms, p99 <= 25 ms"})
    rows.append({"metric": "cold start, fresh interpreter, p50 / p99 (20)",
                 "value": f"{_ms(_pct(fresh, .5))} / {_ms(_pct(fresh, .99))}", "target": "p50 <= 100 ms"})
    rows.append({"metric": "cold start, fresh / zygote (p50)", "value": f"{_pct(fresh, .5) / _pct(warm, .5):.1f}x"})


async def _idle_replicas(spawner: Any, count: int, work: Path) -> list[int]:
    pids, socks = [], []
    for i in range(count):
        sock, port = _listening()
        pid = await spawner.fork(sock, {}, work / f"idle-{i}.log", f"idle-{i}")
        await _first_response(port)
        pids.append(pid)
        socks.append(sock)
    await asyncio.sleep(0.5)
    sizes = [_private_kb(pid) for pid in pids]
    for sock in socks:
        sock.close()
    return sizes


async def bench_memory(store: Path, ref: str, work: Path, rows: list[dict[str, Any]]) -> None:
    from jupyter_knative.runtime import FreshSpawner, ZygoteClient

    zygote = await ZygoteClient.start(ref, store=store, workdir=work / "zygote-mem")
    try:
        one = await _idle_replicas(zygote, 1, work)
        twenty = await _idle_replicas(zygote, 20, work)
    finally:
        await zygote.stop(2)
    fresh_spawner = await FreshSpawner.start(ref, store=store, workdir=work / "fresh-mem")
    try:
        fresh = await _idle_replicas(fresh_spawner, 1, work)
    finally:
        await fresh_spawner.stop(2)
    rows.append({"metric": "idle replica private memory (1, forked)", "value": f"{one[0] / 1024:.2f} MB",
                 "target": "<= 5 MB"})
    rows.append({"metric": "idle replica private memory (mean of 20)",
                 "value": f"{statistics.mean(twenty) / 1024:.2f} MB", "target": "100 idle < 600 MB"})
    rows.append({"metric": "idle replica private memory (fresh interpreter)", "value": f"{fresh[0] / 1024:.2f} MB"})


def _load(port: int, connections: int, seconds: float) -> float:
    out = subprocess.run([sys.executable, "-m", "bench.runtime", "load", str(port), str(connections), str(seconds)],
                         capture_output=True, text=True, timeout=seconds + 60, cwd=Path(__file__).parent.parent)
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed: {out.stderr[-2000:]}")
    return float(json.loads(out.stdout)["rps"])


async def _ours_rps(store: Path, ref: str, work: Path, connections: int, seconds: float) -> float:
    from jupyter_knative.runtime import ZygoteClient

    zygote = await ZygoteClient.start(ref, store=store, workdir=work / "zygote-rps")
    sock, port = _listening()
    try:
        await zygote.fork(sock, {}, work / "rps.log", "rps")
        await _first_response(port)
        return await asyncio.get_running_loop().run_in_executor(None, _load, port, connections, seconds)
    finally:
        await zygote.stop(2)
        sock.close()


def _ff_rps(source_dir: Path, connections: int, seconds: float) -> float:
    ff = shutil.which("functions-framework", path=str(Path(sys.executable).parent)) or "functions-framework"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([ff, "--target", "hello", "--source", str(source_dir / "main.py"), "--host",
                               "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              cwd=source_dir)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                asyncio.run(_first_response(port))
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("functions-framework did not start") from None
                time.sleep(0.05)
        return _load(port, connections, seconds)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def bench_throughput(store: Path, work: Path, rows: list[dict[str, Any]]) -> None:
    from jupyter_knative.runtime import package_function

    connections, seconds = 32, 4.0
    plain = package_function(HELLO, name="hello", store=store)
    decorated = package_function(HELLO_FF, name="hello-ff", store=store)
    ours = await _ours_rps(store, plain, work, connections, seconds)
    ours_ff = await _ours_rps(store, decorated, work, connections, seconds)
    source_dir = work / "ff-src"
    source_dir.mkdir(exist_ok=True)
    (source_dir / "main.py").write_text(HELLO)
    theirs = await asyncio.get_running_loop().run_in_executor(None, _ff_rps, source_dir, connections, seconds)
    rows.append({"metric": f"replica rps, hello function ({connections} conns)", "value": f"{ours:,.0f}",
                 "target": "uvicorn+httptools league (36k)"})
    rows.append({"metric": "replica rps, @functions_framework.http function", "value": f"{ours_ff:,.0f}"})
    rows.append({"metric": "functions-framework's own server (gunicorn)", "value": f"{theirs:,.0f}"})
    rows.append({"metric": "hello rps, ours / functions-framework", "value": f"{ours / theirs:.1f}x"})


async def _main(rows: list[dict[str, Any]]) -> None:
    from jupyter_knative.runtime import package_function

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = work / "store"
        ref = package_function(HELLO, name="hello", store=store)
        await bench_cold_start(store, ref, work, rows)
        await bench_memory(store, ref, work, rows)
        await bench_throughput(store, work, rows)


def run() -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    asyncio.run(_main(rows))
    return {"suite": "runtime", "machine": os.uname().machine, "cpus": os.cpu_count(), "rows": rows}


# the load generator (a separate process)


async def _worker(port: int, stop_at: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    while time.perf_counter() < stop_at:
        writer.write(REQUEST)
        head = await reader.readuntil(b"\r\n\r\n")
        at = head.lower().find(b"content-length:")
        if at < 0:
            raise RuntimeError(f"a response without Content-Length: {head!r}")
        length = int(head[at + 15:head.index(b"\r\n", at)])
        await reader.readexactly(length)
        done += 1
    counts.append(done)
    writer.close()


async def _generate(port: int, connections: int, seconds: float) -> float:
    counts: list[int] = []
    start = time.perf_counter()
    await asyncio.gather(*(_worker(port, start + seconds, counts) for _ in range(connections)))
    return sum(counts) / (time.perf_counter() - start)


def _load_main(argv: list[str]) -> None:
    port, connections, seconds = int(argv[0]), int(argv[1]), float(argv[2])
    try:
        import uvloop

        rps = uvloop.run(_generate(port, connections, seconds))
    except ImportError:
        rps = asyncio.run(_generate(port, connections, seconds))
    print(json.dumps({"rps": rps}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["load"]:
        _load_main(sys.argv[2:])
    else:
        for row in run()["rows"]:
            print(f"  {row['metric']:<48} {row['value']:>18}   target {row.get('target', '-')}")
