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

    Server-side apply (`application/apply-patch+yaml`) is listed as accepted, as the apiserver lists it,
    but is not implemented here: it is refused with the same 415.
    """
    media_type = content_type.split(";", 1)[0] if content_type.find(";") > 0 else content_type
    accepted = accepted_patch_types(builtin)
    if media_type not in accepted or media_type == APPLY_PATCH:
        raise UnsupportedMediaType("the body of the request was in an unknown format - "
                                   "accepted media types include: " + ", ".join(accepted))
    if media_type == JSON_PATCH:
        return json_patch(target, _decode(body, "error decoding patch: "))
    if media_type == MERGE_PATCH:
        return _merge_patch_body(target, _decode(body, "error decoding patch: "))
    return _strategic_patch_body(target, _decode(body, ""), schema)


def _merge_patch_body(target: dict[str, Any], document: Any) -> dict[str, Any]:
    if document is None:
        raise BadRequest("Invalid JSON Patch")  # evanphx/json-patch refuses a `null` merge patch
    if not isinstance(document, dict):
        raise BadRequest("error decoding patch: " + _unmarshal_error(document, _GO_MAP))
    result: dict[str, Any] = merge_patch(target, document)
    return result


def _strategic_patch_body(target: dict[str, Any], document: Any, schema: Schema | None) -> dict[str, Any]:
    if document is None:
        return copy.deepcopy(target)
    if not isinstance(document, dict):
        raise BadRequest(_unmarshal_error(document, _GO_MAP))
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
        raise BadRequest(prefix + _unmarshal_error(ops, "[]handlers.jsonPatchOp"))
    for op in ops:
        if op is not None and not isinstance(op, dict):
            raise BadRequest(prefix + _unmarshal_error(op, "handlers.jsonPatchOp"))
        for name, value in (op or {}).items():
            if name in ("op", "path", "from") and value is not None and not isinstance(value, str):
                raise BadRequest(f"{prefix}json: cannot unmarshal {_json_kind(value)} into Go struct field "
                                 f"jsonPatchOp.{name} of type string")


# --- request bodies -------------------------------------------------------------------------------------

_GO_MAP = "map[string]interface {}"


def _decode(body: bytes, prefix: str) -> Any:
    """Parse JSON; a syntax error becomes a 400 worded as Go's encoding/json words it."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        error = _go_syntax_error(body)
        if error is not None:
            raise BadRequest(prefix + error) from None
    # Valid JSON orjson refuses (integers beyond 64 bits, invalid UTF-8, deep nesting): Go accepts it.
    try:
        return json.loads(body.decode("utf-8", errors="replace"))
    except RecursionError:
        raise BadRequest(prefix + "exceeded max depth") from None


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


def _unmarshal_error(value: Any, go_type: str) -> str:
    return f"json: cannot unmarshal {_json_kind(value)} into Go value of type {go_type}"


_WHITESPACE = b" \t\r\n"
_LITERALS = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}


def _quote_char(c: int) -> str:
    """Go's `quoteChar`: how encoding/json shows the offending byte."""
    if c == ord("'"):
        return "'\\''"
    if c == ord('"'):
        return "'\"'"
    named = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}
    if c in named:
        return f"'{named[c]}'"
    if c < 0x20 or c == 0x7F:
        return f"'\\x{c:02x}'"
    if not chr(c).isprintable():
        return f"'\\u{c:04x}'"
    return f"'{chr(c)}'"


class _GoSyntaxError(Exception):
    pass


def _go_syntax_error(data: bytes) -> str | None:
    """The first syntax error in `data` as Go's encoding/json reports it, or None if it is valid JSON."""
    try:
        _GoScanner(data).scan()
    except _GoSyntaxError as err:
        return str(err)
    return None


