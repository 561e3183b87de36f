"""The runtime image's entry point (runtime/Dockerfile): serve one function shipped as files, on a cluster.

    python -m jupyter_knative.runtime.serve

reads
- `JUPYTER_KNATIVE_FUNCTION`: the function's source file (default `/function/main.py`, where the ConfigMap that
  `jupyter_knative.client.shipping` makes is mounted);
- `JUPYTER_KNATIVE_HANDLER`: the entry point in it (optional; otherwise the adapters' rules pick it);
- `JUPYTER_KNATIVE_REQUIREMENTS`: a requirements file, installed at start with `pip install --target` into
  `JUPYTER_KNATIVE_DEPS` (default: a fresh temporary folder; the mount itself is read-only) and put ahead of
  the runtime's own packages; pip's own `PIP_*` variables (index, find-links, ...) apply. With
  `JUPYTER_KNATIVE_DEPS_CACHE` set instead, they are installed once into a folder of it named by the file's
  content and the interpreter, and reused (what the embedded plane does: every replica of a revision, and every
  revision with the same requirements, shares one installation);
- `JUPYTER_KNATIVE_PACKAGES`: a folder of preinstalled packages (an image that baked the requirements in), put
  first on `sys.path` when it exists;
- `JUPYTER_KNATIVE_MOUNTS`: where the container's mount paths really are, as JSON `{"<mountPath>": "<host
  path>"}`. Set by the embedded plane's kubelet, which runs the image as a local process and materialises
  ConfigMap, Secret and emptyDir volumes in folders of its own: the paths above are read through it
  (`host_path`), so `/function/main.py` is found where the plane put the ConfigMap. Absent on a cluster;
- `PORT`: where to listen (Knative sets it from the container port; default 8080), on all addresses.

It loads the function as a replica does (`loader`, `adapters`) and serves it with the runtime's HTTP server until
SIGTERM, then drains (`JUPYTER_KNATIVE_DRAIN_SECONDS`). Exit status 1 when the function cannot be loaded or
its requirements cannot be installed, 3 when its lifespan startup fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
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

__all__ = ["DEFAULT_FUNCTION", "DEFAULT_PORT", "MOUNTS_ENV", "PACKAGES_ENV", "StartupError", "cached_requirements",
           "host_path", "install_requirements", "listen", "load_function", "main", "parse_mounts"]

FUNCTION_ENV = "JUPYTER_KNATIVE_FUNCTION"
HANDLER_ENV = "JUPYTER_KNATIVE_HANDLER"
REQUIREMENTS_ENV = "JUPYTER_KNATIVE_REQUIREMENTS"
DEPS_ENV = "JUPYTER_KNATIVE_DEPS"
DEPS_CACHE_ENV = "JUPYTER_KNATIVE_DEPS_CACHE"
PACKAGES_ENV = "JUPYTER_KNATIVE_PACKAGES"
MOUNTS_ENV = "JUPYTER_KNATIVE_MOUNTS"
_COMPLETE = ".installed"
DEFAULT_FUNCTION = "/function/main.py"
DEFAULT_PORT = 8080


class StartupError(RuntimeError):
    """The function's requirements could not be installed, or the environment is malformed."""


def parse_mounts(text: str | None) -> dict[str, str]:
    """`JUPYTER_KNATIVE_MOUNTS` as {mount path: host path}; {} when unset. Raises `StartupError` when it is not
    a JSON object of absolute paths to strings."""
    if not text:
        return {}
    try:
        table = json.loads(text)
    except ValueError as exc:
        raise StartupError(f"{MOUNTS_ENV} is not JSON: {exc}") from None
    if not isinstance(table, dict) or not all(isinstance(k, str) and k.startswith("/") and isinstance(v, str) and v
                                              for k, v in table.items()):
        raise StartupError(f"{MOUNTS_ENV} = {text!r}, must be a JSON object from absolute mount paths to paths")
    return {posixpath.normpath(k): v for k, v in table.items()}


def host_path(path: str, mounts: Mapping[str, str]) -> str:
    """Where `path`, as the container sees it, really is: under the deepest mount path that contains it, the
    rest of it joined to that mount's host path; `path` itself when no mount holds it (or it is relative)."""
    if not path.startswith("/") or not mounts:
        return path
    normal = posixpath.normpath(path)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    for mount in sorted(mounts, key=len, reverse=True):
        if mount == "/":
            rest = normal.lstrip("/")
        elif normal == mount:
            rest = ""
        elif normal.startswith(mount + "/"):
            rest = normal[len(mount) + 1:]
        else:
            continue
        return str(Path(mounts[mount], rest)) if rest else mounts[mount]
    return path


def _requirement_lines(requirements: Path) -> list[str]:
    return [line for line in requirements.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def install_requirements(requirements: Path, target: Path) -> None:
    """`pip install --target target -r requirements`, then `target` first on `sys.path`."""
    lines = _requirement_lines(requirements)
    if not lines:
        return
    _pip_install(requirements, lines, target)
    add_dependencies(target)


def cached_requirements(requirements: Path, cache: Path) -> Path | None:
    """Install `requirements` once into `cache/<digest>` (the file's content and the interpreter), put it first
    on `sys.path` and return it; None when the file asks for nothing. Concurrent starts race harmlessly: each
    installs beside the final folder and the first rename wins."""
    text = requirements.read_bytes()
    lines = _requirement_lines(requirements)
    if not lines:
        return None
    interpreter = f"{sys.implementation.cache_tag}-{sys.platform}-{os.uname().machine}"
    key = hashlib.sha256(interpreter.encode() + b"\0" + text).hexdigest()[:32]
    final = cache / key
    if not (final / _COMPLETE).is_file():
        cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache))
        try:
            _pip_install(requirements, lines, staging)
            (staging / _COMPLETE).write_text("\n".join(lines) + "\n", encoding="utf-8")
            try:
                os.rename(staging, final)
            except OSError:
                if not (final / _COMPLETE).is_file():
                    raise  # not a lost race with another start: a real failure
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    add_dependencies(final)
    return final


def _pip_install(requirements: Path, lines: list[str], target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    print(f"Installing the function's requirements ({', '.join(lines)}) into {target}", file=sys.stderr, flush=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                           "--quiet", "--target", str(target), "-r", str(requirements)],
                          stdout=sys.stderr, stderr=sys.stderr, check=False)
    if proc.returncode != 0:
        raise StartupError(f"pip could not install {requirements} (exit status {proc.returncode})")


def load_function(env: Mapping[str, str]) -> Loaded:
    """Install the requirements (if any), put the preinstalled packages (if any) first on `sys.path`, then load
    the function the environment names; every path is read through the mount table (`host_path`)."""
    mounts = parse_mounts(env.get(MOUNTS_ENV))
    requirements = env.get(REQUIREMENTS_ENV)
    found = Path(host_path(requirements, mounts)) if requirements else None
    if found is not None and found.is_file():
        cache = env.get(DEPS_CACHE_ENV)
        if cache and not env.get(DEPS_ENV):
            cached_requirements(found, Path(host_path(cache, mounts)))
        else:
            target = env.get(DEPS_ENV) or tempfile.mkdtemp(prefix="jupyter-knative-deps-")
            install_requirements(found, Path(host_path(target, mounts)))
    packages = env.get(PACKAGES_ENV)
    if packages and Path(host_path(packages, mounts)).is_dir():
        add_dependencies(Path(host_path(packages, mounts)))
    path = Path(host_path(env.get(FUNCTION_ENV) or DEFAULT_FUNCTION, mounts))
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
