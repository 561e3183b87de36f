"""The event flow on a real plane: `GET /debug/eventing/recent`, the `EventFlow` widget following deliveries,
and `%knative events --flow` / `%knative flow`."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from jupyter_knative.client import Client
from jupyter_knative.home import PlaneHome
from jupyter_knative.notebook.commands import HANDLERS, Context
from jupyter_knative.notebook.parsing import parse
from jupyter_knative.widgets import eventflow
from jupyter_knative.widgets.eventflow import EventFlow
from jupyter_knative.widgets.feed import Feed
from jupyter_knative.widgets.flowgraph import Counts
from jupyter_knative.widgets.flowsankey import FAILED_COLOR, Pick

from ..conftest import Plane
from ..recorder import Recorder
from ..test_serving_e2e import apply, wait_ready

GREEN = "rgba(44, 160, 44, 0.4)"


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.close()


@pytest.fixture
def client(plane: Plane, namespace: str) -> Iterator[Client]:
    with Client.embedded(home=PlaneHome(plane.home), namespace=namespace, start=False) as c:
        yield c


def broker_and_triggers(plane: Plane, ns: str, recorder: Recorder) -> None:
    apply(plane, ns, "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n")
    for name, path, extra in (("good", "ok/good", ""),
                              ("bad", "status/500/bad", "  delivery:\n    retry: 0\n")):
        apply(plane, ns, f"apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: {name}\nspec:\n"
                         f"  broker: default\n  subscriber:\n    uri: {recorder.url(path)}\n{extra}")
    for ref in ("broker/default", "trigger/good", "trigger/bad"):
        wait_ready(plane, ns, ref)


def send(client: Client, n: int, prefix: str) -> list[str]:
    ids = [f"{prefix}-{i}" for i in range(n)]
    for event_id in ids:
        assert client.send("default", type="order.created", source="/tests/flow", id=event_id).status_code == 202
    return ids


def until(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)
    return value


def link_values(flow: EventFlow, source: str, target: str) -> dict[str, float]:
    """The values of the links drawn between two nodes, by colour."""
    data = flow._data
    if data is None:
        return {}
    ids = [n.id for n in flow.graph.nodes]
    if source not in ids or target not in ids:
        return {}
    s, t = data.offset + ids.index(source), data.offset + ids.index(target)
    link = flow.figure.data[0].link
    return {c: v for a, b, c, v in zip(link.source, link.target, link.color, link.value, strict=True)
            if (a, b) == (s, t)}


def test_recent_deliveries_over_http(plane: Plane, namespace: str, recorder: Recorder, client: Client) -> None:
    broker_and_triggers(plane, namespace, recorder)
    ids = send(client, 3, "http")
    path = f"/debug/eventing/recent?namespace={namespace}"
    items = until(lambda: len(got := plane.request("GET", path).json()["items"]) == 6 and got)
    good = [i for i in items if i["trigger"] == "good"]
    bad = [i for i in items if i["trigger"] == "bad"]
    # deliveries run concurrently: any order
    assert sorted(i["id"] for i in good) == ids and sorted(i["id"] for i in bad) == ids
    assert {(i["outcome"], i["response_code"], i["attempts"]) for i in good} == {("delivered", 200, 1)}
    assert {(i["outcome"], i["response_code"]) for i in bad} == {("failed", 500)}
    assert {(i["broker"], i["channel"], i["type"], i["source"]) for i in items} == {
        ("default", "default-kne-trigger", "order.created", "/tests/flow")}
    assert plane.request("GET", path, token=None).status == 401
    assert plane.request("GET", "/debug/eventing/recent?namespace=nobody-here").json()["items"] == []
    everything = plane.request("GET", "/debug/eventing/recent").json()["items"]
    assert {i["id"] for i in items} <= {i["id"] for i in everything}


def test_widget_follows_deliveries(plane: Plane, namespace: str, recorder: Recorder, client: Client) -> None:
    broker_and_triggers(plane, namespace, recorder)
    feed = Feed(client, interval=0.2)
    flow = EventFlow(client=client, namespace=namespace, feed=feed)
    try:
        until(lambda: link_values(flow, "Trigger/good", f"uri/{recorder.url('ok/good')}"))
        assert link_values(flow, "Trigger/good", f"uri/{recorder.url('ok/good')}") == {
            "rgba(200, 200, 200, 0.25)": 1.0, FAILED_COLOR: 0.0}  # nothing yet: a thin band, no failures
        updates = flow.updates
        ids = send(client, 3, "w")
        until(lambda: link_values(flow, "Trigger/good", f"uri/{recorder.url('ok/good')}").get(GREEN) == 3)
        until(lambda: link_values(flow, "Trigger/bad", f"uri/{recorder.url('status/500/bad')}").get(FAILED_COLOR) == 3)
        assert flow.updates > updates
        # the events were posted to the broker's address: no source here accounts for them
        until(lambda: link_values(flow, "senders/default", "Broker/default").get("rgba(148, 103, 189, 0.35)") == 3)
        until(lambda: len(flow.graph.node("Trigger/good").recent) == 3)
        good = flow.graph.node("Trigger/good")
        assert sorted(r["id"] for r in good.recent) == ids
        index = [n.id for n in flow.graph.nodes].index("Trigger/good")
        hover = flow.figure.data[0].node.customdata[flow._data.offset + index]  # type: ignore[union-attr]
        assert "id=w-2" in hover and "3 delivered" in hover
        # a click on the node, as the browser reports it, fills the details pane
        flow.figure._js2py_pointsCallback = {
            "event_type": "plotly_click", "device_state": None, "selector": None,
            "points": {"trace_indexes": [0], "point_indexes": [flow._data.offset + index],  # type: ignore[union-attr]
                       "xs": [None], "ys": [None]}}
        assert "<b>trigger good</b>" in flow.details.value and "<td>w-1</td>" in flow.details.value
        assert flow.recent_available is True
        assert flow.recent_fetches <= flow.updates + 1  # asked only when the counters moved
        bundle = flow._repr_mimebundle_()
        assert bundle is not None and "trigger good" in bundle["text/html"]
        assert "application/vnd.jupyter.widget-view+json" in bundle
    finally:
        flow.close()
        feed.close()
    assert flow.closed and not feed.threads()


def test_without_the_recent_endpoint_there_are_no_last_events(
        plane: Plane, namespace: str, recorder: Recorder, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eventflow, "RECENT_PATH", "/debug/eventing/nothing-here")  # as on a real cluster
    broker_and_triggers(plane, namespace, recorder)
    feed = Feed(client, interval=0.2)
    flow = EventFlow(client=client, namespace=namespace, feed=feed)
    try:
        send(client, 2, "absent")
        until(lambda: link_values(flow, "Trigger/good", f"uri/{recorder.url('ok/good')}").get(GREEN) == 2)
        assert flow.recent_available is False and flow.recent_fetches == 1
        assert flow.graph.node("Trigger/good").recent == ()
        assert "last events are not available" in flow.status.value
        flow.select(Pick(node=[n.id for n in flow.graph.nodes].index("Trigger/good")))
        assert "no recent events" in flow.details.value and "2 delivered" in flow.details.value
    finally:
        flow.close()
        feed.close()


@pytest.mark.parametrize("line", ["events --flow", "flow"])
def test_magic_shows_the_widget(line: str, plane: Plane, namespace: str, client: Client) -> None:
    invocation = parse(f"{line} -n {namespace}")
    ctx = Context(SimpleNamespace(client=client), None)  # type: ignore[arg-type]
    flow = HANDLERS[invocation.command](ctx, invocation.args)
    try:
        assert isinstance(flow, EventFlow) and flow.namespace == namespace
    finally:
        flow.close()


def test_events_keeps_listing_kubernetes_events() -> None:
    assert vars(parse("events").args) == {"name": None, "namespace": None}
    assert vars(parse("events hello --flow").args)["flow"] is True
    with pytest.raises(Exception, match="drop 'hello'"):
        HANDLERS["events"](Context(SimpleNamespace(client=None), None),  # type: ignore[arg-type]
                           argparse.Namespace(name="hello", namespace=None, flow=True))


def test_sequence_and_parallel_fold_what_the_controllers_made(
        plane: Plane, namespace: str, recorder: Recorder, client: Client) -> None:
    apply(plane, namespace, f"""apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
