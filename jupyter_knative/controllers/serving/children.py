"""Reconciling owned children: create when missing, refuse when owned by another, update when drifted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...api.registry import ResourceType
from ...store import Store
from ..runtime import EventRecorder

_COMPARED = ("spec", "metadata.labels", "metadata.annotations")


@dataclass(frozen=True)
class Child:
    obj: dict[str, Any] | None
    not_owned: bool = False


def _get(obj: dict[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        value = (value or {}).get(part)
    return value


def is_controlled_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    return any(ref.get("controller") and ref.get("uid") == owner["metadata"]["uid"]
               for ref in obj["metadata"].get("ownerReferences") or [])


def ensure(store: Store, rt: ResourceType, desired: dict[str, Any], owner: dict[str, Any],
           recorder: EventRecorder, compared: tuple[str, ...] = _COMPARED) -> Child:
    meta = desired["metadata"]
    existing = store.get(rt, meta.get("namespace", ""), meta["name"])
    if existing is None:
        created = store.create(rt, desired)
        recorder.event(owner, "Normal", "Created", f'Created {rt.kind} "{meta["name"]}"')
        return Child(created)
    if not is_controlled_by(existing, owner):
        return Child(existing, not_owned=True)
    if all(_get(existing, f) == _get(desired, f) for f in compared):
        return Child(existing)
    for path in compared:
        head, _, leaf = path.rpartition(".")
        target = _get(existing, head) if head else existing
        value = _get(desired, path)
        if value is None:
            target.pop(leaf, None)
        else:
            target[leaf] = value
    updated = store.update(rt, existing)
    return Child(updated)


def write_status(store: Store, rt: ResourceType, obj: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    if obj.get("status") == status:
        return obj
    return store.update(rt, {**obj, "status": status}, subresource="status")
