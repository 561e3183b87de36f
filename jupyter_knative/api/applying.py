"""Server-side apply (`application/apply-patch+yaml`): field ownership, merging and conflicts.

A pure port of the parts of sigs.k8s.io/structured-merge-diff the apiserver uses for apply:

- `field_set`: the fields an applied configuration sets (`TypedValue.ToFieldSet`), as paths of FieldsV1
  keys: `f:<field>`, `k:{"name":"x"}` for an item of a map-list, `v:"a"` for an item of a set, and an
  atomic list (or a scalar) as one leaf. `to_fields_v1` / `from_fields_v1` convert to the nested
  `fieldsV1` document stored in `metadata.managedFields`.
- `merge`: the applied configuration merged into the live object (`TypedValue.Merge`): maps merge,
  map-lists merge by their keys, sets union, atomic lists and scalars are replaced.
- `apply`: the whole `Updater.Apply`: merge, then prune the fields this manager applied last time and no
  longer applies (unless another Apply manager owns them), then detect conflicts with the other managers
  (a field they own that this apply changes), answered as the apiserver's 409 unless `force`, which
  moves the fields to this manager.

How a list merges comes from the `Schema`: `list_type` (`atomic`, `set`, `map` with `list_map_keys`),
and for built-in kinds, as their OpenAPI says, `patch_strategy: merge` with a `patch_merge_key`. A list
the schema says nothing about is atomic; so are lists of objects without a schema. Deviations: a map-list
whose applied items lack a key field is treated as atomic instead of refused (Knative's CRDs publish
`containers` as atomic, and Knative names the container itself); keys are the map keys present in every
applied item (the apiserver would use schema defaults such as `protocol: TCP`); maps emptied by pruning
are dropped; managed fields are kept in the request's version, without conversion.

Only Apply managers are recorded: PUT, merge/JSON/strategic patches keep the existing `managedFields`
as they are (the apiserver would also record an `Update` entry for their manager).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .schema import Schema
from .status import BadRequest, Conflict

__all__ = [
    "APPLY",
    "UPDATE",
    "Path",
    "apply",
    "conflict_error",
    "field_set",
    "from_fields_v1",
    "keep_time",
    "merge",
    "path_string",
    "to_fields_v1",
]

APPLY = "Apply"
UPDATE = "Update"

Path = tuple[str, ...]  # FieldsV1 keys from the root: ("f:spec", "f:containers", 'k:{"name":"x"}', "f:image")

# Fields the apiserver never records as owned (fieldmanager's stripMeta).
STRIPPED: frozenset[Path] = frozenset({
    ("f:apiVersion",), ("f:kind",), ("f:metadata",),
    *(("f:metadata", "f:" + name) for name in ("name", "namespace", "creationTimestamp", "selfLink", "uid",
                                                "clusterName", "generation", "managedFields",
                                                "resourceVersion")),
})

_MISSING = object()


# --- list semantics -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _ListKind:
    kind: str  # atomic, set, map
    keys: tuple[str, ...] = ()


def _list_kind(schema: Schema | None, items: Iterable[Any], builtin: bool) -> _ListKind:
    if schema is None:
        return _ListKind("atomic")
    kind, keys = schema.list_type, schema.list_map_keys
    if not kind and builtin and "merge" in schema.patch_strategy.split(","):
        kind = "map" if schema.patch_merge_key else "set"
    if kind == "map":
        keys = keys or ((schema.patch_merge_key,) if schema.patch_merge_key else ())
        items = list(items)
        present = tuple(k for k in keys if all(isinstance(i, dict) and k in i for i in items))
        return _ListKind("map", present) if present else _ListKind("atomic")
    if kind == "set":
        items = list(items)
        scalars = all(not isinstance(i, dict | list) for i in items)
        return _ListKind("set") if scalars else _ListKind("atomic")
    return _ListKind("atomic")


def _go_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _element(item: Any, kind: _ListKind) -> str:
    """The FieldsV1 key of a list item."""
    if kind.kind == "map":
        return "k:" + _go_json({k: item[k] for k in sorted(kind.keys) if k in item})
    return "v:" + _go_json(item)


def _matches(item: Any, element: str) -> bool:
    if element.startswith("k:"):
        key = json.loads(element[2:])
        return isinstance(item, dict) and all(k in item and _same(item[k], v) for k, v in key.items())
    return element.startswith("v:") and _same(item, json.loads(element[2:]))


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and bool(a == b)


def _child_schema(schema: Schema | None, key: str) -> Schema | None:
    return schema.field(key) if schema is not None and schema.type != "array" else None


# --- field sets -----------------------------------------------------------------------------------------

def field_set(config: Any, schema: Schema | None, *, builtin: bool = True) -> set[Path]:
    """The fields `config` sets, as structured-merge-diff's ToFieldSet computes them."""
    out: set[Path] = set()
    _collect(config, schema, (), out, builtin)
    return out


