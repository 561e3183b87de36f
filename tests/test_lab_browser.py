"""JupyterLab in a real browser (Debian's Chromium through Playwright): a dashboard cell under load renders a
plot whose traces change. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .browser import CHROMIUM, chromium_page, lab_server, notebook, run_all_cells, screenshot
from .conftest import Plane

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run "
                                                                "installs it)")

PLOT_TRACES = """() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  return plots.map(p => (p.data || []).map(t => (t.y || []).length));
}"""


def test_dashboard_renders_and_moves_under_load(plane: Plane, namespace: str, tmp_path: Path) -> None:
    ns = namespace
    notebook(tmp_path / "dashboard.ipynb", [
        "%load_ext jupyter_knative",
        f"%%knative service browserdash -n {ns}\ndef handler(request):\n    return 'hello from the browser test'\n",
        f"%knative dashboard browserdash -n {ns}",
        "import threading\nfrom jupyter_knative import Client\n"
        f"load_client = Client.embedded(namespace={ns!r}, start=False)\n"
        "threading.Thread(target=lambda: load_client.load('browserdash', concurrency=4, duration=30),"
        " daemon=True).start()",
    ])
    with lab_server(tmp_path, env={"JUPYTER_KNATIVE_HOME": str(plane.home)}) as url, chromium_page() as page:
        page.goto(url.format(path="dashboard.ipynb"))
        run_all_cells(page)
        try:
            page.wait_for_selector(".js-plotly-plot", timeout=90_000)
        except Exception:
            screenshot(page, "dashboard-failed.png")
            raise
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .scatterlayer .trace').length > 0",
                               timeout=60_000)
        first = page.evaluate(PLOT_TRACES)
        time.sleep(4)
        later = page.evaluate(PLOT_TRACES)
        screenshot(page, "dashboard-under-load.png")
        assert sum(map(sum, later)) > sum(map(sum, first)), (first, later)  # points keep arriving


REPLICAS = """(service) => [...document.querySelectorAll('[data-knative-revision]')]
  .filter(r => r.getAttribute('data-knative-revision').startsWith(service + '-'))
  .map(r => Number(r.getAttribute('data-actual') || 0)).reduce((a, b) => a + b, 0)"""


def test_sidebar_yaml_cell_and_service_proxy(plane: Plane, namespace: str, tmp_path: Path) -> None:
    ns = namespace
    notebook(tmp_path / "lab.ipynb", [
        "%load_ext jupyter_knative",
        f"%%knative service sidebarsvc -n {ns} --scale-min 1\n"
        "def handler(request):\n    return 'hello through the Jupyter proxy'\n",
        "import time\ntime.sleep(8)",
        f"%knative scale sidebarsvc --min 3 -n {ns}",
        f"%%knative apply -n {ns}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: '1'\n",
    ])
    with lab_server(tmp_path, env={"JUPYTER_KNATIVE_HOME": str(plane.home)}) as url, chromium_page() as page:
        page.goto(url.format(path="lab.ipynb"))
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        if not page.is_visible(".jp-knative-sidebar"):
            page.click(".jp-SideBar [data-id='jp-knative-sidebar']")
        page.wait_for_selector(".jp-knative-plane-indicator[data-running='true']", timeout=30_000)
        namespace_picker = page.query_selector(".jp-knative-sidebar select")
        run_all_cells(page)
        if namespace_picker is not None:  # the cells deploy into the test's namespace: show that one
            page.wait_for_function(f"() => [...document.querySelectorAll('.jp-knative-sidebar select option')]"
                                   f".some(o => o.value === {ns!r})", timeout=30_000)
            namespace_picker.select_option(ns)
        page.wait_for_selector("[data-knative-service='sidebarsvc']", timeout=60_000)
        page.wait_for_function(f"() => ({REPLICAS})('sidebarsvc') === 1", timeout=30_000)
        screenshot(page, "sidebar-one-replica.png")
        page.wait_for_function(f"() => ({REPLICAS})('sidebarsvc') >= 3", timeout=60_000)  # after `scale --min 3`
        screenshot(page, "sidebar-scaled.png")
        yaml_cell = page.wait_for_selector(".jp-Cell.jp-knative-yaml-cell", timeout=30_000)
        assert "kind: ConfigMap" in (yaml_cell.inner_text() or "")
        python_cells = page.query_selector_all(".jp-Cell.jp-knative-yaml-cell")
        assert len(python_cells) == 1  # only the apply cell is YAML
        with page.context.expect_page() as opened:
            page.click("[data-knative-service='sidebarsvc'] [data-knative-action='open']")
        service_page = opened.value
        service_page.wait_for_load_state()
        assert "hello through the Jupyter proxy" in service_page.content()
        assert f"/knative/proxy/{ns}/sidebarsvc/" in service_page.url
        screenshot(service_page, "service-through-proxy.png")
