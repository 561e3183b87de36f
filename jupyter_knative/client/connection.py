"""How the kernel reaches a Kubernetes API: the embedded plane (daemon.json + token + CA) or a kubeconfig.

One `Connection` carries the official client's `ApiClient` and a small JSON request/stream layer on top of it
that turns every failure into a `KnativeError`. A kubeconfig that a plane wrote (it sits in a plane home
beside the token and CA) is recognised, so such a client also knows the plane's ingress and files.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
import urllib3

from jupyter_knative.credentials import load_credentials
from jupyter_knative.home import DaemonState, PlaneHome

from .errors import PLANE_DOWN_HINT, KnativeError, from_status_body, from_transport

__all__ = ["JSON", "Connection", "Query", "RawAnswer", "plane_home_of"]

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io, application/json"
Query = Sequence[tuple[str, str]]
Backend = Literal["embedded", "kubernetes"]

RawAnswer = tuple[int, str, list[tuple[str, str]], bytes]
"""An HTTP answer as it came: status, reason, header pairs, body."""

POOL_SIZE = 32
"""Connections kept per server: live widgets hold one watch per kind (a dozen for the event flow) at once."""


def plane_home_of(kubeconfig: Path) -> PlaneHome | None:
    """The plane home a kubeconfig belongs to, when a plane wrote it (its directory holds the token and CA)."""
    root = kubeconfig.expanduser().absolute().parent
    if (root / "token").is_file() and (root / "tls" / "ca.crt").is_file():
        return PlaneHome(root)
    return None


@dataclass
class Connection:
    """An API endpoint; `embedded` ones re-read daemon.json so a restarted plane (new ports) is followed."""

    backend: Backend
    home: PlaneHome | None = None  # the plane's home when the server is a jupyter-knative plane
    kubeconfig: Path | None = None
    context: str | None = None
    default_namespace: str = "default"
    ingress_url: str | None = None
    """Where to send requests for service URLs, when given (a port-forwarded Kourier/Istio gateway, a load
    balancer): requests go there with the service's host in the Host header."""
    _api: Any = None
    _state: DaemonState | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- construction ---------------------------------------------------------------------------------

    @classmethod
    def for_kubeconfig(cls, kubeconfig: str | Path | None, context: str | None) -> Connection:
        from kubernetes import client, config

        path = Path(kubeconfig).expanduser() if kubeconfig is not None else _default_kubeconfig()
        try:
            configuration = client.Configuration()
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(path) if path else None, context=context, client_configuration=configuration,
                persist_config=False)
            configuration.connection_pool_maxsize = POOL_SIZE
            api = client.ApiClient(configuration)
            contexts, active = config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
                config_file=str(path) if path else None)
        except (config.ConfigException, OSError, TypeError, ValueError) as e:
            raise KnativeError(f"cannot load the kubeconfig {path or '(default)'}: {e}", reason="BadConfig",
                               hint="pass kubeconfig= (a file kubectl can use) or use Client.embedded()") from e
        chosen = next((c for c in contexts if c.get("name") == context), active) if context else active
        namespace = ((chosen or {}).get("context") or {}).get("namespace") or "default"
        home = plane_home_of(path) if path else None
        return cls("kubernetes", home=home, kubeconfig=path, context=context, default_namespace=namespace,
                   _api=api)

    @classmethod
    def for_plane(cls, home: PlaneHome) -> Connection:
        return cls("embedded", home=home, kubeconfig=home.kubeconfig)

    # -- the ApiClient ---------------------------------------------------------------------------------

    @property
    def api(self) -> Any:
        """The `kubernetes.client.ApiClient`; for the embedded plane, built from its current daemon.json."""
        if self.backend == "kubernetes":
            return self._api
        with self._lock:
            state = self.home.read_state() if self.home else None
            if state is None:
                raise KnativeError(f"the jupyter-knative plane is not running (no daemon.json under "
                                   f"{self.home.root if self.home else '?'})", reason="PlaneDown",
                                   hint=PLANE_DOWN_HINT)
            if self._api is None or self._state is None or self._state.api != state.api:
                self._api = self._plane_client(state)
                self._state = state
            return self._api

    def _plane_client(self, state: DaemonState) -> Any:
        from kubernetes import client

        assert self.home is not None
        creds = load_credentials(self.home)
        if creds is None:
            raise KnativeError(f"the plane under {self.home.root} has no token or CA certificate",
                               reason="PlaneDown", hint=PLANE_DOWN_HINT)
        configuration = client.Configuration()
        configuration.host = state.api
        configuration.ssl_ca_cert = str(creds.ca_cert)
        configuration.api_key = {"BearerToken": creds.token}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
        configuration.retries = 1
        configuration.connection_pool_maxsize = POOL_SIZE
        return client.ApiClient(configuration)

    @property
    def server(self) -> str:
        if self.backend == "embedded":
            state = self.home.read_state() if self.home else None
            return state.api if state else "(not running)"
        return str(self._api.configuration.host)

    @property
    def is_plane(self) -> bool:
        return self.home is not None

    def ingress(self) -> str | None:
        """The configured ingress, else the plane's data-plane address (http://127.0.0.1:PORT) when the server is
        a running plane; None: service URLs are reached directly (they must resolve where the kernel runs)."""
        if self.ingress_url:
            return self.ingress_url
        state = self.home.read_state() if self.home else None
        if state is None:
            return None
        if self.backend == "kubernetes" and state.api.rstrip("/") != self.server.rstrip("/"):
            return None  # the kubeconfig points at some other server than this home's plane
        return state.ingress

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None

    # -- requests --------------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, query: Query = (), body: Any = None,
                content_type: str = JSON, accept: str = JSON, timeout: float = 30.0) -> Any:
        """One JSON request; the decoded answer (None for an empty body)."""
        data = self.request_raw(method, path, query=query, body=body, content_type=content_type, accept=accept,
                                timeout=timeout)
        return orjson.loads(data) if data else None

    def request_raw(self, method: str, path: str, *, query: Query = (), body: Any = None,
                    content_type: str = JSON, accept: str = JSON, timeout: float = 30.0) -> bytes:
        resp = self._send(method, path, query, body, content_type, accept, timeout)
        try:
            data: bytes = resp.read()
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise from_transport(e, server=self.server, plane=self.is_plane) from e
        if not 200 <= resp.status < 300:
            raise from_status_body(resp.status, str(resp.reason or ""), data)
        return data

    def stream_lines(self, path: str, *, query: Query = (), timeout: float | None = None) -> Iterator[bytes]:
        """The lines of a streamed GET (watch events, followed logs), until the server ends it."""
        read_timeout = None if timeout is None else timeout + 5.0
        resp = self._send("GET", path, query, None, JSON, JSON, (10.0, read_timeout) if read_timeout else None)
        if not 200 <= resp.status < 300:
            raise from_status_body(resp.status, str(resp.reason or ""), resp.read())
        raw = resp.response
        buffer = b""
        try:
            for chunk in raw.stream(64 * 1024, decode_content=True):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                yield from (line for line in lines if line.strip())
            if buffer.strip():
                yield buffer
        except (urllib3.exceptions.HTTPError, OSError) as e:
            if not _is_read_timeout(e):
                raise from_transport(e, server=self.server, plane=self.is_plane) from e
        finally:
            raw.release_conn()

    def exchange(self, method: str, path: str, *, body: bytes | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 60.0) -> RawAnswer:
        """Any HTTP request to the API server with the connection's credentials (`path` may carry a raw query),
        e.g. through a `proxy` subresource: the answer whatever its status, the body sent and read as bytes as
        they are. Only a request that gets no answer raises."""
        api = self.api
        try:
            m, url, hdrs, _, _ = api.param_serialize(method, path, header_params=dict(headers or {}),
                                                     auth_settings=["BearerToken"])
            # the pool itself, not the REST client, which would re-encode a JSON-typed body
            raw = api.rest_client.pool_manager.request(m, url, body=body, headers=hdrs, redirect=False,
                                                       retries=False, preload_content=False,
                                                       timeout=urllib3.Timeout(total=timeout))
            try:
                content = raw.read()
            finally:
                raw.release_conn()
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise from_transport(e, server=self.server, plane=self.is_plane) from e
        return raw.status, str(raw.reason or ""), list(raw.headers.items()), content

    def _send(self, method: str, path: str, query: Query, body: Any, content_type: str, accept: str,
              timeout: Any) -> Any:
        api = self.api
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            m, url, hdrs, payload, _ = api.param_serialize(method, path, query_params=list(query),
                                                           header_params=headers, body=body,
                                                           auth_settings=["BearerToken"])
            return api.call_api(m, url, header_params=hdrs, body=payload, _request_timeout=timeout)
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise from_transport(e, server=self.server, plane=self.is_plane) from e
        except Exception as e:
            if type(e).__name__ == "ApiException":  # raised for TLS failures, before any HTTP answer
                raise KnativeError(f"cannot talk to {self.server}: {getattr(e, 'reason', e)}",
                                   reason="Unreachable") from e
            raise


def _is_read_timeout(exc: BaseException) -> bool:
    return isinstance(exc, urllib3.exceptions.ReadTimeoutError) or "timed out" in str(exc)


def _default_kubeconfig() -> Path | None:
    import os

    configured = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    path = Path(configured).expanduser() if configured else Path("~/.kube/config").expanduser()
    return path if path.is_file() else None
