"""Raw HTTP against the API server: discovery, OpenAPI, and every kind of bad input getting the
status code and `Status` the real kube-apiserver gives, with nothing stored damaged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Plane

SVC = "/apis/serving.knative.dev/v1/namespaces/{ns}/services"


def ksvc(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": name},
            "spec": spec or {"template": {"spec": {"containers": [{"image": "img"}]}}}}


def status_of(resp: Any) -> dict[str, Any]:
    body = resp.json()
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure"
    assert body["code"] == resp.status
    return dict(body)


def test_aggregated_discovery_content_type(plane: Plane) -> None:
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    resp = plane.request("GET", "/apis?timeout=32s", headers={"Accept": accept})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    groups = {g["metadata"]["name"]: g for g in resp.json()["items"]}
    services = next(r for r in groups["serving.knative.dev"]["versions"][0]["resources"]
                    if r["resource"] == "services")
    assert services["shortNames"] == ["kservice", "ksvc"] or set(services["shortNames"]) == {"ksvc", "kservice"}
    core = plane.request("GET", "/api", headers={"Accept": accept}).json()
    pods = next(r for r in core["items"][0]["versions"][0]["resources"] if r["resource"] == "pods")
    assert {"subresource": "log", "responseKind": {"group": "", "version": "v1", "kind": "Pod"},
            "verbs": ["get"]} in pods["subresources"]


def test_legacy_discovery(plane: Plane) -> None:
    assert plane.request("GET", "/api").json()["versions"] == ["v1"]
    groups = plane.request("GET", "/apis").json()
    assert groups["kind"] == "APIGroupList"
    resources = plane.request("GET", "/apis/serving.knative.dev/v1").json()
    names = {r["name"] for r in resources["resources"]}
    assert {"services", "services/status", "revisions", "routes", "configurations"} <= names
    group = plane.request("GET", "/apis/serving.knative.dev").json()
    assert group["preferredVersion"]["groupVersion"] == "serving.knative.dev/v1"


def test_version_and_health_are_public(plane: Plane) -> None:
    version = plane.request("GET", "/version", token=None).json()
    assert version["major"] == "1" and version["gitVersion"].startswith("v1.")
    assert plane.request("GET", "/readyz", token=None).body == b"ok"


def test_openapi_v3_advertises_field_validation(plane: Plane) -> None:
    root = plane.request("GET", "/openapi/v3").json()
    url = root["paths"]["apis/serving.knative.dev/v1"]["serverRelativeURL"]
    doc = plane.request("GET", url).json()
    patch = doc["paths"]["/apis/serving.knative.dev/v1/namespaces/{namespace}/services/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "Service"
    assert any(p["name"] == "fieldValidation" for p in patch["parameters"])
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    assert "api/v1" in root["paths"]


@pytest.mark.parametrize("token", [None, "wrong"])
def test_unauthenticated_is_401(plane: Plane, token: str | None) -> None:
    resp = plane.request("GET", "/api/v1/namespaces", token=token)
    assert resp.status == 401
    assert status_of(resp)["reason"] == "Unauthorized"


def test_unknown_resource_and_version_are_404(plane: Plane, namespace: str) -> None:
    for path in (f"/apis/serving.knative.dev/v1/namespaces/{namespace}/widgets",
                 f"/apis/serving.knative.dev/v9/namespaces/{namespace}/services",
                 "/apis/nope.example.com/v1/things"):
        resp = plane.request("GET", path)
        assert resp.status == 404, path
        assert status_of(resp)["reason"] == "NotFound"


def test_get_missing_object(plane: Plane, namespace: str) -> None:
    resp = plane.request("GET", SVC.format(ns=namespace) + "/ghost")
    body = status_of(resp)
    assert resp.status == 404 and body["message"] == 'services.serving.knative.dev "ghost" not found'
    assert body["details"] == {"name": "ghost", "group": "serving.knative.dev", "kind": "services"}


def test_create_in_missing_namespace(plane: Plane) -> None:
    resp = plane.request("POST", SVC.format(ns="does-not-exist"), ksvc("x"))
    assert resp.status == 404
    assert status_of(resp)["message"] == 'namespaces "does-not-exist" not found'


def test_malformed_json_is_400(plane: Plane, namespace: str) -> None:
    resp = plane.request("POST", SVC.format(ns=namespace), b'{"apiVersion": "serving.knative.dev/v1",',
                         headers={"Content-Type": "application/json"})
    assert resp.status == 400 and status_of(resp)["reason"] == "BadRequest"
    assert status_of(resp)["message"] == "couldn't get version/kind; json parse error: unexpected end of JSON input"
    array = plane.request("POST", SVC.format(ns=namespace), b"[1]", headers={"Content-Type": "application/json"})
    assert array.status == 400 and "cannot unmarshal array into Go value" in status_of(array)["message"]


def test_malformed_yaml_is_400(plane: Plane, namespace: str) -> None:
    resp = plane.request("POST", SVC.format(ns=namespace), b"metadata: {name: [unclosed",
                         headers={"Content-Type": "application/yaml"})
    assert resp.status == 400 and status_of(resp)["message"].startswith("error converting YAML to JSON")
    assert plane.request("GET", SVC.format(ns=namespace)).json()["items"] == []


def test_wrong_api_version_in_body(plane: Plane, namespace: str) -> None:
    body = ksvc("x")
    body["apiVersion"] = "serving.knative.dev/v1alpha9"
    resp = plane.request("POST", SVC.format(ns=namespace), body)
    assert resp.status == 400
    assert "does not match the expected API version (serving.knative.dev/v1)" in status_of(resp)["message"]


def test_invalid_name_is_422_with_cause(plane: Plane, namespace: str) -> None:
    resp = plane.request("POST", SVC.format(ns=namespace), ksvc("Not_Valid"))
    body = status_of(resp)
    assert resp.status == 422 and body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert body["message"].startswith('Service.serving.knative.dev "Not_Valid" is invalid: metadata.name: ')


def test_wrong_type_is_422_naming_the_field(plane: Plane, namespace: str) -> None:
    body = ksvc("typed", template={"spec": {"containerConcurrency": "ten", "containers": [{"image": "i"}]}})
    resp = plane.request("POST", SVC.format(ns=namespace), body)
    status = status_of(resp)
    assert resp.status == 422
    assert status["details"]["causes"][0]["field"] == "spec.template.spec.containerConcurrency"
    assert "must be of type integer" in status["message"]


def test_unknown_fields_warn_strict_ignore(plane: Plane, namespace: str) -> None:
    body = ksvc("extra")
    body["spec"]["surprise"] = 1
    strict = plane.request("POST", SVC.format(ns=namespace) + "?fieldValidation=Strict", body)
    assert strict.status == 400
    assert 'strict decoding error: unknown field "spec.surprise"' in status_of(strict)["message"]
    warn = plane.request("POST", SVC.format(ns=namespace), body)
    assert warn.status == 201
    warnings = warn.headers.get_all("Warning")
    assert warnings[0] == '299 - "unknown field \\"spec.surprise\\""'
    # Knative's webhook adds its own warnings (insecure security-context defaults), as on a cluster
    assert all(w.startswith('299 - "') for w in warnings)
    assert "surprise" not in warn.json()["spec"]


def test_huge_body_is_413(plane: Plane, namespace: str) -> None:
    body = ksvc("big")
    body["metadata"]["annotations"] = {"blob": "x" * (4 * 1024 * 1024)}
    resp = plane.request("POST", SVC.format(ns=namespace), body)
    assert resp.status == 413
    assert status_of(resp)["message"] == "Request entity too large: limit is 3145728"


def test_stale_update_is_409_and_changes_nothing(plane: Plane, namespace: str) -> None:
    created = plane.request("POST", SVC.format(ns=namespace), ksvc("s")).json()
    item = SVC.format(ns=namespace) + "/s"
    plane.request("PATCH", item, b'{"metadata":{"labels":{"v":"1"}}}',
                  headers={"Content-Type": "application/merge-patch+json"})
    stored = plane.request("GET", item).json()
    created["metadata"]["labels"] = {"v": "stale"}
    resp = plane.request("PUT", item, created)
    assert resp.status == 409 and status_of(resp)["reason"] == "Conflict"
    after = plane.request("GET", item).json()  # (the controllers may have written status meanwhile)
    assert (after["spec"], after["metadata"]["labels"]) == (stored["spec"], stored["metadata"]["labels"])


IMAGES = "/apis/caching.internal.knative.dev/v1alpha1/namespaces/{ns}/images"


def test_bad_patches(plane: Plane, namespace: str) -> None:
    # an Image (no controller writes to it), so "nothing changed" can be checked exactly
    plane.request("POST", IMAGES.format(ns=namespace), {"apiVersion": "caching.internal.knative.dev/v1alpha1",
                                                        "kind": "Image", "metadata": {"name": "p"},
                                                        "spec": {"image": "ghcr.io/knative/helloworld-go"}})
    item = IMAGES.format(ns=namespace) + "/p"
    before = plane.request("GET", item).json()
    smp = plane.request("PATCH", item, b"{}", headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert smp.status == 415
    bad_json = plane.request("PATCH", item, b"{nope", headers={"Content-Type": "application/merge-patch+json"})
    assert bad_json.status == 400
    test_op = plane.request("PATCH", item, b'[{"op":"test","path":"/metadata/name","value":"other"}]',
                            headers={"Content-Type": "application/json-patch+json"})
    assert test_op.status in (422, 500) and test_op.json()["kind"] == "Status"
    assert plane.request("GET", item).json() == before


def test_table_for_configmaps(plane: Plane, namespace: str) -> None:
    plane.request("POST", f"/api/v1/namespaces/{namespace}/configmaps",
                  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}})
    table = plane.request("GET", f"/api/v1/namespaces/{namespace}/configmaps", headers={
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}).json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert table["rows"][0]["cells"][:2] == ["c", 2]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_delete_configmap_returns_status(plane: Plane, namespace: str) -> None:
    plane.request("POST", f"/api/v1/namespaces/{namespace}/configmaps",
                  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gone"}})
    resp = plane.request("DELETE", f"/api/v1/namespaces/{namespace}/configmaps/gone")
    body = resp.json()
    assert resp.status == 200 and body["kind"] == "Status" and body["status"] == "Success"
    assert body["details"]["name"] == "gone"


def test_watch_list_initial_events_bookmark(plane: Plane, namespace: str) -> None:
    plane.request("POST", SVC.format(ns=namespace), ksvc("wl"))
    path = (SVC.format(ns=namespace) + "?allowWatchBookmarks=true&fieldSelector=metadata.name%3Dwl"
            "&resourceVersionMatch=NotOlderThan&sendInitialEvents=true&timeoutSeconds=1&watch=true")
    resp = plane.request("GET", path, timeout=10)
    events = [json.loads(line) for line in resp.body.splitlines() if line.strip()]
    assert events[0]["type"] == "ADDED" and events[0]["object"]["metadata"]["name"] == "wl"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_unsupported_field_selector(plane: Plane, namespace: str) -> None:
    resp = plane.request("GET", SVC.format(ns=namespace) + "?fieldSelector=spec.foo%3Dbar")
    assert resp.status == 400 and status_of(resp)["reason"] == "BadRequest"


def test_protected_namespace_cannot_be_deleted(plane: Plane) -> None:
    resp = plane.request("DELETE", "/api/v1/namespaces/knative-serving")
    assert resp.status == 403
    assert plane.request("GET", "/api/v1/namespaces/knative-serving").status == 200
