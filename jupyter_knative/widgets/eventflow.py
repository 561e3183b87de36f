"""`EventFlow`: the namespace's event flow as a live plotly Sankey (sources → brokers/channels →
triggers/subscriptions → subscribers), with a details pane for the clicked node or link.

Counts come from the shared `Feed` (watches of the eventing kinds + the plane's metrics); the last deliveries
from the plane's `GET /debug/eventing/recent`, asked only when the delivery counters moved (so at most once
per feed interval). A server without that endpoint (any real cluster) simply gives no last events.
Clicking a node or link in the figure fills the details pane (plotly reports Sankey clicks to FigureWidget
callbacks); hovering shows the same counts and last events in the figure's own hover label.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets  # type: ignore[import-untyped, unused-ignore]

from .fallback import LiveBox
from .feed import Feed, Metrics, Snapshot, shared_feed
from .flowgraph import DELIVERY_TOTAL, KINDS, FlowGraph, build_graph
from .flowsankey import Pick, SankeyData, details_html, sankey_data, static_html

if TYPE_CHECKING:
    import plotly.graph_objects as go  # type: ignore[import-untyped, unused-ignore]

    from jupyter_knative.client import Client

__all__ = ["RECENT_PATH", "EventFlow"]

RECENT_PATH = "/debug/eventing/recent"
RECENT_MIN_GAP = 0.4
"""Seconds between two asks for the recent deliveries (the feed calls back at most every 0.45 s)."""
RECENT_TIMEOUT = 2.0
_ABSENT_CODES = (401, 403, 404, 405, 406)
Selection = tuple[str, str]
"""("node", node id) or ("edge", "source|target|role")."""


class EventFlow(LiveBox):
    """A live Sankey of the namespace's eventing objects; `close()` stops it."""

    def __init__(self, *, client: Client | None = None, namespace: str | None = None,
                 feed: Feed | None = None) -> None:
        if client is None:
            from jupyter_knative.client import Client

            client = Client.embedded()
        self.client = client
        self.namespace = namespace or client.namespace
        self.graph = build_graph(self.namespace, {})
        self.figure = _figure()
        self.status = widgets.HTML(value=f"<b>Event flow</b> · {html.escape(self.namespace)} · waiting…")
        self.details = widgets.HTML(value=details_html(self.graph, Pick()))
        super().__init__(children=[self.status, self.figure, self.details])
        self.updates = 0
        """Figure updates sent (one `batch_update` each)."""
        self.recent_fetches = 0
        self.recent_available: bool | None = None
        """Whether the server has the recent-deliveries endpoint (None until asked)."""
        self._data: SankeyData | None = None
        self._selected: Selection | None = None
        self._recent: list[dict[str, Any]] = []
        self._recent_key: object = None
        self._recent_at = float("-inf")
        self._snapshot: Snapshot | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.RLock()
        self._closed = False
        self.figure.data[0].on_click(self._on_click)
        self._feed = feed or shared_feed(client)
        self._subscription = self._feed.subscribe(self._on_snapshot, namespace=self.namespace, kinds=KINDS)

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self._subscription.close()
        for child in (self.status, self.figure, self.details):
            child.close()
        super().close()

    @property
    def closed(self) -> bool:
        return self._closed

    def static_html(self) -> str:
        with self._lock:
            return static_html(self.graph)

    # -- selection ---------------------------------------------------------------------------------------------

    def select(self, pick: Pick) -> None:
        """Show `pick`'s details (what a click on the figure does)."""
        with self._lock:
            graph = self.graph
            if pick.node is not None and pick.node < len(graph.nodes):
                self._selected = ("node", graph.nodes[pick.node].id)
            elif pick.edge is not None and pick.edge < len(graph.edges):
                edge = graph.edges[pick.edge]
                self._selected = ("edge", f"{edge.source}|{edge.target}|{edge.role}")
            else:
                self._selected = None
            _set(self.details, details_html(graph, self._pick(graph)))

    def _on_click(self, trace: Any, points: Any, state: Any) -> None:
        with self._lock:
            data = self._data
        if data is not None and points.point_inds:
            self.select(data.pick(int(points.point_inds[0])))

    def _pick(self, graph: FlowGraph) -> Pick:
        if self._selected is None:
            return Pick()
        what, key = self._selected
        if what == "node":
            return next((Pick(node=i) for i, n in enumerate(graph.nodes) if n.id == key), Pick())
        return next((Pick(edge=i) for i, e in enumerate(graph.edges) if f"{e.source}|{e.target}|{e.role}" == key),
                    Pick())

    # -- updates (on the feed's thread) ------------------------------------------------------------------------

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        with self._lock:
            if self._closed:
                return
            self._snapshot = snapshot
            self._update(snapshot)

    def _deferred(self) -> None:
        """The recent deliveries were due but asked too soon after the last time: ask now, redraw."""
        with self._lock:
            self._timer = None
            if not self._closed and self._snapshot is not None:
                self._update(self._snapshot)

    def _update(self, snapshot: Snapshot) -> None:
        with self._lock:
            recent = self._recent_for(snapshot.metrics)
            graph = build_graph(self.namespace, snapshot.objects, snapshot.metrics, recent)
            self._apply(sankey_data(graph))
            self.graph = graph
            _set(self.status, status_html(graph, snapshot.error, self.recent_available,
                                          absent=snapshot.absent & frozenset(KINDS)))
            _set(self.details, details_html(graph, self._pick(graph)))

    def _recent_for(self, metrics: Metrics) -> list[dict[str, Any]]:
        """The recent deliveries, asked again only when the delivery counters moved."""
        if self.recent_available is False:
            return []
        key = tuple(sorted((tuple(sorted(s.labels.items())), s.value) for s in metrics.get(DELIVERY_TOTAL, ())))
        now = time.monotonic()
        if key == self._recent_key:
            return self._recent
        if now - self._recent_at < RECENT_MIN_GAP:
            if self._timer is None:  # the feed may not call again (nothing else changes): come back ourselves
                self._timer = threading.Timer(RECENT_MIN_GAP - (now - self._recent_at), self._deferred)
                self._timer.name, self._timer.daemon = "knative-eventflow-recent", True
                self._timer.start()
            return self._recent
        from jupyter_knative.client import KnativeError

        self._recent_at = now
        self.recent_fetches += 1
        try:
            answer = self.client._conn.request("GET", RECENT_PATH, query=[("namespace", self.namespace)],
                                               timeout=RECENT_TIMEOUT)
        except KnativeError as e:
            if e.code in _ABSENT_CODES:
                self.recent_available, self._recent = False, []
            return self._recent
        items = answer.get("items") if isinstance(answer, dict) else None
        self._recent = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
        self.recent_available, self._recent_key = True, key
        return self._recent

    def _apply(self, data: SankeyData) -> None:
        old = self._data
        if old == data:
            return
        trace = self.figure.data[0]
        fresh = old is None or old.structure != data.structure
        with self.figure.batch_update():
            for prop, value, before in _fields(data, old):
                if fresh or value != before:
                    trace[prop] = list(value)
        self._data = data
        self.updates += 1


