"""PodAutoscaler: the revision's scale until Knative's KPA decider drives it — initial scale within
min/max, and up from zero when a request arrives (the activator's poke). Status as the KPA writes it."""

from __future__ import annotations

import copy
from typing import Any

from ...api.conditions import ConditionSet
from ..runtime import ObjectKey, Result
from .children import write_status
from .context import Context

CONDITIONS = ConditionSet("Ready", ("Active", "ScaleTargetInitialized", "SKSReady"))
ANN = "autoscaling.knative.dev/"
_ALIASES = {"min-scale": "minScale", "max-scale": "maxScale", "initial-scale": "initialScale"}


def _int(annotations: dict[str, str], config: dict[str, str], key: str, default: int) -> int:
    for k in (ANN + key, ANN + _ALIASES.get(key, key)):
        if k in annotations:
            try:
                return int(annotations[k])
            except ValueError:
                break
    try:
        return int(config.get(key, default))
    except ValueError:
        return default


class PodAutoscalerReconciler:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._activating: set[ObjectKey] = set()

    def activate(self, key: ObjectKey) -> bool:
        """A request is waiting for this revision; True when that is news."""
        new = key not in self._activating
        self._activating.add(key)
        return new

    async def reconcile(self, key: ObjectKey) -> Result | None:
        t = self.ctx.types
        pa = self.ctx.store.get(t.podautoscaler, key.namespace, key.name)
        if pa is None or pa["metadata"].get("deletionTimestamp"):
            self._activating.discard(key)
            return None
        target = (pa.get("spec") or {}).get("scaleTargetRef") or {}
        deployment = self.ctx.store.get(t.deployment, key.namespace, target.get("name", ""))
        status = copy.deepcopy(pa.get("status") or {})
        cm = CONDITIONS.manage(status, self.ctx.now())
        cm.initialize()
        if deployment is None:
            cm.mark_unknown("ScaleTargetInitialized", "Deploying", "")
        else:
            self._scale(key, pa, deployment, status, cm)
        status["observedGeneration"] = pa["metadata"].get("generation", 1)
        write_status(self.ctx.store, t.podautoscaler, pa, status)
        return None

    def _bounds(self, pa: dict[str, Any]) -> tuple[int, int, int]:
        ann = pa["metadata"].get("annotations") or {}
        config = self.ctx.config.autoscaler
        minimum, maximum = _int(ann, config, "min-scale", 0), _int(ann, config, "max-scale", 0)
        initial = _int(ann, config, "initial-scale", 1)
        if initial == 0 and config.get("allow-zero-initial-scale", "false").lower() != "true":
            initial = 1
        if (pa.get("spec") or {}).get("reachability") == "Unreachable":
            minimum = 0
        return minimum, maximum, initial

    def _scale(self, key: ObjectKey, pa: dict[str, Any], deployment: dict[str, Any], status: dict[str, Any],
               cm: Any) -> None:
        minimum, maximum, initial = self._bounds(pa)
        current = int((deployment.get("spec") or {}).get("replicas") or 0)
        ready = int((deployment.get("status") or {}).get("readyReplicas") or 0)
        initialized = cm.is_true("ScaleTargetInitialized")
        want = max(initial, minimum) if not initialized else max(current, minimum)
        if key in self._activating and want == 0:
            want = max(1, minimum)
        if maximum > 0:
            want = min(want, maximum)
        if ready > 0:
            self._activating.discard(key)
        if want != current:
            scaled = copy.deepcopy(deployment)
            scaled["spec"]["replicas"] = want
            self.ctx.store.update(self.ctx.types.deployment, scaled)
        status.update({"desiredScale": want, "actualScale": ready, "serviceName": key.name,
                       "metricsServiceName": f"{key.name}-private"})
        if not initialized and ready >= initial:
            cm.mark_true("ScaleTargetInitialized")
            initialized = True
        elif not initialized:
            cm.mark_unknown("ScaleTargetInitialized", "Queued", "Requests to the target are being buffered as "
                                                                "resources are provisioned.")
        cm.mark_true("SKSReady")
        min_ready = max(minimum, 1) if initialized else max(minimum, initial)
        if want == 0:
            cm.mark_false("Active", "NoTraffic", "The target is not receiving traffic.")
        elif ready < min_ready:
            cm.mark_unknown("Active", "Queued", "Requests to the target are being buffered as resources are "
                                                "provisioned.")
        else:
            cm.mark_true("Active")
