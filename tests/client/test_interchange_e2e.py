"""The embedded plane and a cluster in one session (issue 11, item 4): `export` from one, `apply` into the other.
The `cluster` fixture is the plane reached as any cluster (a kubeconfig copy), into another namespace."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jupyter_knative.client import Client, KnativeError

from ..conftest import Plane
from .conftest import names

HELLO = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": "hello"},
         "spec": {"template": {"spec": {"containers": [{"image": "ghcr.io/knative/helloworld-go",
                                                        "env": [{"name": "TARGET", "value": "moved"}]}]}}}}
BROKER = {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "metadata": {"name": "default"}}
TRIGGER = {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger", "metadata": {"name": "to-hello"},
           "spec": {"broker": "default", "filter": {"attributes": {"type": "greeting"}},
                    "subscriber": {"ref": {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
                                           "name": "hello"}}}}
SOURCE = "def shout(request):\n    return request.get_data(as_text=True).upper()\n"


@pytest.fixture
def elsewhere(plane: Plane, other_namespace: str, tmp_path: Path) -> Client:
    copy = tmp_path / "cluster-kubeconfig"
    shutil.copy(plane.kubeconfig, copy)
    return Client(kubeconfig=copy, namespace=other_namespace, ingress=plane.ingress)


def test_export_from_the_plane_apply_to_a_cluster_and_back(client: Client, elsewhere: Client) -> None:
    client.apply([HELLO, BROKER, TRIGGER])
    client.deploy_function("shout", SOURCE, ship="configmap")  # portable: source in a ConfigMap, a public image
    client.wait("ksvc", "hello")
    exported = client.export()

    applied = elsewhere.apply(exported)
    assert {"service.serving.knative.dev/hello", "service.serving.knative.dev/shout",
            "broker.eventing.knative.dev/default", "trigger.eventing.knative.dev/to-hello"} <= set(applied.refs)
    assert set(applied.actions) == {"created"}
    for kind, name in (("ksvc", "hello"), ("ksvc", "shout"), ("broker", "default"), ("trigger", "to-hello")):
        elsewhere.wait(kind, name)
    assert elsewhere.invoke("hello").text == "Hello moved!\n"
    assert elsewhere.invoke("shout", data="hi").text == "HI"

    # and back: what the cluster has, applied to the plane again, changes no spec (kubectl would say
    # "configured": the last-applied annotation is rewritten) and makes no new revision
    before = {n: client.get("ksvc", n)["metadata"]["generation"] for n in ("hello", "shout")}
    client.apply(elsewhere.export())
    assert {n: client.get("ksvc", n)["metadata"]["generation"] for n in ("hello", "shout")} == before
    assert sorted(names(client.list("revisions"))) == ["hello-00001", "shout-00001"]


def test_plane_built_images_are_refused_on_a_cluster(client: Client, elsewhere: Client) -> None:
    client.deploy_function("built", SOURCE)  # the plane's builder: dev.local/...
    with pytest.raises(KnativeError) as err:
        elsewhere.apply(client.export())
    assert "an image the embedded plane built" in str(err.value) and "dev.local/" in str(err.value)
    assert "--registry" in err.value.hint
    assert names(elsewhere.list("ksvc")) == [] and names(elsewhere.list("taskruns")) == []
