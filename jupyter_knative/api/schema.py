"""Structural schemas: a small DSL, validation with pruning, and the OpenAPI v3 rendering.

Each resource version declares a `Schema` (as a CRD's `openAPIV3Schema` would). The API server uses it
to (1) find and drop unknown fields (reported per `fieldValidation`: Strict, Warn or Ignore), (2) reject
values of the wrong type with the apiserver's messages and field paths, and (3) publish the OpenAPI
documents kubectl reads. Patch metadata (`x-kubernetes-patch-merge-key`) drives strategic merge patch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .status import FieldError, format_value


@dataclass(frozen=True, slots=True)
class Schema:
    type: str | None = None  # object, array, string, integer, number, boolean; None: any JSON value
    description: str = ""
    properties: Mapping[str, Schema] = field(default_factory=dict)
    additional_properties: Schema | None = None  # map[string]<schema>
    items: Schema | None = None
    required: tuple[str, ...] = ()
    enum: tuple[Any, ...] = ()
    format: str = ""
    nullable: bool = False
    preserve_unknown_fields: bool = False
    int_or_string: bool = False
    embedded_resource: bool = False
    patch_strategy: str = ""  # merge, replace, retainKeys, "merge,retainKeys"
    patch_merge_key: str = ""
    list_type: str = ""  # atomic, set, map
    list_map_keys: tuple[str, ...] = ()

    def field(self, name: str) -> Schema | None:
        """Schema of a child field (map values included); None where the schema says nothing."""
        if self.type == "array":
            return self.items
        if name in self.properties:
            return self.properties[name]
        return self.additional_properties


# --- builders -----------------------------------------------------------------------------------------

def obj(props: Mapping[str, Schema] | None = None, *, required: tuple[str, ...] = (),
        description: str = "", preserve: bool = False, embedded: bool = False,
        strategy: str = "") -> Schema:
    return Schema("object", description, dict(props or {}), required=required,
                  preserve_unknown_fields=preserve, embedded_resource=embedded, patch_strategy=strategy)


def arr(items: Schema, *, description: str = "", merge_key: str = "", strategy: str = "",
        list_type: str = "", map_keys: tuple[str, ...] = ()) -> Schema:
    return Schema("array", description, items=items, patch_merge_key=merge_key, patch_strategy=strategy,
                  list_type=list_type, list_map_keys=map_keys)


def map_of(values: Schema, *, description: str = "") -> Schema:
    return Schema("object", description, additional_properties=values)


def string(description: str = "", *, enum: tuple[str, ...] = (), format: str = "") -> Schema:
    return Schema("string", description, enum=enum, format=format)


def integer(description: str = "", *, format: str = "int64") -> Schema:
    return Schema("integer", description, format=format)


def number(description: str = "") -> Schema:
    return Schema("number", description, format="double")


def boolean(description: str = "") -> Schema:
    return Schema("boolean", description)


def int_or_string(description: str = "") -> Schema:
    return Schema(None, description, int_or_string=True)


def any_value(description: str = "") -> Schema:
    """Any JSON value, kept as it is (`x-kubernetes-preserve-unknown-fields` without a type)."""
    return Schema(None, description, preserve_unknown_fields=True)


def free_object(description: str = "") -> Schema:
    """An object whose content is not described: kept as it is."""
    return Schema("object", description, preserve_unknown_fields=True)


# --- validation and pruning ---------------------------------------------------------------------------

@dataclass
class Findings:
    errors: list[FieldError] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # paths of dropped unknown fields


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int, float),
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _is_type(value: Any, type_: str) -> bool:
    if isinstance(value, bool):
        return type_ == "boolean"
    if type_ == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _PY_TYPES[type_])


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def check(schema: Schema, value: Any, path: str = "", findings: Findings | None = None) -> Findings:
    """Validate `value` against `schema`, dropping unknown fields in place; return what was found."""
    found = findings if findings is not None else Findings()
    _check(schema, value, path, found)
    return found


def _type_error(path: str, value: Any, expected: str) -> FieldError:
    actual = _type_name(value)
    return FieldError("FieldValueTypeInvalid", path, actual,
                      f"{path} in body must be of type {expected}: {format_value(actual)}")


def _check(schema: Schema, value: Any, path: str, found: Findings) -> None:
    if schema.int_or_string:
        if not (isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))):
            found.errors.append(_type_error(path, value, "integer,string"))
        return
    if schema.type is None:
        return
    if not _is_type(value, schema.type):
        found.errors.append(_type_error(path, value, schema.type))
        return
    if schema.enum and value not in schema.enum:
        found.errors.append(FieldError("FieldValueNotSupported", path, value,
                                       supported=tuple(str(e) for e in schema.enum)))
    if schema.type == "object":
        _check_object(schema, value, path, found)
    elif schema.type == "array" and schema.items is not None:
        for i, item in enumerate(value):
            if item is None and not schema.items.nullable:
                found.errors.append(_type_error(f"{path}[{i}]", item, schema.items.type or "object"))
                continue
            _check(schema.items, item, f"{path}[{i}]", found)


def _check_object(schema: Schema, value: dict[str, Any], path: str, found: Findings) -> None:
    for name in schema.required:
        if name not in value or value[name] is None:
            found.errors.append(FieldError("FieldValueRequired", _child(path, name)))
    for key in list(value):
        sub = schema.properties.get(key) or schema.additional_properties
        child = _child(path, key) if key in schema.properties or schema.additional_properties is None \
            else f"{path}[{key}]"
        if sub is None:
            if not schema.preserve_unknown_fields:
                found.unknown.append(child)
                del value[key]
            continue
        item = value[key]
        if item is None and not sub.nullable:
            # The apiserver prunes nulls of non-nullable fields before validating (clients send them).
            del value[key]
            continue
        _check(sub, item, child, found)


# --- OpenAPI v3 rendering -----------------------------------------------------------------------------

def to_openapi(schema: Schema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if schema.type:
        out["type"] = schema.type
    if schema.description:
        out["description"] = schema.description
    if schema.format:
        out["format"] = schema.format
    if schema.enum:
        out["enum"] = list(schema.enum)
    if schema.nullable:
        out["nullable"] = True
    if schema.properties:
        out["properties"] = {k: to_openapi(v) for k, v in schema.properties.items()}
    if schema.additional_properties is not None:
        out["additionalProperties"] = to_openapi(schema.additional_properties)
    if schema.items is not None:
        out["items"] = to_openapi(schema.items)
    if schema.required:
        out["required"] = list(schema.required)
    if schema.preserve_unknown_fields:
        out["x-kubernetes-preserve-unknown-fields"] = True
    if schema.int_or_string:
        out["x-kubernetes-int-or-string"] = True
    if schema.embedded_resource:
        out["x-kubernetes-embedded-resource"] = True
    if schema.patch_strategy:
        out["x-kubernetes-patch-strategy"] = schema.patch_strategy
    if schema.patch_merge_key:
        out["x-kubernetes-patch-merge-key"] = schema.patch_merge_key
    if schema.list_type:
        out["x-kubernetes-list-type"] = schema.list_type
    if schema.list_map_keys:
        out["x-kubernetes-list-map-keys"] = list(schema.list_map_keys)
    return out
