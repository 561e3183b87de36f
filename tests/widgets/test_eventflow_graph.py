"""The event-flow graph (pure): folding of Knative's plumbing, counts from the metrics, hover texts, Sankey arrays."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from jupyter_knative.widgets.flowgraph import (
    Counts,
    Edge,
    FlowGraph,
    build_graph,
    edge_hover,
    event_line,
    node_hover,
)
from jupyter_knative.widgets.flowsankey import FLOOR_SHARE, Pick, details_html, node_text, sankey_data, static_html

NS = "demo"
INGRESS = "http://broker-ingress.knative-eventing.svc.cluster.local"


# --- builders ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class S:
    labels: Mapping[str, str]
    value: float


def obj(kind: str, name: str, spec: dict[str, Any] | None = None, *, owner: str | None = None,
        status: dict[str, Any] | None = None, uid: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS, "uid": uid or str(uuid.uuid4())}
    if owner:
        owner_kind, owner_name = owner.split("/")
        meta["ownerReferences"] = [{"kind": owner_kind, "name": owner_name, "controller": True, "uid": "x"}]
    return {"kind": kind, "metadata": meta, "spec": spec or {}, "status": status or {}}


def ksvc(name: str) -> dict[str, Any]:
    return {"ref": {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": name}}


def ref(kind: str, name: str, api: str = "eventing.knative.dev/v1") -> dict[str, Any]:
    return {"ref": {"apiVersion": api, "kind": kind, "name": name}}


def kref(kind: str, name: str) -> dict[str, Any]:
    """A KReference (a Subscription's `spec.channel`)."""
    return ref(kind, name, "messaging.knative.dev/v1")["ref"]  # type: ignore[no-any-return]


def objects(*items: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for item in items:
        out.setdefault(item["kind"].lower() + "s", {})[item["metadata"]["name"]] = item
    return out


def flow(outcome: str, value: float, *, trigger: str = "", broker: str = "", channel: str = "", uid: str = "",
         name: str = "", ns: str = NS) -> S:
    return S({"namespace_name": ns, "channel_name": channel, "broker_name": broker, "trigger_name": trigger,
              "subscription_uid": uid, "subscription_name": name, "outcome": outcome}, value)


def ingress(broker: str, event_type: str, code: int, value: float, *, trigger: str = "") -> S:
    labels = {"namespace_name": NS, "broker_name": broker, "event_type": event_type, "response_code": str(code),
              "response_code_class": f"{code // 100}xx"}
    if trigger:
        labels["trigger_name"] = trigger
    return S(labels, value)


def recent(event_id: str, outcome: str = "delivered", *, trigger: str = "", uid: str = "", name: str = "",
           code: int | None = 200, attempts: int = 1, subject: str | None = None) -> dict[str, Any]:
    return {"namespace": NS, "channel": "c", "subscription_uid": uid, "subscription_name": name, "broker": "",
            "trigger": trigger, "id": event_id, "type": "order.created", "source": "/shop", "subject": subject,
            "time": None, "outcome": outcome, "response_code": code, "attempts": attempts,
            "at": "2026-03-01T10:11:12.345Z"}


def edges(graph: FlowGraph) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.role) for e in graph.edges}


def edge(graph: FlowGraph, source: str, target: str, role: str) -> Edge:
    (found,) = [e for e in graph.edges if (e.source, e.target, e.role) == (source, target, role)]
    return found


# --- structure and folding -----------------------------------------------------------------------------------


def broker_world() -> dict[str, dict[str, dict[str, Any]]]:
    return objects(
        obj("PingSource", "tick", {"schedule": "*/1 * * * *", "sink": ref("Broker", "default")}),
        obj("Broker", "default", {"delivery": {"deadLetterSink": ksvc("dls")}},
            status={"annotations": {"knative.dev/channelName": "default-kne-trigger"}}),
        obj("InMemoryChannel", "default-kne-trigger", owner="Broker/default"),
        obj("Trigger", "orders", {"broker": "default", "filter": {"attributes": {"type": "order.created"}},
                                  "subscriber": ksvc("shop")}),
        obj("Subscription", "default-orders-123", {"channel": kref("InMemoryChannel", "default-kne-trigger")},
            owner="Trigger/orders"),
        obj("Trigger", "audit", {"broker": "default", "subscriber": {"uri": "http://audit.example.com/in"},
                                 "delivery": {"deadLetterSink": {"uri": "http://dead.example.com/"}}}),
    )


