"""The widgets in a real kernel, seen as the front end sees them: the comm messages it sends while load runs, and
the Route a TrafficSplit changes."""

from __future__ import annotations

import json
import time
from typing import Any

from ..conftest import Plane
from ..kernel import comm_messages, kernel

SETUP = """
from jupyter_knative import Client
client = Client.embedded(namespace={ns!r}, start=False)
client.deploy_function("live", "def handler(request):\\n    return 'one'\\n")
"""


def _updates(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["content"]["data"].get("state") or {} for m in comm_messages(msgs)
            if m["content"]["data"].get("method") == "update"]


def test_dashboard_sends_changing_figures_under_load(plane: Plane, namespace: str) -> None:
    with kernel({"JUPYTER_KNATIVE_HOME": str(plane.home)}) as k:
        k.run(SETUP.format(ns=namespace))
        shown = k.run("from jupyter_knative.widgets import Dashboard\ndash = Dashboard('live', client=client)\n"
                      "display(dash)")
        views = [m for m in shown if m["msg_type"] == "display_data"]
        assert views and "application/vnd.jupyter.widget-view+json" in views[0]["content"]["data"]
        assert "text/html" in views[0]["content"]["data"]  # what nbconvert shows where widgets do not run
        k.run("import threading\nthreading.Thread(target=lambda: client.load('live', concurrency=4, duration=5),"
              " daemon=True).start()")
        started = time.monotonic()
        msgs = k.collect(6)
        elapsed = time.monotonic() - started
        states = _updates(msgs)
        figure_updates = [s for s in states if any(key.startswith("_py2js_") for key in s)]
        assert figure_updates, f"no figure update among {len(states)} widget updates"
        sent = [json.dumps(s.get("_py2js_update") or {}) for s in figure_updates if s.get("_py2js_update")]
        assert len(set(sent)) >= 2, sent[:3]  # the figure's data, as sent to the browser, keeps changing
        assert len(comm_messages(msgs)) / elapsed <= 100  # the per-kernel budget
        peak_rps = k.value("max(max(t.y or [0]) for t in dash.figure.data if str(t.meta).startswith('rps:'))")
        assert peak_rps > 0
        k.run("dash.close()")
        quiet = comm_messages(k.collect(1.5))
        assert not [m for m in quiet if m["content"]["data"].get("method") == "update"], "updates after close()"


def test_traffic_split_applies_to_the_route(plane: Plane, namespace: str) -> None:
    with kernel({"JUPYTER_KNATIVE_HOME": str(plane.home)}) as k:
        k.run(SETUP.format(ns=namespace))
        k.run("client.deploy_function('live', \"def handler(request):\\n    return 'two'\\n\")")
        k.run("from jupyter_knative.widgets import TrafficSplit\nsplit = TrafficSplit('live', client=client)\n"
              "display(split.widget)")
        moved = k.run("split.move('live-00001', 30)")
        values = [s.get("value") for s in _updates(moved) if "value" in s]
        assert 30 in values and 70 in values, values  # the sliders the browser shows, summing to 100
        assert k.value("split.apply()") is True
        route = json.loads(plane.kubectl("get", "route", "live", "-n", namespace, "-o", "json").stdout)
        assert {t["revisionName"]: t["percent"] for t in route["status"]["traffic"]} == {
            "live-00001": 30, "live-00002": 70}
        k.run("split.close()")
