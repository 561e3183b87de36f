"""`Dashboard`: one Knative Service, live — replicas, load against the autoscaler's target, response codes, the
traffic split configured and observed, recent events. The feed's thread hands it snapshots; `reading` and
`series` turn them into trace data; this module only applies the differences to the widgets."""

from __future__ import annotations

import html
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets  # type: ignore[import-untyped, unused-ignore]

from .fallback import LiveBox
from .feed import Feed, Snapshot, shared_feed
from .reading import EventRow, Reading, read
from .series import SeriesState, Trace, advance, traces

if TYPE_CHECKING:
    import plotly.graph_objects as go  # type: ignore[import-untyped, unused-ignore]

    from jupyter_knative.client import Client

__all__ = ["Dashboard"]

KINDS = ("ksvc", "revisions", "routes", "pods")
_CELLS = {"replicas": (1, 1), "load": (1, 2), "codes": (2, 1), "split": (2, 2)}
# Short enough not to run into each other at notebook width; the legend and line styles say the rest.
_TITLES = ("Replicas: actual vs desired (dashed)",
           "Requests/s; concurrency vs target (dotted)",
           "Responses/s by code class", "Traffic split: configured vs observed (%)")


class Dashboard(LiveBox):
    """A live dashboard of the Service `name`; `close()` stops it (and the feed's threads if it was the last)."""

    def __init__(self, name: str, *, client: Client | None = None, namespace: str | None = None,
                 window: float = 120.0, feed: Feed | None = None) -> None:
        if client is None:
            from jupyter_knative.client import Client

            client = Client.embedded()
        self.service = name
        self.namespace = namespace or client.namespace
        self.figure = _figure()
        self.status = widgets.HTML(value=f"<b>{html.escape(name)}</b> · waiting for the first snapshot…")
        self.events = widgets.HTML(value="")
        super().__init__(children=[self.status, self.figure, self.events])
        self.updates = 0
        """Figure updates sent (one `batch_update` each)."""
        self._state = SeriesState(window=window)
        self._sent: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._feed = feed or shared_feed(client)
        self._subscription = self._feed.subscribe(self._on_snapshot, namespace=self.namespace, kinds=KINDS)

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._subscription.close()
        for child in (self.status, self.figure, self.events):
            child.close()
        super().close()

    @property
    def closed(self) -> bool:
        return self._closed

    def static_html(self) -> str:
        figure = self.figure.to_html(full_html=False, include_plotlyjs="cdn")
        return f"<div>{self.status.value}{figure}{self.events.value}</div>"

    # -- updates (on the feed's thread) ---------------------------------------------------------------------

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        with self._lock:
            if self._closed:
                return
            reading = read(snapshot, self.service)
            self._state = advance(self._state, reading)
            self._apply(traces(self._state, reading))
            _set(self.status, status_html(reading))
            _set(self.events, events_html(reading.events))

    def _apply(self, wanted: Sequence[Trace]) -> None:
        keys = {t.key for t in wanted}
        gone = [k for k in self._sent if k not in keys]
        if gone:
            self.figure.data = tuple(t for t in self.figure.data if t.meta not in gone)
            for key in gone:
                del self._sent[key]
        self._add([t for t in wanted if t.key not in self._sent])
        changed = [t for t in wanted if self._sent[t.key] != (t.x, t.y)]
        if not changed:
            return
        by_key = {t.meta: t for t in self.figure.data}
        with self.figure.batch_update():
            for trace in changed:
                target = by_key[trace.key]
                target.x, target.y = trace.x, trace.y
                self._sent[trace.key] = (trace.x, trace.y)
        self.updates += 1

    def _add(self, new: Sequence[Trace]) -> None:
        """New traces in one message (a revision appeared, or the first snapshot)."""
        if not new:
            return
        import plotly.graph_objects as go  # type: ignore[import-untyped, unused-ignore]

        made = [(go.Bar if t.kind == "bar" else go.Scatter)(meta=t.key, x=list(t.x), y=list(t.y), **t.style)
                for t in new]
        cells = [_CELLS[t.panel] for t in new]
        self.figure.add_traces(made, rows=[r for r, _ in cells], cols=[c for _, c in cells],
                               secondary_ys=[t.secondary for t in new])
        for t in new:
            self._sent[t.key] = (t.x, t.y)


def _set(widget: widgets.HTML, value: str) -> None:
    if widget.value != value:  # every assignment is a message to the browser
        widget.value = value


def _figure() -> go.FigureWidget:
    import plotly.graph_objects as go  # type: ignore[import-untyped, unused-ignore]
    from plotly.subplots import make_subplots  # type: ignore[import-untyped, unused-ignore]

    fig = make_subplots(rows=2, cols=2, subplot_titles=_TITLES, horizontal_spacing=0.1, vertical_spacing=0.14,
                        specs=[[{}, {"secondary_y": True}], [{}, {}]], figure=go.FigureWidget())
    fig.update_layout(height=620, margin={"l": 50, "r": 30, "t": 50, "b": 40}, barmode="group", uirevision="keep",
                      legend={"orientation": "h", "y": -0.08}, font={"size": 11})
    fig.update_annotations(font_size=12)
    for row, col in ((1, 1), (1, 2), (2, 1)):
        fig.update_xaxes(title_text="seconds", row=row, col=col)
    fig.update_yaxes(rangemode="tozero")
    fig.update_yaxes(title_text="replicas", row=1, col=1)
    fig.update_yaxes(title_text="req/s", row=1, col=2)
    fig.update_yaxes(title_text="concurrency", row=1, col=2, secondary_y=True)
    fig.update_yaxes(range=[0, 100], title_text="%", row=2, col=2)
    return fig


# --- text parts (pure) ------------------------------------------------------------------------------------------


def status_html(reading: Reading) -> str:
    name = html.escape(reading.service)
    if not reading.found:
        parts = [f"<b>{name}</b>: no such service (yet)"]
    else:
        label, colour = {"True": ("Ready", "green"), "False": ("not Ready", "firebrick")}.get(
            reading.ready, ("Ready: Unknown", "gray"))
        mark = (f'<span data-ready="{html.escape(reading.ready)}" style="color:{colour};font-weight:bold">'
                f"{label}</span>")
        parts = [f"<b>{name}</b>", mark + (f" ({html.escape(reading.ready_message)})" if reading.ready_message
                                          and reading.ready != "True" else "")]
        if reading.latest:
            parts.append(f"latest {html.escape(reading.latest)}")
        if reading.url:
            parts.append(f"<code>{html.escape(reading.url)}</code>")
    if not reading.metrics:
        parts.append("<i>no request metrics from the server: replicas and split come from the objects alone</i>")
    if reading.error:
        parts.append(f"<span style='color:#b00'>⚠ {html.escape(reading.error)}</span>")
    return " · ".join(parts)


def events_html(rows: Sequence[EventRow]) -> str:
    if not rows:
        return "<div style='color:#777'>No recent events.</div>"
    items = "".join(
        f"<tr><td>{html.escape(r.when)}</td><td style='color:{'#b00' if r.type == 'Warning' else '#333'}'>"
        f"{html.escape(r.type)}</td><td>{html.escape(r.reason)}</td><td>{html.escape(r.object)}</td>"
        f"<td>{html.escape(r.message)}{f' ({r.count} times)' if r.count > 1 else ''}</td></tr>" for r in rows)
    head = "<tr><th>Last seen</th><th>Type</th><th>Reason</th><th>Object</th><th>Message</th></tr>"
    return (f"<details open><summary>Recent events</summary><table style='font-size:90%'>{head}{items}"
            "</table></details>")
