"""Serving's defaulting (`SetDefaults`), applied before validation on create and update.

What a created Service reads back with the stock `config-defaults`:

    spec.template.spec: containerConcurrency 0, timeoutSeconds 300, enableServiceLinks false,
      containers[0]: name user-container, resources {}, readinessProbe {tcpSocket: {port: 0}, successThreshold: 1}
    spec.traffic: [{latestRevision: true, percent: 100}]
    metadata.annotations: serving.knative.dev/creator and /lastModifier = the requesting user

responseStartTimeoutSeconds and idleTimeoutSeconds are written only when their configured default is
non-zero and below timeoutSeconds, so the stock config leaves them unset. A Revision is defaulted on
create only: its spec is immutable. On a Service or Configuration update that keeps a brought-your-own
revision name, the template is left alone, so that defaulting cannot itself be a change the name rule
then refuses; unless defaulting makes it exactly the stored template (see `_keep_byo_template`: a
deliberate difference from Knative, so that re-applying a manifest with kubectl works).
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from .config import ALLOW_ROOT_BOUNDED, ENABLED, WebhookConfig

__all__ = [
    "CREATOR",
    "LAST_MODIFIER",
    "default_configuration",
    "default_revision",
    "default_revision_spec",
    "default_route",
    "default_service",
    "default_traffic",
]

CREATOR = "serving.knative.dev/creator"
LAST_MODIFIER = "serving.knative.dev/lastModifier"

_Obj = dict[str, Any]


def _meta(obj: _Obj) -> _Obj:
    meta: _Obj = obj.setdefault("metadata", {})
    return meta


def _spec(obj: _Obj) -> _Obj:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec


# --- the resources ----------------------------------------------------------------------------------------

def default_service(obj: _Obj, cfg: WebhookConfig, *, user: str, old: _Obj | None = None) -> None:
    spec = _spec(obj)
    _default_configuration_spec(spec, cfg, _meta(obj), old_spec=(old or {}).get("spec"), creating=old is None)
    default_traffic(spec, service=True)
    _set_user_info(obj, old, user)


def default_configuration(obj: _Obj, cfg: WebhookConfig, *, user: str, old: _Obj | None = None) -> None:
    _default_configuration_spec(_spec(obj), cfg, _meta(obj), old_spec=(old or {}).get("spec"),
                                creating=old is None)
    if not _meta(obj).get("ownerReferences"):
        _set_user_info(obj, old, user)


def default_route(obj: _Obj, cfg: WebhookConfig, *, user: str, old: _Obj | None = None) -> None:
    default_traffic(_spec(obj), service=False)
    if not _meta(obj).get("ownerReferences"):
        _set_user_info(obj, old, user)


def default_revision(obj: _Obj, cfg: WebhookConfig, *, old: _Obj | None = None) -> None:
    if old is None:  # the spec is immutable: defaulting it on update could only be refused
        default_revision_spec(_spec(obj), cfg, {}, creating=True)


def _default_configuration_spec(spec: _Obj, cfg: WebhookConfig, parent: Mapping[str, Any], *,
                                old_spec: Any, creating: bool) -> None:
    template = spec.get("template")
    if not isinstance(template, dict):
        template = spec["template"] = {}
    old_template = (old_spec or {}).get("template") if isinstance(old_spec, Mapping) else None
    name = (template.get("metadata") or {}).get("name")
    if isinstance(old_template, Mapping) and name and name == (old_template.get("metadata") or {}).get("name"):
        _keep_byo_template(template, old_template, cfg, parent)
        return
    tspec = template.get("spec")
    if not isinstance(tspec, dict):
        tspec = template["spec"] = {}
    default_revision_spec(tspec, cfg, parent, creating=creating)


def _keep_byo_template(template: _Obj, old: Mapping[str, Any], cfg: WebhookConfig, parent: Mapping[str, Any]) -> None:
    """An update that keeps a brought-your-own revision name. Knative leaves the template undefaulted, so
    any difference from the stored one is refused as a change without a new name. That also refuses
    `kubectl apply` re-sending a manifest whose only differences are the defaults (a JSON merge patch
    replaces the whole containers list), e.g. a traffic-only change; here, when defaulting makes the
    template identical to the stored one, the defaulted form is taken instead."""
    trial = copy.deepcopy(template)
    if isinstance(trial.get("spec"), dict):
        default_revision_spec(trial["spec"], cfg, parent, creating=False)
        if trial == old:
            template["spec"] = trial["spec"]


def _set_user_info(obj: _Obj, old: _Obj | None, user: str) -> None:
    """serving.knative.dev/creator on create; /lastModifier on create and on every change of the spec."""
    annotations = _meta(obj).get("annotations")
    if not isinstance(annotations, dict):
        annotations = _meta(obj)["annotations"] = {}
    if old is None:
        annotations[CREATOR] = user
        annotations[LAST_MODIFIER] = user
    elif obj.get("spec") != old.get("spec"):
        annotations[LAST_MODIFIER] = user


# --- traffic ----------------------------------------------------------------------------------------------

def default_traffic(spec: _Obj, *, service: bool) -> None:
    """A Service without traffic sends all of it to its latest revision; every target gets an explicit
    `latestRevision` (true unless it names a revision) and `percent` (0 when absent)."""
    traffic = spec.get("traffic")
    if not traffic and service:
        traffic = spec["traffic"] = [{"latestRevision": True, "percent": 100}]
    for target in traffic or []:
        if isinstance(target, dict):
            if target.get("latestRevision") is None:
                target["latestRevision"] = not target.get("revisionName")
            if target.get("percent") is None:
                target["percent"] = 0


# --- the revision spec --------------------------------------------------------------------------------

def default_revision_spec(spec: _Obj, cfg: WebhookConfig, parent: Mapping[str, Any], *, creating: bool) -> None:
    d = cfg.defaults
    if not spec.get("timeoutSeconds"):
        spec["timeoutSeconds"] = d.revision_timeout_seconds
    timeout = spec["timeoutSeconds"] if isinstance(spec["timeoutSeconds"], int) else d.revision_timeout_seconds
    if spec.get("idleTimeoutSeconds") is None and 0 != d.revision_idle_timeout_seconds < timeout:
        spec["idleTimeoutSeconds"] = d.revision_idle_timeout_seconds
    if spec.get("responseStartTimeoutSeconds") is None and 0 != d.revision_response_start_timeout_seconds < timeout:
        spec["responseStartTimeoutSeconds"] = d.revision_response_start_timeout_seconds
    if spec.get("containerConcurrency") is None:
        spec["containerConcurrency"] = d.container_concurrency
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    inits = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    taken = {c.get("name") for c in containers + inits}
    _name_containers(containers, taken, _template(d.container_name_template, parent))
    _name_containers(inits, taken, _template(d.init_container_name_template, parent))
    for c in containers:
        _default_container(spec, c, cfg, creating=creating)
        _secure_defaults(spec, c, cfg)
    for c in inits:
        _secure_defaults(spec, c, cfg)


def _template(template: str, parent: Mapping[str, Any]) -> str:
    """The container name template, a Go template over the parent's metadata (`{{.Name}}`, ...)."""
    def field(m: re.Match[str]) -> str:
        key = m.group(1)[:1].lower() + m.group(1)[1:]
        return str(parent.get(key) or "")
    return re.sub(r"\{\{\s*\.(\w+)\s*\}\}", field, template)


