"""The runtime image's entry point (runtime/Dockerfile): serve one function shipped as files, on a cluster.

    python -m jupyter_knative.runtime.serve

reads
- `JUPYTER_KNATIVE_FUNCTION`: the function's source file (default `/function/main.py`, where the ConfigMap that
  `jupyter_knative.client.shipping` makes is mounted);
- `JUPYTER_KNATIVE_HANDLER`: the entry point in it (optional; otherwise the adapters' rules pick it);
- `JUPYTER_KNATIVE_REQUIREMENTS`: a requirements file, installed at start with `pip install --target` into
  `JUPYTER_KNATIVE_DEPS` (default: a fresh temporary folder; the mount itself is read-only) and put ahead of
  the runtime's own packages; pip's own `PIP_*` variables (index, find-links, ...) apply;
- `PORT`: where to listen (Knative sets it from the container port; default 8080), on all addresses.

It loads the function as a replica does (`loader`, `adapters`) and serves it with the runtime's HTTP server until
SIGTERM, then drains (`JUPYTER_KNATIVE_DRAIN_SECONDS`). Exit status 1 when the function cannot be loaded or
its requirements cannot be installed, 3 when its lifespan startup fails.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Mapping
from pathlib import Path

from .adapters import Loaded, load_app
from .loader import add_dependencies, load_file
from .replica import exit_now, serve

__all__ = ["DEFAULT_FUNCTION", "DEFAULT_PORT", "install_requirements", "listen", "load_function", "main"]

FUNCTION_ENV = "JUPYTER_KNATIVE_FUNCTION"
HANDLER_ENV = "JUPYTER_KNATIVE_HANDLER"
REQUIREMENTS_ENV = "JUPYTER_KNATIVE_REQUIREMENTS"
DEPS_ENV = "JUPYTER_KNATIVE_DEPS"
DEFAULT_FUNCTION = "/function/main.py"
DEFAULT_PORT = 8080


class StartupError(RuntimeError):
    """The function's requirements could not be installed."""


def install_requirements(requirements: Path, target: Path) -> None:
    """`pip install --target target -r requirements`, then `target` first on `sys.path`."""
    lines = [line for line in requirements.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return
    target.mkdir(parents=True, exist_ok=True)
    print(f"Installing the function's requirements ({', '.join(lines)}) into {target}", file=sys.stderr, flush=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                           "--quiet", "--target", str(target), "-r", str(requirements)],
                          stdout=sys.stderr, stderr=sys.stderr, check=False)
    if proc.returncode != 0:
        raise StartupError(f"pip could not install {requirements} (exit status {proc.returncode})")
    add_dependencies(target)


def load_function(env: Mapping[str, str]) -> Loaded:
    """Install the requirements (if any), then load the function the environment names."""
    requirements = env.get(REQUIREMENTS_ENV)
    if requirements and Path(requirements).is_file():
        target = env.get(DEPS_ENV) or tempfile.mkdtemp(prefix="jupyter-knative-deps-")
        install_requirements(Path(requirements), Path(target))
    path = Path(env.get(FUNCTION_ENV) or DEFAULT_FUNCTION)
    return load_app(load_file(path), env.get(HANDLER_ENV) or None)


def listen(port: int) -> socket.socket:
    """A listening socket on every address (IPv6 and IPv4 where the host has both)."""
    if socket.has_dualstack_ipv6():
        return socket.create_server(("::", port), family=socket.AF_INET6, dualstack_ipv6=True, backlog=1024)
    return socket.create_server(("0.0.0.0", port), backlog=1024)  # a container serves every address


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    try:
        loaded = load_function(env)
    except BaseException:
        traceback.print_exc()
        return 1
    port = int(env.get("PORT") or DEFAULT_PORT)
    sock = listen(port)
    print(f"Serving {loaded.kind} {loaded.target!r} on port {port}", file=sys.stderr, flush=True)
    return serve(loaded.app, sock)


if __name__ == "__main__":
    exit_now(main())
