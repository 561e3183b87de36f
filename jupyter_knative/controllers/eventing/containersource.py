"""ContainerSource → a SinkBinding `<name>-sinkbinding` bound to a Deployment `<name>-deployment` running
its pod template (knative/eventing's containersource reconciler); Ready from both."""

from __future__ import annotations

import copy
from typing import Any

from ...api.conditions import ConditionManager, ConditionSet
from . import names
from .base import KindReconciler, propagate
from .children import condition_of, ensure, owner_reference
from .context import SOURCES, Scope

CONDITIONS = ConditionSet("Ready", ("SinkBindingReady", "ReceiveAdapterReady"))
CONTROLLER_NAME = "container-source-controller"


def labels(name: str) -> dict[str, str]:
    return {"sources.knative.dev/source": CONTROLLER_NAME, "sources.knative.dev/containerSource": name}


def sink_binding(source: dict[str, Any]) -> dict[str, Any]:
    meta, spec = source["metadata"], source.get("spec") or {}
    binding_spec: dict[str, Any] = {
        "subject": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": meta["namespace"],
                    "name": names.container_source_deployment_name(meta["name"])},
    }
    for field in ("sink", "ceOverrides"):
        if spec.get(field) is not None:
            binding_spec[field] = copy.deepcopy(spec[field])
    return {"apiVersion": f"{SOURCES}/v1", "kind": "SinkBinding",
            "metadata": {"name": names.container_source_sink_binding_name(meta["name"]),
                         "namespace": meta["namespace"], "ownerReferences": [owner_reference(source)]},
            "spec": binding_spec}


def deployment(source: dict[str, Any]) -> dict[str, Any]:
    meta = source["metadata"]
    template = copy.deepcopy((source.get("spec") or {}).get("template") or {})
    template.setdefault("metadata", {}).setdefault("labels", {}).update(labels(meta["name"]))
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": names.container_source_deployment_name(meta["name"]), "namespace": meta["namespace"],
                         "labels": labels(meta["name"]), "ownerReferences": [owner_reference(source)]},
            "spec": {"selector": {"matchLabels": labels(meta["name"])}, "template": template}}


class ContainerSourceReconciler(KindReconciler):
    group, kind, controller = SOURCES, "ContainerSource", "containersource-controller"
    conditions = CONDITIONS

    def reconcile_kind(self, scope: Scope, source: dict[str, Any], status: dict[str, Any],
                       cm: ConditionManager) -> bool | None:
        ns, name = source["metadata"]["namespace"], source["metadata"]["name"]
        desired = sink_binding(source)
        scope.track(SOURCES, "SinkBinding", ns, desired["metadata"]["name"])
        binding = ensure(self.ctx.store, self.ctx.type(SOURCES, "SinkBinding"), desired, source, self.recorder,
                         ("spec",), derivative=True)
        if binding.not_owned:
            cm.mark_false("SinkBindingReady", "SinkBindingNotOwned",
                          f'SinkBinding "{desired["metadata"]["name"]}" is not owned by ContainerSource "{name}"')
        else:
            propagate(cm, "SinkBindingReady", condition_of(binding.obj))
            sink = (binding.obj.get("status") or {}).get("sinkUri")
            if sink:
                status["sinkUri"] = sink
            else:
                status.pop("sinkUri", None)
        desired = deployment(source)
        scope.track("apps", "Deployment", ns, desired["metadata"]["name"])
        dep = ensure(self.ctx.store, self.ctx.type("apps", "Deployment"), desired, source, self.recorder,
                     ("spec",), derivative=True)
        if dep.not_owned:
            cm.mark_false("ReceiveAdapterReady", "DeploymentNotOwned",
                          f'Deployment "{desired["metadata"]["name"]}" is not owned by ContainerSource "{name}"')
            return None
        available = condition_of(dep.obj, "Available")
        if available is None:
            cm.mark_unknown("ReceiveAdapterReady", "DeploymentUnavailable",
                            f"The Deployment '{dep.obj['metadata']['name']}' is unavailable.")
        else:
            cm.set_condition(available, "ReceiveAdapterReady")
        return None