class _GoScanner:
    """A JSON syntax checker that fails on the same byte, with the same words, as Go's scanner."""

    MAX_DEPTH = 10000

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def fail(self, context: str) -> _GoSyntaxError:
        if self.pos >= len(self.data):
            return _GoSyntaxError("unexpected end of JSON input")
        return _GoSyntaxError(f"invalid character {_quote_char(self.data[self.pos])} {context}")

    def peek(self) -> int:
        return self.data[self.pos] if self.pos < len(self.data) else -1

    def skip_space(self) -> int:
        while self.pos < len(self.data) and self.data[self.pos] in _WHITESPACE:
            self.pos += 1
        return self.peek()

    def scan(self) -> None:
        stack: list[int] = []  # the open containers, as their opening byte
        need_value = True
        while need_value or stack:
            need_value = self.value(stack) if need_value else self.after_value(stack)
        if self.skip_space() != -1:
            raise self.fail("after top-level value")

    def value(self, stack: list[int]) -> bool:
        """Scan one value; True when it opened a container whose first value comes next."""
        c = self.skip_space()
        if c in (ord("{"), ord("[")):
            if len(stack) >= self.MAX_DEPTH:
                raise self.fail("exceeded max depth")
            self.pos += 1
            close = ord("}") if c == ord("{") else ord("]")
            if self.skip_space() == close:
                self.pos += 1
                return False
            stack.append(c)
            if c == ord("{"):
                self.key()
            return True
        if c == ord('"'):
            self.string()
        elif c == ord("-") or ord("0") <= c <= ord("9"):
            self.number()
        elif c in _LITERALS:
            self.literal(_LITERALS[c])
        else:
            raise self.fail("looking for beginning of value")
        return False

    def key(self) -> None:
        if self.skip_space() != ord('"'):
            raise self.fail("looking for beginning of object key string")
        self.string()
        if self.skip_space() != ord(":"):
            raise self.fail("after object key")
        self.pos += 1

    def after_value(self, stack: list[int]) -> bool:
        """After a value inside a container: True when a `,` asks for the next value."""
        c = self.skip_space()
        in_object = stack[-1] == ord("{")
        if c == ord(","):
            self.pos += 1
            if in_object:
                self.key()
            return True
        if c == (ord("}") if in_object else ord("]")):
            self.pos += 1
            stack.pop()
            return False
        raise self.fail("after object key:value pair" if in_object else "after array element")

    def string(self) -> None:
        self.pos += 1
        while True:
            c = self.peek()
            if c == -1:
                raise self.fail("")
            if c == ord('"'):
                self.pos += 1
                return
            if c < 0x20:
                raise self.fail("in string literal")
            self.pos += 1
            if c == ord("\\"):
                self.escape()

    def escape(self) -> None:
        c = self.peek()
        if c == ord("u"):
            self.pos += 1
            for _ in range(4):
                if self.peek() == -1 or chr(self.peek()) not in "0123456789abcdefABCDEF":
                    raise self.fail("in \\u hexadecimal character escape")
                self.pos += 1
        elif c != -1 and chr(c) in '"\\/bfnrt':
            self.pos += 1
        else:
            raise self.fail("in string escape code")

    def digits(self, context: str) -> None:
        if not ord("0") <= self.peek() <= ord("9"):
            raise self.fail(context)
        while ord("0") <= self.peek() <= ord("9"):
            self.pos += 1

    def number(self) -> None:
        if self.peek() == ord("-"):
            self.pos += 1
        if self.peek() == ord("0"):
            self.pos += 1
        else:
            self.digits("in numeric literal")
        if self.peek() == ord("."):
            self.pos += 1
            self.digits("after decimal point in numeric literal")
        if self.peek() in (ord("e"), ord("E")):
            self.pos += 1
            if self.peek() in (ord("+"), ord("-")):
                self.pos += 1
            self.digits("in exponent of numeric literal")

    def literal(self, word: bytes) -> None:
        self.pos += 1
        for expected in word[1:]:
            if self.peek() != expected:
                raise self.fail(f"in literal {word.decode()} (expecting {_quote_char(expected)})")
            self.pos += 1


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
        raise BadRequest(f"expected a {_GO_MAP}, but received a {_go_type_name(item)}")
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
    names: list[tuple[type, str]] = [(dict, _GO_MAP), (list, "[]interface {}"), (str, "string"),
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

