"""`LogView`: lines from any iterator, streamed into a widget from a background thread.

    LogView(lines)                               # any iterable of str
    LogView.for_service("hello")                 # the service's logs, followed (`Client.logs(follow=True)`)
    LogView.for_build("hello-build-1a2b3c4d5e")  # a TaskRun step, followed (`kubectl logs <run>-pod -c step-build -f`)

The last `max_lines` lines are shown in a box that stays scrolled to the bottom. Lines are read on one thread
and drawn by another at most `max_rate` times a second, all lines that came meanwhile in one update, so a
chatty source costs a few messages a second. It ends by itself when the source does; Stop (or `stop()`)
ends it early and keeps what was shown, `close()` also closes the widgets. A source that fails shows its
message. A followed HTTP stream cannot be cut from outside: after a stop its reading thread ends at the
stream's next line or at its end, and shows nothing more.
"""

from __future__ import annotations

import collections
import html
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import ipywidgets  # type: ignore[import-untyped, unused-ignore]

from jupyter_knative.client import Client, KnativeError

__all__ = ["LogView", "build_log_lines"]

MAX_LINES = 500
MAX_RATE = 10.0
TASKRUNS = "taskruns.tekton.dev"
_MUTED = "color:#666"
_ERROR = "color:#b00020"


class LogView:
    """A streaming log (an ipywidgets box: `.widget`) fed by `lines` on a background thread."""

    def __init__(self, lines: Iterable[str], *, title: str = "", max_lines: int = MAX_LINES,
                 max_rate: float = MAX_RATE, height: str = "20em",
                 on_stop: Callable[[], None] | None = None) -> None:
        if max_lines < 1:
            raise ValueError(f"max_lines = {max_lines}, must be at least 1")
        if max_rate <= 0:
            raise ValueError(f"max_rate = {max_rate}, must be > 0 updates per second")
        self.title = title
        self.height = height
        self.interval = 1.0 / max_rate
        self._lines: collections.deque[str] = collections.deque(maxlen=max_lines)
        self._pending: list[str] = []
        self._received = 0
        self._error = ""
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._halt = threading.Event()  # stop() was asked
        self._ended = threading.Event()  # the source has no more lines (or failed)
        self._on_stop = on_stop
        self.updates = 0
        """Front-end updates of the log so far (each carries every line that came since the last)."""
        self._build()
        self._reader = threading.Thread(target=self._read, args=(lines,), name="knative-logview-read", daemon=True)
        self._drawer = threading.Thread(target=self._draw_loop, name="knative-logview-draw", daemon=True)
        self._reader.start()
        self._drawer.start()

    @classmethod
    def for_service(cls, name: str, *, client: Client | None = None, namespace: str | None = None,
                    revision: str | None = None, tail: int | None = None, **kwargs: Any) -> LogView:
        """The service's user-container logs (the latest ready revision, or `revision`), followed."""
        owned = client is None
        client = client if client is not None else Client.embedded(namespace=namespace or "default")
        try:
            lines = client.logs(name, revision=revision, follow=True, tail=tail, namespace=namespace)
        except KnativeError:
            if owned:
                client.close()
            raise
        assert not isinstance(lines, str)  # follow=True always gives an iterator
        kwargs.setdefault("title", f"logs of {revision or name}")
        return cls(_closing(lines, client) if owned else lines, **kwargs)

    @classmethod
    def for_build(cls, taskrun: str, *, client: Client | None = None, namespace: str | None = None,
                  step: str = "build", **kwargs: Any) -> LogView:
        """A TaskRun's step log (`step-<step>` of its pod), followed until the TaskRun is over."""
        owned = client is None
        client = client if client is not None else Client.embedded(namespace=namespace or "default")
        ns = namespace or client.namespace
        try:
            client.get(TASKRUNS, taskrun, namespace=ns)  # a wrong name is told now, not waited on
        except KnativeError:
            if owned:
                client.close()
            raise
        stop = threading.Event()
        lines = build_log_lines(client, taskrun, ns, step=step, stop=stop)
        kwargs.setdefault("title", f"build {taskrun} (step-{step})")
        return cls(_closing(lines, client) if owned else lines, on_stop=stop.set, **kwargs)

    # -- the widget ----------------------------------------------------------------------------------------

    def _build(self) -> None:
        w = ipywidgets
        self.header = w.HTML()
        self.body = w.HTML()
        self.stop_button = w.Button(description="Stop", icon="stop", tooltip="stop following",
                                    layout=w.Layout(width="auto"))
        self.stop_button.on_click(lambda _: self.stop())
        self.widget = w.VBox([w.HBox([self.stop_button, self.header]), self.body])
        self._draw()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- state ---------------------------------------------------------------------------------------------

    @property
    def lines(self) -> list[str]:
        """The lines shown (the last `max_lines`)."""
        with self._lock:
            return list(self._lines)

    @property
    def received(self) -> int:
        """Every line read so far, shown or scrolled out."""
        return self._received

    @property
    def done(self) -> bool:
        """The stream ended or was stopped, and the last update is drawn."""
        return not self._drawer.is_alive()

    @property
    def error(self) -> str:
        return self._error

    def wait(self, timeout: float | None = None) -> bool:
        """Until the stream ends (or is stopped) and everything is drawn; False if `timeout` passed first."""
        self._drawer.join(timeout)
        return self.done

    def stop(self) -> None:
        """Stop following; what was shown stays."""
        if self._halt.is_set():
            return
        self._halt.set()
        self._wake.set()
        if self._on_stop is not None:
            self._on_stop()

    def close(self) -> None:
        """Stop, and close the widgets."""
        self.stop()
        self._drawer.join(2.0)
        for widget in (self.header, self.body, self.stop_button, *self.widget.children, self.widget):
            widget.close()

    # -- the threads ---------------------------------------------------------------------------------------

    def _read(self, lines: Iterable[str]) -> None:
        iterator = iter(lines)
        try:
            for line in iterator:
                if self._halt.is_set():
                    break
                with self._lock:
                    self._pending.extend(str(line).rstrip("\n").split("\n"))
                self._wake.set()
        except KnativeError as e:
            self._error = e.message
        except Exception as e:  # a source's failure is shown, never raised on a thread nobody watches
            self._error = f"{type(e).__name__}: {e}"
        finally:
            close = getattr(iterator, "close", None)
            if callable(close):
                close()
            self._ended.set()
            self._wake.set()

    def _draw_loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            finished = self._halt.is_set() or self._ended.is_set()
            self._flush()
            if finished:
                self._draw()
                self.stop_button.disabled = True
                return
            self._halt.wait(self.interval)  # coalesce: what comes meanwhile goes out in the next update

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            self._lines.extend(pending)
            self._received += len(pending)
        if pending:
            self._draw()

    def _draw(self) -> None:
        with self._lock:
            shown, received = list(self._lines), self._received
        hidden = received - len(shown)
        text = html.escape("\n".join(shown))
        note = f'<div style="{_MUTED}">… {hidden} earlier lines not shown</div>' if hidden else ""
        # column-reverse keeps the box scrolled to its bottom as lines arrive, with no script
        self.body.value = (f'<div style="max-height:{html.escape(self.height)};overflow-y:auto;display:flex;'
                           f'flex-direction:column-reverse;border:1px solid #ddd;padding:2px 6px">'
                           f'<div>{note}<pre style="margin:0;white-space:pre-wrap">{text}</pre></div></div>')
        self.header.value = self._header_html(received)
        self.updates += 1

    def _header_html(self, received: int) -> str:
        if self._halt.is_set():
            state = "stopped"
        elif self._ended.is_set():
            state = "ended"
        else:
            state = "following"
        title = f"<b>{html.escape(self.title)}</b> " if self.title else ""
        error = f' <span style="{_ERROR}">{html.escape(self._error)}</span>' if self._error else ""
        return f'{title}<span style="{_MUTED}">{state} · {received} lines</span>{error}'


