"""ConfigMap shipping run for real on the embedded plane, reached as a cluster (a copy of its kubeconfig, so the
client does not know it is the plane): the plane runs the function runtime image with the function's ConfigMap
mounted, serves each revision from its own ConfigMap, waits with `FailedMount` for a ConfigMap that does not
exist yet, and installs a shipped function's requirements offline."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import shutil
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_knative.client import Client
from jupyter_knative.client.shipping import RUNTIME_IMAGE, configmap_shipping

from ..conftest import Plane
from .conftest import until

SOURCE = """
import json
import os

LOADED_IN = os.getpid()  # the module runs once per revision, in its zygote; replicas are forks of it


def hello(request):
    return {"version": VERSION, "revision": os.environ.get("K_REVISION"), "file": __file__,
            "loaded_in": LOADED_IN, "pid": os.getpid(),
            "mounts": json.loads(os.environ.get("JUPYTER_KNATIVE_MOUNTS") or "{}")}

VERSION = @VERSION@  # @TAG@
"""


def source(version: int, tag: str = "") -> str:
    return SOURCE.replace("@VERSION@", str(version)).replace("@TAG@", tag)


def content_folders(plane: Plane, text: str) -> list[Path]:
    """The plane's ConfigMap volume folders whose main.py is `text`."""
    root = plane.home / "run" / "volumes" / "sha256"
    return [p.parent for p in root.glob("*/main.py") if p.read_text() == text]


@pytest.fixture
def cluster(plane: Plane, namespace: str, tmp_path: Path) -> Iterator[Client]:
    """The plane as any cluster: its kubeconfig copied out of its home."""
    kubeconfig = tmp_path / "kubeconfig"
    shutil.copy(plane.kubeconfig, kubeconfig)
    client = Client(kubeconfig=kubeconfig, namespace=namespace)
    assert client.home is None
    yield client
    client.close()


