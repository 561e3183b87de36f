"""Shipping modes (pure): which mode a deploy uses, the cluster build's Dockerfile and TaskRun, and how the
shipped function lands in a Service's template."""

from __future__ import annotations

import pytest

from jupyter_knative.client import KnativeError, ShipOptions
from jupyter_knative.client.builds import ClusterTarget, build_objects, function_dockerfile, source_digest
from jupyter_knative.client.functions import choose_ship
from jupyter_knative.client.serving import FunctionSpec, updated_template
from jupyter_knative.client.shipping import configmap_parts

SOURCE = "def hello(request):\n    return 'hi'\n"


@pytest.mark.parametrize(("requested", "plane", "registry", "mode"), [
    (None, True, None, "plane"),
    (None, True, "ghcr.io/me", "plane"),
    (None, False, None, "configmap"),
    (None, False, "ghcr.io/me", "oci"),
    ("configmap", False, "ghcr.io/me", "configmap"),
    ("configmap", True, None, "configmap"),
    ("oci", True, "127.0.0.1:5000", "oci"),
    ("tekton", False, "ghcr.io/me", "tekton"),
    ("plane", True, None, "plane"),
])
def test_choose_ship(requested: str | None, plane: bool, registry: str | None, mode: str) -> None:
    assert choose_ship(requested, plane=plane, registry=registry) == mode


@pytest.mark.parametrize(("requested", "plane", "registry", "message"), [
    ("docker", False, None, "ship = 'docker': must be one of plane, configmap, oci, tekton"),
    ("oci", False, None, "ship = 'oci' pushes an image: name the registry"),
    ("tekton", True, "", "ship = 'tekton' pushes an image: name the registry"),
    ("plane", False, None, "ship = 'plane' uses the embedded plane's built-in builder; this server is not a "
                           "jupyter-knative plane"),
])
def test_choose_ship_refuses(requested: str, plane: bool, registry: str | None, message: str) -> None:
    with pytest.raises(KnativeError) as err:
        choose_ship(requested, plane=plane, registry=registry)
    assert str(err.value) == message and err.value.reason == "Invalid"


def test_ship_options_override_field_by_field() -> None:
    defaults = ShipOptions(ship="oci", registry="ghcr.io/me", base_image="python:3.12-slim")
    merged = defaults.over(ShipOptions(registry="127.0.0.1:5000", runtime_image="r:1"))
    assert merged == ShipOptions(ship="oci", registry="127.0.0.1:5000", runtime_image="r:1",
                                 base_image="python:3.12-slim")
    assert ShipOptions().over(ShipOptions()) == ShipOptions()


def test_function_dockerfile() -> None:
    plain = function_dockerfile("ghcr.io/me/runtime:1", requirements=False)
    assert plain.splitlines() == [
        "FROM ghcr.io/me/runtime:1", "ARG ENTRYPOINT=", "COPY main.py /function/main.py",
        "ENV JUPYTER_KNATIVE_FUNCTION=/function/main.py JUPYTER_KNATIVE_PACKAGES=/function/packages "
        "JUPYTER_KNATIVE_HANDLER=${ENTRYPOINT}"]
    with_reqs = function_dockerfile("r:1", requirements=True).splitlines()
    assert with_reqs[3:7] == ["COPY requirements.txt /function/requirements.txt", "USER root",
                              "RUN pip install --no-cache-dir --target /function/packages -r "
                              "/function/requirements.txt", "USER 65532:65532"]


def test_cluster_build_objects_push_to_the_registry() -> None:
    target = ClusterTarget("registry.example.com/team/", "registry.example.com/team/runtime:1", "builder")
    config_map, task_run = build_objects("fn", "ns", SOURCE, handler="hello", requirements=["six"], target=target)
    digest = task_run["metadata"]["name"].removeprefix("fn-build-")
    assert digest == source_digest(SOURCE, "hello", ["six"], {"registry": target.registry,
                                                              "runtime": target.runtime_image})
    assert digest != source_digest(SOURCE, "hello", ["six"])  # a cluster build is another build than the plane's
    assert config_map["metadata"]["name"] == f"fn-source-{digest}"
    assert set(config_map["data"]) == {"main.py", "requirements.txt", "Dockerfile"}
    assert config_map["data"]["Dockerfile"].startswith("FROM registry.example.com/team/runtime:1\n")
    spec = task_run["spec"]
    assert spec["serviceAccountName"] == "builder"
    assert spec["taskSpec"]["steps"][0]["args"] == [
        "--context=$(workspaces.source.path)", "--dockerfile=$(workspaces.source.path)/Dockerfile",
        f"--destination=registry.example.com/team/ns/fn:{digest}", "--digest-file=$(results.IMAGE_DIGEST.path)",
        "--image-name-with-digest-file=$(results.IMAGE_URL.path)", "--build-arg=ENTRYPOINT=hello"]
    plane_cm, plane_run = build_objects("fn", "ns", SOURCE, handler="hello", requirements=["six"])
    assert "Dockerfile" not in plane_cm["data"] and "serviceAccountName" not in plane_run["spec"]


def test_shipping_owns_its_env_volume_and_mount() -> None:
    parts = configmap_parts("fn", "ns", SOURCE, handler="hello")
    current = {"spec": {"containers": [{"image": "old", "env": [{"name": "A", "value": "1"},
                                                                 {"name": "JUPYTER_KNATIVE_HANDLER", "value": "x"}],
                                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                        "volumes": [{"name": "data", "emptyDir": {}}]}}
    shipped = updated_template(current, parts.spec("runtime:1"), None)
    container = shipped["spec"]["containers"][0]
    assert container["image"] == "runtime:1"
    assert container["env"] == [{"name": "A", "value": "1"},
                                {"name": "JUPYTER_KNATIVE_FUNCTION", "value": "/function/main.py"},
                                {"name": "JUPYTER_KNATIVE_HANDLER", "value": "hello"}]
    assert container["volumeMounts"] == [{"name": "data", "mountPath": "/data"},
                                         {"name": "function", "mountPath": "/function", "readOnly": True}]
    assert shipped["spec"]["volumes"][1] == {"name": "function",
                                             "configMap": {"name": parts.config_map["metadata"]["name"]}}
    # shipped as an image later: the ConfigMap's variables, volume and mount go, the user's stay
    image = updated_template(shipped, FunctionSpec(image="reg/fn@sha256:" + "0" * 64), None)
    container = image["spec"]["containers"][0]
    assert container["env"] == [{"name": "A", "value": "1"}]
    assert container["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    assert image["spec"]["volumes"] == [{"name": "data", "emptyDir": {}}]
