"""What users meet when something is wrong: unknown services, a plane that is down, a plain cluster."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jupyter_knative.client import Client, KnativeError
from jupyter_knative.client.daemonctl import DaemonControl
from jupyter_knative.home import PlaneHome

from ..conftest import Plane
from .helpers import hello


def test_unknown_service_hints_at_the_namespaces_services(client: Client, namespace: str) -> None:
    with pytest.raises(KnativeError) as err:
        client.invoke("nope")
    assert err.value.hint == f"there are no services in namespace '{namespace}'"
    client.apply(hello(name="real") + "---\n" + hello(name="other"))
    for call in (lambda: client.invoke("nope"), lambda: client.logs("nope"), lambda: client.get("ksvc", "nope"),
                 lambda: client.traffic("nope", {"@latest": 100}), lambda: client.describe("service", "nope")):
        with pytest.raises(KnativeError) as err:
            call()
        assert err.value.reason == "NotFound"
        assert str(err.value) == 'services.serving.knative.dev "nope" not found'
        assert err.value.hint == f"services in namespace '{namespace}': other, real"
        assert err.value.status is not None and err.value.code == 404


def test_delete_of_nothing(client: Client) -> None:
    with pytest.raises(KnativeError) as err:
        client.delete("cm", "ghost")
    assert err.value.reason == "NotFound" and str(err.value) == 'configmaps "ghost" not found'


def test_a_stopped_plane(tmp_path: Path) -> None:
    home = PlaneHome(tmp_path / "home")
    control = DaemonControl(home)
    control.up(timeout=60)
    try:
        running = Client.embedded(home=home, start=False)
        assert running.status()["running"] is True
        assert running.list("ksvc") == []
        kube = Client(kubeconfig=home.kubeconfig)
        assert kube.home == home and kube.list("cm", namespace="knative-serving")
    finally:
        control.down()
    for c in (running, Client.embedded(home=home, start=False), Client(kubeconfig=home.kubeconfig)):
        with pytest.raises(KnativeError) as err:
            c.list("ksvc")
        assert err.value.reason == "PlaneDown", (c, err.value)
        assert err.value.hint == "run %knative up (or jupyter knative up)"
        assert "not running" in str(err.value)
    assert running.status()["running"] is False
    # start=True (and up()/down()) bring it back and stop it again
    started = Client.embedded(home=home, start=True)
    try:
        assert started.list("ksvc") == [] and started.up()["running"] is True
    finally:
        started.down()
    assert started.status()["running"] is False


def test_a_plain_kubeconfig_is_a_cluster(plane: Plane, tmp_path: Path, namespace: str) -> None:
    copied = tmp_path / "config"
    shutil.copy(plane.kubeconfig, copied)
    cluster = Client(kubeconfig=copied, namespace=namespace)
    assert (cluster.backend, cluster.home) == ("kubernetes", None)
    assert cluster.list("ksvc") == []
    status = cluster.status()
    assert status["reachable"] is True and "serving.knative.dev" in status["knative"]
    assert status["version"].startswith("v1.")
    with pytest.raises(KnativeError) as err:  # no built-in builder on a cluster
        cluster.deploy_function("fn", "def handler(request):\n    return 'x'\n", ship="plane")
    assert err.value.reason == "Invalid" and "not a jupyter-knative plane" in str(err.value)
    with pytest.raises(KnativeError) as err:
        cluster.up()
    assert err.value.reason == "NotSupported"


def test_bad_kubeconfig(tmp_path: Path) -> None:
    bad = tmp_path / "config"
    bad.write_text("not: a kubeconfig\n")
    with pytest.raises(KnativeError) as err:
        Client(kubeconfig=bad)
    assert err.value.reason == "BadConfig" and str(bad) in str(err.value)


def test_bad_function_source(client: Client) -> None:
    with pytest.raises(KnativeError) as err:
        client.deploy_function("broken", "def handler(request)\n    return 1\n")
    assert err.value.reason == "Invalid" and "does not compile" in str(err.value)
    with pytest.raises(KnativeError) as err:
        client.deploy_function("Bad_Name", "def handler(request):\n    return 1\n")
    assert err.value.reason == "Invalid" and "DNS label" in str(err.value)


def test_a_crashing_function_fails_the_deploy(client: Client) -> None:
    with pytest.raises(KnativeError) as err:
        client.deploy_function("crashy", "import nonexistent_module_xyz\n\ndef handler(request):\n    return 1\n")
    assert "nonexistent_module_xyz" in str(err.value)
    assert err.value.reason in ("RevisionFailed", "ExitCode1", "ContainerHealthy")
