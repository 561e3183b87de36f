"""`kubectl describe`-like text for any object (pure): metadata, spec and status as an indented tree with
title-cased keys, the status conditions as a table, then the object's events."""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from typing import Any

from .display import text_table
from .manifests import LAST_APPLIED

__all__ = ["age", "describe_text"]

_INDENT = "  "


def describe_text(obj: dict[str, Any], events: Sequence[dict[str, Any]], *, now: datetime.datetime) -> str:
    meta = obj.get("metadata") or {}
    lines = [
        _pair("Name", meta.get("name", "")),
        *([_pair("Namespace", meta["namespace"])] if meta.get("namespace") else []),
        *_mapping_lines("Labels", meta.get("labels") or {}),
        *_mapping_lines("Annotations", {k: v for k, v in (meta.get("annotations") or {}).items()
                                        if k != LAST_APPLIED}),
        _pair("API Version", obj.get("apiVersion", "")),
        _pair("Kind", obj.get("kind", "")),
        _pair("Created", f"{meta.get('creationTimestamp', '')} ({age(meta.get('creationTimestamp'), now)} ago)"),
    ]
    if meta.get("generation") is not None:
        lines.append(_pair("Generation", meta["generation"]))
    for section in (k for k in obj if k not in ("apiVersion", "kind", "metadata", "status")):
        lines += _tree(section, obj[section], 0)
    status = dict(obj.get("status") or {})
    conditions = status.pop("conditions", None) or []
    if status:
        lines += _tree("status", status, 0)
    lines += _conditions(conditions, now)
    lines += _events(events, now)
    return "\n".join(lines)


def _pair(key: str, value: Any) -> str:
    return f"{key + ':':<14}{value}"


def _mapping_lines(key: str, mapping: dict[str, Any]) -> list[str]:
    if not mapping:
        return [_pair(key, "<none>")]
    items = [f"{k}={v}" if key == "Labels" else f"{k}: {v}" for k, v in sorted(mapping.items())]
    return [_pair(key, items[0]), *(" " * 14 + item for item in items[1:])]


def _title(key: str) -> str:
    """`latestReadyRevisionName` → `Latest Ready Revision Name` (kubectl describe's way with CRDs)."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", key)
    return words[:1].upper() + words[1:]


# maps whose keys are data (names the user chose), printed as they are rather than title-cased
_FREE_MAPS = frozenset({"data", "stringData", "binaryData", "labels", "annotations", "matchLabels", "nodeSelector",
                        "attributes", "extensions", "filter", "ceOverrides"})


def _tree(key: str, value: Any, depth: int, *, free: bool = False) -> list[str]:
    """`key` (a raw field name; title-cased unless `free`) and its value, indented by `depth`."""
    pad = _INDENT * depth
    shown = key if free else _title(key)
    if isinstance(value, dict):
        out = [f"{pad}{shown}:"]
        for k, v in value.items():
            out += _tree(k, v, depth + 1, free=key in _FREE_MAPS)
        return out
    if isinstance(value, list):
        out = [f"{pad}{shown}:"]
        for item in value:
            if isinstance(item, dict):
                for i, (k, v) in enumerate(item.items()):
                    sub = _tree(k, v, depth + 2)
                    if i == 0:
                        sub[0] = f"{pad}{_INDENT}- " + sub[0].lstrip()
                    out += sub
            else:
                out.append(f"{pad}{_INDENT}{item}")
        return out
    return [f"{pad}{shown}:  {'' if value is None else value}"]


def _conditions(conditions: list[dict[str, Any]], now: datetime.datetime) -> list[str]:
    if not conditions:
        return []
    rows = [[c.get("type", ""), age(c.get("lastTransitionTime"), now), c.get("status", ""), c.get("reason", ""),
             c.get("message", "")] for c in conditions]
    table = text_table(["Type", "Age", "Status", "Reason", "Message"], rows, gap=2, upper=False)
    return ["Conditions:", *(_INDENT + line for line in table.splitlines())]


def _events(events: Sequence[dict[str, Any]], now: datetime.datetime) -> list[str]:
    if not events:
        return ["Events:        <none>"]
    rows = []
    for ev in events:
        when = ev.get("lastTimestamp") or ev.get("eventTime") or ev.get("firstTimestamp") or \
            (ev.get("metadata") or {}).get("creationTimestamp")
        source = (ev.get("source") or {}).get("component") or ev.get("reportingComponent") or ""
        rows.append([ev.get("type", ""), ev.get("reason", ""), age(when, now), source, ev.get("message", "")])
    columns = ["Type", "Reason", "Age", "From", "Message"]
    table = text_table(columns, [["-" * len(c) for c in columns], *rows], gap=2, upper=False)
    return ["Events:", *(_INDENT + line for line in table.splitlines())]


def age(timestamp: str | None, now: datetime.datetime) -> str:
    """`5s`, `3m12s`, `2h5m`, `4d` — kubectl's short ages."""
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 10:
        return f"{minutes}m{seconds}s" if seconds else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes}m" if hours < 8 and minutes else f"{hours}h"
    return f"{hours // 24}d"
