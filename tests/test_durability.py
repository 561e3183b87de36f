"""Acknowledged writes survive `kill -9` of the daemon; `down` then `up` restores every object."""

from __future__ import annotations

import http.client
import json
import os
import signal
import ssl
import threading
import time
from pathlib import Path

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from .conftest import cli


def _connect(home: Path) -> tuple[http.client.HTTPSConnection, str]:
    state = json.loads((home / "daemon.json").read_text())
    port = int(state["api"].rsplit(":", 1)[1])
    ctx = ssl.create_default_context(cafile=str(home / "tls" / "ca.crt"))
    token = (home / "token").read_text().strip()
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5), token


def _create(conn: http.client.HTTPSConnection, token: str, name: str) -> int:
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"n": name}})
    conn.request("POST", "/api/v1/namespaces/default/configmaps", body=body,
                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    return resp.status


def _names(home: Path) -> set[str]:
    conn, token = _connect(home)
    conn.request("GET", "/api/v1/namespaces/default/configmaps", headers={"Authorization": "Bearer " + token})
    items = json.loads(conn.getresponse().read())["items"]
    conn.close()
    return {i["metadata"]["name"] for i in items}


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert cli(home, "up").returncode == 0
    pid = json.loads((home / "daemon.json").read_text())["pid"]
    acknowledged: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def write_loop() -> None:
        conn, token = _connect(home)
        i = 0
        while not stop.is_set():
            name = f"cm-{i:05d}"
            try:
                if _create(conn, token, name) == 201:
                    acknowledged.append(name)
            except (OSError, http.client.HTTPException):
                return  # the daemon died mid-request: that write was never acknowledged
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)
                return
            i += 1

    writer = threading.Thread(target=write_loop)
    writer.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    writer.join(timeout=20)
    stop.set()
    assert not errors and len(acknowledged) >= 200, (errors, len(acknowledged))

    status = json.loads(cli(home, "status", "--json").stdout)
    assert status["running"] is False
    up = cli(home, "up")
    assert up.returncode == 0, up.stderr
    try:
        missing = set(acknowledged) - _names(home)
        assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {sorted(missing)[:5]}"
        _assert_watch_from_before_restart_is_gone(home)
    finally:
        cli(home, "down")


def _assert_watch_from_before_restart_is_gone(home: Path) -> None:
    """History before a restart is compacted: the `kubernetes` client's watch gets 410 Expired."""
    api = config.new_client_from_config(config_file=str(home / "kubeconfig"))
    try:
        co = client.CoreV1Api(api)
        with pytest.raises(ApiException) as err:
            for _ in watch.Watch().stream(co.list_namespaced_config_map, "default", resource_version="1",
                                          timeout_seconds=2):
                pass
        assert err.value.status == 410
    finally:
        api.close()


def test_down_then_up_restores_objects(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert cli(home, "up").returncode == 0
    conn, token = _connect(home)
    for i in range(20):
        assert _create(conn, token, f"keep-{i}") == 201
    conn.close()
    before = _names(home)
    assert cli(home, "down").returncode == 0
    assert not (home / "daemon.json").exists()
    assert cli(home, "up").returncode == 0
    try:
        assert _names(home) == before
    finally:
        cli(home, "down")
