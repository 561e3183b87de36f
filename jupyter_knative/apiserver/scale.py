"""The `scale` subresource: an `autoscaling/v1 Scale` view of an object's replicas (kubectl scale, and
Knative's PodAutoscaler acting on a Deployment)."""

from __future__ import annotations

from typing import Any

from ..api.selectors import selector_from_match
from ..api.status import BadRequest, GroupResource, invalid, invalid_object

SCALE_KIND = {"group": "autoscaling", "version": "v1", "kind": "Scale"}


def to_scale(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    selector = spec.get("selector") or {}
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                     if k in meta},
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {"replicas": status.get("replicas", 0),
                   "selector": str(selector_from_match(selector.get("matchLabels"),
                                                       selector.get("matchExpressions")))},
    }


def from_scale(obj: dict[str, Any], scale: Any, gr: GroupResource) -> dict[str, Any]:
    """The object with the replicas a Scale asks for (its resourceVersion, if any, is a precondition)."""
    if not isinstance(scale, dict) or scale.get("kind", "Scale") != "Scale":
        raise BadRequest("the body of the request must be an autoscaling/v1 Scale")
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise invalid_object(GroupResource("autoscaling", "", "Scale"), obj["metadata"]["name"], [
            invalid("spec.replicas", replicas, "must be greater than or equal to 0")])
    updated = {**obj, "spec": {**(obj.get("spec") or {}), "replicas": replicas}}
    rv = (scale.get("metadata") or {}).get("resourceVersion")
    updated["metadata"] = {**obj["metadata"], **({"resourceVersion": rv} if rv else {})}
    return updated
