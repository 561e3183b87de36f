"""PingSource, ApiServerSource, SinkBinding and ContainerSource."""

from __future__ import annotations

import json
from typing import Any

from .conftest import SOURCES_V1, Env, cond, ref, status_of


def ping(name: str, sink: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": SOURCES_V1, "kind": "PingSource", "metadata": {"name": name},
            "spec": {"schedule": "*/1 * * * *", "data": '{"hello": 1}', "contentType": "application/json",
                     "sink": sink}}


def deployment(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": 0, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "main", "image": "ok/heartbeats",
                                                           "env": [{"name": "KEEP", "value": "1"}]}]}}}}


def env_of(obj: dict[str, Any]) -> dict[str, str]:
    containers = obj["spec"]["template"]["spec"]["containers"]
    return {v["name"]: v.get("value", "") for v in containers[0].get("env") or []}


async def test_ping_source_sink_and_attributes(env: Env) -> None:
    env.create(ping("p", {"uri": "http://sink.example.com"}))
    await env.until(lambda: status_of(env.get(SOURCES_V1, "PingSource", "p")) == "True")
    p = env.must(SOURCES_V1, "PingSource", "p")
    assert p["status"]["sinkUri"] == "http://sink.example.com"
    assert p["status"]["ceAttributes"] == [{"type": "dev.knative.sources.ping",
                                            "source": "/apis/v1/namespaces/default/pingsources/p"}]
    for type_ in ("SinkProvided", "Deployed", "OIDCIdentityCreated"):
        assert status_of(p, type_) == "True", type_
    assert env.handed("PingSource", "p")["status"]["sinkUri"] == "http://sink.example.com"
    env.delete(SOURCES_V1, "PingSource", "p")
    await env.until(lambda: env.plane.objects[("PingSource", "default", "p")] is None)


async def test_ping_source_with_missing_sink(env: Env) -> None:
    env.create(ping("p", ref("serving.knative.dev/v1", "Service", "nope")))
    await env.until(lambda: status_of(env.get(SOURCES_V1, "PingSource", "p"), "SinkProvided") == "False")
    p = env.must(SOURCES_V1, "PingSource", "p")
    assert cond(p, "SinkProvided")["reason"] == "NotFound"
    assert status_of(p, "Deployed") == "Unknown"
    assert "sinkUri" not in p["status"]


async def test_apiserver_source(env: Env) -> None:
    env.create({"apiVersion": SOURCES_V1, "kind": "ApiServerSource", "metadata": {"name": "a"},
                "spec": {"resources": [{"apiVersion": "v1", "kind": "Event"}], "mode": "Resource",
                         "serviceAccountName": "events-sa", "sink": {"uri": "http://sink.example.com"}}})
    await env.until(lambda: status_of(env.get(SOURCES_V1, "ApiServerSource", "a")) == "True")
    a = env.must(SOURCES_V1, "ApiServerSource", "a")
    assert a["status"]["namespaces"] == ["default"]
    assert [c["type"] for c in a["status"]["ceAttributes"]] == [
        "dev.knative.apiserver.resource.add", "dev.knative.apiserver.resource.delete",
        "dev.knative.apiserver.resource.update"]
    assert status_of(a, "SufficientPermissions") == "True"
    assert env.plane.objects[("ApiServerSource", "default", "a")] is not None


async def test_sink_binding_injects_into_a_deployment_and_undoes_on_delete(env: Env) -> None:
    env.create(deployment("heartbeats"))
    env.create({"apiVersion": SOURCES_V1, "kind": "SinkBinding", "metadata": {"name": "bind"},
                "spec": {"subject": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "heartbeats"},
                         "sink": {"uri": "http://sink.example.com"},
                         "ceOverrides": {"extensions": {"team": "a"}}}})
    await env.until(lambda: status_of(env.get(SOURCES_V1, "SinkBinding", "bind")) == "True")
    dep = env.must("apps/v1", "Deployment", "heartbeats")
    assert env_of(dep) == {"KEEP": "1", "K_SINK": "http://sink.example.com",
                           "K_CE_OVERRIDES": '{"extensions":{"team":"a"}}'}
    assert json.loads(env_of(dep)["K_CE_OVERRIDES"]) == {"extensions": {"team": "a"}}
    b = env.must(SOURCES_V1, "SinkBinding", "bind")
    assert b["status"]["sinkUri"] == "http://sink.example.com"
    assert "sinkbindings.sources.knative.dev" in b["metadata"]["finalizers"]
    env.delete(SOURCES_V1, "SinkBinding", "bind")
    await env.until(lambda: env.get(SOURCES_V1, "SinkBinding", "bind") is None)
    assert env_of(env.must("apps/v1", "Deployment", "heartbeats")) == {"KEEP": "1"}