---
apiVersion: flows.knative.dev/v1
kind: Sequence
metadata:
  name: pipe
spec:
  steps:
    - uri: {recorder.url("reply/step/one")}
    - uri: {recorder.url("reply/step/two")}
  reply:
    uri: {recorder.url("ok/pipe-out")}
---
apiVersion: flows.knative.dev/v1
kind: Parallel
metadata:
  name: fork
spec:
  branches:
    - filter:
        uri: {recorder.url("filter/nothing.matches/f1")}
      subscriber:
        uri: {recorder.url("ok/never")}
    - subscriber:
        uri: {recorder.url("ok/always")}
  reply:
    uri: {recorder.url("ok/fork-out")}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: into-pipe
spec:
  broker: default
  subscriber:
    ref: {{apiVersion: flows.knative.dev/v1, kind: Sequence, name: pipe}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: into-fork
spec:
  broker: default
  subscriber:
    ref: {{apiVersion: flows.knative.dev/v1, kind: Parallel, name: fork}}
""")
    for ref in ("sequence/pipe", "parallel/fork", "trigger/into-pipe", "trigger/into-fork"):
        wait_ready(plane, namespace, ref)
    feed = Feed(client, interval=0.2)
    flow = EventFlow(client=client, namespace=namespace, feed=feed)
    try:
        send(client, 2, "seq")
        recorder.wait_for(lambda: len(recorder.at("pipe-out")) == 2 and len(recorder.at("always")) == 2)
        until(lambda: flow.graph.node("Sequence/pipe/1").counts == Counts(delivered=2)
              and flow.graph.node("Parallel/fork/1").counts == Counts(delivered=2))
        graph = flow.graph
        # no channel, subscription or -kne-trigger plumbing: only what was written, and where it sends
        assert {n.kind for n in graph.nodes} == {"broker", "trigger", "flow", "step", "destination", "senders"}
        assert {(e.source, e.target, e.role) for e in graph.edges if e.role != "accept"} == {
            ("Broker/default", "Trigger/into-pipe", "match"), ("Trigger/into-pipe", "Sequence/pipe", "deliver"),
            ("Broker/default", "Trigger/into-fork", "match"), ("Trigger/into-fork", "Parallel/fork", "deliver"),
            ("Sequence/pipe", "Sequence/pipe/0", "deliver"), ("Sequence/pipe/0", "Sequence/pipe/1", "deliver"),
            ("Sequence/pipe/1", f"uri/{recorder.url('ok/pipe-out')}", "reply"),
            ("Parallel/fork", "Parallel/fork/0", "deliver"), ("Parallel/fork", "Parallel/fork/1", "deliver"),
            ("Parallel/fork/0", f"uri/{recorder.url('ok/fork-out')}", "reply"),
            ("Parallel/fork/1", f"uri/{recorder.url('ok/fork-out')}", "reply")}
        assert graph.node("Sequence/pipe/0").counts == Counts(delivered=2)
        # the filter dropped both events: the branch got nothing, the filter saw them
        assert graph.node("Parallel/fork/0").counts == Counts()
        assert "(2 events through the filter)" in graph.node("Parallel/fork/0").detail
        until(lambda: sorted(r["id"] for r in flow.graph.node("Sequence/pipe/0").recent) == ["seq-0", "seq-1"])
    finally:
        flow.close()
        feed.close()
