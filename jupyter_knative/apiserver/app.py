"""The aiohttp application: authentication, error rendering and routing of Kubernetes API paths."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from ..api.status import InternalError, NotFound, StatusError, Unauthorized
from .discovery import Discovery
from .negotiation import AGGREGATED_DISCOVERY, choose
from .openapi import OpenAPI
from .podproxy import PodProxy, ServiceProxy, match
from .requestinfo import parse_api_path
from .resources import NOT_FOUND_MESSAGE, ResourceAPI

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RecentDeliveries = Callable[[str | None], list[dict[str, Any]]]
RECENT_PATH = "/debug/eventing/recent"
# Paths anyone may read, as kube-apiserver's system:public-info-viewer role allows.
PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version"})


def _status_response(err: StatusError) -> web.Response:
    return web.Response(body=orjson.dumps(err.to_status()), status=err.code,
                        headers={"Content-Type": "application/json"})


def _auth_middleware(token: str) -> Middleware:
    expected = ("Bearer " + token).encode()

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in PUBLIC_PATHS:
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return _status_response(Unauthorized("Unauthorized"))
        return await handler(request)
    return authenticate


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except StatusError as e:
        return _status_response(e)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("internal error serving %s %s", request.method, request.path)
        return _status_response(InternalError("an error on the server prevented the request from succeeding"))


def _json(body: bytes, content_type: str = "application/json") -> web.Response:
    return web.Response(body=body, headers={"Content-Type": content_type})


class APIServer:
    def __init__(self, api: ResourceAPI, metrics: Callable[[], bytes] | None = None,
                 recent: RecentDeliveries | None = None, pods: PodProxy | None = None,
                 services: ServiceProxy | None = None) -> None:
        self.api = api
        self.metrics = metrics
        self.pods = pods
        """The pods' `proxy` subresource (the plane's replicas behind it); None: not served."""
        self.services = services
        """The services' `proxy` subresource (the plane's ingress behind it); None: not served."""
        self.recent = recent
        """The eventing plane's last deliveries per subscriber, served at RECENT_PATH (the plane's own API)."""
        self.discovery = Discovery(api.registry)
        self.openapi = OpenAPI(api.registry)
        self.ready = True

    def app(self, token: str) -> web.Application:
        app = web.Application(middlewares=[_errors, _auth_middleware(token)], client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.route)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _cleanup(self, _: web.Application) -> None:
        for proxy in (self.pods, self.services):
            if proxy is not None:
                await proxy.close()

    async def route(self, request: web.Request) -> web.StreamResponse:
        if "/proxy" in request.rel_url.raw_path:
            proxied = match(request.rel_url.raw_path)
            proxy = None if proxied is None else self.pods if proxied.resource == "pods" else self.services
            if proxied is not None and proxy is not None:
                return await proxy.handle(request, proxied.namespace, proxied.spec, proxied.path)
        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok" if self.ready else "not ready", status=200 if self.ready else 503)
        if path == "/version":
            return _json(self.discovery.version)
        if path == "/metrics" and self.metrics is not None:
            return web.Response(body=self.metrics(), headers={"Content-Type": "text/plain; version=0.0.4"})
        if path == RECENT_PATH and self.recent is not None:
            items = self.recent(request.query.get("namespace") or None)
            return _json(orjson.dumps({"kind": "RecentDeliveries", "items": items}))
        if path.startswith("/openapi/"):
            return self._openapi(request, path)
        if path in ("/api", "/apis"):
            return self._discovery_root(request, path)
        if path.startswith("/apis/") and path.count("/") == 2:
            return self._group_discovery(path[len("/apis/"):], "", path)
        info = parse_api_path(path)
        if info is None:
            raise NotFound(NOT_FOUND_MESSAGE)
        if not info.resource:
            return self._group_discovery(info.group, info.version, path)
        return await self.api.handle(request, info)

    def _discovery_root(self, request: web.Request, path: str) -> web.Response:
        rep = choose(request.headers.get("Accept", ""), allow_discovery=True)
        if rep.format == "discovery":
            body = self.discovery.api_aggregated if path == "/api" else self.discovery.apis_aggregated
            return _json(body, AGGREGATED_DISCOVERY)
        return _json(self.discovery.api_legacy if path == "/api" else self.discovery.apis_legacy)

    def _group_discovery(self, group: str, version: str, path: str) -> web.Response:
        if path.startswith("/apis/") and path.count("/") == 2:
            body = self.discovery.group(group)
        else:
            body = self.discovery.resource_list(group, version)
        if body is None:
            raise NotFound(NOT_FOUND_MESSAGE)
        return _json(body)

    def _openapi(self, request: web.Request, path: str) -> web.Response:
        if path == "/openapi/v3":
            return _json(self.openapi.root)
        found = self.openapi.document(path[len("/openapi/v3/"):]) if path.startswith("/openapi/v3/") else None
        if found is None:
            raise NotFound(NOT_FOUND_MESSAGE)
        body, digest = found
        resp = _json(body)
        resp.headers["Etag"] = f'"{digest}"'
        if request.query.get("hash") == digest:
            resp.headers["Cache-Control"] = "public, immutable"
        return resp