def _fields(data: SankeyData, old: SankeyData | None) -> list[tuple[str, Sequence[Any], Sequence[Any] | None]]:
    pairs = (("node.label", "node_label"), ("node.color", "node_color"), ("node.customdata", "node_hover"),
             ("link.source", "link_source"), ("link.target", "link_target"), ("link.value", "link_value"),
             ("link.color", "link_color"), ("link.customdata", "link_hover"))
    return [(prop, getattr(data, attr), getattr(old, attr) if old is not None else None) for prop, attr in pairs]


def status_html(graph: FlowGraph, error: str | None, recent: bool | None,
                absent: frozenset[str] = frozenset()) -> str:
    """The line above the figure; `absent`: the eventing kinds the server does not serve."""
    parts = [f"<b>Event flow</b> · namespace {html.escape(graph.namespace)}"]
    if absent >= frozenset(KINDS):
        parts.append("Knative Eventing is not installed on this server: nothing to show")
        if error:
            parts.append(f"<span style='color:#b00'>{html.escape(error)}</span>")
        return " · ".join(parts)
    kinds: dict[str, int] = {}
    for node in graph.nodes:
        kinds[node.kind] = kinds.get(node.kind, 0) + 1
    shown = [f"{kinds[k]} {word}" for k, word in (("source", "sources"), ("broker", "brokers"),
                                                  ("channel", "channels"), ("trigger", "triggers"),
                                                  ("subscription", "subscriptions"), ("flow", "flows")) if kinds.get(k)]
    parts.append(", ".join(shown) if shown else "no sources, brokers, channels, triggers or subscriptions yet")
    if absent:
        parts.append("not served here: " + ", ".join(k for k in KINDS if k in absent))
    if not graph.counted:
        parts.append("no eventing metrics on this backend: structure only")
    elif recent is False:
        parts.append("last events are not available from this server")
    if error:
        parts.append(f"<span style='color:#b00'>{html.escape(error)}</span>")
    return " · ".join(parts)


def _set(widget: widgets.HTML, value: str) -> None:
    if widget.value != value:  # every assignment is a message to the browser
        widget.value = value


def _figure() -> go.FigureWidget:
    import plotly.graph_objects as go  # type: ignore[import-untyped, unused-ignore]

    sankey = go.Sankey(
        arrangement="snap", valueformat="d",
        node={"pad": 18, "thickness": 16, "line": {"width": 0.5, "color": "#444"}, "label": [], "color": [],
              "customdata": [], "hovertemplate": "%{customdata}<extra></extra>"},
        link={"source": [], "target": [], "value": [], "color": [], "customdata": [],
              "hovertemplate": "%{customdata}<extra></extra>"})
    return go.FigureWidget(data=[sankey], layout={"height": 460, "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
                                                  "font": {"size": 12}})

