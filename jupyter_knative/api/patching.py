"""PATCH bodies applied as the kube-apiserver applies them.

Three patch formats, chosen by Content-Type:

- `application/merge-patch+json`: RFC 7386 JSON merge patch (`merge_patch`);
- `application/json-patch+json`: RFC 6902 JSON patch (`json_patch`, via the `jsonpatch` library);
- `application/strategic-merge-patch+json`: Kubernetes strategic merge patch, built-in kinds only
  (`strategic_merge_patch`), driven by the `patch_strategy` / `patch_merge_key` of a `Schema`.

Failures are the `StatusError`s the apiserver answers with (handlers/patch.go): a malformed body is a 400
whose message is what Go's `encoding/json` would say, a JSON patch operation that cannot be applied is the
apiserver's generic 422, an unsupported Content-Type is a 415 listing the accepted media types.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import jsonpatch
import jsonpointer
import orjson

from .gojson import GO_MAP, decode_json, json_kind, unmarshal_error
from .schema import Schema
from .status import BadRequest, Invalid, RequestEntityTooLarge, UnsupportedMediaType

__all__ = [
    "APPLY_PATCH",
    "JSON_PATCH",
    "MAX_JSON_PATCH_OPERATIONS",
    "MERGE_PATCH",
    "REJECTED",
    "STRATEGIC_MERGE_PATCH",
    "accepted_patch_types",
    "apply_patch",
    "json_patch",
    "merge_patch",
    "strategic_merge_patch",
]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# What NewGenericServerResponse(422, ...) says; the apiserver drops the underlying error text.
REJECTED = "the server rejected our request due to an error in our request"
MAX_JSON_PATCH_OPERATIONS = 10000


def accepted_patch_types(builtin: bool) -> tuple[str, ...]:
    """The media types the apiserver lists for a resource: CRDs never take strategic merge patch."""
    if builtin:
        return JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH
    return JSON_PATCH, MERGE_PATCH, APPLY_PATCH


def apply_patch(content_type: str, target: dict[str, Any], body: bytes, schema: Schema | None,
                builtin: bool) -> dict[str, Any]:
    """Apply a PATCH request body to `target` (not modified) and return the patched object.

    Server-side apply (`application/apply-patch+yaml`) is not a patch of `target` alone: it needs the
    field manager and the managed fields, so the PATCH handler hands it to `applying.apply` instead.
    Here (e.g. on the scale subresource) it is refused with the same 415.
    """
    media_type = content_type.split(";", 1)[0] if content_type.find(";") > 0 else content_type
    accepted = accepted_patch_types(builtin)
    if media_type not in accepted or media_type == APPLY_PATCH:
        raise UnsupportedMediaType("the body of the request was in an unknown format - "
                                   "accepted media types include: " + ", ".join(accepted))
    if media_type == JSON_PATCH:
        return json_patch(target, decode_json(body, "error decoding patch: "))
    if media_type == MERGE_PATCH:
        return _merge_patch_body(target, decode_json(body, "error decoding patch: "))
    return _strategic_patch_body(target, decode_json(body, ""), schema)


def _merge_patch_body(target: dict[str, Any], document: Any) -> dict[str, Any]:
    if document is None:
        raise BadRequest("Invalid JSON Patch")  # evanphx/json-patch refuses a `null` merge patch
    if not isinstance(document, dict):
        raise BadRequest("error decoding patch: " + unmarshal_error(document, GO_MAP))
    result: dict[str, Any] = merge_patch(target, document)
    return result


def _strategic_patch_body(target: dict[str, Any], document: Any, schema: Schema | None) -> dict[str, Any]:
    if document is None:
        return copy.deepcopy(target)
    if not isinstance(document, dict):
        raise BadRequest(unmarshal_error(document, GO_MAP))
    return strategic_merge_patch(target, document, schema)


# --- JSON merge patch (RFC 7386) ------------------------------------------------------------------------

def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, `null` deletes, anything else replaces. Inputs are untouched."""
    return _merged(copy.deepcopy(target), patch)


