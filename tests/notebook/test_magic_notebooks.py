"""Real notebooks in a real kernel: every magic and the decorator, against the session's plane.

Each notebook asserts on the magics' return values itself (its cells hold `assert`s); these tests then
assert on what the executed cells displayed: HTML and plain text, progress lines, UsageErrors without
tracebacks. A notebook runs once per module; its cells are looked up by their ids.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from ..conftest import Plane, cli

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
pytestmark = pytest.mark.timeout(900)


def execute(name: str, home: Path, workdir: Path, namespace: str | None = None) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []) and namespace is not None:
            cell.source = f"NAMESPACE = {namespace!r}"
    # the kernel inherits this environment: the plane's home, and this venv's `jupyter` first on PATH
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_KNATIVE_HOME", str(home))
        mp.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
        NotebookClient(nb, timeout=240, kernel_name="python3",
                       resources={"metadata": {"path": str(workdir)}}).execute()
    return nb


@pytest.fixture(scope="module")
def fresh_namespace(plane: Plane) -> Iterator[str]:
    name = "nb-" + uuid.uuid4().hex[:10]
    resp = plane.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": name}})
    assert resp.status == 201, resp.body
    yield name
    plane.request("DELETE", f"/api/v1/namespaces/{name}")


@pytest.fixture(scope="module")
def serving(plane: Plane, fresh_namespace: str, tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    return execute("magics-serving.ipynb", plane.home, tmp_path_factory.mktemp("nb-serving"), fresh_namespace)


@pytest.fixture(scope="module")
def decorator(plane: Plane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[nbformat.NotebookNode]:
    name = "nb-" + uuid.uuid4().hex[:10]
    resp = plane.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": name}})
    assert resp.status == 201, resp.body
    try:
        yield execute("magics-decorator.ipynb", plane.home, tmp_path_factory.mktemp("nb-decorator"), name)
    finally:
        plane.request("DELETE", f"/api/v1/namespaces/{name}")


@pytest.fixture(scope="module")
def own_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[nbformat.NotebookNode]:
    """magics-plane.ipynb starts and stops a plane of its own, in an empty home."""
    home = tmp_path_factory.mktemp("own-plane-home")
    try:
        yield execute("magics-plane.ipynb", home, tmp_path_factory.mktemp("nb-plane"))
    finally:
        cli(home, "down")


# --- reading outputs ---------------------------------------------------------------------------------


def cell(nb: nbformat.NotebookNode, cell_id: str) -> Any:
    for c in nb.cells:
        if c.get("id") == cell_id:
            return c
    raise AssertionError(f"no cell {cell_id!r}")


def shown(c: Any, mime: str = "text/plain", kinds: tuple[str, ...] = ("execute_result",)) -> str:
    return "\n".join(o["data"][mime] for o in c.outputs if o["output_type"] in kinds and mime in o.get("data", {}))


def stream(c: Any, name: str = "stdout") -> str:
    return "".join(o["text"] for o in c.outputs if o["output_type"] == "stream" and o["name"] == name)


def result(nb: nbformat.NotebookNode, cell_id: str) -> tuple[str, str]:
    c = cell(nb, cell_id)
    return shown(c), shown(c, "text/html")


def assert_usage_error(c: Any, *fragments: str) -> str:
    err = stream(c, "stderr")
    assert err.startswith("UsageError: "), c.outputs
    assert "Traceback" not in err and not any(o["output_type"] == "error" for o in c.outputs), c.outputs
    for fragment in fragments:
        assert fragment in err, err
    return err


# --- magics-serving ----------------------------------------------------------------------------------


def test_notebook_runs_and_asserts(serving: nbformat.NotebookNode) -> None:
    executed = [c for c in serving.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in executed)


def test_backend_shows_a_table(serving: nbformat.NotebookNode) -> None:
    text, html = result(serving, "backend")
    assert "backend:   embedded" in text and "<table" in html


def test_service_cell_shows_the_deployment(serving: nbformat.NotebookNode) -> None:
    text, html = result(serving, "service-first")
    assert "Service 'hello' created to latest revision 'hello-00001' is available at URL:" in text, text
    assert "hello-00001" in html and "http://hello." in html, html
    text, _ = result(serving, "service-same")
    assert "(unchanged)" in text and "hello-00001" in text, text
    text, _ = result(serving, "service-changed")
    assert "hello-00002" in text, text


def test_response_displays(serving: nbformat.NotebookNode) -> None:
    text, html = result(serving, "invoke")
    assert "200" in text and html, (text, html)


def test_traffic_scale_and_wait_show_the_traffic_table(serving: nbformat.NotebookNode) -> None:
    for cell_id in ("traffic", "scale", "wait"):
        text, html = result(serving, cell_id)
        assert text.startswith("Service 'hello' in namespace "), text
        assert "TRAFFIC" in text and "<table" in html and "%" in html, (cell_id, text)
    text, _ = result(serving, "traffic")
    assert "50%" in text and "old" in text, text


def test_get_shows_the_servers_table(serving: nbformat.NotebookNode) -> None:
    text, html = result(serving, "get")
    assert text.startswith("NAME") and "URL" in text.splitlines()[0] and "hello" in text, text
    assert "<table" in html and "hello" in html, html


def test_text_results_are_not_quoted(serving: nbformat.NotebookNode) -> None:
    text, _ = result(serving, "describe")
    assert not text.startswith(("'", '"')) and "\n" in text, text
    assert "greeting Knative" in stream(cell(serving, "logs"))


def test_events_table(serving: nbformat.NotebookNode) -> None:
    text, html = result(serving, "events")
    assert text.startswith("LAST SEEN") and "service/hello" in text, text
    assert "<table" in html


def test_load_shows_progress_then_a_summary(serving: nbformat.NotebookNode) -> None:
    c = cell(serving, "load")
    progress = shown(c, "text/html", kinds=("display_data",))
    assert "load hello" in progress and "<progress" in progress, c.outputs
    text, html = result(serving, "load")
    assert text and html, c.outputs


def test_apply_lists_what_it_applied(serving: nbformat.NotebookNode) -> None:
    text, _ = result(serving, "apply")
    assert "greeter" in text and "greeter-settings" in text, text


def test_usage_errors_have_no_traceback(serving: nbformat.NotebookNode) -> None:
    assert_usage_error(cell(serving, "usage-error"), "nosuch", "hint: ")


def test_help_is_printed(serving: nbformat.NotebookNode) -> None:
    out = stream(cell(serving, "help"))
    assert out.startswith("usage: %knative scale") and "--min N" in out, out


# --- magics-decorator --------------------------------------------------------------------------------


def test_decorator_notebook(decorator: nbformat.NotebookNode) -> None:
    deployed = cell(decorator, "deploy")
    html = shown(deployed, "text/html", kinds=("display_data",))
    assert "shout-00001" in html, deployed.outputs
    text, _ = result(decorator, "check")
    assert "200" in text, text


# --- magics-plane ------------------------------------------------------------------------------------


def test_plane_up_down_status(own_plane: nbformat.NotebookNode) -> None:
    text, html = result(own_plane, "status")
    assert "running:" in text and "True" in text and "<table" in html, text
    assert_usage_error(cell(own_plane, "plane-down"), "not running", "hint: run %knative up")
