"""The dashboard's time series, pure: (previous `SeriesState`, `Reading`) → next state, and state → the data of
every trace. Times are the readings' own (`Snapshot.at`), so tests pass explicit ones.

Rates are counter deltas between consecutive readings divided by the time between them; a counter that went
down (the plane restarted) counts from zero. The observed split is each revision's share of the requests of
the last `SPLIT_WINDOW` seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .reading import CODE_CLASSES, Reading, RevisionReading

__all__ = ["PALETTE", "SPLIT_WINDOW", "SeriesState", "Trace", "advance", "observed_split", "traces"]

SPLIT_WINDOW = 10.0
PALETTE = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880", "#ff97ff",
           "#fecb52")
CODE_COLORS = {"2xx": "#2ca02c", "3xx": "#1f77b4", "4xx": "#ff7f0e", "5xx": "#d62728"}
PANELS = ("replicas", "load", "codes", "split")
_PER_REVISION = ("actual", "desired", "rps", "concurrency", "target", "panic")

Point = tuple[float, float | None]
Totals = Mapping[str, float]


@dataclass(frozen=True)
class SeriesState:
    window: float = 120.0
    """Seconds of history kept."""
    t0: float | None = None
    """The first reading's time: x = at - t0."""
    last_at: float | None = None
    series: Mapping[str, tuple[Point, ...]] = field(default_factory=dict)
    """`metric:revision` or `codes:2xx` → points."""
    counters: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """The previous reading's request counters, revision → class → count."""
    history: tuple[tuple[float, Totals], ...] = ()
    """(at, requests per revision) covering the last SPLIT_WINDOW seconds."""
    colors: Mapping[str, str] = field(default_factory=dict)
    """A colour per revision, kept for as long as it is shown."""
    next_color: int = 0
    revisions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Trace:
    key: str
    """Stable identity (kept in the plotly trace's `meta`: FigureWidget assigns `uid`s of its own)."""
    panel: str
    kind: str
    """"scatter" or "bar"."""
    x: tuple[Any, ...]
    y: tuple[float | None, ...]
    style: Mapping[str, Any]
    """Everything else plotly needs (name, mode, line, …); fixed for the trace's life."""
    secondary: bool = False


# --- advancing ------------------------------------------------------------------------------------------------


def advance(state: SeriesState, reading: Reading) -> SeriesState:
    t0 = reading.at if state.t0 is None else state.t0
    t = round(reading.at - t0, 2)
    dt = None if state.last_at is None else reading.at - state.last_at
    series = {k: v for k, v in state.series.items() if _revision_of_key(k) in (None, *reading.revisions)}
    for name, rev in reading.revisions.items():
        for metric, value in _revision_values(rev, state.counters.get(name), dt).items():
            _append(series, f"{metric}:{name}", t, value)
    for cls, value in _class_rates(reading, state.counters, dt).items():
        _append(series, f"codes:{cls}", t, value)
    horizon = t - state.window
    series = {k: trimmed for k, v in series.items() if (trimmed := tuple(p for p in v if p[0] >= horizon))}
    colors, next_color = _colors(state, tuple(reading.revisions))
    return replace(state, t0=t0, last_at=reading.at, series=series, counters=_counters(reading),
                   history=_history(state.history, reading), colors=colors, next_color=next_color,
                   revisions=tuple(reading.revisions))


def _revision_of_key(key: str) -> str | None:
    metric, _, rest = key.partition(":")
    return rest if metric in _PER_REVISION else None


def _append(series: dict[str, tuple[Point, ...]], key: str, t: float, value: float | None) -> None:
    points = series.get(key, ())
    if value is None and not points:
        return  # nothing known yet: no gap either
    series[key] = (*points, (t, None if value is None else round(value, 3)))


def _revision_values(rev: RevisionReading, previous: Mapping[str, float] | None,
                     dt: float | None) -> dict[str, float | None]:
    per_replica = None if rev.concurrency is None else rev.concurrency / max(rev.actual or 0.0, 1.0)
    rps = None
    if previous is not None and dt and rev.requests:
        rps = sum(_delta(rev.requests.get(c, 0.0), previous.get(c, 0.0)) for c in CODE_CLASSES) / dt
    return {"actual": rev.actual, "desired": rev.desired, "rps": rps, "concurrency": per_replica,
            "target": rev.target, "panic": per_replica if rev.panic else None}


def _delta(now: float, before: float) -> float:
    return now - before if now >= before else now  # a counter that went down started again from zero


def _class_rates(reading: Reading, previous: Mapping[str, Mapping[str, float]],
                 dt: float | None) -> dict[str, float | None]:
    if not dt or not reading.metrics:
        return dict.fromkeys(CODE_CLASSES)
    seen = [(rev.requests, previous[name]) for name, rev in reading.revisions.items() if name in previous]
    if not seen:
        return dict.fromkeys(CODE_CLASSES)
    return {c: sum(_delta(now.get(c, 0.0), before.get(c, 0.0)) for now, before in seen) / dt for c in CODE_CLASSES}


