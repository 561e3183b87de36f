"""Cluster-backend benchmarks (issue 11), against a plane reached as any cluster (a copy of its kubeconfig, its
ingress given as a port-forwarded one): a function cell shipped as a ConfigMap (first deploy, a changed cell, an
unchanged one), built in the cluster by a Tekton TaskRun, pushed as an OCI image to Debian's docker-registry (when
installed), and the widgets' metrics scraped through the API server's pod proxy."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .apiserver import _ms, _pct, running_plane

SOURCE = "def hello(request):\n    return 'Hello {n}!'\n"


def _seconds(values: list[float]) -> str:
    return f"{_ms(statistics.median(values))} (max {_ms(max(values))})"


def bench_shipping(cluster: Any, rows: list[dict[str, Any]]) -> None:
    first = time.perf_counter()
    cluster.deploy_function("cm", SOURCE.format(n=0))
    rows.append({"metric": "configmap ship: first deploy → Ready", "value": _ms(time.perf_counter() - first)})
    changed, unchanged = [], []
    for i in range(1, 8):
        t0 = time.perf_counter()
        cluster.deploy_function("cm", SOURCE.format(n=i))
        changed.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        assert cluster.deploy_function("cm", SOURCE.format(n=i)).action == "unchanged"
        unchanged.append(time.perf_counter() - t0)
    rows.append({"metric": "configmap ship: changed cell → new revision Ready (p50)", "value": _seconds(changed)})
    rows.append({"metric": "configmap ship: unchanged cell (no revision) (p50)", "value": _seconds(unchanged)})
    latencies = []
    for _ in range(200):
        t0 = time.perf_counter()
        assert cluster.invoke("cm").status_code == 200
        latencies.append(time.perf_counter() - t0)
    rows.append({"metric": "configmap-shipped function, request via ingress (p50)",
                 "value": f"{_ms(statistics.median(latencies))} (p99 {_ms(_pct(latencies, 0.99))})"})
    builds = []
    for i in range(5):
        t0 = time.perf_counter()
        cluster.deploy_function("tk", SOURCE.format(n=i), ship="tekton", registry="registry.example.com/bench")
        builds.append(time.perf_counter() - t0)
    rows.append({"metric": "tekton ship: TaskRun build + revision Ready (p50)", "value": _seconds(builds)})


def bench_pod_proxy(cluster: Any, namespace: str, rows: list[dict[str, Any]]) -> None:
    from jupyter_knative.client.metrics import MetricsSource

    pods = [p["metadata"]["name"] for p in cluster.list("pods", label_selector="serving.knative.dev/service=cm")
            if (p.get("status") or {}).get("phase") == "Running"]
    path = f"/api/v1/namespaces/{namespace}/pods/{pods[0]}:9091/proxy/metrics"
    conn = cluster._conn
    times = []
    for _ in range(100):
        t0 = time.perf_counter()
        conn.request_raw("GET", path, accept="text/plain")
        times.append(time.perf_counter() - t0)
    rows.append({"metric": "pod proxy: one queue-proxy scrape (p50)",
                 "value": f"{_ms(statistics.median(times))} (p99 {_ms(_pct(times, 0.99))})"})
    source = MetricsSource(cluster)
    scrapes = []
    for _ in range(20):
        t0 = time.perf_counter()
        source.scrape([namespace])
        scrapes.append(time.perf_counter() - t0)
    rows.append({"metric": f"metrics via pod proxy: whole namespace ({len(pods)} pods + broker lookup) (p50)",
                 "value": _seconds(scrapes)})


def bench_oci(rows: list[dict[str, Any]]) -> None:
    from jupyter_knative.client.oci import push_function_image
    from tests.client.test_oci_registry import push_base
    from tests.registry import BINARY, running_registry

    if not BINARY.exists():
        rows.append({"metric": "oci ship", "value": "skipped: docker-registry not installed"})
        return
    with tempfile.TemporaryDirectory() as tmp, running_registry(Path(tmp) / "registry") as registry:
        base = push_base(registry.host)
        cache = Path(tmp) / "layers"
        t0 = time.perf_counter()
        first = push_function_image("fn", "bench", SOURCE.format(n=0), registry=registry.host, base_image=base,
                                    cache_dir=cache)
        rows.append({"metric": "oci ship: first push (runtime layer built, pip warm)",
                     "value": _ms(time.perf_counter() - t0)})
        again = []
        for _ in range(5):
            t0 = time.perf_counter()
            same = push_function_image("fn", "bench", SOURCE.format(n=0), registry=registry.host, base_image=base,
                                       cache_dir=cache)
            again.append(time.perf_counter() - t0)
            assert same.digest == first.digest
        rows.append({"metric": "oci ship: same cell again (nothing uploaded) (p50)", "value": _seconds(again)})
        changed = []
        for i in range(1, 6):
            t0 = time.perf_counter()
            push_function_image("fn", "bench", SOURCE.format(n=i), registry=registry.host, base_image=base,
                                cache_dir=cache)
            changed.append(time.perf_counter() - t0)
        rows.append({"metric": "oci ship: changed cell (function layer + config) (p50)", "value": _seconds(changed)})


def run() -> dict[str, Any]:
    from jupyter_knative.client import Client

    rows: list[dict[str, Any]] = []
    with running_plane() as home:
        state = json.loads((home / "daemon.json").read_text())
        copy = home.parent / "kubeconfig"  # outside the home: to the client, any cluster
        shutil.copy(state["kubeconfig"], copy)
        with Client(kubeconfig=copy, namespace="bench", ingress=state["ingress"]) as cluster:
            cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
            bench_shipping(cluster, rows)
            bench_pod_proxy(cluster, "bench", rows)
    bench_oci(rows)
    return {"suite": "cluster", "machine": os.uname().machine, "cpus": os.cpu_count(), "rows": rows}


if __name__ == "__main__":
    for row in run()["rows"]:
        print(row, file=sys.stdout)
