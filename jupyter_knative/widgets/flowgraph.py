"""The event flow of one namespace as a graph of what the user wrote, with delivery counts and last events.

Pure: eventing objects (kind → name → object, the kinds in `KINDS`), Prometheus samples and the plane's
recent deliveries in; a `FlowGraph` out. Nodes are sources, brokers, channels, triggers, subscriptions,
sequences and parallels (with one node per step or branch) and the destinations they name (a ksvc, a
URI, ...). The plumbing Knative makes for them is folded away: a broker's `-kne-trigger` channel, a
trigger's subscription, a Channel's backing channel, the channels and subscriptions of sequences and
parallels, a ContainerSource's SinkBinding. Their delivery counters land on the edges of their owners.

Counts come from `jupyter_knative_delivery_total` (per channel subscriber: the plane's own metric) and,
for broker ingress, from `event_count`; on a real cluster without them a trigger falls back to Knative's
`event_count{trigger_name}` (attempts by response code), and everything else has no counts (`None`): the
graph still shows the structure.
"""

from __future__ import annotations

import html
import json
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["DELIVERY_TOTAL", "EVENT_COUNT", "KINDS", "Counts", "Edge", "FlowGraph", "Node", "build_graph",
           "edge_hover", "node_hover"]

KINDS = ("pingsources", "apiserversources", "containersources", "sinkbindings", "brokers", "triggers", "channels",
         "inmemorychannels", "subscriptions", "sequences", "parallels")
"""What the graph is made of, as the feed's `kinds` (plural resource names)."""

DELIVERY_TOTAL = "jupyter_knative_delivery_total"
EVENT_COUNT = "event_count"
BROKER_INGRESS_HOST = "broker-ingress.knative-eventing.svc.cluster.local"
CHANNEL_HOST_SUFFIX = "-kn-channel"
SHOWN_EVENTS = 5
"""Last events listed in a hover text."""

# Which broker-ingress events a source kind sends, by CloudEvent type (eventing.md §1.5).
_SOURCE_TYPES: dict[str, tuple[str, ...]] = {
    "PingSource": ("dev.knative.sources.ping",),
    "ApiServerSource": ("dev.knative.apiserver.",),
}
_SOURCE_KINDS = (("pingsources", "PingSource"), ("apiserversources", "ApiServerSource"),
                 ("containersources", "ContainerSource"), ("sinkbindings", "SinkBinding"))
# Owners whose children are plumbing.
_FOLDED_OWNERS = {
    "inmemorychannels": ("Broker", "Channel", "Sequence", "Parallel"),
    "channels": ("Broker", "Sequence", "Parallel"),
    "subscriptions": ("Trigger", "Sequence", "Parallel"),
    "sinkbindings": ("ContainerSource",),
}


class Sample(Protocol):
    """One Prometheus sample (the feed's `Sample` fits)."""

    @property
    def labels(self) -> Mapping[str, str]: ...

    @property
    def value(self) -> float: ...


Metrics = Mapping[str, Sequence[Sample]]
Objects = Mapping[str, Mapping[str, Mapping[str, Any]]]
Recent = Mapping[str, Any]


@dataclass(frozen=True)
class Counts:
    """Outcomes of deliveries (`retried` counts retries scheduled, not events)."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0
    dead_lettered: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.delivered + other.delivered, self.retried + other.retried, self.failed + other.failed,
                      self.dead_lettered + other.dead_lettered)

    @property
    def handled(self) -> int:
        """Events that reached an end (delivered or failed for good; dead-lettered ones failed first)."""
        return self.delivered + self.failed

    def text(self) -> str:
        return (f"{self.delivered} delivered · {self.retried} retried · {self.failed} failed · "
                f"{self.dead_lettered} dead-lettered")


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    """source, broker, channel, trigger, subscription, flow (sequence, parallel), step (of a flow), destination,
    senders (events into a broker that no source here accounts for)."""
    label: str
    detail: str = ""
    counts: Counts | None = None
    """For triggers, subscriptions and steps: the deliveries they make."""
    recent: tuple[Recent, ...] = ()
    """Their last deliveries, oldest first."""
    problem: str = ""
    """Why the object is not Ready, or that it does not exist."""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    role: str
    """accept (into a broker or channel, or a source's sink), match (a broker or channel hands events to a trigger
    or subscription), deliver (to a subscriber), dead_letter, reply."""
    counts: Counts | None = None
    note: str = ""
    recent: tuple[Recent, ...] = ()


@dataclass(frozen=True)
class FlowGraph:
    namespace: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    counted: bool
    """Whether the metrics had any eventing counter (False on a cluster without the plane's metrics)."""
    _index: dict[str, Node] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {node.id: node for node in self.nodes})

    def node(self, node_id: str) -> Node:
        return self._index[node_id]