def _counters(reading: Reading) -> dict[str, Mapping[str, float]]:
    return {name: rev.requests for name, rev in reading.revisions.items() if rev.requests}


def _history(history: tuple[tuple[float, Totals], ...], reading: Reading) -> tuple[tuple[float, Totals], ...]:
    totals = {name: sum(rev.requests.values()) for name, rev in reading.revisions.items() if rev.requests}
    entries = (*history, (reading.at, totals))
    start = reading.at - SPLIT_WINDOW
    older = [i for i, (at, _) in enumerate(entries) if at < start]
    return entries[older[-1]:] if older else entries  # keep one entry at or before the window's start


def _colors(state: SeriesState, revisions: tuple[str, ...]) -> tuple[dict[str, str], int]:
    colors = {name: c for name, c in state.colors.items() if name in revisions}
    next_color = state.next_color
    for name in revisions:
        if name not in colors:
            colors[name] = PALETTE[next_color % len(PALETTE)]
            next_color += 1
    return colors, next_color


def observed_split(history: tuple[tuple[float, Totals], ...]) -> dict[str, float]:
    """Each revision's percent of the requests between the oldest and the newest entry ({} when none)."""
    if len(history) < 2:
        return {}
    (_, first), (_, last) = history[0], history[-1]
    deltas = {name: _delta(total, first.get(name, 0.0)) for name, total in last.items()}
    total = sum(deltas.values())
    return {name: round(100.0 * d / total, 1) for name, d in deltas.items()} if total > 0 else {}


# --- traces ---------------------------------------------------------------------------------------------------


def traces(state: SeriesState, reading: Reading) -> list[Trace]:
    """Every trace of the figure, in order: per revision (replicas, load), then codes, then the split."""
    out: list[Trace] = []
    for name in state.revisions:
        out += _revision_traces(state, name)
    out += [_line(state, f"codes:{c}", "codes", name=c, color=CODE_COLORS[c], legendgroup="codes")
            for c in CODE_CLASSES]
    return out + _split_traces(state, reading)


def _revision_traces(state: SeriesState, name: str) -> list[Trace]:
    c = state.colors.get(name, PALETTE[0])
    return [
        _line(state, f"actual:{name}", "replicas", name=name, color=c, legendgroup=name, showlegend=True,
              hover="actual replicas"),
        _line(state, f"desired:{name}", "replicas", name=name, color=c, legendgroup=name, dash="dash",
              hover="desired replicas"),
        _line(state, f"rps:{name}", "load", name=name, color=c, legendgroup=name, hover="requests/s"),
        _line(state, f"concurrency:{name}", "load", name=name, color=c, legendgroup=name, dash="dot", secondary=True,
              hover="concurrency per replica"),
        _line(state, f"target:{name}", "load", name=name, color=c, legendgroup=name, dash="dashdot", secondary=True,
              hover="target per replica", width=1),
        _panic(state, name, c),
    ]


def _points(state: SeriesState, key: str) -> tuple[tuple[float, ...], tuple[float | None, ...]]:
    points = state.series.get(key, ())
    return tuple(p[0] for p in points), tuple(p[1] for p in points)


def _line(state: SeriesState, key: str, panel: str, *, name: str, color: str, legendgroup: str,
          dash: str = "solid", showlegend: bool | None = None, secondary: bool = False, hover: str = "",
          width: float = 2) -> Trace:
    x, y = _points(state, key)
    style = {"name": name, "mode": "lines", "legendgroup": legendgroup,
             "showlegend": panel == "codes" if showlegend is None else showlegend,
             "line": {"color": color, "dash": dash, "width": width},
             "hovertemplate": f"{name} {hover}: %{{y}}<extra></extra>" if hover else None}
    return Trace(key, panel, "scatter", x, y, {k: v for k, v in style.items() if v is not None}, secondary)


def _panic(state: SeriesState, name: str, color: str) -> Trace:
    x, y = _points(state, f"panic:{name}")
    style = {"name": f"{name} panic", "mode": "markers", "legendgroup": name, "showlegend": False,
             "marker": {"symbol": "x", "size": 9, "color": "#d62728", "line": {"color": color, "width": 1}},
             "hovertemplate": f"{name} in panic mode<extra></extra>"}
    return Trace(f"panic:{name}", "load", "scatter", x, y, style, secondary=True)


def _split_traces(state: SeriesState, reading: Reading) -> list[Trace]:
    names = tuple(state.revisions)
    observed = observed_split(state.history)
    configured = tuple(round(reading.configured.get(n, 0.0), 1) for n in names)
    seen = tuple(observed.get(n, 0.0) if observed else None for n in names)
    return [
        Trace("split:configured", "split", "bar", names, configured,
              {"name": "configured %", "marker": {"color": "#9aa5b1"}, "legendgroup": "split"}),
        Trace("split:observed", "split", "bar", names, seen,
              {"name": f"observed % (last {SPLIT_WINDOW:g}s)", "marker": {"color": "#2f4b7c"},
               "legendgroup": "split"}),
    ]