def child_name(parent: str, suffix: str) -> str:
    """kmeta.ChildName: `parent + suffix`, hashed down to 63 characters when longer."""
    if len(parent) + len(suffix) <= 63:
        return parent + suffix
    digest = hashlib.md5(parent.encode()).hexdigest()
    return parent[: 63 - len(suffix) - len(digest)] + digest + suffix


def _name_containers(containers: list[_Obj], taken: set[Any], default: str) -> None:
    """Unnamed containers get the default name; with several (or a clash), a numbered one."""
    suffix = 0
    for c in containers:
        if c.get("name"):
            continue
        name = default
        if len(containers) > 1 or name in taken:
            while True:
                name = child_name(default, f"-{suffix}")
                suffix += 1
                if name not in taken:
                    break
        c["name"] = name


def _default_container(spec: _Obj, c: _Obj, cfg: WebhookConfig, *, creating: bool) -> None:
    resources = c.get("resources")
    if not isinstance(resources, dict):
        resources = c["resources"] = {}
    for bucket, values in cfg.defaults.resources.items():
        for name, quantity in values.items():
            if name not in (resources.get(bucket) or {}):
                resources.setdefault(bucket, {})[name] = quantity
    containers = spec.get("containers") or []
    if len(containers) == 1 or c.get("ports"):
        probe = c.get("readinessProbe")
        if not isinstance(probe, dict):
            probe = c["readinessProbe"] = {}
        if not any(probe.get(k) is not None for k in ("tcpSocket", "httpGet", "exec", "grpc")):
            probe["tcpSocket"] = {"port": 0}
    _probe_defaults(c)
    if spec.get("enableServiceLinks") is None and creating and cfg.defaults.enable_service_links is not None:
        spec["enableServiceLinks"] = cfg.defaults.enable_service_links
    writable = {v.get("name") for v in spec.get("volumes") or [] if isinstance(v, dict)
                and (v.get("emptyDir") is not None or v.get("persistentVolumeClaim") is not None)}
    for mount in c.get("volumeMounts") or []:
        if isinstance(mount, dict) and mount.get("name") not in writable:
            mount["readOnly"] = True


