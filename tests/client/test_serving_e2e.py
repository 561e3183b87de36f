"""Client's serving API on the plane: deploy_function with kn's semantics, invoke, send, traffic, scale,
logs (also after scale to zero) and load."""

from __future__ import annotations

import collections
import threading
from typing import Any

import pytest

from jupyter_knative.client import Client, KnativeError, LoadProgress

from ..conftest import Plane
from .conftest import names, until

ECHO = """
import os

def handler(request):
    print("handled", request.path, flush=True)
    return {"path": request.path, "method": request.method, "version": VERSION,
            "body": request.get_json(silent=True), "a": os.environ.get("A")}

VERSION = @VERSION@
"""

CLOUD_EVENT_FN = """
from cloudevents.http import CloudEvent

def receive(cloud_event):
    print("event", cloud_event["type"], flush=True)
    return CloudEvent({"type": "reply." + cloud_event["type"], "source": "/fn"},
                      {"got": cloud_event.data, "id": cloud_event["id"]})
"""


def echo(version: int = 1) -> str:
    return ECHO.replace("@VERSION@", str(version))


def revisions(client: Client, service: str) -> list[str]:
    return names(client.list("revisions", label_selector=f"serving.knative.dev/service={service}"))


def test_deploy_create_unchanged_changed(client: Client, namespace: str) -> None:
    lines: list[str] = []
    first = client.deploy_function("fn", echo(1), progress=lines.append)
    assert (first.action, first.created, first.revision) == ("created", True, "fn-00001")
    assert first.url == f"http://fn.{namespace}.svc.cluster.local"
    assert str(first) == f"Service 'fn' created to latest revision 'fn-00001' is available at URL:\n{first.url}"
    assert lines[0].startswith(f"Building 'fn' in namespace '{namespace}' (taskrun fn-build-")
    assert any("Built dev.local/" in line for line in lines)  # the builder's log, as it ran
    assert f"Creating service 'fn' in namespace '{namespace}':" in lines and lines[-1].endswith("Ready to serve.")
    assert first.ready_seconds is not None and first.traffic[0]["revisionName"] == "fn-00001"
    builds = client.list("taskruns")
    assert [b["metadata"]["name"][:9] for b in builds] == ["fn-build-"]  # the build is a TaskRun anyone can see
    image = client.get("ksvc", "fn")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == next(r["value"] for r in builds[0]["status"]["results"] if r["name"] == "IMAGE_URL")
    same = client.deploy_function("fn", echo(1))
    assert (same.action, same.created, same.revision) == ("unchanged", False, "fn-00001")
    assert str(same) == f"Service 'fn' with latest revision 'fn-00001' (unchanged) is available at URL:\n{same.url}"
    assert revisions(client, "fn") == ["fn-00001"]
    changed = client.deploy_function("fn", echo(2))
    assert (changed.action, changed.created, changed.revision) == ("updated", True, "fn-00002")
    assert client.invoke("fn").json()["version"] == 2


