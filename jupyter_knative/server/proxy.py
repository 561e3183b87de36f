"""`{base_url}knative/proxy/{namespace}/{name}/{path}`: a browser's way to a service through the plane's ingress.

The request goes to the ingress with `Host: {name}.{namespace}.svc.cluster.local` (a tag route's name is
`{tag}-{service}`, a host the ingress knows), with its method, query, body and headers minus hop-by-hop ones and
Jupyter's own credentials (the auth cookie, `Authorization`, XSRF, a `token` query argument). The answer streams
back as it comes: status, headers minus hop-by-hop ones (a `Location` inside the service is rewritten to stay
behind the proxy), body. A user must be logged in to Jupyter: a browser without a session is sent to the login
page (GET) or refused (403).
"""

from __future__ import annotations

import asyncio
import http.client
import re
import urllib.parse
from collections.abc import Callable, Iterable
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any, TypeVar, cast

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import httputil, web
from tornado.httpclient import HTTPRequest, HTTPResponse

from .handlers import AUTH_RESOURCE

if TYPE_CHECKING:
    from .extension import KnativeState

__all__ = ["HOP_BY_HOP", "ProxyHandler", "request_headers", "response_headers", "rewrite_location"]

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
                        "te", "trailer", "trailers", "transfer-encoding", "upgrade"})
# Jupyter's credentials never reach a service (nor does the Host the browser used, nor a stale length)
_JUPYTER_HEADERS = frozenset({"authorization", "x-xsrftoken", "x-csrftoken", "host", "content-length"})
_JUPYTER_COOKIE_PREFIXES = ("jupyterhub-",)
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
F = TypeVar("F", bound=Callable[..., Any])


def _authorized(action: str) -> Callable[[F], F]:
    """jupyter_server's `authorized` with an explicit action (the proxy's methods read or write)."""
    return cast(Callable[[F], F], authorized(action))