def test_broker_and_triggers_fold_their_channel_and_subscriptions() -> None:
    graph = build_graph(NS, broker_world())
    assert [n.id for n in graph.nodes] == [
        "PingSource/tick", "Broker/default", "Trigger/audit", "uri/http://audit.example.com/in",
        "uri/http://dead.example.com/", "Trigger/orders", "Service/shop", "Service/dls"]
    assert edges(graph) == {
        ("PingSource/tick", "Broker/default", "accept"),
        ("Broker/default", "Trigger/audit", "match"),
        ("Trigger/audit", "uri/http://audit.example.com/in", "deliver"),
        ("Trigger/audit", "uri/http://dead.example.com/", "dead_letter"),  # the trigger's own DLS wins
        ("Broker/default", "Trigger/orders", "match"),
        ("Trigger/orders", "Service/shop", "deliver"),
        ("Trigger/orders", "Service/dls", "dead_letter"),  # the broker's DLS
    }
    labels = {n.id: (n.kind, n.label, n.detail) for n in graph.nodes}
    assert labels["Service/shop"] == ("destination", "ksvc shop", "serving.knative.dev/v1")
    assert labels["Trigger/orders"] == ("trigger", "trigger orders", "filter type=order.created")
    assert labels["Trigger/audit"][2] == "all events"
    assert labels["PingSource/tick"] == ("source", "pingsource tick", "schedule */1 * * * *")
    assert labels["uri/http://audit.example.com/in"][1] == "audit.example.com/in"


def test_broker_channel_is_folded_by_the_brokers_status_too() -> None:
    world = objects(obj("Broker", "b", status={"annotations": {"knative.dev/channelName": "b-kne-trigger"}}),
                    obj("InMemoryChannel", "b-kne-trigger"), obj("InMemoryChannel", "mine"))
    assert [n.id for n in build_graph(NS, world).nodes] == ["Broker/b", "InMemoryChannel/mine"]


def test_channel_subscriptions_with_reply_and_dead_letter() -> None:
    world = objects(
        obj("ApiServerSource", "watch", {"resources": [{"kind": "Pod"}], "mode": "Resource",
                                         "sink": ref("Channel", "orders", "messaging.knative.dev/v1")}),
        obj("Channel", "orders", {"channelTemplate": {"kind": "InMemoryChannel"},
                                  "delivery": {"deadLetterSink": ksvc("dls")}}),
        obj("InMemoryChannel", "orders", owner="Channel/orders"),  # the Channel's backing channel
        obj("Subscription", "to-shop", {"channel": kref("Channel", "orders"),
                                        "subscriber": ksvc("shop"), "reply": ref("Broker", "default")}),
    )
    graph = build_graph(NS, world)
    assert edges(graph) == {
        ("ApiServerSource/watch", "Channel/orders", "accept"),
        ("Channel/orders", "Subscription/to-shop", "match"),
        ("Subscription/to-shop", "Service/shop", "deliver"),
        ("Subscription/to-shop", "Broker/default", "reply"),
        ("Subscription/to-shop", "Service/dls", "dead_letter"),  # from the channel's delivery
    }
    assert graph.node("Channel/orders").detail == "Channel (InMemoryChannel)"
    assert graph.node("Broker/default").problem == "does not exist"
    assert graph.node("ApiServerSource/watch").detail == "watches Pod (Resource mode)"


