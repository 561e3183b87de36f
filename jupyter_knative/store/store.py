"""The object store: Kubernetes storage semantics over SQLite, with watches fed from memory.

Every object lives in memory (for reads, lists, selectors and watches) and in SQLite (for durability).
The store owns the semantics a controller relies on: resourceVersion and optimistic concurrency,
`metadata.generation` bumped only when the spec changes, uid and creationTimestamp, finalizers and
`deletionTimestamp`, owner-reference indexes for the garbage collector, and watch events in
resourceVersion order. All methods are synchronous and must run on the daemon's event loop thread:
each write is atomic with respect to every other operation.
"""

from __future__ import annotations

import builtins
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..api import meta as metav
from ..api.printing import format_timestamp
from ..api.registry import AdmissionRequest, Registry, ResourceType
from ..api.status import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    already_exists,
    forbidden,
    invalid,
    invalid_object,
    not_found,
    stale,
)
from .persistence import Persistence
from .watching import Predicate, Watch, WatchEvent

NAMESPACES = "core/namespaces"
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "knative-serving", "knative-eventing"})
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_TOP_LEVEL_NON_SPEC = frozenset({"apiVersion", "kind", "metadata", "status"})


@dataclass(slots=True)
class Entry:
    """A stored object: the parsed form (shared: never mutate it) and its JSON."""

    obj: dict[str, Any]
    raw: bytes


def _copy(entry: Entry) -> dict[str, Any]:
    result: dict[str, Any] = orjson.loads(entry.raw)
    return result


def _spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in _TOP_LEVEL_NON_SPEC}


