"""What exists in a new plane: the system namespaces and Knative's configuration ConfigMaps.
Seeding only creates what is missing, so a user's edits to a ConfigMap survive restarts."""

from __future__ import annotations

import contextlib
from typing import Any

from ..api.kinds.configmaps import default_configmaps
from ..api.status import AlreadyExists
from ..store import Store

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "knative-serving", "knative-eventing")


def seed(store: Store) -> None:
    namespaces = store.registry.by_kind("", "Namespace")
    configmaps = store.registry.by_kind("", "ConfigMap")
    assert namespaces is not None and configmaps is not None
    for name in SYSTEM_NAMESPACES:
        _ensure(store, namespaces, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    for cm in default_configmaps():
        _ensure(store, configmaps, cm)


def _ensure(store: Store, rt: Any, obj: dict[str, Any]) -> None:
    meta = obj["metadata"]
    if store.entry(rt, meta.get("namespace", ""), meta["name"]) is None:
        with contextlib.suppress(AlreadyExists):
            store.create(rt, obj)
