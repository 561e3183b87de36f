"""API server benchmarks: `up` to ready, GET and create latency, watch delivery, list of 1,000 objects.

Everything goes over real HTTPS on loopback with a keep-alive connection, as kubectl and the
`kubernetes` client talk to the plane. Figures are medians and 99th percentiles of many requests.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JUPYTER_KNATIVE_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "jupyter_knative.cli", *args], env=env, text=True,
                          capture_output=True, timeout=120, check=True)


@contextlib.contextmanager
def running_plane() -> Iterator[Path]:
    """A plane of its own in a temporary home, up for the block and down after it; the home."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        _cli(home, "up")
        try:
            yield home
        finally:
            _cli(home, "down")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


class Conn:
    def __init__(self, home: Path) -> None:
        state = json.loads((home / "daemon.json").read_text())
        self.port = int(state["api"].rsplit(":", 1)[1])
        self.ctx = ssl.create_default_context(cafile=str(home / "tls" / "ca.crt"))
        self.token = (home / "token").read_text().strip()
        self.conn = self.new()

    def new(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=30)

    def call(self, method: str, path: str, body: Any = None, accept: str = "application/json") -> tuple[int, bytes]:
        headers = {"Authorization": "Bearer " + self.token, "Accept": accept}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        return resp.status, resp.read()


def _configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"bench": "yes"}},
            "data": {"key": "value " * 8}}


def _image(name: str) -> dict[str, Any]:
    """A custom resource no controller acts on: the API server's own cost, schema check included."""
    return {"apiVersion": "caching.internal.knative.dev/v1alpha1", "kind": "Image",
            "metadata": {"name": name, "labels": {"bench": "yes"}},
            "spec": {"image": "ghcr.io/knative/helloworld-go@sha256:" + "0" * 64, "serviceAccountName": "default"}}


IMAGES = "/apis/caching.internal.knative.dev/v1alpha1/namespaces/bench/images"


def _ksvc(name: str) -> dict[str, Any]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"template": {"spec": {"containers": [{"image": "ghcr.io/knative/helloworld-go",
                                                           "env": [{"name": "TARGET", "value": "bench"}]}]}}}}


def bench_up(rows: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        t0 = time.perf_counter()
        _cli(home, "up")
        cold = time.perf_counter() - t0
        _cli(home, "down")
        warm = []
        for _ in range(3):
            t0 = time.perf_counter()
            _cli(home, "up")
            warm.append(time.perf_counter() - t0)
            _cli(home, "down")
    rows.append({"metric": "up to ready, first start (credentials made)", "value": _ms(cold)})
    rows.append({"metric": "up to ready, later starts (median of 3)", "value": _ms(statistics.median(warm))})


def bench_requests(home: Path, rows: list[dict[str, Any]]) -> None:
    c = Conn(home)
    c.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
    creates = []
    for i in range(1000):
        t0 = time.perf_counter()
        status, _ = c.call("POST", IMAGES, _image(f"img-{i:04d}"))
        creates.append(time.perf_counter() - t0)
        assert status == 201, status
    gets = []
    for i in range(3000):
        t0 = time.perf_counter()
        status, _ = c.call("GET", f"{IMAGES}/img-{i % 1000:04d}")
        gets.append(time.perf_counter() - t0)
        assert status == 200
    rows.append({"metric": "GET custom resource p50 / p99", "value": f"{_ms(_pct(gets, .5))} / {_ms(_pct(gets, .99))}",
                 "target": "p50 <= 1 ms"})
    rows.append({"metric": "create custom resource p50 / p99",
                 "value": f"{_ms(_pct(creates, .5))} / {_ms(_pct(creates, .99))}", "target": "p50 <= 3 ms"})
    lists, tables = [], []
    table_accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    for _ in range(20):
        t0 = time.perf_counter()
        status, body = c.call("GET", IMAGES)
        lists.append(time.perf_counter() - t0)
        assert status == 200 and len(json.loads(body)["items"]) == 1000
        t0 = time.perf_counter()
        status, body = c.call("GET", IMAGES, accept=table_accept)
        tables.append(time.perf_counter() - t0)
        assert status == 200
    rows.append({"metric": "list 1,000 objects, JSON (median)", "value": _ms(statistics.median(lists))})
    rows.append({"metric": "list 1,000 objects, Table as kubectl (median)", "value": _ms(statistics.median(tables))})
    ksvc = []
    for i in range(20):  # Knative Services: admission webhook work, then the controllers start replicas
        t0 = time.perf_counter()
        status, _ = c.call("POST", "/apis/serving.knative.dev/v1/namespaces/bench/services", _ksvc(f"svc-{i:02d}"))
        ksvc.append(time.perf_counter() - t0)
        assert status == 201, status
        time.sleep(0.2)
    rows.append({"metric": "create ksvc (webhook defaulting + validation) p50",
                 "value": _ms(statistics.median(ksvc))})


def bench_watch(home: Path, rows: list[dict[str, Any]]) -> None:
    """Time from sending a create to reading its ADDED event on an open watch stream."""
    c = Conn(home)
    watcher = c.new()
    watcher.request("GET", "/api/v1/namespaces/bench/configmaps?watch=true&resourceVersion=" +
                    json.loads(c.call("GET", "/api/v1/namespaces/bench/configmaps")[1])["metadata"]["resourceVersion"],
                    headers={"Authorization": "Bearer " + c.token})
    stream = watcher.getresponse()
    arrivals: dict[str, float] = {}
    done = threading.Event()

    def read() -> None:
        while len(arrivals) < 500:
            line = stream.readline()
            if not line:
                break
            event = json.loads(line)
            arrivals[event["object"]["metadata"]["name"]] = time.perf_counter()
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sent = {}
    for i in range(500):
        name = f"w-{i:04d}"
        sent[name] = time.perf_counter()
        c.call("POST", "/api/v1/namespaces/bench/configmaps", _configmap(name))
        time.sleep(0.002)
    done.wait(30)
    latencies = [arrivals[n] - sent[n] for n in sent if n in arrivals]
    rows.append({"metric": "watch event after create sent, p50 / p99",
                 "value": f"{_ms(_pct(latencies, .5))} / {_ms(_pct(latencies, .99))}", "target": "p50 <= 2 ms"})


def run() -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    bench_up(rows)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        _cli(home, "up")
        try:
            bench_requests(home, rows)
            bench_watch(home, rows)
        finally:
            _cli(home, "down")
    return {"suite": "apiserver", "machine": os.uname().machine, "cpus": os.cpu_count(), "rows": rows}
