"""Configuration → one Revision per generation; latestCreated and latestReady (knative/serving's
configuration reconciler)."""

from __future__ import annotations

import copy
from typing import Any

from ...api.conditions import ConditionSet, ready_condition
from ...api.status import AlreadyExists, StatusError
from ..runtime import ObjectKey, Result
from . import resources
from .children import write_status
from .context import Context

CONDITIONS = ConditionSet("Ready", ())
COMPONENT = "configuration-controller"


def _generation(rev: dict[str, Any]) -> int:
    try:
        return int((rev["metadata"].get("labels") or {}).get(resources.CONFIGURATION_GENERATION_LABEL, "0"))
    except ValueError:
        return 0


class ConfigurationReconciler:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.recorder = ctx.recorder(COMPONENT)

    async def reconcile(self, key: ObjectKey) -> Result | None:
        t = self.ctx.types
        cfg = self.ctx.store.get(t.configuration, key.namespace, key.name)
        if cfg is None or cfg["metadata"].get("deletionTimestamp"):
            return None
        status = copy.deepcopy(cfg.get("status") or {})
        cm = CONDITIONS.manage(status, self.ctx.now())
        cm.initialize()
        self._reconcile(cfg, status, cm)
        status["observedGeneration"] = cfg["metadata"]["generation"]
        write_status(self.ctx.store, t.configuration, cfg, status)
        return None

    def _revisions(self, cfg: dict[str, Any]) -> list[dict[str, Any]]:
        return self.ctx.list_labelled(self.ctx.types.revision, cfg["metadata"]["namespace"],
                                      resources.CONFIGURATION_LABEL, cfg["metadata"]["name"])

    def _latest_created(self, cfg: dict[str, Any]) -> dict[str, Any] | None:
        generation = cfg["metadata"]["generation"]
        for rev in self._revisions(cfg):
            owned = any(r.get("uid") == cfg["metadata"]["uid"] for r in rev["metadata"].get("ownerReferences") or [])
            if owned and _generation(rev) == generation:
                return rev
        return None

    def _reconcile(self, cfg: dict[str, Any], status: dict[str, Any], cm: Any) -> None:
        rev = self._latest_created(cfg)
        if rev is None:
            desired = resources.revision(cfg)
            try:
                rev = self.ctx.store.create(self.ctx.types.revision, desired)
            except AlreadyExists as e:
                cm.mark_false("Ready", "RevisionFailed", f"Revision creation failed with message: {e.message}.")
                return
            except StatusError as e:
                cm.mark_false("Ready", "RevisionFailed", f"Revision creation failed with message: {e.message}.")
                self.recorder.event(cfg, "Warning", "CreationFailed", f"Failed to create Revision: {e.message}")
                return
            self.recorder.event(cfg, "Normal", "Created", f'Created Revision "{rev["metadata"]["name"]}"')
        name = rev["metadata"]["name"]
        status["latestCreatedRevisionName"] = name
        if status.get("latestReadyRevisionName") != name:
            cm.mark_unknown("Ready", "", "")
        cond = ready_condition(rev) or {}
        if cond.get("status") == "True" and not status.get("latestReadyRevisionName"):
            self.recorder.event(cfg, "Normal", "ConfigurationReady", "Configuration becomes ready")
        elif cond.get("status") == "False":
            before = copy.deepcopy(cm.get("Ready"))
            message = cond.get("message", "")
            cm.mark_false("Ready", "RevisionFailed", f'Revision "{name}" failed with message: {message}.')
            if before != cm.get("Ready"):
                self.recorder.event(cfg, "Warning", "LatestCreatedFailed",
                                    f'Latest created revision "{name}" has failed')
        self._find_latest_ready(cfg, status, cm)

    def _find_latest_ready(self, cfg: dict[str, Any], status: dict[str, Any], cm: Any) -> None:
        current = status.get("latestReadyRevisionName", "")
        revisions = {r["metadata"]["name"]: r for r in self._revisions(cfg)}
        if current and current not in revisions:
            cm.mark_false("Ready", "RevisionDeleted", f'Revision "{current}" was deleted.')
            status.pop("latestReadyRevisionName", None)
            current = ""
        floor = _generation(revisions[current]) if current else 0
        for rev in sorted(revisions.values(), key=_generation, reverse=True):
            if _generation(rev) < floor:
                break
            if (ready_condition(rev) or {}).get("status") == "True":
                new = rev["metadata"]["name"]
                status["latestReadyRevisionName"] = new
                if new == status.get("latestCreatedRevisionName"):
                    cm.mark_true("Ready")
                if new != current:
                    self.recorder.event(cfg, "Normal", "LatestReadyUpdate",
                                        f'LatestReadyRevisionName updated to "{new}"')
                return
