"""What a replica process runs, forked from a zygote or started fresh.

`load_image` turns an image reference into the application (a packaged function, a built-in sample, or
the function runtime image's function, found through the environment as `serve.load_function` finds it);
`serve` runs it on the listening socket until SIGTERM, then drains and returns 0 (3 if the
application's lifespan startup failed, as uvicorn exits).

Fresh-interpreter fallback (and the cold-start baseline):
    python -m jupyter_knative.runtime.replica --image REF --store DIR --fd N [--pod NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path

from . import clusterdns
from .adapters import Loaded, load_app
from .artifacts import resolve
from .asgi import ASGIApp
from .http import LifespanFailure, Server, ServerConfig
from .loader import add_dependencies, load_entry
from .samples import create_sample

__all__ = ["DRAIN_ENV", "RUNTIME_DEPS", "ImageNotFound", "load_image", "main", "serve"]

DRAIN_ENV = "JUPYTER_KNATIVE_DRAIN_SECONDS"
"""How long a replica lets in-flight requests finish after SIGTERM (default 30; the supervisor's own
grace, after which it sends SIGKILL, should be at least this)."""
LIFESPAN_FAILED = 3


RUNTIME_DEPS = "runtime-deps"
"""Where, in the store, the runtime image's requirements are installed once per requirements file."""


class ImageNotFound(LookupError):
    """The image is neither a packaged function in the store, a built-in sample nor the runtime image."""


def load_image(image: str, store: Path, env: Mapping[str, str] | None = None) -> Loaded:
    """The application `image` runs; executes a function's module (once), with its dependency set importable.
    In a zygote this runs before any fork, so the module's imports (heavy libraries too) are shared by every
    replica. The runtime image's function is found through `env` (default: the process's environment, the
    container's), its requirements installed once into the store. User errors propagate."""
    clusterdns.install()  # cluster-local names reach the plane's ingress, as cluster DNS would
    resolved = resolve(image, store)
    if resolved is None:
        raise ImageNotFound(f"image {image!r} is neither a function packaged in {store}, a built-in sample nor "
                            f"the function runtime image")
    if resolved.kind == "sample":
        return Loaded(create_sample(resolved.name), "sample", resolved.name)
    if resolved.kind == "runtime":
        from .serve import DEPS_CACHE_ENV, load_function  # serve imports this module

        container = dict(os.environ if env is None else env)
        container.setdefault(DEPS_CACHE_ENV, str(Path(store) / RUNTIME_DEPS))
        return load_function(container)
    assert resolved.path is not None
    if resolved.deps is not None:
        if not resolved.deps.is_dir():
            raise ImageNotFound(f"image {image!r} needs the dependency set {resolved.deps}, which is gone from the "
                                f"store; package the function again to reinstall it")
        add_dependencies(resolved.deps)
    return load_app(load_entry(resolved.path, resolved.entry), resolved.entrypoint)


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        return asyncio.new_event_loop
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def serve(app: ASGIApp, sock: socket.socket, *, config: ServerConfig | None = None,
          grace: float | None = None) -> int:
    """Serve until SIGTERM; return the exit status."""
    if grace is None:
        grace = float(os.environ.get(DRAIN_ENV) or 30.0)
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(_serve(app, sock, config, grace))


async def _serve(app: ASGIApp, sock: socket.socket, config: ServerConfig | None, grace: float) -> int:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    server = Server(app, sock, config)
    try:
        await server.start()
    except LifespanFailure as exc:
        print(f"Application startup failed: {exc}", file=sys.stderr, flush=True)
        return LIFESPAN_FAILED
    await stop.wait()
    await server.shutdown(grace)
    return 0


def exit_now(status: int) -> None:
    """Flush stdio and leave without interpreter teardown (worker threads stuck in user code would
    otherwise hold the exit)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_knative.runtime.replica")
    parser.add_argument("--image", required=True)
    parser.add_argument("--store", required=True, type=Path)
    parser.add_argument("--fd", required=True, type=int, help="an inherited, bound listening socket")
    parser.add_argument("--pod", default="")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides when a replica stops
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sock = socket.socket(fileno=args.fd)
    try:
        loaded = load_image(args.image, args.store)
    except BaseException:
        traceback.print_exc()
        return 1
    return serve(loaded.app, sock)


if __name__ == "__main__":
    exit_now(main())
