"""Shipping a function as an immutable ConfigMap mounted into the runtime image (issue 11, 2a): the pure
generator, its Service against Knative's published CRD schema, both objects through the kubeconfig backend, and
the runtime image's entry point (`python -m jupyter_knative.runtime.serve`) run for real."""

from __future__ import annotations

import base64
import hashlib
import socket
import zipfile
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from jupyter_knative.client import Client
from jupyter_knative.client.shipping import RUNTIME_IMAGE, configmap_name, configmap_shipping

from ..runtime_process import get_when_up, serve_runtime

SERVICE_CRD = Path(__file__).resolve().parents[2].parent / "shared" / "knative" / "crds" / "serving" / "service.yaml"

SOURCE = "def hello(request):\n    return 'hello from ' + __name__\n"


def _container(service: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = service["spec"]["template"]["spec"]["containers"][0]
    return container


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in _container(service).get("env") or []}


# -- the pure function ------------------------------------------------------------------------------------------


def test_configmap_is_immutable_named_by_digest_and_holds_the_files() -> None:
    cm, svc = configmap_shipping("hello", "ns1", SOURCE, handler="hello", requirements=["six==1.16.0"])
    name = cm["metadata"]["name"]
    assert name.startswith("hello-fn-") and len(name) == len("hello-fn-") + 10
    assert name == configmap_name("hello", SOURCE, handler="hello", requirements=["six==1.16.0"])
    assert cm["apiVersion"] == "v1" and cm["kind"] == "ConfigMap"
    assert cm["immutable"] is True
    assert cm["metadata"]["namespace"] == "ns1"
    assert cm["metadata"]["labels"] == {"jupyter-knative.dev/function": "hello"}
    assert cm["data"] == {"main.py": SOURCE, "requirements.txt": "six==1.16.0\n"}
    assert svc["metadata"]["labels"] == {"jupyter-knative.dev/function": "hello"}


def test_digest_follows_source_handler_and_requirements() -> None:
    def cm_name(**kw: Any) -> str:
        args: dict[str, Any] = {"source": SOURCE, "handler": None, "requirements": ()} | kw
        return str(configmap_shipping("hello", "ns1", args.pop("source"), **args)[0]["metadata"]["name"])

    base = cm_name()
    assert cm_name() == base  # the same cell ships as the same object
    other_source = SOURCE + "\n\ndef other(request):\n    return 'x'\n"
    variants = {cm_name(source=other_source), cm_name(handler="hello"), cm_name(requirements=["six"]),
                cm_name(requirements=["six", "idna"])}
    assert base not in variants and len(variants) == 4
    # the namespace is not part of what is shipped
    assert configmap_shipping("hello", "ns2", SOURCE)[0]["metadata"]["name"] == base


def test_service_mounts_the_configmap_into_the_runtime_image() -> None:
    cm, svc = configmap_shipping("hello", "ns1", SOURCE, handler="hello", requirements=["six"])
    assert svc["apiVersion"] == "serving.knative.dev/v1" and svc["kind"] == "Service"
    assert svc["metadata"]["name"] == "hello" and svc["metadata"]["namespace"] == "ns1"
    pod = svc["spec"]["template"]["spec"]
    container = _container(svc)
    assert container["image"] == RUNTIME_IMAGE
    assert container["ports"] == [{"containerPort": 8080}]
    assert container["volumeMounts"] == [{"name": "function", "mountPath": "/function", "readOnly": True}]
    assert pod["volumes"] == [{"name": "function", "configMap": {"name": cm["metadata"]["name"]}}]
    assert _env(svc) == {"JUPYTER_KNATIVE_FUNCTION": "/function/main.py", "JUPYTER_KNATIVE_HANDLER": "hello",
                         "JUPYTER_KNATIVE_REQUIREMENTS": "/function/requirements.txt"}


def test_optional_env_is_left_out_and_the_image_can_be_named() -> None:
    cm, svc = configmap_shipping("hello", "ns1", SOURCE, runtime_image="registry.example/rt@sha256:" + "0" * 64)
    assert cm["data"] == {"main.py": SOURCE}
    assert _env(svc) == {"JUPYTER_KNATIVE_FUNCTION": "/function/main.py"}
    assert _container(svc)["image"] == "registry.example/rt@sha256:" + "0" * 64


@pytest.mark.parametrize(("name", "source", "handler"), [
    ("Bad_Name", SOURCE, None),
    ("hello", "def broken(:\n", None),
    ("hello", SOURCE, "missing"),
])
def test_mistakes_are_refused_before_anything_is_shipped(name: str, source: str, handler: str | None) -> None:
    with pytest.raises(ValueError):
        configmap_shipping(name, "ns1", source, handler=handler)