def test_flags_land_where_kn_puts_them(client: Client) -> None:
    d = client.deploy_function("flags", echo(), env={"A": "from-env"}, scale_min=1, scale_max=3, scale_init=1,
                               scale_target=50, scale_metric="concurrency", scale_window="10s", concurrency_limit=7,
                               timeout=42, annotations={"example.com/team": "notebooks"}, labels={"app": "demo"},
                               revision_name="{{.Service}}-v{{.Generation}}")
    assert d.revision == "flags-v1"
    svc = client.get("ksvc", "flags")
    template = svc["spec"]["template"]
    assert template["metadata"]["name"] == "flags-v1"
    annotations = template["metadata"]["annotations"]
    assert {k: annotations[k] for k in annotations if k.startswith("autoscaling.knative.dev/")} == {
        "autoscaling.knative.dev/min-scale": "1", "autoscaling.knative.dev/max-scale": "3",
        "autoscaling.knative.dev/initial-scale": "1", "autoscaling.knative.dev/target": "50",
        "autoscaling.knative.dev/metric": "concurrency", "autoscaling.knative.dev/window": "10s"}
    assert annotations["example.com/team"] == "notebooks"
    assert svc["metadata"]["annotations"]["example.com/team"] == "notebooks"  # -a: Service and revision
    assert "autoscaling.knative.dev/min-scale" not in svc["metadata"]["annotations"]
    assert template["metadata"]["labels"] == {"app": "demo"} and svc["metadata"]["labels"]["app"] == "demo"
    assert template["spec"]["containerConcurrency"] == 7 and template["spec"]["timeoutSeconds"] == 42
    assert template["spec"]["containers"][0]["env"] == [{"name": "A", "value": "from-env"}]
    assert client.get("rev", "flags-v1")["spec"]["containerConcurrency"] == 7
    assert client.invoke("flags").json()["a"] == "from-env"
    # unchanged source and flags: no new revision even though {{.Generation}} would render anew
    again = client.deploy_function("flags", echo(), env={"A": "from-env"}, scale_min=1, scale_max=3, scale_init=1,
                                   scale_target=50, scale_metric="concurrency", scale_window="10s",
                                   concurrency_limit=7, timeout=42, annotations={"example.com/team": "notebooks"},
                                   labels={"app": "demo"}, revision_name="{{.Service}}-v{{.Generation}}")
    assert (again.created, again.revision) == (False, "flags-v1")
    renamed = client.deploy_function("flags", echo(2), revision_name="{{.Service}}-v{{.Generation}}")
    assert renamed.revision == "flags-v2"


def test_cluster_local_and_no_wait(client: Client, namespace: str) -> None:
    d = client.deploy_function("quiet", echo(), cluster_local=True, wait=False)
    assert str(d) == f"Service 'quiet' created in namespace '{namespace}'." and d.revision is None
    svc = client.wait("ksvc", "quiet", timeout=60)
    assert svc["metadata"]["labels"]["networking.knative.dev/visibility"] == "cluster-local"


def test_invoke_get_post_json_and_headers(client: Client) -> None:
    client.deploy_function("fn", echo())
    got = client.invoke("fn", path="/hello?x=1")
    assert got.ok and got.json()["path"] == "/hello" and got.json()["method"] == "GET"
    assert got.headers["Content-Type"].startswith("application/json")
    posted = client.invoke("fn", path="/items", method="POST", json={"n": 1})
    assert posted.json()["body"] == {"n": 1} and posted.json()["method"] == "POST"
    assert repr(posted) == "<Response [200]>" and "application/json" in posted._repr_html_()


def test_invoke_a_tag(client: Client) -> None:
    client.deploy_function("tagged", echo(1))
    client.deploy_function("tagged", echo(2))
    svc = client.traffic("tagged", {"tagged-00002": 100}, tags={"tagged-00001": "old"})
    assert {t.get("tag") for t in svc["status"]["traffic"]} == {None, "old"}
    assert client.invoke("tagged", tag="old").json()["version"] == 1
    assert client.invoke("tagged").json()["version"] == 2
    with pytest.raises(KnativeError) as err:
        client.invoke("tagged", tag="nope")
    assert str(err.value) == "service 'tagged' has no tag 'nope'" and err.value.hint == "its tags: old"


def test_cloudevent_to_a_cloud_event_function(client: Client) -> None:
    client.deploy_function("events", CLOUD_EVENT_FN)
    reply = client.invoke("events", cloudevent="dev.example.ping", json={"n": 1})
    assert reply.status_code == 200
    assert reply.cloudevent["type"] == "reply.dev.example.ping" and reply.cloudevent["source"] == "/fn"
    assert reply.json()["got"] == {"n": 1}
    until(lambda: "event dev.example.ping" in str(client.logs("events")), timeout=10)


def test_send_to_a_broker_address(client: Client, namespace: str) -> None:
    with pytest.raises(KnativeError) as err:
        client.send("default", type="dev.example.sent", source="/test")
    assert err.value.reason == "NotFound"
    client.deploy_function("sink", CLOUD_EVENT_FN)
    client.apply("apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n---\n"
                 "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: to-sink\nspec:\n"
                 "  broker: default\n  filter:\n    attributes:\n      type: dev.example.sent\n"
                 "  subscriber:\n    ref:\n      apiVersion: serving.knative.dev/v1\n      kind: Service\n"
                 "      name: sink\n")
    client.wait("triggers", "to-sink")
    reply = client.send("default", type="dev.example.sent", source="/test", data={"x": 1}, id="42",
                        extensions={"traceid": "abc"})
    assert reply.status_code == 202  # accepted by the broker's ingress, durably
    until(lambda: "event dev.example.sent" in client.logs("sink"))