def test_sequence_and_parallel_show_steps_and_branches_not_their_plumbing() -> None:
    world = objects(
        obj("Sequence", "pipe", {"steps": [ksvc("first"), {"uri": "http://second.example/"}],
                                 "reply": ref("Broker", "default")}),
        obj("Channel", "pipe-kn-sequence-0", owner="Sequence/pipe"),
        obj("Subscription", "pipe-kn-sequence-0", owner="Sequence/pipe"),
        obj("Parallel", "fan", {"branches": [{"filter": ksvc("only-eu"), "subscriber": ksvc("eu")},
                                             {"subscriber": ksvc("all"), "reply": ksvc("audit")}],
                                "reply": ksvc("done")}),
        obj("InMemoryChannel", "fan-kn-parallel", owner="Parallel/fan"),
        obj("Subscription", "fan-kn-parallel-filter-0", owner="Parallel/fan"),
        obj("Trigger", "to-pipe", {"broker": "default", "subscriber": ref("Sequence", "pipe", "flows.knative.dev/v1")}),
        obj("Broker", "default"),
    )
    graph = build_graph(NS, world)
    assert edges(graph) == {
        ("Broker/default", "Trigger/to-pipe", "match"),
        ("Trigger/to-pipe", "Sequence/pipe", "deliver"),
        ("Sequence/pipe", "Sequence/pipe/0", "deliver"),
        ("Sequence/pipe/0", "Sequence/pipe/1", "deliver"),
        ("Sequence/pipe/1", "Broker/default", "reply"),
        ("Parallel/fan", "Parallel/fan/0", "deliver"),
        ("Parallel/fan/0", "Service/done", "reply"),
        ("Parallel/fan", "Parallel/fan/1", "deliver"),
        ("Parallel/fan/1", "Service/audit", "reply"),  # the branch's reply wins over the parallel's
    }
    assert graph.node("Sequence/pipe").detail == "Sequence of 2 steps"
    assert graph.node("Sequence/pipe/1").label == "step 1: second.example/"
    assert graph.node("Parallel/fan/0").label == "branch 0: ksvc eu"
    assert graph.node("Parallel/fan/0").detail == "branch 0 of parallel fan, filter ksvc only-eu"
    assert not any(n.kind == "channel" or n.kind == "subscription" for n in graph.nodes)


def test_sources_of_every_kind_and_uri_sinks_that_name_a_broker_or_channel() -> None:
    world = objects(
        obj("ContainerSource", "heart", {"template": {"spec": {"containers": [{"image": "beat:1"}]}},
                                         "sink": {"uri": f"{INGRESS}/{NS}/default"}}),
        obj("SinkBinding", "heart-sinkbinding", {"sink": ref("Broker", "default")}, owner="ContainerSource/heart"),
        obj("SinkBinding", "bind", {"subject": {"kind": "Deployment", "name": "app"},
                                    "sink": {"uri": f"http://ch-kn-channel.{NS}.svc.cluster.local"}}),
        obj("InMemoryChannel", "ch"),
        obj("Broker", "default"),
        obj("PingSource", "direct", {"sink": ksvc("hello")}),
    )
    graph = build_graph(NS, world)
    assert edges(graph) == {("ContainerSource/heart", "Broker/default", "accept"),
                            ("SinkBinding/bind", "InMemoryChannel/ch", "accept"),
                            ("PingSource/direct", "Service/hello", "accept")}
    assert graph.node("ContainerSource/heart").detail == "image beat:1"
    assert graph.node("SinkBinding/bind").detail == "binds deployment app"
    assert edge(graph, "PingSource/direct", "Service/hello", "accept").note == (
        "sent straight to the destination: not counted")


def test_not_ready_objects_say_why() -> None:
    bad = obj("Trigger", "t", {"broker": "b", "subscriber": ksvc("s")}, status={"conditions": [
        {"type": "Ready", "status": "False", "reason": "BrokerDoesNotExist", "message": 'Broker "b" does not exist'}]})
    graph = build_graph(NS, objects(bad))
    assert graph.node("Trigger/t").problem == 'not ready (BrokerDoesNotExist: Broker "b" does not exist)'
    assert "⚠ not ready" in node_hover(graph, graph.node("Trigger/t"))


# --- counts ----------------------------------------------------------------------------------------------------


