"""The function runtime: what a replica serves, and the zygote that forks replicas.

Kernel side (the notebook layer): `package_function(source, name=..., store=...)` (or `package_folder`)
→ an image reference; `tag_image` gives it another name.
Daemon side (the replica supervisor): `resolve(image, store)`, `ZygoteClient.start(...)` then
`fork(...)`, or `spawn_fresh(...)` with the same contract. Inside a replica: the HTTP server
(`http.Server`), the adapters that make user code an ASGI application, and the built-in samples.

Only the light modules load with the package; the rest load on first use, so the kernel pays for
what it calls.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .artifacts import (
    ABI_VERSION,
    DependencyError,
    Resolved,
    package_folder,
    package_function,
    parse_ref,
    resolve,
    tag_image,
)
from .samples import SAMPLES, sample_for

if TYPE_CHECKING:
    from .adapters import EntrypointError, Loaded, load_app
    from .http import Server, ServerConfig
    from .request import HTTPError, Request
    from .responses import Response
    from .zygote_client import FreshSpawner, ReplicaSpawner, ZygoteClient, ZygoteError, spawn_fresh

__all__ = [
    "ABI_VERSION", "SAMPLES", "DependencyError", "EntrypointError", "FreshSpawner", "HTTPError", "Loaded",
    "ReplicaSpawner", "Request", "Resolved", "Response", "Server", "ServerConfig", "ZygoteClient", "ZygoteError",
    "load_app", "package_folder", "package_function", "parse_ref", "resolve", "sample_for", "spawn_fresh", "tag_image",
]

_LAZY = {
    "EntrypointError": ".adapters", "Loaded": ".adapters", "load_app": ".adapters",
    "Server": ".http", "ServerConfig": ".http",
    "HTTPError": ".request", "Request": ".request", "Response": ".responses",
    "FreshSpawner": ".zygote_client", "ReplicaSpawner": ".zygote_client", "ZygoteClient": ".zygote_client",
    "ZygoteError": ".zygote_client", "spawn_fresh": ".zygote_client",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
