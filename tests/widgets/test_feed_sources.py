"""Where the feed's metrics come from on a cluster, and kinds a server does not serve: a Prometheus server (a tiny
real HTTP server here) answers `/federate`; the plane taken for a cluster (a kubeconfig copy outside its home)
is scraped through the pod proxy; kinds missing from discovery are empty, without error, and discovery is not
asked again and again."""

from __future__ import annotations

import shutil
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jupyter_knative.client import Client, KnativeError
from jupyter_knative.client.metrics import FEDERATE_MATCH, MetricsSource
from jupyter_knative.home import PlaneHome
from jupyter_knative.widgets.eventflow import status_html
from jupyter_knative.widgets.feed import ABSENT_KIND_RETRY, Feed
from jupyter_knative.widgets.flowgraph import KINDS, build_graph

from ..conftest import Plane
from .test_feed_e2e import Inbox, feed_threads

FEDERATED = """# TYPE revision_request_count untyped
revision_request_count{namespace_name="NS",revision_name="hello-00001",response_code="200",\
response_code_class="2xx",pod_name="hello-a",instance="10.0.0.5:9091",job="queue-proxy"} 7
revision_request_count{namespace_name="NS",revision_name="hello-00001",response_code="500",\
response_code_class="5xx",pod_name="hello-b",instance="10.0.0.6:9091",job="queue-proxy"} 2
# TYPE autoscaler_desired_pods untyped
autoscaler_desired_pods{namespace_name="NS",revision_name="hello-00001"} 2
# TYPE revision_request_count_other untyped
revision_request_count_other{namespace_name="elsewhere"} 1
"""


class Prometheus:
    """Answers `GET /prom/federate` with FEDERATED and records each request's `match[]` values."""

    def __init__(self, namespace: str) -> None:
        self.matches: list[list[str]] = []
        self.status = 200
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                if url.path != "/prom/federate":
                    self.send_error(404)
                    return
                owner.matches.append(urllib.parse.parse_qs(url.query).get("match[]", []))
                body = FEDERATED.replace("NS", namespace).encode()
                self.send_response(owner.status)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="test-prometheus", daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/prom/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def cluster(plane: Plane, namespace: str, tmp_path: Path) -> Iterator[Client]:
    """The plane through a copy of its kubeconfig: the client does not know it is the plane."""
    copy = tmp_path / "kubeconfig"
    shutil.copy(plane.kubeconfig, copy)
    client = Client(kubeconfig=copy, namespace=namespace)
    yield client
    client.close()


@pytest.fixture
def prometheus(namespace: str) -> Iterator[Prometheus]:
    server = Prometheus(namespace)
    yield server
    server.close()


def test_prometheus_federate_selects_the_families_the_widgets_read(cluster: Client, prometheus: Prometheus,
                                                                   namespace: str) -> None:
    source = MetricsSource(cluster, prometheus=prometheus.url)
    assert source.kind == "prometheus"
    scrape = source.scrape([namespace])
    assert scrape.source == "prometheus" and "revision_request_count{" in scrape.texts[0]
    assert prometheus.matches == [list(FEDERATE_MATCH)]
    assert '{__name__=~"revision_.*"}' in FEDERATE_MATCH and '{__name__=~"event_.*"}' in FEDERATE_MATCH
    following = MetricsSource(cluster)  # no URL of its own: the client's, as it is at each scrape
    assert following.kind == "pods"
    cluster.prometheus = prometheus.url
    assert following.kind == "prometheus"


def test_feed_reads_prometheus_for_its_namespace(cluster: Client, prometheus: Prometheus, namespace: str) -> None:
    cluster.prometheus = prometheus.url
    feed = Feed(cluster, interval=0.1)
    inbox = Inbox()
    feed.subscribe(inbox, namespace=namespace, kinds=("ksvc",))
    try:
        snap = inbox.until(lambda s: "revision_request_count" in s.metrics)
        assert snap.error is None
        assert sorted(s.value for s in snap.metrics["revision_request_count"]) == [2.0, 7.0]
        assert "revision_request_count_other" not in snap.metrics  # another namespace's
        assert feed.last_scrape is not None and feed.last_scrape.source == "prometheus"
        polls = feed.polls
        time.sleep(1.0)
        assert feed.polls - polls <= 1  # Prometheus is asked every 2 s, not at every feed interval
    finally:
        feed.close()
    assert feed_threads(feed) == []


def test_prometheus_failures_are_reported(cluster: Client, prometheus: Prometheus, namespace: str) -> None:
    prometheus.status = 503
    with pytest.raises(KnativeError, match=r"Prometheus at .* answered 503 to /federate"):
        MetricsSource(cluster, prometheus=prometheus.url).scrape([namespace])
    cluster.prometheus = "http://127.0.0.1:9/"  # nothing listens on the discard port
    feed = Feed(cluster, interval=0.1)
    inbox = Inbox()
    feed.subscribe(inbox, namespace=namespace, kinds=("ksvc",))
    try:
        snap = inbox.until(lambda s: s.error is not None)
        assert "Prometheus at http://127.0.0.1:9 does not answer" in (snap.error or "")
        assert snap.metrics == {} and snap.objects["ksvc"] == {}
    finally:
        feed.close()


def test_pods_source_without_revision_pods_is_empty_not_absent(cluster: Client, namespace: str) -> None:
    source = MetricsSource(cluster)
    try:
        scrape = source.scrape([namespace])
        assert (scrape.source, scrape.texts, scrape.failed) == ("pods", (), ())
    finally:
        source.close()


def test_kinds_not_served_are_empty_and_discovery_is_not_asked_again_and_again(plane: Plane,
                                                                                namespace: str) -> None:
    client = Client.embedded(home=PlaneHome(plane.home), namespace=namespace, start=False)
    fetched: list[str] = []
    discovery = client._discovery
    fetch = discovery._fetch
    discovery._fetch = lambda path: (fetched.append(path), fetch(path))[1]
    feed = Feed(client, interval=0.1)
    inbox = Inbox()
    try:
        feed.subscribe(inbox, namespace=namespace, kinds=("ksvc", "brokerz", "triggerz"))
        snap = inbox.until(lambda s: {"brokerz", "triggerz"} <= s.absent)
        assert snap.error is None and snap.objects["brokerz"] == {} and snap.objects["triggerz"] == {}
        assert "ksvc" not in snap.absent
        refreshes = fetched.count("/api")
        assert refreshes <= 2  # the first listing, and one refresh for both unknown words
        time.sleep(1.0)
        assert fetched.count("/api") == refreshes
        watch = feed._watches[namespace, "brokerz"]
        assert watch.absent and watch.error is None
    finally:
        feed.close()
        client.close()
    assert ABSENT_KIND_RETRY >= 30


def test_event_flow_says_when_eventing_is_not_served() -> None:
    graph = build_graph("default", {})
    text = status_html(graph, None, None, absent=frozenset(KINDS))
    assert "Knative Eventing is not installed on this server" in text and "color:#b00" not in text
    partial = status_html(graph, None, None, absent=frozenset({"sequences", "parallels"}))
    assert "not served here: sequences, parallels" in partial
    assert "not installed" not in status_html(graph, None, None)
