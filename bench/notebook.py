"""Notebook benchmark: from running a `%%knative service` cell to the first successful `%knative invoke`.

A real kernel (jupyter_client's KernelManager) with `JUPYTER_KNATIVE_HOME` pointing at a fresh plane
home, driven over ZMQ as JupyterLab drives it. Each figure is the wall time, seen by the frontend, from
sending the service cell to the first invoke answering 200 (the cell itself waits for Ready):

- the first deploy of a service (its zygote is started for it);
- a changed cell (a new revision of a service whose zygote is warm);
- an unchanged cell (no new revision, like kn);
- after a kernel restart (the plane keeps running): `%load_ext`, then the same cell and invoke.

Run: `python -c "import bench.notebook as b, json; print(json.dumps(b.run(), indent=2))"`.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from .apiserver import running_plane

SERVICE = "bench"
CELL = '''%%knative service {name}
def handler(request):
    return "version {version}"
'''
INVOKE = f"_bench_r = get_ipython().run_line_magic('knative', 'invoke {SERVICE}')"
REPEATS = 3


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


class Kernel:
    def __init__(self, home: Path, cwd: Path) -> None:
        env = {**os.environ, "JUPYTER_KNATIVE_HOME": str(home),
               "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(env=env, cwd=str(cwd))
        self.client: BlockingKernelClient = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str, expression: str | None = None) -> tuple[bool, str | None]:
        """Execute `code`; (succeeded, the plain-text value of `expression` when given)."""
        expressions = {"value": expression} if expression else {}
        reply = self.client.execute_interactive(code, user_expressions=expressions, timeout=300,
                                                output_hook=lambda msg: None)
        content = reply["content"]
        if content["status"] != "ok":
            return False, None
        value = content.get("user_expressions", {}).get("value", {})
        return True, value.get("data", {}).get("text/plain") if value.get("status") == "ok" else None

    def must(self, code: str) -> None:
        ok, _ = self.run(code)
        if not ok:
            raise RuntimeError(f"the kernel failed to run: {code.splitlines()[0]}")

    def restart(self) -> None:
        self.manager.restart_kernel(now=True)
        self.client.wait_for_ready(timeout=60)

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def cell_to_first_200(kernel: Kernel, version: int, deadline: float = 120.0) -> float:
    """Seconds from sending the service cell to the first invoke that answers 200."""
    t0 = time.perf_counter()
    kernel.must(CELL.format(name=SERVICE, version=version))
    while time.perf_counter() - t0 < deadline:
        ok, status = kernel.run(INVOKE, "_bench_r.status_code")
        if ok and status == "200":
            return time.perf_counter() - t0
    raise RuntimeError(f"no 200 from {SERVICE} within {deadline} s")


def bench_kernel(home: Path, cwd: Path, rows: list[dict[str, Any]]) -> None:
    kernel = Kernel(home, cwd)
    try:
        t0 = time.perf_counter()
        kernel.must("%load_ext jupyter_knative")
        rows.append({"metric": "%load_ext (plane running)", "value": _ms(time.perf_counter() - t0)})
        first = cell_to_first_200(kernel, version=0)
        rows.append({"metric": "service cell → first 200: new service", "value": _ms(first)})
        changed = [cell_to_first_200(kernel, version=v) for v in range(1, REPEATS + 1)]
        rows.append({"metric": "changed cell → first 200: new revision, warm (median)",
                     "value": _ms(statistics.median(changed))})
        same = [cell_to_first_200(kernel, version=REPEATS) for _ in range(REPEATS)]
        rows.append({"metric": "unchanged cell → first 200: no revision (median)",
                     "value": _ms(statistics.median(same))})

        kernel.restart()
        t0 = time.perf_counter()
        kernel.must("%load_ext jupyter_knative")
        load_ext = time.perf_counter() - t0
        rows.append({"metric": "after kernel restart: %load_ext", "value": _ms(load_ext)})
        again = cell_to_first_200(kernel, version=REPEATS)
        rows.append({"metric": "after kernel restart: same cell → first 200", "value": _ms(again)})
        rows.append({"metric": "after kernel restart: %load_ext + same cell → first 200",
                     "value": _ms(load_ext + again)})
        changed_after = cell_to_first_200(kernel, version=REPEATS + 1)
        rows.append({"metric": "after kernel restart: changed cell → first 200", "value": _ms(changed_after)})
    finally:
        kernel.close()


def run() -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with running_plane() as home:
        cwd = home.parent / "work"
        cwd.mkdir()
        bench_kernel(home, cwd, rows)
    return {"suite": "notebook", "machine": os.uname().machine, "cpus": os.cpu_count(), "rows": rows}


if __name__ == "__main__":
    for row in run()["rows"]:
        print(f"  {row['metric']:<56} {row['value']:>10}")
