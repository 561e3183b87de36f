"""Namespace lifecycle: empty a terminating namespace, then release it (kube-controller-manager's
namespace controller).

For a namespace with a `deletionTimestamp`, each pass:

1. makes sure `status.phase` is `Terminating`;
2. deletes every object of every namespaced type in it (background propagation: the garbage collector
   takes care of dependents elsewhere);
3. counts what is left (objects held by finalizers) and writes the deletion conditions to the status;
4. while something is left, asks to be called again shortly; once nothing is, removes the `kubernetes`
   finalizer from `spec.finalizers` through the `finalize` subresource, and the store deletes the
   namespace when no finalizer remains.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ...api.namespaces import FINALIZER
from ...api.printing import format_timestamp
from ...api.status import NotFound, StatusError
from ..runtime import Clock, ObjectKey, Result
from .conditions import ContentTotals, failing_conditions, group_resource, update_conditions

if TYPE_CHECKING:
    from ...api.registry import ResourceType
    from ...store import Store

log = logging.getLogger(__name__)

NAMESPACES = "core/namespaces"
TERMINATING = "Terminating"


class NamespaceReconciler:
    def __init__(self, store: Store, clock: Clock, *, requeue_after: float = 0.25) -> None:
        self.store = store
        self.clock = clock
        self.requeue_after = requeue_after

    @property
    def rt(self) -> ResourceType:
        rt = self.store.registry.by_key(NAMESPACES)
        if rt is None:
            raise LookupError("no Namespace type registered")
        return rt

    async def reconcile(self, key: ObjectKey) -> Result | None:
        ns = self.store.get(self.rt, "", key.name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return None
        ns = self._ensure_terminating(ns)
        if not _spec_finalizers(ns):
            return None  # finalized; the store removes it once metadata.finalizers are gone too
        totals = self.delete_content(key.name)
        self._write_conditions(ns, totals)
        if not totals.done:
            return Result(requeue_after=self.requeue_after)
        self._finalize(key.name)
        return None

    def deletable_types(self) -> list[ResourceType]:
        return [rt for rt in self.store.registry
                if rt.namespaced and "delete" in rt.verbs and "list" in rt.verbs]

    def delete_content(self, namespace: str) -> ContentTotals:
        """Delete everything in the namespace; report what remains and why."""
        totals = ContentTotals()
        for rt in self.deletable_types():
            error = self._delete_all(rt, namespace)
            if error:
                totals.errors.append(error)
            entries, _ = self.store.entries(rt, namespace)
            if not entries:
                continue
            totals.remaining[group_resource(rt.plural, rt.group)] = len(entries)
            for entry in entries:
                for finalizer in entry.obj["metadata"].get("finalizers") or []:
                    totals.finalizers[finalizer] = totals.finalizers.get(finalizer, 0) + 1
            if not any(e.obj["metadata"].get("finalizers") for e in entries) and not error:
                totals.errors.append(f"unexpected items still remain in namespace: {namespace} for gvr: "
                                     f"{_gvr(rt)}")
        return totals

    def _delete_all(self, rt: ResourceType, namespace: str) -> str | None:
        entries, _ = self.store.entries(rt, namespace)
        names = [e.obj["metadata"]["name"] for e in entries if not e.obj["metadata"].get("deletionTimestamp")]
        for name in names:
            try:
                self.store.delete(rt, namespace, name, propagation="Background")
            except NotFound:
                continue
            except StatusError as e:
                log.info("namespace %s: deleting %s %s failed: %s", namespace, rt.key, name, e.message)
                return e.message
        return None

    def _ensure_terminating(self, ns: dict[str, Any]) -> dict[str, Any]:
        status = ns.get("status") or {}
        if status.get("phase") == TERMINATING:
            return ns
        ns["status"] = {**status, "phase": TERMINATING}
        return self.store.update(self.rt, ns, subresource="status")

    def _write_conditions(self, ns: dict[str, Any], totals: ContentTotals) -> None:
        status = dict(ns.get("status") or {})
        now = format_timestamp(self.clock.now())
        conditions, changed = update_conditions(list(status.get("conditions") or []),
                                                failing_conditions(totals), now)
        if not changed:
            return
        status["conditions"] = conditions
        ns["status"] = status
        self.store.update(self.rt, ns, subresource="status")

    def _finalize(self, name: str) -> None:
        ns = self.store.get(self.rt, "", name)
        if ns is None:
            return
        finalizers = sorted({f for f in _spec_finalizers(ns) if f != FINALIZER})
        ns.setdefault("spec", {})["finalizers"] = finalizers
        try:
            self.store.update(self.rt, ns, subresource="finalize")
        except NotFound:
            return


def _spec_finalizers(ns: dict[str, Any]) -> list[str]:
    return list((ns.get("spec") or {}).get("finalizers") or [])


def _gvr(rt: ResourceType) -> str:
    # schema.GroupVersionResource's String(): `group/version, Resource=plural`
    return f"{rt.group}/{rt.preferred.name}, Resource={rt.plural}"
