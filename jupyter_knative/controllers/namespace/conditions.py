"""The namespace deletion conditions, worded as kube-controller-manager's namespace deleter words them
(pkg/controller/namespace/deletion/status_condition_utils.go). Pure: no store, no clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DISCOVERY_FAILURE = "NamespaceDeletionDiscoveryFailure"
GROUP_VERSION_PARSING_FAILURE = "NamespaceDeletionGroupVersionParsingFailure"
CONTENT_FAILURE = "NamespaceDeletionContentFailure"
CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"

# The order the deleter maintains them in.
CONDITION_TYPES = (DISCOVERY_FAILURE, GROUP_VERSION_PARSING_FAILURE, CONTENT_FAILURE, CONTENT_REMAINING,
                   FINALIZERS_REMAINING)

OK_REASONS = {
    DISCOVERY_FAILURE: "ResourcesDiscovered",
    GROUP_VERSION_PARSING_FAILURE: "ParsedGroupVersions",
    CONTENT_FAILURE: "ContentDeleted",
    CONTENT_REMAINING: "ContentRemoved",
    FINALIZERS_REMAINING: "ContentHasNoFinalizers",
}
OK_MESSAGES = {
    DISCOVERY_FAILURE: "All resources successfully discovered",
    GROUP_VERSION_PARSING_FAILURE: "All legacy kube types successfully parsed",
    CONTENT_FAILURE: "All content successfully deleted, may be waiting on finalization",
    CONTENT_REMAINING: "All content successfully removed",
    FINALIZERS_REMAINING: "All content-preserving finalizers finished",
}


@dataclass
class ContentTotals:
    """What one pass of deletion left behind: instances per `resource.group`, and per finalizer the
    number of instances carrying it; plus the errors deleting each type."""

    remaining: dict[str, int] = field(default_factory=dict)
    finalizers: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return not self.remaining and not self.errors


def group_resource(plural: str, group: str) -> str:
    # Written as `%s.%s`, so core types keep a trailing dot: `configmaps.`.
    return f"{plural}.{group}"


def failing_conditions(totals: ContentTotals) -> dict[str, tuple[str, str]]:
    """The conditions that are True, as type -> (reason, message)."""
    out: dict[str, tuple[str, str]] = {}
    remaining = sorted(f"{gr} has {n} resource instances" for gr, n in totals.remaining.items() if n)
    if totals.remaining:
        out[CONTENT_REMAINING] = ("SomeResourcesRemain",
                                  "Some resources are remaining: " + ", ".join(remaining))
    by_finalizer = sorted(f"{f} in {n} resource instances" for f, n in totals.finalizers.items() if n)
    if totals.finalizers:
        out[FINALIZERS_REMAINING] = ("SomeFinalizersRemain", "Some content in the namespace has finalizers "
                                     "remaining: " + ", ".join(by_finalizer))
    if totals.errors:
        errors = sorted(totals.errors)
        out[CONTENT_FAILURE] = ("ContentDeletionFailed",
                                f"Failed to delete all resource types, {len(errors)} remaining: "
                                + ", ".join(errors))
    return out


def update_conditions(conditions: list[dict[str, Any]], failing: Mapping[str, tuple[str, str]],
                      now: str) -> tuple[list[dict[str, Any]], bool]:
    """The namespace's conditions after this pass, and whether they changed. Every maintained type is
    present: True with the failure, or False with its "ok" reason; `lastTransitionTime` moves only when
    the status flips."""
    out = [dict(c) for c in conditions]
    changed = False
    for type_ in CONDITION_TYPES:
        status, (reason, message) = ("True", failing[type_]) if type_ in failing else \
            ("False", (OK_REASONS[type_], OK_MESSAGES[type_]))
        old = next((c for c in out if c.get("type") == type_), None)
        if old is None:
            out.append({"type": type_, "status": status, "lastTransitionTime": now, "reason": reason,
                        "message": message})
            changed = True
        elif (old.get("status"), old.get("reason"), old.get("message")) != (status, reason, message):
            if old.get("status") != status:
                old["lastTransitionTime"] = now
            old.update(status=status, reason=reason, message=message)
            changed = True
    return out, changed
