"""The shape every eventing reconciler shares (knative.dev/pkg's generated reconciler, reduced):

    get the object (gone -> `gone`, which tells the data plane)
    being deleted  -> `finalize`, then drop our finalizer
    otherwise      -> add our finalizer (if any), initialise the conditions, `reconcile_kind`,
                      write status with observedGeneration, then `reconciled` (hand it to the data plane)

`reconcile_kind` returns False when the object is not this controller's (another broker class): its status
is left alone, as Knative leaves it to the class's own controller.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from ...api.conditions import ConditionManager, ConditionSet
from ..runtime import ObjectKey, Result
from .children import add_finalizer, remove_finalizer, write_status
from .context import Context, Scope
from .resolver import ResolveError

OIDC_DISABLED = "authentication-oidc feature disabled"
EVENT_POLICIES_OIDC_DISABLED = ("OIDCDisabled",
                                'Feature "authentication-oidc" must be enabled to support Authorization')
DLS_NOT_CONFIGURED = ("DeadLetterSinkNotConfigured", "No dead letter sink is configured.")
DLS_FAILED = "Unable to get the dead letter sink's URI"


class KindReconciler:
    group: ClassVar[str]
    kind: ClassVar[str]
    controller: ClassVar[str]
    conditions: ClassVar[ConditionSet]
    finalizer: ClassVar[str | None] = None

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rt = ctx.type(self.group, self.kind)
        self.recorder = ctx.recorder(self.controller)

    async def reconcile(self, key: ObjectKey) -> Result | None:
        scope = self.ctx.scope(self.controller, key)
        obj = self.ctx.store.get(self.rt, key.namespace, key.name)
        if obj is None:
            self.gone(key)
            return None
        if obj["metadata"].get("deletionTimestamp"):
            self.finalize(scope, obj)
            if self.finalizer:
                remove_finalizer(self.ctx.store, self.rt, obj, self.finalizer)
            self.gone(key)
            return None
        if self.finalizer:
            obj = add_finalizer(self.ctx.store, self.rt, obj, self.finalizer)
        status = copy.deepcopy(obj.get("status") or {})
        cm = self.conditions.manage(status, self.ctx.now())
        cm.initialize()
        if self.reconcile_kind(scope, obj, status, cm) is False:
            self.gone(key)
            return None
        status["observedGeneration"] = obj["metadata"].get("generation", 1)
        self.finish_status(status)
        obj = write_status(self.ctx.store, self.rt, obj, status)
        self.reconciled(obj)
        return None

    def reconcile_kind(self, scope: Scope, obj: dict[str, Any], status: dict[str, Any],
                       cm: ConditionManager) -> bool | None:
        raise NotImplementedError

    def finish_status(self, status: dict[str, Any]) -> None:
        """A last touch to the status before it is written."""

    def finalize(self, scope: Scope, obj: dict[str, Any]) -> None:
        """Undo what the object did to others, before its finalizer goes."""

    def gone(self, key: ObjectKey) -> None:
        """The object is gone, being deleted, or not ours: tell the data plane."""

    def reconciled(self, obj: dict[str, Any]) -> None:
        """The object's status is written: tell the data plane."""


def mark_event_policies(cm: ConditionManager) -> None:
    cm.mark_true("EventPoliciesReady", *EVENT_POLICIES_OIDC_DISABLED)


def resolve_dead_letter_sink(scope: Scope, delivery: dict[str, Any] | None, namespace: str,
                             status: dict[str, Any], cm: ConditionManager) -> bool:
    """`status.deadLetterSinkUri` and the DeadLetterSinkResolved condition from `delivery.deadLetterSink`."""
    dls = (delivery or {}).get("deadLetterSink")
    for field in ("deadLetterSinkUri", "deadLetterSinkCACerts", "deadLetterSinkAudience"):
        status.pop(field, None)
    if not dls:
        cm.mark_true("DeadLetterSinkResolved", *DLS_NOT_CONFIGURED)
        return True
    try:
        status["deadLetterSinkUri"] = scope.resolve(dls, namespace)
    except ResolveError as e:
        cm.mark_false("DeadLetterSinkResolved", DLS_FAILED, str(e))
        return False
    if dls.get("CACerts"):
        status["deadLetterSinkCACerts"] = dls["CACerts"]
    if dls.get("audience"):
        status["deadLetterSinkAudience"] = dls["audience"]
    cm.mark_true("DeadLetterSinkResolved")
    return True


def propagate(cm: ConditionManager, type_: str, cond: dict[str, Any] | None, reason: str = "",
              message: str = "") -> None:
    """Copy a child's Ready condition as `type_` (Unknown with `reason`/`message` when it has none)."""
    if cond is None:
        cm.mark_unknown(type_, reason, message)
    else:
        cm.set_condition(cond, type_)
