"""SinkBinding → `K_SINK`, `K_CE_OVERRIDES` and `K_CA_CERTS` in the pod template of its subject(s)
(a Deployment, a Knative Service, anything with `spec.template.spec.containers`), by updating the subject
as Knative's binding reconciler does; a finalizer takes them out again when the binding goes."""

from __future__ import annotations

import copy
import json
from typing import Any

from ...api.conditions import ConditionManager, ConditionSet
from .apiserversource import selector_matches
from .base import OIDC_DISABLED, KindReconciler
from .context import SOURCES, Scope
from .resolver import ObjectNotFound, ResolveError
from .sink import mark_sink
from .tracker import group_of

CONDITIONS = ConditionSet("Ready", ("SinkBindingAvailable", "SinkProvided", "TrustBundlePropagated",
                                    "OIDCIdentityCreated", "OIDCTokenSecretCreated"))
FINALIZER = "sinkbindings.sources.knative.dev"
K_SINK, K_CE_OVERRIDES, K_CA_CERTS = "K_SINK", "K_CE_OVERRIDES", "K_CA_CERTS"
_INJECTED = (K_SINK, K_CE_OVERRIDES, K_CA_CERTS)


def go_json(value: Any) -> str:
    """encoding/json's Marshal: compact, sorted map keys, HTML characters escaped."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def binding_env(sink_uri: str, binding: dict[str, Any]) -> dict[str, str]:
    spec = binding.get("spec") or {}
    env = {K_SINK: sink_uri}
    if spec.get("ceOverrides") is not None:
        env[K_CE_OVERRIDES] = go_json(spec["ceOverrides"])
    if (spec.get("sink") or {}).get("CACerts"):
        env[K_CA_CERTS] = spec["sink"]["CACerts"]
    return env


def _containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for key in ("initContainers", "containers") for c in pod_spec.get(key) or [] if isinstance(c, dict)]


def inject(obj: dict[str, Any], env: dict[str, str]) -> bool:
    """Set (or replace) the variables in every container of the object's pod template; True if it changed."""
    pod_spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    before = copy.deepcopy(pod_spec)
    for container in _containers(pod_spec):
        variables = [v for v in container.get("env") or [] if v.get("name") not in _INJECTED or v["name"] in env]
        for name, value in env.items():
            existing = next((v for v in variables if v.get("name") == name), None)
            if existing is None:
                variables.append({"name": name, "value": value})
            else:
                existing.clear()
                existing.update({"name": name, "value": value})
        container["env"] = variables
    return pod_spec != before


def undo(obj: dict[str, Any]) -> bool:
    pod_spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    changed = False
    for container in _containers(pod_spec):
        variables = [v for v in container.get("env") or [] if v.get("name") not in _INJECTED]
        if len(variables) != len(container.get("env") or []):
            changed = True
            if variables:
                container["env"] = variables
            else:
                container.pop("env", None)
    return changed


def subject_matches(binding: dict[str, Any], obj: dict[str, Any]) -> bool:
    subject = (binding.get("spec") or {}).get("subject") or {}
    if group_of(str(subject.get("apiVersion") or "")) != group_of(str(obj.get("apiVersion") or "")) or \
            subject.get("kind") != obj.get("kind"):
        return False
    meta = obj["metadata"]
    if (subject.get("namespace") or binding["metadata"]["namespace"]) != meta.get("namespace"):
        return False
    if subject.get("name"):
        return bool(subject["name"] == meta.get("name"))
    return subject.get("selector") is not None and selector_matches(subject["selector"], meta.get("labels") or {})


class SinkBindingReconciler(KindReconciler):
    group, kind, controller = SOURCES, "SinkBinding", "sinkbinding-controller"
    conditions = CONDITIONS
    finalizer = FINALIZER

    def reconcile_kind(self, scope: Scope, binding: dict[str, Any], status: dict[str, Any],
                       cm: ConditionManager) -> bool | None:
        spec = binding.get("spec") or {}
        cm.mark_true("OIDCIdentityCreated", OIDC_DISABLED)
        cm.mark_true("OIDCTokenSecretCreated", OIDC_DISABLED)
        cm.mark_true("TrustBundlePropagated")
        try:
            uri = scope.resolve(spec.get("sink"), binding["metadata"]["namespace"])
        except ResolveError as e:
            cm.mark_false("SinkBindingAvailable", "NoSink", f"Unable to get sink URI: {e}")
            return None
        mark_sink(status, cm, uri, spec.get("sink") or {})
        try:
            subjects = self._subjects(scope, binding)
        except ResolveError as e:
            cm.mark_false("SinkBindingAvailable", "SubjectMissing", str(e))
            return None
        env = binding_env(uri, binding)
        for rt, subject in subjects:
            if inject(subject, env):
                self.ctx.store.update(rt, subject)
        cm.mark_true("SinkBindingAvailable")
        return None

    def _subjects(self, scope: Scope, binding: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
        subject = (binding.get("spec") or {}).get("subject") or {}
        api_version, kind = str(subject.get("apiVersion") or ""), str(subject.get("kind") or "")
        ns = subject.get("namespace") or binding["metadata"]["namespace"]
        rt = self.ctx.store.registry.by_kind(group_of(api_version), kind)
        if subject.get("name"):
            return [(rt, scope.lookup(api_version, kind, ns, subject["name"]))]
        if rt is None:
            raise ResolveError(f"no kind {kind} in {api_version}")
        objs, _ = self.ctx.store.list(rt, ns, lambda o: subject_matches(binding, o))
        return [(rt, o) for o in objs]

    def finalize(self, scope: Scope, binding: dict[str, Any]) -> None:
        try:
            subjects = self._subjects(scope, binding)
        except (ObjectNotFound, ResolveError):
            return
        for rt, subject in subjects:
            if undo(subject):
                self.ctx.store.update(rt, subject)
