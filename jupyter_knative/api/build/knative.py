"""knative/build's webhook (`webhook.build.knative.dev`) as admission hooks for Build, BuildTemplate and
ClusterBuildTemplate: defaulting, then validation, on CREATE and UPDATE (not on status writes).

Defaults (`SetDefaults`): `serviceAccountName: default`, `timeout: 10m0s`. Validation restates v0.7's rules
and messages: the name has no `.` and at most 63 characters; exactly one of `steps` and `template`; the
template has a name and a kind of `BuildTemplate` or `ClusterBuildTemplate`; `source` and `sources` not
both; unique source names, one `subPath` at most; unique step and volume names; every step has an image;
`0 <= timeout <= 24h` (checked for template builds too, which v0.7 skipped); templates have unique parameter
names. A refusal reads as the apiserver words it:
`admission webhook "webhook.build.knative.dev" denied the request: mutation failed: <errors>`.

Checks that need other objects — the template exists, the build's arguments are parameters it declares and
cover its parameters without defaults, the service account exists — are the controller's, as in knative/build
(where they end in the `BuildValidationFailed` reason); `validate_arguments` is their pure part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..registry import AdmissionRequest
from ..serving.fielderror import (
    FieldError,
    denied,
    err_invalid_key_name,
    err_invalid_value,
    err_missing_field,
    err_missing_one_of,
    err_multiple_one_of,
)
from ..serving.goformat import Duration, parse_duration

__all__ = [
    "BUILD_TEMPLATE_KINDS",
    "DEFAULT_SERVICE_ACCOUNT",
    "DEFAULT_TIMEOUT",
    "MAX_TIMEOUT",
    "WEBHOOK",
    "admit_build",
    "admit_build_template",
    "default_build",
    "timeout_seconds",
    "validate_arguments",
    "validate_build",
    "validate_template",
]

WEBHOOK = "webhook.build.knative.dev"
DEFAULT_SERVICE_ACCOUNT = "default"
DEFAULT_TIMEOUT = Duration.seconds(600)
MAX_TIMEOUT = Duration.seconds(24 * 3600)
BUILD_TEMPLATE_KINDS = ("BuildTemplate", "ClusterBuildTemplate")
_MAX_NAME = 63

_Obj = dict[str, Any]


# --- defaulting ---------------------------------------------------------------------------------------


def default_build(build: _Obj) -> None:
    spec = build.setdefault("spec", {})
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = DEFAULT_SERVICE_ACCOUNT
    timeout = spec.get("timeout")
    try:
        zero = not timeout or parse_duration(str(timeout)).ns == 0
    except ValueError:
        zero = False  # validation says what is wrong with it
    if zero:
        spec["timeout"] = str(DEFAULT_TIMEOUT)


def timeout_seconds(build: Mapping[str, Any]) -> float:
    """The build's timeout in seconds (the default when unset or unreadable)."""
    text = str((build.get("spec") or {}).get("timeout") or "")
    try:
        ns = parse_duration(text).ns if text else 0
    except ValueError:
        ns = 0
    return (ns or DEFAULT_TIMEOUT.ns) / 1e9


# --- validation ---------------------------------------------------------------------------------------


def _metadata(obj: Mapping[str, Any]) -> FieldError:
    name = str((obj.get("metadata") or {}).get("name") or "")
    if "." in name:
        return FieldError("Invalid resource name: special character . must not be present", ("name",))
    if len(name) > _MAX_NAME:
        return FieldError("Invalid resource name: length must be no more than 63 characters", ("name",))
    return FieldError()


def _steps(steps: Sequence[Mapping[str, Any]]) -> FieldError:
    names: set[str] = set()
    for step in steps:
        if not step.get("image"):
            return err_missing_field("Image")
        name = step.get("name") or ""
        if not name:
            continue
        if name in names:
            return err_multiple_one_of("stepName")
        names.add(name)
    return FieldError()


def _volumes(volumes: Sequence[Mapping[str, Any]]) -> FieldError:
    names: set[str] = set()
    for volume in volumes:
        if volume.get("name") in names:
            return err_multiple_one_of("volumeName")
        names.add(volume.get("name") or "")
    return FieldError()


def _timeout(spec: Mapping[str, Any]) -> FieldError:
    text = spec.get("timeout")
    if not text:
        return FieldError()
    try:
        value = parse_duration(str(text))
    except ValueError:
        return err_invalid_value(str(text), "timeout", "must be a duration such as 10m or 1h30m")
    if value.ns > MAX_TIMEOUT.ns:
        return err_invalid_value(f"{value} should be < 24h", "timeout")
    if value.ns < 0:
        return err_invalid_value(f"{value} should be > 0", "timeout")
    return FieldError()


