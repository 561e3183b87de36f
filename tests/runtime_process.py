"""The runtime image's entry point as a real process, for tests of what ships to a cluster."""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import sys
import time
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


def get_when_up(port: int, proc: subprocess.Popen[str] | None = None, path: str = "/",
                timeout: float = 60) -> tuple[int, bytes]:
    """GET `path` once the server on `port` answers (status, body); fails at once when `proc` has exited."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            errors = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"the runtime exited with {proc.returncode}: {errors}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
        finally:
            conn.close()
