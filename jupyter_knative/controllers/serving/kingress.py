"""The networking layer: KIngress objects → the data plane's host routing table, and their status
(what net-kourier or net-istio do in a cluster)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ...api.conditions import ConditionSet
from ...dataplane.routing import HostRoute, RevisionKey, RouteTable, Target
from ..runtime import ObjectKey, Result
from .children import write_status
from .context import Context

CONDITIONS = ConditionSet("Ready", ("LoadBalancerReady", "NetworkConfigured"))
LOAD_BALANCER = {"ingress": [{"domainInternal": "jupyter-knative-ingress.knative-serving.svc.cluster.local"}]}


def host_routes(ingress: dict[str, Any]) -> dict[str, HostRoute]:
    out: dict[str, HostRoute] = {}
    for rule in (ingress.get("spec") or {}).get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            targets = tuple(Target(RevisionKey(s.get("serviceNamespace", ""), s.get("serviceName", "")),
                                   int(s.get("percent") or 0)) for s in path.get("splits") or [])
            visibility = "cluster-local" if rule.get("visibility") == "ClusterLocal" else "external"
            for host in rule.get("hosts") or []:
                out[host.lower()] = HostRoute(targets, visibility)
    return out


class IngressReconciler:
    def __init__(self, ctx: Context, publish: Callable[[RouteTable], None]) -> None:
        self.ctx = ctx
        self.publish = publish
        self._by_ingress: dict[ObjectKey, dict[str, HostRoute]] = {}

    async def reconcile(self, key: ObjectKey) -> Result | None:
        t = self.ctx.types
        ing = self.ctx.store.get(t.ingress, key.namespace, key.name)
        if ing is None or ing["metadata"].get("deletionTimestamp"):
            if self._by_ingress.pop(key, None) is not None:
                self._publish()
            return None
        routes = host_routes(ing)
        if self._by_ingress.get(key) != routes:
            self._by_ingress[key] = routes
            self._publish()
        status = copy.deepcopy(ing.get("status") or {})
        cm = CONDITIONS.manage(status, self.ctx.now())
        cm.initialize()
        cm.mark_true("LoadBalancerReady")
        cm.mark_true("NetworkConfigured")
        status["publicLoadBalancer"] = LOAD_BALANCER
        status["privateLoadBalancer"] = LOAD_BALANCER
        status["observedGeneration"] = ing["metadata"].get("generation", 1)
        write_status(self.ctx.store, t.ingress, ing, status)
        return None

    def _publish(self) -> None:
        merged: dict[str, HostRoute] = {}
        for routes in self._by_ingress.values():
            merged.update(routes)
        self.publish(RouteTable.build(merged))
