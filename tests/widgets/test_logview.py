"""`LogView`: bounded, coalesced, stoppable streaming from any iterator (no plane), and from a service's logs
and a build's TaskRun on the real plane."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import TypeVar

import pytest

from jupyter_knative.client import Client, KnativeError
from jupyter_knative.client.builds import build_objects
from jupyter_knative.home import PlaneHome
from jupyter_knative.notebook.commands import HANDLERS, Context
from jupyter_knative.notebook.parsing import parse
from jupyter_knative.widgets.logview import LogView

from ..conftest import Plane

T = TypeVar("T")

TALKY = """
def handler(request):
    print("handled", request.path, flush=True)
    return "ok"
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


def paced(count: int, every: float, stop: threading.Event | None = None) -> Iterator[str]:
    for i in range(count):
        if stop is not None and stop.is_set():
            return
        yield f"line {i}\n"
        time.sleep(every)


# --- the base view -------------------------------------------------------------------------------------------


def test_lines_stream_to_the_end() -> None:
    view = LogView(iter(["one\n", "two", "three\nfour"]), title="t")
    assert view.wait(5)
    assert view.lines == ["one", "two", "three", "four"] and view.received == 4
    assert "<pre" in view.body.value and "one\ntwo\nthree\nfour" in view.body.value
    assert "ended · 4 lines" in view.header.value and view.stop_button.disabled
    view.close()


def test_updates_are_coalesced_and_lines_bounded() -> None:
    view = LogView(paced(600, 0.001), max_lines=100, max_rate=10)
    started = time.monotonic()
    assert view.wait(10)
    elapsed = time.monotonic() - started
    assert view.received == 600 and view.lines == [f"line {i}" for i in range(500, 600)]
    assert "500 earlier lines not shown" in view.body.value
    assert view.updates <= elapsed * 10 + 3, (view.updates, elapsed)  # ≤ 10/s, plus the first and the last
    view.close()


def test_markup_in_lines_is_shown_not_run() -> None:
    view = LogView(["<script>alert(1)</script> & <b>"])
    assert view.wait(5)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in view.body.value
    assert "<script>" not in view.body.value
    view.close()


def test_stop_keeps_the_lines_and_ends_the_source() -> None:
    source_stopped = threading.Event()
    view = LogView(paced(100_000, 0.005, source_stopped), on_stop=source_stopped.set)
    until(lambda: view.received >= 20)
    view.stop_button.click()
    assert view.wait(2) and source_stopped.is_set()
    shown, updates = view.lines, view.updates
    assert "stopped" in view.header.value and view.stop_button.disabled
    time.sleep(0.3)
    assert view.lines == shown and view.updates == updates  # nothing more after a stop
    until(lambda: not view._reader.is_alive(), timeout=2)
    view.close()
    assert view.widget.comm is None and view.body.comm is None


def test_a_failing_source_shows_its_message() -> None:
    def failing() -> Iterator[str]:
        yield "before"
        raise KnativeError("the pod went away", reason="NotFound")

    view = LogView(failing())
    assert view.wait(5)
    assert view.lines == ["before"] and view.error == "the pod went away"
    assert "the pod went away" in view.header.value and "Traceback" not in view.header.value
    view.close()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="max_lines = 0, must be at least 1"):
        LogView([], max_lines=0)
    with pytest.raises(ValueError, match="max_rate = 0, must be > 0"):
        LogView([], max_rate=0)


# --- on the plane ------------------------------------------------------------------------------------------------


@pytest.fixture
def client(plane: Plane, namespace: str) -> Iterator[Client]:
    c = Client.embedded(home=PlaneHome(plane.home), namespace=namespace, start=False)
    yield c
    c.close()


def test_a_services_logs_stream_live(client: Client, namespace: str) -> None:
    client.deploy_function("talky", TALKY, scale_min=1)
    client.invoke("talky", path="/first")
    view = LogView.for_service("talky", client=client, namespace=namespace)
    try:
        until(lambda: "handled /first" in view.lines)
        client.invoke("talky", path="/second")  # after the view opened: it arrives through the followed stream
        until(lambda: "handled /second" in view.lines)
        assert "logs of talky" in view.header.value and "following" in view.header.value
    finally:
        view.close()
    assert view.done


def test_a_finished_builds_log(client: Client, namespace: str) -> None:
    client.deploy_function("built", TALKY)
    run = build_objects("built", namespace, TALKY)[1]["metadata"]["name"]
    view = LogView.for_build(run, client=client, namespace=namespace)
    assert view.wait(15)
    expected = client._conn.request_raw("GET", f"/api/v1/namespaces/{namespace}/pods/{run}-pod/log",
                                        query=[("container", "step-build")], accept="*/*").decode().splitlines()
    assert expected and view.lines == [line for line in expected if line.strip()]
    assert f"build {run} (step-build)" in view.header.value and "ended" in view.header.value
    view.close()


def test_a_running_build_is_followed_from_before_its_pod_exists(client: Client, namespace: str) -> None:
    source = TALKY + f"\nMARK = {uuid.uuid4().hex!r}\n"
    config_map, task_run = build_objects("live", namespace, source)
    client._objects.create("configmaps", config_map, namespace)
    client._objects.create("taskruns.tekton.dev", task_run, namespace)
    run = task_run["metadata"]["name"]
    view = LogView.for_build(run, client=client, namespace=namespace)
    assert view.wait(30), view.header.value
    assert client.wait("taskruns.tekton.dev", run, condition="Succeeded", timeout=5)
    expected = client._conn.request_raw("GET", f"/api/v1/namespaces/{namespace}/pods/{run}-pod/log",
                                        query=[("container", "step-build")], accept="*/*").decode().splitlines()
    assert view.lines == [line for line in expected if line.strip()] and view.lines
    view.close()


def test_a_build_that_does_not_exist(client: Client, namespace: str) -> None:
    with pytest.raises(KnativeError) as err:
        LogView.for_build("nope-build-0", client=client, namespace=namespace)
    assert err.value.reason == "NotFound"


def test_the_magic_flag_shows_the_widget(client: Client, namespace: str) -> None:
    client.deploy_function("talky", TALKY, scale_min=1)
    client.invoke("talky", path="/magic")
    invocation = parse(f"logs talky --widget -n {namespace}")
    shown = HANDLERS[invocation.command](Context(SimpleNamespace(client=client), None), invocation.args)  # type: ignore[arg-type]
    try:
        assert isinstance(shown, LogView)
        until(lambda: "handled /magic" in shown.lines)
    finally:
        shown.close()
    assert not hasattr(parse("logs talky -f").args, "widget")  # the plain command is as it was
