"""A `FlowGraph` as plotly Sankey arrays, the details pane's HTML and the static HTML for nbconvert (pure).

Link values are event counts. Plotly drops links of value 0 and the nodes left without links, so an edge
nobody has used yet gets a floor value (a thin band) and shows the structure; its hover text carries the
real counts. Failures travel as a second, red link beside the edge's own (absent while 0).

Plotly reports a click on a Sankey node or link only as a point number on the trace, the same kind of
number for both. So the node arrays start with one unused entry per link (unused nodes are not drawn):
node i sits at `offset + i`, and a point number below `offset` is a link.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from .flowgraph import Counts, Edge, FlowGraph, Node, edge_hover, event_line, node_hover

__all__ = ["FLOOR_SHARE", "NODE_COLORS", "Pick", "SankeyData", "details_html", "node_text", "sankey_data",
           "static_html"]

FLOOR_SHARE = 0.02
"""An unused edge is drawn as this share of the biggest link (at least 1)."""

NODE_COLORS = {
    "source": "#9467bd", "senders": "#c5b0d5", "broker": "#1f77b4", "channel": "#17becf", "trigger": "#ff7f0e",
    "subscription": "#ff7f0e", "flow": "#8c564b", "step": "#e377c2", "destination": "#2ca02c",
}
_LINK_COLORS = {
    "accept": "rgba(148, 103, 189, 0.35)", "match": "rgba(127, 127, 127, 0.3)", "deliver": "rgba(44, 160, 44, 0.4)",
    "dead_letter": "rgba(255, 127, 14, 0.5)", "reply": "rgba(31, 119, 180, 0.3)",
}
FAILED_COLOR = "rgba(214, 39, 40, 0.6)"
UNUSED_COLOR = "rgba(200, 200, 200, 0.25)"


@dataclass(frozen=True)
class Pick:
    """What a point number of the trace names: a node or an edge (by index in the graph)."""

    node: int | None = None
    edge: int | None = None


@dataclass(frozen=True)
class SankeyData:
    node_label: tuple[str, ...]
    node_color: tuple[str, ...]
    node_hover: tuple[str, ...]
    link_source: tuple[int, ...]
    link_target: tuple[int, ...]
    link_value: tuple[float, ...]
    link_color: tuple[str, ...]
    link_hover: tuple[str, ...]
    link_edge: tuple[int, ...]
    """The graph edge each link draws."""
    offset: int

    @property
    def structure(self) -> tuple[object, ...]:
        """What decides the layout: when equal, only values, colours and texts changed."""
        return self.offset, len(self.node_label), self.link_source, self.link_target, self.link_edge

    def pick(self, point: int) -> Pick:
        if point >= self.offset:
            index = point - self.offset
            return Pick(node=index) if index < len(self.node_label) - self.offset else Pick()
        return Pick(edge=self.link_edge[point]) if 0 <= point < len(self.link_edge) else Pick()


def node_text(node: Node) -> str:
    """The label drawn beside a node: its name, and for the delivering ones their counts."""
    c = node.counts
    if c is None:
        return node.label
    extra = "".join(f", {n} {word}" for n, word in ((c.retried, "retried"), (c.failed, "failed"),
                                                    (c.dead_lettered, "dead-lettered")) if n)
    return f"{node.label} ({c.delivered} ok{extra})"


def _main_value(edge: Edge) -> int:
    c = edge.counts or Counts()
    if edge.role == "match":
        return c.handled
    if edge.role == "dead_letter":
        return c.dead_lettered
    return c.delivered


def sankey_data(graph: FlowGraph) -> SankeyData:
    index = {node.id: i for i, node in enumerate(graph.nodes)}
    links: list[tuple[int, int, int, str, int, str]] = []  # source, target, count, colour, edge, hover
    for e, edge in enumerate(graph.edges):
        hover = edge_hover(graph, edge)
        main = _main_value(edge)
        links.append((index[edge.source], index[edge.target], main,
                      _LINK_COLORS[edge.role] if main else UNUSED_COLOR, e, hover))
        if edge.role in ("accept", "deliver"):
            links.append((index[edge.source], index[edge.target], edge.counts.failed if edge.counts else 0,
                          FAILED_COLOR, e, hover))
    biggest = max((link[2] for link in links), default=0)
    floor = max(1.0, FLOOR_SHARE * biggest)
    offset = len(links)
    values = [float(count) if count or color == FAILED_COLOR else floor for _, _, count, color, _, _ in links]
    pad = ("",) * offset
    return SankeyData(
        node_label=pad + tuple(node_text(n) for n in graph.nodes),
        node_color=("rgba(0,0,0,0)",) * offset + tuple(NODE_COLORS.get(n.kind, "#7f7f7f") for n in graph.nodes),
        node_hover=pad + tuple(node_hover(graph, n) for n in graph.nodes),
        link_source=tuple(offset + link[0] for link in links),
        link_target=tuple(offset + link[1] for link in links),
        link_value=tuple(values),
        link_color=tuple(link[3] for link in links),
        link_hover=tuple(link[5] for link in links),
        link_edge=tuple(link[4] for link in links),
        offset=offset,
    )


# --- HTML --------------------------------------------------------------------------------------------------------

_EVENT_COLUMNS = ("at", "type", "id", "subject", "source", "outcome", "response_code", "attempts")


def details_html(graph: FlowGraph, pick: Pick) -> str:
    """The details pane for a picked node or edge: what it is, its counts, its last events (newest first)."""
    if pick.node is not None and pick.node < len(graph.nodes):
        node = graph.nodes[pick.node]
        head, recent = node_hover(graph, _without_events(node)), node.recent
    elif pick.edge is not None and pick.edge < len(graph.edges):
        edge = graph.edges[pick.edge]
        head, recent = edge_hover(graph, _edge_without_events(edge)), edge.recent
    else:
        return "<i>Click a node or a link to see its last events.</i>"
    parts = [f"<div>{head}</div>"]
    if recent:
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(item.get(col)))}</td>" for col in _EVENT_COLUMNS)
                       + "</tr>" for item in reversed(recent))
        header = "".join(f"<th>{col.replace('_', ' ')}</th>" for col in _EVENT_COLUMNS)
        parts.append(f"<table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>")
    else:
        parts.append("<i>no recent events recorded here</i>")
    return "".join(parts)


def _without_events(node: Node) -> Node:
    return Node(node.id, node.kind, node.label, node.detail, node.counts, (), node.problem)


def _edge_without_events(edge: Edge) -> Edge:
    return Edge(edge.source, edge.target, edge.role, edge.counts, edge.note, ())


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def static_html(graph: FlowGraph, recent_per_edge: int = 3) -> str:
    """The whole flow as an HTML table, for outputs where the widget cannot run (nbconvert, a saved notebook)."""
    title = f"<b>Event flow in namespace {html.escape(graph.namespace)}</b>"
    if not graph.edges:
        return f"<div>{title}: no sources, brokers, channels, triggers or subscriptions.</div>"
    rows = []
    for edge in graph.edges:
        c = edge.counts
        cells: Sequence[str] = (
            graph.node(edge.source).label, graph.node(edge.target).label, edge.role.replace("_", " "),
            *((str(c.delivered), str(c.retried), str(c.failed), str(c.dead_lettered)) if c else ("—",) * 4),
            "; ".join(([edge.note] if edge.note else []) + [event_line(r) for r in edge.recent[-recent_per_edge:]]))
        rows.append("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>")
    header = "".join(f"<th>{h}</th>" for h in ("from", "to", "path", "delivered", "retried", "failed",
                                                 "dead-lettered", "notes and last events"))
    note = "" if graph.counted else "<div><i>No eventing metrics on this backend: structure only.</i></div>"
    return (f"<div>{title}{note}<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody>"
            "</table></div>")
