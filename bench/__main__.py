"""Run every benchmark and print a report: `python -m bench [name ...]`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import apiserver, autoscaler, build, cluster, dataplane, eventing, notebook, runtime, serving, widgets

SUITES = {"apiserver": apiserver.run, "runtime": runtime.run, "dataplane": dataplane.run,
          "serving": serving.run, "autoscaler": autoscaler.run, "eventing": eventing.run,
          "build": build.run, "widgets": widgets.run, "cluster": cluster.run,
          "notebook": notebook.run}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("suites", nargs="*", metavar="suite", help=f"one of {', '.join(SUITES)} (default: all)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s): {', '.join(unknown)}")
    for name in args.suites or list(SUITES):
        results = SUITES[name]()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (args.out / f"{name}-{stamp}.json").write_text(json.dumps(results, indent=2))
        print(f"\n== {name}")
        for row in results["rows"]:
            print(f"  {row['metric']:<44} {row['value']:>12}   target {row.get('target', '-')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
