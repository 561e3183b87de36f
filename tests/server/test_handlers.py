"""Every handler through a real jupyter_server (pytest-jupyter) against the session's plane: status, plane,
namespaces, objects, stream, delete, logs and the proxy (GET, POST with a body, a tag route)."""

from __future__ import annotations

import itertools
import json
import shutil
import time
import urllib.parse
from typing import Any

import pytest

from jupyter_knative.client import Client
from jupyter_knative.home import PlaneHome

from ..conftest import Plane
from .conftest import Served, state_of

BROKER = """
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: {name}
"""

PING = """
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: {name}
spec:
  schedule: "0 0 1 1 *"
  data: '{{"hello": "world"}}'
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: echo
"""

TRIGGER = """
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: {name}
spec:
  broker: {broker}
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: echo
"""


def body(resp: Any) -> Any:
    return json.loads(resp.body)


def until(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"not reached within {timeout}s: {value!r}"
        time.sleep(0.2)


# -- status, plane, namespaces --------------------------------------------------------------------------------


def test_status(fetch: Any, plane: Plane) -> None:
    resp = fetch("knative", "api", "status")
    assert resp.code == 200 and resp.headers["Content-Type"].startswith("application/json")
    status = body(resp)
    assert status == {"backend": "embedded", "running": True, "api": plane.api, "ingress": plane.ingress,
                      "namespace": "default", "version": status["version"]}
    assert isinstance(status["version"], str) and status["version"]


def test_namespaces(fetch: Any, served: Served) -> None:
    resp = fetch("knative", "api", "namespaces")
    assert resp.code == 200
    items = body(resp)["items"]
    assert served.namespace in items and "default" in items and items == sorted(items)


def test_plane_action_is_checked(fetch: Any) -> None:
    for payload in ({"action": "restart"}, {}, []):
        resp = fetch("knative", "api", "plane", method="POST", body=json.dumps(payload))
        assert resp.code == 400, resp.body
        assert "action" in body(resp)["message"]


@pytest.fixture
def empty_home(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return tmp_path_factory.mktemp("lab-home")


@pytest.fixture
def knative_config(request: pytest.FixtureRequest, plane: Plane) -> dict[str, Any]:
    """The default points at the session plane; tests parametrize it indirectly for other backends."""
    extra = getattr(request, "param", None)
    if extra == "empty-home":
        return {"home": str(request.getfixturevalue("empty_home"))}
    if extra == "kubernetes":
        return {"backend": "kubernetes", "kubeconfig": str(plane.kubeconfig)}
    if extra == "cluster":  # a kubeconfig copy (just some cluster to the server) and a port-forwarded ingress
        copy = request.getfixturevalue("tmp_path") / "kubeconfig"
        shutil.copy(plane.kubeconfig, copy)
        return {"backend": "kubernetes", "kubeconfig": str(copy), "ingress": plane.ingress}
    if extra == "keepalive":
        return {"home": str(plane.home), "stream_keepalive": 0.3}
    return {"home": str(plane.home)}


@pytest.mark.parametrize("knative_config", ["empty-home"], indirect=True)
def test_plane_start_and_stop(fetch: Any, empty_home: Any) -> None:
    """POST api/plane starts a plane in the configured home and stops it, as `jupyter knative up/down` do."""
    down = body(fetch("knative", "api", "status"))
    assert (down["running"], down["api"], down["ingress"]) == (False, None, None)
    try:
        up = fetch("knative", "api", "plane", method="POST", body=json.dumps({"action": "start"}),
                   request_timeout=90)
        assert up.code == 200, up.body
        status = body(up)
        assert status["running"] is True and status["api"].startswith("https://127.0.0.1:")
        assert status["ingress"].startswith("http://127.0.0.1:")
        assert (empty_home / "daemon.json").is_file()
    finally:
        stopped = fetch("knative", "api", "plane", method="POST", body=json.dumps({"action": "stop"}),
                        request_timeout=60)
    assert stopped.code == 200, stopped.body
    assert body(stopped)["running"] is False and not (empty_home / "daemon.json").exists()
    again = fetch("knative", "api", "plane", method="POST", body=json.dumps({"action": "stop"}))
    assert again.code == 200 and body(again)["running"] is False  # stopping a stopped plane is no error


@pytest.mark.parametrize("knative_config", ["empty-home"], indirect=True)
def test_plane_down_answers(fetch: Any, served: Served) -> None:
    """With no plane: an empty snapshot, 503 with a hint for what needs the API, 404 JSON from the proxy."""
    snap = body(fetch("knative", "api", "objects", params={"namespace": "default"}))
    assert snap == {"namespace": "default", "services": [], "revisions": [], "brokers": [], "triggers": [],
                    "sources": [], "builds": []}
    resp = fetch("knative", "api", "namespaces")
    assert resp.code == 503
    err = body(resp)
    assert err["reason"] == "PlaneDown" and "knative up" in err["hint"]
    proxied = fetch("knative", "proxy", served.namespace, "echo/")
    assert proxied.code == 404 and proxied.headers["Content-Type"].startswith("application/json")
    assert body(proxied)["reason"] == "NoIngress" and "no running plane" in body(proxied)["message"]


@pytest.mark.parametrize("knative_config", ["kubernetes"], indirect=True)
def test_kubernetes_backend(fetch: Any, plane: Plane, served: Served) -> None:
    """The same plane through its kubeconfig, as a cluster is reached: objects and the proxy work (the
    kubeconfig is the plane's, so its ingress is known); start/stop is refused with 409."""
    status = body(fetch("knative", "api", "status"))
    assert status["backend"] == "kubernetes" and status["running"] is True
    assert status["api"].rstrip("/") == plane.api and status["ingress"] == plane.ingress
    snap = body(fetch("knative", "api", "objects", params={"namespace": served.namespace}))
    assert [s["name"] for s in snap["services"]] == ["echo"]
    resp = fetch("knative", "api", "plane", method="POST", body=json.dumps({"action": "stop"}))
    assert resp.code == 409 and body(resp)["reason"] == "Conflict"
    assert body(fetch("knative", "proxy", served.namespace, "echo", "x"))["path"] == "/x"


@pytest.mark.parametrize("knative_config", ["cluster"], indirect=True)
def test_a_cluster_with_a_configured_ingress(fetch: Any, served: Served) -> None:
    """A kubeconfig the server cannot tell from any cluster's: the browser proxy goes through the configured
    ingress."""
    status = body(fetch("knative", "api", "status"))
    assert status["backend"] == "kubernetes"
    snap = body(fetch("knative", "api", "objects", params={"namespace": served.namespace}))
    assert [s["name"] for s in snap["services"]] == ["echo"]
    assert body(fetch("knative", "proxy", served.namespace, "echo", "y"))["path"] == "/y"


# -- objects --------------------------------------------------------------------------------------------------


def test_objects_snapshot(fetch: Any, served: Served) -> None:
    ns = served.namespace
    resp = fetch("knative", "api", "objects", params={"namespace": ns})
    assert resp.code == 200
    snap = body(resp)
    assert set(snap) == {"namespace", "services", "revisions", "brokers", "triggers", "sources", "builds"}
    assert snap["namespace"] == ns
    (svc,) = snap["services"]
    assert svc["name"] == "echo" and svc["url"] == f"http://echo.{ns}.svc.cluster.local"
    assert (svc["ready"], svc["latestRevision"]) == ("True", "echo-00002")
    traffic = sorted(svc["traffic"], key=lambda t: t["revisionName"])
    assert traffic == [
        {"revisionName": "echo-00001", "percent": 0, "tag": "v1", "url": f"http://v1-echo.{ns}.svc.cluster.local"},
        {"revisionName": "echo-00002", "percent": 100, "tag": None, "url": None},
    ]
    revisions = snap["revisions"]
    assert [(r["name"], r["service"], r["percent"]) for r in revisions] == [("echo-00002", "echo", 100),
                                                                             ("echo-00001", "echo", 0)]
    for rev in revisions:
        assert rev["ready"] in ("True", "Unknown") and rev["created"].endswith("Z")
        assert rev["desired"] is None or isinstance(rev["desired"], int)
        assert rev["actual"] is None or isinstance(rev["actual"], int)
    builds = snap["builds"]
    assert len(builds) == 2 and {b["kind"] for b in builds} == {"TaskRun"}
    assert all(b["name"].startswith("echo-build-") and b["succeeded"] == "True" for b in builds)
    assert builds[0]["started"] >= builds[1]["started"]  # newest first


def test_objects_eventing_kinds(fetch: Any, served: Served) -> None:
    ns = served.namespace
    served.client.apply(BROKER.format(name="bus") + "---" + TRIGGER.format(name="to-echo", broker="bus") + "---"
                        + PING.format(name="tick"))
    try:
        snap = until(lambda: (s := body(fetch("knative", "api", "objects", params={"namespace": ns})))
                     ["brokers"] and s)
        (broker,) = snap["brokers"]
        assert broker["name"] == "bus" and broker["ready"] in ("True", "False", "Unknown")
        assert snap["triggers"] == [{"name": "to-echo", "broker": "bus", "subscriber": "Service/echo",
                                     "ready": snap["triggers"][0]["ready"]}]
        assert snap["sources"] == [{"kind": "PingSource", "name": "tick", "sink": "Service/echo",
                                    "ready": snap["sources"][0]["ready"]}]
        until(lambda: body(fetch("knative", "api", "objects", params={"namespace": ns}))["brokers"][0]["url"])
    finally:
        for kind, name in (("triggers", "to-echo"), ("pingsources", "tick"), ("brokers", "bus")):
            served.client.delete(kind, name, wait=False)


def test_objects_namespace_checked(fetch: Any) -> None:
    resp = fetch("knative", "api", "objects", params={"namespace": "Not_A_Label"})
    assert resp.code == 400 and "namespace" in body(resp)["message"]


def test_delete(fetch: Any, plane: Plane, namespace: str) -> None:
    client = Client.embedded(home=PlaneHome(plane.home), namespace=namespace, start=False)
    client.apply(BROKER.format(name="gone") + "---" + PING.format(name="tick"))
    for kind, name in (("brokers", "gone"), ("pingsources", "tick")):
        resp = fetch("knative", "api", "objects", kind, namespace, name, method="DELETE")
        assert resp.code == 200 and body(resp) == {}
    until(lambda: not client.list("brokers") and not client.list("pingsources"))
    missing = fetch("knative", "api", "objects", "brokers", namespace, "gone", method="DELETE")
    assert missing.code == 404 and body(missing)["reason"] == "NotFound"
    unknown = fetch("knative", "api", "objects", "gizmos", namespace, "x", method="DELETE")
    assert unknown.code == 404 and "gizmos" in body(unknown)["message"]
    client.close()


def test_delete_a_service(fetch: Any, plane: Plane, namespace: str) -> None:
    """`services` are Knative Services (the plural the sidebar sends)."""
    client = Client.embedded(home=PlaneHome(plane.home), namespace=namespace, start=False)
    client.apply({"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": "doomed"},
                  "spec": {"template": {"spec": {"containers": [{"image": "example.com/none"}]}}}})
    resp = fetch("knative", "api", "objects", "services", namespace, "doomed", method="DELETE")
    assert resp.code == 200
    until(lambda: not client.list("ksvc"))
    client.close()


# -- logs -----------------------------------------------------------------------------------------------------


def test_logs(fetch: Any, served: Served) -> None:
    ns = served.namespace
    assert fetch("knative", "proxy", ns, "echo", "logged").code == 200
    resp = until(lambda: (r := fetch("knative", "api", "logs", ns, "echo")).code == 200
                 and b"echo GET /logged" in r.body and r)
    assert resp.headers["Content-Type"].startswith("text/plain")
    tail = fetch("knative", "api", "logs", ns, "echo", params={"tail": "1"})
    assert tail.code == 200 and len(tail.body.decode().strip().splitlines()) == 1
    bad = fetch("knative", "api", "logs", ns, "echo", params={"tail": "many"})
    assert bad.code == 400
    missing = fetch("knative", "api", "logs", ns, "nothere")
    assert missing.code == 404 and body(missing)["reason"] == "NotFound"


# -- the proxy ------------------------------------------------------------------------------------------------


def test_proxy_get(fetch: Any, served: Served, jp_serverapp: Any) -> None:
    ns = served.namespace
    token = jp_serverapp.identity_provider.token
    jp_serverapp.identity_provider.cookie_name = "jp-login"
    resp = fetch("knative", "proxy", ns, "echo", "some/path", params={"a": "1", "token": token, "b": "x y"},
                 headers={"Cookie": "_xsrf=abc; keep=1; jp-login=s; jupyterhub-session-id=h",
                          "X-XSRFToken": "abc", "X-Custom": "kept"})
    assert resp.code == 200, resp.body
    echoed = body(resp)
    assert (echoed["method"], echoed["path"], echoed["version"]) == ("GET", "/some/path", 2)
    assert urllib.parse.parse_qs(echoed["query"]) == {"a": ["1"], "b": ["x y"]}  # Jupyter's token stays here
    headers = echoed["headers"]
    assert headers["host"] == f"echo.{ns}.svc.cluster.local"
    assert "authorization" not in headers and "x-xsrftoken" not in headers
    assert headers["cookie"] == "keep=1" and headers["x-custom"] == "kept"
    assert headers["x-forwarded-prefix"].endswith(f"/knative/proxy/{ns}/echo")


def test_proxy_post_with_body(fetch: Any, served: Served) -> None:
    payload = json.dumps({"hello": "proxy"})
    resp = fetch("knative", "proxy", served.namespace, "echo", "submit", method="POST", body=payload,
                 headers={"Content-Type": "application/json"})
    assert resp.code == 200, resp.body
    echoed = body(resp)
    assert (echoed["method"], echoed["path"], echoed["body"]) == ("POST", "/submit", payload)
    assert echoed["headers"]["content-type"] == "application/json"
    assert echoed["headers"]["content-length"] == str(len(payload))
    empty = fetch("knative", "proxy", served.namespace, "echo/", method="POST", body="")
    assert empty.code == 200 and body(empty)["body"] == ""


def test_proxy_tag_route(fetch: Any, served: Served) -> None:
    resp = fetch("knative", "proxy", served.namespace, "v1-echo/")
    assert resp.code == 200 and body(resp)["version"] == 1  # the tagged revision, not the latest
    assert body(fetch("knative", "proxy", served.namespace, "echo/"))["version"] == 2


def test_proxy_adds_the_trailing_slash(fetch: Any, served: Served, jp_base_url: str) -> None:
    resp = fetch("knative", "proxy", served.namespace, "echo", params={"q": "1"}, follow_redirects=False)
    assert resp.code == 302
    assert resp.headers["Location"] == f"{jp_base_url}knative/proxy/{served.namespace}/echo/?q=1"


def test_proxy_passes_the_ingress_answer(fetch: Any, served: Served) -> None:
    """A host the ingress does not know: its own 404 comes back, not the extension's."""
    resp = fetch("knative", "proxy", served.namespace, "nosuch/")
    assert resp.code == 404
    assert "NoIngress" not in resp.body.decode()


# -- the stream -----------------------------------------------------------------------------------------------


def test_stream_first_snapshot_then_changes(open_stream: Any, run: Any, served: Served, jp_serverapp: Any) -> None:
    ns = served.namespace
    sse = open_stream(ns)
    assert sse.status == 200 and sse.headers["content-type"].startswith("text/event-stream")
    status = run(sse.next_of("status"))  # the plane's status, then the snapshot, at once
    assert status["backend"] == "embedded" and status["running"] is True
    kind, data = run(sse.next())
    first = json.loads(data)
    assert kind == "snapshot" and first["namespace"] == ns and [s["name"] for s in first["services"]] == ["echo"]
    assert state_of(jp_serverapp).hub.namespaces == [ns]

    second = open_stream(ns)  # a second client shares the watcher and gets the current status and snapshot at once
    assert run(second.next()) == ("status", json.dumps(status, separators=(",", ":"), sort_keys=True))
    assert run(second.next()) == ("snapshot", data)
    assert state_of(jp_serverapp).hub.namespaces == [ns]

    served.client.apply(BROKER.format(name="streamed"))
    try:
        async def broker_appears() -> dict[str, Any]:
            while True:
                snap: dict[str, Any] = await sse.next_of("snapshot")
                if snap["brokers"]:
                    return snap

        changed = run(broker_appears())
        assert [b["name"] for b in changed["brokers"]] == ["streamed"]
    finally:
        served.client.delete("brokers", "streamed", wait=False)

    sse.close()
    second.close()

    async def settle() -> None:
        import asyncio

        for _ in range(100):
            if not state_of(jp_serverapp).hub.namespaces:
                return
            await asyncio.sleep(0.05)

    run(settle())
    assert state_of(jp_serverapp).hub.namespaces == []  # the last client left: the watcher stopped


def test_stream_coalesces(open_stream: Any, run: Any, plane: Plane, namespace: str) -> None:
    """A burst of changes arrives as a few snapshots, at most 4 a second."""
    client = Client.embedded(home=PlaneHome(plane.home), namespace=namespace, start=False)
    sse = open_stream(namespace)
    run(sse.next_of("snapshot"))
    client.apply("---".join(PING.format(name=f"p{i}") for i in range(12)))

    async def collect() -> list[float]:
        import asyncio

        loop = asyncio.get_running_loop()
        times = []
        while True:
            snap = await sse.next_of("snapshot")
            times.append(loop.time())
            if len(snap["sources"]) == 12:
                return times

    times = run(collect())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g >= 0.2 for g in gaps), gaps
    client.close()


