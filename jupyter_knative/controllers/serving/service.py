"""Service → Configuration + Route, and the Service's status from theirs (knative/serving's service
reconciler)."""

from __future__ import annotations

import copy
from typing import Any

from ...api.conditions import ConditionSet, ready_condition
from ..runtime import ObjectKey, Result
from . import resources
from .children import ensure, write_status
from .context import Context

CONDITIONS = ConditionSet("Ready", ("ConfigurationsReady", "RoutesReady"))
COMPONENT = "service-controller"


class ServiceReconciler:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.recorder = ctx.recorder(COMPONENT)

    async def reconcile(self, key: ObjectKey) -> Result | None:
        t = self.ctx.types
        svc = self.ctx.store.get(t.service, key.namespace, key.name)
        if svc is None or svc["metadata"].get("deletionTimestamp"):
            return None
        status = copy.deepcopy(svc.get("status") or {})
        cm = CONDITIONS.manage(status, self.ctx.now())
        cm.initialize()
        self._reconcile(svc, status, cm)
        status["observedGeneration"] = svc["metadata"].get("generation", 1)
        write_status(self.ctx.store, t.service, svc, status)
        return None

    def _reconcile(self, svc: dict[str, Any], status: dict[str, Any], cm: Any) -> None:
        t = self.ctx.types
        config = ensure(self.ctx.store, t.configuration, resources.configuration(
            svc, self.ctx.store.get(t.configuration, svc["metadata"]["namespace"], svc["metadata"]["name"])),
            svc, self.recorder)
        assert config.obj is not None
        if config.not_owned:
            cm.mark_false("ConfigurationsReady", "NotOwned",
                          f'There is an existing Configuration "{svc["metadata"]["name"]}" that we do not own.')
            return
        cfg = config.obj
        byo = bool(((cfg["spec"].get("template") or {}).get("metadata") or {}).get("name"))
        if cfg["metadata"].get("generation") != (cfg.get("status") or {}).get("observedGeneration"):
            cm.mark_unknown("ConfigurationsReady", "OutOfDate",
                            "The Configuration is still working to reflect the latest desired specification.")
            if byo:
                return
        else:
            self._propagate(status, cm, cfg, "ConfigurationsReady",
                            ("latestCreatedRevisionName", "latestReadyRevisionName"))
        if byo and self._name_taken(cfg):
            name = cfg["spec"]["template"]["metadata"]["name"]
            cm.mark_false("RoutesReady", "RevisionNameTaken", f'The revision name "{name}" is taken by a '
                                                              "conflicting Revision, so traffic will not be migrated")
            return
        route = ensure(self.ctx.store, t.route, resources.route(svc), svc, self.recorder)
        assert route.obj is not None
        if route.not_owned:
            cm.mark_false("RoutesReady", "NotOwned",
                          f'There is an existing Route "{svc["metadata"]["name"]}" that we do not own.')
            return
        rt = route.obj
        if rt["metadata"].get("generation") != (rt.get("status") or {}).get("observedGeneration"):
            cm.mark_unknown("RoutesReady", "OutOfDate",
                            "The Route is still working to reflect the latest desired specification.")
        else:
            self._propagate(status, cm, rt, "RoutesReady", ("url", "address", "traffic"))
            self._check_routes_not_ready(cfg, rt, cm)

    @staticmethod
    def _propagate(status: dict[str, Any], cm: Any, child: dict[str, Any], condition: str,
                   fields: tuple[str, ...]) -> None:
        child_status = child.get("status") or {}
        for f in fields:
            if f in child_status:
                status[f] = copy.deepcopy(child_status[f])
            else:
                status.pop(f, None)
        ready = ready_condition(child)
        if ready is None:
            cm.mark_unknown(condition, "", "")
        else:
            cm.set_condition(ready, condition)

    def _name_taken(self, cfg: dict[str, Any]) -> bool:
        name = cfg["spec"]["template"]["metadata"]["name"]
        rev = self.ctx.store.get(self.ctx.types.revision, cfg["metadata"]["namespace"], name)
        if rev is None:
            return False
        owned = any(r.get("uid") == cfg["metadata"]["uid"] for r in rev["metadata"].get("ownerReferences") or [])
        same_generation = (rev["metadata"].get("labels") or {}).get(resources.CONFIGURATION_GENERATION_LABEL) == \
            str(cfg["metadata"].get("generation"))
        return not (owned and same_generation)

    @staticmethod
    def _check_routes_not_ready(cfg: dict[str, Any], route: dict[str, Any], cm: Any) -> None:
        if not cm.is_true("RoutesReady"):
            return
        want = [dict(e) for e in (route.get("spec") or {}).get("traffic") or []]
        got = (route.get("status") or {}).get("traffic") or []
        latest_ready = (cfg.get("status") or {}).get("latestReadyRevisionName", "")
        for entry in want:
            if entry.get("configurationName") == cfg["metadata"]["name"]:
                entry["revisionName"] = latest_ready
                entry.pop("configurationName", None)

        def comparable(e: dict[str, Any]) -> tuple[Any, ...]:
            return (e.get("tag", ""), e.get("revisionName", ""), int(e.get("percent") or 0))
        if len(want) != len(got) or [comparable(e) for e in want] != [comparable(e) for e in got]:
            cm.mark_unknown("RoutesReady", "TrafficNotMigrated", "Traffic is not yet migrated to the latest revision.")
