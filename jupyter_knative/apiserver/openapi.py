"""OpenAPI v3 documents: what `kubectl apply` needs for server-side field validation, and what
`kubectl explain` reads. One document per group-version, addressed by content hash."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from ..api.registry import Registry, ResourceType, Version
from ..api.schema import to_openapi
from .discovery import version_info


def _schema_name(rt: ResourceType, v: Version, suffix: str = "") -> str:
    if not rt.group:
        return f"io.k8s.api.core.v1.{rt.kind}{suffix}"
    if rt.group == "apps":
        return f"io.k8s.api.apps.{v.name}.{rt.kind}{suffix}"
    reversed_group = ".".join(reversed(rt.group.split(".")))
    return f"{reversed_group}.{v.name}.{rt.kind}{suffix}"


def _param(name: str, where: str = "query", required: bool = False, description: str = "") -> dict[str, Any]:
    p: dict[str, Any] = {"name": name, "in": where, "schema": {"type": "string", "uniqueItems": True}}
    if required:
        p["required"] = True
    if description:
        p["description"] = description
    return p


_FIELD_VALIDATION = _param("fieldValidation", description=(
    "How to treat unknown or duplicate fields in the request body: Ignore, Warn (the default) or Strict."))
_WRITE_PARAMS = [_param("dryRun"), _param("fieldManager"), _FIELD_VALIDATION]
_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")


def _operation(rt: ResourceType, v: Version, action: str, op_id: str, ref: str,
               body: tuple[str, ...] = (), params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": v.name, "kind": rt.kind},
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": ref}}}},
                      "401": {"description": "Unauthorized"}},
    }
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {"content": {t: {"schema": {"$ref": ref}} for t in body}, "required": True}
    return op


def _paths(rt: ResourceType, v: Version) -> dict[str, Any]:
    prefix = f"/apis/{rt.group}/{v.name}" if rt.group else f"/api/{v.name}"
    base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
    obj_ref = "#/components/schemas/" + _schema_name(rt, v)
    list_ref = "#/components/schemas/" + _schema_name(rt, v, "List")
    scope = [_param("namespace", "path", True)] if rt.namespaced else []
    item = [*scope, _param("name", "path", True)]
    kind = rt.kind
    paths: dict[str, Any] = {
        base: {
            "get": _operation(rt, v, "list", f"list{kind}", list_ref, params=[
                _param("labelSelector"), _param("fieldSelector"), _param("watch"), _param("resourceVersion"),
                _param("limit"), _param("continue"), _param("timeoutSeconds")]),
            "post": _operation(rt, v, "post", f"create{kind}", obj_ref, ("application/json", "application/yaml"),
                               _WRITE_PARAMS),
            "delete": _operation(rt, v, "deletecollection", f"deletecollection{kind}", obj_ref),
            "parameters": scope,
        },
        f"{base}/{{name}}": {
            "get": _operation(rt, v, "get", f"read{kind}", obj_ref),
            "put": _operation(rt, v, "put", f"replace{kind}", obj_ref, ("application/json", "application/yaml"),
                              _WRITE_PARAMS),
            "patch": _operation(rt, v, "patch", f"patch{kind}", obj_ref, _PATCH_TYPES,
                                [*_WRITE_PARAMS, _param("force")]),
            "delete": _operation(rt, v, "delete", f"delete{kind}", obj_ref),
            "parameters": item,
        },
    }
    if "status" in rt.subresources:
        paths[f"{base}/{{name}}/status"] = {
            "get": _operation(rt, v, "get", f"read{kind}Status", obj_ref),
            "put": _operation(rt, v, "put", f"replace{kind}Status", obj_ref, ("application/json",),
                              _WRITE_PARAMS),
            "patch": _operation(rt, v, "patch", f"patch{kind}Status", obj_ref, _PATCH_TYPES, _WRITE_PARAMS),
            "parameters": item,
        }
    if rt.namespaced:
        paths[f"{prefix}/{rt.plural}"] = {
            "get": _operation(rt, v, "list", f"list{kind}ForAllNamespaces", list_ref)}
    return paths


def _schemas(rt: ResourceType, v: Version) -> dict[str, Any]:
    gvk = [{"group": rt.group, "version": v.name, "kind": rt.kind}]
    body = to_openapi(v.schema) if v.schema else {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    body["x-kubernetes-group-version-kind"] = gvk
    list_gvk = [{"group": rt.group, "version": v.name, "kind": rt.list_kind}]
    listing = {"type": "object", "required": ["items"], "x-kubernetes-group-version-kind": list_gvk,
               "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                              "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                              "items": {"type": "array", "items": {"$ref": "#/components/schemas/"
                                                                    + _schema_name(rt, v)}}}}
    return {_schema_name(rt, v): body, _schema_name(rt, v, "List"): listing}


class OpenAPI:
    """Pre-rendered OpenAPI v3: a root listing each group-version and one document per group-version."""

    def __init__(self, registry: Registry) -> None:
        self._docs: dict[str, tuple[bytes, str]] = {}
        for group, versions in registry.groups():
            for version in versions:
                key = f"apis/{group}/{version}" if group else f"api/{version}"
                doc: dict[str, Any] = {"openapi": "3.0.0",
                       "info": {"title": "Kubernetes", "version": version_info()["gitVersion"]},
                       "paths": {}, "components": {"schemas": {}}}
                for rt, v in registry.in_group_version(group, version):
                    doc["paths"].update(_paths(rt, v))
                    doc["components"]["schemas"].update(_schemas(rt, v))
                raw = orjson.dumps(doc)
                self._docs[key] = (raw, hashlib.sha512(raw).hexdigest().upper())
        self.root = orjson.dumps({"paths": {
            key: {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
            for key, (_, digest) in self._docs.items()}})

    def document(self, key: str) -> tuple[bytes, str] | None:
        return self._docs.get(key)
