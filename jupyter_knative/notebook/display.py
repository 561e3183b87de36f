"""How the magics' results look: HTML tables in a notebook, kubectl-like text in a terminal.

Each result is a plain Python value (a dict, a list of dicts, a str) of a subclass that knows how to
render itself, so `svc = %knative get ksvc hello` gives the user a dict while the same line on its own
shows a table. The client's own results (`Table`, `Deployment`, `Response`, `LoadSummary`) render
themselves; what is here covers the rest.

`Progress` is the one-line status of work that takes more than a second, updated in place.
"""

from __future__ import annotations

import html
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

__all__ = [
    "PROGRESS_DELAY",
    "EventList",
    "Progress",
    "Record",
    "Resource",
    "Resources",
    "ServiceView",
    "Status",
    "Text",
    "conditions_summary",
    "html_table",
    "run_with_progress",
    "text_formatters",
    "text_table",
]

PROGRESS_DELAY = 1.0
"""Seconds of work before a progress line appears: quicker work shows only its result."""

T = TypeVar("T")


class _Pretty(Protocol):
    def text(self, text: str) -> Any: ...


class _Rendered(Protocol):
    """The client's `Table`: text by `str`, HTML by `_repr_html_`."""

    def _repr_html_(self) -> str: ...


# --- tables ------------------------------------------------------------------------------------------


def text_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """kubectl's layout: upper-case headers, columns three spaces apart, no trailing blanks."""
    cells = [[c.upper() for c in columns], *([_cell(v) for v in row] for row in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    return "\n".join("   ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells)


def html_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], caption: str | None = None) -> str:
    head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{_html_cell(v)}</td>" for v in row) + "</tr>"
                   for row in rows)
    cap = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return f"<table class='knative'>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    return "<none>" if value is None or value == "" else str(value)


def _html_cell(value: Any) -> str:
    text = _cell(value)
    if text.startswith(("http://", "https://")):
        return f"<a href='{html.escape(text)}' target='_blank'>{html.escape(text)}</a>"
    return html.escape(text)


# --- values that render themselves -------------------------------------------------------------------


class Text(str):
    """Text shown as it is (YAML, logs, describe output), not as a quoted repr."""

    def _repr_pretty_(self, p: _Pretty, cycle: bool) -> None:
        p.text(str(self))


class Resources(list[dict[str, Any]]):
    """The objects `get KIND` found, shown as the server's table."""

    def __init__(self, items: Iterable[dict[str, Any]], table: _Rendered | None = None) -> None:
        super().__init__(items)
        self.table = table

    def _repr_html_(self) -> str:
        return self.table._repr_html_() if self.table is not None else html_table(*_fallback(self))

    def _repr_pretty_(self, p: _Pretty, cycle: bool) -> None:
        p.text(str(self.table) if self.table is not None else text_table(*_fallback(self)))


class Resource(dict[str, Any]):
    """One object `get KIND NAME` found, shown as the server's one-row table."""

    def __init__(self, obj: Mapping[str, Any], table: _Rendered | None = None) -> None:
        super().__init__(obj)
        self.table = table

    def _repr_html_(self) -> str:
        return self.table._repr_html_() if self.table is not None else html_table(*_fallback([self]))

    def _repr_pretty_(self, p: _Pretty, cycle: bool) -> None:
        p.text(str(self.table) if self.table is not None else text_table(*_fallback([self])))


