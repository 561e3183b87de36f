"""`TrafficSplit`: edit a Service's traffic with sliders that always sum to 100, preview the change, apply it.

    split = TrafficSplit("hello")          # displays itself in a notebook
    split.move("hello-00001", 30)          # what dragging that slider does
    split.apply()                          # what the Apply button does (the button runs it in a thread)
    split.close()

One row per traffic reference (`@latest` and each ready revision): a slider, the tag, a lock that keeps the
entry as it is while others move. The move buttons (promote latest, roll back, canary 10%, blue/green) fill
the sliders; nothing reaches the cluster until Apply, which goes through `Client.traffic` (kn's rules) and
waits for the Service to be Ready; a refusal shows the server's message in the widget. The Route's traffic
as served and the Service's revisions come live from the client's shared `Feed`; when the Service changes
(a new revision, someone else's update) untouched sliders follow it and edited ones keep their values.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets  # type: ignore[import-untyped, unused-ignore]

from jupyter_knative.client import Client, KnativeError
from jupyter_knative.client.trafficrules import TrafficError

from . import split as sp
from .feed import Feed, Snapshot, Subscription, shared_feed

__all__ = ["TrafficSplit", "preview_html", "route_html"]

SERVICE_LABEL = "serving.knative.dev/service"
APPLY_TIMEOUT = 60.0
_ERROR = "color:#b00020"
_OK = "color:#1b5e20"
_MUTED = "color:#666"


class TrafficSplit:
    """The traffic-split editor for the Knative Service `name` (an ipywidgets box: `.widget`)."""

    def __init__(self, name: str, *, client: Client | None = None, namespace: str | None = None,
                 feed: Feed | None = None, live: bool = True, apply_timeout: float = APPLY_TIMEOUT) -> None:
        self.name = name
        self._owned = client is None
        self.client = client if client is not None else Client.embedded(namespace=namespace or "default")
        self.namespace = namespace or self.client.namespace
        self.apply_timeout = apply_timeout
        self._lock = threading.RLock()
        self._state = sp.ServiceState(name)
        self._split = sp.current_split(self._state)  # nothing edited before the first read
        self._route: dict[str, Any] | None = None
        self._rows: dict[str, _Row] = {}
        self._busy = threading.Event()
        self._worker: threading.Thread | None = None
        self._closed = False
        self._build()
        self.refresh()
        self._subscription: Subscription | None = None
        if live:
            self._subscription = (feed or shared_feed(self.client)).subscribe(
                self._on_snapshot, namespace=self.namespace, kinds=("ksvc", "revisions", "routes"))

    # -- the widget ----------------------------------------------------------------------------------------

    def _build(self) -> None:
        w = ipywidgets
        self.title = w.HTML()
        self.rows_box = w.VBox()
        self.buttons = {key: w.Button(description=text, tooltip=tip, layout=w.Layout(width="auto"))
                        for key, text, tip in _BUTTONS}
        self.buttons["apply"].button_style = "primary"
        for key, button in self.buttons.items():
            button.on_click(self._on_button(key))
        self.preview = w.HTML()
        self.status = w.HTML()
        self.route_view = w.HTML()
        moves = [self.buttons[k] for k in ("promote", "rollback", "canary", "bluegreen", "reset")]
        self.widget = w.VBox([self.title, self.rows_box, w.HBox(moves), self.preview,
                              self.buttons["apply"], self.status, self.route_view])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- reading the Service ---------------------------------------------------------------------------------

    @property
    def state(self) -> sp.ServiceState:
        return self._state

    @property
    def split(self) -> sp.Split:
        """The edited split (what Apply would write)."""
        return self._split

    @property
    def rows(self) -> Mapping[str, _Row]:
        """Each reference's widgets: `.slider`, `.tag`, `.locked`, `.label`."""
        return dict(self._rows)

    @property
    def busy(self) -> bool:
        """True while an Apply runs."""
        return self._busy.is_set()

    def refresh(self) -> None:
        """Read the Service, its revisions and its Route now (the feed does this by itself when live)."""
        try:
            svc = self.client.get("ksvc", self.name, namespace=self.namespace)
            revisions = self.client.list("revisions", namespace=self.namespace,
                                         label_selector=f"{SERVICE_LABEL}={self.name}")
            route = self._find_route()
        except KnativeError as e:
            self._say(_message(e), _ERROR)
            return
        self._update(sp.ServiceState.of(svc, revisions), route)

    def _find_route(self) -> dict[str, Any] | None:
        try:
            return self.client.get("routes", self.name, namespace=self.namespace)
        except KnativeError as e:
            if e.reason == "NotFound":
                return None
            raise

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        svc = snapshot.objects.get("ksvc", {}).get(self.name)
        if svc is None or self._closed:
            return
        revisions = [r for r in snapshot.objects.get("revisions", {}).values()
                     if ((r.get("metadata") or {}).get("labels") or {}).get(SERVICE_LABEL) == self.name]
        self._update(sp.ServiceState.of(svc, revisions), snapshot.objects.get("routes", {}).get(self.name))

    def _update(self, state: sp.ServiceState, route: dict[str, Any] | None, *, reset: bool = False) -> None:
        """A new view of the Service: untouched sliders follow it, edited ones keep their values."""
        with self._lock:
            if self._closed:
                return
            changed = state != self._state
            if changed:
                edited = self._split != sp.current_split(self._state)
                fresh = sp.current_split(state)
                self._split = self._split.including(fresh.refs) if edited and not reset else fresh
                self._state = state
            elif reset:
                self._split = sp.current_split(state)
            route_changed = _route_key(route) != _route_key(self._route)
            self._route = route
            if changed or reset:
                self._render()
            if route_changed:
                self.route_view.value = route_html(route)

    # -- editing -----------------------------------------------------------------------------------------

    def move(self, ref: str, percent: int) -> None:
        """Set `ref` to `percent`; the other unlocked entries rebalance so the sum stays 100."""
        with self._lock:
            self._split = self._split.move(ref, percent)
            self._render()

    def set_split(self, split: sp.Split) -> None:
        """Replace the edit as a whole (any references, even ones Knative will refuse)."""
        with self._lock:
            self._split = split
            self._render()

    def set_tag(self, ref: str, tag: str) -> None:
        with self._lock:
            self._split = self._split.tagged(ref, tag)
            self._render()

    def lock(self, ref: str, locked: bool = True) -> None:
        with self._lock:
            self._split = self._split.locking(ref, locked)
            self._render()

    def promote_latest(self) -> None:
        self._move(lambda: sp.promote_latest(self._split))

    def roll_back(self) -> None:
        self._move(lambda: sp.roll_back(self._state, self._split))

    def canary(self, percent: int = 10) -> None:
        self._move(lambda: sp.canary(self._state, self._split, percent))

    def blue_green(self) -> None:
        self._move(lambda: sp.blue_green(self._state, self._split))

    def reset(self) -> None:
        """Back to the Service's traffic as it is."""
        self._move(lambda: sp.current_split(self._state))

    def _move(self, make: Callable[[], sp.Split]) -> None:
        with self._lock:
            try:
                self._split = make()
            except sp.MoveError as e:
                self._say(str(e), _ERROR)
                return
            self._say("", _MUTED)
            self._render()

    # -- applying ----------------------------------------------------------------------------------------

    def apply(self) -> bool:
        """Write the edited split to the Service and wait for it to be Ready; False (and the message shown)
        when Knative or kn's rules refuse it."""
        with self._lock:
            state, split = self._state, self._split
        flags = sp.flags(state, split)
        self._busy.set()
        self._enable(False)
        self._say("applying…", _MUTED)
        try:
            svc = self.client.traffic(self.name, list(flags.traffic), tags=list(flags.tags), untag=list(flags.untag),
                                      namespace=self.namespace, timeout=self.apply_timeout)
            revisions = self.client.list("revisions", namespace=self.namespace,
                                         label_selector=f"{SERVICE_LABEL}={self.name}")
            route = self._find_route()
        except KnativeError as e:
            self._say(_message(e), _ERROR)
            self.refresh()  # show what the Service is now (a refused patch changed nothing)
            return False
        finally:
            self._enable(True)
            self._busy.clear()
        self._update(sp.ServiceState.of(svc, revisions), route, reset=True)
        self._say("applied: the Route is Ready", _OK)
        return True

    def apply_in_background(self) -> threading.Thread:
        """What the Apply button does: `apply()` on a thread of its own (the kernel stays free)."""
        thread = threading.Thread(target=self.apply, name=f"knative-traffic-apply-{self.name}", daemon=True)
        self._worker = thread
        thread.start()
        return thread

    def wait(self, timeout: float = 120.0) -> None:
        """Until the Apply started by the button (if any) is over."""
        if self._worker is not None:
            self._worker.join(timeout)

    def _on_button(self, key: str) -> Callable[[Any], None]:
        actions: Mapping[str, Callable[[], object]] = {
            "apply": self.apply_in_background, "promote": self.promote_latest, "rollback": self.roll_back,
            "canary": self.canary, "bluegreen": self.blue_green, "reset": self.reset}

        def clicked(_: Any) -> None:
            if not self.busy:
                actions[key]()
        return clicked

    def _enable(self, enabled: bool) -> None:
        with self._lock:
            for button in self.buttons.values():
                button.disabled = not enabled

    # -- drawing ---------------------------------------------------------------------------------------------

    def _render(self) -> None:
        """Widgets to the split (under the lock). Rows are rebuilt only when the references change."""
        if tuple(self._rows) != self._split.refs:
            old = list(self._rows.values())
            self._rows = {e.ref: _Row(e.ref, self) for e in self._split.entries}
            self.rows_box.children = [row.box for row in self._rows.values()]
            for row in old:
                row.close()
        for entry in self._split.entries:
            self._rows[entry.ref].show(entry, self._label(entry.ref))
        self.title.value = _title_html(self._state, self._split)
        self._show_preview()

    def _label(self, ref: str) -> str:
        if ref == sp.LATEST:
            return f"@latest → {self._state.latest_ready or '(none ready)'}"
        return ref if ref in self._state.ready else f"{ref} (not ready)"

    def _show_preview(self) -> None:
        try:
            edited = sp.spec_traffic(self._state, self._split)
        except TrafficError as e:
            self.preview.value = preview_html([], error=str(e))
            return
        self.preview.value = preview_html(sp.diff(self._state, edited))

    def _say(self, text: str, style: str) -> None:
        self.status.value = f'<div style="{style};white-space:pre-wrap">{html.escape(text)}</div>' if text else ""

    # -- user input from the front end (kernel thread) -------------------------------------------------------

    def _slider_moved(self, ref: str, value: int) -> None:
        with self._lock:
            if self._closed or ref not in self._split.refs or self._split.entry(ref).percent == value:
                return  # our own write echoing back
            self.move(ref, value)

    def _tag_edited(self, ref: str, tag: str) -> None:
        with self._lock:
            if self._closed or ref not in self._split.refs or self._split.entry(ref).tag == tag.strip():
                return
            self.set_tag(ref, tag)

    def _lock_toggled(self, ref: str, locked: bool) -> None:
        with self._lock:
            if self._closed or ref not in self._split.refs or self._split.entry(ref).locked == locked:
                return
            self.lock(ref, locked)

    # -- the end -------------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop following the Service and close the widgets (an Apply under way finishes on its own)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._subscription is not None:
            self._subscription.close()
        with self._lock:
            for row in self._rows.values():
                row.close()
            self._rows = {}
            _close_tree(self.widget)
        if self._owned:
            self.client.close()

    @property
    def closed(self) -> bool:
        return self._closed


