"""Subscription → an entry in its channel's `spec.subscribers[]` (subscriber, reply and dead letter sink
resolved to URIs), removed again by a finalizer when the subscription goes (knative/eventing's subscription
reconciler). The channel marks the entry ready in `status.subscribers[]`; that is ChannelReady."""

from __future__ import annotations

import copy
from typing import Any

from ...api.conditions import ConditionManager, ConditionSet
from .base import OIDC_DISABLED, KindReconciler
from .context import MESSAGING, Scope
from .resolver import ResolveError

CONDITIONS = ConditionSet("Ready", ("ReferencesResolved", "AddedToChannel", "ChannelReady", "OIDCIdentityCreated"))
FINALIZER = "subscriptions.messaging.knative.dev"
CHANNEL_KINDS = ("Channel", "InMemoryChannel")
# Fields of a channel's delivery that reach a subscriber without a delivery of its own.
_INHERITED = ("retry", "backoffPolicy", "backoffDelay", "timeout", "retryAfterMax")


def subscriber_delivery(sub_delivery: dict[str, Any] | None, dls_uri: str | None,
                        channel: dict[str, Any]) -> dict[str, Any] | None:
    """The delivery a channel entry carries: the subscription's, with its dead letter sink as a resolved URI;
    without one, the channel's retry settings and the channel's resolved dead letter sink."""
    if sub_delivery:
        delivery = copy.deepcopy(sub_delivery)
        if dls_uri:
            delivery["deadLetterSink"] = {"uri": dls_uri}
        return delivery
    channel_delivery = (channel.get("spec") or {}).get("delivery") or {}
    delivery = {k: copy.deepcopy(channel_delivery[k]) for k in _INHERITED if k in channel_delivery}
    channel_dls = (channel.get("status") or {}).get("deadLetterSinkUri")
    if channel_dls:
        delivery["deadLetterSink"] = {"uri": channel_dls}
    return delivery or None


def channel_entry(sub: dict[str, Any], physical: dict[str, Any], channel: dict[str, Any]) -> dict[str, Any]:
    meta = sub["metadata"]
    entry: dict[str, Any] = {"uid": meta["uid"], "generation": meta.get("generation", 1), "name": meta["name"]}
    if channel.get("kind") == "InMemoryChannel":
        entry["namespace"] = meta["namespace"]
    for field, key in (("subscriberUri", "subscriberUri"), ("replyUri", "replyUri")):
        if physical.get(key):
            entry[field] = physical[key]
    delivery = subscriber_delivery((sub.get("spec") or {}).get("delivery"), physical.get("deadLetterSinkUri"),
                                   channel)
    if delivery:
        entry["delivery"] = delivery
    return entry


def with_entry(subscribers: list[dict[str, Any]], entry: dict[str, Any] | None, uid: str) -> list[dict[str, Any]]:
    """The subscriber list with the entry of `uid` replaced (or added), or removed when `entry` is None."""
    out, placed = [], False
    for existing in subscribers:
        if existing.get("uid") != uid:
            out.append(existing)
        elif entry is not None and not placed:
            out.append(entry)
            placed = True
    if entry is not None and not placed:
        out.append(entry)
    return out


