"""Build benchmarks: packaging a function into a content-addressed artifact — without dependencies, with a
dependency set already installed, and the first build of a requirement set (from the package index when it is
reachable, else from local wheels) — and a function's whole build as a TaskRun through a running plane."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from .apiserver import Conn, _ms, running_plane

SOURCE = "def hello(request):\n    return 'Hello {n}!'\n"
REMOTE = ["tabulate==0.9.0"]


def _wheel(directory: Path, name: str, version: str, module: str) -> None:
    """A minimal pure-Python wheel written by hand (so the offline case needs no build backend)."""
    dist = f"{name.replace('-', '_')}-{version}.dist-info"
    files = {f"{module}.py": "VALUE = 1\n",
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = [f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b'=').decode()},"
              f"{len(t.encode())}" for p, t in files.items()]
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(directory / f"{name.replace('-', '_')}-{version}-py3-none-any.whl", "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)


def _timed(fn: Any, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return times


def bench_packaging(work: Path, rows: list[dict[str, Any]]) -> None:
    from jupyter_knative.runtime.artifacts import package_function

    store = work / "store"
    plain = _timed(lambda i: package_function(SOURCE.format(n=i), name="hello", store=store), 50)
    rows.append({"metric": "package a function, no dependencies (p50)", "value": _ms(statistics.median(plain))})

    wheels = work / "wheels"
    _wheel(wheels, "bench-dep", "1.0", "bench_dep")
    offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    saved = {k: os.environ.get(k) for k in offline}
    os.environ.update(offline)
    try:
        first_local = _timed(lambda i: package_function(SOURCE.format(n=i), name="hello", store=work / f"s{i}",
                                                        requirements=["bench-dep==1.0"]), 3)
        package_function(SOURCE, name="hello", store=store, requirements=["bench-dep==1.0"])
        cached = _timed(lambda i: package_function(SOURCE.format(n=1000 + i), name="hello", store=store,
                                                   requirements=["bench-dep==1.0"]), 20)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    rows.append({"metric": "package with cached dependencies (p50)", "value": _ms(statistics.median(cached))})
    rows.append({"metric": "first build of a requirement set, local wheel (p50)",
                 "value": _ms(statistics.median(first_local))})
    try:
        remote = _timed(lambda i: package_function(SOURCE, name="hello", store=work / f"r{i}", requirements=REMOTE), 3)
        rows.append({"metric": f"first build of a requirement set, {REMOTE[0]} from the index (p50)",
                     "value": _ms(statistics.median(remote))})
    except ValueError as e:  # no index reachable: say so rather than fail the suite
        rows.append({"metric": f"first build of {REMOTE[0]} from the index", "value": f"n/a ({e})"[:80]})


def bench_taskrun(rows: list[dict[str, Any]]) -> None:
    """A function built through the plane: ConfigMap + TaskRun (the Kaniko step served by the built-in builder)
    until Succeeded, as `deploy_function` does it."""
    from jupyter_knative.client.builds import build_objects

    with running_plane() as home:
        c = Conn(home)
        c.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": "bench"}})
        times = []
        for i in range(10):
            config_map, task_run = build_objects("hello", "bench", SOURCE.format(n=i))
            t0 = time.perf_counter()
            c.call("POST", "/api/v1/namespaces/bench/configmaps", config_map)
            c.call("POST", "/apis/tekton.dev/v1/namespaces/bench/taskruns", task_run)
            name = task_run["metadata"]["name"]
            while True:
                _, body = c.call("GET", f"/apis/tekton.dev/v1/namespaces/bench/taskruns/{name}")
                conds = json.loads(body).get("status", {}).get("conditions", [])
                state = next((x["status"] for x in conds if x["type"] == "Succeeded"), "Unknown")
                if state != "Unknown":
                    assert state == "True", conds
                    break
                time.sleep(0.002)
            times.append(time.perf_counter() - t0)
        rows.append({"metric": "function build as a TaskRun, create → Succeeded (p50)",
                     "value": f"{_ms(statistics.median(times))} (max {_ms(max(times))})"})


def run() -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        bench_packaging(Path(tmp), rows)
    bench_taskrun(rows)
    return {"suite": "build", "machine": os.uname().machine, "cpus": os.cpu_count(), "rows": rows}


if __name__ == "__main__":
    for row in run()["rows"]:
        print(row, file=sys.stdout)
