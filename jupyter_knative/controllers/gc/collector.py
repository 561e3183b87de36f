"""The garbage collector: owner references and cascading deletion, as kube-controller-manager does it.

It follows every change in the store (one watch over all types) and queues object uids:

- attempt to delete (`attemptToDeleteItem`): an object whose owners are all absent is deleted in the
  background (or with the orphan / foreground policy its own finalizers ask for); if some owners remain,
  references to absent owners (and to owners deleting in the foreground) are removed instead; an object
  being deleted in the foreground (`foregroundDeletion` finalizer) has its dependents deleted (those
  with dependents of their own in the foreground, recursively), and the finalizer is removed once no
  dependent with `blockOwnerDeletion: true` remains;
- attempt to orphan: an object being deleted with the `orphan` finalizer has its reference removed from
  every dependent, then the finalizer removed.

The store's indexes stand in for the dependency graph: `dependents(uid)` for an owner's dependents and
`find_uid(uid)` for an owner's existence. Every decision re-reads the current objects.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from ...api.status import Gone, NotFound
from ..runtime import Clock, Controller, Manager
from .references import (
    FOREGROUND,
    ORPHAN,
    Obj,
    api_group,
    being_deleted,
    blocking_owner_uids,
    deleting_dependents,
    finalizers,
    orphaning,
    owner_refs,
    uid_of,
    unblocked,
    without_owners,
)

if TYPE_CHECKING:
    from ...api.registry import ResourceType
    from ...store import Store

log = logging.getLogger(__name__)

DELETE_QUEUE = "garbagecollector-attempt-to-delete"
ORPHAN_QUEUE = "garbagecollector-attempt-to-orphan"
GRAPH = "garbagecollector-graph-builder"

# How an owner reference resolves.
ABSENT, PRESENT, UNRESOLVABLE, INVALID = "absent", "present", "unresolvable", "invalid"

_IDLE_BACKOFF = 0.5
_IDLE_BACKOFF_MAX = 30.0


class GarbageCollector:
    def __init__(self, store: Store, clock: Clock, *, workers: int = 1) -> None:
        self.store = store
        self.clock = clock
        self.attempt_to_delete: Controller[str] = Controller(DELETE_QUEUE, self.attempt_to_delete_item,
                                                             workers=workers, clock=clock)
        self.attempt_to_orphan: Controller[str] = Controller(ORPHAN_QUEUE, self.attempt_to_orphan_item,
                                                             workers=workers, clock=clock)
        self._owners: dict[str, list[dict[str, Any]]] = {}  # uid -> its ownerReferences as last seen
        self.resyncs = 0

    def register(self, manager: Manager) -> None:
        manager.add(self.attempt_to_delete)
        manager.add(self.attempt_to_orphan)
        manager.add_runnable(GRAPH, self.run)

    # --- following the store ----------------------------------------------------------------------

    async def run(self) -> None:
        """List everything, then follow the store's changes; list again when the watch is too old."""
        rv: int | None = None
        idle = 0
        while True:
            if rv is None:
                rv = self.resync()
            try:
                watch = self.store.watch(None, since=rv)
            except Gone:
                rv = None
                continue
            delivered = False
            try:
                while True:
                    await watch.wait()
                    for event in watch.drain():
                        self.observe(event.type, event.obj)
                        rv = max(rv, event.rv)
                        delivered = True
                    if watch.closed:
                        break
            finally:
                watch.close()
            idle = 0 if delivered else idle + 1
            if idle > 1:
                await self.clock.sleep(min(_IDLE_BACKOFF * 2 ** (idle - 2), _IDLE_BACKOFF_MAX))

    def resync(self) -> int:
        """Look at every object as if just added; objects that vanished unseen count as deleted."""
        self.resyncs += 1
        rv = self.store.resource_version
        present: set[str] = set()
        for rt in self.store.registry:
            entries, _ = self.store.entries(rt)
            for entry in entries:
                present.add(uid_of(entry.obj))
                self.observe("ADDED", entry.obj, recheck=True)
        for uid in [u for u in self._owners if u not in present]:
            self._observe_deleted(uid, self._owners.pop(uid))
        return rv

    def observe(self, type_: str, obj: Obj, *, recheck: bool = False) -> None:
        """Queue what a change to `obj` may have made collectable. A dependent is looked at when its
        owner references change (or, with `recheck`, whatever changed), and when an owner goes."""
        uid = uid_of(obj)
        old_refs = self._owners.get(uid, [])
        refs = owner_refs(obj)
        if type_ == "DELETED":
            self._owners.pop(uid, None)
            self._observe_deleted(uid, old_refs + refs)
            return
        if refs:
            self._owners[uid] = refs
            if recheck or refs != old_refs:
                self.attempt_to_delete.enqueue(uid)
        else:
            self._owners.pop(uid, None)
        was_blocking = {str(r.get("uid")) for r in old_refs if r.get("blockOwnerDeletion")}
        released = was_blocking - blocking_owner_uids(obj)
        self._enqueue_waiting_owners(released)
        if deleting_dependents(obj):
            self.attempt_to_delete.enqueue(uid)
            for dep in self._dependents(uid):
                self.attempt_to_delete.enqueue(uid_of(dep[1]))
        if orphaning(obj):
            self.attempt_to_orphan.enqueue(uid)

    def _observe_deleted(self, uid: str, refs: list[dict[str, Any]]) -> None:
        for _, dep in self._dependents(uid):
            self.attempt_to_delete.enqueue(uid_of(dep))
        self._enqueue_waiting_owners({str(r.get("uid")) for r in refs})

    def _enqueue_waiting_owners(self, uids: set[str]) -> None:
        """Owners deleting in the foreground may be able to finish now."""
        for owner_uid in uids:
            found = self._lookup(owner_uid)
            if found is not None and deleting_dependents(found[1]):
                self.attempt_to_delete.enqueue(owner_uid)

    # --- attempt to delete ------------------------------------------------------------------------

    async def attempt_to_delete_item(self, uid: str) -> None:
        found = self._lookup(uid)
        if found is None:
            return
        rt, item = found
        if being_deleted(item) and not deleting_dependents(item):
            return  # a one-way trip: its dependents are looked at once it is gone
        if deleting_dependents(item):
            self._process_deleting_dependents(rt, item)
            return
        refs = owner_refs(item)
        if not refs:
            return
        classified = self._classify(item, refs)
        if classified is None:
            return
        solid, dangling, waiting = classified
        if solid:
            if dangling or waiting:
                gone = {str(r.get("uid")) for r in dangling + waiting}
                log.info("gc: removing references to %s from %s", sorted(gone), _describe(rt, item))
                self._set_owner_refs(rt, item, without_owners(item, gone))
            return
        if waiting and self._dependents(uid):
            if any(deleting_dependents(dep) for _, dep in self._dependents(uid)):
                # an owner and a dependent both wait on each other: let the owner go first
                item = self._set_owner_refs(rt, item, unblocked(item))
            self._delete(rt, item, "Foreground")
            return
        policy = "Orphan" if ORPHAN in finalizers(item) else \
            "Foreground" if FOREGROUND in finalizers(item) else "Background"
        self._delete(rt, item, policy)

    def _process_deleting_dependents(self, rt: ResourceType, item: Obj) -> None:
        uid = uid_of(item)
        blocking = [dep for _, dep in self._dependents(uid) if uid in blocking_owner_uids(dep)]
        if not blocking:
            log.info("gc: %s has no blocking dependents left; removing %s", _describe(rt, item), FOREGROUND)
            self._remove_finalizer(rt, item, FOREGROUND)
            return
        for dep in blocking:
            if not deleting_dependents(dep):
                self.attempt_to_delete.enqueue(uid_of(dep))

    def _classify(self, item: Obj, refs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], ...] | None:
        """(solid, dangling, waiting for dependents' deletion) references, or None for an item whose
        references can never be valid (a cluster-scoped object owned by a namespaced one)."""
        solid: list[dict[str, Any]] = []
        dangling: list[dict[str, Any]] = []
        waiting: list[dict[str, Any]] = []
        for ref in refs:
            state, owner = self._resolve(item, ref)
            if state == INVALID:
                return None
            if state == ABSENT:
                dangling.append(ref)
            elif owner is not None and deleting_dependents(owner):
                waiting.append(ref)
            else:
                solid.append(ref)  # present, or of a kind this plane does not serve: never collected for it
        return solid, dangling, waiting

    def _resolve(self, item: Obj, ref: dict[str, Any]) -> tuple[str, Obj | None]:
        group = api_group(str(ref.get("apiVersion") or ""))
        owner_rt = self.store.registry.by_kind(group, str(ref.get("kind")))
        if owner_rt is None:
            log.debug("gc: owner %s/%s of %s is of an unknown kind", ref.get("kind"), ref.get("name"),
                      uid_of(item))
            return UNRESOLVABLE, None
        namespace = (item.get("metadata") or {}).get("namespace") or ""
        if owner_rt.namespaced and not namespace:
            return INVALID, None
        found = self._lookup(str(ref.get("uid") or ""))
        if found is None:
            return ABSENT, None
        rt, owner = found
        meta = owner["metadata"]
        if rt.key != owner_rt.key or meta.get("name") != ref.get("name") or \
                (owner_rt.namespaced and (meta.get("namespace") or "") != namespace):
            return ABSENT, None  # the owner's coordinates hold another object (or none)
        return PRESENT, owner

    # --- attempt to orphan ------------------------------------------------------------------------

    async def attempt_to_orphan_item(self, uid: str) -> None:
        found = self._lookup(uid)
        if found is None or not orphaning(found[1]):
            return
        rt, owner = found
        for dep_rt, dep in self._dependents(uid):
            self._set_owner_refs(dep_rt, dep, without_owners(dep, {uid}))
        self._remove_finalizer(rt, owner, ORPHAN)

    # --- store access -----------------------------------------------------------------------------

    def _lookup(self, uid: str) -> tuple[ResourceType, Obj] | None:
        """The live object with this uid (a shared copy: read only)."""
        if not uid:
            return None
        found = self.store.find_uid(uid)
        if found is None:
            return None
        rt, namespace, name = found
        entry = self.store.entry(rt, namespace, name)
        return (rt, entry.obj) if entry is not None else None

    def _dependents(self, uid: str) -> list[tuple[ResourceType, Obj]]:
        out = []
        # typed through a cast: mypy resolves `list` in the store's annotation to its `list` method
        located = cast("Iterable[tuple[ResourceType, str, str]]", self.store.dependents(uid))
        for rt, namespace, name in located:
            entry = self.store.entry(rt, namespace, name)
            if entry is not None:
                out.append((rt, entry.obj))
        return out

    def _set_owner_refs(self, rt: ResourceType, obj: Obj, refs: list[dict[str, Any]]) -> Obj:
        meta = obj["metadata"]
        latest = self.store.get(rt, meta.get("namespace") or "", meta["name"])
        if latest is None or latest["metadata"].get("uid") != meta.get("uid"):
            return obj
        if refs:
            latest["metadata"]["ownerReferences"] = refs
        else:
            latest["metadata"].pop("ownerReferences", None)
        latest["metadata"]["resourceVersion"] = meta.get("resourceVersion")
        try:
            return self.store.update(rt, latest)
        except NotFound:
            return obj

    def _remove_finalizer(self, rt: ResourceType, obj: Obj, finalizer: str) -> None:
        meta = obj["metadata"]
        latest = self.store.get(rt, meta.get("namespace") or "", meta["name"])
        if latest is None or latest["metadata"].get("uid") != meta.get("uid"):
            return
        remaining = [f for f in finalizers(latest) if f != finalizer]
        if len(remaining) == len(finalizers(latest)):
            return
        latest["metadata"]["finalizers"] = remaining
        try:
            self.store.update(rt, latest)
        except NotFound:
            return

    def _delete(self, rt: ResourceType, obj: Obj, policy: str) -> None:
        meta = obj["metadata"]
        log.info("gc: deleting %s (propagation %s)", _describe(rt, obj), policy)
        try:
            self.store.delete(rt, meta.get("namespace") or "", meta["name"], propagation=policy,
                              preconditions={"uid": meta.get("uid"),
                                             "resourceVersion": meta.get("resourceVersion")})
        except NotFound:
            return


def _describe(rt: ResourceType, obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    where = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
    return f"{rt.key} {where}{meta.get('name')}"


def new_garbage_collector(manager: Manager, *, workers: int = 1) -> GarbageCollector:
    gc = GarbageCollector(manager.store, manager.clock, workers=workers)
    gc.register(manager)
    return gc
