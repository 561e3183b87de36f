"""Results render as tables (HTML and kubectl-like text); progress appears after a second of work."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from IPython.lib.pretty import pretty

from jupyter_knative.notebook import display as out


class Table:
    """The client's Table, as far as the display needs it."""

    def __str__(self) -> str:
        return "NAME    URL\nhello   http://hello"

    def _repr_html_(self) -> str:
        return "<table>hello</table>"


def svc(name: str = "hello", ready: str = "True", traffic: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": name, "namespace": "ns"},
            "status": {"url": f"http://{name}.ns.example.com", "latestReadyRevisionName": f"{name}-00002",
                       "conditions": [{"type": "ConfigurationsReady", "status": "True"},
                                      {"type": "Ready", "status": ready, "reason": None if ready == "True" else
                                       "RevisionMissing", "message": "waiting"}],
                       "traffic": traffic or [{"revisionName": f"{name}-00002", "percent": 100,
                                               "latestRevision": True}]}}


def test_text_table_is_kubectl_like() -> None:
    assert out.text_table(["name", "ready"], [["hello", True], ["a-longer-name", None]]) == (
        "NAME            READY\nhello           True\na-longer-name   <none>")


def test_html_table_escapes_and_links() -> None:
    html = out.html_table(["name", "url"], [["<b>", "http://x"]], caption="c")
    assert "&lt;b&gt;" in html and "<a href='http://x'" in html and "<caption" in html


def test_values_stay_plain_python() -> None:
    items = out.Resources([{"kind": "Service", "metadata": {"name": "a"}}], Table())
    assert items == [{"kind": "Service", "metadata": {"name": "a"}}] and isinstance(items, list)
    assert pretty(items) == str(Table()) and items._repr_html_() == "<table>hello</table>"
    one = out.Resource({"kind": "Service"}, Table())
    assert one == {"kind": "Service"} and pretty(one) == str(Table())
    assert pretty(out.Text("a\nb")) == "a\nb" and out.Text("a") == "a"


def test_without_a_server_table() -> None:
    items = out.Resources([{"kind": "Service", "metadata": {"name": "a", "namespace": "ns"}}])
    assert pretty(items) == "KIND      NAME   NAMESPACE\nService   a      ns"


def test_record() -> None:
    record = out.Record({"running": True, "api": "https://127.0.0.1:1"}, title="plane")
    assert pretty(record) == "plane\nrunning: True\napi:     https://127.0.0.1:1"
    assert "<caption" in record._repr_html_()


def test_service_view() -> None:
    view = out.ServiceView(svc(traffic=[{"revisionName": "hello-00001", "percent": 30, "tag": "old",
                                         "url": "http://old-hello"},
                                        {"revisionName": "hello-00002", "percent": 70, "latestRevision": True}]))
    text = pretty(view)
    assert text.splitlines()[0] == ("Service 'hello' in namespace 'ns': Ready, latest ready revision 'hello-00002' "
                                    "at http://hello.ns.example.com")
    assert "30%       hello-00001             old      http://old-hello" in text
    assert "70%       hello-00002 (@latest)" in text
    assert "not ready (RevisionMissing)" in pretty(out.ServiceView(svc(ready="False")))


def test_conditions_summary() -> None:
    assert out.conditions_summary({}) == "waiting for the first status"
    assert out.conditions_summary(svc(ready="Unknown")) == (
        "ConfigurationsReady=True, Ready=Unknown (RevisionMissing: waiting)")


def test_events() -> None:
    events = out.EventList([{"type": "Normal", "reason": "Created", "message": "Created Configuration",
                             "lastTimestamp": "2026-01-01T00:00:00Z",
                             "involvedObject": {"kind": "Service", "name": "hello"}}])
    assert "service/hello" in pretty(events) and "Created Configuration" in events._repr_html_()
    assert pretty(out.EventList()) == "No events found."


def test_status_line() -> None:
    assert repr(out.Status("x")) == "x"
    assert repr(out.Status("half", 0.5)) == "[##########..........] half"
    assert "<progress value='0.500'" in out.Status("half", 0.5)._repr_html_()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Handle:
    def __init__(self, shown: list[Any]) -> None:
        self.shown = shown

    def update(self, obj: Any) -> None:
        self.shown.append(obj)


def test_progress_appears_after_the_delay_and_updates_in_place() -> None:
    clock, shown = Clock(), []
    progress = out.Progress("service hello", clock=clock, show=lambda obj: (shown.append(obj), Handle(shown))[1])
    progress.update("Configuration")
    clock.now = 0.5
    progress.update("Revision")
    assert shown == [] and not progress.shown
    clock.now = 1.0
    progress.tick()
    assert [repr(s) for s in shown] == ["service hello: Revision"]
    progress.update("Ready")
    clock.now = 2.25
    progress.finish("done")
    assert [repr(s) for s in shown] == ["service hello: Revision", "service hello: Ready",
                                        "service hello: done (2.2 s)"]


def test_quick_work_shows_nothing() -> None:
    shown: list[Any] = []
    progress = out.Progress("x", show=lambda obj: (shown.append(obj), Handle(shown))[1])
    assert out.run_with_progress(lambda report: (report("a"), 42)[1], progress) == 42
    progress.finish("done")
    assert shown == []


def test_reports_from_the_worker_reach_the_display_in_this_thread() -> None:
    seen: list[tuple[str, str]] = []
    main = threading.current_thread().name
    handle = Handle([])
    handle.update = lambda obj: seen.append((threading.current_thread().name, repr(obj)))  # type: ignore[method-assign]
    progress = out.Progress("w", delay=0.0, show=lambda obj: (seen.append((threading.current_thread().name,
                                                                              repr(obj))), handle)[1])
    gate = threading.Event()

    def work(report: Any) -> str:
        report("one")
        gate.wait(0.3)
        report("two")
        return threading.current_thread().name

    worker = out.run_with_progress(work, progress, poll=0.01)
    assert worker != main
    assert {thread for thread, _ in seen} == {main}
    assert seen[-1][1] == "w: two"


def test_worker_errors_are_raised_here() -> None:
    def work(report: Any) -> None:
        raise LookupError("nope")

    with pytest.raises(LookupError, match="nope"):
        out.run_with_progress(work, out.Progress("x", show=lambda obj: Handle([])))
