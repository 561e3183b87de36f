"""Wiring: the `KnativeExtension` configurable, the shared state the handlers get, and the routes.

    c.KnativeExtension.backend = "embedded"      # or "kubernetes"
    c.KnativeExtension.home = "/path/to/home"    # the embedded plane's; default $JUPYTER_KNATIVE_HOME
    c.KnativeExtension.kubeconfig = "~/.kube/config"; c.KnativeExtension.context = "kind-knative"
    c.KnativeExtension.namespace = "default"
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jupyter_server.utils import url_path_join
from tornado.httpclient import AsyncHTTPClient
from traitlets import CaselessStrEnum, Float, Int, Unicode
from traitlets.config import LoggingConfigurable

from .backend import Backend, BackendConfig
from .handlers import (
    DNS_LABEL,
    LogsHandler,
    NamespacesHandler,
    ObjectHandler,
    ObjectsHandler,
    PlaneHandler,
    StatusHandler,
    StreamHandler,
)
from .proxy import ProxyHandler
from .stream import Hub

__all__ = ["KnativeExtension", "KnativeState", "load"]

STATE_KEY = "jupyter_knative"


class KnativeExtension(LoggingConfigurable):
    """Configuration of the jupyter-knative server extension."""

    backend = CaselessStrEnum(["embedded", "kubernetes"], default_value="embedded", config=True,
                              help="The embedded plane of `home`, or the cluster of `kubeconfig`.")
    home = Unicode("", config=True, help="The embedded plane's home directory; empty: $JUPYTER_KNATIVE_HOME "
                                         "(default ~/.jupyter-knative).")
    kubeconfig = Unicode("", config=True, help="The kubeconfig of the kubernetes backend; empty: $KUBECONFIG "
                                               "or ~/.kube/config.")
    context = Unicode("", config=True, help="The kubeconfig context; empty: its current context.")
    namespace = Unicode("", config=True, help="The namespace shown first; empty: 'default' (embedded) or the "
                                              "kubeconfig context's.")
    ingress = Unicode("", config=True, help="The kubernetes backend's ingress as this server reaches it (e.g. a "
                                            "port-forwarded Kourier, http://127.0.0.1:8080): where the service "
                                            "proxy sends requests; empty: the plane's, when the cluster is one.")
    proxy_timeout = Float(600.0, config=True, help="Seconds a proxied request may take (a cold start included).")
    stream_keepalive = Float(15.0, config=True, help="Seconds between keep-alive comments on an idle stream.")
    threads = Int(8, config=True, help="Threads running the (synchronous) client's calls.")


class KnativeState:
    """What every handler shares: the backend, its thread pool, the stream hub and the proxy's HTTP client."""

    def __init__(self, ext: KnativeExtension) -> None:
        self.config = ext
        self.backend = Backend(BackendConfig(backend=ext.backend.lower(), home=ext.home or None,
                                             kubeconfig=ext.kubeconfig or None, context=ext.context or None,
                                             namespace=ext.namespace or None, ingress=ext.ingress or None))
        self.executor = ThreadPoolExecutor(max_workers=max(2, ext.threads), thread_name_prefix="knative-server")
        self.hub = Hub(self.backend, self.executor, ext.log)
        self.keepalive = ext.stream_keepalive
        self.proxy_timeout = ext.proxy_timeout
        self._http: AsyncHTTPClient | None = None

    def http_client(self) -> AsyncHTTPClient:
        """Our own client (the shared one allows 10 requests at once, for every extension together)."""
        if self._http is None:
            self._http = AsyncHTTPClient(force_instance=True, max_clients=100, max_body_size=1 << 40)
        return self._http

    async def close(self) -> None:
        await self.hub.close()
        if self._http is not None:
            self._http.close()
            self._http = None
        self.executor.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(Exception):
            self.backend.close()


def handlers(base_url: str, state: KnativeState) -> list[tuple[str, Any, dict[str, Any]]]:
    root = url_path_join(base_url, "knative")
    ns, name = f"(?P<namespace>{DNS_LABEL})", f"(?P<name>{DNS_LABEL})"
    kw = {"state": state}
    return [
        (url_path_join(root, "api/status"), StatusHandler, kw),
        (url_path_join(root, "api/plane"), PlaneHandler, kw),
        (url_path_join(root, "api/namespaces"), NamespacesHandler, kw),
        (url_path_join(root, "api/objects"), ObjectsHandler, kw),
        (url_path_join(root, "api/stream"), StreamHandler, kw),
        (url_path_join(root, r"api/objects/(?P<kind>[a-z][a-z0-9.-]*)", ns, name), ObjectHandler, kw),
        (url_path_join(root, "api/logs", ns, f"(?P<service>{DNS_LABEL})"), LogsHandler, kw),
        (url_path_join(root, "proxy", ns, name) + "(?P<path>/.*)?", ProxyHandler, kw),
    ]


def load(serverapp: Any) -> KnativeState:
    ext = KnativeExtension(parent=serverapp)
    state = KnativeState(ext)
    web_app = serverapp.web_app
    web_app.settings[STATE_KEY] = state
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"], state))
    _on_cleanup(serverapp, state)
    where = state.backend.home.root if state.backend.kind == "embedded" else (ext.kubeconfig or "the kubeconfig")
    serverapp.log.info("jupyter_knative | %s backend (%s) under %sknative/", state.backend.kind, where,
                       web_app.settings["base_url"])
    return state


def _on_cleanup(serverapp: Any, state: KnativeState) -> None:
    """A module extension gets no stop hook of its own: close with the server's extension cleanup (open
    streams end, watchers stop)."""
    original = serverapp.cleanup_extensions

    async def cleanup_extensions() -> None:
        try:
            await state.close()
        finally:
            await original()

    serverapp.cleanup_extensions = cleanup_extensions
