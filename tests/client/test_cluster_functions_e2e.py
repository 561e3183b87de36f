"""Function cells on a cluster (issue 11): the plane reached as any cluster (`cluster` fixture: a kubeconfig copy,
no plane files, a given ingress) — ConfigMap shipping into the runtime image, an in-cluster Tekton build pushing
to a registry, and the modes a cluster refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_knative.client import Client, KnativeError
from jupyter_knative.client.oci.registry import Registry

from ..registry import running_registry
from .conftest import names

GREETER = """
import os

def greet(request):
    return {"hello": request.args.get("name", "world"), "version": VERSION, "target": os.environ.get("TARGET")}

VERSION = @VERSION@
"""


def greeter(version: int) -> str:
    return GREETER.replace("@VERSION@", str(version))


def template_of(client: Client, name: str) -> dict:  # type: ignore[type-arg]
    return client.get("ksvc", name)["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def test_the_cluster_client_reaches_services_through_the_given_ingress(cluster: Client) -> None:
    cluster.apply({"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": "hello"},
                   "spec": {"template": {"spec": {"containers": [{"image": "ghcr.io/knative/helloworld-go",
                                                                  "env": [{"name": "TARGET", "value": "C"}]}]}}}})
    cluster.wait("ksvc", "hello")
    r = cluster.invoke("hello")
    assert (r.status_code, r.text) == (200, "Hello C!\n")


def test_configmap_shipping_on_a_cluster(cluster: Client, namespace: str) -> None:
    lines: list[str] = []
    first = cluster.deploy_function("greeter", greeter(1), env={"TARGET": "t"}, progress=lines.append)
    assert (first.action, first.revision) == ("created", "greeter-00001")
    maps = [m for m in cluster.list("configmaps", label_selector="jupyter-knative.dev/function=greeter")]
    assert len(maps) == 1 and maps[0]["immutable"] is True and maps[0]["data"]["main.py"] == greeter(1)
    cm = maps[0]["metadata"]["name"]
    assert cm.startswith("greeter-fn-") and any(f"as ConfigMap {cm}" in line for line in lines)
    spec = template_of(cluster, "greeter")
    assert spec["containers"][0]["image"] == "ghcr.io/jupyter-knative/function-runtime:0.1"
    assert spec["volumes"] == [{"name": "function", "configMap": {"name": cm}}]
    assert cluster.list("taskruns") == []  # nothing is built
    r = cluster.invoke("greeter", path="/?name=cm")
    assert r.status_code == 200 and r.json() == {"hello": "cm", "version": 1, "target": "t"}

    again = cluster.deploy_function("greeter", greeter(1))
    assert (again.action, again.created) == ("unchanged", False)
    second = cluster.deploy_function("greeter", greeter(2))
    assert (second.action, second.revision) == ("updated", "greeter-00002")
    assert cluster.invoke("greeter").json() == {"hello": "world", "version": 2, "target": "t"}
    maps = names(cluster.list("configmaps", label_selector="jupyter-knative.dev/function=greeter"))
    assert len(maps) == 2 and cm in maps  # the first revision keeps its ConfigMap (immutable, never rewritten)
    cluster.traffic("greeter", {"greeter-00001": 100})
    assert cluster.invoke("greeter").json()["version"] == 1


def test_an_in_cluster_tekton_build_pushes_to_the_registry(cluster: Client, namespace: str) -> None:
    lines: list[str] = []
    done = cluster.deploy_function("tk", greeter(3), ship="tekton", registry="registry.example.com/team",
                                   progress=lines.append)
    runs = cluster.list("taskruns")
    assert len(runs) == 1
    run = runs[0]
    digest = run["metadata"]["name"].removeprefix("tk-build-")
    args = run["spec"]["taskSpec"]["steps"][0]["args"]
    assert f"--destination=registry.example.com/team/{namespace}/tk:{digest}" in args
    assert "--dockerfile=$(workspaces.source.path)/Dockerfile" in args
    source = cluster.get("configmaps", f"tk-source-{digest}")
    assert source["data"]["Dockerfile"].startswith("FROM ghcr.io/jupyter-knative/function-runtime:0.1\n")
    image = template_of(cluster, "tk")["containers"][0]["image"]
    assert image.startswith(f"registry.example.com/team/{namespace}/tk@sha256:"), image  # kaniko's name@digest
    assert done.revision == "tk-00001"
    assert cluster.invoke("tk").json()["version"] == 3


def test_modes_a_cluster_refuses(cluster: Client) -> None:
    with pytest.raises(KnativeError) as err:
        cluster.deploy_function("x", greeter(1), ship="plane")
    assert "not a jupyter-knative plane" in str(err.value)
    with pytest.raises(KnativeError) as err:
        cluster.deploy_function("x", greeter(1), ship="oci")
    assert "name the registry" in str(err.value)
    with pytest.raises(KnativeError) as err:
        cluster.deploy_function("x", "def broken(:\n")
    assert err.value.reason == "Invalid"
    assert cluster.list("configmaps", label_selector="jupyter-knative.dev/function=x") == []


def test_oci_shipping_pushes_an_image_the_service_runs_by_digest(cluster: Client, tmp_path: Path) -> None:
    from .test_oci_registry import push_base

    with running_registry(tmp_path / "registry") as registry:
        base = push_base(registry.host)
        lines: list[str] = []
        done = cluster.deploy_function("img", greeter(4), ship="oci", registry=f"{registry.host}/course",
                                       base_image=base, wait=False, progress=lines.append)
        image = template_of(cluster, "img")["containers"][0]["image"]
        assert image.startswith(f"{registry.host}/course/") and "@sha256:" in image, image
        assert done.action == "created" and any("pushed" in line or "skipped" in line for line in lines), lines
        _, _, digest = Registry(registry.host).get_manifest(image.split("/", 1)[1].split("@")[0],
                                                            image.rsplit("@", 1)[1])
        assert image.endswith("@" + digest)  # the Service runs exactly what is in the registry
        assert "volumes" not in template_of(cluster, "img")  # everything is in the image
        again = cluster.deploy_function("img", greeter(4), ship="oci", registry=f"{registry.host}/course",
                                        base_image=base, wait=False)
        assert again.action == "unchanged"  # same input, same digest, same revision