def _closing(lines: Iterable[str], client: Client) -> Iterator[str]:
    """`lines`, then the client made for them is closed."""
    try:
        yield from lines
    finally:
        client.close()


# --- a TaskRun step's log ------------------------------------------------------------------------------------


def build_log_lines(client: Client, taskrun: str, namespace: str, *, step: str = "build",
                    stop: threading.Event | None = None, poll: float = 0.2) -> Iterator[str]:
    """The step's log lines, each once: waits for the pod, follows the container, reads again after a cut, and
    ends once the TaskRun is over and its log read to the end (or when `stop` is set)."""
    stop = stop or threading.Event()
    sent = 0
    while not stop.is_set():
        run = _find(client, taskrun, namespace)
        over = run is None or _finished(run)
        pod = str(((run or {}).get("status") or {}).get("podName") or f"{taskrun}-pod")
        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
        try:
            for i, raw in enumerate(client._conn.stream_lines(path, query=[("container", f"step-{step}"),
                                                                           ("follow", "true")])):
                if i >= sent:
                    yield raw.decode("utf-8", "replace")
                    sent = i + 1
                if stop.is_set():
                    return
        except KnativeError:
            pass  # no pod (yet), or the container has not started: look again
        if over:
            return  # the run was over before this read began: the log is complete
        stop.wait(poll)


def _find(client: Client, taskrun: str, namespace: str) -> dict[str, Any] | None:
    try:
        return client.get(TASKRUNS, taskrun, namespace=namespace)
    except KnativeError as e:
        if e.reason == "NotFound":
            return None
        raise


def _finished(run: dict[str, Any]) -> bool:
    for cond in (run.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Succeeded":
            return cond.get("status") in ("True", "False")
    return False

