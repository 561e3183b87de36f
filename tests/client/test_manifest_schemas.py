"""Every manifest the cluster backend generates, checked against the schemas a cluster applies: Knative's and
Tekton's published CRD schemas (test data in ../shared/knative/crds; nothing left for the API server to prune)
and the Kubernetes schemas (`kubernetes-validate`, strict: unknown fields are errors) for core objects and for the
pod specs and containers inside Knative Services and Tekton TaskRuns."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from jupyter_knative.client.builds import ClusterTarget, build_objects
from jupyter_knative.client.serving import FunctionSpec, revision_template, service_metadata
from jupyter_knative.client.shipping import configmap_parts, configmap_shipping, function_service

from ..crdschema import CRDS, crd_schema, pruned

K8S_VERSION = kubernetes_validate.latest_version()
SOURCE = "import six\n\ndef hello(request):\n    return 'hi'\n"
CRD_FILES = {("serving.knative.dev/v1", "Service"): (CRDS / "serving" / "service.yaml", "v1"),
             ("tekton.dev/v1", "TaskRun"): (CRDS / "tekton" / "300-taskrun.yaml", "v1")}
KNATIVE_POD_FIELDS = ("containerConcurrency", "timeoutSeconds", "responseStartTimeoutSeconds",
                      "idleTimeoutSeconds")
TEKTON_STEP_FIELDS = ("script", "timeout", "onError", "stdoutConfig", "stderrConfig", "results", "ref", "params",
                      "when", "computeResources", "workspaces")


def _kn_service(spec: FunctionSpec) -> dict[str, Any]:
    """The Service `deploy_function` creates for kn's flags (as `Serving._create` builds it)."""
    labels, annotations = service_metadata(spec)
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "fn", "namespace": "ns", "labels": labels, "annotations": annotations},
            "spec": {"template": revision_template(spec, "fn-v1")}}


def _all_flags() -> FunctionSpec:
    parts = configmap_parts("fn", "ns", SOURCE, handler="hello", requirements=["six"])
    return parts.spec("registry.example.com/runtime:1", env={"A": "1"}, scale_min=1, scale_max=5, scale_init=2,
                      scale_target=10, scale_metric="rps", scale_window="60s", concurrency_limit=4, timeout=30,
                      annotations={"note": "x"}, labels={"team": "a"}, cluster_local=True)


GENERATORS: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "configmap shipping": lambda: list(configmap_shipping("fn", "ns", SOURCE)),
    "configmap shipping, handler and requirements": lambda: list(
        configmap_shipping("fn", "ns", SOURCE, handler="hello", requirements=["six", "requests>=2"])),
    "plane build": lambda: list(build_objects("fn", "ns", SOURCE, handler="hello", requirements=["six"])),
    "tekton build on a cluster": lambda: list(build_objects(
        "fn", "ns", SOURCE, handler="hello", requirements=["six"],
        target=ClusterTarget("ghcr.io/me", "ghcr.io/me/runtime:1", "builder"))),
    "every kn flag, shipped as a ConfigMap": lambda: [_kn_service(_all_flags())],
    "an image by digest": lambda: [_kn_service(FunctionSpec(image="127.0.0.1:5000/ns/fn@sha256:" + "a" * 64))],
    "oci shipping's Service": lambda: [function_service("fn", "ns", FunctionSpec(
        image="ghcr.io/me/ns/fn@sha256:" + "b" * 64))],
}


def _kubernetes_errors(obj: dict[str, Any]) -> list[str]:
    try:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        return [f"{'/'.join(map(str, e.path))}: {e.message}"]
    return []


def _as_pod(pod_spec: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    spec = {k: v for k, v in copy.deepcopy(pod_spec).items() if k not in drop}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "check"}, "spec": spec}


def _pods_inside(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod specs a cluster would make of a Knative Service or TaskRun, for the Kubernetes schema."""
    if obj["kind"] == "Service":  # Knative's webhook names an unnamed container `user-container`
        pod = _as_pod(obj["spec"]["template"]["spec"], KNATIVE_POD_FIELDS)
        for container in pod["spec"]["containers"]:
            container.setdefault("name", "user-container")
        return [pod]
    if obj["kind"] == "TaskRun":
        steps = [{k: v for k, v in s.items() if k not in TEKTON_STEP_FIELDS}
                 for s in obj["spec"]["taskSpec"]["steps"]]
        return [_as_pod({"containers": steps})]
    return []


@pytest.mark.parametrize("what", sorted(GENERATORS))
def test_kubernetes_schemas(what: str) -> None:
    for obj in GENERATORS[what]():
        core = (obj["apiVersion"], obj["kind"]) not in CRD_FILES
        checked = [obj] if core else _pods_inside(obj)
        assert checked, obj["kind"]
        for item in checked:
            assert _kubernetes_errors(item) == [], (what, obj["kind"])


@pytest.mark.skipif(not CRDS.is_dir(), reason=f"upstream CRDs (test data) not found at {CRDS}")
@pytest.mark.parametrize("what", sorted(GENERATORS))
def test_knative_and_tekton_crd_schemas(what: str) -> None:
    for obj in GENERATORS[what]():
        found = CRD_FILES.get((obj["apiVersion"], obj["kind"]))
        if found is None:
            continue
        path, version = found
        schema = crd_schema(Path(path), version)
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in jsonschema.Draft7Validator(schema).iter_errors(obj)]
        assert errors == [], (what, obj["kind"])
        left_out: list[str] = []
        pruned({k: v for k, v in obj.items() if k != "metadata"}, schema, "", left_out)  # ObjectMeta: the server's
        assert left_out == [], (what, obj["kind"])


def test_the_kubernetes_schema_check_can_fail() -> None:
    cm, _ = configmap_shipping("fn", "ns", SOURCE)
    assert _kubernetes_errors({**cm, "immutable": "yes"})
    assert _kubernetes_errors({**cm, "dataa": {}})
    pod = _pods_inside(configmap_shipping("fn", "ns", SOURCE)[1])[0]
    pod["spec"]["containers"][0]["volumeMount"] = []
    assert _kubernetes_errors(pod)
