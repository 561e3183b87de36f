"""The `proxy` subresources of pods and services, as kube-apiserver serves them:

    GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS /api/v1/namespaces/{ns}/pods/{[scheme:]name[:port]}/proxy[/{path}]
    GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS /api/v1/namespaces/{ns}/services/{[scheme:]name[:port]}/proxy[/{path}]

Both look their object up like any read (404 `pods "x" not found`, `services "x" not found`) and send the
request (path, query, body, headers but `Authorization` and hop-by-hop ones) on through one `Forwarder`,
streaming the answer back. Failures read as kube-apiserver's: a dial that fails is 503 `error trying to reach
service: dial tcp IP:PORT: connect: connection refused` (k8s.io/apimachinery's proxy transport wraps the dial
error so), and `.../proxy` without a path redirects GET and HEAD to `.../proxy/` (301), as the upgrade-aware
handler does.

Pods: the port defaults to the first declared `containerPort`; a pod without an address is 400 `address not
allowed`. On the embedded plane a pod is a replica process listening on one loopback port, whatever port is
asked for; a Knative revision pod's queue-proxy is the ingress, so its Prometheus port (9091) answers with
that replica's queue-proxy metrics from the data plane.

Services: the port (by number or name, none for a Service with one unnamed port) must be one the Service
declares. The plane has no cluster network: its ingress (the data plane) answers for every cluster-local
name, Knative's and the eventing hosts (broker-ingress, broker-filter, `<imc>-kn-channel`) alike, so the
request goes there with `Host: <name>.<ns>.svc.cluster.local`; a `https:` scheme is not honoured (nothing on
the plane serves TLS).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol
from urllib.parse import unquote

import aiohttp
from aiohttp import web
from yarl import URL

from ..api.status import BadRequest, MethodNotSupported, ServiceUnavailable, StatusError, not_found
from ..store import Store

__all__ = ["PROXY_METHODS", "QUEUE_PROXY_METRICS_PORT", "Forwarder", "IngressAddress", "PodBackend", "PodProxy",
           "ProxyPath", "ServiceProxy", "match", "split_scheme_name_port"]

PROXY_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
QUEUE_PROXY_METRICS_PORT = 9091
REVISION_LABEL = "serving.knative.dev/revision"
CONNECT_TIMEOUT = 5.0
LOOPBACK = "127.0.0.1"  # where the plane's replicas listen
_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/(pods|services)/([^/]+)/proxy(/.*)?$")
# Hop-by-hop headers (RFC 9110 7.6.1) and what the API server itself consumes.
_DROP_REQUEST = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                           "upgrade", "host", "authorization", "content-length"})
_DROP_RESPONSE = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                            "upgrade", "content-length"})
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

IngressAddress = Callable[[], tuple[str, int] | None]
"""Where the plane's ingress listens; None while it does not."""


class PodBackend(Protocol):
    """Where the plane's pods really are."""

    def replica_port(self, namespace: str, pod: str) -> int | None:
        """The loopback port of the pod's running replica; None when it does not run."""

    def queue_proxy_metrics(self, namespace: str, pod: str, revision: str) -> bytes:
        """The replica's queue-proxy metrics in Prometheus text."""


class ProxyPath(NamedTuple):
    resource: str  # pods or services
    namespace: str
    spec: str  # `[scheme:]name[:port]`
    path: str  # after /proxy, still percent-encoded


def match(raw_path: str) -> ProxyPath | None:
    """The parts of a pod or service proxy path; None for any other path."""
    m = _PATH.match(raw_path)
    if m is None:
        return None
    return ProxyPath(m.group(2), unquote(m.group(1)), unquote(m.group(3)), m.group(4) or "")


def split_scheme_name_port(spec: str) -> tuple[str, str, str] | None:
    """Kubernetes' `SplitSchemeNamePort`: `name`, `name:port` or `scheme:name:port` (scheme http or https)."""
    parts = spec.split(":")
    if len(parts) == 1:
        scheme, name, port = "", parts[0], ""
    elif len(parts) == 2:
        scheme, (name, port) = "", parts
    elif len(parts) == 3 and parts[0] in ("", "http", "https"):
        scheme, name, port = parts
    else:
        return None
    return (scheme, name, port) if name else None


class Forwarder:
    """The proxies' one HTTP client: sends a request on to an address and streams the answer back."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT),
                auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
                connector=aiohttp.TCPConnector(limit=256, force_close=False))
        return self._session

    async def forward(self, request: web.Request, address: tuple[str, int], path: str, host: str,
                      target: str) -> web.StreamResponse:
        """`request` to `address` at `path` with `Host: host`; `target` is what dial errors name."""
        query = request.rel_url.raw_query_string
        url = f"http://{address[0]}:{address[1]}{path or '/'}" + (f"?{query}" if query else "")
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _DROP_REQUEST]
        headers.append(("X-Forwarded-For", request.remote or "127.0.0.1"))
        headers.append(("Host", host))
        body: Any = request.content if request.body_exists else None
        try:
            upstream = await self._client().request(request.method, URL(url, encoded=True),
                                                    headers=headers, data=body, allow_redirects=False)
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise _unreachable(target, e) from None
        async with upstream:
            resp = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in _DROP_RESPONSE:
                    resp.headers.add(key, value)
            if upstream.headers.get("Content-Length") is not None and request.method != "HEAD":
                resp.content_length = int(upstream.headers["Content-Length"])
            await resp.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await resp.write(chunk)
            except (aiohttp.ClientError, OSError):
                if request.transport is not None:  # the head is out: all the client can learn is a cut
                    request.transport.close()
                return resp
            await resp.write_eof()
            return resp


def _check_method(request: web.Request) -> None:
    if request.method not in PROXY_METHODS:
        raise MethodNotSupported("the server does not allow this method on the requested resource")


def _redirect_root(request: web.Request, path: str) -> None:
    """`.../proxy` with no path: GET and HEAD go to `.../proxy/`, as kube-apiserver's upgrade-aware handler sends."""
    if not path and request.method in ("GET", "HEAD"):
        query = request.rel_url.raw_query_string
        raise web.HTTPMovedPermanently(request.rel_url.raw_path + "/" + ("?" + query if query else ""))