def _merged(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merged(result.get(key), value)
    return result


# --- JSON patch (RFC 6902) ------------------------------------------------------------------------------

_JSON_PATCH_ERRORS = (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException,
                      KeyError, IndexError, TypeError, ValueError)


def json_patch(target: dict[str, Any], ops: Any) -> dict[str, Any]:
    """Apply RFC 6902 operations (decoded JSON) to a copy of `target`."""
    if ops is None:  # Go decodes `null` as an empty patch
        return copy.deepcopy(target)
    _check_operations(ops)
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise RequestEntityTooLarge("Request entity too large: The allowed maximum operations in a JSON "
                                    f"patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}")
    try:
        result = jsonpatch.JsonPatch(copy.deepcopy(ops)).apply(target)
    except _JSON_PATCH_ERRORS as err:
        raise Invalid(REJECTED) from err
    if not isinstance(result, dict):
        shown = json.dumps(orjson.dumps(result).decode())
        raise Invalid(f' "" is invalid: patch: Invalid value: {shown}: '
                      "the patched document must be a JSON object")
    return result


def _check_operations(ops: Any) -> None:
    """Reject what the apiserver's strict decode into `[]jsonPatchOp` rejects, with its messages."""
    prefix = "error decoding patch: "
    if not isinstance(ops, list):
        raise BadRequest(prefix + unmarshal_error(ops, "[]handlers.jsonPatchOp"))
    for op in ops:
        if op is not None and not isinstance(op, dict):
            raise BadRequest(prefix + unmarshal_error(op, "handlers.jsonPatchOp"))
        for name, value in (op or {}).items():
            if name in ("op", "path", "from") and value is not None and not isinstance(value, str):
                raise BadRequest(f"{prefix}json: cannot unmarshal {json_kind(value)} into Go struct field "
                                 f"jsonPatchOp.{name} of type string")


# --- strategic merge patch ------------------------------------------------------------------------------

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
SET_ELEMENT_ORDER = "$setElementOrder"


def strategic_merge_patch(target: dict[str, Any], patch: dict[str, Any],
                          schema: Schema | None) -> dict[str, Any]:
    """Kubernetes strategic merge patch (apimachinery strategicpatch, server side), inputs untouched.

    Lists whose schema says `patch_strategy: merge` are merged: by `patch_merge_key` for lists of objects,
    as sets for lists of scalars; elements the patch adds go where k8s puts them (see `_interleave`).
    Other lists are replaced; maps merge; `null` deletes. Where the schema says nothing, this is a JSON
    merge patch. Unlike k8s, values the patch introduces are cleaned of directives and nulls, because this
    store keeps the merged map as it is instead of decoding it into a Go struct.
    """
    result = _merge_map(copy.deepcopy(target), copy.deepcopy(patch), schema)
    return result


def _strategy(schema: Schema | None) -> str:
    """`merge`, `replace` or ``: the strategy besides `retainKeys` (which acts through `$retainKeys`)."""
    parts = [p for p in (schema.patch_strategy if schema else "").split(",") if p and p != "retainKeys"]
    return parts[0] if parts else ""


def _child(schema: Schema | None, name: str) -> Schema | None:
    return schema.field(name) if schema is not None else None


def _merge_map(original: dict[str, Any], patch: dict[str, Any], schema: Schema | None) -> dict[str, Any]:
    """Merge `patch` into `original`; both are private copies and may be modified."""
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == "delete":
            return {}
        if directive not in ("replace", "merge"):
            raise BadRequest(f"unknown patch type: {_go_v(directive)} in map: {_go_v(patch)}")
        del patch[DIRECTIVE]
        if directive == "replace":
            return _merge_map({}, patch, schema)
    _apply_retain_keys(original, patch)
    _apply_element_orders(original, patch, schema)
    deletions = []
    for key, value in patch.items():
        if key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            deletions.append((_directive_field(key, DELETE_FROM_PRIMITIVE_LIST), value))
        elif key.startswith("$") and (schema is None or key not in schema.properties):
            raise BadRequest(f'unknown directive "{key}" in strategic merge patch')
        else:
            _merge_field(original, key, value, _child(schema, key))
    for key, values in deletions:
        _delete_from_list(original, key, values)
    return original


def _merge_field(original: dict[str, Any], key: str, value: Any, schema: Schema | None) -> None:
    if value is None:
        original.pop(key, None)
        return
    current = original.get(key)
    if key not in original or _kind(current) != _kind(value):
        original[key] = _fresh(value, schema)
    elif isinstance(current, dict):
        replace = _strategy(schema) == "replace"
        original[key] = _fresh(value, schema) if replace else _merge_map(current, value, schema)
    elif isinstance(current, list) and _strategy(schema) == "merge":
        original[key] = _merge_list(current, value, schema)
    else:
        original[key] = value


def _kind(value: Any) -> str:
    return "map" if isinstance(value, dict) else "list" if isinstance(value, list) else "scalar"


def _fresh(value: Any, schema: Schema | None) -> Any:
    """A value the patch introduces, with its directives applied (k8s stores it as sent)."""
    if isinstance(value, dict):
        return _merge_map({}, value, schema)
    if not isinstance(value, list) or _strategy(schema) != "merge":
        return value
    merge_key = schema.patch_merge_key if schema else ""
    if merge_key and any(isinstance(e, dict) and merge_key not in e for e in value):
        # Left for validation to report (`containers[0].name: Required value`), as k8s does.
        return [_fresh(e, schema.items if schema else None) for e in value]
    return _merge_list([], value, schema)


def _directive_field(key: str, prefix: str) -> str:
    head, _, field = key.partition("/")
    if head != prefix or not field:
        raise BadRequest("invalid patch format of primitive list" if prefix == DELETE_FROM_PRIMITIVE_LIST
                         else "invalid patch format of setElementOrder list")
    return field


def _delete_from_list(original: dict[str, Any], key: str, values: Any) -> None:
    if not isinstance(values, list):
        raise BadRequest("invalid patch format of primitive list")
    current = original.get(key)
    if isinstance(current, list):
        original[key] = [item for item in current if not any(_same(item, v) for v in values)]


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    """`$retainKeys`: clear the keys it does not list; every key the patch sets must be listed."""
    if RETAIN_KEYS not in patch:
        return
    keep = patch.pop(RETAIN_KEYS)
    if not isinstance(keep, list):
        raise BadRequest("invalid patch format of retainKeys")
    for key, value in patch.items():
        skipped = value is None or key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER))
        if not skipped and key not in keep:
            raise BadRequest("invalid patch format of retainKeys")
    for key in [k for k in original if k not in keep]:
        del original[key]