def test_trigger_counts_from_delivery_totals() -> None:
    metrics = {"jupyter_knative_delivery_total": [
        flow("delivered", 7, trigger="orders", broker="default"), flow("retried", 3, trigger="orders"),
        flow("failed", 2, trigger="orders"), flow("dead_lettered", 1, trigger="orders"),
        flow("delivered", 99, trigger="orders", ns="elsewhere"),  # another namespace's trigger of the same name
    ]}
    graph = build_graph(NS, broker_world(), metrics)
    expected = Counts(delivered=7, retried=3, failed=2, dead_lettered=1)
    assert graph.node("Trigger/orders").counts == expected
    assert edge(graph, "Trigger/orders", "Service/shop", "deliver").counts == expected
    assert graph.node("Trigger/audit").counts is None
    assert node_text(graph.node("Trigger/orders")) == "trigger orders (7 ok, 3 retried, 2 failed, 1 dead-lettered)"
    assert node_text(graph.node("Trigger/audit")) == "trigger audit"


def test_knatives_event_count_stands_in_for_a_trigger_without_delivery_totals() -> None:
    metrics = {"event_count": [ingress("default", "order.created", 200, 4, trigger="audit"),
                               ingress("default", "order.created", 500, 2, trigger="audit")]}
    graph = build_graph(NS, broker_world(), metrics)
    assert graph.node("Trigger/audit").counts == Counts(delivered=4, failed=2)
    assert "Knative's event_count" in edge(graph, "Trigger/audit", "uri/http://audit.example.com/in", "deliver").note


@pytest.mark.parametrize(("sources", "expected", "others"), [
    pytest.param(1, {"PingSource/p0": Counts(delivered=5, failed=1)}, Counts(delivered=3, failed=2), id="one-source"),
    pytest.param(2, {"PingSource/p0": None, "PingSource/p1": None}, Counts(delivered=3, failed=2), id="shared"),
    pytest.param(0, {}, Counts(delivered=8, failed=3), id="no-source"),
])
def test_broker_ingress_is_attributed_to_sources_by_event_type(
        sources: int, expected: dict[str, Counts | None], others: Counts) -> None:
    world = objects(obj("Broker", "default"),
                    *(obj("PingSource", f"p{i}", {"sink": ref("Broker", "default")}) for i in range(sources)))
    metrics = {"event_count": [ingress("default", "dev.knative.sources.ping", 202, 5),
                               ingress("default", "dev.knative.sources.ping", 400, 1),
                               ingress("default", "greeting", 202, 3), ingress("default", "greeting", 404, 2)]}
    graph = build_graph(NS, world, metrics)
    got = {e.source: e.counts for e in graph.edges if e.source.startswith("PingSource/")}
    assert got == expected
    assert edge(graph, "senders/default", "Broker/default", "accept").counts == others
    if sources == 2:
        assert edge(graph, "PingSource/p0", "Broker/default", "accept").note == (
            "5 PingSource events into this broker, from 2 PingSources")
    assert graph.node("senders/default").detail == (
        "events posted to the broker's address; types dev.knative.sources.ping, greeting")


def test_sequence_and_subscription_counts_by_uid_or_name() -> None:
    world = objects(
        obj("Sequence", "pipe", {"steps": [ksvc("a"), ksvc("b")]}),
        obj("Subscription", "pipe-kn-sequence-0", owner="Sequence/pipe", uid="u0"),
        obj("Channel", "ch"),
        obj("Subscription", "mine", {"channel": kref("Channel", "ch"),
                                     "subscriber": ksvc("x")}, uid="u-mine"),
    )
    metrics = {"jupyter_knative_delivery_total": [
        flow("delivered", 4, uid="u0", name=""),  # the uid finds the step although the name label is empty
        flow("delivered", 2, name="pipe-kn-sequence-1"),  # no Subscription object (yet): the name label
        flow("failed", 1, uid="u-mine", name="mine"),
    ]}
    graph = build_graph(NS, world, metrics)
    assert graph.node("Sequence/pipe/0").counts == Counts(delivered=4)
    assert graph.node("Sequence/pipe/1").counts == Counts(delivered=2)
    assert edge(graph, "Channel/ch", "Subscription/mine", "match").counts == Counts(failed=1)


