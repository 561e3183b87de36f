"""What the handlers ask of the plane or cluster, synchronously (they run it in the extension's thread pool).

`Backend` owns one `Client` for requests and makes more for the stream's watchers; every failure is a
`KnativeError` (the handlers turn its reason into an HTTP status).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_knative._version import __version__
from jupyter_knative.client import Client, KnativeError
from jupyter_knative.home import PlaneHome, daemon_running

from .snapshot import KINDS, build_snapshot

__all__ = ["EMBEDDED", "KUBERNETES", "Backend", "BackendConfig", "PlaneControlError"]

EMBEDDED = "embedded"
KUBERNETES = "kubernetes"
UNSERVED_RECHECK = 60.0  # seconds before asking again about a kind the server did not serve
PLANE_UP_TIMEOUT = 60.0


@dataclass(frozen=True)
class BackendConfig:
    backend: str = EMBEDDED
    home: str | None = None  # the embedded plane's home; None: $JUPYTER_KNATIVE_HOME
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None  # None: "default" (embedded) or the kubeconfig context's
    ingress: str | None = None  # the kubernetes backend's ingress (a port-forwarded Kourier); None: a plane's own


class PlaneControlError(Exception):
    """Starting or stopping the embedded plane failed; `log_tail` holds the daemon log's last lines."""

    def __init__(self, message: str, log_tail: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.log_tail = log_tail


class Backend:
    def __init__(self, config: BackendConfig, clock: Callable[[], float] = time.monotonic) -> None:
        if config.backend not in (EMBEDDED, KUBERNETES):
            raise ValueError(f"backend = {config.backend!r}, must be 'embedded' or 'kubernetes'")
        self.config = config
        self.kind = config.backend
        self.home = PlaneHome(Path(config.home).expanduser().absolute()) if config.home else PlaneHome.default()
        self._clock = clock
        self._lock = threading.Lock()
        self._client: Client | None = None
        self._unserved: dict[str, float] = {}  # kind -> when to ask again

    # -- clients ---------------------------------------------------------------------------------------------

    def new_client(self) -> Client:
        c = self.config
        if self.kind == EMBEDDED:
            return Client.embedded(namespace=c.namespace or "default", home=self.home, start=False)
        return Client(kubeconfig=c.kubeconfig, context=c.context, namespace=c.namespace, ingress=c.ingress)

    @property
    def client(self) -> Client:
        with self._lock:
            if self._client is None:
                self._client = self.new_client()
            return self._client

    @property
    def namespace(self) -> str:
        if self.kind == EMBEDDED:
            return self.config.namespace or "default"
        try:
            return self.client.namespace
        except KnativeError:
            return self.config.namespace or "default"

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # -- the plane -------------------------------------------------------------------------------------------

    def plane_state(self) -> tuple[Any, ...]:
        """A cheap fingerprint of whether the plane is up (no request): the stream polls it."""
        if self.kind != EMBEDDED:
            return (KUBERNETES,)
        if not daemon_running(self.home):
            return (False,)
        state = self.home.read_state()
        return (state is not None, state.pid if state else None, state.api if state else None)

    def status(self) -> dict[str, Any]:
        if self.kind == EMBEDDED:
            from jupyter_knative.client.daemonctl import DaemonControl

            st = DaemonControl(self.home).status()
            running = st.running and st.ready
            return {"backend": EMBEDDED, "running": running, "api": st.api if running else None,
                    "ingress": st.ingress if running else None, "namespace": self.namespace,
                    "version": st.version or __version__}
        try:
            info = self.client.status()
        except KnativeError as e:
            return {"backend": KUBERNETES, "running": False, "api": None, "ingress": None,
                    "namespace": self.config.namespace or "default", "version": "", "error": e.message}
        reachable = bool(info.get("reachable"))
        return {"backend": KUBERNETES, "running": reachable, "api": info.get("server"),
                "ingress": self.ingress() if reachable else None, "namespace": self.namespace,
                "version": str(info.get("version") or "")}

    def start(self) -> dict[str, Any]:
        from jupyter_knative.client.daemonctl import DaemonControl, DaemonError

        self._embedded_only("start")
        try:
            DaemonControl(self.home).up(timeout=PLANE_UP_TIMEOUT)
        except DaemonError as e:
            raise PlaneControlError(f"the plane did not start: {e.message}", e.log_tail[-10:]) from None
        return self.status()

    def stop(self) -> dict[str, Any]:
        from jupyter_knative.client.daemonctl import DaemonControl, DaemonError

        self._embedded_only("stop")
        try:
            DaemonControl(self.home).down()
        except DaemonError as e:
            raise PlaneControlError(f"the plane did not stop: {e.message}", e.log_tail[-10:]) from None
        return self.status()

    def _embedded_only(self, what: str) -> None:
        if self.kind != EMBEDDED:
            raise KnativeError(f"cannot {what} a Kubernetes cluster; only the embedded plane starts and stops here",
                               reason="Conflict")

    def ingress(self) -> str | None:
        """The configured ingress of a cluster, else the plane's data-plane address when this backend is a running
        plane (also through its kubeconfig)."""
        if self.kind != EMBEDDED and self.config.ingress:
            return self.config.ingress
        if self.kind == EMBEDDED:
            state = self.home.read_state() if daemon_running(self.home) else None
            return state.ingress if state else None
        client = self.client
        home = client.home
        state = home.read_state() if home is not None and daemon_running(home) else None
        if state is None:
            return None
        server = str(client.api.configuration.host)
        return state.ingress if state.api.rstrip("/") == server.rstrip("/") else None

    # -- objects ---------------------------------------------------------------------------------------------

    def namespaces(self) -> list[str]:
        try:
            items = self.client.list("namespaces")
        except KnativeError as e:
            if e.reason in ("Forbidden", "Unauthorized"):  # a user without cluster-wide reads
                return [self.namespace]
            raise
        return sorted(str((i.get("metadata") or {}).get("name")) for i in items)

    def list_objects(self, namespace: str, client: Client | None = None) -> dict[str, list[dict[str, Any]]]:
        """Every snapshot kind the server serves, listed in `namespace`."""
        client = client or self.client
        out: dict[str, list[dict[str, Any]]] = {}
        for key, kind in KINDS.items():
            if self._unserved.get(kind, 0.0) > self._clock():
                continue
            try:
                out[key] = client.list(kind, namespace=namespace)
            except KnativeError as e:
                if e.reason not in ("NotFound", "Forbidden", "MethodNotAllowed"):
                    raise
                self._unserved[kind] = self._clock() + UNSERVED_RECHECK
        return out

    def serves(self, kind: str) -> bool:
        return self._unserved.get(kind, 0.0) <= self._clock()

    def mark_unserved(self, kind: str) -> None:
        self._unserved[kind] = self._clock() + UNSERVED_RECHECK

    def snapshot(self, namespace: str, client: Client | None = None) -> dict[str, Any]:
        """The namespace's Snapshot; an empty one while the plane is down."""
        try:
            return build_snapshot(namespace, self.list_objects(namespace, client))
        except KnativeError as e:
            if e.reason in ("PlaneDown", "Unreachable"):
                return build_snapshot(namespace, {})
            raise

    def delete(self, kind: str, namespace: str, name: str) -> None:
        self.client.delete(kind, name, namespace=namespace, wait=False)

    def logs(self, namespace: str, service: str, tail: int | None) -> str:
        text = self.client.logs(service, namespace=namespace, tail=tail)
        assert isinstance(text, str)
        return text
