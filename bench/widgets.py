"""Widget benchmarks in a real kernel: the comm messages per second a live dashboard sends, and how often its figure
updates, for a service with 10 revisions sharing traffic while load runs (goal: ≤ 100 messages/s per kernel, ≤ 20 Hz
per widget, nothing dropped)."""

from __future__ import annotations

import collections
import os
import sys
import time
from pathlib import Path
from typing import Any

from .apiserver import Conn, running_plane

SETUP = """
from jupyter_knative import Client
from jupyter_knative.widgets import Dashboard
client = Client.embedded(namespace="bench", start=False)
for i in range(10):
    client.deploy_function("ten", f"def handler(request):\\n    return 'v{i}'\\n")
client.traffic("ten", {f"ten-{i:05d}": 10 for i in range(1, 11)})
"""

RUN = """
import threading
dash = Dashboard("ten", client=client)
display(dash)
load = threading.Thread(target=lambda: client.load("ten", concurrency=8, duration={seconds}), daemon=True)
load.start()
"""


def run() -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.kernel import comm_messages, kernel

    rows: list[dict[str, Any]] = []
    seconds = 10.0
    with running_plane() as home:
        Conn(home).call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": "bench"}})
        with kernel({"JUPYTER_KNATIVE_HOME": str(home)}) as k:
            k.run(SETUP, timeout=300)
            k.run(RUN.replace("{seconds}", str(seconds)))
            t0 = time.monotonic()
            msgs = comm_messages(k.collect(seconds))
            elapsed = time.monotonic() - t0
            k.run("dash.close()")
    per_comm = collections.Counter(m["content"]["comm_id"] for m in msgs)
    busiest = max(per_comm.values(), default=0)
    per_second = collections.Counter(int(m["header"]["date"].timestamp()) if hasattr(m["header"]["date"], "timestamp")
                                     else 0 for m in msgs)
    rows.append({"metric": "comm messages per second, dashboard of 10 revisions under load",
                 "value": f"{len(msgs) / elapsed:.1f} (peak second {max(per_second.values(), default=0)})",
                 "target": "<= 100/s per kernel"})
    updates = sum(1 for m in msgs if ((m["content"]["data"].get("state") or {}).get("_py2js_update")))
    rows.append({"metric": "figure updates per second", "value": f"{updates / elapsed:.1f} Hz", "target": "<= 20 Hz"})
    rows.append({"metric": "messages per second, busiest widget", "value": f"{busiest / elapsed:.1f}"})
    rows.append({"metric": "widgets sending", "value": str(len(per_comm))})
    return {"suite": "widgets", "machine": os.uname().machine, "cpus": os.cpu_count(), "rows": rows}


if __name__ == "__main__":
    for row in run()["rows"]:
        print(row, file=sys.stdout)
