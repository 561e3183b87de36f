"""Cluster DNS for replicas: `*.svc` and `*.svc.cluster.local` names lead to the plane's ingress.

In Kubernetes a pod reaches `hello.default.svc.cluster.local` or the broker's ingress through cluster DNS. A
replica here is a process on the host, where those names do not resolve; the plane puts its ingress address in
`JUPYTER_KNATIVE_INGRESS`, and `install()` answers `socket.getaddrinfo` for cluster-local names with that address
(port included), so `requests`, `urllib` and `http.client` work unchanged: the connection goes to the ingress
and the Host header still names the service, which is how the ingress routes. Event loops with a resolver of
their own (uvloop) are not covered; `jupyter_knative.runtime.httpclient` is.
"""

from __future__ import annotations

import os
import socket
from typing import Any
from urllib.parse import urlsplit

__all__ = ["INGRESS_ENV", "install", "is_cluster_local"]

INGRESS_ENV = "JUPYTER_KNATIVE_INGRESS"
_SUFFIXES = (".svc", ".svc.cluster.local")
_installed = False


def is_cluster_local(host: str) -> bool:
    return host.rstrip(".").lower().endswith(_SUFFIXES)


def install(ingress: str | None = None) -> bool:
    """Route cluster-local names to the ingress (`http://host:port`, default: `$JUPYTER_KNATIVE_INGRESS`).
    Idempotent; False when there is no ingress to route to."""
    global _installed
    url = ingress or os.environ.get(INGRESS_ENV)
    if _installed or not url:
        return _installed
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    target_host, target_port = parts.hostname, parts.port or 80
    original = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
        if isinstance(name, str) and is_cluster_local(name):
            return original(target_host, target_port, *args, **kwargs)
        return original(host, port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    _installed = True
    return True
