"""Knative Serving the way `kn service` does it: a function cell deployed as a Service with kn's flag
semantics, traffic splits and tags with kn's rules (`trafficrules`), and scale bounds.

Where kn puts each flag: `--scale-*` and autoscaling annotations on `spec.template.metadata.annotations`;
`--concurrency-limit` → `spec.template.spec.containerConcurrency`; `--timeout` → `timeoutSeconds`; `-e` →
the container's `env`; `-a`/`-l` on both the Service and the revision template (autoscaling annotations on
the template only: Knative refuses them on a Service); `--cluster-local` → the Service label
`networking.knative.dev/visibility: cluster-local`; `--revision-name` → `spec.template.metadata.name`.
"""

from __future__ import annotations

import copy
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import display, trafficrules
from .errors import KnativeError
from .merging import diff_patch
from .objects import Objects

__all__ = ["Deployment", "FunctionSpec", "Serving", "render_revision_name", "revision_template", "updated_template"]

KSVC = "services.serving.knative.dev"
AUTOSCALING = "autoscaling.knative.dev/"
VISIBILITY = "networking.knative.dev/visibility"
SERVICE_LABEL = "serving.knative.dev/service"
SHIPPING_ENV = frozenset({"JUPYTER_KNATIVE_FUNCTION", "JUPYTER_KNATIVE_HANDLER", "JUPYTER_KNATIVE_REQUIREMENTS"})
"""The runtime's variables that say where the function is: owned by the shipping, rewritten on every deploy."""
FUNCTION_VOLUME = "function"
_TEMPLATE_FIELD = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")
_CONSONANTS = "bcdfghjklmnpqrstvwxz"


@dataclass
class Deployment:
    """The outcome of `deploy_function`."""

    name: str
    namespace: str
    url: str | None
    revision: str | None  # the latest ready revision (None with wait=False)
    created: bool  # a new revision was made
    action: str  # "created" | "updated" | "unchanged"
    ready_seconds: float | None
    traffic: list[dict[str, Any]] = field(default_factory=list)
    service: dict[str, Any] = field(default_factory=dict, repr=False)

    def __str__(self) -> str:
        return display.deployment_text(self)

    def _repr_html_(self) -> str:
        return display.deployment_html(self)


@dataclass(frozen=True)
class FunctionSpec:
    """kn's flags for one function Service (None: not given)."""

    image: str
    env: Mapping[str, str] | None = None
    scale_min: int | None = None
    scale_max: int | None = None
    scale_init: int | None = None
    scale_target: float | None = None
    scale_metric: str | None = None
    scale_window: str | None = None
    concurrency_limit: int | None = None
    timeout: int | None = None
    annotations: Mapping[str, str] | None = None
    labels: Mapping[str, str] | None = None
    cluster_local: bool = False
    function_env: Mapping[str, str] = field(default_factory=dict)
    """What the shipping sets for the runtime (`JUPYTER_KNATIVE_*`): replaces any earlier such variables."""
    function_volume: Mapping[str, Any] | None = None
    """The pod volume carrying the function (ConfigMap shipping), named `function`; None: no such volume."""
    function_mount: Mapping[str, Any] | None = None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _managed_annotations(spec: FunctionSpec) -> dict[str, str]:
    annotations = {k: str(v) for k, v in (spec.annotations or {}).items()}
    for key, value in (("min-scale", spec.scale_min), ("max-scale", spec.scale_max),
                       ("initial-scale", spec.scale_init), ("target", spec.scale_target),
                       ("metric", spec.scale_metric), ("window", spec.scale_window)):
        if value is not None:
            annotations[AUTOSCALING + key] = value if isinstance(value, str) else _number(value)
    return annotations


