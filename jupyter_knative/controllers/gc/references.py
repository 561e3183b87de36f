"""Owner references and deletion finalizers: pure helpers for the garbage collector."""

from __future__ import annotations

from typing import Any

ORPHAN = "orphan"  # metav1.FinalizerOrphanDependents
FOREGROUND = "foregroundDeletion"  # metav1.FinalizerDeleteDependents

Obj = dict[str, Any]


def uid_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def owner_refs(obj: Obj) -> list[dict[str, Any]]:
    return list((obj.get("metadata") or {}).get("ownerReferences") or [])


def finalizers(obj: Obj) -> list[str]:
    return list((obj.get("metadata") or {}).get("finalizers") or [])


def being_deleted(obj: Obj) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def deleting_dependents(obj: Obj) -> bool:
    """Being deleted in the foreground: waiting for its blocking dependents to go first."""
    return being_deleted(obj) and FOREGROUND in finalizers(obj)


def orphaning(obj: Obj) -> bool:
    return being_deleted(obj) and ORPHAN in finalizers(obj)


def blocks(ref: dict[str, Any]) -> bool:
    return bool(ref.get("blockOwnerDeletion"))


def blocking_owner_uids(obj: Obj) -> set[str]:
    return {str(r.get("uid")) for r in owner_refs(obj) if blocks(r)}


def without_owners(obj: Obj, uids: set[str]) -> list[dict[str, Any]]:
    return [r for r in owner_refs(obj) if r.get("uid") not in uids]


def unblocked(obj: Obj) -> list[dict[str, Any]]:
    """The owner references with every `blockOwnerDeletion: true` turned false."""
    return [{**r, "blockOwnerDeletion": False} if blocks(r) else r for r in owner_refs(obj)]


def api_group(api_version: str) -> str:
    return api_version.rpartition("/")[0]