def _template_ref(template: Mapping[str, Any]) -> FieldError:
    if not template.get("name"):
        return err_missing_field("name")
    kind = template.get("kind") or ""
    if kind and kind not in BUILD_TEMPLATE_KINDS:
        return err_invalid_value(kind, "kind")
    return FieldError()


def _sources(spec: Mapping[str, Any]) -> FieldError:
    sources = list(spec.get("sources") or [])
    if sources and spec.get("source"):
        return err_multiple_one_of("source", "sources")
    names: set[str] = set()
    sub_path = empty_target = False
    for source in sources:
        where = ("sources", "source")
        if source.get("name", "") in names:
            return err_multiple_one_of("name").via_field("source").via_field("sources")
        names.add(source.get("name", ""))
        if source.get("subPath"):
            if sub_path:
                return err_invalid_value(source["subPath"], "subpath").via_field(*where)
            sub_path = True
        if not source.get("targetPath"):
            if source.get("custom"):
                continue
            if empty_target:
                return err_invalid_value("Empty Target Path", "targetPath").via_field(*where)
            empty_target = True
        elif source.get("custom"):
            return err_invalid_value(source["targetPath"], "targetPath").via_field(*where)
    return FieldError()


def _build_spec(spec: Mapping[str, Any]) -> FieldError:
    template, steps = spec.get("template"), list(spec.get("steps") or [])
    if not template and not steps:
        return err_missing_one_of("template", "steps")
    if template and steps:
        return err_multiple_one_of("template", "steps")
    if template:
        return _template_ref(template).via_field("template").also(_timeout(spec))
    return _sources(spec).also(_volumes(spec.get("volumes") or []), _timeout(spec), _steps(steps))


def validate_build(build: Mapping[str, Any]) -> FieldError:
    return _metadata(build).via_field("metadata").also(_build_spec(build.get("spec") or {}).via_field("spec"))


def _parameters(params: Sequence[Mapping[str, Any]]) -> FieldError:
    seen: set[str] = set()
    for param in params:
        if param.get("name") in seen:
            return err_invalid_key_name("ParamName", "b.spec.params")
        seen.add(param.get("name") or "")
    return FieldError()


def validate_template(template: Mapping[str, Any]) -> FieldError:
    spec = template.get("spec") or {}
    spec_errors = (_steps(spec.get("steps") or []) or _volumes(spec.get("volumes") or [])
                   or _parameters(spec.get("parameters") or []))
    return _metadata(template).via_field("metadata").also(spec_errors.via_field("spec"))


def validate_arguments(build: Mapping[str, Any], template: Mapping[str, Any]) -> tuple[str, str] | None:
    """(reason, message) when the build's arguments do not fit the template's parameters, else None:
    duplicate arguments, arguments the template does not declare, parameters without a default left unset."""
    args = list(((build.get("spec") or {}).get("template") or {}).get("arguments") or [])
    params = list((template.get("spec") or {}).get("parameters") or [])
    seen: set[str] = set()
    for arg in args:
        if arg.get("name") in seen:
            return "DuplicateArgName", f'duplicate argument name "{arg.get("name")}"'
        seen.add(str(arg.get("name")))
    declared = {str(p.get("name")) for p in params}
    undeclared = sorted(seen - declared)
    if undeclared:
        kind = template.get("kind", "BuildTemplate")
        name = (template.get("metadata") or {}).get("name", "")
        return "UndeclaredArgument", (f"build specifies arguments that {kind} \"{name}\" does not declare as "
                                      f"parameters: [{' '.join(undeclared)}]")
    missing = [p for p in params if "default" not in p and p.get("name") not in seen]
    if missing:
        pairs = " ".join(f"{{{p.get('name')} {p.get('description', '')}}}" for p in
                         sorted(missing, key=lambda p: str(p.get("name"))))
        return "UnsatisfiedParameter", f"build does not specify these required parameters: [{pairs}]"
    return None


# --- the hooks ----------------------------------------------------------------------------------------


def _judged(req: AdmissionRequest) -> bool:
    if req.operation not in ("CREATE", "UPDATE") or req.subresource:
        return False
    old = req.old if req.operation == "UPDATE" else None
    return not (old is not None and (old.get("metadata") or {}).get("deletionTimestamp"))


def _refuse_on(errors: FieldError) -> None:
    if errors:
        raise denied(errors, prefix="mutation failed", webhook=WEBHOOK)


def admit_build(req: AdmissionRequest) -> None:
    if not _judged(req):
        return
    default_build(req.obj)
    _refuse_on(validate_build(req.obj))


def admit_build_template(req: AdmissionRequest) -> None:
    """BuildTemplate and ClusterBuildTemplate (their defaulting sets nothing)."""
    if _judged(req):
        _refuse_on(validate_template(req.obj))