def build_graph(namespace: str, objects: Objects, metrics: Metrics | None = None,
                recent: Iterable[Recent] = ()) -> FlowGraph:
    """The graph of `namespace` from its eventing objects, the metrics (may be empty) and recent deliveries."""
    return _Builder(namespace, objects, metrics or {}, recent).build()


# --- hover texts -----------------------------------------------------------------------------------------------


def node_hover(graph: FlowGraph, node: Node) -> str:
    lines = [f"<b>{_esc(node.label)}</b>"]
    if node.detail:
        lines.append(_esc(node.detail))
    if node.problem:
        lines.append(f"⚠ {_esc(node.problem)}")
    if node.counts is not None:
        lines.append(node.counts.text())
    elif node.kind in ("trigger", "subscription", "step"):
        lines.append("no delivery counts" if not graph.counted else "no deliveries yet")
    inflow = [e for e in graph.edges if e.target == node.id and e.role == "accept" and e.counts is not None]
    if inflow:
        accepted = sum(e.counts.delivered for e in inflow if e.counts is not None)
        rejected = sum(e.counts.failed for e in inflow if e.counts is not None)
        lines.append(f"{accepted} accepted" + (f" · {rejected} rejected" if rejected else ""))
    lines += _events(node.recent)
    return "<br>".join(lines)


def edge_hover(graph: FlowGraph, edge: Edge) -> str:
    source, target = graph.node(edge.source), graph.node(edge.target)
    lines = [f"{_esc(source.label)} → {_esc(target.label)}"]
    c = edge.counts
    if c is None:
        lines.append(_ROLE_TEXT[edge.role] + (": not counted" if graph.counted else ": no counts (no metrics)"))
    elif edge.role == "accept":
        lines.append(f"{c.delivered} accepted" + (f" · {c.failed} rejected" if c.failed else ""))
    elif edge.role == "match":
        lines.append(f"{c.handled} events matched")
    elif edge.role == "dead_letter":
        lines.append(f"{c.dead_lettered} dead-lettered (of {c.failed} failed)")
    elif edge.role == "reply":
        lines.append(f"replies after {c.delivered} deliveries")
    else:
        lines.append(c.text())
    if edge.note:
        lines.append(_esc(edge.note))
    lines += _events(edge.recent)
    return "<br>".join(lines)


_ROLE_TEXT = {"accept": "events sent", "match": "events matched", "deliver": "deliveries",
              "dead_letter": "dead letters", "reply": "replies"}


def _events(recent: Sequence[Recent]) -> list[str]:
    if not recent:
        return []
    lines = ["last events:"]
    for item in list(recent)[-SHOWN_EVENTS:][::-1]:
        lines.append("&nbsp;&nbsp;" + _esc(event_line(item)))
    return lines


def event_line(item: Recent) -> str:
    """One recent delivery in one line: when, type, id, subject, outcome, code, attempts."""
    at = str(item.get("at") or "")
    clock = at[11:23] if len(at) >= 23 else at
    subject = f" subject={item['subject']}" if item.get("subject") else ""
    code = f" {item['response_code']}" if item.get("response_code") is not None else ""
    attempts = int(item.get("attempts") or 0)
    tries = f" ({attempts} attempts)" if attempts > 1 else ""
    return (f"{clock} {item.get('type', '')} id={item.get('id', '')}{subject} source={item.get('source', '')} "
            f"→ {str(item.get('outcome', '')).replace('_', '-')}{code}{tries}")


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