def test_traffic_split_end_to_end(client: Client, namespace: str) -> None:
    client.deploy_function("split", echo(1))
    client.deploy_function("split", echo(2))
    svc = client.traffic("split", ["split-00001=50", "@latest=50"], tags={"split-00001": "blue", "@latest": "green"})
    spec = [(t.get("revisionName") or "@latest", t.get("tag"), t["percent"]) for t in svc["spec"]["traffic"]]
    assert sorted(spec, key=str) == sorted([("@latest", "green", 50), ("split-00001", "blue", 50)], key=str)
    counts = collections.Counter(client.invoke("split").json()["version"] for _ in range(200))
    assert set(counts) == {1, 2} and 60 <= counts[1] <= 140, counts
    assert client.invoke("split", tag="blue").json()["version"] == 1
    assert client.invoke("split", tag="green").json()["version"] == 2
    # untag, then pin everything with the remainder rule: 0% named, the rest to the one other target
    svc = client.traffic("split", ["split-00001=0"], untag=["green"])
    status = [(t["revisionName"], t.get("tag"), t["percent"]) for t in svc["status"]["traffic"]]
    assert sorted(status, key=str) == sorted([("split-00001", "blue", 0), ("split-00002", None, 100)], key=str)
    assert all(client.invoke("split").json()["version"] == 2 for _ in range(10))


@pytest.mark.parametrize(("assignments", "message"), [
    ({"split-00001": 60, "@latest": 50}, "given traffic percents sum to 110, want <=100"),
    (["split-00001=x"], "error converting given x to integer value for traffic distribution"),
    (["nothing=10"], "unable to allocate the remaining traffic: 90%. Reason: incorrect number of revisions "
                     "specified. Only 1 revision should be missing"),
])
def test_bad_traffic_is_refused_with_kns_message(client: Client, assignments: Any, message: str) -> None:
    client.deploy_function("split", echo(1))
    with pytest.raises(KnativeError) as err:
        client.traffic("split", assignments)
    assert str(err.value) == message and err.value.reason == "Invalid"
    assert "split-00001" in err.value.hint


def test_scale_sets_bounds_on_a_new_revision(client: Client) -> None:
    client.deploy_function("scaled", echo())
    svc = client.scale("scaled", min=1, max=2)
    assert svc["status"]["latestReadyRevisionName"] == "scaled-00002"
    annotations = client.get("rev", "scaled-00002")["metadata"]["annotations"]
    assert annotations["autoscaling.knative.dev/min-scale"] == "1"
    assert annotations["autoscaling.knative.dev/max-scale"] == "2"
    with pytest.raises(KnativeError):
        client.scale("scaled", min=-1)


def test_logs_prefix_and_tail(client: Client) -> None:
    client.deploy_function("talky", echo())
    for path in ("/a", "/b", "/c"):
        client.invoke("talky", path=path)
    text = until(lambda: (t := client.logs("talky")) and "handled /c" in t and t, timeout=10)
    assert "handled /a" in text and not text.startswith("[")  # one pod: no prefix
    assert client.logs("talky", tail=1).strip() == "handled /c"
    assert "handled /b" in client.logs("talky", revision="talky-00001")


@pytest.mark.timeout(150)
def test_logs_survive_scale_to_zero(client: Client, namespace: str) -> None:
    client.deploy_function("sleepy", echo(), scale_window="6s")  # the shortest stable window: zero in ~40 s
    client.invoke("sleepy", path="/before-zero")
    until(lambda: "handled /before-zero" in str(client.logs("sleepy")), timeout=10)
    pod = names(client.list("pods", label_selector="serving.knative.dev/revision=sleepy-00001"))[0]
    until(lambda: not client.list("pods", label_selector="serving.knative.dev/revision=sleepy-00001"),
          timeout=120, interval=1.0)
    text = str(client.logs("sleepy"))
    assert "handled /before-zero" in text
    # the same through the kubeconfig client: it recognises the plane's kubeconfig, so gone pods count too
    kube = Client(kubeconfig=client.home.kubeconfig if client.home else None, namespace=namespace)
    assert "handled /before-zero" in str(kube.logs("sleepy"))
    assert pod not in names(client.list("pods"))