class SubscriptionReconciler(KindReconciler):
    group, kind, controller = MESSAGING, "Subscription", "subscription-controller"
    conditions = CONDITIONS
    finalizer = FINALIZER

    def _channel(self, scope: Scope, sub: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        """The channel the entry goes into: the referenced InMemoryChannel, or a Channel's backing channel
        (`status.channel`), as a Channel itself takes no subscribers."""
        ref = (sub.get("spec") or {}).get("channel") or {}
        kind = str(ref.get("kind") or "")
        ns = ref.get("namespace") or sub["metadata"]["namespace"]
        api_version, name = str(ref.get("apiVersion") or f"{MESSAGING}/v1"), str(ref.get("name") or "")
        if kind not in CHANNEL_KINDS:
            scope.get(api_version, kind, ns, name)
            return None, f"{kind} is not a channel kind this plane implements (Channel, InMemoryChannel)"
        channel = scope.get(api_version, kind, ns, name)
        if channel is None:
            resource = "channels" if kind == "Channel" else "inmemorychannels"
            return None, f'{resource}.{MESSAGING} "{name}" not found'
        if kind != "Channel":
            return channel, ""
        backing_ref = (channel.get("status") or {}).get("channel") or {}
        backing = scope.get(str(backing_ref.get("apiVersion") or ""), str(backing_ref.get("kind") or ""),
                            backing_ref.get("namespace") or ns, str(backing_ref.get("name") or "")) \
            if backing_ref.get("kind") == "InMemoryChannel" else None
        if backing is None:
            return None, f'Channel "{name}" has no backing channel yet'
        return backing, ""

    def reconcile_kind(self, scope: Scope, sub: dict[str, Any], status: dict[str, Any],
                       cm: ConditionManager) -> bool | None:
        cm.mark_true("OIDCIdentityCreated", OIDC_DISABLED)
        channel, error = self._channel(scope, sub)
        if channel is None:
            cm.mark_false("ReferencesResolved", "ChannelReferenceFailed",
                          f"Failed to get Spec.Channel or backing channel: {error}")
            return None
        physical = self._resolve(scope, sub, channel, cm)
        status["physicalSubscription"] = physical
        if physical is None:
            status.pop("physicalSubscription")
            return None
        cm.mark_true("ReferencesResolved")
        channel = self._sync(channel, channel_entry(sub, physical, channel), sub["metadata"]["uid"])
        cm.mark_true("AddedToChannel")
        self._channel_ready(sub, channel, cm)
        return None

    def _resolve(self, scope: Scope, sub: dict[str, Any], channel: dict[str, Any],
                 cm: ConditionManager) -> dict[str, Any] | None:
        spec, ns = sub.get("spec") or {}, sub["metadata"]["namespace"]
        physical: dict[str, Any] = {}
        steps = (("subscriber", spec.get("subscriber"), "subscriberUri", "SubscriberResolveFailed",
                  "Failed to resolve spec.subscriber"),
                 ("reply", spec.get("reply"), "replyUri", "ReplyResolveFailed", "Failed to resolve spec.reply"),
                 ("dls", (spec.get("delivery") or {}).get("deadLetterSink"), "deadLetterSinkUri",
                  "DeadLetterSinkResolveFailed", "Failed to resolve spec.delivery.deadLetterSink"))
        for _, dest, field, reason, message in steps:
            if not dest:
                continue
            try:
                physical[field] = scope.resolve(dest, ns)
            except ResolveError as e:
                self.recorder.warning(sub, reason, f"{message}: {e}")
                cm.mark_false("ReferencesResolved", reason, f"{message}: {e}")
                return None
        if not spec.get("delivery") and (channel.get("status") or {}).get("deadLetterSinkUri"):
            physical["deadLetterSinkUri"] = channel["status"]["deadLetterSinkUri"]
        return physical

    def _sync(self, channel: dict[str, Any], entry: dict[str, Any] | None, uid: str) -> dict[str, Any]:
        spec = channel.get("spec") or {}
        subscribers = with_entry(list(spec.get("subscribers") or []), entry, uid)
        if subscribers == (spec.get("subscribers") or []):
            return channel
        updated = copy.deepcopy(channel)
        if subscribers:
            updated.setdefault("spec", {})["subscribers"] = subscribers
        else:
            updated.setdefault("spec", {}).pop("subscribers", None)
        rt = self.ctx.type(MESSAGING, channel["kind"])
        return self.ctx.store.update(rt, updated)

    @staticmethod
    def _channel_ready(sub: dict[str, Any], channel: dict[str, Any], cm: ConditionManager) -> None:
        uid, generation = sub["metadata"]["uid"], sub["metadata"].get("generation", 1)
        name = channel["metadata"]["name"]
        for s in (channel.get("status") or {}).get("subscribers") or []:
            if s.get("uid") != uid:
                continue
            if s.get("ready") == "True" and int(s.get("observedGeneration") or 0) >= generation:
                cm.mark_true("ChannelReady")
            elif s.get("ready") == "False":
                cm.mark_false("ChannelReady", "SubscriptionNotMarkedReadyByChannel",
                              f"Subscription not marked by Channel as Ready: {s.get('message', '')}")
            else:
                cm.mark_unknown("ChannelReady", "SubscriptionNotMarkedReadyByChannel",
                                f'Subscription not marked by Channel as Ready: subscription "{sub["metadata"]["name"]}"'
                                f' not yet ready in channel "{name}"')
            return
        cm.mark_unknown("ChannelReady", "SubscriptionNotMarkedReadyByChannel",
                        f'Subscription not marked by Channel as Ready: subscription "{sub["metadata"]["name"]}" '
                        f'not present in channel "{name}" subscriber\'s list')

    def finalize(self, scope: Scope, sub: dict[str, Any]) -> None:
        channel, _ = self._channel(scope, sub)
        if channel is not None:
            self._sync(channel, None, sub["metadata"]["uid"])
