"""EventType → Ready when the object in `spec.reference` exists (kept light: no broker auto-creation)."""

from __future__ import annotations

from typing import Any

from ...api.conditions import ConditionManager, ConditionSet
from .base import KindReconciler
from .context import EVENTING, Scope
from .resolver import ObjectNotFound, ResolveError

CONDITIONS = ConditionSet("Ready", ("ReferenceExists",))


class EventTypeReconciler(KindReconciler):
    group, kind, controller = EVENTING, "EventType", "eventtype-controller"
    conditions = CONDITIONS

    def reconcile_kind(self, scope: Scope, et: dict[str, Any], status: dict[str, Any],
                       cm: ConditionManager) -> bool | None:
        ref = (et.get("spec") or {}).get("reference")
        if not ref:
            cm.mark_true("ReferenceExists", "ResourceNotSet", "Resource in spec.reference not set")
            return None
        ns = ref.get("namespace") or et["metadata"]["namespace"]
        try:
            scope.lookup(str(ref.get("apiVersion") or ""), str(ref.get("kind") or ""), ns, str(ref.get("name") or ""))
        except ObjectNotFound:
            cm.mark_false("ReferenceExists", "ResourceDoesNotExist", "Resource in spec.reference does not exist")
            return None
        except ResolveError as e:
            cm.mark_unknown("ReferenceExists", "ResourceGetFailed", f"Failed to get resource in spec.reference: {e}")
            return None
        cm.mark_true("ReferenceExists")
        return None
