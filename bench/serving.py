"""Serving benchmarks on a running plane: apply → Ready, scale from zero through the whole plane
(activation, pod, fork from the revision's warm zygote, first response), and requests per second end
to end through the plane's ingress — beside functions-framework serving the same function directly."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from . import runtime as runtime_bench
from .apiserver import Conn, _ms, _pct, running_plane

HELLO = "def hello(request):\n    return 'Hello World!'\n"
SVC = "/apis/serving.knative.dev/v1/namespaces/bench/services"


def _ksvc(name: str, image: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    template: dict[str, Any] = {"spec": {"containers": [{"image": image}]}}
    if annotations:
        template["metadata"] = {"annotations": annotations}
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"template": template}}


def _ready(c: Conn, name: str) -> bool:
    status, body = c.call("GET", f"{SVC}/{name}")
    conds = json.loads(body).get("status", {}).get("conditions", []) if status == 200 else []
    return any(x["type"] == "Ready" and x["status"] == "True" for x in conds)


def _wait(check: Any, timeout: float = 60.0, step: float = 0.002) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        time.sleep(step)


def _get(ingress_port: int, host: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", ingress_port, timeout=60)
    try:
        conn.request("GET", "/", headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def bench_apply_to_ready(c: Conn, image: str, rows: list[dict[str, Any]]) -> None:
    times = []
    for i in range(10):
        name = f"ready-{i}"
        t0 = time.perf_counter()
        c.call("POST", SVC, _ksvc(name, image))
        _wait(lambda n=name: _ready(c, n))
        times.append(time.perf_counter() - t0)
    rows.append({"metric": "apply → Ready, function Service (new zygote each)",
                 "value": f"{_ms(statistics.median(times))} (p90 {_ms(_pct(times, .9))})", "target": "p50 <= 300 ms"})


def _pods(c: Conn) -> int:
    return len(json.loads(c.call("GET", "/api/v1/namespaces/bench/pods?labelSelector="
                                 "serving.knative.dev%2Fservice%3Dlazy")[1])["items"])


def _patch(c: Conn, path: str, patch: dict[str, Any]) -> None:
    c.conn.request("PATCH", path, body=json.dumps(patch),
                   headers={"Authorization": "Bearer " + c.token, "Content-Type": "application/merge-patch+json"})
    resp = c.conn.getresponse()
    resp.read()
    assert resp.status == 200, resp.status


def bench_scale_from_zero(c: Conn, ingress_port: int, image: str, rows: list[dict[str, Any]]) -> None:
    # the KPA scales the revision to zero itself (a manual scale to 0 is undone by it): the shortest stable
    # window and grace period make that take seconds
    _patch(c, "/api/v1/namespaces/knative-serving/configmaps/config-autoscaler",
           {"data": {"allow-zero-initial-scale": "true", "scale-to-zero-grace-period": "1s"}})
    status, body = c.call("POST", SVC, _ksvc("lazy", image, {"autoscaling.knative.dev/initial-scale": "0",
                                                              "autoscaling.knative.dev/window": "6s"}))
    assert status == 201, body
    _wait(lambda: _ready(c, "lazy"))
    host = "lazy.bench.svc.cluster.local"
    t0 = time.perf_counter()
    assert _get(ingress_port, host)[0] == 200
    first = time.perf_counter() - t0
    warm = []
    for _ in range(8):
        _wait(lambda: _pods(c) == 0, step=0.01)
        t0 = time.perf_counter()
        status, _ = _get(ingress_port, host)
        warm.append(time.perf_counter() - t0)
        assert status == 200
    rows.append({"metric": "scale from zero, first ever (zygote started)", "value": _ms(first),
                 "target": "Knative 2-4 s"})
    rows.append({"metric": "scale from zero through the plane, warm zygote p50",
                 "value": f"{_ms(statistics.median(warm))} (max {_ms(max(warm))})", "target": "zygote fork: 10 ms"})


def bench_rps(c: Conn, ingress_port: int, image: str, work: Path, rows: list[dict[str, Any]]) -> None:
    c.call("POST", SVC, _ksvc("fast", image))
    _wait(lambda: _ready(c, "fast"))
    connections, seconds = 32, 4.0
    ours = asyncio.run(_load(ingress_port, "fast.bench.svc.cluster.local", connections, seconds))
    source = work / "ff-src"
    source.mkdir(exist_ok=True)
    (source / "main.py").write_text(runtime_bench.HELLO)
    theirs = runtime_bench._ff_rps(source, connections, seconds)
    rows.append({"metric": f"rps end to end through the plane ({connections} conns)", "value": f"{ours:,.0f}",
                 "target": ">= 15k on 2 cores"})
    rows.append({"metric": "rps, functions-framework serving it directly", "value": f"{theirs:,.0f}"})
    rows.append({"metric": "plane / functions-framework", "value": f"{ours / theirs:.1f}x"})


async def _load(port: int, host: str, connections: int, seconds: float) -> float:
    request = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    stop = time.perf_counter() + seconds
    done = 0

    async def one() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < stop:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            done += 1
        writer.close()
    await asyncio.gather(*(one() for _ in range(connections)))
    return done / seconds


def run() -> dict[str, Any]:
    from jupyter_knative.runtime.artifacts import package_function

    rows: list[dict[str, Any]] = []
    with running_plane() as home:
        c = Conn(home)
        c.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
        ingress_port = int(json.loads((home / "daemon.json").read_text())["ingress"].rsplit(":", 1)[1])
        image = package_function(HELLO, name="hello", namespace="bench", store=home / "artifacts")
        bench_apply_to_ready(c, image, rows)
        bench_scale_from_zero(c, ingress_port, image, rows)
        bench_rps(c, ingress_port, image, home.parent, rows)
    return {"suite": "serving", "machine": os.uname().machine, "cpus": os.cpu_count(), "rows": rows}


if __name__ == "__main__":
    for row in run()["rows"]:
        print(row, file=sys.stdout)
