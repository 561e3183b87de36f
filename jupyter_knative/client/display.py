"""Rendering for notebooks and terminals (pure): HTML (every value escaped) and kubectl/kn/hey-like text for
the client's results (`Table`, `Applied`, `Deployment`, `Response`, `LoadSummary`)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .http import Response
    from .load import LoadSummary
    from .objects import Table
    from .serving import Deployment

__all__ = [
    "cell_text",
    "deployment_html",
    "deployment_text",
    "html_table",
    "kv_html",
    "load_summary_html",
    "load_summary_text",
    "pre_html",
    "response_html",
    "table_html",
    "table_text",
    "text_table",
]

_TABLE_STYLE = "border-collapse:collapse;font-family:var(--jp-code-font-family,monospace);font-size:12px"
_CELL_STYLE = "padding:2px 10px;text-align:left;border-bottom:1px solid var(--jp-border-color2,#ddd)"


def cell_text(value: Any) -> str:
    """One table cell as kubectl prints it: nothing for null, lists comma-joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (list, tuple)):
        return ",".join(cell_text(v) for v in value)
    return str(value)


def text_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, gap: int = 3, upper: bool = True) -> str:
    """Columns padded to the widest cell, headers upper-cased, as `kubectl get` prints."""
    header = [c.upper() if upper else c for c in columns]
    body = [[cell_text(v) for v in row] for row in rows]
    widths = [max([len(header[i]), *(len(r[i]) for r in body if i < len(r))]) for i in range(len(header))]
    lines = []
    for cells in (header, *body):
        padded = [cells[i].ljust(widths[i]) if i < len(cells) else "" for i in range(len(widths))]
        lines.append((" " * gap).join(padded).rstrip())
    return "\n".join(lines)


def html_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, caption: str | None = None) -> str:
    head = "".join(f'<th style="{_CELL_STYLE}">{html.escape(c.upper())}</th>' for c in columns)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL_STYLE}">{html.escape(cell_text(v))}</td>' for v in row) + "</tr>"
        for row in rows
    )
    cap = f"<caption style=\"text-align:left\">{html.escape(caption)}</caption>" if caption else ""
    return f'<table style="{_TABLE_STYLE}">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def kv_html(title: str, pairs: Mapping[str, Any], *, link_keys: Sequence[str] = ()) -> str:
    """A titled key/value list; values under `link_keys` that are http(s) URLs become links."""
    items = []
    for key, value in pairs.items():
        text = cell_text(value)
        shown = html.escape(text)
        if key in link_keys and text.startswith(("http://", "https://")):
            shown = f'<a href="{html.escape(text, quote=True)}" target="_blank">{shown}</a>'
        items.append(f'<tr><th style="{_CELL_STYLE}">{html.escape(key)}</th>'
                     f'<td style="{_CELL_STYLE}">{shown}</td></tr>')
    return (f'<div><b>{html.escape(title)}</b><table style="{_TABLE_STYLE}">{"".join(items)}</table></div>')


def pre_html(text: str, *, limit: int = 20_000) -> str:
    shown = text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters)"
    return f'<pre style="white-space:pre-wrap;margin:0">{html.escape(shown)}</pre>'


# --- the client's results ---------------------------------------------------------------------------------


def table_text(table: Table) -> str:
    if not table.rows:
        where = f" in {table.namespace} namespace" if table.namespace else ""
        return f"No resources found{where}."
    return text_table(table.columns, table.rows)


def table_html(table: Table) -> str:
    if not table.rows:
        return pre_html(table_text(table))
    return html_table(table.columns, table.rows, caption=table.kind or None)


def deployment_text(d: Deployment) -> str:
    """kn's report of `service create/update`."""
    if d.revision is None:
        return f"Service '{d.name}' {d.action} in namespace '{d.namespace}'."
    if d.action == "unchanged":
        return f"Service '{d.name}' with latest revision '{d.revision}' (unchanged) is available at URL:\n{d.url}"
    return f"Service '{d.name}' {d.action} to latest revision '{d.revision}' is available at URL:\n{d.url}"


def deployment_html(d: Deployment) -> str:
    pairs: dict[str, Any] = {"URL": d.url or "-", "revision": d.revision or "-", "namespace": d.namespace}
    if d.ready_seconds is not None:
        pairs["ready in"] = f"{d.ready_seconds:.2f} s"
    for t in d.traffic:
        ref = str(t.get("revisionName", ""))
        label = (f"@latest ({ref})" if t.get("latestRevision") else ref) + (f" #{t['tag']}" if t.get("tag") else "")
        pairs[f"traffic {label}"] = f"{t.get('percent', 0)}%"
    title = f"Service '{d.name}' {d.action}" + ("" if d.created else " (no new revision)")
    return kv_html(title, pairs, link_keys=("URL",))


def response_html(r: Response) -> str:
    colour = "#2e7d32" if r.ok else "#c62828"
    line = f"{r.status_code} {r.reason}".strip()
    head = (f'<div><b style="color:{colour}">{html.escape(line)}</b> '
            f'<span style="opacity:.7">{html.escape(r.url)} · {r.elapsed * 1000:.1f} ms</span></div>')
    headers = "\n".join(f"{k}: {v}" for k, v in r.headers.items())
    return head + "<details><summary>headers</summary>" + pre_html(headers) + "</details>" + pre_html(r.text)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f} ms"


def _latencies(s: LoadSummary) -> list[tuple[str, float | None]]:
    return [("p50", s.p50), ("p90", s.p90), ("p99", s.p99), ("max", s.max)]


def load_summary_text(s: LoadSummary) -> str:
    """hey's summary layout."""
    lines = [
        f"Summary ({s.target})" if s.target else "Summary",
        f"  Total:        {s.duration:.4f} secs",
        f"  Requests:     {s.requests} ({s.errors} errors)",
        f"  Requests/sec: {s.rps:.2f}",
        f"  Concurrency:  {s.concurrency}",
        "",
        "Latency",
        *(f"  {name}: {_ms(value)}" for name, value in _latencies(s)),
        "",
        "Status code distribution:",
        *(f"  [{code}] {count} responses" for code, count in sorted(s.status_codes.items())),
        *(f"  [{kind}] {count} errors" for kind, count in sorted(s.error_kinds.items())),
    ]
    return "\n".join(lines)


def load_summary_html(s: LoadSummary) -> str:
    pairs: dict[str, Any] = {"target": s.target, "duration": f"{s.duration:.2f} s", "requests": s.requests,
                             "errors": s.errors, "requests/s": f"{s.rps:.1f}", "concurrency": s.concurrency}
    pairs.update({f"latency {n}": _ms(v) for n, v in _latencies(s)})
    pairs["status codes"] = ", ".join(f"{c}: {n}" for c, n in sorted(s.status_codes.items())) or "-"
    return kv_html("Load summary", pairs)