_STATUS_LINE = re.compile(r"HTTP/\d(?:\.\d)?\s+(\d{3})\s*(.*)")


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Headers a `Connection` header names are hop-by-hop too."""
    return {t.strip().lower() for k, v in headers if k.lower() == "connection" for t in v.split(",") if t.strip()}


def request_headers(headers: list[tuple[str, str]], host: str, drop_cookies: set[str]) -> list[tuple[str, str]]:
    """What the service gets of the browser's headers (Host set to the service's)."""
    skip = HOP_BY_HOP | _JUPYTER_HEADERS | _connection_tokens(headers)
    out = [("Host", host)]
    for key, value in headers:
        low = key.lower()
        if low in skip:
            continue
        if low == "cookie":
            value = _strip_cookies(value, drop_cookies)
            if not value:
                continue
        out.append((key, value))
    return out


def _strip_cookies(header: str, drop: set[str]) -> str:
    jar = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return ""  # unparseable: it might hide Jupyter's cookie, so none of it goes
    kept = [f"{k}={m.coded_value}" for k, m in jar.items()
            if k not in drop and not k.startswith(_JUPYTER_COOKIE_PREFIXES)]
    return "; ".join(kept)


def response_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    skip = HOP_BY_HOP | _connection_tokens(headers)
    return [(k, v) for k, v in headers if k.lower() not in skip]


def rewrite_location(location: str, prefix: str, host: str) -> str:
    """A redirect inside the service stays behind the proxy: `/x` and `http://{host}/x` become `{prefix}/x`."""
    parts = urllib.parse.urlsplit(location)
    if parts.scheme or parts.netloc:
        if parts.hostname is None or parts.hostname.lower() != host.lower():
            return location  # elsewhere: leave it
    elif not location.startswith("/"):
        return location  # relative to the current path: already behind the proxy
    rebuilt = prefix.rstrip("/") + (parts.path or "/")
    return rebuilt + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")


class ProxyHandler(JupyterHandler):
    auth_resource = AUTH_RESOURCE

    def initialize(self, state: KnativeState) -> None:
        self.state = state

    @web.authenticated
    @_authorized("read")
    async def get(self, namespace: str, name: str, path: str | None) -> None:
        await self._proxy(namespace, name, path)

    @web.authenticated
    @_authorized("read")
    async def head(self, namespace: str, name: str, path: str | None) -> None:
        await self._proxy(namespace, name, path)

    @web.authenticated
    @_authorized("read")
    async def options(self, namespace: str, name: str, path: str | None) -> None:
        await self._proxy(namespace, name, path)

    @web.authenticated
    @_authorized("write")
    async def post(self, namespace: str, name: str, path: str | None) -> None:
        await self._proxy(namespace, name, path)

    @web.authenticated
    @_authorized("write")
    async def put(self, namespace: str, name: str, path: str | None) -> None:
        await self._proxy(namespace, name, path)

    @web.authenticated
    @_authorized("write")
    async def patch(self, namespace: str, name: str, path: str | None) -> None:
        await self._proxy(namespace, name, path)

    @web.authenticated
    @_authorized("write")
    async def delete(self, namespace: str, name: str, path: str | None) -> None:
        await self._proxy(namespace, name, path)

    def _fail(self, status: int, message: str, reason: str) -> None:
        self.clear()
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish({"message": message, "reason": reason})

    async def _proxy(self, namespace: str, name: str, path: str | None) -> None:
        prefix = url_path_join(self.base_url, "knative/proxy", namespace, name)
        if path is None and self.request.method in ("GET", "HEAD"):
            # a page's relative links need the trailing slash
            query = f"?{self.request.query}" if self.request.query else ""
            self.redirect(prefix + "/" + query)
            return
        ingress = await asyncio.get_running_loop().run_in_executor(self.state.executor, self.state.backend.ingress)
        if not ingress:
            self._fail(404, f"no ingress to reach {namespace}/{name} through: the {self.state.backend.kind} "
                            "backend has no running plane whose ingress this server can reach", "NoIngress")
            return
        host = f"{name}.{namespace}.svc.cluster.local"
        target = ingress.rstrip("/") + self._service_path(namespace, name) + self._query()
        method = self.request.method or "GET"
        body = self.request.body if (self.request.body or method not in _BODYLESS) else None
        relay = _Relay(self, prefix, host)
        request = HTTPRequest(
            target, method=method, body=body,
            headers=_headers(request_headers(list(self.request.headers.get_all()), host,
                                             {self.identity_provider.get_cookie_name(self), "_xsrf"})),
            follow_redirects=False, decompress_response=False, allow_nonstandard_methods=True,
            connect_timeout=10.0, request_timeout=self.state.proxy_timeout,
            header_callback=relay.header_line, streaming_callback=relay.chunk)
        self._add_forwarded(request.headers, prefix)
        response: HTTPResponse = await self.state.http_client().fetch(request, raise_error=False)
        if not relay.started:
            if response.code == 599:
                error = response.error or "no answer"
                self._fail(502, f"the plane's ingress at {ingress} did not answer for {host}: {error}",
                           "BadGateway")
                return
            relay.start(response.code, response.reason, list(response.headers.get_all()))
        if self._finished:
            return
        await relay.drain()
        if response.code == 599:  # the service's answer broke off midway: so does ours
            self.log.warning("knative proxy: %s %s%s broke off: %s", method, host, self.request.path, response.error)
            if self.request.connection is not None:
                cast(Any, self.request.connection).close()
            return
        self.finish()

    def _service_path(self, namespace: str, name: str) -> str:
        """The path after `.../proxy/{namespace}/{name}` as the browser sent it (still percent-encoded)."""
        raw, marker = self.request.path, f"/knative/proxy/{namespace}/{name}"
        at = raw.find(marker)
        return (raw[at + len(marker):] if at >= 0 else "") or "/"

    def _query(self) -> str:
        query = self.request.query
        if not query:
            return ""
        token = self.identity_provider.token
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        if token and any(k == "token" and v == token for k, v in pairs):  # Jupyter's, not the service's
            query = urllib.parse.urlencode([(k, v) for k, v in pairs if not (k == "token" and v == token)])
        return f"?{query}" if query else ""

    def _add_forwarded(self, headers: httputil.HTTPHeaders, prefix: str) -> None:
        headers["X-Forwarded-Host"] = self.request.host
        headers["X-Forwarded-Proto"] = self.request.protocol
        headers["X-Forwarded-Prefix"] = prefix
        if self.request.remote_ip:
            headers["X-Forwarded-For"] = self.request.remote_ip


def _headers(pairs: list[tuple[str, str]]) -> httputil.HTTPHeaders:
    headers = httputil.HTTPHeaders()
    for key, value in pairs:
        headers.add(key, value)
    return headers


class _Relay:
    """Writes the service's answer back as tornado's client hands it over (header lines, then body chunks)."""

    def __init__(self, handler: ProxyHandler, prefix: str, host: str) -> None:
        self.handler = handler
        self.prefix = prefix
        self.host = host
        self.started = False
        self._status: tuple[int, str] | None = None
        self._headers: list[tuple[str, str]] = []
        self._flushes: list[asyncio.Future[Any]] = []

    def header_line(self, line: str) -> None:
        line = line.rstrip("\r\n")
        match = _STATUS_LINE.match(line)
        if match:  # a new response begins (after a 1xx, too)
            self._status = (int(match.group(1)), match.group(2))
            self._headers = []
        elif line and self._status is not None:
            if line[0] in " \t" and self._headers:  # obsolete line folding
                key, value = self._headers[-1]
                self._headers[-1] = (key, f"{value} {line.strip()}")
            else:
                key, _, value = line.partition(":")
                self._headers.append((key.strip(), value.strip()))
        elif not line and self._status is not None and self._status[0] >= 200:
            self.start(self._status[0], self._status[1], self._headers)

    def start(self, code: int, reason: str, headers: list[tuple[str, str]]) -> None:
        if self.started:
            return
        self.started = True
        h = self.handler
        h.clear()
        h.set_status(code, reason or http.client.responses.get(code, "Unknown"))
        h.clear_header("Content-Type")  # tornado's default; the service's own (or none) goes back
        seen: set[str] = set()
        for key, value in response_headers(headers):
            if key.lower() == "location":
                value = rewrite_location(value, self.prefix, self.host)
            if key.lower() in seen:
                h.add_header(key, value)
            else:
                h.set_header(key, value)
                seen.add(key.lower())

    def chunk(self, data: bytes) -> None:
        if not self.started:  # tornado hands headers first; a stray chunk before them would lose the status
            return
        h = self.handler
        if h.request.connection is None or h._finished:
            return
        h.write(data)
        future = h.flush()
        future.add_done_callback(lambda f: f.exception())  # a closed browser connection is not an error here
        self._flushes.append(future)
        if len(self._flushes) > 64:
            self._flushes = [f for f in self._flushes if not f.done()]

    async def drain(self) -> None:
        for future in self._flushes:
            if not future.done():
                await asyncio.wait([future])
