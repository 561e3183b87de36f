"""`Table` responses for `kubectl get`: CRD printer columns or a built-in type's printer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..api.printing import cell, eval_jsonpath
from ..api.registry import PrinterColumn, ResourceType, Version

_NAME = {"name": "Name", "type": "string", "format": "name", "priority": 0,
         "description": "Name must be unique within a namespace. Cannot be updated."}


def _definition(col: PrinterColumn) -> dict[str, Any]:
    return {"name": col.name, "type": col.type, "format": col.format, "priority": col.priority,
            "description": col.description}


def _prints_own_name(rt: ResourceType) -> bool:
    """Built-in printers that place the name themselves (events: NAME is a wide column at the end)."""
    return rt.row_printer is not None and any(c.format == "name" for c in rt.row_printer[0])


def column_definitions(rt: ResourceType, v: Version) -> list[dict[str, Any]]:
    columns = rt.row_printer[0] if rt.row_printer else v.columns
    own = [_definition(c) for c in columns]
    return own if _prints_own_name(rt) else [_NAME, *own]


def _cells(rt: ResourceType, v: Version, obj: dict[str, Any], now: float) -> list[Any]:
    name = obj["metadata"].get("name", "")
    if rt.row_printer:
        printed = rt.row_printer[1](obj, now)
        return printed if _prints_own_name(rt) else [name, *printed]
    cells: list[Any] = [name]
    for col in v.columns:
        try:
            values = eval_jsonpath(col.json_path, obj)
        except ValueError:
            values = []
        cells.append(cell(col.type, values, now))
    return cells


def _row_object(obj: dict[str, Any], include: str) -> dict[str, Any] | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(rt: ResourceType, v: Version, objs: Iterable[dict[str, Any]], now: float, *, rv: str = "",
          headers: bool = True, include: str = "Metadata") -> dict[str, Any]:
    rows = []
    for obj in objs:
        row: dict[str, Any] = {"cells": _cells(rt, v, obj, now)}
        ref = _row_object(obj, include)
        if ref is not None:
            row["object"] = ref
        rows.append(row)
    result: dict[str, Any] = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}}
    if rv:
        result["metadata"]["resourceVersion"] = rv
    if headers:
        result["columnDefinitions"] = column_definitions(rt, v)
    result["rows"] = rows
    return result