@pytest.mark.parametrize("knative_config", ["keepalive"], indirect=True)
def test_stream_keepalive(open_stream: Any, run: Any, served: Served) -> None:
    sse = open_stream(served.namespace)
    run(sse.next_of("snapshot"))

    async def comment() -> str:
        while True:
            kind, data = await sse.next(5)
            if kind == "":
                return data

    assert run(comment()) == "keep-alive"


def test_stream_ends_when_the_server_stops(open_stream: Any, run: Any, served: Served, jp_serverapp: Any) -> None:
    sse = open_stream(served.namespace)
    run(sse.next_of("snapshot"))
    run(jp_serverapp.cleanup_extensions())
    run(sse.end())  # the terminating chunk: the response ended properly
    assert sse.ended and state_of(jp_serverapp).hub.namespaces == []


def test_stream_namespace_checked(fetch: Any) -> None:
    resp = fetch("knative", "api", "stream", params={"namespace": "UPPER"})
    assert resp.code == 400


def test_proxy_head(fetch: Any, served: Served) -> None:
    resp = fetch("knative", "proxy", served.namespace, "echo/", method="HEAD")
    assert resp.code == 200 and resp.body == b""
    assert resp.headers["Content-Type"] == "application/json"


def test_extension_is_enabled_by_the_packaged_config() -> None:
    import pathlib

    import jupyter_knative
    from jupyter_knative import server

    config = pathlib.Path(__file__).parents[2] / "jupyter-config" / "jupyter_server_config.d" / "jupyter_knative.json"
    assert json.loads(config.read_text()) == {"ServerApp": {"jpserver_extensions": {"jupyter_knative": True}}}
    assert jupyter_knative._jupyter_server_extension_points() == [{"module": "jupyter_knative.server"}]
    assert callable(server._load_jupyter_server_extension)
