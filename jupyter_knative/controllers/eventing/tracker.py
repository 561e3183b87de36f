"""Cross-object references (knative.dev/pkg `tracker`): a reconciler records what it read while
reconciling a key, and a change to any of those objects enqueues that key again.

References are exact (group, kind, namespace, name), so a reference to an object that does not exist yet
fires when it is created. Each reconcile starts by forgetting the key's old references (`reset`), so what
is tracked is what the last reconcile read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ..runtime import Informer, ObjectKey


class Ref(NamedTuple):
    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: dict[str, Any]) -> Ref:
        meta = obj.get("metadata") or {}
        return cls(group_of(str(obj.get("apiVersion") or "")), str(obj.get("kind") or ""),
                   meta.get("namespace") or "", meta.get("name") or "")


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


Watcher = tuple[str, ObjectKey]  # (controller name, key)


class Tracker:
    def __init__(self) -> None:
        self._watchers: dict[Ref, set[Watcher]] = {}
        self._refs: dict[Watcher, set[Ref]] = {}
        self._enqueue: dict[str, Callable[[ObjectKey], None]] = {}

    def register(self, controller: str, enqueue: Callable[[ObjectKey], None]) -> None:
        self._enqueue[controller] = enqueue

    def track(self, controller: str, key: ObjectKey, ref: Ref) -> None:
        watcher = (controller, key)
        self._watchers.setdefault(ref, set()).add(watcher)
        self._refs.setdefault(watcher, set()).add(ref)

    def reset(self, controller: str, key: ObjectKey) -> None:
        watcher = (controller, key)
        for ref in self._refs.pop(watcher, set()):
            watchers = self._watchers.get(ref)
            if watchers is not None:
                watchers.discard(watcher)
                if not watchers:
                    del self._watchers[ref]

    def tracking(self, ref: Ref) -> set[Watcher]:
        return set(self._watchers.get(ref, ()))

    def changed(self, obj: dict[str, Any]) -> None:
        """Enqueue every key whose last reconcile read this object."""
        for controller, key in sorted(self.tracking(Ref.of(obj))):
            enqueue = self._enqueue.get(controller)
            if enqueue is not None:
                enqueue(key)

    def watch(self, informer: Informer) -> None:
        informer.add_handler(on_add=self.changed, on_update=lambda _old, new: self.changed(new),
                             on_delete=self.changed)