# --- lists ----------------------------------------------------------------------------------------------

def _same(a: Any, b: Any) -> bool:
    """Go's `==` on decoded JSON: equal values of the same type (1 and 1.0, 1 and true differ)."""
    return type(a) is type(b) and bool(a == b)


def _merge_key_value(item: Any, merge_key: str) -> Any:
    return item.get(merge_key) if isinstance(item, dict) else None


def _index(items: list[Any], item: Any, merge_key: str) -> int:
    """Position of `item` in `items`, by merge key for objects and by value for scalars; -1 if absent."""
    for i, candidate in enumerate(items):
        if merge_key:
            if _same(_merge_key_value(candidate, merge_key), _merge_key_value(item, merge_key)):
                return i
        elif _same(candidate, item):
            return i
    return -1


def _element_kind(items: list[Any]) -> str:
    kinds = {_kind(item) for item in items}
    if "list" in kinds:
        raise Invalid(REJECTED)  # mergepatch.ErrNoListOfLists, answered as the generic 422
    if len(kinds) > 1:
        raise BadRequest(f"list element types are not identical: {_go_v(items)}")
    return kinds.pop() if kinds else "scalar"


def _require_merge_key(item: Any, merge_key: str) -> None:
    if not isinstance(item, dict):
        raise BadRequest(f"expected a {GO_MAP}, but received a {_go_type_name(item)}")
    if merge_key not in item:
        raise BadRequest(f"map: {_go_v(item)} does not contain declared merge key: {merge_key}")


def _merge_list(original: list[Any], patch: list[Any], schema: Schema | None) -> list[Any]:
    """Merge a patch list into a list whose strategy is `merge`."""
    if not original and not patch:
        return original
    merge_key = schema.patch_merge_key if schema else ""
    items = schema.items if schema else None
    if _element_kind(original + patch) == "scalar":
        merged = _dedupe(original + patch)
        return _order(merged, patch, original, "")
    if not merge_key:
        raise BadRequest("cannot merge lists without merge key for type map")
    original, patch = _special_elements(original, patch, merge_key, items)
    merged = list(original)  # grows; `original` stays the server order for _order
    for element in patch:
        _require_merge_key(element, merge_key)
        at = _index(merged, element, merge_key)
        if at >= 0:
            merged[at] = _merge_map(merged[at], element, items)
        else:
            merged.append(_fresh(element, items))
    return _order(merged, patch, original, merge_key)