def call(plane: Plane, host: str, path: str = "/") -> tuple[int, bytes]:
    port = int(plane.ingress.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def diagnostics(cluster: Client, plane: Plane) -> str:
    lines = []
    for kind in ("ksvc", "revisions", "pods"):
        for obj in cluster.list(kind):
            conds = [(c["type"], c["status"], c.get("reason", ""), c.get("message", ""))
                     for c in (obj.get("status") or {}).get("conditions") or []]
            states = [cs.get("state") for cs in (obj.get("status") or {}).get("containerStatuses") or []]
            lines.append(f"{kind}/{obj['metadata']['name']}: {conds} {states}")
    lines += [f"event {e.get('reason')}: {e.get('message')}" for e in cluster.events()]
    log = (plane.home / "daemon.log").read_text().splitlines()[-30:]
    return "\n".join([*lines, "--- daemon.log ---", *log])


def wait_ready(cluster: Client, plane: Plane, name: str, timeout: float = 90) -> None:
    try:
        cluster.wait("ksvc", name, timeout=timeout)
    except Exception as exc:
        raise AssertionError(f"{name} did not become Ready: {exc}\n{diagnostics(cluster, plane)}") from None


def host(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.svc.cluster.local"


def revision_host(revision: str, namespace: str) -> str:
    return f"{revision}.{namespace}.svc.cluster.local"


def test_a_shipped_function_runs_and_each_version_keeps_its_revision(
        plane: Plane, namespace: str, cluster: Client) -> None:
    cm, svc = configmap_shipping("hello", namespace, source(1, namespace), handler="hello")
    template = svc["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == RUNTIME_IMAGE
    template.setdefault("metadata", {}).setdefault("annotations", {})["autoscaling.knative.dev/min-scale"] = "2"
    template["spec"]["volumes"].append({"name": "scratch", "emptyDir": {}})
    template["spec"]["containers"][0]["volumeMounts"].append({"name": "scratch", "mountPath": "/scratch"})
    cluster.apply([cm, svc])
    wait_ready(cluster, plane, "hello")
    status, body = call(plane, host("hello", namespace))
    assert status == 200, body
    answer = json.loads(body)
    assert (answer["version"], answer["revision"]) == (1, "hello-00001")
    [folder] = content_folders(plane, cm["data"]["main.py"])
    assert answer["file"] == str(folder / "main.py")  # the plane's copy of the mounted ConfigMap
    rev = cluster.get("revisions", "hello-00001")
    image = rev["status"]["containerStatuses"][0]["imageDigest"]
    assert image.startswith("ghcr.io/jupyter-knative/function-runtime@sha256:")
    def running_pods() -> list[dict[str, Any]] | None:
        pods = cluster.list("pods", label_selector="serving.knative.dev/revision=hello-00001")
        running = [p for p in pods if p["status"]["containerStatuses"][0]["state"].get("running")]
        return running if len(running) == 2 else None

    until(running_pods, timeout=60)
    # both pods are forks of one zygote (the module ran once), each with its own emptyDir
    answers: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + 30
    while len(answers) < 2 and time.monotonic() < deadline:
        reply = json.loads(call(plane, host("hello", namespace))[1])
        answers[reply["pid"]] = reply
    assert len(answers) == 2, answers
    first, second = answers.values()
    assert first["loaded_in"] == second["loaded_in"] not in answers
    assert first["mounts"]["/function"] == second["mounts"]["/function"] == str(folder)
    assert first["mounts"]["/scratch"] != second["mounts"]["/scratch"]
    assert all(Path(a["mounts"]["/scratch"]).is_dir() for a in answers.values())

    cm2, svc2 = configmap_shipping("hello", namespace, source(2, namespace), handler="hello")
    assert cm2["metadata"]["name"] != cm["metadata"]["name"]
    cluster.apply([cm2, svc2])
    until(lambda: (cluster.get("ksvc", "hello").get("status") or {}).get("latestReadyRevisionName")
          == "hello-00002", timeout=90)
    wait_ready(cluster, plane, "hello")
    assert until(lambda: json.loads(call(plane, host("hello", namespace))[1]).get("version") == 2, timeout=30)
    # the first revision still answers with its own ConfigMap, through a tag on it
    svc2["spec"]["traffic"] = [{"latestRevision": True, "percent": 100},
                               {"revisionName": "hello-00001", "percent": 0, "tag": "old"}]
    cluster.apply(svc2)
    old = until(lambda: (lambda r: r[0] == 200 and json.loads(r[1]))(
        call(plane, host("old-hello", namespace))), timeout=60)
    assert (old["version"], old["revision"]) == (1, "hello-00001")
    assert json.loads(call(plane, host("hello", namespace))[1])["version"] == 2

    cluster.delete("ksvc", "hello")
    until(lambda: not cluster.list("pods"), timeout=60)
    assert until(lambda: not content_folders(plane, cm["data"]["main.py"])
                 and not content_folders(plane, cm2["data"]["main.py"]), timeout=30)
    assert all(not Path(a["mounts"]["/scratch"]).exists() for a in answers.values())


def test_a_missing_configmap_waits_with_failed_mount_until_it_exists(
        plane: Plane, namespace: str, cluster: Client) -> None:
    cm, svc = configmap_shipping("later", namespace, source(7), handler="hello")
    cm_name = cm["metadata"]["name"]
    cluster.apply(svc)

    def failed_mount() -> dict[str, Any] | None:
        return next((e for e in cluster.events() if e.get("reason") == "FailedMount"), None)

    event = until(failed_mount, timeout=30)
    assert event["type"] == "Warning"
    assert event["message"] == f'MountVolume.SetUp failed for volume "function" : configmap "{cm_name}" not found'
    assert event["involvedObject"]["kind"] == "Pod"
    pod = cluster.list("pods", label_selector="serving.knative.dev/service=later")[0]
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ContainerCreating"
    assert (cluster.get("ksvc", "later").get("status") or {}).get("conditions")
    ready = next(c for c in cluster.get("ksvc", "later")["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] != "True"

    started = time.monotonic()
    cluster.apply(cm)
    wait_ready(cluster, plane, "later")
    assert time.monotonic() - started < 30  # the ConfigMap's creation wakes the pod, not a long back-off
    status, body = call(plane, host("later", namespace))
    assert status == 200 and json.loads(body)["version"] == 7


def _wheel(folder: Path, name: str, version: str, module: str) -> Path:
    """A minimal pure-Python wheel, built by hand, so pip installs it with no index."""
    dist = f"{name}-{version}.dist-info"
    files = {f"{name}.py": module,
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = [f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()}"
              f",{len(text.encode())}" for path, text in files.items()]
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(f"{dist}/RECORD", "\n".join([*record, f"{dist}/RECORD,,"]) + "\n")
    return wheel


def test_shipped_requirements_are_installed_offline(plane: Plane, namespace: str, cluster: Client,
                                                    tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    package = f"jkrt{namespace.replace('-', '')}"  # a name no other test installs
    _wheel(wheels, package, "1.0", "GREETING = 'from a shipped requirement'\n")
    code = f"import {package}\n\ndef hello(request):\n    return {package}.GREETING\n"
    cm, svc = configmap_shipping("reqs", namespace, code, handler="hello", requirements=[f"{package}==1.0"])
    svc["spec"]["template"]["spec"]["containers"][0]["env"] += [
        {"name": "PIP_NO_INDEX", "value": "1"}, {"name": "PIP_FIND_LINKS", "value": str(wheels)}]
    cluster.apply([cm, svc])
    wait_ready(cluster, plane, "reqs", timeout=120)
    assert call(plane, host("reqs", namespace)) == (200, b"from a shipped requirement")