async def test_sink_binding_by_selector_binds_later_subjects(env: Env) -> None:
    env.create({"apiVersion": SOURCES_V1, "kind": "SinkBinding", "metadata": {"name": "bind"},
                "spec": {"subject": {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "selector": {"matchLabels": {"bind": "yes"}}},
                         "sink": {"uri": "http://sink.example.com"}}})
    await env.until(lambda: status_of(env.get(SOURCES_V1, "SinkBinding", "bind")) == "True")
    env.create(deployment("one", {"bind": "yes"}))
    env.create(deployment("other", {"bind": "no"}))
    await env.until(lambda: env_of(env.must("apps/v1", "Deployment", "one")).get("K_SINK") ==
                    "http://sink.example.com")
    assert "K_SINK" not in env_of(env.must("apps/v1", "Deployment", "other"))


async def test_sink_binding_with_missing_subject(env: Env) -> None:
    env.create({"apiVersion": SOURCES_V1, "kind": "SinkBinding", "metadata": {"name": "bind"},
                "spec": {"subject": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "absent"},
                         "sink": {"uri": "http://sink.example.com"}}})
    await env.until(lambda: status_of(env.get(SOURCES_V1, "SinkBinding", "bind"), "SinkBindingAvailable") == "False")
    c = cond(env.must(SOURCES_V1, "SinkBinding", "bind"), "SinkBindingAvailable")
    assert c["reason"] == "SubjectMissing"
    assert c["message"] == 'deployments.apps "absent" not found'
    env.create(deployment("absent"))
    await env.until(lambda: status_of(env.get(SOURCES_V1, "SinkBinding", "bind")) == "True")


async def test_container_source_creates_binding_and_deployment(env: Env) -> None:
    env.create({"apiVersion": SOURCES_V1, "kind": "ContainerSource", "metadata": {"name": "cs"},
                "spec": {"template": {"spec": {"containers": [{"name": "hb", "image": "ok/heartbeats"}]}},
                         "sink": {"uri": "http://sink.example.com"}}})
    await env.until(lambda: env.get("apps/v1", "Deployment", "cs-deployment") is not None
                    and "K_SINK" in env_of(env.must("apps/v1", "Deployment", "cs-deployment")))
    dep = env.must("apps/v1", "Deployment", "cs-deployment")
    labels = {"sources.knative.dev/source": "container-source-controller", "sources.knative.dev/containerSource": "cs"}
    assert dep["metadata"]["labels"] == labels
    assert dep["spec"]["selector"] == {"matchLabels": labels}
    assert dep["spec"]["template"]["metadata"]["labels"] == labels
    binding = env.must(SOURCES_V1, "SinkBinding", "cs-sinkbinding")
    assert binding["spec"]["subject"] == {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "default",
                                          "name": "cs-deployment"}
    await env.until(lambda: status_of(env.get(SOURCES_V1, "ContainerSource", "cs"), "SinkBindingReady") == "True")
    cs = env.must(SOURCES_V1, "ContainerSource", "cs")
    assert cs["status"]["sinkUri"] == "http://sink.example.com"
    assert cond(cs, "ReceiveAdapterReady")["reason"] == "DeploymentUnavailable"  # no replica controller here
    dep_rt = env.rt("apps/v1", "Deployment")
    env.store.update(dep_rt, {**dep, "status": {"conditions": [
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
         "message": "Deployment has minimum availability."}]}}, subresource="status")
    await env.until(lambda: status_of(env.get(SOURCES_V1, "ContainerSource", "cs")) == "True")
