"""The `proxy` subresource of pods, as kube-apiserver serves it:

    GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS /api/v1/namespaces/{ns}/pods/{[scheme:]name[:port]}/proxy[/{path}]

The pod is looked up like any pod (404 `pods "x" not found`); the port defaults to the first declared
`containerPort`; the request (path, query, body, headers but `Authorization` and hop-by-hop ones) is sent
to the pod and the answer streamed back. Failures read as kube-apiserver's: a pod without an address is
400 `address not allowed`, a pod nothing answers on is 503 `error trying to reach service: dial tcp
IP:PORT: connect: connection refused` (k8s.io/apimachinery's proxy transport wraps the dial error so),
and `.../proxy` without a path redirects GET and HEAD to `.../proxy/` (301), as the upgrade-aware handler does.

On the embedded plane a pod is a replica process listening on one loopback port, whatever port is asked
for; a Knative revision pod's queue-proxy is the ingress, so its Prometheus port (9091) answers with that
replica's queue-proxy metrics from the data plane.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Protocol
from urllib.parse import unquote

import aiohttp
from aiohttp import web
from yarl import URL

from ..api.status import BadRequest, MethodNotSupported, ServiceUnavailable, StatusError, not_found
from ..store import Store

__all__ = ["PROXY_METHODS", "QUEUE_PROXY_METRICS_PORT", "PodBackend", "PodProxy", "match"]

PROXY_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
QUEUE_PROXY_METRICS_PORT = 9091
REVISION_LABEL = "serving.knative.dev/revision"
CONNECT_TIMEOUT = 5.0
_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/proxy(/.*)?$")
# Hop-by-hop headers (RFC 9110 7.6.1) and what the API server itself consumes.
_DROP_REQUEST = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                           "upgrade", "host", "authorization", "content-length"})
_DROP_RESPONSE = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                            "upgrade", "content-length"})
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class PodBackend(Protocol):
    """Where the plane's pods really are."""

    def replica_port(self, namespace: str, pod: str) -> int | None:
        """The loopback port of the pod's running replica; None when it does not run."""

    def queue_proxy_metrics(self, namespace: str, pod: str, revision: str) -> bytes:
        """The replica's queue-proxy metrics in Prometheus text."""


def match(raw_path: str) -> tuple[str, str, str] | None:
    """(namespace, `[scheme:]name[:port]`, path after /proxy, still percent-encoded) for a pod proxy path."""
    m = _PATH.match(raw_path)
    if m is None:
        return None
    return unquote(m.group(1)), unquote(m.group(2)), m.group(3) or ""


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


class PodProxy:
    def __init__(self, store: Store, backend: PodBackend) -> None:
        self.store = store
        self.backend = backend
        pods = store.registry.by_kind("", "Pod")
        assert pods is not None
        self.pods = pods
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

    async def handle(self, request: web.Request, namespace: str, spec: str, path: str) -> web.StreamResponse:
        if request.method not in PROXY_METHODS:
            raise MethodNotSupported("the server does not allow this method on the requested resource")
        parsed = split_scheme_name_port(spec)
        if parsed is None:
            raise BadRequest(f'invalid pod request "{spec}"')
        _, name, port_text = parsed
        pod = self.store.get(self.pods, namespace, name)
        if pod is None:
            raise not_found(self.pods.group_resource, name)
        containers = (pod.get("spec") or {}).get("containers") or []
        if not port_text:
            port_text = next((str(c["ports"][0].get("containerPort", "")) for c in containers if c.get("ports")), "")
        ip = str((pod.get("status") or {}).get("podIP") or "")
        if not _address_ok(ip):
            raise BadRequest("address not allowed")
        target = f"{ip}:{port_text}" if port_text else ip
        if not path and request.method in ("GET", "HEAD"):
            query = request.rel_url.raw_query_string
            raise web.HTTPMovedPermanently(request.rel_url.raw_path + "/" + ("?" + query if query else ""))
        port = _port_number(port_text, containers)
        replica = self.backend.replica_port(namespace, name)
        if replica is None:
            raise _unreachable(target)
        revision = ((pod.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL)
        if revision and port == QUEUE_PROXY_METRICS_PORT:
            body = self.backend.queue_proxy_metrics(namespace, name, revision)
            return web.Response(body=b"" if request.method == "HEAD" else body,
                                headers={"Content-Type": METRICS_CONTENT_TYPE})
        return await self._forward(request, replica, path, target)

    async def _forward(self, request: web.Request, port: int, path: str, target: str) -> web.StreamResponse:
        query = request.rel_url.raw_query_string
        url = f"http://127.0.0.1:{port}{path or '/'}" + (f"?{query}" if query else "")
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _DROP_REQUEST]
        headers.append(("X-Forwarded-For", request.remote or "127.0.0.1"))
        headers.append(("Host", target))
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
