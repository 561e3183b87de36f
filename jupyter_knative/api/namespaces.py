"""Namespace lifecycle rules the apiserver applies on every write (its namespace strategy)."""

from __future__ import annotations

from .registry import AdmissionRequest

FINALIZER = "kubernetes"
NAME_LABEL = "kubernetes.io/metadata.name"


def admit_namespace(req: AdmissionRequest) -> None:
    obj = req.obj
    name = obj["metadata"].get("name", "")
    obj["metadata"].setdefault("labels", {})[NAME_LABEL] = name
    spec = obj.get("spec") or {}
    if req.operation == "CREATE":
        finalizers = list(spec.get("finalizers") or [])
        if FINALIZER not in finalizers:
            finalizers.append(FINALIZER)
        obj["spec"] = {**spec, "finalizers": finalizers}
        obj["status"] = {"phase": "Active"}
    elif req.old is not None and not req.subresource:
        # spec.finalizers change only through the `finalize` subresource
        obj["spec"] = {**spec, "finalizers": (req.old.get("spec") or {}).get("finalizers") or []}
