"""What Sequence and Parallel share: channels from the channel template, subscriptions between them, and
the `{channel|subscription, ready}` status entries."""

from __future__ import annotations

import copy
from typing import Any

from ...api.conditions import ConditionManager, ConditionSet
from ..runtime import EventRecorder
from .children import Child, condition_of, ensure, owner_reference
from .context import MESSAGING, Context, Scope
from .tracker import group_of

CONDITIONS = ConditionSet("Ready", ("ChannelsReady", "SubscriptionsReady", "Addressable", "EventPoliciesReady"))
"""Sequence's and Parallel's conditions."""
DEFAULT_TEMPLATE = {"apiVersion": f"{MESSAGING}/v1", "kind": "InMemoryChannel"}


def reference(obj: dict[str, Any]) -> dict[str, str]:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "namespace": obj["metadata"]["namespace"]}


def channel_ref(template: dict[str, Any], name: str, namespace: str) -> dict[str, str]:
    return {"apiVersion": template.get("apiVersion") or DEFAULT_TEMPLATE["apiVersion"], "kind": template["kind"],
            "name": name, "namespace": namespace}


def flow_channel(owner: dict[str, Any], template: dict[str, Any], name: str) -> dict[str, Any]:
    return {"apiVersion": template.get("apiVersion") or DEFAULT_TEMPLATE["apiVersion"], "kind": template["kind"],
            "metadata": {"name": name, "namespace": owner["metadata"]["namespace"],
                         "ownerReferences": [owner_reference(owner)]},
            "spec": copy.deepcopy(template.get("spec") or {})}


def destination(step: dict[str, Any] | None) -> dict[str, Any] | None:
    """A Destination (ref, uri, CACerts, audience) out of a step or branch entry."""
    if not step:
        return None
    dest = {k: copy.deepcopy(step[k]) for k in ("ref", "uri", "CACerts", "audience") if step.get(k)}
    return dest or None


def flow_subscription(owner: dict[str, Any], name: str, channel: dict[str, str], subscriber: dict[str, Any] | None,
                      reply: dict[str, Any] | None, delivery: dict[str, Any] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"channel": {k: channel[k] for k in ("apiVersion", "kind", "name")}}
    if subscriber:
        spec["subscriber"] = subscriber
    if reply:
        spec["reply"] = reply
    if delivery:
        spec["delivery"] = copy.deepcopy(delivery)
    return {"apiVersion": f"{MESSAGING}/v1", "kind": "Subscription",
            "metadata": {"name": name, "namespace": owner["metadata"]["namespace"],
                         "ownerReferences": [owner_reference(owner)]},
            "spec": spec}


def ready_entry(child: Child | None, what: str, noun: str, *, timeless: bool = False) -> dict[str, Any]:
    """`{<what>: reference, ready: the child's Ready condition}` (Unknown `NoReady` when it has none)."""
    cond = condition_of(child.obj) if child is not None and not child.not_owned else None
    if cond is None:
        cond = {"type": "Ready", "status": "Unknown", "reason": "NoReady",
                "message": f"{noun} does not have Ready condition"}
    if timeless:
        cond.pop("lastTransitionTime", None)
    entry: dict[str, Any] = {"ready": cond}
    if child is not None:
        entry[what] = {"apiVersion": child.obj["apiVersion"], "kind": child.obj["kind"],
                       "name": child.obj["metadata"]["name"], "namespace": child.obj["metadata"]["namespace"]}
    return entry


def ensure_channel(ctx: Context, scope: Scope, owner: dict[str, Any], template: dict[str, Any],
                   name: str, recorder: EventRecorder) -> Child | None:
    desired = flow_channel(owner, template, name)
    rt = ctx.store.registry.by_kind(group_of(desired["apiVersion"]), desired["kind"])
    if rt is None:
        return None
    scope.track(rt.group, rt.kind, owner["metadata"]["namespace"], name)
    # Subscriptions own the channel's subscribers; nothing else of an existing channel is ours to change.
    return ensure(ctx.store, rt, desired, owner, recorder, ())


def ensure_subscription(ctx: Context, scope: Scope, owner: dict[str, Any], desired: dict[str, Any],
                        recorder: EventRecorder) -> Child:
    scope.track(MESSAGING, "Subscription", owner["metadata"]["namespace"], desired["metadata"]["name"])
    return ensure(ctx.store, ctx.type(MESSAGING, "Subscription"), desired, owner, recorder, ("spec",))


def all_ready(entries: list[dict[str, Any]]) -> bool:
    return bool(entries) and all(e["ready"].get("status") == "True" and not e.get("not_owned") for e in entries)


def mark_rollup(cm: ConditionManager, channels: list[dict[str, Any]], subscriptions: list[dict[str, Any]]) -> None:
    if all_ready(channels):
        cm.mark_true("ChannelsReady")
    else:
        cm.mark_unknown("ChannelsReady", "ChannelsNotReady", "Channels are not ready yet, or there are none")
    if all_ready(subscriptions):
        cm.mark_true("SubscriptionsReady")
    else:
        cm.mark_unknown("SubscriptionsReady", "SubscriptionsNotReady",
                        "Subscriptions are not ready yet, or there are none")


def mark_address(cm: ConditionManager, status: dict[str, Any], channel: Child | None) -> None:
    address = ((channel.obj.get("status") or {}).get("address") if channel is not None else None) or {}
    if address.get("url"):
        status["address"] = copy.deepcopy(address)
        cm.mark_true("Addressable")
    else:
        status.pop("address", None)
        cm.mark_unknown("Addressable", "emptyAddress", "addressable is nil")