# --- building ----------------------------------------------------------------------------------------------------


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _owner_kind(obj: Mapping[str, Any]) -> str | None:
    refs = [r for r in _map(obj.get("metadata")).get("ownerReferences") or () if isinstance(r, Mapping)]
    controllers = [r for r in refs if r.get("controller")] or refs
    return str(controllers[0].get("kind")) if controllers else None


def _problem(obj: Mapping[str, Any]) -> str:
    for cond in _map(obj.get("status")).get("conditions") or ():
        if isinstance(cond, Mapping) and cond.get("type") == "Ready" and cond.get("status") != "True":
            why = ": ".join(str(cond[k]) for k in ("reason", "message") if cond.get(k))
            return "not ready" + (f" ({why})" if why else "")
    return ""


def _counts_of(samples: Iterable[Sample]) -> Counts:
    got = {"delivered": 0, "retried": 0, "failed": 0, "dead_lettered": 0}
    for sample in samples:
        outcome = sample.labels.get("outcome", "")
        if outcome in got:
            got[outcome] += int(sample.value)
    return Counts(**got)


class _Builder:
    def __init__(self, namespace: str, objects: Objects, metrics: Metrics, recent: Iterable[Recent]) -> None:
        self.ns = namespace
        self.objects = objects
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self.recent = [r for r in recent if r.get("namespace", namespace) == namespace]
        flows = [s for s in metrics.get(DELIVERY_TOTAL, ()) if s.labels.get("namespace_name") == namespace]
        events = [s for s in metrics.get(EVENT_COUNT, ()) if s.labels.get("namespace_name") == namespace]
        self.counted = DELIVERY_TOTAL in metrics or EVENT_COUNT in metrics
        self.by_trigger = self._group(flows, "trigger_name")
        self.by_uid = self._group(flows, "subscription_uid")
        self.by_name = self._group(flows, "subscription_name")
        self.trigger_attempts: dict[str, Counts] = {}
        self.ingress: dict[str, dict[str, tuple[int, int]]] = {}  # broker → type → (accepted, rejected)
        for s in events:
            ok = s.labels.get("response_code_class") == "2xx"
            if s.labels.get("trigger_name"):
                add = Counts(delivered=int(s.value)) if ok else Counts(failed=int(s.value))
                name = s.labels["trigger_name"]
                self.trigger_attempts[name] = self.trigger_attempts.get(name, Counts()) + add
            else:
                per_type = self.ingress.setdefault(s.labels.get("broker_name", ""), {})
                accepted, rejected = per_type.get(s.labels.get("event_type", ""), (0, 0))
                per_type[s.labels.get("event_type", "")] = ((accepted + int(s.value), rejected) if ok
                                                            else (accepted, rejected + int(s.value)))

    @staticmethod
    def _group(samples: Sequence[Sample], label: str) -> dict[str, Counts]:
        keys = {s.labels.get(label, "") for s in samples} - {""}
        return {key: _counts_of(s for s in samples if s.labels.get(label) == key) for key in keys}

    def items(self, kind: str) -> list[tuple[str, Mapping[str, Any]]]:
        folded = _FOLDED_OWNERS.get(kind, ())
        return [(name, obj) for name, obj in sorted(self.objects.get(kind, {}).items())
                if _owner_kind(obj) not in folded]

    def build(self) -> FlowGraph:
        self._broker_channels = {
            str(_map(_map(b.get("status")).get("annotations")).get("knative.dev/channelName"))
            for b in self.objects.get("brokers", {}).values()}
        self._sources()
        for name, obj in self.items("brokers"):
            self._broker(name, obj)
        for kind, label in (("channels", "Channel"), ("inmemorychannels", "InMemoryChannel")):
            for name, obj in self.items(kind):
                if kind == "inmemorychannels" and name in self._broker_channels:
                    continue
                self._channel(label, name, obj)
        for name, obj in self.items("triggers"):
            self._trigger(name, obj)
        for name, obj in self.items("subscriptions"):
            self._subscription(name, obj)
        for name, obj in self.items("sequences"):
            self._sequence(name, obj)
        for name, obj in self.items("parallels"):
            self._parallel(name, obj)
        self._other_senders()
        return FlowGraph(self.ns, tuple(self.nodes.values()), tuple(self.edges), self.counted)

    # nodes

    def add(self, node: Node) -> str:
        known = self.nodes.get(node.id)
        if known is None or (known.problem.endswith("does not exist") and not node.problem.endswith("exist")):
            self.nodes[node.id] = node
        return node.id

    def _broker(self, name: str, obj: Mapping[str, Any] | None) -> str:
        if obj is None:
            return self.add(Node(f"Broker/{name}", "broker", f"broker {name}", problem="does not exist"))
        detail = "Broker"
        dls = self.dest_label(_map(_map(obj.get("spec")).get("delivery")).get("deadLetterSink"))
        if dls:
            detail += f", dead letters to {dls}"
        return self.add(Node(f"Broker/{name}", "broker", f"broker {name}", detail, problem=_problem(obj)))

    def _channel(self, kind: str, name: str, obj: Mapping[str, Any] | None) -> str:
        node_id = f"{kind}/{name}"
        if obj is None:
            return self.add(Node(node_id, "channel", f"channel {name}", kind, problem="does not exist"))
        detail = kind
        template = _map(_map(obj.get("spec")).get("channelTemplate"))
        if template.get("kind"):
            detail += f" ({template['kind']})"
        return self.add(Node(node_id, "channel", f"channel {name}", detail, problem=_problem(obj)))

    def dest_label(self, dest: Any) -> str:
        dest = _map(dest)
        ref, uri = _map(dest.get("ref")), dest.get("uri")
        if ref.get("name"):
            text = f"{_short_kind(ref)} {ref['name']}"
            ns = ref.get("namespace")
            if ns and ns != self.ns:
                text = f"{_short_kind(ref)} {ns}/{ref['name']}"
            return text + (f" {uri}" if isinstance(uri, str) and uri else "")
        return _short_uri(uri) if isinstance(uri, str) and uri else ""

    def dest(self, dest: Any) -> str | None:
        """The node a Destination names (made when missing), or None when it names nothing."""
        dest = _map(dest)
        ref, uri = _map(dest.get("ref")), dest.get("uri")
        if ref.get("name"):
            name, kind = str(ref["name"]), str(ref.get("kind") or "")
            ns = str(ref.get("namespace") or self.ns)
            if ns == self.ns and kind == "Broker":
                return self._broker(name, self.objects.get("brokers", {}).get(name))
            if ns == self.ns and kind in ("Channel", "InMemoryChannel"):
                return self._channel(kind, name, self.objects.get(_plural(kind), {}).get(name))
            if ns == self.ns and kind in ("Sequence", "Parallel"):
                return self._flow_ref(kind, name)
            node_id = f"{kind}/{name}" if ns == self.ns else f"{kind}/{ns}/{name}"
            detail = str(ref.get("apiVersion") or "") + (f", path {uri}" if isinstance(uri, str) and uri else "")
            return self.add(Node(node_id, "destination", self.dest_label(dest), detail))
        if isinstance(uri, str) and uri:
            return self._uri(uri)
        return None

    def _uri(self, uri: str) -> str:
        parts = urllib.parse.urlsplit(uri)
        host, path = parts.hostname or "", parts.path.strip("/").split("/")
        if host == BROKER_INGRESS_HOST and len(path) == 2 and path[0] == self.ns:
            return self._broker(path[1], self.objects.get("brokers", {}).get(path[1]))
        labels = host.split(".")
        if len(labels) >= 2 and labels[0].endswith(CHANNEL_HOST_SUFFIX) and labels[1] == self.ns:
            name = labels[0][:-len(CHANNEL_HOST_SUFFIX)]
            for kind in ("Channel", "InMemoryChannel"):
                if name in self.objects.get(_plural(kind), {}):
                    return self._channel(kind, name, self.objects[_plural(kind)][name])
        return self.add(Node(f"uri/{uri}", "destination", _short_uri(uri), uri))

    def _flow_ref(self, kind: str, name: str) -> str:
        obj = self.objects.get(_plural(kind), {}).get(name)
        if obj is None:
            return self.add(Node(f"{kind}/{name}", "flow", f"{kind.lower()} {name}", kind, problem="does not exist"))
        spec = _map(obj.get("spec"))
        detail = (f"Sequence of {len(spec.get('steps') or ())} steps" if kind == "Sequence"
                  else f"Parallel of {len(spec.get('branches') or ())} branches")
        return self.add(Node(f"{kind}/{name}", "flow", f"{kind.lower()} {name}", detail, problem=_problem(obj)))

    def recent_of(self, *, trigger: str = "", uid: str = "", name: str = "") -> tuple[Recent, ...]:
        if trigger:
            return tuple(r for r in self.recent if r.get("trigger") == trigger)
        return tuple(r for r in self.recent if (uid and r.get("subscription_uid") == uid)
                     or (name and r.get("subscription_name") == name))

    def sub_counts(self, name: str) -> Counts | None:
        obj = self.objects.get("subscriptions", {}).get(name)
        uid = str(_map(_map(obj).get("metadata")).get("uid") or "")
        found = self.by_uid.get(uid) if uid else None
        return found if found is not None else self.by_name.get(name)

    def sub_recent(self, name: str) -> tuple[Recent, ...]:
        obj = self.objects.get("subscriptions", {}).get(name)
        return self.recent_of(uid=str(_map(_map(obj).get("metadata")).get("uid") or ""), name=name)

    # what the user wrote

    def _sources(self) -> None:
        into: dict[tuple[str, str], list[str]] = {}  # (source kind, target) → source nodes
        pending: list[tuple[str, str, str]] = []
        for plural, kind in _SOURCE_KINDS:
            for name, obj in self.items(plural):
                spec = _map(obj.get("spec"))
                node_id = self.add(Node(f"{kind}/{name}", "source", f"{kind.lower()} {name}",
                                        _source_detail(kind, spec), problem=_problem(obj)))
                target = self.dest(spec.get("sink"))
                if target is not None:
                    into.setdefault((kind, target), []).append(node_id)
                    pending.append((kind, node_id, target))
        self._attributed: dict[str, tuple[int, int]] = {}
        for kind, node_id, target in pending:
            counts, note = self._source_counts(kind, target, len(into[(kind, target)]))
            self.edges.append(Edge(node_id, target, "accept", counts, note))

    def _source_counts(self, kind: str, target: str, sharing: int) -> tuple[Counts | None, str]:
        node = self.nodes[target]
        if node.kind != "broker":
            return None, "sent straight to the destination: not counted"
        prefixes = _SOURCE_TYPES.get(kind)
        if prefixes is None:
            return None, "not told apart from the broker's other senders"
        if not self.counted:
            return None, ""
        broker = node.id.split("/", 1)[1]
        accepted = rejected = 0
        for event_type, (ok, bad) in self.ingress.get(broker, {}).items():
            if event_type.startswith(prefixes):
                accepted, rejected = accepted + ok, rejected + bad
        total = self._attributed.get(broker, (0, 0))
        if sharing > 1:
            # each of the sharing sources' edges reports the shared total; count it once for "other senders"
            share_key = f"{broker}\0{kind}"
            if share_key not in self._attributed:
                self._attributed[share_key] = (accepted, rejected)
                self._attributed[broker] = (total[0] + accepted, total[1] + rejected)
            return None, f"{accepted} {kind} events into this broker, from {sharing} {kind}s"
        self._attributed[broker] = (total[0] + accepted, total[1] + rejected)
        return Counts(delivered=accepted, failed=rejected), ""

    def _other_senders(self) -> None:
        if not self.counted:
            return
        for broker, per_type in sorted(self.ingress.items()):
            node_id = f"Broker/{broker}"
            if node_id not in self.nodes:
                continue
            seen_ok, seen_bad = self._attributed.get(broker, (0, 0))
            accepted = sum(ok for ok, _ in per_type.values()) - seen_ok
            rejected = sum(bad for _, bad in per_type.values()) - seen_bad
            if accepted > 0 or rejected > 0:
                types = ", ".join(sorted(t for t in per_type if t))
                sender = self.add(Node(f"senders/{broker}", "senders", "other senders",
                                       "events posted to the broker's address" + (f"; types {types}" if types else "")))
                self.edges.append(Edge(sender, node_id, "accept", Counts(delivered=accepted, failed=rejected)))

    def _trigger(self, name: str, obj: Mapping[str, Any]) -> None:
        spec = _map(obj.get("spec"))
        broker_name = str(spec.get("broker") or _map(spec.get("brokerRef")).get("name") or "")
        broker_obj = self.objects.get("brokers", {}).get(broker_name)
        broker = self._broker(broker_name, broker_obj)
        counts = self.by_trigger.get(name)
        note = ""
        if counts is None and name in self.trigger_attempts:
            counts, note = self.trigger_attempts[name], "attempts by response code (Knative's event_count)"
        recent = self.recent_of(trigger=name)
        node = self.add(Node(f"Trigger/{name}", "trigger", f"trigger {name}", _filter_text(spec), counts, recent,
                             _problem(obj)))
        self.edges.append(Edge(broker, node, "match", counts, note))
        subscriber = self.dest(spec.get("subscriber"))
        if subscriber is not None:
            self.edges.append(Edge(node, subscriber, "deliver", counts, note, recent))
        dls = (_map(spec.get("delivery")).get("deadLetterSink")
               or _map(_map(_map(broker_obj).get("spec")).get("delivery")).get("deadLetterSink"))
        self._dead_letter(node, dls, counts, recent)

    def _dead_letter(self, node: str, dls: Any, counts: Counts | None, recent: tuple[Recent, ...]) -> None:
        target = self.dest(dls)
        if target is not None:
            self.edges.append(Edge(node, target, "dead_letter", counts, "",
                                   tuple(r for r in recent if r.get("outcome") == "dead_lettered")))

    def _subscription(self, name: str, obj: Mapping[str, Any]) -> None:
        spec = _map(obj.get("spec"))
        channel_ref = _map(spec.get("channel"))
        kind = str(channel_ref.get("kind") or "Channel")
        channel_name = str(channel_ref.get("name") or "")
        channel_obj = self.objects.get(_plural(kind), {}).get(channel_name)
        channel = self._channel(kind, channel_name, channel_obj)
        counts, recent = self.sub_counts(name), self.sub_recent(name)
        node = self.add(Node(f"Subscription/{name}", "subscription", f"subscription {name}", "Subscription", counts,
                             recent, _problem(obj)))
        self.edges.append(Edge(channel, node, "match", counts))
        subscriber = self.dest(spec.get("subscriber"))
        if subscriber is not None:
            self.edges.append(Edge(node, subscriber, "deliver", counts, "", recent))
        reply = self.dest(spec.get("reply"))
        if reply is not None:
            self.edges.append(Edge(node, reply, "reply", counts))
        dls = (_map(spec.get("delivery")).get("deadLetterSink")
               or _map(_map(_map(channel_obj).get("spec")).get("delivery")).get("deadLetterSink"))
        self._dead_letter(node, dls, counts, recent)

    def _sequence(self, name: str, obj: Mapping[str, Any]) -> None:
        spec = _map(obj.get("spec"))
        previous = self._flow_ref("Sequence", name)
        last: Counts | None = None
        for i, step in enumerate(spec.get("steps") or ()):
            step = _map(step)
            internal = f"{name}-kn-sequence-{i}"
            last, recent = self.sub_counts(internal), self.sub_recent(internal)
            node = self.add(Node(f"Sequence/{name}/{i}", "step", f"step {i}: {self.dest_label(step) or '?'}",
                                 f"step {i} of sequence {name}", last, recent))
            self.edges.append(Edge(previous, node, "deliver", last, "", recent))
            self._dead_letter(node, _map(step.get("delivery")).get("deadLetterSink"), last, recent)
            previous = node
        reply = self.dest(spec.get("reply"))
        if reply is not None and previous != f"Sequence/{name}":
            self.edges.append(Edge(previous, reply, "reply", last))

    def _parallel(self, name: str, obj: Mapping[str, Any]) -> None:
        spec = _map(obj.get("spec"))
        branches = [_map(b) for b in spec.get("branches") or ()]
        parallel = self._flow_ref("Parallel", name)
        for i, branch in enumerate(branches):
            internal = f"{name}-kn-parallel-{i}"
            counts, recent = self.sub_counts(internal), self.sub_recent(internal)
            detail = f"branch {i} of parallel {name}"
            filter_label = self.dest_label(branch.get("filter"))
            if filter_label:
                detail += f", filter {filter_label}"
                filtered = self.sub_counts(f"{name}-kn-parallel-filter-{i}")
                if filtered is not None:
                    detail += f" ({filtered.handled} events through the filter)"
            node = self.add(Node(f"Parallel/{name}/{i}", "step",
                                 f"branch {i}: {self.dest_label(branch.get('subscriber')) or '?'}", detail, counts,
                                 recent))
            self.edges.append(Edge(parallel, node, "deliver", counts, "", recent))
            self._dead_letter(node, _map(branch.get("delivery")).get("deadLetterSink"), counts, recent)
            reply = self.dest(branch.get("reply") or spec.get("reply"))
            if reply is not None:
                self.edges.append(Edge(node, reply, "reply", counts))