def _collect(value: Any, schema: Schema | None, path: Path, out: set[Path], builtin: bool) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            declared = schema is not None and key in schema.properties
            sub = (*path, "f:" + key)
            _collect(child, _child_schema(schema, key), sub, out, builtin)
            if child is None or child == {} or not declared:
                out.add(sub)
    elif isinstance(value, list):
        kind = _list_kind(schema, value, builtin)
        if kind.kind == "atomic":
            out.add(path)
            return
        items = schema.items if schema is not None else None
        for item in value:
            sub = (*path, _element(item, kind))
            _collect(item, items, sub, out, builtin)
            out.add(sub)
    else:
        out.add(path)


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """The nested `fieldsV1` document: a member with children carries `".": {}`."""
    tree: dict[str, Any] = {}
    members: set[Path] = set(paths)
    for path in members:
        node = tree
        for key in path:
            node = node.setdefault(key, {})
    _mark(tree, (), members)
    return _sorted_tree(tree)


def _mark(node: dict[str, Any], path: Path, members: set[Path]) -> None:
    for key, child in node.items():
        sub = (*path, key)
        _mark(child, sub, members)
        if child and sub in members:
            child["."] = {}


def _sorted_tree(node: dict[str, Any]) -> dict[str, Any]:
    return {k: _sorted_tree(node[k]) for k in sorted(node)}


def from_fields_v1(doc: Mapping[str, Any] | None) -> set[Path]:
    out: set[Path] = set()
    _read(doc or {}, (), out)
    return out


def _read(node: Mapping[str, Any], path: Path, out: set[Path]) -> None:
    for key, child in node.items():
        if key == ".":
            out.add(path)
            continue
        sub = (*path, key)
        if not child:
            out.add(sub)
        elif isinstance(child, Mapping):
            _read(child, sub, out)


def path_string(path: Path) -> str:
    """A path as fieldpath.Path.String() prints it: `.spec.containers[name="x"].image`, `[="a"]`."""
    parts = []
    for key in path:
        kind, text = key[:2], key[2:]
        if kind == "f:":
            parts.append("." + text)
        elif kind == "k:":
            fields = json.loads(text)
            parts.append("[" + ",".join(f"{k}={_to_string(fields[k])}" for k in sorted(fields)) + "]")
        elif kind == "v:":
            parts.append("[=" + _to_string(json.loads(text)) + "]")
        else:
            parts.append(f"[{text}]")
    return "".join(parts)