class _Proxy:
    """The shared part of a `proxy` subresource: the object named by `[scheme:]name[:port]`, then forwarding."""

    kind = ""

    def __init__(self, store: Store, forwarder: Forwarder | None) -> None:
        self.store = store
        rt = store.registry.by_kind("", self.kind)
        assert rt is not None
        self.resource = rt
        self.forwarder = forwarder or Forwarder()

    async def close(self) -> None:
        await self.forwarder.close()

    def lookup(self, request: web.Request, namespace: str, spec: str) -> tuple[str, str, dict[str, Any]]:
        """(name, port as given, the object); kube-apiserver's errors for a bad method, spec or a missing object."""
        _check_method(request)
        parsed = split_scheme_name_port(spec)
        if parsed is None:  # kube-apiserver's ResourceLocation text, `invalid pod request` / `invalid service ...`
            raise BadRequest(f'invalid {self.kind.lower()} request "{spec}"')
        _, name, port_text = parsed
        obj = self.store.get(self.resource, namespace, name)
        if obj is None:
            raise not_found(self.resource.group_resource, name)
        return name, port_text, obj


class PodProxy(_Proxy):
    kind = "Pod"

    def __init__(self, store: Store, backend: PodBackend, forwarder: Forwarder | None = None) -> None:
        super().__init__(store, forwarder)
        self.backend = backend

    async def handle(self, request: web.Request, namespace: str, spec: str, path: str) -> web.StreamResponse:
        name, port_text, pod = self.lookup(request, namespace, spec)
        containers = (pod.get("spec") or {}).get("containers") or []
        if not port_text:
            port_text = next((str(c["ports"][0].get("containerPort", "")) for c in containers if c.get("ports")), "")
        ip = str((pod.get("status") or {}).get("podIP") or "")
        if not _address_ok(ip):
            raise BadRequest("address not allowed")
        target = f"{ip}:{port_text}" if port_text else ip
        _redirect_root(request, path)
        port = _port_number(port_text, containers)
        replica = self.backend.replica_port(namespace, name)
        if replica is None:
            raise _unreachable(target)
        revision = ((pod.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL)
        if revision and port == QUEUE_PROXY_METRICS_PORT:
            body = self.backend.queue_proxy_metrics(namespace, name, revision)
            return web.Response(body=b"" if request.method == "HEAD" else body,
                                headers={"Content-Type": METRICS_CONTENT_TYPE})
        return await self.forwarder.forward(request, (LOOPBACK, replica), path, target, target)


class ServiceProxy(_Proxy):
    kind = "Service"

    def __init__(self, store: Store, ingress: IngressAddress, forwarder: Forwarder | None = None) -> None:
        super().__init__(store, forwarder)
        self.ingress = ingress

    async def handle(self, request: web.Request, namespace: str, spec: str, path: str) -> web.StreamResponse:
        # the texts below are kube-apiserver's (pkg/registry/core/service/storage ResourceLocation); for a named
        # port it reads Endpoints first, so a missing Service there says `endpoints "x" not found`
        name, port_text, svc = self.lookup(request, namespace, spec)
        ports = (svc.get("spec") or {}).get("ports") or []
        if port_text.isdigit():
            if not any(p.get("port") == int(port_text) for p in ports):
                raise ServiceUnavailable(f'no service port {int(port_text)} found for service "{name}"')
        elif not any((p.get("name") or "") == port_text for p in ports):
            # a name no port has: no endpoint subset carries it
            raise ServiceUnavailable(f'no endpoints available for service "{spec}"')
        address = self.ingress()
        if address is None:
            raise ServiceUnavailable(f'no endpoints available for service "{spec}"')
        _redirect_root(request, path)
        return await self.forwarder.forward(request, address, path, f"{name}.{namespace}.svc.cluster.local",
                                            f"{address[0]}:{address[1]}")


def _address_ok(ip: str) -> bool:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    return True


def _port_number(port: str, containers: list[dict[str, Any]]) -> int | None:
    if port.isdigit():
        return int(port)
    for c in containers:  # a named port
        for p in c.get("ports") or []:
            if p.get("name") == port and p.get("containerPort"):
                return int(p["containerPort"])
    return None


def _unreachable(target: str, error: BaseException | None = None) -> StatusError:
    if error is None or isinstance(error, aiohttp.ClientConnectorError | ConnectionRefusedError):
        why = f"dial tcp {target}: connect: connection refused"
    elif isinstance(error, TimeoutError):
        why = f"dial tcp {target}: i/o timeout"
    else:
        why = str(error) or type(error).__name__
    return ServiceUnavailable(f"error trying to reach service: {why}")