def _dedupe(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if not any(_same(item, seen) for seen in out):
            out.append(item)
    return out


def _special_elements(original: list[Any], patch: list[Any], merge_key: str,
                      items: Schema | None) -> tuple[list[Any], list[Any]]:
    """Handle elements carrying `$patch`: delete by merge key, replace the whole list, or plain merge."""
    rest: list[Any] = []
    replace = False
    for element in patch:
        if DIRECTIVE not in element:
            rest.append(element)
            continue
        directive = element[DIRECTIVE]
        if directive == "delete":
            _require_merge_key(element, merge_key)
            original = [o for o in original if not _same(_merge_key_value(o, merge_key), element[merge_key])]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            stripped = {k: v for k, v in element.items() if k != DIRECTIVE}
            if stripped:
                rest.append(stripped)
        else:
            raise BadRequest(f"unknown patch type: {_go_v(directive)} in map: {_go_v(element)}")
    if replace:
        return [_fresh(e, items) for e in rest], []
    return original, rest


def _order(merged: list[Any], patch_order: list[Any], server_order: list[Any], merge_key: str) -> list[Any]:
    """k8s ordering of a merged list: patch items in patch order, woven into the server-only items."""
    for item in merged if merge_key else ():
        _require_merge_key(item, merge_key)
    patch_items = [m for m in merged if _index(patch_order, m, merge_key) >= 0]
    server_only = [m for m in merged if _index(patch_order, m, merge_key) < 0]
    return _interleave(_sorted_by(server_only, server_order, merge_key),
                       _sorted_by(patch_items, patch_order, merge_key), server_order, merge_key)


def _sorted_by(items: list[Any], order: list[Any], merge_key: str) -> list[Any]:
    def position(item: Any) -> int:
        at = _index(order, item, merge_key)
        return at if at >= 0 else len(order)
    return sorted(items, key=position)


def _interleave(server: list[Any], patch: list[Any], server_order: list[Any], merge_key: str) -> list[Any]:
    """apimachinery's mergeSortedSlice: a server item goes first only if both items were on the server and
    it came earlier there; so an item new to the list lands before the server items that follow it."""
    out: list[Any] = []
    i = j = 0
    while i < len(server) or j < len(patch):
        if j >= len(patch):
            out.append(server[i])
            i += 1
            continue
        if i < len(server):
            left = _index(server_order, server[i], merge_key)
            if 0 <= left < _index(server_order, patch[j], merge_key):
                out.append(server[i])
                i += 1
                continue
        out.append(patch[j])
        j += 1
    return out


# --- $setElementOrder -----------------------------------------------------------------------------------

def _go_type_name(value: Any) -> str:
    if value is None:
        return "%!s(<nil>)"
    names: list[tuple[type, str]] = [(dict, GO_MAP), (list, "[]interface {}"), (str, "string"),
                                     (bool, "bool"), (int, "int64"), (float, "float64")]
    return next(name for cls, name in names if isinstance(value, cls))


def _as_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise BadRequest(f"expected a []interface {{}}, but received a {_go_type_name(value)}")
    return value


def _apply_element_orders(original: dict[str, Any], patch: dict[str, Any], schema: Schema | None) -> None:
    """`$setElementOrder/<field>`: merge that list now and order it as the directive says."""
    for key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        order = _as_list(patch.pop(key))
        field = _directive_field(key, SET_ELEMENT_ORDER)
        if patch.get(field, []) is None:
            continue  # the list is being deleted; the main loop does it
        field_schema = _child(schema, field)
        merge_key = field_schema.patch_merge_key if field_schema else ""
        current = _as_list(original[field]) if field in original else None
        incoming = _as_list(patch.pop(field)) if field in patch else None
        _check_order(incoming or [], order, merge_key)
        if current is None and incoming is None:
            continue
        merged: list[Any]
        if current is None or incoming is None:
            merged = current if current is not None else _fresh(incoming, field_schema)
        elif _strategy(field_schema) == "merge":
            merged = _merge_list(current, incoming, field_schema)
        else:
            merged = incoming
        original[field] = _order(merged, order, current or [], merge_key)


def _check_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """The patch list, deletions aside, must be a subsequence of the `$setElementOrder` list."""
    if not patch_list or not order:
        return
    kept = [p for p in patch_list if not (merge_key and isinstance(p, dict) and p.get(DIRECTIVE) == "delete")]
    p = o = 0
    while p < len(kept) and o < len(order):
        if isinstance(kept[p], dict) and DIRECTIVE in kept[p]:
            p += 1
            continue
        if _order_key_equal(kept[p], order[o], merge_key):
            p += 1
        o += 1
    if p < len(kept):
        raise BadRequest(f"The order in patch list:\n{_go_v(patch_list)}\n doesn't match "
                         f"{SET_ELEMENT_ORDER} list:\n{_go_v(order)}\n")


def _order_key_equal(item: Any, order_item: Any, merge_key: str) -> bool:
    if not merge_key:
        return _same(item, order_item)
    for m in (item, order_item):
        _require_merge_key(m, merge_key)
    return _same(item[merge_key], order_item[merge_key])


# --- Go's %v, for error messages ------------------------------------------------------------------------

def _go_float(value: float) -> str:
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


_GO_V: list[tuple[type, Callable[[Any], str]]] = [
    (bool, lambda v: "true" if v else "false"),
    (dict, lambda v: "map[" + " ".join(f"{k}:{_go_v(v[k])}" for k in sorted(v)) + "]"),
    (list, lambda v: "[" + " ".join(_go_v(x) for x in v) + "]"),
    (float, _go_float),
]


def _go_v(value: Any) -> str:
    if value is None:
        return "<nil>"
    for cls, render in _GO_V:
        if isinstance(value, cls):
            return render(value)
    return str(value)

