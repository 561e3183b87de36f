"""`EventFlow` driven by hand-made snapshots: what it sends to the figure, and when it asks for the last events."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from jupyter_knative.client import KnativeError
from jupyter_knative.widgets import eventflow
from jupyter_knative.widgets.eventflow import EventFlow
from jupyter_knative.widgets.feed import Sample, Snapshot

NS = "demo"
WORLD: dict[str, dict[str, dict[str, Any]]] = {
    "brokers": {"default": {"metadata": {"name": "default"}, "spec": {}}},
    "triggers": {"t": {"metadata": {"name": "t"}, "spec": {"broker": "default", "subscriber": {"uri": "http://x/"}}}},
}


class FakeConn:
    """Answers `GET /debug/eventing/recent` (or refuses it as a real cluster would)."""

    def __init__(self, missing: bool = False) -> None:
        self.missing = missing
        self.asked: list[float] = []
        self.items: list[dict[str, Any]] = []

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        assert (method, path, kwargs["query"]) == ("GET", "/debug/eventing/recent", [("namespace", NS)])
        self.asked.append(time.monotonic())
        if self.missing:
            raise KnativeError("the server could not find the requested resource", reason="NotFound", code=404)
        return {"items": list(self.items)}


class FakeFeed:
    def __init__(self) -> None:
        self.callback: Callable[[Snapshot], None] | None = None
        self.kinds: tuple[str, ...] = ()
        self.closed = threading.Event()

    def subscribe(self, callback: Callable[[Snapshot], None], *, namespace: str, kinds: Any) -> Any:
        assert namespace == NS
        self.callback, self.kinds = callback, tuple(kinds)
        return self

    def close(self) -> None:
        self.closed.set()


def delivered(n: int) -> dict[str, list[Sample]]:
    return {"jupyter_knative_delivery_total": [Sample(
        {"namespace_name": NS, "trigger_name": "t", "broker_name": "default", "outcome": "delivered"}, float(n))]}


def make(missing: bool = False) -> tuple[EventFlow, FakeFeed, FakeConn]:
    conn, feed = FakeConn(missing), FakeFeed()
    client: Any = type("C", (), {"_conn": conn, "namespace": NS})()
    return EventFlow(client=client, namespace=NS, feed=feed), feed, conn  # type: ignore[arg-type]


def push(feed: FakeFeed, n: int) -> None:
    assert feed.callback is not None
    feed.callback(Snapshot(time.monotonic(), delivered(n), WORLD, [], None, NS))


def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_subscribes_to_the_eventing_kinds_and_stops_on_close() -> None:
    flow, feed, _ = make()
    assert {"brokers", "triggers", "subscriptions", "sequences", "parallels", "pingsources"} <= set(feed.kinds)
    flow.close()
    assert feed.closed.is_set() and flow.closed
    push(feed, 1)  # a late snapshot changes nothing
    assert flow.updates == 0


def test_updates_only_when_counts_change() -> None:
    flow, feed, conn = make()
    try:
        push(feed, 0)
        assert flow.updates == 1
        values = tuple(flow.figure.data[0].link.value)
        push(feed, 0)
        assert flow.updates == 1 and len(conn.asked) == 1
        time.sleep(eventflow.RECENT_MIN_GAP)
        conn.items = [{"namespace": NS, "trigger": "t", "id": "e1", "type": "a", "source": "/s", "outcome": "delivered",
                       "response_code": 200, "attempts": 1, "at": "2026-01-01T00:00:00.000Z"}]
        push(feed, 5)
        assert flow.updates == 2 and len(conn.asked) == 2
        assert tuple(flow.figure.data[0].link.value) != values
        assert "id=e1" in "".join(flow.figure.data[0].node.customdata)
    finally:
        flow.close()


def test_last_events_asked_at_most_every_gap_but_never_left_stale() -> None:
    flow, feed, conn = make()
    try:
        push(feed, 0)
        conn.items = [{"namespace": NS, "trigger": "t", "id": "late", "outcome": "delivered"}]
        push(feed, 1)  # counters moved, but the last ask was just now: deferred, not dropped
        assert len(conn.asked) == 1
        until(lambda: len(conn.asked) == 2)
        assert conn.asked[1] - conn.asked[0] >= eventflow.RECENT_MIN_GAP - 0.01
        until(lambda: [r["id"] for r in flow.graph.node("Trigger/t").recent] == ["late"])
    finally:
        flow.close()


def test_a_server_without_the_endpoint_is_asked_once() -> None:
    flow, feed, conn = make(missing=True)
    try:
        push(feed, 0)
        time.sleep(eventflow.RECENT_MIN_GAP)
        push(feed, 1)
        assert len(conn.asked) == 1 and flow.recent_available is False
        assert "last events are not available" in flow.status.value
    finally:
        flow.close()


@pytest.mark.parametrize("point", ["node", "link", "nothing"])
def test_clicks_fill_the_details_pane(point: str) -> None:
    flow, feed, _ = make()
    try:
        push(feed, 2)
        data = flow._data
        assert data is not None
        index = {"node": data.offset + [n.id for n in flow.graph.nodes].index("Trigger/t"), "link": 0,
                 "nothing": 10_000}[point]
        flow.figure._js2py_pointsCallback = {"event_type": "plotly_click", "device_state": None, "selector": None,
                                             "points": {"trace_indexes": [0], "point_indexes": [index],
                                                        "xs": [None], "ys": [None]}}
        pane = flow.details.value
        if point == "node":
            assert pane.startswith("<div><b>trigger t</b>") and "2 delivered" in pane
        elif point == "link":
            edge = flow.graph.edges[data.link_edge[0]]
            assert pane.startswith(f"<div>{flow.graph.node(edge.source).label} → ")
        else:
            assert "Click a node" in pane
        push(feed, 3)  # the pane follows the picked object as the counts move
        if point == "node":
            assert "3 delivered" in flow.details.value
    finally:
        flow.close()
