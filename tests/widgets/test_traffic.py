"""`TrafficSplit` on the real plane: a Service with two revisions (deployed once for the module), the widget's
sliders driven as the front end drives them (setting `value`), Apply through the button, read back through
the client."""

from __future__ import annotations

import html
import time
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest
from IPython.core.error import UsageError

from jupyter_knative.client import Client
from jupyter_knative.home import PlaneHome
from jupyter_knative.notebook.commands import HANDLERS, Context
from jupyter_knative.notebook.parsing import parse
from jupyter_knative.widgets.feed import Feed
from jupyter_knative.widgets.split import LATEST, Change, Split
from jupyter_knative.widgets.traffic import TrafficSplit, preview_html, route_html

from ..conftest import Plane

T = TypeVar("T")
SERVICE = "split"
FN = """
def handler(request):
    return {"version": VERSION}

VERSION = @V@
"""


def until(check: Callable[[], T | None], timeout: float = 15.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s (last: {value!r})")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def ns(plane: Plane) -> Iterator[str]:
    name = "t-" + uuid.uuid4().hex[:10]
    resp = plane.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": name}})
    assert resp.status == 201, resp.body
    client = Client.embedded(home=PlaneHome(plane.home), namespace=name, start=False)
    client.deploy_function(SERVICE, FN.replace("@V@", "1"))
    client.deploy_function(SERVICE, FN.replace("@V@", "2"))
    client.close()
    yield name
    plane.request("DELETE", f"/api/v1/namespaces/{name}")


@pytest.fixture
def client(plane: Plane, ns: str) -> Iterator[Client]:
    c = Client.embedded(home=PlaneHome(plane.home), namespace=ns, start=False)
    c._objects.patch("ksvc", SERVICE, {"spec": {"traffic": [{"latestRevision": True, "percent": 100}]}})
    c.wait("ksvc", SERVICE)
    yield c
    c.close()


@pytest.fixture
def widget(client: Client, ns: str) -> Iterator[TrafficSplit]:
    w = TrafficSplit(SERVICE, client=client, namespace=ns, live=False)
    yield w
    w.close()


def sliders(w: TrafficSplit) -> dict[str, int]:
    return {ref: row.slider.value for ref, row in w.rows.items()}


def spec(client: Client) -> list[tuple[str, int, str]]:
    traffic = client.get("ksvc", SERVICE)["spec"]["traffic"]
    return sorted((LATEST if t.get("latestRevision") else t["revisionName"], t["percent"], t.get("tag", ""))
                  for t in traffic)


def served(client: Client) -> dict[str, int]:
    return {t["revisionName"]: t["percent"] for t in client.get("routes", SERVICE)["status"]["traffic"]
            if t["percent"]}


def test_sliders_reflect_the_route(widget: TrafficSplit) -> None:
    assert sliders(widget) == {LATEST: 100, "split-00002": 0, "split-00001": 0}
    assert list(widget.rows) == [LATEST, "split-00002", "split-00001"]
    assert "@latest → split-00002" in widget.rows[LATEST].label.value
    assert "Ready=True" in widget.route_view.value and "split-00002 (@latest)" in widget.route_view.value
    assert "no change" in widget.preview.value
    assert widget.widget.children[1] is widget.rows_box and len(widget.rows_box.children) == 3


def test_moving_a_slider_rebalances_and_previews(widget: TrafficSplit) -> None:
    widget.rows["split-00001"].slider.value = 30  # what the front end does when the slider is released
    assert sliders(widget) == {LATEST: 70, "split-00002": 0, "split-00001": 30}
    assert "split-00001</td><td>0%</td><td>+30</td><td><b>30%</b>" in widget.preview.value
    assert "split-00002</td><td>100% (@latest)</td><td>-30</td><td><b>70% (@latest)</b>" in widget.preview.value
    widget.rows["split-00001"].locked.value = True
    assert widget.rows["split-00001"].slider.disabled
    widget.rows["split-00002"].slider.value = 50
    assert sliders(widget) == {LATEST: 20, "split-00002": 50, "split-00001": 30}
    widget.rows["split-00002"].slider.value = 90  # no more than the lock leaves
    assert sliders(widget) == {LATEST: 0, "split-00002": 70, "split-00001": 30}
    assert sum(sliders(widget).values()) == 100


def test_apply_changes_the_route(widget: TrafficSplit, client: Client) -> None:
    widget.rows["split-00001"].slider.value = 40
    widget.rows["split-00001"].tag.value = "blue"
    widget.buttons["apply"].click()
    widget.wait(15)
    assert "applied" in widget.status.value, widget.status.value
    assert spec(client) == [(LATEST, 60, ""), ("split-00001", 40, "blue")]
    assert served(client) == {"split-00002": 60, "split-00001": 40}
    assert "blue" in widget.route_view.value and "40%" in widget.route_view.value
    assert sliders(widget)["split-00001"] == 40 and widget.rows["split-00001"].tag.value == "blue"
    assert "no change" in widget.preview.value  # the edit is now the Service's traffic


def test_moves_fill_the_sliders_and_apply(widget: TrafficSplit, client: Client) -> None:
    widget.buttons["canary"].click()
    assert sliders(widget) == {LATEST: 0, "split-00002": 10, "split-00001": 90}
    widget.buttons["bluegreen"].click()
    assert sliders(widget) == {LATEST: 0, "split-00002": 90, "split-00001": 10}
    widget.buttons["rollback"].click()  # the Route still serves @latest → split-00002
    assert sliders(widget) == {LATEST: 0, "split-00002": 0, "split-00001": 100}
    assert widget.apply()
    assert served(client) == {"split-00001": 100} and spec(client) == [("split-00001", 100, "")]
    widget.buttons["rollback"].click()  # nothing before split-00001
    assert "no ready revision of 'split' before split-00001" in html.unescape(widget.status.value)
    widget.buttons["promote"].click()
    assert sliders(widget)[LATEST] == 100 and widget.apply()
    assert spec(client) == [(LATEST, 100, "")] and served(client) == {"split-00002": 100}


def test_a_tag_knative_refuses_shows_the_servers_message(widget: TrafficSplit, client: Client) -> None:
    widget.rows["split-00001"].tag.value = "Bad_Tag"
    assert not widget.apply()
    assert "not a DNS 1035 label" in widget.status.value and "Traceback" not in widget.status.value
    assert spec(client) == [(LATEST, 100, "")]  # nothing written
    assert widget.rows["split-00001"].tag.value == "Bad_Tag"  # the edit stays to be fixed


def test_a_missing_revision_shows_the_routes_failure(widget: TrafficSplit, client: Client) -> None:
    widget.set_split(widget.split.assigned({"split-09999": 100}))
    assert "split-09999 (not ready)" in widget.rows["split-09999"].label.value
    assert not widget.apply()
    assert "split-09999" in widget.status.value and "not Ready" in widget.status.value, widget.status.value
    widget.promote_latest()
    assert widget.apply(), widget.status.value
    assert served(client) == {"split-00002": 100}


def test_live_widget_follows_the_service_and_stops_on_close(client: Client, ns: str) -> None:
    feed = Feed(client, interval=0.1)
    w = TrafficSplit(SERVICE, client=client, namespace=ns, feed=feed)
    try:
        w.rows["split-00001"].slider.value = 20  # an edit in progress survives outside changes
        client.traffic(SERVICE, ["split-00001=50", "@latest=50"], tags={"split-00002": "green"})
        until(lambda: "green" in w.route_view.value)
        assert sliders(w)["split-00001"] == 20 and w.rows["split-00002"].tag.value == ""
        def reset_to_service() -> bool:  # back to the Service as it is now (its own watch event may trail the Route's)
            w.reset()
            return sliders(w) == {LATEST: 50, "split-00002": 0, "split-00001": 50}

        until(reset_to_service)
        assert w.rows["split-00002"].tag.value == "green"
        client.traffic(SERVICE, ["@latest=100"], untag=["green"])
        until(lambda: sliders(w) == {LATEST: 100, "split-00002": 0, "split-00001": 0})  # untouched: it follows
    finally:
        w.close()
    assert w.closed and not feed.threads()
    assert w.rows == {} and w.widget.comm is None


def test_pure_rendering() -> None:
    text = preview_html([Change("r-2", 100, 10, ("a",), ("b",), latest_before=True), Change("r-1", 0, 90)])
    assert "r-2</td><td>100% (@latest)</td><td>-90</td><td><b>10%</b></td><td>a → b" in text
    assert "r-1</td><td>0%</td><td>+90</td><td><b>90%</b></td><td></td>" in text
    assert "no change" in preview_html([Change("r-1", 100, 100)])
    assert preview_html([], error="x <y>") == '<div style="color:#b00020">x &lt;y&gt;</div>'
    route: dict[str, Any] = {"metadata": {"name": "s"}, "status": {
        "conditions": [{"type": "Ready", "status": "False", "reason": "RevisionMissing", "message": "gone"}],
        "traffic": [{"revisionName": "r-1", "percent": 100, "tag": "t", "url": "http://t-s"}]}}
    text = route_html(route)
    assert "Ready=False (RevisionMissing: gone)" in text and "<td>r-1</td><td>100%</td><td>t</td>" in text
    assert "no Route yet" in route_html(None)
    assert Split(()).total == 0



def test_the_magic_flag_shows_the_widget(client: Client, ns: str) -> None:
    invocation = parse(f"traffic {SERVICE} --widget -n {ns}")
    shown = HANDLERS[invocation.command](Context(SimpleNamespace(client=client), None), invocation.args)  # type: ignore[arg-type]
    try:
        assert isinstance(shown, TrafficSplit) and sliders(shown)[LATEST] == 100
        assert "application/vnd.jupyter.widget-view+json" in shown._repr_mimebundle_()
    finally:
        shown.close()
    assert not hasattr(parse(f"traffic {SERVICE}").args, "widget")  # the plain command is as it was
    with pytest.raises(UsageError, match="--widget: the widget edits the split itself"):
        bad = parse(f"traffic {SERVICE} @latest=100 --widget")
        HANDLERS[bad.command](Context(SimpleNamespace(client=client), None), bad.args)  # type: ignore[arg-type]
