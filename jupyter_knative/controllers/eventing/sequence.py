"""Sequence → a channel and a subscription per step, `<seq>-kn-sequence-<i>`; step i replies into channel
i+1 and the last into `spec.reply`; the sequence's address is channel 0's."""

from __future__ import annotations

from typing import Any

from ...api.conditions import ConditionManager
from . import names
from .base import KindReconciler, mark_event_policies
from .context import FLOWS, Scope
from .flows import (
    CONDITIONS,
    DEFAULT_TEMPLATE,
    channel_ref,
    destination,
    ensure_channel,
    ensure_subscription,
    flow_subscription,
    mark_address,
    mark_rollup,
    ready_entry,
)


def sequence_subscriptions(seq: dict[str, Any], template: dict[str, Any]) -> list[dict[str, Any]]:
    ns, name = seq["metadata"]["namespace"], seq["metadata"]["name"]
    spec = seq.get("spec") or {}
    steps = spec.get("steps") or []
    subs = []
    for i, step in enumerate(steps):
        channel = channel_ref(template, names.sequence_channel_name(name, i), ns)
        if i + 1 < len(steps):
            reply: dict[str, Any] | None = {"ref": channel_ref(template, names.sequence_channel_name(name, i + 1), ns)}
        else:
            reply = destination(spec.get("reply"))
        subs.append(flow_subscription(seq, names.sequence_subscription_name(name, i), channel, destination(step),
                                      reply, step.get("delivery")))
    return subs


class SequenceReconciler(KindReconciler):
    group, kind, controller = FLOWS, "Sequence", "sequence-controller"
    conditions = CONDITIONS

    def reconcile_kind(self, scope: Scope, seq: dict[str, Any], status: dict[str, Any],
                       cm: ConditionManager) -> bool | None:
        name = seq["metadata"]["name"]
        template = (seq.get("spec") or {}).get("channelTemplate") or DEFAULT_TEMPLATE
        subscriptions = sequence_subscriptions(seq, template)
        channels = [ensure_channel(self.ctx, scope, seq, template, names.sequence_channel_name(name, i),
                                   self.recorder) for i in range(len(subscriptions))]
        subs = [ensure_subscription(self.ctx, scope, seq, s, self.recorder) for s in subscriptions]
        status["channelStatuses"] = [ready_entry(c, "channel", "Channel") for c in channels]
        status["subscriptionStatuses"] = [ready_entry(s, "subscription", "Subscription") for s in subs]
        mark_rollup(cm, status["channelStatuses"], status["subscriptionStatuses"])
        mark_address(cm, status, channels[0] if channels else None)
        mark_event_policies(cm)
        return None
