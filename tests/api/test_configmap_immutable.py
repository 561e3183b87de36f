"""`immutable: true` ConfigMaps and Secrets: what an update may still change, and Kubernetes' exact 422 messages
for what it may not (`ValidateConfigMapUpdate`, `ValidateSecretUpdate`), in admission and through the plane."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from jupyter_knative.api.builtins import admit_configmap, admit_secret
from jupyter_knative.api.registry import AdmissionRequest
from jupyter_knative.api.status import Invalid

from ..conftest import Plane

FORBIDDEN = "Forbidden: field is immutable when `immutable` is set"


def cm(immutable: bool | None = True, data: dict[str, str] | None = None,
       binary: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": labels or {}}}
    if immutable is not None:
        obj["immutable"] = immutable
    if data is not None:
        obj["data"] = data
    if binary is not None:
        obj["binaryData"] = binary
    return obj


B64 = base64.b64encode(b"\x00\x01").decode()


@pytest.mark.parametrize(("old", "new", "message"), [
    pytest.param(cm(data={"a": "1"}), cm(data={"a": "2"}), f'ConfigMap "x" is invalid: data: {FORBIDDEN}',
                 id="data-changed"),
    pytest.param(cm(data={"a": "1"}), cm(data={"a": "1", "b": "2"}), f'ConfigMap "x" is invalid: data: {FORBIDDEN}',
                 id="key-added"),
    pytest.param(cm(data={"a": "1"}), cm(data={}), f'ConfigMap "x" is invalid: data: {FORBIDDEN}', id="emptied"),
    pytest.param(cm(binary={"b": B64}), cm(binary={"b": "AA=="}),
                 f'ConfigMap "x" is invalid: binaryData: {FORBIDDEN}', id="binary-changed"),
    pytest.param(cm(data={"a": "1"}), cm(immutable=None, data={"a": "1"}),
                 f'ConfigMap "x" is invalid: immutable: {FORBIDDEN}', id="unset"),
    pytest.param(cm(data={"a": "1"}), cm(immutable=False, data={"a": "1"}),
                 f'ConfigMap "x" is invalid: immutable: {FORBIDDEN}', id="set-false"),
    pytest.param(cm(data={"a": "1"}), cm(immutable=False, data={"a": "2"}),
                 f'ConfigMap "x" is invalid: [immutable: {FORBIDDEN}, data: {FORBIDDEN}]', id="unset-and-changed"),
    pytest.param(cm(data={"a": "1"}), cm(data={"a/b": "1"}),
                 f'ConfigMap "x" is invalid: [data: {FORBIDDEN}, data[a/b]: Invalid value: "a/b": a valid config '
                 "key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  "
                 "or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')]", id="immutability-first"),
])
def test_an_immutable_configmap_refuses(old: dict[str, Any], new: dict[str, Any], message: str) -> None:
    with pytest.raises(Invalid) as info:
        admit_configmap(AdmissionRequest("UPDATE", new, old))
    assert str(info.value) == message
    assert info.value.code == 422


@pytest.mark.parametrize(("old", "new"), [
    pytest.param(cm(data={"a": "1"}), cm(data={"a": "1"}, labels={"l": "v"}), id="metadata"),
    pytest.param(cm(data={}), cm(data=None), id="empty-is-none"),
    pytest.param(cm(immutable=False, data={"a": "1"}), cm(data={"a": "2"}), id="was-mutable"),
    pytest.param(cm(immutable=None, data={"a": "1"}), cm(immutable=None, data={"a": "2"}), id="never-immutable"),
    pytest.param(cm(immutable=False, data={"a": "1"}), cm(immutable=False, data={"a": "2"}), id="false-then-false"),
])
def test_what_an_update_may_still_change(old: dict[str, Any], new: dict[str, Any]) -> None:
    admit_configmap(AdmissionRequest("UPDATE", new, old))


def secret(immutable: bool | None = True, **data: str) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque",
                           "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}
    if immutable is not None:
        obj["immutable"] = immutable
    return obj


@pytest.mark.parametrize(("new", "message"), [
    pytest.param(secret(a="2"), f'Secret "s" is invalid: data: {FORBIDDEN}', id="data"),
    pytest.param({**secret(), "data": {}, "stringData": {"a": "2"}}, f'Secret "s" is invalid: data: {FORBIDDEN}',
                 id="string-data-folds-into-data"),
    pytest.param(secret(immutable=None, a="1"), f'Secret "s" is invalid: immutable: {FORBIDDEN}', id="unset"),
    pytest.param({**secret(a="2"), "type": "kubernetes.io/tls"},
                 f'Secret "s" is invalid: [type: Invalid value: "kubernetes.io/tls": field is immutable, '
                 f'data: {FORBIDDEN}]', id="type-first"),
])
def test_an_immutable_secret_refuses(new: dict[str, Any], message: str) -> None:
    with pytest.raises(Invalid) as info:
        admit_secret(AdmissionRequest("UPDATE", new, secret(a="1")))
    assert str(info.value) == message


def test_the_same_secret_data_through_string_data_is_no_change() -> None:
    admit_secret(AdmissionRequest("UPDATE", {**secret(), "data": {}, "stringData": {"a": "1"}}, secret(a="1")))


def test_through_the_api_server(plane: Plane, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    created = plane.request("POST", path, {**cm(data={"a": "1"}), "metadata": {"name": "x"}})
    assert created.status == 201, created.body
    body = created.json()
    put = plane.request("PUT", f"{path}/x", {**body, "data": {"a": "2"}})
    assert put.status == 422
    status = put.json()
    assert status["message"] == f'ConfigMap "x" is invalid: data: {FORBIDDEN}'
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"] == [{"reason": "FieldValueForbidden", "message": FORBIDDEN,
                                            "field": "data"}]
    patch = plane.request("PATCH", f"{path}/x", json.dumps({"immutable": None}),
                          headers={"Content-Type": "application/merge-patch+json"})
    assert patch.status == 422 and patch.json()["message"] == f'ConfigMap "x" is invalid: immutable: {FORBIDDEN}'
    labels = plane.request("PATCH", f"{path}/x", json.dumps({"metadata": {"labels": {"a": "b"}}}),
                           headers={"Content-Type": "application/merge-patch+json"})
    assert labels.status == 200, labels.body
    kubectl = plane.kubectl("patch", "configmap", "x", "-n", namespace, "-p", '{"data":{"a":"3"}}', check=False)
    assert kubectl.returncode != 0
    assert f'The ConfigMap "x" is invalid: data: {FORBIDDEN}' in kubectl.stderr