def test_logs_follow(client: Client) -> None:
    client.deploy_function("follow", echo())
    client.invoke("follow", path="/one")
    lines: list[str] = []
    done = threading.Event()

    def reader() -> None:
        for line in client.logs("follow", follow=True):
            lines.append(str(line))
            if "handled /two" in line:
                done.set()
                return

    threading.Thread(target=reader, daemon=True).start()
    until(lambda: any("handled /one" in line for line in lines), timeout=10)
    client.invoke("follow", path="/two")
    assert done.wait(10), lines


def test_load_runs_in_its_own_loop(client: Client) -> None:
    client.deploy_function("loaded", echo())
    progress: list[LoadProgress] = []
    summary = client.load("loaded", concurrency=4, duration=2.0, on_progress=progress.append)
    assert summary.requests > 0 and summary.errors == 0, str(summary)
    assert summary.status_codes == {200: summary.requests}
    assert 1.9 <= summary.duration < 8 and summary.concurrency == 4
    assert summary.p50 is not None and summary.p99 is not None and summary.max is not None
    assert progress and len(progress) <= 10 * summary.duration + 1
    assert progress[-1].requests == summary.requests
    paced = client.load("loaded", concurrency=2, duration=1.0, rps=20)
    assert 10 <= paced.requests <= 25, str(paced)


def test_load_can_be_stopped(client: Client) -> None:
    client.deploy_function("loaded", echo())
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    summary = client.load("loaded", concurrency=2, duration=30, stop=stop)
    assert summary.duration < 5 and summary.requests > 0


def test_load_inside_a_running_event_loop(client: Client) -> None:
    import asyncio

    client.deploy_function("loaded", echo())

    async def in_a_kernel() -> int:  # a notebook cell runs while the kernel's loop is running
        return client.load("loaded", concurrency=2, duration=0.5).requests

    assert asyncio.run(in_a_kernel()) > 0


def test_invoke_through_a_kubeconfig_client(plane: Plane, namespace: str, client: Client) -> None:
    client.deploy_function("fn", echo())
    kube = Client(kubeconfig=plane.kubeconfig, namespace=namespace)
    assert kube.backend == "kubernetes" and kube.home is not None
    assert kube.invoke("fn").json()["version"] == 1


def test_requirements_are_built_into_the_function(client: Client, plane: Plane) -> None:
    from ..runtime.test_deps import make_wheel

    # the plane's wheel cache stands in for the package index: the build needs no network
    make_wheel(plane.home / "artifacts" / "wheels", "jkn-e2e-greeting", "1.0",
               {"jkn_e2e_greeting.py": "GREETING = 'hello from a dependency'\n"})
    source = "import jkn_e2e_greeting\n\ndef handler(request):\n    return jkn_e2e_greeting.GREETING\n"
    lines: list[str] = []
    client.deploy_function("withdeps", source, requirements=["jkn-e2e-greeting==1.0"], progress=lines.append)
    assert client.invoke("withdeps").text == "hello from a dependency"
    assert any("jkn-e2e-greeting" in line or "jkn_e2e_greeting" in line for line in lines), lines  # pip's log
    with pytest.raises(KnativeError) as err:
        client.deploy_function("nodeps", source.replace("jkn_e2e_greeting", "jkn_missing_pkg"),
                               requirements=["jkn-missing-pkg-4f2a==9.9"])
    assert err.value.reason == "BuildFailed" and "jkn-missing-pkg-4f2a" in str(err.value)


def test_functions_reach_cluster_local_names(client: Client, namespace: str) -> None:
    client.deploy_function("backend", "def handler(request):\n    return 'from the backend'\n")
    caller = ("import urllib.request\n\ndef handler(request):\n"
              f"    with urllib.request.urlopen('http://backend.{namespace}.svc.cluster.local/', timeout=10) as r:\n"
              "        return 'frontend got: ' + r.read().decode()\n")
    client.deploy_function("frontend", caller)
    assert client.invoke("frontend").text == "frontend got: from the backend"  # cluster DNS, as in a pod
