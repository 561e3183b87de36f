"""Serving's defaulting: what a created or updated object reads back with, per config."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jupyter_knative.api.serving.config import WebhookConfig, load_config
from jupyter_knative.api.serving.defaults import (
    default_configuration,
    default_revision,
    default_route,
    default_service,
)

from .builders import configuration, container, owner, revision, route, service, template

USER = "someone"


def config(defaults: dict[str, str] | None = None, features: dict[str, str] | None = None) -> WebhookConfig:
    maps = {"config-defaults": defaults or {}, "config-features": features or {}}
    return load_config(lambda ns, name: maps.get(name))


def created_template(tmpl: dict[str, Any], cfg: WebhookConfig | None = None) -> dict[str, Any]:
    svc = service(tmpl=tmpl)
    default_service(svc, cfg or config(), user=USER)
    out: dict[str, Any] = svc["spec"]["template"]["spec"]
    return out


def test_a_created_service_reads_back_like_knatives() -> None:
    svc = service()
    default_service(svc, config(), user=USER)
    assert svc["spec"] == {
        "template": {"spec": {
            "containers": [{"image": "ghcr.io/knative/helloworld-go", "name": "user-container", "resources": {},
                            "readinessProbe": {"tcpSocket": {"port": 0}, "successThreshold": 1}}],
            "timeoutSeconds": 300, "containerConcurrency": 0, "enableServiceLinks": False}},
        "traffic": [{"latestRevision": True, "percent": 100}],
    }
    assert svc["metadata"]["annotations"] == {"serving.knative.dev/creator": USER,
                                              "serving.knative.dev/lastModifier": USER}


@pytest.mark.parametrize(("defaults", "spec", "want"), [
    pytest.param({}, {}, {"timeoutSeconds": 300, "containerConcurrency": 0}, id="stock"),
    pytest.param({"revision-timeout-seconds": "120"}, {}, {"timeoutSeconds": 120}, id="timeout-from-config"),
    pytest.param({}, {"timeoutSeconds": 0}, {"timeoutSeconds": 300}, id="zero-timeout-is-unset"),
    pytest.param({}, {"timeoutSeconds": 42}, {"timeoutSeconds": 42}, id="timeout-kept"),
    pytest.param({"container-concurrency": "10"}, {}, {"containerConcurrency": 10}, id="cc-from-config"),
    pytest.param({"container-concurrency": "10"}, {"containerConcurrency": 0}, {"containerConcurrency": 0},
                 id="cc-zero-kept"),
    pytest.param({}, {}, {"responseStartTimeoutSeconds": None, "idleTimeoutSeconds": None},
                 id="response-start-not-written-with-stock-config"),
    pytest.param({"revision-response-start-timeout-seconds": "30", "revision-idle-timeout-seconds": "20"}, {},
                 {"responseStartTimeoutSeconds": 30, "idleTimeoutSeconds": 20}, id="timeouts-below-timeout"),
    pytest.param({"revision-response-start-timeout-seconds": "30"}, {"timeoutSeconds": 10},
                 {"responseStartTimeoutSeconds": None}, id="not-above-timeout"),
    pytest.param({"revision-timeout-seconds": "100"}, {}, {"responseStartTimeoutSeconds": None},
                 id="response-start-follows-timeout-default"),
    pytest.param({"enable-service-links": "default"}, {}, {"enableServiceLinks": None}, id="service-links-unset"),
    pytest.param({"enable-service-links": "true"}, {}, {"enableServiceLinks": True}, id="service-links-true"),
    pytest.param({}, {"enableServiceLinks": True}, {"enableServiceLinks": True}, id="service-links-kept"),
])
def test_revision_spec_defaults(defaults: dict[str, str], spec: dict[str, Any], want: dict[str, Any]) -> None:
    got = created_template(template(**spec), config(defaults))
    assert {k: got.get(k) for k in want} == want


@pytest.mark.parametrize(("containers", "defaults", "names"), [
    pytest.param([container()], {}, ["user-container"], id="single"),
    pytest.param([container(), container(name="user-container-0")], {}, ["user-container-1", "user-container-0"],
                 id="numbered-around-taken"),
    pytest.param([container(ports=[{"containerPort": 8080}]), container()], {},
                 ["user-container-0", "user-container-1"], id="several"),
    pytest.param([container()], {"container-name-template": "{{.Name}}-app"}, ["hello-app"], id="template"),
    pytest.param([container(name="web")], {}, ["web"], id="kept"),
])
def test_container_names(containers: list[dict[str, Any]], defaults: dict[str, str], names: list[str]) -> None:
    got = created_template(template(*containers), config(defaults))
    assert [c["name"] for c in got["containers"]] == names


def test_init_container_names() -> None:
    got = created_template(template(initContainers=[{"image": "busybox"}]))
    assert got["initContainers"][0]["name"] == "init-container"


@pytest.mark.parametrize(("probe", "want"), [
    pytest.param(None, {"tcpSocket": {"port": 0}, "successThreshold": 1}, id="default-tcp"),
    pytest.param({"httpGet": {"path": "/healthz"}}, {"httpGet": {"path": "/healthz"}, "successThreshold": 1},
                 id="handler-kept"),
    pytest.param({"periodSeconds": 5, "exec": {"command": ["true"]}},
                 {"periodSeconds": 5, "exec": {"command": ["true"]}, "successThreshold": 1, "failureThreshold": 3,
                  "timeoutSeconds": 1}, id="kubernetes-defaults-with-period"),
    pytest.param({"grpc": {"port": 9000}}, {"grpc": {"port": 9000, "service": ""}, "successThreshold": 1},
                 id="grpc-service"),
])
def test_readiness_probe(probe: dict[str, Any] | None, want: dict[str, Any]) -> None:
    c = container() if probe is None else container(readinessProbe=probe)
    assert created_template(template(c))["containers"][0]["readinessProbe"] == want


def test_sidecars_get_no_default_probe() -> None:
    got = created_template(template(container(ports=[{"containerPort": 8080}]), container("ghcr.io/example/sidecar")))
    assert "readinessProbe" in got["containers"][0] and "readinessProbe" not in got["containers"][1]


def test_resources_from_config() -> None:
    cfg = config({"revision-cpu-request": "100m", "revision-memory-limit": "200M"})
    c = created_template(template(container(resources={"requests": {"cpu": "1"}})), cfg)["containers"][0]
    assert c["resources"] == {"requests": {"cpu": "1"}, "limits": {"memory": "200M"}}


def test_volume_mounts_read_only_unless_writable_volume() -> None:
    mounts = [{"name": "cfg", "mountPath": "/etc/cfg"}, {"name": "tmp", "mountPath": "/tmp"}]
    got = created_template(template(container(volumeMounts=mounts), volumes=[
        {"name": "cfg", "configMap": {"name": "c"}}, {"name": "tmp", "emptyDir": {}}]))
    assert [m.get("readOnly") for m in got["containers"][0]["volumeMounts"]] == [True, None]


@pytest.mark.parametrize(("flag", "ports", "want"), [
    pytest.param("Enabled", [], {"allowPrivilegeEscalation": False, "seccompProfile": {"type": "RuntimeDefault"},
                                 "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True}, id="enabled"),
    pytest.param("AllowRootBounded", [{"containerPort": 80}],
                 {"allowPrivilegeEscalation": False, "seccompProfile": {"type": "RuntimeDefault"},
                  "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}, id="allow-root-bounded-low-port"),
    pytest.param("Disabled", [], None, id="disabled"),
])
def test_secure_pod_defaults(flag: str, ports: list[dict[str, Any]], want: dict[str, Any] | None) -> None:
    c = container(ports=ports) if ports else container()
    got = created_template(template(c), config(features={"secure-pod-defaults": flag}))
    assert got["containers"][0].get("securityContext") == want


# --- traffic -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("traffic", "want"), [
    pytest.param(None, [{"latestRevision": True, "percent": 100}], id="all-to-latest"),
    pytest.param([{"revisionName": "hello-00001", "percent": 100}],
                 [{"revisionName": "hello-00001", "percent": 100, "latestRevision": False}], id="pinned"),
    pytest.param([{"tag": "current", "percent": 100}, {"tag": "next"}],
                 [{"tag": "current", "percent": 100, "latestRevision": True},
                  {"tag": "next", "latestRevision": True, "percent": 0}], id="percent-zero"),
])
def test_service_traffic(traffic: list[dict[str, Any]] | None, want: list[dict[str, Any]]) -> None:
    svc = service(traffic=traffic)
    default_service(svc, config(), user=USER)
    assert svc["spec"]["traffic"] == want


def test_a_route_gets_no_traffic_of_its_own() -> None:
    rt = route(traffic=[])
    default_route(rt, config(), user=USER)
    assert rt["spec"]["traffic"] == []
    rt = route(traffic=[{"configurationName": "hello"}])
    default_route(rt, config(), user=USER)
    assert rt["spec"]["traffic"] == [{"configurationName": "hello", "latestRevision": True, "percent": 0}]


# --- updates and ownership ----------------------------------------------------------------------------------

def test_last_modifier_follows_spec_changes_only() -> None:
    old = service()
    default_service(old, config(), user="creator")
    same = copy.deepcopy(old)
    default_service(same, config(), user=USER, old=old)
    assert same["metadata"]["annotations"]["serving.knative.dev/lastModifier"] == "creator"
    changed = copy.deepcopy(old)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/knative/other"
    default_service(changed, config(), user=USER, old=old)
    assert changed["metadata"]["annotations"] == {"serving.knative.dev/creator": "creator",
                                                  "serving.knative.dev/lastModifier": USER}


def test_owned_configurations_and_routes_get_no_user_annotations() -> None:
    cfg = configuration(ownerReferences=[owner("Service", "hello")])
    default_configuration(cfg, config(), user=USER)
    assert "annotations" not in cfg["metadata"]
    rt = route(ownerReferences=[owner("Service", "hello")])
    default_route(rt, config(), user=USER)
    assert "annotations" not in rt["metadata"]
    standalone = configuration()
    default_configuration(standalone, config(), user=USER)
    assert standalone["metadata"]["annotations"]["serving.knative.dev/creator"] == USER


def test_template_with_unchanged_byo_name_is_not_defaulted_on_update() -> None:
    old = service(tmpl=template(name="hello-one"))
    default_service(old, config(), user=USER)
    new = service(tmpl=template(name="hello-one", containerConcurrency=5))
    default_service(new, config(), user=USER, old=old)
    assert new["spec"]["template"]["spec"] == {"containers": [{"image": "ghcr.io/knative/helloworld-go"}],
                                               "containerConcurrency": 5}


def test_service_links_only_on_create() -> None:
    old = service()
    default_service(old, config(), user=USER)
    new = service()
    default_service(new, config(), user=USER, old=old)
    assert "enableServiceLinks" not in new["spec"]["template"]["spec"]


def test_revision_defaulted_on_create_only() -> None:
    rev = revision()
    default_revision(rev, config())
    assert rev["spec"]["timeoutSeconds"] == 300 and rev["spec"]["containers"][0]["name"] == "user-container"
    update = revision()
    default_revision(update, config(), old=rev)
    assert update["spec"] == {"containers": [{"image": "ghcr.io/knative/helloworld-go"}]}


def test_reapplied_byo_template_is_defaulted_when_that_restores_the_stored_one() -> None:
    # kubectl apply sends the manifest's containers list (without defaults) even for a traffic-only change.
    old = service(tmpl=template(name="hello-one"))
    default_service(old, config(), user=USER)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"] = [container()]
    new["spec"]["traffic"] = [{"revisionName": "hello-one", "percent": 100, "tag": "one"}]
    default_service(new, config(), user=USER, old=old)
    assert new["spec"]["template"] == old["spec"]["template"]