def _probe_defaults(c: _Obj) -> None:
    probe = c.get("readinessProbe")
    if isinstance(probe, dict):
        if not probe.get("successThreshold"):
            probe["successThreshold"] = 1
        if probe.get("periodSeconds"):  # Kubernetes' own defaults, once the probe is not Knative's aggressive one
            probe["failureThreshold"] = probe.get("failureThreshold") or 3
            probe["timeoutSeconds"] = probe.get("timeoutSeconds") or 1
    for key in ("readinessProbe", "livenessProbe", "startupProbe"):
        grpc = (c.get(key) or {}).get("grpc") if isinstance(c.get(key), dict) else None
        if isinstance(grpc, dict) and grpc.get("service") is None:
            grpc["service"] = ""


def _secure_defaults(spec: _Obj, c: _Obj, cfg: WebhookConfig) -> None:
    """`secure-pod-defaults`: the `restricted` profile's settings where the user left them unset."""
    mode = cfg.features.secure_pod_defaults
    if mode not in (ENABLED, ALLOW_ROOT_BOUNDED):
        return
    psc: _Obj = spec["securityContext"] if isinstance(spec.get("securityContext"), dict) else {}
    sc = dict(c.get("securityContext") or {})
    if sc.get("allowPrivilegeEscalation") is None:
        sc["allowPrivilegeEscalation"] = False
    if not (psc.get("seccompProfile") or {}).get("type"):
        profile = dict(sc.get("seccompProfile") or {})
        profile["type"] = profile.get("type") or "RuntimeDefault"
        sc["seccompProfile"] = profile
    if sc.get("capabilities") is None:
        caps: _Obj = {"drop": ["ALL"]}
        if any(isinstance(p, dict) and isinstance(p.get("containerPort"), int) and p["containerPort"] < 1024
               for p in c.get("ports") or []):
            caps["add"] = ["NET_BIND_SERVICE"]
        sc["capabilities"] = caps
    if mode == ENABLED and psc.get("runAsNonRoot") is None and sc.get("runAsNonRoot") is None:
        sc["runAsNonRoot"] = True
    if sc:
        c["securityContext"] = sc