_BUTTONS = (
    ("apply", "Apply", "write this split to the Service"),
    ("promote", "Promote latest", "100% to @latest"),
    ("rollback", "Roll back", "100% to the revision ready before the one serving now"),
    ("canary", "Canary 10%", "10% to the latest ready revision, 90% to the current one"),
    ("bluegreen", "Blue/green", "swap the two revisions with traffic"),
    ("reset", "Reset", "back to the Service's traffic as it is"),
)


class _Row:
    """One entry's widgets: name, slider, tag, lock."""

    def __init__(self, ref: str, owner: TrafficSplit) -> None:
        w = ipywidgets
        self.label = w.HTML(layout=w.Layout(width="220px"))
        self.slider = w.IntSlider(min=0, max=100, continuous_update=False, readout=True,
                                  layout=w.Layout(width="320px"))
        self.tag = w.Text(placeholder="tag", continuous_update=False, layout=w.Layout(width="140px"))
        self.locked = w.ToggleButton(icon="unlock", tooltip="keep this share while others move",
                                     layout=w.Layout(width="40px"))
        self.slider.observe(lambda c: owner._slider_moved(ref, int(c["new"])), names="value")
        self.tag.observe(lambda c: owner._tag_edited(ref, str(c["new"])), names="value")
        self.locked.observe(lambda c: owner._lock_toggled(ref, bool(c["new"])), names="value")
        self.box = w.HBox([self.label, self.slider, self.tag, self.locked])

    def show(self, entry: sp.Entry, label: str) -> None:
        with self.box.hold_sync():
            self.label.value = html.escape(label)
            self.slider.value = entry.percent
            self.slider.disabled = entry.locked
            self.tag.value = entry.tag
            self.locked.value = entry.locked
            self.locked.icon = "lock" if entry.locked else "unlock"

    def close(self) -> None:
        _close_tree(self.box)


