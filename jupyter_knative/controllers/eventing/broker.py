"""Broker (MTChannelBasedBroker) → its trigger channel `<broker>-kne-trigger`, the channel's address in
status annotations, the ingress address, the dead letter sink (knative/eventing's mtchannel broker
reconciler)."""

from __future__ import annotations

from typing import Any

from ...api.conditions import ConditionManager, ConditionSet
from ..runtime import ObjectKey
from . import names
from .base import KindReconciler, mark_event_policies, resolve_dead_letter_sink
from .children import ensure, owner_reference
from .context import EVENTING, SYSTEM_NAMESPACE, Scope, channel_template
from .tracker import group_of

CONDITIONS = ConditionSet("Ready", ("IngressReady", "TriggerChannelReady", "FilterReady", "Addressable",
                                    "DeadLetterSinkResolved", "EventPoliciesReady"))
CLASS_ANNOTATION = "eventing.knative.dev/broker.class"
MT_CHANNEL_BASED = "MTChannelBasedBroker"
BROKER_LABEL = "eventing.knative.dev/broker"
BROKER_EVERYTHING_LABEL = "eventing.knative.dev/brokerEverything"
CHANNEL_ADDRESS = "knative.dev/channelAddress"
CHANNEL_API_VERSION = "knative.dev/channelAPIVersion"
CHANNEL_KIND = "knative.dev/channelKind"
CHANNEL_NAME = "knative.dev/channelName"
CHANNEL_NAMESPACE = "knative.dev/channelNamespace"
_CHANNEL_ANNOTATIONS = (CHANNEL_ADDRESS, CHANNEL_API_VERSION, CHANNEL_KIND, CHANNEL_NAME, CHANNEL_NAMESPACE)


def is_mt_channel_based(broker: dict[str, Any]) -> bool:
    """Ours: the class annotation says MTChannelBasedBroker (absent: the default class, which the defaulting
    webhook would have written)."""
    cls = (broker["metadata"].get("annotations") or {}).get(CLASS_ANNOTATION)
    return cls in (None, "", MT_CHANNEL_BASED)


def trigger_channel(broker: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    meta = broker["metadata"]
    return {
        "apiVersion": template.get("apiVersion") or "messaging.knative.dev/v1",
        "kind": template["kind"],
        "metadata": {
            "name": names.broker_channel_name(meta["name"]), "namespace": meta["namespace"],
            "labels": {BROKER_LABEL: meta["name"], BROKER_EVERYTHING_LABEL: "true"},
            "ownerReferences": [owner_reference(broker)],
        },
        "spec": dict(template.get("spec") or {}),
    }


class BrokerReconciler(KindReconciler):
    group, kind, controller = EVENTING, "Broker", "mt-broker-controller"
    conditions = CONDITIONS

    def reconcile_kind(self, scope: Scope, broker: dict[str, Any], status: dict[str, Any],
                       cm: ConditionManager) -> bool | None:
        if not is_mt_channel_based(broker):
            return False
        ns, name = broker["metadata"]["namespace"], broker["metadata"]["name"]
        config = (broker.get("spec") or {}).get("config")
        scope.track("", "ConfigMap", (config or {}).get("namespace") or SYSTEM_NAMESPACE,
                    (config or {}).get("name") or "config-br-default-channel")
        template = channel_template(self.ctx, config)
        if template is None:
            cm.mark_false("TriggerChannelReady", "ChannelTemplateFailed",
                          "Error on setting up the ChannelTemplate: no channel-template-spec in the broker's config")
            return None
        desired = trigger_channel(broker, template)
        rt = self.ctx.store.registry.by_kind(group_of(desired["apiVersion"]), desired["kind"])
        if rt is None:
            cm.mark_false("TriggerChannelReady", "ChannelTemplateFailed",
                          f"Error on setting up the ChannelTemplate: unknown channel kind {desired['kind']}")
            return None
        scope.track(rt.group, rt.kind, ns, desired["metadata"]["name"])
        child = ensure(self.ctx.store, rt, desired, broker, None, ("metadata.labels",))
        if child.not_owned:
            cm.mark_false("TriggerChannelReady", "ChannelFailure",
                          f'{rt.kind} "{desired["metadata"]["name"]}" is not owned by Broker "{name}"')
            return None
        channel_url = ((child.obj.get("status") or {}).get("address") or {}).get("url")
        annotations = {k: v for k, v in (status.get("annotations") or {}).items() if k not in _CHANNEL_ANNOTATIONS}
        if not channel_url:
            status["annotations"] = annotations
            cm.mark_false("TriggerChannelReady", "ChannelNotReady", "trigger Channel is not ready: not addressable")
            return None
        cm.mark_true("TriggerChannelReady")
        annotations.update({CHANNEL_ADDRESS: channel_url, CHANNEL_API_VERSION: child.obj["apiVersion"],
                            CHANNEL_KIND: child.obj["kind"], CHANNEL_NAME: child.obj["metadata"]["name"],
                            CHANNEL_NAMESPACE: ns})
        status["annotations"] = annotations
        # The ingress and the filter live in the daemon's own data plane: available whenever it runs.
        cm.mark_true("FilterReady")
        cm.mark_true("IngressReady")
        status["address"] = {"name": "http", "url": names.broker_address(ns, name)}
        cm.mark_true("Addressable")
        resolve_dead_letter_sink(scope, (broker.get("spec") or {}).get("delivery"), ns, status, cm)
        mark_event_policies(cm)
        return None

    def gone(self, key: ObjectKey) -> None:
        self.ctx.plane.set_broker(key.namespace, key.name, None)

    def reconciled(self, obj: dict[str, Any]) -> None:
        self.ctx.plane.set_broker(obj["metadata"]["namespace"], obj["metadata"]["name"], obj)
