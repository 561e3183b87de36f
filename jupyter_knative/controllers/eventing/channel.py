"""InMemoryChannel (its address, subscribers marked ready once held, dead letter sink; then the data plane)
and Channel (a backing channel from `spec.channelTemplate` with the Channel's delivery, whose status it
mirrors; subscriptions to a Channel put their entries into the backing channel)."""

from __future__ import annotations

import copy
from typing import Any

from ...api.conditions import ConditionManager, ConditionSet
from ..runtime import ObjectKey
from . import names
from .base import KindReconciler, mark_event_policies, resolve_dead_letter_sink
from .children import condition_of, ensure, owner_reference
from .context import MESSAGING, Scope
from .tracker import group_of

IMC_CONDITIONS = ConditionSet("Ready", ("ServiceReady", "EndpointsReady", "Addressable", "ChannelServiceReady",
                                        "DeadLetterSinkResolved", "EventPoliciesReady"))
CHANNEL_CONDITIONS = ConditionSet("Ready", ("BackingChannelReady", "Addressable", "DeadLetterSinkResolved",
                                            "EventPoliciesReady"))
DEFAULT_TEMPLATE: dict[str, Any] = {"apiVersion": f"{MESSAGING}/v1", "kind": "InMemoryChannel"}


def subscriber_statuses(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """What the dispatcher reports once it holds a subscriber: ready, at the generation it holds."""
    return [{"uid": s.get("uid", ""), "observedGeneration": s.get("generation", 0), "ready": "True"}
            for s in spec.get("subscribers") or []]


class InMemoryChannelReconciler(KindReconciler):
    group, kind, controller = MESSAGING, "InMemoryChannel", "imc-controller"
    conditions = IMC_CONDITIONS

    def reconcile_kind(self, scope: Scope, imc: dict[str, Any], status: dict[str, Any],
                       cm: ConditionManager) -> bool | None:
        ns, name = imc["metadata"]["namespace"], imc["metadata"]["name"]
        spec = imc.get("spec") or {}
        # The dispatcher is the daemon's data plane: its service and endpoints exist whenever it runs.
        cm.mark_true("ServiceReady")
        cm.mark_true("EndpointsReady")
        cm.mark_true("ChannelServiceReady")
        address = {"name": "http", "url": f"http://{names.in_memory_channel_host(ns, name)}"}
        status["address"] = address
        status["addresses"] = [dict(address)]
        cm.mark_true("Addressable")
        resolve_dead_letter_sink(scope, spec.get("delivery"), ns, status, cm)
        mark_event_policies(cm)
        subscribers = subscriber_statuses(spec)
        if subscribers:
            status["subscribers"] = subscribers
        else:
            status.pop("subscribers", None)
        return None

    def gone(self, key: ObjectKey) -> None:
        self.ctx.plane.set_channel(key.namespace, key.name, None)

    def reconciled(self, obj: dict[str, Any]) -> None:
        self.ctx.plane.set_channel(obj["metadata"]["namespace"], obj["metadata"]["name"], obj)


def backing_channel(channel: dict[str, Any]) -> dict[str, Any]:
    spec = channel.get("spec") or {}
    template: dict[str, Any] = spec.get("channelTemplate") or DEFAULT_TEMPLATE
    backing_spec: dict[str, Any] = copy.deepcopy(template.get("spec") or {})
    if spec.get("delivery"):
        backing_spec["delivery"] = copy.deepcopy(spec["delivery"])
    return {
        "apiVersion": template.get("apiVersion") or DEFAULT_TEMPLATE["apiVersion"], "kind": template["kind"],
        "metadata": {"name": channel["metadata"]["name"], "namespace": channel["metadata"]["namespace"],
                     "ownerReferences": [owner_reference(channel)]},
        "spec": backing_spec,
    }


class ChannelReconciler(KindReconciler):
    group, kind, controller = MESSAGING, "Channel", "channel-controller"
    conditions = CHANNEL_CONDITIONS

    def reconcile_kind(self, scope: Scope, channel: dict[str, Any], status: dict[str, Any],
                       cm: ConditionManager) -> bool | None:
        ns, name = channel["metadata"]["namespace"], channel["metadata"]["name"]
        desired = backing_channel(channel)
        rt = self.ctx.store.registry.by_kind(group_of(desired["apiVersion"]), desired["kind"])
        if rt is None:
            cm.mark_false("BackingChannelReady", "ChannelFailure",
                          f"unknown channel kind {desired['apiVersion']} {desired['kind']}")
            return None
        scope.track(rt.group, rt.kind, ns, name)
        # Subscriptions write their entries into the backing channel; only the delivery is the Channel's.
        child = ensure(self.ctx.store, rt, desired, channel, self.recorder, ("spec.delivery",))
        if child.not_owned:
            cm.mark_false("BackingChannelReady", "ChannelFailure",
                          f'{rt.kind} "{name}" is not owned by Channel "{name}"')
            return None
        backing = child.obj
        status["channel"] = {"apiVersion": backing["apiVersion"], "kind": backing["kind"], "name": name,
                             "namespace": ns}
        self._mirror(channel, backing, status, cm)
        mark_event_policies(cm)
        return None

    @staticmethod
    def _mirror(channel: dict[str, Any], backing: dict[str, Any], status: dict[str, Any],
                cm: ConditionManager) -> None:
        backing_status = backing.get("status") or {}
        ready = condition_of(backing)
        if ready is not None and ready.get("status") == "True":
            cm.mark_true("BackingChannelReady")
        elif ready is not None and ready.get("status") == "False":
            cm.mark_false("BackingChannelReady", "BackingChannelNotReady",
                          f"Backing channel is not ready: {ready.get('message', '')}")
        else:
            cm.mark_unknown("BackingChannelReady", "BackingChannelNotReady", "Backing channel is not ready")
        for field in ("address", "addresses", "subscribers", "deadLetterSinkUri"):
            if backing_status.get(field):
                status[field] = copy.deepcopy(backing_status[field])
            else:
                status.pop(field, None)
        if status.get("address", {}).get("url"):
            cm.mark_true("Addressable")
        else:
            cm.mark_false("Addressable", "EmptyHostname", "hostname is the empty string")
        if not ((channel.get("spec") or {}).get("delivery") or {}).get("deadLetterSink"):
            cm.mark_true("DeadLetterSinkResolved", "DeadLetterSinkNotConfigured", "No dead letter sink is configured.")
        elif status.get("deadLetterSinkUri"):
            cm.mark_true("DeadLetterSinkResolved")
        else:
            dls = condition_of(backing, "DeadLetterSinkResolved") or {}
            cm.mark_unknown("DeadLetterSinkResolved", dls.get("reason", "DeadLetterSinkNotResolved"),
                            dls.get("message", "The backing channel has not resolved the dead letter sink."))