def test_no_metrics_means_structure_only() -> None:
    graph = build_graph(NS, broker_world(), {})
    assert not graph.counted
    assert all(e.counts is None for e in graph.edges)
    assert "no counts (no metrics)" in edge_hover(graph, edge(graph, "Broker/default", "Trigger/orders", "match"))
    assert "no delivery counts" in node_hover(graph, graph.node("Trigger/orders"))


# --- recent events and hover texts ----------------------------------------------------------------------------


def test_recent_events_go_to_their_trigger_and_subscription() -> None:
    world = broker_world()
    world.update(objects(obj("Channel", "ch"), obj("Subscription", "s", {
        "channel": kref("Channel", "ch"), "subscriber": ksvc("x")}, uid="u-s")))
    items = [recent("e1", trigger="orders"), recent("e2", "dead_lettered", trigger="orders", code=500, attempts=3),
             recent("e3", uid="u-s"), recent("e4", trigger="audit") | {"namespace": "elsewhere"}]
    graph = build_graph(NS, world, {}, items)
    assert [r["id"] for r in graph.node("Trigger/orders").recent] == ["e1", "e2"]
    assert [r["id"] for r in edge(graph, "Trigger/orders", "Service/dls", "dead_letter").recent] == ["e2"]
    assert [r["id"] for r in graph.node("Subscription/s").recent] == ["e3"]
    assert graph.node("Trigger/audit").recent == ()
    hover = node_hover(graph, graph.node("Trigger/orders"))
    # newest first, each with its attributes
    assert hover.index("id=e2") < hover.index("id=e1")
    assert "10:11:12.345 order.created id=e2 source=/shop → dead-lettered 500 (3 attempts)" in hover


@pytest.mark.parametrize(("item", "line"), [
    pytest.param(recent("a"), "10:11:12.345 order.created id=a source=/shop → delivered 200", id="delivered"),
    pytest.param(recent("b", "failed", code=None, subject="o-1"),
                 "10:11:12.345 order.created id=b subject=o-1 source=/shop → failed", id="no-response"),
    pytest.param(recent("c", attempts=4), "10:11:12.345 order.created id=c source=/shop → delivered 200 (4 attempts)",
                 id="retried"),
])
def test_event_line(item: dict[str, Any], line: str) -> None:
    assert event_line(item) == line


def test_hover_texts_escape_what_users_wrote() -> None:
    world = objects(obj("Broker", "b"), obj("Trigger", "t", {"broker": "b", "subscriber": {"uri": "http://x/<b>"},
                                                             "filter": {"attributes": {"type": "<script>"}}}))
    graph = build_graph(NS, world, {"jupyter_knative_delivery_total": [flow("delivered", 1, trigger="t")]})
    assert "&lt;script&gt;" in node_hover(graph, graph.node("Trigger/t"))
    text = edge_hover(graph, edge(graph, "Trigger/t", "uri/http://x/<b>", "deliver"))
    assert text.startswith("trigger t → x/&lt;b&gt;<br>1 delivered · 0 retried · 0 failed · 0 dead-lettered")


@pytest.mark.parametrize(("role", "counts", "text"), [
    pytest.param("match", Counts(5, 2, 1, 0), "6 events matched", id="match"),
    pytest.param("dead_letter", Counts(5, 2, 3, 2), "2 dead-lettered (of 3 failed)", id="dead-letter"),
    pytest.param("reply", Counts(5, 0, 0, 0), "replies after 5 deliveries", id="reply"),
    pytest.param("accept", Counts(9, 0, 2, 0), "9 accepted · 2 rejected", id="accept"),
])
def test_edge_hover_by_role(role: str, counts: Counts, text: str) -> None:
    world = objects(obj("Broker", "b"))
    base = build_graph(NS, world, {"event_count": []})
    graph = FlowGraph(NS, base.nodes, (Edge("Broker/b", "Broker/b", role, counts),), True)
    assert edge_hover(graph, graph.edges[0]) == f"broker b → broker b<br>{text}"


# --- Sankey arrays ------------------------------------------------------------------------------------------