def _to_string(value: Any) -> str:
    """structured-merge-diff's value.ToString."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(_to_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ";".join(f"{k}={_to_string(value[k])}" for k in sorted(value)) + "}"
    return str(value)


# --- merging --------------------------------------------------------------------------------------------

def merge(live: Any, config: Any, schema: Schema | None, *, builtin: bool = True) -> Any:
    """`config` merged into `live` (both untouched)."""
    return _merge(copy.deepcopy(live), config, schema, builtin)


def _merge(lhs: Any, rhs: Any, schema: Schema | None, builtin: bool) -> Any:
    if isinstance(rhs, dict) and isinstance(lhs, dict):
        for key, value in rhs.items():
            sub = _child_schema(schema, key)
            lhs[key] = _merge(lhs[key], value, sub, builtin) if key in lhs else copy.deepcopy(value)
        return lhs
    if isinstance(rhs, list) and isinstance(lhs, list):
        kind = _list_kind(schema, rhs, builtin)
        if kind.kind != "atomic":
            return _merge_list(lhs, rhs, kind, schema.items if schema else None, builtin)
    return copy.deepcopy(rhs)


def _merge_list(lhs: list[Any], rhs: list[Any], kind: _ListKind, items: Schema | None,
                builtin: bool) -> list[Any]:
    """structured-merge-diff's mergingWalker.visitListItems: applied items in applied order, live-only
    items where they were, shared items merged."""
    lpe = [_element(i, kind) if kind.kind == "set" or all(k in i for k in kind.keys) else None
           for i in lhs]
    rpe = [_element(i, kind) for i in rhs]
    lobs = {pe: i for pe, i in zip(reversed(lpe), reversed(lhs), strict=True) if pe is not None}
    robs = dict(zip(rpe, rhs, strict=True))
    shared = [pe for pe in rpe if pe in lobs]
    out: list[Any] = []
    done: set[str] = set()
    li = ri = 0

    def take(pe: str) -> None:
        done.add(pe)
        rchild = robs[pe]
        out.append(_merge(copy.deepcopy(lobs[pe]), rchild, items, builtin) if pe in lobs
                   else copy.deepcopy(rchild))
        if shared and shared[0] == pe:
            shared.pop(0)

    while li < len(lhs) or ri < len(rhs):
        if li < len(lhs) and ri < len(rhs):
            pe = lpe[li]
            if pe is not None and pe == rpe[ri]:
                take(pe)
                li, ri = li + 1, ri + 1
                continue
            if pe in robs and shared and shared[0] != pe:
                li += 1
                continue
        if li < len(lhs):
            pe = lpe[li]
            if pe is None or pe not in robs:
                out.append(lhs[li])
                li += 1
                continue
            if pe in done:
                li += 1
                continue
        if ri < len(rhs):
            if rpe[ri] not in done:
                take(rpe[ri])
            ri += 1
    return out


# --- navigating and removing ----------------------------------------------------------------------------

def _lookup(value: Any, path: Path) -> Any:
    for key in path:
        if key.startswith("f:"):
            if not isinstance(value, dict) or key[2:] not in value:
                return _MISSING
            value = value[key[2:]]
        elif isinstance(value, list):
            found = _find(value, key)
            if found < 0:
                return _MISSING
            value = value[found]
        else:
            return _MISSING
    return value


def _find(items: list[Any], key: str) -> int:
    if key.startswith("i:"):
        at = int(key[2:])
        return at if 0 <= at < len(items) else -1
    return next((i for i, item in enumerate(items) if _matches(item, key)), -1)


def _schema_at(schema: Schema | None, path: Path) -> Schema | None:
    for key in path:
        if schema is None:
            return None
        schema = _child_schema(schema, key[2:]) if key.startswith("f:") else schema.items
    return schema


def _remove(obj: dict[str, Any], path: Path) -> None:
    parent = _lookup(obj, path[:-1])
    key = path[-1]
    if key.startswith("f:") and isinstance(parent, dict):
        parent.pop(key[2:], None)
    elif isinstance(parent, list):
        at = _find(parent, key)
        if at >= 0:
            del parent[at]


def _drop_emptied(obj: dict[str, Any], path: Path, keep: set[Path]) -> None:
    """Maps left empty by pruning go too, up to the first one someone still owns or that has content."""
    for depth in range(len(path) - 1, 0, -1):
        parent = path[:depth]
        if not parent[-1].startswith("f:") or parent in keep or any(p[:depth] == parent for p in keep):
            return
        if _lookup(obj, parent) != {}:
            return
        _remove(obj, parent)


# --- apply ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Manager:
    entry: dict[str, Any]
    fields: set[Path]

    @property
    def identity(self) -> tuple[str, str, str, str]:
        e = self.entry
        version = "" if e.get("operation") == APPLY else str(e.get("apiVersion", ""))
        return str(e.get("manager", "")), str(e.get("operation", "")), version, str(e.get("subresource", ""))

    @property
    def applied(self) -> bool:
        return self.entry.get("operation") == APPLY

    def describe(self) -> str:
        """printManager: `"name"`, with its subresource, and `using <apiVersion>` for an Update."""
        e = self.entry
        text = json.dumps(e.get("manager", ""))
        if e.get("subresource"):
            text += f" with subresource {json.dumps(e['subresource'])}"
        if e.get("operation") == UPDATE:
            text += f" using {e.get('apiVersion', '')}"
        return text


def _managers(managed: Any) -> list[_Manager]:
    if not isinstance(managed, list):
        return []
    return [_Manager(dict(e), from_fields_v1(e.get("fieldsV1"))) for e in managed if isinstance(e, dict)]


def conflict_error(conflicts: list[tuple[str, Path]]) -> Conflict:
    """The apiserver's apply conflict (fieldmanager's NewConflictError): 409, reason Conflict."""
    causes = [{"type": "FieldManagerConflict", "message": f"conflict with {who}", "field": path_string(p)}
              for who, p in conflicts]
    if len(conflicts) == 1:
        who, p = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {who}: {path_string(p)}"
    else:
        lines = []
        for who in sorted({w for w, _ in conflicts}):
            lines.append(f"conflicts with {who}:")
            lines.extend(f"- {path_string(p)}" for w, p in conflicts if w == who)
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return Conflict(message, details={"causes": causes})


def _is_leaf(value: Any, schema: Schema | None, builtin: bool) -> bool:
    if isinstance(value, dict):
        return False
    if isinstance(value, list):
        return _list_kind(schema, value, builtin).kind == "atomic"
    return True


def _changed(path: Path, old: dict[str, Any], new: dict[str, Any], schema: Schema | None,
             builtin: bool) -> str:
    """`added`, `modified`, `removed` or `` for one path between the live and the merged object."""
    before, after = _lookup(old, path), _lookup(new, path)
    if after is _MISSING:
        return "removed" if before is not _MISSING else ""
    if before is _MISSING:
        return "added"
    leaf = _is_leaf(after, _schema_at(schema, path), builtin) or _is_leaf(before, _schema_at(schema, path),
                                                                           builtin)
    return "modified" if leaf and before != after else ""


def apply(live: dict[str, Any] | None, config: dict[str, Any], schema: Schema | None, *, manager: str,
          api_version: str, now: str, force: bool = False, builtin: bool = True, subresource: str = "",
          ignored: Iterable[Path] = ()) -> dict[str, Any]:
    """Apply `config` for `manager` to `live` (None: create); return the new object with its
    `metadata.managedFields`. Raises the apiserver's 409 on conflicts unless `force`."""
    if (config.get("metadata") or {}).get("managedFields") is not None:
        raise BadRequest("metadata.managedFields must be nil")
    base = copy.deepcopy(live) if live is not None else {}
    managers = _managers((base.get("metadata") or {}).get("managedFields"))
    if isinstance(base.get("metadata"), dict):
        base["metadata"].pop("managedFields", None)
    ignored = tuple(ignored)
    applied = {p for p in field_set(config, schema, builtin=builtin)
               if p not in STRIPPED and not any(p[:len(i)] == i for i in ignored)}
    me = _Manager({"manager": manager, "operation": APPLY, "apiVersion": api_version, "time": now,
                   "fieldsType": "FieldsV1", **({"subresource": subresource} if subresource else {})}, applied)
    previous = next((m for m in managers if m.identity == me.identity), None)
    others = [m for m in managers if m.identity != me.identity]
    merged = merge(base, config, schema, builtin=builtin)
    if previous is not None:
        _prune(merged, previous.fields, [me, *others])
    others = _settle(base, merged, others, schema, builtin, force)
    if isinstance(merged.get("metadata"), dict) or me.fields or others:
        entries = [_entry(m) for m in _ordered([me, *others]) if m.fields]
        merged.setdefault("metadata", {})["managedFields"] = entries
    return dict(merged)