def _fallback(objs: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    rows = [[o.get("kind"), o.get("metadata", {}).get("name"), o.get("metadata", {}).get("namespace")]
            for o in objs]
    return ["kind", "name", "namespace"], rows


class Record(dict[str, Any]):
    """A flat mapping (status, backend) as a two-column table."""

    def __init__(self, data: Mapping[str, Any], title: str | None = None) -> None:
        super().__init__(data)
        self.title = title

    def _rows(self) -> list[list[Any]]:
        return [[k, v] for k, v in self.items()]

    def _repr_html_(self) -> str:
        return html_table(["", ""], self._rows(), caption=self.title)

    def _repr_pretty_(self, p: _Pretty, cycle: bool) -> None:
        width = max((len(k) for k in self), default=0)
        lines = [f"{k + ':':<{width + 1}} {_cell(v)}" for k, v in self.items()]
        p.text("\n".join(([self.title] if self.title else []) + lines))


class ServiceView(dict[str, Any]):
    """A Knative Service after a change (traffic, scale, wait): its URL, revisions and traffic."""

    def headline(self) -> str:
        meta, status = self.get("metadata", {}), self.get("status", {})
        ready = _condition(self, "Ready")
        state = "Ready" if ready.get("status") == "True" else f"not ready ({ready.get('reason') or 'Unknown'})"
        return (f"Service '{meta.get('name')}' in namespace '{meta.get('namespace')}': {state}, "
                f"latest ready revision '{status.get('latestReadyRevisionName')}' at {status.get('url')}")

    def traffic_rows(self) -> list[list[Any]]:
        targets = self.get("status", {}).get("traffic") or self.get("spec", {}).get("traffic") or []
        return [[f"{t.get('percent', 0)}%",
                 (t.get("revisionName") or "") + (" (@latest)" if t.get("latestRevision") else ""),
                 t.get("tag"), t.get("url")] for t in targets]

    def _repr_html_(self) -> str:
        return (f"<div>{html.escape(self.headline())}</div>"
                + html_table(["traffic", "revision", "tag", "url"], self.traffic_rows()))

    def _repr_pretty_(self, p: _Pretty, cycle: bool) -> None:
        p.text(self.headline() + "\n" + text_table(["traffic", "revision", "tag", "url"], self.traffic_rows()))


class EventList(list[dict[str, Any]]):
    """Core Events, newest last, as `kubectl get events` shows them."""

    COLUMNS = ("last seen", "type", "reason", "object", "message")

    def rows(self) -> list[list[Any]]:
        return [[e.get("lastTimestamp") or e.get("eventTime") or e.get("metadata", {}).get("creationTimestamp"),
                 e.get("type"), e.get("reason"),
                 f"{e.get('involvedObject', {}).get('kind', '').lower()}/{e.get('involvedObject', {}).get('name')}",
                 e.get("message")] for e in self]

    def _repr_html_(self) -> str:
        return html_table(self.COLUMNS, self.rows())

    def _repr_pretty_(self, p: _Pretty, cycle: bool) -> None:
        p.text(text_table(self.COLUMNS, self.rows()) if self else "No events found.")


def _condition(obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
    for c in obj.get("status", {}).get("conditions") or []:
        if c.get("type") == kind:
            return dict(c)
    return {}


def conditions_summary(obj: Mapping[str, Any]) -> str:
    """`Ready=Unknown (RevisionMissing: ...)`: each condition, and why the first not-True one is so."""
    conditions = obj.get("status", {}).get("conditions") or []
    if not conditions:
        return "waiting for the first status"
    parts = [f"{c.get('type')}={c.get('status')}" for c in conditions]
    pending = next((c for c in conditions if c.get("status") != "True"), None)
    why = f" ({pending.get('reason')}: {pending.get('message')})" if pending and pending.get("reason") else ""
    return ", ".join(parts) + why


# --- the client's results as text -------------------------------------------------------------------


def text_formatters() -> list[tuple[type, Callable[[Any, _Pretty, bool], None]]]:
    """Plain-text printers for the client's results whose `str` is the kn/kubectl text but whose `repr`
    is not (a dataclass's fields, a list of dicts), for a shell's `text/plain` formatter."""
    from jupyter_knative.client import Applied, Deployment, LoadSummary, Table

    def as_str(obj: Any, p: _Pretty, cycle: bool) -> None:
        p.text(str(obj))

    return [(cls, as_str) for cls in (Applied, Deployment, LoadSummary, Table)]


# --- progress ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """One state of a progress line: its text, and how far along (0..1) when that is known."""

    text: str
    fraction: float | None = None

    def __repr__(self) -> str:
        if self.fraction is None:
            return self.text
        done = round(max(0.0, min(1.0, self.fraction)) * 20)
        return f"[{'#' * done}{'.' * (20 - done)}] {self.text}"

    def _repr_html_(self) -> str:
        bar = (f"<progress value='{max(0.0, min(1.0, self.fraction)):.3f}' max='1' style='width:12em'></progress> "
               if self.fraction is not None else "")
        return f"<div class='knative-progress'>{bar}<code>{html.escape(self.text)}</code></div>"


class _Handle(Protocol):
    def update(self, obj: Any) -> None: ...


def _display_handle(obj: Any) -> _Handle:
    from IPython.display import display

    handle: _Handle = display(obj, display_id=True)  # type: ignore[no-untyped-call]
    return handle


class Progress:
    """A progress line that appears once work has taken `delay` seconds, then updates in place."""

    def __init__(self, title: str, *, delay: float = PROGRESS_DELAY, clock: Callable[[], float] = time.monotonic,
                 show: Callable[[Any], _Handle] = _display_handle) -> None:
        self.title = title
        self.delay = delay
        self.clock = clock
        self.started = clock()
        self._show = show
        self._handle: _Handle | None = None
        self._latest = Status(f"{title}: started")

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    @property
    def shown(self) -> bool:
        return self._handle is not None

    def update(self, status: Status | str) -> None:
        self._latest = status if isinstance(status, Status) else Status(f"{self.title}: {status.strip()}")
        self.tick()

    def tick(self) -> None:
        """Show (or refresh) the line if the work has run long enough."""
        if self._handle is None:
            if self.elapsed >= self.delay:
                self._handle = self._show(self._latest)
        else:
            self._handle.update(self._latest)

    def finish(self, text: str) -> None:
        """The final state, written over the line if it was shown."""
        if self._handle is not None:
            done = 1.0 if self._latest.fraction is not None else None  # a bar stays, full
            self._handle.update(Status(f"{self.title}: {text} ({self.elapsed:.1f} s)", done))


def run_with_progress(work: Callable[[Callable[[Any], None]], T], progress: Progress,
                      render: Callable[[Any], Status | str] = str, *, poll: float = 0.1,
                      on_interrupt: Callable[[], bool] | None = None) -> T:
    """Run `work(report)` in a worker thread while this thread draws `progress`.

    `report` may be called from any thread: the display is only touched from the calling one, so
    output lands in the cell that asked. On Ctrl-C, `on_interrupt()` decides: True means the work was
    told to stop and its result is still awaited, False (or no handler) re-raises at once.
    """
    reports: queue.SimpleQueue[Any] = queue.SimpleQueue()
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(work(reports.put))
        except BaseException as e:
            failure.append(e)

    worker = threading.Thread(target=target, name=f"knative-{progress.title}", daemon=True)
    worker.start()
    while worker.is_alive():
        try:
            worker.join(poll)
        except KeyboardInterrupt:
            if on_interrupt is None or not on_interrupt():
                raise
        _drain(reports, progress, render)
    _drain(reports, progress, render)
    if failure:
        raise failure[0]
    return outcome[0]


def _drain(reports: queue.SimpleQueue[Any], progress: Progress, render: Callable[[Any], Status | str]) -> None:
    latest: Any = None
    got = False
    while not reports.empty():
        latest, got = reports.get_nowait(), True
    if got:
        progress.update(render(latest))
    else:
        progress.tick()
