"""Parallel → an ingress channel `<p>-kn-parallel`, per branch a channel `<p>-kn-parallel-<i>`, a filter
subscription `<p>-kn-parallel-filter-<i>` on the ingress channel (into the branch channel, through the
filter when there is one) and a subscriber subscription `<p>-kn-parallel-<i>` on the branch channel
replying to the branch's reply, else the parallel's."""

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

Wiring = list[tuple[dict[str, Any], dict[str, Any]]]


def parallel_subscriptions(par: dict[str, Any], template: dict[str, Any]) -> Wiring:
    """(filter subscription, subscriber subscription) per branch."""
    ns, name = par["metadata"]["namespace"], par["metadata"]["name"]
    spec = par.get("spec") or {}
    ingress = channel_ref(template, names.parallel_ingress_channel_name(name), ns)
    out = []
    for i, branch in enumerate(spec.get("branches") or []):
        branch_channel = {"ref": channel_ref(template, names.parallel_branch_channel_name(name, i), ns)}
        filter_ = destination(branch.get("filter"))
        if filter_:
            filter_sub = flow_subscription(par, names.parallel_filter_subscription_name(name, i), ingress, filter_,
                                           branch_channel, None)
        else:
            filter_sub = flow_subscription(par, names.parallel_filter_subscription_name(name, i), ingress,
                                           branch_channel, None, None)
        reply = destination(branch.get("reply")) or destination(spec.get("reply"))
        subscriber_sub = flow_subscription(par, names.parallel_subscription_name(name, i), branch_channel["ref"],
                                           destination(branch.get("subscriber")), reply, branch.get("delivery"))
        out.append((filter_sub, subscriber_sub))
    return out


class ParallelReconciler(KindReconciler):
    group, kind, controller = FLOWS, "Parallel", "parallel-controller"
    conditions = CONDITIONS

    def reconcile_kind(self, scope: Scope, par: dict[str, Any], status: dict[str, Any],
                       cm: ConditionManager) -> bool | None:
        name = par["metadata"]["name"]
        template = (par.get("spec") or {}).get("channelTemplate") or DEFAULT_TEMPLATE
        wiring = parallel_subscriptions(par, template)
        ingress = ensure_channel(self.ctx, scope, par, template, names.parallel_ingress_channel_name(name),
                                 self.recorder)
        ingress_status = ready_entry(ingress, "channel", "Channel", timeless=True)
        channel_entries, sub_entries, branches = [ingress_status], [], []
        for i, (filter_sub, subscriber_sub) in enumerate(wiring):
            channel = ensure_channel(self.ctx, scope, par, template, names.parallel_branch_channel_name(name, i),
                                     self.recorder)
            filtered = ensure_subscription(self.ctx, scope, par, filter_sub, self.recorder)
            subscribed = ensure_subscription(self.ctx, scope, par, subscriber_sub, self.recorder)
            entry = {
                "filterChannelStatus": ready_entry(channel, "channel", "Channel", timeless=True),
                "filterSubscriptionStatus": ready_entry(filtered, "subscription", "Subscription", timeless=True),
                "subscriberSubscriptionStatus": ready_entry(subscribed, "subscription", "Subscription",
                                                            timeless=True),
            }
            branches.append(entry)
            channel_entries.append(entry["filterChannelStatus"])
            sub_entries += [entry["filterSubscriptionStatus"], entry["subscriberSubscriptionStatus"]]
        status["ingressChannelStatus"] = ingress_status
        status["branchStatuses"] = branches
        mark_rollup(cm, channel_entries, sub_entries)
        mark_address(cm, status, ingress)
        mark_event_policies(cm)
        return None

    def finish_status(self, status: dict[str, Any]) -> None:
        # Parallel's CRD has no lastTransitionTime in its conditions: the apiserver would prune it.
        for cond in status.get("conditions") or []:
            cond.pop("lastTransitionTime", None)
