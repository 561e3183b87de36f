"""The plane's processes: `down` leaves none behind, `up` brings services back from the store."""

from __future__ import annotations

import http.client
import json
import os
import time
from pathlib import Path

from .conftest import KUBECTL, cli


def _daemon_group(pid: int) -> list[int]:
    """Live processes in the daemon's process group (zombies count as gone)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pid:
            found.append(int(entry.name))
    return found


def _kubectl(home: Path, *args: str, input: str | None = None) -> str:
    import subprocess
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "KUBECONFIG": str(home / "kubeconfig"),
           "KUBECACHEDIR": str(home / "kcache")}
    return subprocess.run([KUBECTL or "kubectl", *args], input=input, text=True, capture_output=True, env=env,
                          check=True, timeout=90).stdout


def _hello(home: Path) -> bytes:
    port = int(json.loads((home / "daemon.json").read_text())["ingress"].rsplit(":", 1)[1])
    deadline = time.monotonic() + 30
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/", headers={"Host": "hello.default.svc.cluster.local"})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status == 200 or time.monotonic() > deadline:
                return body
        finally:
            conn.close()
        time.sleep(0.2)


def test_down_leaves_nothing_and_up_restores_services(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert cli(home, "up").returncode == 0
    _kubectl(home, "apply", "-f", "-", input=(
        "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: hello\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - image: ghcr.io/knative/helloworld-go\n          env:\n"
        "            - {name: TARGET, value: again}\n"))
    _kubectl(home, "wait", "ksvc/hello", "--for=condition=Ready", "--timeout=60s")
    assert _hello(home) == b"Hello again!\n"
    pid = json.loads((home / "daemon.json").read_text())["pid"]
    assert len(_daemon_group(pid)) >= 3  # the daemon, a zygote, a replica
    assert cli(home, "down").returncode == 0
    assert _daemon_group(pid) == []
    assert cli(home, "up").returncode == 0
    try:
        assert _hello(home) == b"Hello again!\n"
    finally:
        cli(home, "down")
