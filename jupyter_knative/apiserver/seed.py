"""What exists in a new plane: the system namespaces, Knative's configuration ConfigMaps and the core Services
a Knative install puts in front of its data plane. Seeding only creates what is missing (on every start, so a
home from an older version gains what it lacks), and a user's edits to a ConfigMap survive restarts."""

from __future__ import annotations

import contextlib
from typing import Any

from ..api.kinds.configmaps import KNATIVE_VERSION, default_configmaps
from ..api.status import AlreadyExists
from ..store import Store

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "knative-serving", "knative-eventing")


def system_services() -> list[dict[str, Any]]:
    """The core Services of Knative's eventing release the plane's ingress answers for. `broker-ingress` as
    config/brokers/mt-channel-broker/deployments/broker-ingress.yaml defines it, but only its `http` port: the
    release's `http-metrics` (9092) and `https` (443) ports have nothing behind them on the plane."""
    role = {"eventing.knative.dev/brokerRole": "ingress"}
    labels = {**role, "app.kubernetes.io/component": "broker-ingress", "app.kubernetes.io/version": KNATIVE_VERSION,
              "app.kubernetes.io/name": "knative-eventing"}
    return [{
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "broker-ingress", "namespace": "knative-eventing", "labels": labels},
        "spec": {"selector": role, "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]},
    }]


def seed(store: Store) -> None:
    namespaces = store.registry.by_kind("", "Namespace")
    configmaps = store.registry.by_kind("", "ConfigMap")
    services = store.registry.by_kind("", "Service")
    assert namespaces is not None and configmaps is not None and services is not None
    for name in SYSTEM_NAMESPACES:
        _ensure(store, namespaces, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    for cm in default_configmaps():
        _ensure(store, configmaps, cm)
    for svc in system_services():
        _ensure(store, services, svc)


def _ensure(store: Store, rt: Any, obj: dict[str, Any]) -> None:
    meta = obj["metadata"]
    if store.entry(rt, meta.get("namespace", ""), meta["name"]) is None:
        with contextlib.suppress(AlreadyExists):
            store.create(rt, obj)