def _close_tree(widget: Any) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()


# --- pure rendering ---------------------------------------------------------------------------------------


def _title_html(state: sp.ServiceState, split: sp.Split) -> str:
    latest = html.escape(state.latest_ready or "none ready")
    total = split.total
    warn = f' · <span style="{_ERROR}">total {total}%</span>' if total != 100 else ""
    return f"<b>Traffic for {html.escape(state.name)}</b> <span style=\"{_MUTED}\">· latest ready {latest}</span>{warn}"


def preview_html(changes: Sequence[sp.Change], *, error: str = "") -> str:
    """The preview: per revision, percent and tags now (as served) → after Apply."""
    if error:
        return f'<div style="{_ERROR}">{html.escape(error)}</div>'
    if not any(c.changed for c in changes):
        return f'<div style="{_MUTED}">no change: the sliders match the Route</div>'
    rows = "".join(_change_row(c) for c in changes)
    head = "<tr><th style='text-align:left'>revision</th><th>now</th><th></th><th>after</th><th>tags</th></tr>"
    return f"<table>{head}{rows}</table>"


def _change_row(c: sp.Change) -> str:
    def side(percent: int, latest: bool) -> str:
        return f"{percent}%" + (" (@latest)" if latest else "")

    style = "" if c.changed else f" style='{_MUTED}'"
    tags_before, tags_after = ", ".join(c.tags_before), ", ".join(c.tags_after)
    tags = html.escape(tags_after if tags_before == tags_after else f"{tags_before or 'none'} → {tags_after or 'none'}")
    delta = c.after - c.before
    arrow = f"{'+' if delta > 0 else ''}{delta}" if delta else "→"
    return (f"<tr{style}><td>{html.escape(c.revision or '?')}</td><td>{side(c.before, c.latest_before)}</td>"
            f"<td>{arrow}</td><td><b>{side(c.after, c.latest_after)}</b></td><td>{tags}</td></tr>")