def _env(env: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": str(k), "value": str(v)} for k, v in env.items()]


def revision_template(spec: FunctionSpec, revision_name: str | None = None) -> dict[str, Any]:
    """A new Service's `spec.template` for the flags (pure): what they say; the server defaults the rest."""
    return updated_template({}, spec, revision_name)


def updated_template(current: Mapping[str, Any], spec: FunctionSpec, revision_name: str | None) -> dict[str, Any]:
    """`current` (a Service's `spec.template`) with the flags applied, as `kn service update` does (pure):
    a flag left at None keeps what is there; `env`, when given, is the container's whole environment."""
    template = copy.deepcopy(dict(current))
    meta = template.setdefault("metadata", {})
    annotations = {**(meta.get("annotations") or {}), **_managed_annotations(spec)}
    if annotations:
        meta["annotations"] = annotations
    labels = {**(meta.get("labels") or {}), **{k: str(v) for k, v in (spec.labels or {}).items()}}
    if labels:
        meta["labels"] = labels
    if revision_name:
        meta["name"] = revision_name
    else:
        meta.pop("name", None)  # a new revision needs a new name: the server picks it, as with kn
    pod = template.setdefault("spec", {})
    containers = pod.get("containers") or [{}]
    container = containers[0]
    container["image"] = spec.image
    env = _env(spec.env) if spec.env is not None else list(container.get("env") or [])
    env = [e for e in env if e.get("name") not in SHIPPING_ENV]
    env += _env(spec.function_env)
    if env:
        container["env"] = env
    else:
        container.pop("env", None)
    _set_named(container, "volumeMounts", FUNCTION_VOLUME, spec.function_mount)
    _set_named(pod, "volumes", FUNCTION_VOLUME, spec.function_volume)
    pod["containers"] = containers
    if spec.concurrency_limit is not None:
        pod["containerConcurrency"] = int(spec.concurrency_limit)
    if spec.timeout is not None:
        pod["timeoutSeconds"] = int(spec.timeout)
    return template


def _set_named(owner: dict[str, Any], key: str, name: str, item: Mapping[str, Any] | None) -> None:
    """`owner[key]` (a list of named items) with the item called `name` replaced by `item`, or removed."""
    items = [i for i in owner.get(key) or [] if i.get("name") != name]
    if item is not None:
        items.append({**item, "name": name})
    if items:
        owner[key] = items
    else:
        owner.pop(key, None)


def service_metadata(spec: FunctionSpec) -> tuple[dict[str, str], dict[str, str]]:
    """(labels, annotations) kn puts on the Service itself."""
    labels = {k: str(v) for k, v in (spec.labels or {}).items()}
    if spec.cluster_local:
        labels[VISIBILITY] = "cluster-local"
    annotations = {k: str(v) for k, v in (spec.annotations or {}).items() if not k.startswith(AUTOSCALING)}
    return labels, annotations


def render_revision_name(template: str, service: str, generation: int, rand: random.Random | None = None) -> str:
    """kn's `--revision-name`: {{.Service}}, {{.Generation}}, {{.Random n}}; prefixed with `<service>-`
    when the result does not start with it. `generation` is the one the update will create."""
    rng = rand or random.Random()

    def field_value(m: re.Match[str]) -> str:
        expr = m.group(1).split()
        if expr == [".Service"]:
            return service
        if expr == [".Generation"]:
            return str(generation)
        if len(expr) == 2 and expr[0] == ".Random" and expr[1].isdigit():
            return "".join(rng.choice(_CONSONANTS) for _ in range(int(expr[1])))
        raise KnativeError(f"revision_name = {template!r}: can't evaluate field {m.group(1)}; the template may "
                           "use {{.Service}}, {{.Generation}} and {{.Random n}}", reason="Invalid")

    name = _TEMPLATE_FIELD.sub(field_value, template)
    if name and not name.startswith(f"{service}-"):
        name = f"{service}-{name}"
    return name


class Serving:
    def __init__(self, objects: Objects) -> None:
        self.objects = objects

    # -- deploy ------------------------------------------------------------------------------------------

    def deploy(self, name: str, spec: FunctionSpec, *, namespace: str, revision_name: str | None, wait: bool,
               timeout: float, progress: Callable[[str], None] | None) -> Deployment:
        started = time.monotonic()
        report = _reporter(progress, started)
        current = self.objects.find(self.objects.info(KSVC), name, namespace)
        if current is None:
            report(f"Creating service '{name}' in namespace '{namespace}':")
            svc, action, created = self._create(name, spec, namespace, revision_name), "created", True
        else:
            report(f"Updating service '{name}' in namespace '{namespace}':")
            svc, created = self._update(name, spec, namespace, revision_name, current)
            action = "updated" if created else "unchanged"
        if not wait:
            return _deployment(svc, namespace, action, created, None, ready=False)
        svc = self.wait_ready(name, namespace, timeout, report)
        elapsed = time.monotonic() - started
        return _deployment(svc, namespace, action, created, elapsed)

    def _create(self, name: str, spec: FunctionSpec, namespace: str, revision_name: str | None) -> dict[str, Any]:
        labels, annotations = service_metadata(spec)
        rev_name = render_revision_name(revision_name, name, 1) if revision_name else None
        meta: dict[str, Any] = {"name": name, "namespace": namespace}
        if labels:
            meta["labels"] = labels
        if annotations:
            meta["annotations"] = annotations
        body = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": meta,
                "spec": {"template": revision_template(spec, rev_name)}}
        try:
            return self.objects.create(KSVC, body, namespace)
        except KnativeError as e:
            if e.reason != "AlreadyExists":
                raise
            current = self.objects.get(KSVC, name, namespace)  # created meanwhile: update it instead
            return self._update(name, spec, namespace, revision_name, current)[0]

    def _update(self, name: str, spec: FunctionSpec, namespace: str, revision_name: str | None,
                current: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """(the Service, whether its template changed, i.e. a new revision is on its way)."""
        generation = int(current["metadata"].get("generation") or 0)
        old_template = (current.get("spec") or {}).get("template") or {}
        old_name = (old_template.get("metadata") or {}).get("name")
        if revision_name:
            # kn renders the name anew for every update: only a template that changes otherwise gets one
            if not diff_patch(old_template, updated_template(old_template, spec, old_name)):
                return current, False
            new_name: str | None = render_revision_name(revision_name, name, generation + 1)
        else:
            new_name = None
        updated = self._patch(name, namespace, current, spec, new_name)
        return updated, int(updated["metadata"].get("generation") or 0) != generation

    def _patch(self, name: str, namespace: str, current: dict[str, Any], spec: FunctionSpec,
               rev_name: str | None) -> dict[str, Any]:
        old_template = (current.get("spec") or {}).get("template") or {}
        template = updated_template(old_template, spec, rev_name)
        labels, annotations = service_metadata(spec)
        meta = current.get("metadata") or {}
        meta_patch: dict[str, Any] = {}
        if any((meta.get("labels") or {}).get(k) != v for k, v in labels.items()):
            meta_patch["labels"] = labels
        if not spec.cluster_local and VISIBILITY in (meta.get("labels") or {}):
            meta_patch.setdefault("labels", {})[VISIBILITY] = None
        if any((meta.get("annotations") or {}).get(k) != v for k, v in annotations.items()):
            meta_patch["annotations"] = annotations
        patch: dict[str, Any] = {}
        template_patch = diff_patch(old_template, template)
        if template_patch:
            patch["spec"] = {"template": template_patch}
        if meta_patch:
            patch["metadata"] = meta_patch
        if not patch:
            return current
        return self.objects.patch(KSVC, name, patch, namespace)

    def wait_ready(self, name: str, namespace: str, timeout: float,
                   report: Callable[[str], None]) -> dict[str, Any]:
        said: set[str] = set()

        def on_change(obj: dict[str, Any]) -> None:
            for cond in (obj.get("status") or {}).get("conditions") or []:
                message = cond.get("message")
                if message and cond.get("status") != "True" and message not in said:
                    said.add(message)
                    report(message)

        try:
            svc = self.objects.wait(KSVC, name, timeout=timeout, namespace=namespace, progress=on_change)
        except KnativeError as e:
            if e.reason in ("PlaneDown", "Unreachable"):
                raise
            raise self._revision_failure(name, namespace) or e from None
        report("Ready to serve.")
        return svc

    def _revision_failure(self, name: str, namespace: str) -> KnativeError | None:
        """Why the latest revision is not ready, when it says (a Service's own reason is often generic)."""
        try:
            svc = self.objects.get(KSVC, name, namespace)
            revision = (svc.get("status") or {}).get("latestCreatedRevisionName")
            rev = self.objects.get("revisions", revision, namespace) if revision else None
        except KnativeError:
            return None
        failed = [c for c in ((rev or {}).get("status") or {}).get("conditions") or [] if c.get("status") == "False"]
        failed.sort(key=lambda c: c.get("type") == "Ready")  # the specific condition first
        if not failed:
            return None
        cond = failed[0]
        reason, message = str(cond.get("reason") or "Failed"), str(cond.get("message") or "")
        return KnativeError(f'Revision "{revision}" failed: {reason}' + (f": {message}" if message else ""),
                            reason=reason, hint=f"logs('{name}', revision='{revision}') shows the container's output")

    # -- traffic and scale -------------------------------------------------------------------------------

    def traffic(self, name: str, assignments: Mapping[str, int] | Sequence[str], tags: Mapping[str, str] |
                Sequence[str] | None, untag: Sequence[str], *, namespace: str, timeout: float) -> dict[str, Any]:
        svc = self.objects.get(KSVC, name, namespace)
        revisions = [r["metadata"]["name"] for r in
                     self.objects.list_objects("revisions", namespace, label_selector=f"{SERVICE_LABEL}={name}")]
        status = svc.get("status") or {}
        given = trafficrules.flags(assignments, tags or (), untag)
        try:
            traffic = trafficrules.compute(name, (svc.get("spec") or {}).get("traffic") or [], given,
                                           status_traffic=status.get("traffic") or [], revisions=revisions,
                                           latest_ready=str(status.get("latestReadyRevisionName") or ""))
        except trafficrules.TrafficError as e:
            raise KnativeError(str(e), reason="Invalid", hint="traffic refs are revision names, tags or @latest; "
                               f"revisions of '{name}': {', '.join(revisions) or '(none)'}") from None
        self.objects.patch(KSVC, name, {"spec": {"traffic": traffic}}, namespace)
        return self.wait_ready(name, namespace, timeout, lambda _: None)

    def scale(self, name: str, *, min: int | None, max: int | None, namespace: str,
              timeout: float) -> dict[str, Any]:
        annotations: dict[str, Any] = {}
        for key, value in (("min-scale", min), ("max-scale", max)):
            if value is not None:
                if value < 0:
                    raise KnativeError(f"{key.split('-')[0]} = {value}, must be 0 or more", reason="Invalid")
                annotations[AUTOSCALING + key] = str(value)
        if not annotations:
            return self.objects.get(KSVC, name, namespace)
        svc = self.objects.get(KSVC, name, namespace)
        template_meta: dict[str, Any] = {"annotations": annotations}
        if ((svc.get("spec") or {}).get("template") or {}).get("metadata", {}).get("name"):
            template_meta["name"] = None  # a new revision needs a new name: let the server pick it, as kn does
        self.objects.patch(KSVC, name, {"spec": {"template": {"metadata": template_meta}}}, namespace)
        return self.wait_ready(name, namespace, timeout, lambda _: None)


def _reporter(progress: Callable[[str], None] | None, started: float) -> Callable[[str], None]:
    def report(message: str) -> None:
        if progress is None:
            return
        if message.endswith(":"):
            progress(message)
        else:
            progress(f"{time.monotonic() - started:8.3f}s {message}")
    return report


def _deployment(svc: dict[str, Any], namespace: str, action: str, created: bool, elapsed: float | None, *,
                ready: bool = True) -> Deployment:
    status = svc.get("status") or {}
    rev = status.get("latestReadyRevisionName") if ready else None
    return Deployment(name=svc["metadata"]["name"], namespace=namespace, url=status.get("url"), revision=rev,
                      created=created, action=action, ready_seconds=elapsed, traffic=list(status.get("traffic") or []),
                      service=svc)
