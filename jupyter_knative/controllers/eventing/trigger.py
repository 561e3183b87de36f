"""Trigger → a Subscription on its broker's trigger channel whose subscriber is the broker filter and whose
reply is the broker; the trigger's status from the broker, the subscriber, the dead letter sink, the
subscription and the `knative.dev/dependency` object (knative/eventing's mtchannel trigger reconciler)."""

from __future__ import annotations

import copy
import json
from typing import Any

from ...api.conditions import ConditionManager, ConditionSet
from ..runtime import ObjectKey
from . import names
from .base import OIDC_DISABLED, KindReconciler, propagate, resolve_dead_letter_sink
from .broker import (
    BROKER_LABEL,
    CHANNEL_API_VERSION,
    CHANNEL_KIND,
    CHANNEL_NAME,
    is_mt_channel_based,
)
from .children import condition_of, ensure, owner_reference
from .context import EVENTING, MESSAGING, Scope
from .resolver import ObjectNotFound, ResolveError

CONDITIONS = ConditionSet("Ready", ("BrokerReady", "SubscriptionReady", "DependencyReady", "SubscriberResolved",
                                    "DeadLetterSinkResolved", "OIDCIdentityCreated"))
DEPENDENCY_ANNOTATION = "knative.dev/dependency"
TRIGGER_LABEL = "eventing.knative.dev/trigger"
SUBSCRIBER_FAILED = "Unable to get the Subscriber's URI"


def subscription_for(trigger: dict[str, Any], broker: dict[str, Any], channel: dict[str, str]) -> dict[str, Any]:
    """The Subscription wiring a trigger to its broker's channel: subscriber the broker filter, reply the
    broker, delivery the trigger's or else (whole) the broker's."""
    meta = trigger["metadata"]
    ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
    broker_name = trigger["spec"]["broker"]
    delivery = (trigger.get("spec") or {}).get("delivery") or (broker.get("spec") or {}).get("delivery")
    spec: dict[str, Any] = {
        "channel": {"apiVersion": channel["apiVersion"], "kind": channel["kind"], "name": channel["name"]},
        "subscriber": {"uri": names.trigger_filter_url(ns, name, uid)},
        "reply": {"ref": {"apiVersion": broker["apiVersion"], "kind": "Broker", "name": broker_name,
                          "namespace": ns}},
    }
    if delivery:
        spec["delivery"] = copy.deepcopy(delivery)
    return {
        "apiVersion": f"{MESSAGING}/v1", "kind": "Subscription",
        "metadata": {"name": names.trigger_subscription_name(broker_name, name, uid), "namespace": ns,
                     "labels": {BROKER_LABEL: broker_name, TRIGGER_LABEL: name},
                     "ownerReferences": [owner_reference(trigger)]},
        "spec": spec,
    }


