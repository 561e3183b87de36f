"""The runtime image's entry point as a real process, for tests of what ships to a cluster."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def serve_runtime(env: dict[str, str], port: int, *, image_only: bool = False) -> Iterator[subprocess.Popen[str]]:
    """`python -m jupyter_knative.runtime.serve` on `port` with `env` (the Service's or image's variables).

    By default the project comes from this checkout (PYTHONPATH); with `image_only` nothing of this environment's
    Python path is kept (`-s`, no PYTHON* variables, run from `/`), so only what `env` points at is importable —
    as inside an image."""
    drop = ("JUPYTER_KNATIVE_", "PYTHON") if image_only else ("JUPYTER_KNATIVE_",)
    child = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    child.update(env, PORT=str(port))
    if not image_only:
        child["PYTHONPATH"] = str(REPO)
    args = [sys.executable, *(["-s"] if image_only else []), "-m", "jupyter_knative.runtime.serve"]
    proc = subprocess.Popen(args, env=child, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd="/" if image_only else None)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
