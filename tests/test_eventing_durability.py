"""An event the broker answered 202 is delivered at least once, even when the daemon is killed (`kill -9`) under a
steady stream of events and started again."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
import uuid
from pathlib import Path

from .conftest import KUBECTL, cli
from .recorder import Recorder

BROKER_INGRESS = "broker-ingress.knative-eventing.svc.cluster.local"


def _kubectl(home: Path, *args: str, input: str | None = None) -> str:
    import subprocess

    assert KUBECTL
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "KUBECONFIG": str(home / "kubeconfig"),
           "KUBECACHEDIR": str(home / "kcache")}
    proc = subprocess.run([KUBECTL, *args], input=input, text=True, capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _ingress_port(home: Path) -> int:
    return int(json.loads((home / "daemon.json").read_text())["ingress"].rsplit(":", 1)[1])


def test_accepted_events_survive_sigkill(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert cli(home, "up").returncode == 0
    recorder = Recorder()
    try:
        _kubectl(home, "apply", "-n", "default", "-f", "-", input=f"""apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: steady
spec:
  broker: default
  subscriber:
    uri: {recorder.url("ok/steady")}
""")
        _kubectl(home, "wait", "-n", "default", "trigger/steady", "--for=condition=Ready", "--timeout=60s")
        accepted: list[str] = []
        stop = threading.Event()
        port = [_ingress_port(home)]

        def stream() -> None:
            conn: http.client.HTTPConnection | None = None
            while not stop.is_set():
                event_id = uuid.uuid4().hex
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port[0], timeout=5)
                    conn.request("POST", "/default/default", body=b'{"n": 1}', headers={
                        "Host": BROKER_INGRESS, "ce-specversion": "1.0", "ce-id": event_id, "ce-type": "steady",
                        "ce-source": "/durability", "Content-Type": "application/json"})
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status == 202:
                        accepted.append(event_id)
                except (OSError, http.client.HTTPException):
                    if conn is not None:
                        conn.close()
                    conn = None
                    time.sleep(0.02)
                time.sleep(0.002)  # a steady stream of a few hundred events per second

        sender = threading.Thread(target=stream, daemon=True)
        sender.start()
        time.sleep(1.5)
        pid = json.loads((home / "daemon.json").read_text())["pid"]
        before_kill = len(accepted)
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        up = cli(home, "up")
        assert up.returncode == 0, up.stderr
        port[0] = _ingress_port(home)
        time.sleep(1.5)
        stop.set()
        sender.join(timeout=10)
        assert before_kill > 50, f"only {before_kill} events accepted before the kill"
        assert len(accepted) > before_kill, "no event accepted after the restart"

        def all_delivered() -> bool:
            return set(accepted) <= set(recorder.ids("steady"))

        recorder.wait_for(all_delivered, timeout=60)
        delivered = recorder.ids("steady")
        missing = set(accepted) - set(delivered)
        assert not missing, f"{len(missing)} of {len(accepted)} accepted events were never delivered"
    finally:
        recorder.close()
        cli(home, "down")
