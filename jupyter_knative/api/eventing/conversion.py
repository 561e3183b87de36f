"""EventType's versions: v1beta2 is stored; v1beta3 describes an event by a list of attribute definitions.

As Knative's conversion webhook: v1beta2 → v1beta3 turns `type`, `schema` and `source` into the attributes
`type` (required), `schemadata` and `source` (required), and a `broker` with no `reference` into a Broker
reference; v1beta3 → v1beta2 takes `type`, `source` and `schemadata` back from the attributes (other
attributes are not kept, as upstream). v1beta1 has v1beta2's shape.

v1beta3's own rule (the attributes name `type`, `source`, `specversion` and `id`) is checked here, on the way
in: the validating webhook sees the object in the stored version.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..serving.fielderror import FieldError, err_missing_field
from .admission import denied

__all__ = ["convert_event_type"]

GROUP = "eventing.knative.dev"
V1BETA3 = f"{GROUP}/v1beta3"
_REQUIRED_V1BETA3 = ("type", "source", "specversion", "id")

_Obj = dict[str, Any]


def convert_event_type(obj: Mapping[str, Any], target: str) -> _Obj:
    source = obj.get("apiVersion")
    out = copy.deepcopy(dict(obj))
    if source == target:
        return out
    if source == V1BETA3:
        _check_v1beta3(out)
        out["spec"] = _spec_from_v1beta3(out.get("spec") or {})
    if target == V1BETA3:
        out["spec"] = _spec_to_v1beta3(out.get("spec") or {})
    out["apiVersion"] = target
    return out


def _check_v1beta3(obj: _Obj) -> None:
    spec = obj["spec"] if isinstance(obj.get("spec"), dict) else {}
    names = {str(a.get("name")) for a in spec.get("attributes") or [] if isinstance(a, dict)}
    missing = [name for name in _REQUIRED_V1BETA3 if name not in names]
    if missing:
        errs: FieldError = err_missing_field(*missing).via_field("attributes").via_field("spec")
        raise denied(errs)


def _spec_to_v1beta3(spec: Mapping[str, Any]) -> _Obj:
    out: _Obj = {}
    reference = spec.get("reference")
    if reference is None and spec.get("broker"):
        reference = {"apiVersion": f"{GROUP}/v1", "kind": "Broker", "name": spec["broker"]}
    if reference is not None:
        out["reference"] = copy.deepcopy(reference)
    if spec.get("description"):
        out["description"] = spec["description"]
    attributes = []
    if spec.get("type"):
        attributes.append({"name": "type", "required": True, "value": spec["type"]})
    if spec.get("schema"):
        attributes.append({"name": "schemadata", "required": False, "value": spec["schema"]})
    if spec.get("source"):
        attributes.append({"name": "source", "required": True, "value": spec["source"]})
    out["attributes"] = attributes
    return out


def _spec_from_v1beta3(spec: Mapping[str, Any]) -> _Obj:
    out: _Obj = {}
    if spec.get("reference") is not None:
        out["reference"] = copy.deepcopy(spec["reference"])
    if spec.get("description"):
        out["description"] = spec["description"]
    for attribute in spec.get("attributes") or []:
        if not isinstance(attribute, dict) or not attribute.get("value"):
            continue
        field = {"type": "type", "source": "source", "schemadata": "schema"}.get(str(attribute.get("name")))
        if field:
            out[field] = str(attribute["value"])
    return out
