"""Knative's and Tekton's published CRD schemas (test data in ../shared/knative/crds), for tests that check what
the plane writes: the version's OpenAPI schema, and the fields an apiserver would prune from an object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CRDS = Path(__file__).resolve().parents[1].parent / "shared" / "knative" / "crds"


def crd_schema(path: Path, version: str) -> dict[str, Any]:
    crd = yaml.safe_load(path.read_text())
    return next(v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"] if v["name"] == version)


def pruned(value: Any, sch: dict[str, Any], path: str, out: list[str]) -> None:
    """Append to `out` the paths under `value` that `sch` has no place for (unless it keeps unknown fields)."""
    if sch.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        props, extra = sch.get("properties"), sch.get("additionalProperties")
        for key, item in value.items():
            sub = (props or {}).get(key) or (extra if isinstance(extra, dict) else None)
            if sub is None:
                out.append(f"{path}.{key}")
            else:
                pruned(item, sub, f"{path}.{key}", out)
    elif isinstance(value, list) and isinstance(sch.get("items"), dict):
        for i, item in enumerate(value):
            pruned(item, sch["items"], f"{path}[{i}]", out)