class TriggerReconciler(KindReconciler):
    group, kind, controller = EVENTING, "Trigger", "mt-broker-trigger-controller"
    conditions = CONDITIONS

    def reconcile_kind(self, scope: Scope, trigger: dict[str, Any], status: dict[str, Any],
                       cm: ConditionManager) -> bool | None:
        ns = trigger["metadata"]["namespace"]
        broker_name = str((trigger.get("spec") or {}).get("broker") or "")
        broker = scope.get(f"{EVENTING}/v1", "Broker", ns, broker_name)
        if broker is not None and not is_mt_channel_based(broker):
            return False
        cm.mark_true("OIDCIdentityCreated", OIDC_DISABLED)
        if broker is None:
            cm.mark_false("BrokerReady", "BrokerDoesNotExist", f'Broker "{broker_name}" does not exist')
            return None
        if broker["metadata"].get("deletionTimestamp"):
            return None
        propagate(cm, "BrokerReady", condition_of(broker), "BrokerNotConfigured", "Broker has not yet been reconciled.")
        self._dependency(scope, trigger, cm)
        if not self._subscriber(scope, trigger, status, cm):
            return None
        if not self._dead_letter_sink(scope, trigger, broker, status, cm):
            return None
        annotations = (broker.get("status") or {}).get("annotations") or {}
        if not annotations.get(CHANNEL_NAME):
            return None  # the broker has no channel yet; it enqueues us once it does
        channel = {"apiVersion": annotations.get(CHANNEL_API_VERSION, f"{MESSAGING}/v1"),
                   "kind": annotations.get(CHANNEL_KIND, "InMemoryChannel"), "name": annotations[CHANNEL_NAME]}
        self._subscription(scope, trigger, subscription_for(trigger, broker, channel), cm)
        return None

    def _subscriber(self, scope: Scope, trigger: dict[str, Any], status: dict[str, Any],
                    cm: ConditionManager) -> bool:
        try:
            uri = scope.resolve((trigger.get("spec") or {}).get("subscriber"), trigger["metadata"]["namespace"])
        except ResolveError as e:
            status.pop("subscriberUri", None)
            cm.mark_false("SubscriberResolved", SUBSCRIBER_FAILED, str(e))
            return False
        status["subscriberUri"] = uri
        cm.mark_true("SubscriberResolved")
        return True

    @staticmethod
    def _dead_letter_sink(scope: Scope, trigger: dict[str, Any], broker: dict[str, Any], status: dict[str, Any],
                          cm: ConditionManager) -> bool:
        delivery = (trigger.get("spec") or {}).get("delivery")
        if (delivery or {}).get("deadLetterSink"):
            return resolve_dead_letter_sink(scope, delivery, trigger["metadata"]["namespace"], status, cm)
        broker_dls = (broker.get("status") or {}).get("deadLetterSinkUri")
        if not broker_dls:
            return resolve_dead_letter_sink(scope, None, trigger["metadata"]["namespace"], status, cm)
        status["deadLetterSinkUri"] = broker_dls
        cm.mark_true("DeadLetterSinkResolved")
        return True

    def _subscription(self, scope: Scope, trigger: dict[str, Any], desired: dict[str, Any],
                      cm: ConditionManager) -> None:
        rt = self.ctx.type(MESSAGING, "Subscription")
        name = desired["metadata"]["name"]
        scope.track(MESSAGING, "Subscription", desired["metadata"]["namespace"], name)
        child = ensure(self.ctx.store, rt, desired, trigger, None, ("spec", "metadata.labels"))
        if child.not_owned:
            cm.mark_false("SubscriptionReady", "SubscriptionNotOwned",
                          f'Subscription "{name}" is not owned by this Trigger.')
            return
        propagate(cm, "SubscriptionReady", condition_of(child.obj), "SubscriptionNotConfigured",
                  "Subscription has not yet been reconciled.")

    @staticmethod
    def _dependency(scope: Scope, trigger: dict[str, Any], cm: ConditionManager) -> None:
        raw = (trigger["metadata"].get("annotations") or {}).get(DEPENDENCY_ANNOTATION)
        if not raw:
            cm.mark_true("DependencyReady")
            return
        try:
            ref = json.loads(raw)
            if not isinstance(ref, dict):
                raise ValueError(f"expected a JSON object, got {raw}")
        except ValueError as e:
            cm.mark_false("DependencyReady", "ReferenceError",
                          f"Unable to unmarshal objectReference from dependency annotation of trigger: {e}")
            return
        ns = ref.get("namespace") or trigger["metadata"]["namespace"]
        try:
            dep = scope.lookup(str(ref.get("apiVersion") or ""), str(ref.get("kind") or ""), ns,
                               str(ref.get("name") or ""))
        except ObjectNotFound as e:
            cm.mark_false("DependencyReady", "DependencyDoesNotExist", f"Dependency does not exist: {e}")
            return
        except ResolveError as e:
            cm.mark_unknown("DependencyReady", "ListerDoesNotExist", f"Failed to retrieve lister: {e}")
            return
        generation = dep["metadata"].get("generation")
        observed = (dep.get("status") or {}).get("observedGeneration")
        if generation is not None and generation != observed:
            cm.mark_unknown("DependencyReady", "GenerationNotEqual",
                            f"The dependency's metadata.generation, {generation}, is not equal to its "
                            f"status.observedGeneration, {observed or 0}.")
            return
        propagate(cm, "DependencyReady", condition_of(dep), "DependencyNotConfigured",
                  "Dependency has not yet been reconciled.")

    def gone(self, key: ObjectKey) -> None:
        self.ctx.plane.set_trigger(key.namespace, key.name, None)

    def reconciled(self, obj: dict[str, Any]) -> None:
        self.ctx.plane.set_trigger(obj["metadata"]["namespace"], obj["metadata"]["name"], obj)
