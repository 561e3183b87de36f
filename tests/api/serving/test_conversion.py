"""v1alpha1 (seed-era forms included) and v1beta1 to v1, and back for reads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jupyter_knative.api.serving.conversion import V1, V1ALPHA1, V1BETA1, convert
from jupyter_knative.api.status import BadRequest

IMAGE = "gcr.io/knative-samples/helloworld-go"
DENIED = 'admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: '


def alpha(kind: str, spec: dict[str, Any], name: str = "hello") -> dict[str, Any]:
    return {"apiVersion": V1ALPHA1, "kind": kind, "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def seed_configuration(**revision_spec: Any) -> dict[str, Any]:
    spec = {"container": {"image": IMAGE, "env": [{"name": "TARGET", "value": "Go Sample v1"}]}, **revision_spec}
    return {"revisionTemplate": {"metadata": {"labels": {"app": "hello"}}, "spec": spec}}


V1_TEMPLATE: dict[str, Any] = {"metadata": {"labels": {"app": "hello"}},
               "spec": {"containers": [{"image": IMAGE, "env": [{"name": "TARGET", "value": "Go Sample v1"}]}]}}


@pytest.mark.parametrize(("spec", "want"), [
    pytest.param({"runLatest": {"configuration": seed_configuration()}},
                 {"template": V1_TEMPLATE, "traffic": [{"latestRevision": True, "percent": 100}]}, id="run-latest"),
    pytest.param({"release": {"revisions": ["hello-00001", "hello-00002"], "rolloutPercent": 20,
                              "configuration": seed_configuration()}},
                 {"template": V1_TEMPLATE, "traffic": [
                     {"tag": "current", "revisionName": "hello-00001", "percent": 80},
                     {"tag": "candidate", "revisionName": "hello-00002", "percent": 20},
                     {"tag": "latest", "latestRevision": True, "percent": 0}]}, id="release-two"),
    pytest.param({"release": {"revisions": ["hello-00001"], "configuration": seed_configuration()}},
                 {"template": V1_TEMPLATE, "traffic": [
                     {"tag": "current", "revisionName": "hello-00001", "percent": 100},
                     {"tag": "latest", "latestRevision": True, "percent": 0}]}, id="release-one"),
    pytest.param({"release": {"revisions": ["hello-00001", "@latest"], "rolloutPercent": 10,
                              "configuration": seed_configuration()}},
                 {"template": V1_TEMPLATE, "traffic": [
                     {"tag": "current", "revisionName": "hello-00001", "percent": 90},
                     {"tag": "candidate", "percent": 10, "latestRevision": True},
                     {"tag": "latest", "latestRevision": True, "percent": 0}]}, id="release-latest-keyword"),
    pytest.param({"pinned": {"revisionName": "hello-00001", "configuration": seed_configuration()}},
                 {"template": V1_TEMPLATE, "traffic": [{"revisionName": "hello-00001", "percent": 100}]},
                 id="pinned"),
    pytest.param({"runLatest": {"configuration": seed_configuration(concurrencyModel="Single", timeoutSeconds=30,
                                                                    servingState="Active", generation=3)}},
                 {"template": {"metadata": V1_TEMPLATE["metadata"], "spec": {
                     **V1_TEMPLATE["spec"], "timeoutSeconds": 30, "containerConcurrency": 1}},
                  "traffic": [{"latestRevision": True, "percent": 100}]}, id="seed-revision-fields"),
    pytest.param({"template": V1_TEMPLATE, "traffic": [{"tag": "a", "percent": 100}]},
                 {"template": V1_TEMPLATE, "traffic": [{"tag": "a", "percent": 100}]}, id="v1-compatible"),
])
def test_service_to_v1(spec: dict[str, Any], want: dict[str, Any]) -> None:
    got = convert(alpha("Service", spec), V1)
    assert got["apiVersion"] == V1 and got["metadata"]["name"] == "hello"
    assert got["spec"] == want


@pytest.mark.parametrize(("kind", "spec", "want"), [
    pytest.param("Configuration", seed_configuration(), {"template": V1_TEMPLATE}, id="configuration"),
    pytest.param("Revision", {"container": {"image": IMAGE}, "containerConcurrency": 2},
                 {"containers": [{"image": IMAGE}], "containerConcurrency": 2}, id="revision"),
    pytest.param("Route", {"traffic": [{"name": "v1", "revisionName": "hello-00001", "percent": 50},
                                       {"configurationName": "hello", "percent": 50}]},
                 {"traffic": [{"revisionName": "hello-00001", "percent": 50, "tag": "v1"},
                              {"configurationName": "hello", "percent": 50}]}, id="route-name-to-tag"),
])
def test_other_kinds_to_v1(kind: str, spec: dict[str, Any], want: dict[str, Any]) -> None:
    assert convert(alpha(kind, spec), V1)["spec"] == want


@pytest.mark.parametrize(("kind", "spec", "want"), [
    pytest.param("Service", {"runLatest": {"configuration": seed_configuration()},
                             "pinned": {"revisionName": "x", "configuration": seed_configuration()}},
                 "expected exactly one, got both: spec.pinned, spec.runLatest", id="two-modes"),
    pytest.param("Service", {}, "expected exactly one, got neither: spec.manual, spec.pinned, spec.release, "
                 "spec.runLatest, spec.template", id="no-mode"),
    pytest.param("Service", {"runLatest": {"configuration": seed_configuration()}, "traffic": [{"percent": 100}]},
                 "expected exactly one, got both: spec.runLatest, spec.traffic", id="mode-and-traffic"),
    pytest.param("Service", {"manual": {}}, "manual mode cannot be migrated forward.", id="manual"),
    pytest.param("Service", {"pinned": {"configuration": seed_configuration()}},
                 "missing field(s): spec.pinned.revisionName", id="pinned-without-revision"),
    pytest.param("Service", {"release": {"revisions": ["a-1", "b-2", "c-3"], "configuration": seed_configuration()}},
                 "expected 1 <= 3 <= 2: spec.release.revisions", id="release-three"),
    pytest.param("Service", {"release": {"revisions": ["a-1"], "rolloutPercent": 10,
                                         "configuration": seed_configuration()}},
                 "invalid value: 10: spec.release.rolloutPercent", id="rollout-with-one-revision"),
    pytest.param("Service", {"release": {"revisions": ["a-1", "b-2"], "rolloutPercent": 100,
                                         "configuration": seed_configuration()}},
                 "expected 0 <= 100 <= 99: spec.release.rolloutPercent", id="rollout-range"),
    pytest.param("Service", {"runLatest": {"configuration": {}}}, "missing field(s): spec.runLatest.configuration",
                 id="empty-configuration"),
    pytest.param("Service", {"runLatest": {"configuration": {**seed_configuration(), "template": V1_TEMPLATE}}},
                 "expected exactly one, got both: spec.runLatest.configuration.revisionTemplate, "
                 "spec.runLatest.configuration.template", id="template-twice"),
    pytest.param("Configuration", {"revisionTemplate": {"spec": {"container": {"image": IMAGE},
                                                                 "containers": [{"image": IMAGE}]}}},
                 "expected exactly one, got both: spec.revisionTemplate.spec.container, "
                 "spec.revisionTemplate.spec.containers", id="container-twice"),
    pytest.param("Revision", {"concurrencyModel": "Maybe", "container": {"image": IMAGE}},
                 "invalid value: Maybe: spec.concurrencyModel", id="concurrency-model"),
    pytest.param("Route", {"traffic": [{"name": "a", "tag": "b", "percent": 100}]},
                 "expected exactly one, got both: spec.traffic[0].name, spec.traffic[0].tag", id="name-and-tag"),
    pytest.param("Configuration", {"build": {"steps": []}, **seed_configuration()},
                 'build cannot be migrated forward, got: {"steps": []}', id="build"),
])
def test_refused(kind: str, spec: dict[str, Any], want: str) -> None:
    with pytest.raises(BadRequest) as refused:
        convert(alpha(kind, spec), V1)
    assert refused.value.message == DENIED + want


def stored_service(**annotations: str) -> dict[str, Any]:
    return {"apiVersion": V1, "kind": "Service",
            "metadata": {"name": "hello", "namespace": "default", "annotations": annotations},
            "spec": {"template": {"metadata": {"labels": {"app": "hello"}}, "spec": {
                "containers": [{"image": IMAGE, "name": "user-container", "env": [
                    {"name": "TARGET", "value": "Go Sample v1"}]}], "timeoutSeconds": 300}},
                "traffic": [{"latestRevision": True, "percent": 100}]},
            "status": {"url": "http://hello.default.example.com"}}


def test_reads_as_v1beta1_and_v1alpha1() -> None:
    beta = convert(stored_service(), V1BETA1)
    assert beta["apiVersion"] == V1BETA1 and beta["spec"] == stored_service()["spec"]
    view = convert(stored_service(), V1ALPHA1)
    assert view["apiVersion"] == V1ALPHA1 and view["spec"] == stored_service()["spec"]
    assert view["status"] == {"url": "http://hello.default.example.com", "domain": "hello.default.example.com"}
    assert convert(beta, V1) == stored_service()


def test_alpha_view_keeps_the_applied_seed_form_while_it_still_holds() -> None:
    applied = alpha("Service", {"runLatest": {"configuration": seed_configuration()}})
    obj = stored_service(**{"kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)})
    assert convert(obj, V1ALPHA1)["spec"] == applied["spec"]
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = "changed/through-v1"
    assert convert(obj, V1ALPHA1)["spec"] == obj["spec"]
