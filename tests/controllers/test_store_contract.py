"""What the controllers need from the layers below them (found while building them)."""

from __future__ import annotations

from jupyter_knative.api.registry import Registry
from jupyter_knative.store import Store

from .conftest import kind, ksvc


def test_knative_style_finalizer_on_a_custom_resource(store: Store, reg: Registry) -> None:
    svc = kind(reg, "serving.knative.dev", "Service")
    created = store.create(svc, ksvc("hello", finalizers=["services.serving.knative.dev"]))
    assert created["metadata"]["finalizers"] == ["services.serving.knative.dev"]


def test_namespace_gets_the_kubernetes_finalizer(store: Store, reg: Registry) -> None:
    created = store.create(kind(reg, "", "Namespace"), {"metadata": {"name": "fresh"}})
    assert (created.get("spec") or {}).get("finalizers") == ["kubernetes"]
