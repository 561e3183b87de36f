"""The Feed against the session's plane: snapshots carry the service's revision, pods and request counters as
load runs; a failing watch or a plane that is not there does not stop it; closing is prompt and leaves no thread."""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_knative.client import Client
from jupyter_knative.home import PlaneHome
from jupyter_knative.widgets.feed import Feed, Snapshot, shared_feed

from ..conftest import Plane

SOURCE = "import time\n\ndef handler(request):\n    time.sleep(0.02)\n    return 'ok'\n"


@pytest.fixture
def client(plane: Plane, namespace: str) -> Iterator[Client]:
    c = Client.embedded(home=PlaneHome(plane.home), namespace=namespace, start=False)
    yield c
    c.close()


class Inbox:
    def __init__(self) -> None:
        self.snapshots: queue.Queue[Snapshot] = queue.Queue()
        self.threads: set[str] = set()

    def __call__(self, snapshot: Snapshot) -> None:
        self.threads.add(threading.current_thread().name)
        self.snapshots.put(snapshot)

    def until(self, check: object, timeout: float = 10.0) -> Snapshot:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.snapshots.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if check(last):  # type: ignore[operator]
                return last
        raise AssertionError(f"no snapshot passed the check within {timeout}s; last: {last}")


def requests_of(snapshot: Snapshot, revision: str) -> float:
    return sum(s.value for s in snapshot.metrics.get("http_server_request_duration_seconds_count", [])
               if s.labels.get("kn_revision_name") == revision)


def serving_pods(snapshot: Snapshot, revision: str) -> int:
    return sum(1 for p in snapshot.objects["pods"].values()
               if (p["metadata"].get("labels") or {}).get("serving.knative.dev/revision") == revision)


def feed_threads(feed: Feed) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(feed.name)]


def test_snapshots_follow_a_service_under_load(client: Client, namespace: str) -> None:
    deployment = client.deploy_function("feedfn", SOURCE, scale_target=1)
    rev = deployment.revision
    feed = Feed(client, interval=0.25)
    inbox = Inbox()
    sub = feed.subscribe(inbox, namespace=namespace)
    try:
        first = inbox.until(lambda s: rev in s.objects["revisions"])
        assert "feedfn" in first.objects["ksvc"] and "feedfn" in first.objects["routes"]
        assert first.error is None and first.namespace == namespace
        assert any(e["involvedObject"]["name"].startswith("feedfn") for e in first.events)
        before = requests_of(first, rev)
        client.load("feedfn", concurrency=4, duration=1.5)
        loaded = inbox.until(lambda s: requests_of(s, rev) >= before + 20 and serving_pods(s, rev) >= 1)
        assert all(s.labels.get("k8s_namespace_name", namespace) == namespace
                   for s in loaded.metrics.get("kn_revision_request_concurrency", []))
        # while nothing changes, no snapshots: at most the one that settles the counters, then quiet
        time.sleep(1.0)
        while not inbox.snapshots.empty():
            inbox.snapshots.get()
        gaps = [s.at for s in iter_for(inbox, 1.0)]
        assert all(b - a >= 0.25 * 0.9 for a, b in itertools.pairwise(gaps))  # never faster than interval
        assert inbox.threads == {feed.name}
    finally:
        sub.close()
        feed.close()
    assert feed_threads(feed) == []


def iter_for(inbox: Inbox, seconds: float) -> Iterator[Snapshot]:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            yield inbox.snapshots.get(timeout=left)
        except queue.Empty:
            return


def test_one_watch_per_kind_for_many_subscribers_and_threads_end_with_the_last(client: Client,
                                                                                namespace: str) -> None:
    feed = Feed(client, interval=0.2)
    a, b = Inbox(), Inbox()
    sub_a = feed.subscribe(a, namespace=namespace, kinds=("ksvc", "revisions"))
    sub_b = feed.subscribe(b, namespace=namespace, kinds=("ksvc",))
    a.until(lambda s: set(s.objects) == {"ksvc", "revisions"})
    b.until(lambda s: set(s.objects) == {"ksvc"})
    names = feed_threads(feed)
    assert sorted(names) == sorted([feed.name, f"{feed.name}/ksvc@{namespace}", f"{feed.name}/revisions@{namespace}",
                                    f"{feed.name}/events@{namespace}"])
    sub_a.close()
    assert f"{feed.name}/revisions@{namespace}" not in feed_threads(feed)
    started = time.monotonic()
    sub_b.close()
    assert time.monotonic() - started < 1.0
    assert feed_threads(feed) == []
    again = Inbox()  # the feed starts its threads again for a new subscriber
    feed.subscribe(again, namespace=namespace, kinds=("ksvc",))
    again.until(lambda s: "ksvc" in s.objects)
    started = time.monotonic()
    feed.close()
    assert time.monotonic() - started < 1.0 and feed_threads(feed) == []
    with pytest.raises(RuntimeError, match="closed"):
        feed.subscribe(again, namespace=namespace)


def test_a_kind_the_server_does_not_serve_is_empty_and_the_rest_keeps_going(client: Client, namespace: str) -> None:
    feed = Feed(client, interval=0.2)
    inbox = Inbox()
    feed.subscribe(inbox, namespace=namespace, kinds=("ksvc", "nosuchkinds"))
    try:
        first = inbox.until(lambda s: "nosuchkinds" in s.absent)
        assert first.error is None and first.objects["nosuchkinds"] == {}
        client.deploy_function("survivor", SOURCE)
        later = inbox.until(lambda s: "survivor" in s.objects["ksvc"])
        assert later.error is None and later.absent == {"nosuchkinds"}
        assert f"{feed.name}/nosuchkinds@{namespace}" in feed_threads(feed)  # looks again, rarely
    finally:
        feed.close()
    assert feed_threads(feed) == []


def test_no_plane_gives_snapshots_with_the_error_and_closes_promptly(tmp_path: Path) -> None:
    down = Client.embedded(home=PlaneHome(tmp_path), start=False)  # no daemon.json: nothing runs there
    feed = Feed(down, interval=0.1)
    inbox = Inbox()
    feed.subscribe(inbox, namespace="default", kinds=("ksvc",))
    snap = inbox.until(lambda s: s.error is not None, timeout=5)
    assert "not running" in (snap.error or "") and snap.metrics == {} and snap.objects["ksvc"] == {}
    time.sleep(0.6)  # a few failed retries later, still alive
    assert feed.name in feed_threads(feed)
    started = time.monotonic()
    feed.close()
    assert time.monotonic() - started < 1.0 and feed_threads(feed) == []


def test_shared_feed_is_one_per_client(client: Client, plane: Plane) -> None:
    feed = shared_feed(client)
    assert shared_feed(client) is feed
    other = Client.embedded(home=PlaneHome(plane.home), start=False)
    try:
        assert shared_feed(other) is not feed
    finally:
        other.close()
    feed.close()
    assert shared_feed(client) is not feed  # a closed feed is replaced
    shared_feed(client).close()
