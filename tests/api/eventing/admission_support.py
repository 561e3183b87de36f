"""Shared pieces of the eventing admission tests: a real Store over the plane's registry, seeded with
Knative's ConfigMaps, and helpers that create objects through it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jupyter_knative.api.registry import ResourceType
from jupyter_knative.api.status import BadRequest
from jupyter_knative.store import Store

DENIED = 'admission webhook "validation.webhook.eventing.knative.dev" denied the request: validation failed: '
NS = "default"


def meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": NS, **extra}


def obj(name: str, spec: dict[str, Any] | None = None, **meta_extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"metadata": meta(name, **meta_extra)}
    if spec is not None:
        out["spec"] = copy.deepcopy(spec)
    return out


def refused(store: Store, rt: ResourceType, body: dict[str, Any], *, update: bool = False) -> str:
    """The webhook's error text (after the fixed prefix), asserting the object was refused with a 400."""
    with pytest.raises(BadRequest) as err:
        (store.update if update else store.create)(rt, copy.deepcopy(body))
    assert err.value.code == 400 and err.value.message.startswith(DENIED), err.value.message
    return err.value.message[len(DENIED):]


def edit_config(store: Store, name: str, **data: str) -> None:
    cm_type = store.registry.by_kind("", "ConfigMap")
    assert cm_type is not None
    cm = store.must_get(cm_type, "knative-eventing", name)
    cm.setdefault("data", {}).update(data)
    store.update(cm_type, cm)


SVC_REF = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "display"}
SINK = {"ref": SVC_REF}


def new_store() -> Store:
    from jupyter_knative.api.kinds import registry
    from jupyter_knative.apiserver.seed import seed

    s = Store(registry())
    seed(s)
    return s
