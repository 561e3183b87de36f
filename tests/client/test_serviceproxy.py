"""Cluster-internal URLs through the API server's service proxy: the URL -> proxy path mapping, then `send` to a
Broker on the session plane taken for a cluster (a copy of its kubeconfig; no plane files), with no ingress or a
dead one, so only the service proxy can carry the event; the broker's answers and the API server's refusals."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from jupyter_knative.client import Client, KnativeError
from jupyter_knative.client.connection import Connection
from jupyter_knative.client.http import proxy_request, service_proxy_path

from ..conftest import Plane
from ..recorder import Recorder
from .conftest import until

BROKER_URL = "http://broker-ingress.knative-eventing.svc.cluster.local"


@pytest.mark.parametrize(("url", "path"), [
    pytest.param(f"{BROKER_URL}/ns/default",
                 "/api/v1/namespaces/knative-eventing/services/broker-ingress:80/proxy/ns/default", id="broker"),
    pytest.param("http://hello.ns.svc/", "/api/v1/namespaces/ns/services/hello:80/proxy/", id="short .svc"),
    pytest.param("http://hello.ns.svc.cluster.local.", "/api/v1/namespaces/ns/services/hello:80/proxy/",
                 id="fqdn, no path"),
    pytest.param("http://hello.ns.svc:8080/a/b?x=1&y=a%20b",
                 "/api/v1/namespaces/ns/services/hello:8080/proxy/a/b?x=1&y=a%20b", id="port and query"),
    pytest.param("https://hello.ns.svc.cluster.local/x", "/api/v1/namespaces/ns/services/https:hello:443/proxy/x",
                 id="https"),
    pytest.param("http://Hello.NS.svc.cluster.local/P", "/api/v1/namespaces/ns/services/hello:80/proxy/P",
                 id="host case folded, path kept"),
    pytest.param("http://hello.ns.example.com/", None, id="external domain"),
    pytest.param("http://hello.svc.cluster.local/", None, id="no namespace"),
    pytest.param("http://a.b.ns.svc.cluster.local/", None, id="too many labels"),
    pytest.param("http://hello_x.ns.svc/", None, id="not a DNS label"),
    pytest.param("http://127.0.0.1:8080/", None, id="address"),
    pytest.param("ftp://hello.ns.svc/", None, id="scheme"),
    pytest.param("http://hello.ns.svc:99999/", None, id="bad port"),
])
def test_service_proxy_path(url: str, path: str | None) -> None:
    assert service_proxy_path(url) == path


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.close()


def copied_kubeconfig(plane: Plane, tmp_path: Path, token: str | None = None) -> Path:
    copy = tmp_path / f"kubeconfig-{uuid.uuid4().hex[:6]}"
    shutil.copy(plane.kubeconfig, copy)
    if token is not None:
        doc = yaml.safe_load(copy.read_text())
        for user in doc["users"]:
            user["user"]["token"] = token
        copy.write_text(yaml.safe_dump(doc))
    return copy


@pytest.fixture
def broker_and_trigger(cluster: Client, recorder: Recorder) -> str:
    cluster.apply("apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n")
    cluster.apply("apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: all\nspec:\n"
                  f"  broker: default\n  subscriber:\n    uri: {recorder.url('sent')}\n")
    cluster.wait("broker", "default", timeout=60)
    cluster.wait("trigger", "all", timeout=60)
    url = str(cluster.get("broker", "default")["status"]["address"]["url"])
    assert url == f"{BROKER_URL}/{cluster.namespace}/default"
    return url


def test_send_on_a_cluster_goes_through_the_service_proxy(plane: Plane, namespace: str, tmp_path: Path,
                                                          cluster: Client, recorder: Recorder,
                                                          broker_and_trigger: str) -> None:
    reply = cluster.send("default", type="dev.example.sent", source="/test", data={"n": 1}, id="via-cluster")
    assert (reply.status_code, reply.url) == (202, broker_and_trigger)
    # no ingress at all, and one that nothing answers on: only the service proxy can carry these
    bare = Client(kubeconfig=copied_kubeconfig(plane, tmp_path), namespace=namespace)
    dead = Client(kubeconfig=copied_kubeconfig(plane, tmp_path), namespace=namespace, ingress="http://127.0.0.1:9")
    try:
        assert bare.home is None and bare._conn.ingress() is None
        assert bare.send("default", type="dev.example.sent", source="/test", data="text", id="bare").status_code == 202
        assert dead.send("default", type="dev.example.sent", source="/test", id="dead").status_code == 202
    finally:
        bare.close()
        dead.close()
    until(lambda: len(recorder.at("sent")) >= 3)
    got = {r.ce("id"): r for r in recorder.at("sent")}
    assert set(got) == {"via-cluster", "bare", "dead"}
    assert got["via-cluster"].body == b'{"n":1}' and got["via-cluster"].headers["content-type"] == "application/json"
    assert got["bare"].body == b"text" and got["via-cluster"].ce("source") == "/test"


def test_the_brokers_answers_and_the_api_servers_refusals(plane: Plane, namespace: str, tmp_path: Path,
                                                          cluster: Client, broker_and_trigger: str) -> None:
    conn = Connection.for_kubeconfig(copied_kubeconfig(plane, tmp_path), None)
    try:
        missing = proxy_request(conn, f"{BROKER_URL}/{namespace}/nope", "POST", body=b"{}", headers={
            "ce-specversion": "1.0", "ce-id": "1", "ce-source": "/t", "ce-type": "t",
            "Content-Type": "application/json"})
        assert (missing.status_code, missing.ok, missing.content) == (404, False, b"")  # the broker's own 404
        not_an_event = proxy_request(conn, broker_and_trigger, "POST", body=b"x",
                                     headers={"Content-Type": "text/plain"})
        assert not_an_event.status_code == 400
        with pytest.raises(KnativeError) as err:
            proxy_request(conn, "http://nope.knative-eventing.svc.cluster.local/x", "POST", body=b"")
        assert (str(err.value), err.value.reason, err.value.code) == ('services "nope" not found', "NotFound", 404)
        assert "kubectl get svc nope -n knative-eventing" in err.value.hint
        with pytest.raises(KnativeError) as err:
            proxy_request(conn, "http://broker-ingress.knative-eventing.svc:81/x", "POST")
        assert str(err.value) == 'no service port 81 found for service "broker-ingress"'
        with pytest.raises(KnativeError) as err:
            proxy_request(conn, "http://example.com/x", "POST")
        assert err.value.reason == "Invalid"
    finally:
        conn.close()
    # credentials the API server refuses (a cluster's RBAC answers 403 the same way): the hint names the permission
    refused = Client(kubeconfig=copied_kubeconfig(plane, tmp_path, token="wrong"), namespace=namespace)
    try:
        with pytest.raises(KnativeError) as err:
            refused._conn.request("GET", f"/apis/eventing.knative.dev/v1/namespaces/{namespace}/brokers/default")
        assert err.value.reason == "Unauthorized"
        with pytest.raises(KnativeError) as err:
            proxy_request(refused._conn, broker_and_trigger, "POST", body=b"{}")
        assert err.value.reason == "Unauthorized" and err.value.code == 401 and "credentials" in err.value.hint
    finally:
        refused.close()


class Forbidding:
    """What a cluster's RBAC answers a user without `services/proxy` (the plane has no RBAC to say it)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def exchange(self, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None,
                 timeout: float = 60.0) -> tuple[int, str, list[tuple[str, str]], bytes]:
        self.asked.append((method, path))
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Forbidden",
                  "code": 403, "details": {"name": "broker-ingress:80", "kind": "services"},
                  "message": 'services "broker-ingress:80" is forbidden: User "alice" cannot create resource '
                             '"services/proxy" in API group "" in the namespace "knative-eventing"'}
        return 403, "Forbidden", [("Content-Type", "application/json")], json.dumps(status).encode()


def test_a_forbidden_proxy_names_the_permission() -> None:
    conn = Forbidding()
    with pytest.raises(KnativeError) as err:
        proxy_request(conn, f"{BROKER_URL}/ns/default", "POST", body=b"{}")  # type: ignore[arg-type]
    assert conn.asked == [("POST", "/api/v1/namespaces/knative-eventing/services/broker-ingress:80/proxy/ns/default")]
    assert (err.value.reason, err.value.code) == ("Forbidden", 403)
    assert str(err.value).startswith('services "broker-ingress:80" is forbidden: User "alice" cannot create')
    assert err.value.hint == ("the request goes through the API server's service proxy: it needs permission to "
                              "create services/proxy in the knative-eventing namespace (kubectl auth can-i create "
                              "services/proxy -n knative-eventing)")


def test_the_plane_itself_still_uses_its_ingress(client: Client, broker_and_trigger: str,
                                                 recorder: Recorder) -> None:
    reply = client.send("default", type="dev.example.sent", source="/test", id="embedded")
    assert reply.status_code == 202 and reply.url.startswith(BROKER_URL)
    until(lambda: recorder.ids("sent") == ["embedded"])
