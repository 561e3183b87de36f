"""Knative's condition sets (knative.dev/pkg `apis.ConditionSet`): a happy condition (`Ready`, or
`Succeeded`) that summarises its dependents, with reasons, messages and transition times.

A `ConditionManager` works on a status dict in place:

    cm = SERVICE_CONDITIONS.manage(status, now)
    cm.mark_true("ConfigurationsReady")
    cm.mark_unknown("RoutesReady", "OutOfDate", "The Route is still working ...")

`lastTransitionTime` changes only when a condition's status changes, as Knative does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .printing import format_timestamp

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


@dataclass(frozen=True)
class ConditionSet:
    happy: str
    dependents: tuple[str, ...]

    def manage(self, status: dict[str, Any], now: float) -> ConditionManager:
        return ConditionManager(self, status, now)


class ConditionManager:
    def __init__(self, cs: ConditionSet, status: dict[str, Any], now: float) -> None:
        self.cs = cs
        self.status = status
        self.now = now

    @property
    def conditions(self) -> list[dict[str, Any]]:
        conds: list[dict[str, Any]] = self.status.setdefault("conditions", [])
        return conds

    def get(self, type_: str) -> dict[str, Any] | None:
        return next((c for c in self.conditions if c.get("type") == type_), None)

    def is_true(self, type_: str) -> bool:
        cond = self.get(type_)
        return bool(cond and cond.get("status") == TRUE)

    def initialize(self) -> None:
        """Every condition of the set present (Unknown when it was missing), as InitializeConditions."""
        for type_ in (self.cs.happy, *self.cs.dependents):
            if self.get(type_) is None:
                self._set(type_, UNKNOWN, "", "")

    def _set(self, type_: str, status: str, reason: str, message: str, severity: str = "") -> None:
        cond = self.get(type_)
        new: dict[str, Any] = {"type": type_, "status": status}
        if severity:
            new["severity"] = severity
        if reason:
            new["reason"] = reason
        if message:
            new["message"] = message
        if cond is not None and cond.get("status") == status and cond.get("lastTransitionTime"):
            new["lastTransitionTime"] = cond["lastTransitionTime"]
        else:
            new["lastTransitionTime"] = format_timestamp(self.now)
        if cond is None:
            self.conditions.append(new)
        else:
            cond.clear()
            cond.update(new)
        self.conditions.sort(key=lambda c: str(c.get("type")))

    def mark_true(self, type_: str, reason: str = "", message: str = "") -> None:
        """True; the happy condition follows only once every dependent is True (as knative.dev/pkg)."""
        self._set(type_, TRUE, reason, message)
        if all(self.is_true(d) for d in self.cs.dependents):
            self._set(self.cs.happy, TRUE, "", "")

    def mark_false(self, type_: str, reason: str, message: str) -> None:
        self._set(type_, FALSE, reason, message)
        if type_ in self.cs.dependents:
            self._set(self.cs.happy, FALSE, reason, message)

    def mark_unknown(self, type_: str, reason: str, message: str) -> None:
        """Unknown; a False dependent keeps the happy condition False (with this reason and message,
        as knative.dev/pkg does), otherwise the happy condition becomes Unknown too."""
        self._set(type_, UNKNOWN, reason, message)
        if any((self.get(d) or {}).get("status") == FALSE for d in self.cs.dependents):
            if (self.get(self.cs.happy) or {}).get("status") != FALSE:
                self._set(self.cs.happy, FALSE, reason, message)
            return
        if type_ in self.cs.dependents:
            self._set(self.cs.happy, UNKNOWN, reason, message)

    def set_condition(self, cond: dict[str, Any], as_type: str | None = None) -> None:
        """Copy a child's condition (status, reason, message) under this set's type."""
        type_ = as_type or str(cond.get("type"))
        status = cond.get("status", UNKNOWN)
        reason, message = cond.get("reason", ""), cond.get("message", "")
        if status == TRUE:
            self.mark_true(type_, reason, message)
        elif status == FALSE:
            self.mark_false(type_, reason, message)
        else:
            self.mark_unknown(type_, reason, message)


def ready_condition(obj: dict[str, Any], type_: str = "Ready") -> dict[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return None


def is_ready(obj: dict[str, Any] | None) -> bool:
    cond = ready_condition(obj) if obj else None
    return bool(cond and cond.get("status") == TRUE)


def is_failed(obj: dict[str, Any] | None) -> bool:
    cond = ready_condition(obj) if obj else None
    return bool(cond and cond.get("status") == FALSE)
