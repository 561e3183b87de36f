"""Capability checks: which Knative and Tekton APIs a server offers, and the message when one is missing."""

from __future__ import annotations

import pytest

from jupyter_knative.client import Client, KnativeError
from jupyter_knative.client.capabilities import capabilities, missing_message

from ..conftest import Plane


def group(name: str, *versions: str) -> dict[str, object]:
    return {"name": name, "versions": [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]}


def test_a_cluster_with_serving_only() -> None:
    caps = capabilities([group("serving.knative.dev", "v1"), group("eventing.knative.dev", "v1beta1")])
    assert caps["serving"].present and not caps["eventing"].present and not caps["tekton"].present
    assert caps["eventing"].missing == ("eventing.knative.dev/v1", "messaging.knative.dev/v1",
                                        "sources.knative.dev/v1", "flows.knative.dev/v1")
    assert caps["eventing"].versions["eventing.knative.dev"] == ("v1beta1",)
    assert missing_message(caps["tekton"], "https://k8s.example:6443") == (
        "Tekton Pipelines is not installed on https://k8s.example:6443: the API server does not serve tekton.dev/v1")


def test_the_embedded_plane_through_its_kubeconfig_offers_everything(plane: Plane, namespace: str) -> None:
    client = Client(kubeconfig=plane.kubeconfig, namespace=namespace)
    try:
        caps = client.capabilities()
        assert {name: cap["present"] for name, cap in caps.items()} == {
            "serving": True, "eventing": True, "tekton": True, "build": True}
        assert "v1" in caps["tekton"]["versions"]["tekton.dev"]
        client.require("eventing")  # nothing missing: no error
        assert client.status()["capabilities"]["serving"] is True
    finally:
        client.close()


def test_require_names_what_to_install(monkeypatch: pytest.MonkeyPatch, plane: Plane, namespace: str) -> None:
    client = Client(kubeconfig=plane.kubeconfig, namespace=namespace)
    try:
        real = client._conn.request
        monkeypatch.setattr(client._conn, "request", lambda method, path, *a, **k: (
            {"groups": [group("serving.knative.dev", "v1")]} if path == "/apis" else real(method, path, *a, **k)))
        with pytest.raises(KnativeError) as err:
            client.require("tekton")
        assert err.value.reason == "NotInstalled"
        assert "Tekton Pipelines is not installed" in str(err.value) and "tekton.dev/v1" in str(err.value)
        assert "%knative backend embedded" in (err.value.hint or "")
    finally:
        client.close()