class Store:
    def __init__(self, registry: Registry, path: Path | str = ":memory:", *,
                 clock: Callable[[], float] = time.time, history: int = 20_000,
                 protected_namespaces: Iterable[str] = PROTECTED_NAMESPACES) -> None:
        self.registry = registry
        self._clock = clock
        self._persist = Persistence(path)
        self._data: dict[str, dict[str, dict[str, Entry]]] = {}  # type key -> namespace -> name -> entry
        self._history: deque[tuple[WatchEvent, dict[str, Any] | None, str]] = deque(maxlen=history)
        self._watches: set[Watch] = set()
        self._by_uid: dict[str, tuple[str, str, str]] = {}
        self._dependents: dict[str, set[tuple[str, str, str]]] = {}
        self._protected = frozenset(protected_namespaces)
        self._rv, rows = self._persist.load()
        for type_key, namespace, name, data in rows:
            obj = orjson.loads(data)
            self._data.setdefault(type_key, {}).setdefault(namespace, {})[name] = Entry(obj, bytes(data))
            self._index(type_key, namespace, name, None, obj)
            self._rv = max(self._rv, int(obj["metadata"].get("resourceVersion") or 0))
        self._compacted = self._rv

    # --- reading ------------------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def compacted(self) -> int:
        """The oldest resourceVersion a watch can start after; older ones are `410 Gone`."""
        return self._compacted

    @property
    def watch_count(self) -> int:
        return len(self._watches)

    def entry(self, rt: ResourceType, namespace: str, name: str) -> Entry | None:
        return self._data.get(rt.key, {}).get(self._ns(rt, namespace), {}).get(name)

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        """A private copy of the object, or None."""
        entry = self.entry(rt, namespace, name)
        return _copy(entry) if entry else None

    def must_get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.get(rt, namespace, name)
        if obj is None:
            raise not_found(rt.group_resource, name)
        return obj

    def entries(self, rt: ResourceType, namespace: str | None = None,
                predicate: Predicate | None = None) -> tuple[list[Entry], int]:
        """Shared entries sorted by namespace and name, and the list's resourceVersion."""
        by_ns = self._data.get(rt.key, {})
        spaces = sorted(by_ns) if namespace is None else [self._ns(rt, namespace)]
        out: list[Entry] = []
        for ns in spaces:
            names = by_ns.get(ns, {})
            for name in sorted(names):
                entry = names[name]
                if predicate is None or predicate(entry.obj):
                    out.append(entry)
        return out, self._rv

    def list(self, rt: ResourceType, namespace: str | None = None,
             predicate: Predicate | None = None) -> tuple[list[dict[str, Any]], int]:
        entries, rv = self.entries(rt, namespace, predicate)
        return [_copy(e) for e in entries], rv

    def count(self, rt: ResourceType, namespace: str | None = None) -> int:
        by_ns = self._data.get(rt.key, {})
        if namespace is None:
            return sum(len(v) for v in by_ns.values())
        return len(by_ns.get(namespace, {}))

    def find_uid(self, uid: str) -> tuple[ResourceType, str, str] | None:
        found = self._by_uid.get(uid)
        if not found:
            return None
        rt = self.registry.by_key(found[0])
        return (rt, found[1], found[2]) if rt else None

    def dependents(self, owner_uid: str) -> builtins.list[tuple[ResourceType, str, str]]:
        out = []
        for type_key, ns, name in sorted(self._dependents.get(owner_uid, ())):
            rt = self.registry.by_key(type_key)
            if rt:
                out.append((rt, ns, name))
        return out

    def config(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A ConfigMap's data (admission hooks read Knative's config maps through this)."""
        rt = self.registry.by_kind("", "ConfigMap")
        obj = self.get(rt, namespace, name) if rt else None
        return (obj.get("data") or {}) if obj else None

    # --- writing ------------------------------------------------------------------------------------

    def create(self, rt: ResourceType, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        ns = self._ns(rt, meta.get("namespace") or "")
        if rt.namespaced:
            meta["namespace"] = ns
            self._check_namespace(rt, ns, meta.get("name") or meta.get("generateName") or "")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = self._generate_name(rt, ns, meta["generateName"])
        self._validate_meta(rt, obj, creating=True)
        name = meta["name"]
        if self.entry(rt, ns, name):
            raise already_exists(rt.group_resource, name)
        for key in ("resourceVersion", "uid", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = format_timestamp(self._clock())
        if rt.tracks_generation:
            meta["generation"] = 1
        obj["apiVersion"], obj["kind"] = rt.api_version(), rt.kind
        if "status" in rt.subresources:
            obj.pop("status", None)
        self._admit(rt, "CREATE", obj, None)
        if dry_run:
            return obj
        return self._commit(rt, ns, name, "ADDED", obj, None)

    def update(self, rt: ResourceType, obj: dict[str, Any], *, subresource: str = "",
               dry_run: bool = False) -> dict[str, Any]:
        """Replace an object (or its status / finalize subresource); no-op writes are not stored."""
        meta = obj.get("metadata") or {}
        ns, name = self._ns(rt, meta.get("namespace") or ""), meta.get("name") or ""
        entry = self.entry(rt, ns, name)
        if entry is None:
            raise not_found(rt.group_resource, name)
        old = entry.obj
        self._check_preconditions(rt, old, meta, subresource)
        new = self._merged(rt, old, obj, subresource)
        self._validate_meta(rt, new, creating=False)
        self._check_deleting(rt, old, new)
        if not subresource:
            self._admit(rt, "UPDATE", new, old)
        new_meta = new["metadata"]
        new_meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if rt.tracks_generation and _spec_part(new) != _spec_part(old):
            new_meta["generation"] = int(old["metadata"].get("generation") or 0) + 1
        if new == old or dry_run:
            return new if dry_run else _copy(entry)
        if old["metadata"].get("deletionTimestamp") and not self._has_finalizers(rt, new):
            return self._commit(rt, ns, name, "DELETED", new, old)
        return self._commit(rt, ns, name, "MODIFIED", new, old)

    def delete(self, rt: ResourceType, namespace: str, name: str, *, propagation: str | None = None,
               preconditions: dict[str, Any] | None = None,
               dry_run: bool = False) -> tuple[dict[str, Any], bool]:
        """Delete, or mark for deletion while finalizers remain. Returns (object, gone now)."""
        ns = self._ns(rt, namespace)
        entry = self.entry(rt, ns, name)
        if entry is None:
            raise not_found(rt.group_resource, name)
        if rt.key == NAMESPACES and name in self._protected:
            raise Forbidden(f'namespace "{name}" is forbidden: this namespace may not be deleted',
                            details={"name": name, "kind": "namespaces"})
        self._check_delete_preconditions(entry.obj, preconditions or {})
        obj = _copy(entry)
        meta = obj["metadata"]
        finalizers: list[str] = list(meta.get("finalizers") or [])
        if not meta.get("deletionTimestamp"):
            extra = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}.get(propagation or "")
            if extra and extra not in finalizers:
                finalizers.append(extra)
            if finalizers:
                meta["finalizers"] = finalizers
        if rt.key == NAMESPACES:
            obj.setdefault("status", {})["phase"] = "Terminating"
        if not self._has_finalizers(rt, obj):
            if not dry_run:
                self._commit(rt, ns, name, "DELETED", obj, entry.obj)
            return obj, True
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = format_timestamp(self._clock())
            meta["deletionGracePeriodSeconds"] = 0
        if obj != entry.obj and not dry_run:
            obj = self._commit(rt, ns, name, "MODIFIED", obj, entry.obj)
        return obj, False

    # --- watching -----------------------------------------------------------------------------------

    def watch(self, rt: ResourceType | None, namespace: str | None = None, predicate: Predicate | None = None,
              since: int | None = None) -> Watch:
        """Changes after resourceVersion `since` (None: from now). Raises Gone when it is compacted."""
        if since is not None and since < self._compacted:
            raise Gone(f"too old resource version: {since} ({self._compacted})")
        watch = Watch(rt.key if rt else None, self._ns(rt, namespace) if rt and namespace is not None
                      else namespace, predicate, self._watches.discard)
        if since is not None:
            for event, old, ns in self._history:
                if event.rv > since:
                    self._deliver(watch, event, old, ns)
        self._watches.add(watch)
        return watch

    def close_watches(self) -> None:
        """End every watch (at shutdown: streaming clients see their stream end and reconnect)."""
        for watch in list(self._watches):
            watch.close()

    def close(self) -> None:
        self.close_watches()
        self._persist.close()

    # --- internals ----------------------------------------------------------------------------------

    @staticmethod
    def _ns(rt: ResourceType | None, namespace: str) -> str:
        return namespace if rt is None or rt.namespaced else ""

    def _has_finalizers(self, rt: ResourceType, obj: dict[str, Any]) -> bool:
        if obj["metadata"].get("finalizers"):
            return True
        return rt.key == NAMESPACES and bool((obj.get("spec") or {}).get("finalizers"))

    def _check_namespace(self, rt: ResourceType, ns: str, name: str) -> None:
        if not ns:
            raise BadRequest("the namespace of the object is required")
        entry = self._data.get(NAMESPACES, {}).get("", {}).get(ns)
        if entry is None:
            raise NotFound(f'namespaces "{ns}" not found', details={"name": ns, "kind": "namespaces"})
        if entry.obj["metadata"].get("deletionTimestamp"):
            gr = rt.group_resource
            raise Forbidden(
                f'{gr} "{name}" is forbidden: unable to create new content in namespace {ns} '
                "because it is being terminated",
                details={"name": name, "group": gr.group, "kind": gr.resource,
                         "causes": [{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                                     "message": f"namespace {ns} is being terminated"}]})

    def _generate_name(self, rt: ResourceType, ns: str, prefix: str) -> str:
        prefix = prefix[:58]
        while True:
            name = prefix + "".join(secrets.choice(_GENERATE_ALPHABET) for _ in range(5))
            if self.entry(rt, ns, name) is None:
                return name

    def _validate_meta(self, rt: ResourceType, obj: dict[str, Any], *, creating: bool) -> None:
        meta = obj["metadata"]
        errors = metav.validate_object_meta(meta, namespaced=rt.namespaced, name_rule=rt.name_rule,
                                            creating=creating, builtin=rt.builtin)
        if errors:
            raise invalid_object(rt.group_resource, meta.get("name") or meta.get("generateName") or "", errors)

    def _check_preconditions(self, rt: ResourceType, old: dict[str, Any], meta: dict[str, Any],
                             subresource: str) -> None:
        old_meta = old["metadata"]
        rv = meta.get("resourceVersion")
        if rv:
            if str(rv) != old_meta["resourceVersion"]:
                raise stale(rt.group_resource, old_meta["name"])
        elif not rt.builtin:
            raise invalid_object(rt.group_resource, old_meta["name"], [
                invalid("metadata.resourceVersion", "0x0", "must be specified for an update")])
        uid = meta.get("uid")
        if uid and uid != old_meta["uid"]:
            raise Conflict(f"Precondition failed: UID in precondition: {uid}, "
                           f"UID in object meta: {old_meta['uid']}")

    def _check_delete_preconditions(self, old: dict[str, Any], pre: dict[str, Any]) -> None:
        meta = old["metadata"]
        if pre.get("uid") and pre["uid"] != meta["uid"]:
            raise Conflict(f"Precondition failed: UID in precondition: {pre['uid']}, "
                           f"UID in object meta: {meta['uid']}")
        if pre.get("resourceVersion") and str(pre["resourceVersion"]) != meta["resourceVersion"]:
            raise Conflict(f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                           f"ResourceVersion in object meta: {meta['resourceVersion']}")

    def _merged(self, rt: ResourceType, old: dict[str, Any], obj: dict[str, Any],
                subresource: str) -> dict[str, Any]:
        """The object to store: what the request may change, on top of what it may not."""
        if subresource == "status":
            new = orjson.loads(orjson.dumps(old))
            if obj.get("status") is None:
                new.pop("status", None)
            else:
                new["status"] = obj["status"]
            return dict(new)
        if subresource == "finalize":
            new = orjson.loads(orjson.dumps(old))
            new.setdefault("spec", {})["finalizers"] = (obj.get("spec") or {}).get("finalizers") or []
            return dict(new)
        new = dict(obj)
        new["apiVersion"], new["kind"] = old["apiVersion"], old["kind"]
        new_meta = dict(new.get("metadata") or {})
        for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                    "generation", "namespace", "name"):
            if key in old["metadata"]:
                new_meta[key] = old["metadata"][key]
            else:
                new_meta.pop(key, None)
        new_meta.pop("selfLink", None)
        new["metadata"] = new_meta
        if "status" in rt.subresources:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        return new

    @staticmethod
    def _check_deleting(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
        if not old["metadata"].get("deletionTimestamp"):
            return
        added = [f for f in new["metadata"].get("finalizers") or []
                 if f not in (old["metadata"].get("finalizers") or [])]
        if added:
            raise invalid_object(rt.group_resource, old["metadata"]["name"], [forbidden(
                "metadata.finalizers",
                "no new finalizers can be added if the object is being deleted, found new finalizers "
                + "[]string{" + ", ".join(f'"{f}"' for f in added) + "}")])

    def _admit(self, rt: ResourceType, operation: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if rt.admission is not None:
            rt.admission(AdmissionRequest(operation, obj, old, config=self.config))

    def _commit(self, rt: ResourceType, ns: str, name: str, type_: str, obj: dict[str, Any],
                old: dict[str, Any] | None) -> dict[str, Any]:
        """Store (or remove) the object under a new resourceVersion and notify watchers."""
        rv = self._rv + 1
        obj["metadata"]["resourceVersion"] = str(rv)
        raw = orjson.dumps(obj)
        stored: dict[str, Any] = orjson.loads(raw)  # the caller keeps `obj`; the store keeps its own
        if type_ == "DELETED":
            self._persist.remove(rt.key, ns, name, rv)
            self._data[rt.key][ns].pop(name, None)
            self._index(rt.key, ns, name, old, None)
        else:
            self._persist.put(rt.key, ns, name, raw, rv)
            self._data.setdefault(rt.key, {}).setdefault(ns, {})[name] = Entry(stored, raw)
            self._index(rt.key, ns, name, old, stored)
        self._rv = rv
        event = WatchEvent(type_, stored, raw, rv, rt.key)
        if len(self._history) == self._history.maxlen:
            self._compacted = self._history[0][0].rv
        self._history.append((event, old, ns))
        for watch in list(self._watches):
            self._deliver(watch, event, old, ns)
        return obj

    @staticmethod
    def _deliver(watch: Watch, event: WatchEvent, old: dict[str, Any] | None, ns: str) -> None:
        """Send an event as this watcher sees it: objects entering or leaving its selector
        arrive as ADDED or DELETED, as the apiserver's watch cache does."""
        if not watch.wants(event.type_key, ns):
            return
        new_match = watch.matches(event.obj)
        if event.type == "MODIFIED":
            old_match = watch.matches(old)
            if new_match and not old_match:
                event = WatchEvent("ADDED", event.obj, event.raw, event.rv, event.type_key)
            elif old_match and not new_match:
                event = WatchEvent("DELETED", event.obj, event.raw, event.rv, event.type_key)
            elif not new_match:
                return
        elif not new_match:
            return
        watch.push(event)

    def _index(self, type_key: str, ns: str, name: str, old: dict[str, Any] | None,
               new: dict[str, Any] | None) -> None:
        key = (type_key, ns, name)
        if old is not None:
            self._by_uid.pop(old["metadata"].get("uid", ""), None)
            for ref in old["metadata"].get("ownerReferences") or []:
                deps = self._dependents.get(ref.get("uid", ""))
                if deps is not None:
                    deps.discard(key)
                    if not deps:
                        del self._dependents[ref["uid"]]
        if new is not None:
            self._by_uid[new["metadata"]["uid"]] = key
            for ref in new["metadata"].get("ownerReferences") or []:
                if ref.get("uid"):
                    self._dependents.setdefault(ref["uid"], set()).add(key)

