"""Built-in kinds' defaulting and validation, as the apiserver's strategies apply them."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.api.builtins import (
    admit_configmap,
    admit_deployment,
    admit_pod,
    admit_secret,
    default_container,
)
from jupyter_knative.api.registry import AdmissionRequest
from jupyter_knative.api.status import Invalid


def create(obj: dict[str, Any]) -> AdmissionRequest:
    obj.setdefault("metadata", {"name": "x", "namespace": "default"})
    return AdmissionRequest("CREATE", obj, None)


def test_secret_defaults_type_and_folds_string_data() -> None:
    req = create({"stringData": {"user": "admin"}, "data": {"pw": "c2VjcmV0"}})
    admit_secret(req)
    assert req.obj["type"] == "Opaque"
    assert req.obj["data"] == {"pw": "c2VjcmV0", "user": "YWRtaW4="}
    assert "stringData" not in req.obj


def test_secret_type_is_immutable() -> None:
    old = {"metadata": {"name": "s"}, "type": "Opaque"}
    with pytest.raises(Invalid, match=r"type: Invalid value: \"kubernetes\.io/tls\": field is immutable"):
        admit_secret(AdmissionRequest("UPDATE", {"metadata": {"name": "s"}, "type": "kubernetes.io/tls"}, old))


@pytest.mark.parametrize(("data", "ok"), [
    pytest.param({"a.b_c-D": "1"}, True, id="valid-key"),
    pytest.param({"a/b": "1"}, False, id="slash"),
    pytest.param({"": "1"}, False, id="empty"),
])
def test_configmap_keys(data: dict[str, str], ok: bool) -> None:
    req = create({"data": data})
    if ok:
        admit_configmap(req)
    else:
        with pytest.raises(Invalid, match="a valid config key must consist of alphanumeric characters"):
            admit_configmap(req)


def test_immutable_configmap_refuses_data_changes() -> None:
    old = {"metadata": {"name": "c"}, "immutable": True, "data": {"a": "1"}}
    new = {"metadata": {"name": "c"}, "immutable": True, "data": {"a": "2"}}
    with pytest.raises(Invalid, match="field is immutable when `immutable` is set"):
        admit_configmap(AdmissionRequest("UPDATE", new, old))


@pytest.mark.parametrize(("image", "policy"), [
    pytest.param("nginx", "Always", id="no-tag"),
    pytest.param("nginx:latest", "Always", id="latest"),
    pytest.param("nginx:1.27", "IfNotPresent", id="tag"),
    pytest.param("localhost:5000/app", "Always", id="registry-port-no-tag"),
    pytest.param("ghcr.io/x/y@sha256:abc", "IfNotPresent", id="digest"),
])
def test_image_pull_policy_default(image: str, policy: str) -> None:
    container: dict[str, Any] = {"name": "c", "image": image}
    default_container(container)
    assert container["imagePullPolicy"] == policy
    assert container["terminationMessagePath"] == "/dev/termination-log"


def test_pod_defaults() -> None:
    req = create({"spec": {"containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 80}]}]}})
    admit_pod(req)
    spec = req.obj["spec"]
    assert (spec["restartPolicy"], spec["dnsPolicy"], spec["terminationGracePeriodSeconds"]) == \
        ("Always", "ClusterFirst", 30)
    assert spec["containers"][0]["ports"][0]["protocol"] == "TCP"
    assert req.obj["status"]["phase"] == "Pending"


def test_deployment_defaults_and_selector_check() -> None:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    req = create({"spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template}})
    admit_deployment(req)
    spec = req.obj["spec"]
    assert spec["replicas"] == 1 and spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    bad = create({"spec": {"selector": {"matchLabels": {"app": "other"}}, "template": template}})
    with pytest.raises(Invalid, match="`selector` does not match template `labels`"):
        admit_deployment(bad)