@pytest.mark.skipif(not SERVICE_CRD.is_file(), reason=f"upstream CRDs (test data) not found at {SERVICE_CRD}")
def test_the_service_validates_against_knatives_published_schema() -> None:
    crd = yaml.safe_load(SERVICE_CRD.read_text())
    schema = next(v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"] if v["name"] == "v1")
    for handler, requirements in ((None, ()), ("hello", ("six",))):
        _, svc = configmap_shipping("hello", "ns1", SOURCE, handler=handler, requirements=requirements)
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in jsonschema.Draft7Validator(schema).iter_errors(svc)]
        assert errors == []


# -- both objects through the kubeconfig backend ----------------------------------------------------------------


def test_the_plane_api_accepts_both_and_runs_the_runtime_image(kube: Client, namespace: str) -> None:
    cm, svc = configmap_shipping("shipped", namespace, SOURCE, handler="hello")
    kube.apply(cm)
    kube.apply(svc)
    stored_cm = kube.get("configmaps", cm["metadata"]["name"])
    assert stored_cm["immutable"] is True and stored_cm["data"] == cm["data"]
    stored = kube.get("services.serving.knative.dev", "shipped")
    assert _container(stored)["image"] == RUNTIME_IMAGE
    assert stored["spec"]["template"]["spec"]["volumes"] == svc["spec"]["template"]["spec"]["volumes"]
    ready = kube.wait("services.serving.knative.dev", "shipped", timeout=60)
    assert ready["status"]["latestReadyRevisionName"] == "shipped-00001"


# -- the runtime image's entry point ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ship(folder: Path, source: str, requirements: str | None = None) -> dict[str, str]:
    """The files as the ConfigMap's mount would show them, and the env the generated Service sets (paths moved
    from /function to `folder`)."""
    cm, svc = configmap_shipping("hello", "default", source,
                                 requirements=requirements.split() if requirements else ())
    for file, text in cm["data"].items():
        (folder / file).write_text(text)
    return {k: v.replace("/function", str(folder)) for k, v in _env(svc).items()}


def test_serve_runs_the_shipped_function_on_port(tmp_path: Path) -> None:
    env = _ship(tmp_path, SOURCE) | {"JUPYTER_KNATIVE_HANDLER": "hello"}
    port = _free_port()
    with serve_runtime(env, port) as proc:
        status, body = get_when_up(port, timeout=30)
        assert (status, body) == (200, b"hello from main"), proc.stderr
        proc.terminate()
        assert proc.wait(timeout=15) == 0


def test_serve_exits_with_the_error_when_the_function_cannot_load(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("raise RuntimeError('boom at import')\n")
    env = {"JUPYTER_KNATIVE_FUNCTION": str(tmp_path / "main.py")}
    with serve_runtime(env, _free_port()) as proc:
        assert proc.wait(timeout=30) == 1
        assert proc.stderr is not None and "boom at import" in proc.stderr.read()


def _wheel(folder: Path, name: str, version: str, module: str) -> Path:
    """A minimal pure-Python wheel, built by hand (so pip installs it offline)."""
    dist = f"{name}-{version}.dist-info"
    files = {f"{name}.py": module,
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
        zf.writestr(f"{dist}/RECORD", "\n".join(record) + "\n")
    return wheel


def test_serve_installs_the_requirements_into_a_writable_folder(tmp_path: Path) -> None:
    shipped, wheels, deps = tmp_path / "function", tmp_path / "wheels", tmp_path / "deps"
    shipped.mkdir()
    wheels.mkdir()
    _wheel(wheels, "jkshiptest", "1.0", "GREETING = 'from a shipped requirement'\n")
    source = "import jkshiptest\n\ndef hello(request):\n    return jkshiptest.GREETING\n"
    env = _ship(shipped, source, "jkshiptest==1.0") | {
        "JUPYTER_KNATIVE_DEPS": str(deps), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    assert env["JUPYTER_KNATIVE_REQUIREMENTS"] == str(shipped / "requirements.txt")
    shipped.chmod(0o555)  # the mount is read-only
    port = _free_port()
    try:
        with serve_runtime(env, port) as proc:
            status, body = get_when_up(port, timeout=60)
            assert (status, body) == (200, b"from a shipped requirement"), proc.stderr
    finally:
        shipped.chmod(0o755)
    assert (deps / "jkshiptest.py").is_file()
