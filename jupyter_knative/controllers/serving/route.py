"""Route → traffic resolved to revisions, its URLs, the KIngress programming the data plane, and the
revisions' routing state (knative/serving's route reconciler and labeler)."""

from __future__ import annotations

import copy
from typing import Any

from ...api.conditions import ConditionSet, ready_condition
from ...api.printing import format_timestamp
from ..runtime import ObjectKey, Result
from . import resources, traffic
from .children import ensure, write_status
from .context import Context

CONDITIONS = ConditionSet("Ready", ("AllTrafficAssigned", "IngressReady", "CertificateProvisioned"))
COMPONENT = "route-controller"
TLS_NOT_ENABLED = "external-domain-tls is not enabled"


class RouteReconciler:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.recorder = ctx.recorder(COMPONENT)

    async def reconcile(self, key: ObjectKey) -> Result | None:
        t = self.ctx.types
        route = self.ctx.store.get(t.route, key.namespace, key.name)
        if route is None or route["metadata"].get("deletionTimestamp"):
            return None
        status = copy.deepcopy(route.get("status") or {})
        cm = CONDITIONS.manage(status, self.ctx.now())
        cm.initialize()
        self._reconcile(route, status, cm)
        status["observedGeneration"] = route["metadata"].get("generation", 1)
        write_status(self.ctx.store, t.route, route, status)
        return None

    def hosts(self, route: dict[str, Any]) -> traffic.RouteHosts:
        meta = route["metadata"]
        cfg = self.ctx.config
        return traffic.RouteHosts(meta["name"], meta["namespace"], cfg.domain_for(meta.get("labels") or {}), cfg)

    def _inputs(self, route: dict[str, Any]) -> tuple[dict[str, traffic.ConfigInfo], dict[str, traffic.RevisionInfo]]:
        t, ns = self.ctx.types, route["metadata"]["namespace"]
        configs, revisions = {}, {}
        for entry in (route.get("spec") or {}).get("traffic") or []:
            if entry.get("configurationName"):
                cfg = self.ctx.store.get(t.configuration, ns, entry["configurationName"])
                if cfg is not None:
                    st = cfg.get("status") or {}
                    configs[cfg["metadata"]["name"]] = traffic.ConfigInfo(
                        cfg["metadata"]["name"], st.get("latestReadyRevisionName", ""),
                        (ready_condition(cfg) or {}).get("status") == "False")
            if entry.get("revisionName"):
                rev = self.ctx.store.get(t.revision, ns, entry["revisionName"])
                if rev is not None:
                    cond = ready_condition(rev) or {}
                    revisions[rev["metadata"]["name"]] = traffic.RevisionInfo(
                        rev["metadata"]["name"], cond.get("status") == "True", cond.get("status") == "False",
                        (rev["metadata"].get("labels") or {}).get(resources.SERVICE_LABEL, ""))
        return configs, revisions

    def _reconcile(self, route: dict[str, Any], status: dict[str, Any], cm: Any) -> None:
        owner = (route["metadata"].get("labels") or {}).get(resources.SERVICE_LABEL, "")
        owned_by_service = any(r.get("kind") == "Service" and r.get("controller")
                               for r in route["metadata"].get("ownerReferences") or [])
        configs, revisions = self._inputs(route)
        resolved, error = traffic.resolve((route.get("spec") or {}).get("traffic") or [], configs, revisions,
                                          owner if owned_by_service else "")
        if error is not None:
            if error.status == "False":
                cm.mark_false("AllTrafficAssigned", error.reason, error.message)
            else:
                cm.mark_unknown("AllTrafficAssigned", error.reason, error.message)
            return
        hosts = self.hosts(route)
        ns, name = route["metadata"]["namespace"], route["metadata"]["name"]
        status["address"] = {"url": f"http://{name}.{ns}.svc.cluster.local"}
        status["url"] = hosts.url()
        status["traffic"] = traffic.status_traffic(resolved, hosts)
        cm.mark_true("AllTrafficAssigned")
        cm.mark_true("CertificateProvisioned", "TLSNotEnabled", TLS_NOT_ENABLED)
        tags = traffic.tag_targets(resolved)
        external = {} if hosts.cluster_local else {tag: hosts.host(tag) for tag in ["", *tags]}
        local = {tag: hosts.local_hosts(tag) for tag in ["", *tags]}
        desired = resources.ingress(route, external, local, traffic.splits(resolved), tags,
                                    self.ctx.config.ingress_class)
        child = ensure(self.ctx.store, self.ctx.types.ingress, desired, route, self.recorder)
        if child.not_owned or child.obj is None:
            cm.mark_false("IngressReady", "NotOwned", f'There is an existing Ingress "{name}" that we do not own.')
            return
        ing = child.obj
        if ing["metadata"].get("generation") != (ing.get("status") or {}).get("observedGeneration"):
            cm.mark_unknown("IngressReady", "IngressNotConfigured", "Ingress has not yet been reconciled.")
        else:
            cond = ready_condition(ing)
            if cond is None:
                cm.mark_unknown("IngressReady", "IngressNotConfigured", "Ingress has not yet been reconciled.")
            else:
                cm.set_condition(cond, "IngressReady")
        self._label_revisions(route, {t.revision for t in resolved})

    def _label_revisions(self, route: dict[str, Any], routed: set[str]) -> None:
        """routingState `active` for revisions this route sends traffic to, `reserve` for ones it no
        longer does (unless another route still routes to them)."""
        t, ns, name = self.ctx.types, route["metadata"]["namespace"], route["metadata"]["name"]
        entries, _ = self.ctx.store.entries(t.revision, ns, lambda o: name in _routes(o) or
                                            o["metadata"]["name"] in routed)
        for entry in entries:
            rev = entry.obj
            routes = set(_routes(rev))
            if rev["metadata"]["name"] in routed:
                routes.add(name)
            else:
                routes.discard(name)
            state = "active" if routes else "reserve"
            labels = rev["metadata"].get("labels") or {}
            if labels.get(resources.ROUTING_STATE_LABEL) == state and set(_routes(rev)) == routes:
                continue
            updated = copy.deepcopy(rev)
            updated["metadata"].setdefault("labels", {})[resources.ROUTING_STATE_LABEL] = state
            annotations = updated["metadata"].setdefault("annotations", {})
            if routes:
                annotations[resources.ROUTES_ANNOTATION] = ",".join(sorted(routes))
            else:
                annotations.pop(resources.ROUTES_ANNOTATION, None)
            annotations[resources.ROUTING_STATE_MODIFIED] = format_timestamp(self.ctx.now())
            self.ctx.store.update(t.revision, updated)


def _routes(rev: dict[str, Any]) -> list[str]:
    value = (rev["metadata"].get("annotations") or {}).get(resources.ROUTES_ANNOTATION, "")
    return [r for r in value.split(",") if r]