def test_sankey_values_floor_failed_links_and_index_offset() -> None:
    metrics = {"jupyter_knative_delivery_total": [flow("delivered", 100, trigger="orders"),
                                                  flow("failed", 4, trigger="orders"),
                                                  flow("dead_lettered", 4, trigger="orders")],
               "event_count": []}
    graph = build_graph(NS, broker_world(), metrics)
    data = sankey_data(graph)
    # accept and deliver edges have a companion link for failures
    roles = [e.role for e in graph.edges]
    assert len(data.link_value) == len(roles) + roles.count("accept") + roles.count("deliver")
    assert data.offset == len(data.link_value)
    assert data.node_label[:data.offset] == ("",) * data.offset
    assert data.node_label[data.offset:] == tuple(node_text(n) for n in graph.nodes)
    index = {n.id: data.offset + i for i, n in enumerate(graph.nodes)}
    links = {(s, t, c): v for s, t, c, v in zip(data.link_source, data.link_target, data.link_color, data.link_value,
                                                 strict=True)}
    floor = FLOOR_SHARE * 104
    assert links[(index["Broker/default"], index["Trigger/orders"], "rgba(127, 127, 127, 0.3)")] == 104
    assert links[(index["Trigger/orders"], index["Service/shop"], "rgba(44, 160, 44, 0.4)")] == 100
    assert links[(index["Trigger/orders"], index["Service/shop"], "rgba(214, 39, 40, 0.6)")] == 4
    assert links[(index["Trigger/orders"], index["Service/dls"], "rgba(255, 127, 14, 0.5)")] == 4
    # unused edges keep a thin band so the structure shows; unused failure links vanish
    assert links[(index["Broker/default"], index["Trigger/audit"], "rgba(200, 200, 200, 0.25)")] == floor
    assert links[(index["Trigger/audit"], index["uri/http://audit.example.com/in"], "rgba(214, 39, 40, 0.6)")] == 0
    # a click's point number says whether it was a node or a link
    assert data.pick(index["Trigger/orders"]) == Pick(node=[n.id for n in graph.nodes].index("Trigger/orders"))
    assert data.pick(0) == Pick(edge=data.link_edge[0])
    assert data.pick(10_000) == Pick()


def test_sankey_with_nothing_counted_is_all_floors() -> None:
    data = sankey_data(build_graph(NS, broker_world()))
    assert {v for v, c in zip(data.link_value, data.link_color, strict=True) if c != "rgba(214, 39, 40, 0.6)"} == {1.0}


def test_structure_changes_only_with_the_graph() -> None:
    one = sankey_data(build_graph(NS, broker_world(), {"jupyter_knative_delivery_total": [
        flow("delivered", 1, trigger="orders")]}))
    two = sankey_data(build_graph(NS, broker_world(), {"jupyter_knative_delivery_total": [
        flow("delivered", 5, trigger="orders")]}))
    assert one.structure == two.structure and one.link_value != two.link_value
    world = broker_world()
    del world["triggers"]["audit"]
    assert sankey_data(build_graph(NS, world)).structure != one.structure


def test_details_pane_and_static_html() -> None:
    items = [recent("e1", trigger="orders"), recent("e2", "failed", trigger="orders", code=503, attempts=3)]
    graph = build_graph(NS, broker_world(), {"jupyter_knative_delivery_total": [
        flow("delivered", 1, trigger="orders"), flow("failed", 1, trigger="orders")]}, items)
    node = [n.id for n in graph.nodes].index("Trigger/orders")
    pane = details_html(graph, Pick(node=node))
    assert pane.startswith("<div><b>trigger orders</b><br>filter type=order.created<br>1 delivered")
    assert "last events" not in pane  # the table lists them instead
    assert pane.index("<td>e2</td>") < pane.index("<td>e1</td>")
    assert "<td>503</td><td>3</td>" in pane
    assert "Click a node" in details_html(graph, Pick())
    assert "no recent events" in details_html(graph, Pick(node=0))
    page = static_html(graph)
    assert "Event flow in namespace demo" in page
    assert "<td>trigger orders</td><td>ksvc shop</td><td>deliver</td><td>1</td><td>0</td><td>1</td><td>0</td>" in page
    assert "No eventing metrics" not in page
    assert "No eventing metrics" in static_html(build_graph(NS, broker_world()))
    assert "no sources, brokers" in static_html(build_graph(NS, {}))