def _plural(kind: str) -> str:
    return kind.lower() + "s"


def _short_kind(ref: Mapping[str, Any]) -> str:
    kind = str(ref.get("kind") or "")
    if kind == "Service" and str(ref.get("apiVersion") or "").startswith("serving.knative.dev"):
        return "ksvc"
    return kind.lower()


def _short_uri(uri: str, width: int = 40) -> str:
    parts = urllib.parse.urlsplit(uri)
    text = (parts.netloc + parts.path) or uri
    return text if len(text) <= width else text[:width - 1] + "…"


def _source_detail(kind: str, spec: Mapping[str, Any]) -> str:
    if kind == "PingSource":
        text = f"schedule {spec.get('schedule') or '* * * * *'}"
        return text + (f" ({spec['timezone']})" if spec.get("timezone") else "")
    if kind == "ApiServerSource":
        kinds = ", ".join(str(_map(r).get("kind") or "?") for r in spec.get("resources") or ())
        return f"watches {kinds or 'nothing'} ({spec.get('mode') or 'Reference'} mode)"
    if kind == "ContainerSource":
        containers = _map(_map(spec.get("template")).get("spec")).get("containers") or ()
        images = ", ".join(str(_map(c).get("image") or "?") for c in containers)
        return f"image {images}" if images else "ContainerSource"
    subject = _map(spec.get("subject"))
    target = subject.get("name") or json.dumps(_map(subject.get("selector")).get("matchLabels") or {})
    return f"binds {str(subject.get('kind') or '?').lower()} {target}"


def _filter_text(spec: Mapping[str, Any]) -> str:
    filters = spec.get("filters")
    if filters:
        text = json.dumps(filters, separators=(",", ":"), sort_keys=True)
        return "filters " + (text if len(text) <= 80 else text[:79] + "…")
    attributes = _map(_map(spec.get("filter")).get("attributes"))
    if attributes:
        return "filter " + ", ".join(f"{k}={v}" for k, v in sorted(attributes.items()))
    return "all events"
