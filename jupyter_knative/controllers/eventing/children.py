"""Owned children and status writes: create when missing, refuse when owned by another, update the fields
the owner decides (only those: a channel's subscribers belong to the subscriptions, not to the broker)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ...api.registry import ResourceType
from ...store import Store
from ..runtime import EventRecorder


@dataclass(frozen=True)
class Child:
    obj: dict[str, Any]
    not_owned: bool = False


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    """kmeta.NewControllerRef."""
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def is_controlled_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    return any(ref.get("controller") and ref.get("uid") == owner["metadata"]["uid"]
               for ref in obj["metadata"].get("ownerReferences") or [])


def _get(obj: dict[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _set(obj: dict[str, Any], path: str, value: Any) -> None:
    *heads, leaf = path.split(".")
    target = obj
    for head in heads:
        target = target.setdefault(head, {})
    if value is None:
        target.pop(leaf, None)
    else:
        target[leaf] = copy.deepcopy(value)


def is_derivative(desired: Any, actual: Any) -> bool:
    """apimachinery's `Semantic.DeepDerivative`: everything set in `desired` is so in `actual` (maps: the
    keys `desired` has; lists: `desired` a prefix of `actual`, element by element), so fields a defaulter or a
    binding added do not count as drift."""
    if isinstance(desired, dict):
        return isinstance(actual, dict) and all(is_derivative(v, actual.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        return isinstance(actual, list) and len(desired) <= len(actual) and \
            all(is_derivative(d, a) for d, a in zip(desired, actual, strict=False))
    if desired in (None, "", 0, False):
        return True  # Go's zero values are "not set"
    return bool(desired == actual)


def ensure(store: Store, rt: ResourceType, desired: dict[str, Any], owner: dict[str, Any],
           recorder: EventRecorder | None, compared: tuple[str, ...], *, derivative: bool = False) -> Child:
    meta = desired["metadata"]
    existing = store.get(rt, meta.get("namespace", ""), meta["name"])
    if existing is None:
        created = store.create(rt, copy.deepcopy(desired))
        if recorder is not None:
            recorder.event(owner, "Normal", f"{rt.kind}Created", f'Created {rt.kind} "{meta["name"]}"')
        return Child(created)
    if not is_controlled_by(existing, owner):
        return Child(existing, not_owned=True)
    same = is_derivative if derivative else (lambda d, a: bool(d == a))
    if all(same(_get(desired, path), _get(existing, path)) for path in compared):
        return Child(existing)
    for path in compared:
        _set(existing, path, _get(desired, path))
    return Child(store.update(rt, existing))


def write_status(store: Store, rt: ResourceType, obj: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    if obj.get("status") == status:
        return obj
    return store.update(rt, {**obj, "status": status}, subresource="status")


def add_finalizer(store: Store, rt: ResourceType, obj: dict[str, Any], finalizer: str) -> dict[str, Any]:
    finalizers = list(obj["metadata"].get("finalizers") or [])
    if finalizer in finalizers:
        return obj
    updated = copy.deepcopy(obj)
    updated["metadata"]["finalizers"] = [*finalizers, finalizer]
    return store.update(rt, updated)


def remove_finalizer(store: Store, rt: ResourceType, obj: dict[str, Any], finalizer: str) -> None:
    finalizers = list(obj["metadata"].get("finalizers") or [])
    if finalizer not in finalizers:
        return
    updated = copy.deepcopy(obj)
    updated["metadata"]["finalizers"] = [f for f in finalizers if f != finalizer]
    store.update(rt, updated)


def condition_of(obj: dict[str, Any] | None, type_: str = "Ready") -> dict[str, Any] | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return None
