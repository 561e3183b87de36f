"""The Dashboard against the session's plane: its figure's data move as load runs and replicas change, each
figure update is one `batch_update`, the static HTML copy is in its mimebundle, `close()` leaves no feed thread;
and `%knative dashboard` shows it, or says what the server said."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from IPython.core.error import UsageError

from jupyter_knative.client import Client
from jupyter_knative.home import PlaneHome
from jupyter_knative.notebook import KnativeMagics
from jupyter_knative.notebook.session import Session
from jupyter_knative.widgets import Dashboard
from jupyter_knative.widgets.feed import Feed

from ..conftest import Plane

SOURCE = "import time\n\ndef handler(request):\n    time.sleep(0.05)\n    return 'ok'\n"


@pytest.fixture
def client(plane: Plane, namespace: str) -> Iterator[Client]:
    c = Client.embedded(home=PlaneHome(plane.home), namespace=namespace, start=False)
    yield c
    c.close()


def trace(dash: Dashboard, key: str) -> Any:
    return next(t for t in dash.figure.data if t.meta == key)


def until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not reached within {timeout}s")


def feed_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("knative-feed")]


class CommCounter:
    """Counts the messages a widget sends to the browser."""

    def __init__(self, widget: Any) -> None:
        self.times: list[float] = []
        original = widget.comm.send

        def send(*args: Any, **kwargs: Any) -> Any:
            self.times.append(time.monotonic())
            return original(*args, **kwargs)

        widget.comm.send = send


def test_figure_follows_load_and_replicas(client: Client, namespace: str) -> None:
    rev = client.deploy_function("dashfn", SOURCE, scale_target=1).revision
    dash = Dashboard("dashfn", client=client, window=60)
    try:
        until(lambda: any(t.meta == f"actual:{rev}" for t in dash.figure.data))
        messages = CommCounter(dash.figure)
        updates_before = dash.updates
        started = time.monotonic()
        client.load("dashfn", concurrency=6, duration=3.0)
        until(lambda: max(trace(dash, f"rps:{rev}").y or (0,)) > 10)
        until(lambda: max(trace(dash, f"actual:{rev}").y or (0,)) >= 2)  # it scaled out under load
        elapsed = time.monotonic() - started
        rps = trace(dash, f"rps:{rev}").y
        assert max(trace(dash, "codes:2xx").y) > 10 and max(trace(dash, "codes:5xx").y or (0,)) == 0
        assert max(trace(dash, f"desired:{rev}").y) >= 2
        assert trace(dash, "split:configured").y == (100.0,) and trace(dash, "split:observed").y == (100.0,)
        assert len(rps) >= 4 and list(trace(dash, f"rps:{rev}").x) == sorted(trace(dash, f"rps:{rev}").x)
        updates = dash.updates - updates_before
        assert 0 < updates / elapsed <= 1 / 0.5 + 0.5  # coalesced: at most one update per feed interval
        assert len(messages.times) <= 4 * updates + 2  # plotly sends 4 messages per batch_update, nothing else
        assert "dashfn" in dash.status.value and 'data-ready="True"' in dash.status.value
        bundle = dash._repr_mimebundle_()
        assert {"application/vnd.jupyter.widget-view+json", "text/html"} <= set(bundle)
        assert "plotly" in bundle["text/html"] and "dashfn" in bundle["text/html"]
    finally:
        dash.close()
    assert feed_threads() == []
    assert dash.closed


def test_revisions_come_and_go_with_the_service(client: Client, namespace: str) -> None:
    first = client.deploy_function("twofn", SOURCE).revision
    feed = Feed(client, interval=0.2)
    dash = Dashboard("twofn", client=client, feed=feed)
    try:
        until(lambda: any(t.meta == f"actual:{first}" for t in dash.figure.data))
        second = client.deploy_function("twofn", SOURCE.replace("'ok'", "'ok2'")).revision
        until(lambda: any(t.meta == f"actual:{second}" for t in dash.figure.data))
        until(lambda: trace(dash, "split:configured").y == (0.0, 100.0))
        assert trace(dash, "split:configured").x == (first, second)
        client.delete("revisions", first, wait=False)
        until(lambda: not any(str(t.meta).endswith(first) for t in dash.figure.data))
        assert trace(dash, "split:configured").x == (second,)
    finally:
        dash.close()
        feed.close()
    assert feed_threads() == []


def test_magic_shows_a_dashboard_or_the_servers_message(client: Client, namespace: str) -> None:
    client.deploy_function("magicfn", SOURCE)
    magics = KnativeMagics(None, session=Session(embedded=lambda ns: client))
    with pytest.raises(UsageError, match="not found") as refused:
        magics.knative("dashboard nosuch")
    assert "magicfn" in str(refused.value)  # the hint lists the services there are
    dash = magics.knative(f"dashboard magicfn -n {namespace}")
    try:
        assert isinstance(dash, Dashboard) and (dash.service, dash.namespace) == ("magicfn", namespace)
        until(lambda: "magicfn" in dash.status.value and "Ready" in dash.status.value)
    finally:
        dash.close()
    assert feed_threads() == []
