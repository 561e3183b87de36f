"""Small builders of serving objects for the webhook tests."""

from __future__ import annotations

import copy
from typing import Any

V1 = "serving.knative.dev/v1"
IMAGE = "ghcr.io/knative/helloworld-go"


def container(image: str | None = IMAGE, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {} if image is None else {"image": image}
    out.update(fields)
    return out


def template(*containers: dict[str, Any], name: str = "", annotations: dict[str, str] | None = None,
             **spec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"spec": {"containers": list(containers or [container()]), **spec}}
    meta: dict[str, Any] = {}
    if name:
        meta["name"] = name
    if annotations:
        meta["annotations"] = dict(annotations)
    if meta:
        out["metadata"] = meta
    return out


def meta(name: str, ns: str = "default", **fields: Any) -> dict[str, Any]:
    return {"name": name, "namespace": ns, **fields}


def service(name: str = "hello", *, tmpl: dict[str, Any] | None = None, traffic: list[dict[str, Any]] | None = None,
            **metadata: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"template": copy.deepcopy(tmpl or template())}
    if traffic is not None:
        spec["traffic"] = traffic
    return {"apiVersion": V1, "kind": "Service", "metadata": meta(name, **metadata), "spec": spec}


def configuration(name: str = "hello", *, tmpl: dict[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": V1, "kind": "Configuration", "metadata": meta(name, **metadata),
            "spec": {"template": copy.deepcopy(tmpl or template())}}


def route(name: str = "hello", traffic: list[dict[str, Any]] | None = None, **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": V1, "kind": "Route", "metadata": meta(name, **metadata),
            "spec": {"traffic": traffic if traffic is not None else [{"configurationName": "hello", "percent": 100}]}}


def revision(name: str = "hello-00001", *containers: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": V1, "kind": "Revision", "metadata": meta(name, **metadata),
            "spec": {"containers": list(containers or [container()])}}


def owner(kind: str, name: str, uid: str = "uid-1") -> dict[str, Any]:
    return {"apiVersion": V1, "kind": kind, "name": name, "uid": uid, "controller": True,
            "blockOwnerDeletion": True}