def route_html(route: Mapping[str, Any] | None) -> str:
    """The Route as it serves now: Ready, and each target's revision, percent, tag and URL."""
    if route is None:
        return f'<div style="{_MUTED}">no Route yet</div>'
    status = route.get("status") or {}
    ready: Mapping[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    state = str(ready.get("status") or "Unknown")
    why = ": ".join(str(ready[k]) for k in ("reason", "message") if ready.get(k))
    color = _OK if state == "True" else _ERROR if state == "False" else _MUTED
    head = (f"<div>Route <b>{html.escape(str((route.get('metadata') or {}).get('name') or ''))}</b> "
            f"<span style='{color}'>Ready={html.escape(state)}{html.escape(' (' + why + ')') if why else ''}</span>"
            "</div>")
    rows = "".join(
        f"<tr><td>{html.escape(str(t.get('revisionName') or ''))}{' (@latest)' if t.get('latestRevision') else ''}"
        f"</td><td>{int(t.get('percent') or 0)}%</td><td>{html.escape(str(t.get('tag') or ''))}</td>"
        f"<td>{html.escape(str(t.get('url') or ''))}</td></tr>" for t in status.get("traffic") or [])
    return head + (f"<table>{rows}</table>" if rows else "")


def _route_key(route: Mapping[str, Any] | None) -> Any:
    return None if route is None else (route.get("metadata") or {}).get("resourceVersion")


def _message(e: KnativeError) -> str:
    return f"{e.message}\nhint: {e.hint}" if e.hint else e.message