def _prune(merged: dict[str, Any], last: set[Path], managers: list[_Manager]) -> None:
    """Remove what this manager applied last time and no longer does, unless an applier owns it."""
    owned = set().union(*(m.fields for m in managers if m.applied))
    gone = [p for p in last if p not in owned and not any(o[:len(p)] == p for o in owned)]
    for path in sorted(gone, key=len, reverse=True):
        _remove(merged, path)
        _drop_emptied(merged, path, owned)


def _settle(old: dict[str, Any], new: dict[str, Any], others: list[_Manager], schema: Schema | None,
            builtin: bool, force: bool) -> list[_Manager]:
    """Conflicts with the other managers (409 unless forced), and their sets without what went away."""
    conflicts: list[tuple[str, Path]] = []
    settled = []
    for other in others:
        changes = {p: _changed(p, old, new, schema, builtin) for p in other.fields}
        taken = {p for p, c in changes.items() if c in ("added", "modified")}
        conflicts.extend((other.describe(), p) for p in sorted(taken))
        settled.append(_Manager(other.entry, {p for p in other.fields if p not in taken
                                              and changes[p] != "removed"}))
    if conflicts and not force:
        raise conflict_error(conflicts)
    return settled


def _ordered(managers: list[_Manager]) -> list[_Manager]:
    """managedFields as the apiserver sorts them: by operation, time, manager, apiVersion, subresource."""
    def key(m: _Manager) -> tuple[str, str, str, str, str]:
        e = m.entry
        return (str(e.get("operation", "")), str(e.get("time", "")), str(e.get("manager", "")),
                str(e.get("apiVersion", "")), str(e.get("subresource", "")))
    return sorted(managers, key=key)


def _entry(m: _Manager) -> dict[str, Any]:
    entry = {k: v for k, v in m.entry.items() if k not in ("fieldsV1", "fieldsType")}
    entry["fieldsType"] = "FieldsV1"
    entry["fieldsV1"] = to_fields_v1(m.fields)
    return {k: entry[k] for k in ("manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1",
                                  "subresource") if k in entry}


def keep_time(obj: dict[str, Any], live: dict[str, Any], manager: str) -> dict[str, Any]:
    """The apiserver only stamps an applier's time when the apply changed the object: give the entry
    back the time it had on `live` (when it had one)."""
    before = {e.get("manager"): e.get("time") for e in (live.get("metadata") or {}).get("managedFields") or []
              if isinstance(e, dict) and e.get("operation") == APPLY}
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("operation") == APPLY and entry.get("manager") == manager and before.get(manager):
            entry["time"] = before[manager]
    return obj
