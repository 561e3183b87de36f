"""Converting Services, Configurations, Revisions and Routes between `serving.knative.dev/v1alpha1`,
`v1beta1` and `v1` (the storage version).

`v1beta1` has v1's shape. `v1alpha1` also accepts the seed-era forms, turned into v1 as Knative's own
conversion did:

    spec.runLatest.configuration        -> spec.template + traffic [{latestRevision: true, percent: 100}]
    spec.release {revisions, rolloutPercent, configuration}
        2 revisions -> [{current: 100-p}, {candidate: p}, {latest: 0, latestRevision}]  (tags)
        1 revision  -> [{current: 100}, {latest: 0, latestRevision}];  "@latest" -> latestRevision: true
    spec.pinned {revisionName, configuration} -> [{revisionName, percent: 100}]
    spec.manual                         -> refused: "manual mode cannot be migrated forward."
    configuration.revisionTemplate      -> template;  revision spec.container -> spec.containers[0]
    concurrencyModel Single / Multi     -> containerConcurrency 1 / 0
    Route traffic[].name                -> traffic[].tag

Malformed alpha input is refused with the v1alpha1 webhook's messages and paths (`expected exactly one,
got both: spec.release, spec.runLatest`, ...). Reading a v1 object as v1alpha1 gives the v1-compatible
alpha shape (template and traffic), plus `status.domain`; except that when the object was last applied by
kubectl in a seed-era form that still describes it, that form is shown, so that re-applying the same
manifest patches what it created instead of colliding with the converted shape.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from ..meta import dns1035_label
from ..status import StatusError
from .fielderror import (
    FieldError,
    denied,
    err_invalid_array_value,
    err_invalid_value,
    err_missing_field,
    err_missing_one_of,
    err_multiple_one_of,
    err_out_of_bounds_value,
)

__all__ = ["V1", "V1ALPHA1", "V1BETA1", "convert", "revision_spec_to_v1", "service_spec_to_v1"]

GROUP = "serving.knative.dev"
V1, V1BETA1, V1ALPHA1 = f"{GROUP}/v1", f"{GROUP}/v1beta1", f"{GROUP}/v1alpha1"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
LATEST = "@latest"
_MODES = ("runLatest", "release", "manual", "pinned")
_ALPHA_STATUS_ONLY = ("domain", "domainInternal", "targetable")

_Obj = dict[str, Any]


class ConversionRefused(Exception):
    """An alpha object that cannot become v1 (Knative's CannotConvertError)."""


def convert(obj: Mapping[str, Any], target: str) -> _Obj:
    """The object at `target` (an apiVersion of serving.knative.dev); raises the webhook's BadRequest
    when a v1alpha1 object is malformed or cannot be expressed in v1."""
    source = obj.get("apiVersion")
    if source == target:
        return dict(obj)
    try:
        v1 = _to_v1(obj) if source == V1ALPHA1 else {**copy.deepcopy(dict(obj)), "apiVersion": V1}
    except ConversionRefused as refused:
        raise denied(str(refused)) from None
    if target == V1ALPHA1:
        return _to_alpha(v1)
    return {**v1, "apiVersion": target}


# --- v1alpha1 -> v1 ---------------------------------------------------------------------------------------

def _to_v1(obj: Mapping[str, Any]) -> _Obj:
    out = copy.deepcopy(dict(obj))
    out["apiVersion"] = V1
    kind = obj.get("kind")
    spec: Mapping[str, Any] = out["spec"] if isinstance(out.get("spec"), dict) else {}
    if kind == "Service":
        out["spec"], errs = service_spec_to_v1(spec)
    elif kind == "Configuration":
        converted, errs = configuration_spec_to_v1(spec)
        out["spec"] = converted
    elif kind == "Revision":
        out["spec"], errs = revision_spec_to_v1(spec)
    elif kind == "Route":
        out["spec"], errs = route_spec_to_v1(spec)
    else:
        errs = FieldError()
    if errs:
        raise denied(errs.via_field("spec"))
    if isinstance(out.get("status"), dict):
        out["status"] = _status_to_v1(out["status"])
    return out


def service_spec_to_v1(spec: Mapping[str, Any]) -> tuple[_Obj, FieldError]:
    """A v1alpha1 ServiceSpec (any mode, or the v1-compatible form) as a v1 ServiceSpec; errors are
    relative to the spec."""
    modes = [m for m in _MODES if spec.get(m) is not None]
    errs = FieldError()
    for mode in modes:
        errs = errs.also(_validate_mode(mode, _dict(spec[mode])).via_field(mode))
    if modes and spec.get("traffic"):
        errs = errs.also(err_multiple_one_of("traffic", *modes))
    inline = {k: v for k, v in spec.items() if k not in (*_MODES, "traffic", "generation") and v is not None}
    if inline:
        modes.append("template")
    if len(modes) > 1:
        return {}, errs.also(err_multiple_one_of(*modes))
    if not modes:
        return {}, errs.also(err_missing_one_of(*_MODES[:4], "template"))
    if errs:
        return {}, errs
    mode = modes[0]
    if mode == "manual":
        raise ConversionRefused("manual mode cannot be migrated forward.")
    if mode == "template":
        out, errs = configuration_spec_to_v1(inline)
        out["traffic"] = [_target_to_v1(t) for t in spec.get("traffic") or [] if isinstance(t, Mapping)]
        if not out["traffic"]:
            del out["traffic"]
        return out, errs
    body = _dict(spec[mode])
    out, errs = configuration_spec_to_v1(_dict(body.get("configuration")))
    out["traffic"] = _mode_traffic(mode, body)
    return out, errs.via_field(mode, "configuration")


def _validate_mode(mode: str, body: Mapping[str, Any]) -> FieldError:
    if mode == "pinned" and not body.get("revisionName"):
        return err_missing_field("revisionName")
    if mode != "release":
        return FieldError()
    revisions = body.get("revisions") or []
    percent = body.get("rolloutPercent") or 0
    errs = FieldError()
    if not revisions:
        errs = errs.also(err_missing_field("revisions"))
    if len(revisions) > 2:
        errs = errs.also(err_out_of_bounds_value(len(revisions), 1, 2, "revisions"))
    for i, name in enumerate(revisions):
        msgs = [] if name == LATEST else dns1035_label(str(name))
        if msgs:
            errs = errs.also(err_invalid_array_value(f"not a DNS 1035 label: [{' '.join(msgs)}]", "revisions", i))
    if len(revisions) < 2 and percent != 0:
        errs = errs.also(err_invalid_value(percent, "rolloutPercent"))
    if not isinstance(percent, int) or not 0 <= percent <= 99:
        errs = errs.also(err_out_of_bounds_value(percent, 0, 99, "rolloutPercent"))
    return errs


def _mode_traffic(mode: str, body: Mapping[str, Any]) -> list[_Obj]:
    if mode == "runLatest":
        return [{"latestRevision": True, "percent": 100}]
    if mode == "pinned":
        return [{"revisionName": body["revisionName"], "percent": 100}]
    revisions, percent = list(body.get("revisions") or []), int(body.get("rolloutPercent") or 0)
    if len(revisions) == 2:
        traffic: list[_Obj] = [{"tag": "current", "revisionName": revisions[0], "percent": 100 - percent},
                               {"tag": "candidate", "revisionName": revisions[1], "percent": percent}]
    else:
        traffic = [{"tag": "current", "revisionName": revisions[0], "percent": 100}]
    traffic.append({"tag": "latest", "latestRevision": True, "percent": 0})
    for target in traffic:
        if target.get("revisionName") == LATEST:
            del target["revisionName"]
            target["latestRevision"] = True
    return traffic


def configuration_spec_to_v1(spec: Mapping[str, Any]) -> tuple[_Obj, FieldError]:
    """`revisionTemplate` or `template` -> `template`; errors relative to the configuration spec."""
    if not any(v is not None for v in spec.values()):
        return {}, err_missing_field("")
    if spec.get("build") is not None:
        raise ConversionRefused(f"build cannot be migrated forward, got: {json.dumps(spec['build'])}")
    old, new = spec.get("revisionTemplate"), spec.get("template")
    if old is not None and new is not None:
        return {}, err_multiple_one_of("revisionTemplate", "template")
    if old is None and new is None:
        return {}, err_missing_one_of("revisionTemplate", "template")
    field = "revisionTemplate" if old is not None else "template"
    template = copy.deepcopy(dict(_dict(old if old is not None else new)))
    rspec, errs = revision_spec_to_v1(_dict(template.get("spec")))
    template["spec"] = rspec
    return {"template": template}, errs.via_field(field, "spec")


def revision_spec_to_v1(spec: Mapping[str, Any]) -> tuple[_Obj, FieldError]:
    """`container` -> `containers`, `concurrencyModel` -> `containerConcurrency`; seed-era bookkeeping
    fields (generation, servingState, buildName) dropped; errors relative to the revision spec."""
    out = {k: copy.deepcopy(v) for k, v in spec.items()
           if k not in ("container", "concurrencyModel", "generation", "servingState", "buildName", "buildRef")}
    if spec.get("buildRef") is not None:
        raise ConversionRefused(f"buildRef cannot be migrated forward, got: {json.dumps(spec['buildRef'])}")
    errs = FieldError()
    container, containers = spec.get("container"), spec.get("containers")
    if container is not None and containers:
        errs = errs.also(err_multiple_one_of("container", "containers"))
    elif container is not None:
        out["containers"] = [copy.deepcopy(container)]
    elif not containers:
        errs = errs.also(err_missing_one_of("container", "containers"))
    model = spec.get("concurrencyModel")
    if model:
        if model not in ("Single", "Multi"):
            errs = errs.also(err_invalid_value(model, "concurrencyModel"))
        elif spec.get("containerConcurrency") not in (None, 0, 1 if model == "Single" else 0):
            errs = errs.also(err_multiple_one_of("containerConcurrency", "concurrencyModel"))
        else:
            out["containerConcurrency"] = 1 if model == "Single" else 0
    return out, errs


def route_spec_to_v1(spec: Mapping[str, Any]) -> tuple[_Obj, FieldError]:
    """`traffic[].name` -> `traffic[].tag`."""
    out = copy.deepcopy(dict(spec))
    errs = FieldError()
    traffic = []
    for i, raw in enumerate(spec.get("traffic") or []):
        target = _dict(raw)
        if target.get("name") and target.get("tag"):
            errs = errs.also(err_multiple_one_of("name", "tag").via_field_index("traffic", i))
        traffic.append(_target_to_v1(target))
    if "traffic" in spec:
        out["traffic"] = traffic
    return out, errs


def _target_to_v1(target: Mapping[str, Any]) -> _Obj:
    out = {k: copy.deepcopy(v) for k, v in target.items() if k != "name"}
    if target.get("name") and not target.get("tag"):
        out["tag"] = target["name"]
    return out


def _status_to_v1(status: Mapping[str, Any]) -> _Obj:
    out = {k: copy.deepcopy(v) for k, v in status.items() if k not in _ALPHA_STATUS_ONLY}
    address = out.get("address")
    if isinstance(address, dict) and address.get("hostname"):
        address = {k: v for k, v in address.items() if k != "hostname"}
        address.setdefault("url", f"http://{out['address']['hostname']}")
        out["address"] = address
    return out


# --- v1 -> v1alpha1 ---------------------------------------------------------------------------------------

def _to_alpha(v1: Mapping[str, Any]) -> _Obj:
    out = copy.deepcopy(dict(v1))
    out["apiVersion"] = V1ALPHA1
    applied = _applied_alpha_spec(v1)
    if applied is not None:
        out["spec"] = applied
    status = out.get("status")
    if isinstance(status, dict) and status.get("url") and v1.get("kind") in ("Service", "Route"):
        status["domain"] = urlparse(str(status["url"])).hostname or ""
    return out


def _applied_alpha_spec(v1: Mapping[str, Any]) -> _Obj | None:
    """The seed-era spec kubectl last applied, if that is what the object still is."""
    raw = (_dict(_dict(v1.get("metadata")).get("annotations"))).get(LAST_APPLIED)
    try:
        applied = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    if not isinstance(applied, dict) or applied.get("apiVersion") != V1ALPHA1 or applied.get("kind") != v1.get("kind"):
        return None
    spec = applied.get("spec")
    if not isinstance(spec, dict):
        return None
    try:
        converted = _to_v1({"kind": v1.get("kind"), "apiVersion": V1ALPHA1, "spec": spec})["spec"]
    except (StatusError, ConversionRefused):  # a refused or malformed manifest describes nothing stored
        return None
    return copy.deepcopy(spec) if _covers(v1.get("spec"), converted) else None


def _covers(stored: Any, wanted: Any) -> bool:
    """Whether `stored` holds everything `wanted` says (defaulting only ever adds fields)."""
    if isinstance(wanted, Mapping):
        return isinstance(stored, Mapping) and all(_covers(stored.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(stored, list) and len(stored) == len(wanted) and \
            all(_covers(s, w) for s, w in zip(stored, wanted, strict=True))
    return bool(stored == wanted)


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
