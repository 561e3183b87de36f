"""Requests to Knative services and brokers: through the embedded plane's ingress (the service URL's host in
the Host header), straight to a URL, or, for a cluster-internal URL (`http://<svc>.<ns>.svc...`, a Broker's
address), through the API server's service proxy with the kubeconfig's credentials, as `kubectl` users reach
such Services. `Response` is what `invoke` and `send` return."""

from __future__ import annotations

import datetime
import http.client
import re
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from . import display
from .errors import PLANE_DOWN_HINT, KnativeError, from_status_body

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["Endpoint", "Headers", "Response", "binary_event_headers", "encode_body", "proxy_request",
           "send_request", "service_proxy_path"]

CE_SOURCE = "/jupyter-knative/client"


class Headers(Mapping[str, str]):
    """Response headers; lookups ignore case, iteration keeps the server's spelling."""

    def __init__(self, pairs: list[tuple[str, str]] | None = None) -> None:
        self._pairs = list(pairs or [])
        self._index = {k.lower(): v for k, v in self._pairs}

    def __getitem__(self, key: str) -> str:
        return self._index[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for k, _ in self._pairs:
            if k.lower() not in seen:
                seen.add(k.lower())
                yield k

    def __len__(self) -> int:
        return len(self._index)

    def get_all(self, key: str) -> list[str]:
        return [v for k, v in self._pairs if k.lower() == key.lower()]

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


@dataclass
class Response:
    status_code: int
    headers: Headers
    content: bytes
    url: str = ""
    elapsed: float = 0.0  # seconds
    reason: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 400

    @property
    def text(self) -> str:
        charset = "utf-8"
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.content.decode(charset, "replace")
        except LookupError:
            return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return orjson.loads(self.content)

    @property
    def cloudevent(self) -> dict[str, str]:
        """A binary-mode CloudEvent reply's attributes (`ce-*` headers without the prefix)."""
        return {k[3:].lower(): v for k, v in self.headers.items() if k.lower().startswith("ce-")}

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"

    def _repr_html_(self) -> str:
        return display.response_html(self)


@dataclass(frozen=True)
class Endpoint:
    """Where to send: `base` (scheme://host:port) and, through an ingress, the Host header to route by."""

    base: str
    host: str | None = None
    via_plane: bool = False

    @classmethod
    def for_url(cls, url: str, ingress: str | None) -> Endpoint:
        """A service or broker URL, through the plane's ingress when there is one."""
        parts = urllib.parse.urlsplit(url)
        if ingress:
            return cls(ingress.rstrip("/"), parts.netloc, via_plane=True)
        return cls(f"{parts.scheme}://{parts.netloc}")

    def url(self, path: str) -> str:
        return self.base + (path if path.startswith("/") else "/" + path)


def encode_body(data: Any, json_body: Any) -> tuple[bytes | None, str | None]:
    """(body, content type) for `data` (bytes, text, or a JSON-able object) or `json`."""
    if json_body is not None:
        return orjson.dumps(json_body), "application/json"
    if data is None:
        return None, None
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data), "application/octet-stream"
    if isinstance(data, str):
        return data.encode("utf-8"), "text/plain; charset=utf-8"
    return orjson.dumps(data), "application/json"


def binary_event_headers(type: str, *, source: str = CE_SOURCE, id: str | None = None,
                         extensions: Mapping[str, str] | None = None) -> dict[str, str]:
    """A CloudEvent's attributes as binary-mode HTTP headers (CloudEvents 1.0)."""
    if not type:
        raise KnativeError("type = '', must name the CloudEvent's type", reason="Invalid")
    headers = {
        "ce-specversion": "1.0",
        "ce-id": id or str(uuid.uuid4()),
        "ce-source": source,
        "ce-type": type,
        "ce-time": datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z"),
    }
    for name, value in (extensions or {}).items():
        if not (name.isascii() and name.isalnum() and name == name.lower() and len(name) <= 20):
            raise KnativeError(f"extensions[{name!r}]: a CloudEvent attribute name must be lower-case letters "
                               "and digits (at most 20)", reason="Invalid")
        headers[f"ce-{name}"] = str(value)
    return headers


def send_request(endpoint: Endpoint, method: str, path: str, *, body: bytes | None = None,
                 headers: Mapping[str, str] | None = None, timeout: float = 60.0) -> Response:
    """One HTTP request; transport failures become `KnativeError` (PlaneDown when the plane's ingress is gone)."""
    parts = urllib.parse.urlsplit(endpoint.base)
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    hdrs = dict(headers or {})
    if endpoint.host:
        hdrs["Host"] = endpoint.host
    url = endpoint.url(path)
    started = time.perf_counter()
    try:
        conn.request(method.upper(), _target(path), body=body, headers=hdrs)
        resp = conn.getresponse()
        content = resp.read()
    except (TimeoutError, OSError, http.client.HTTPException) as e:
        raise _transport_error(e, endpoint, url, timeout) from e
    finally:
        conn.close()
    return Response(resp.status, Headers(list(resp.getheaders())), content, url=_shown_url(endpoint, path),
                    elapsed=time.perf_counter() - started, reason=resp.reason)


def _target(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _shown_url(endpoint: Endpoint, path: str) -> str:
    return f"http://{endpoint.host}{_target(path)}" if endpoint.host else endpoint.url(path)


def _transport_error(exc: BaseException, endpoint: Endpoint, url: str, timeout: float) -> KnativeError:
    if isinstance(exc, TimeoutError):
        return KnativeError(f"no answer from {_shown_url(endpoint, '')} within {timeout:g}s", reason="Timeout",
                            hint="raise timeout=, or look at logs() for what the function is doing")
    if isinstance(exc, ConnectionRefusedError) and endpoint.via_plane:
        return KnativeError(f"the plane's ingress does not answer at {endpoint.base}", reason="PlaneDown",
                            hint=PLANE_DOWN_HINT)
    return KnativeError(f"request to {url} failed: {exc}", reason="Unreachable",
                        hint="a cluster-local URL is only reachable from inside the cluster")


_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_CLUSTER_HOST = re.compile(rf"^({_LABEL})\.({_LABEL})\.svc(?:\.cluster\.local)?\.?$")
# the verb RBAC checks for a proxied request (kube-apiserver's RequestInfo maps the HTTP method so)
_PROXY_VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete", "OPTIONS": "get"}


def service_proxy_path(url: str) -> str | None:
    """The API server path that proxies to a cluster-internal URL (`http[s]://<svc>.<ns>.svc[.cluster.local]
    [:port]/path[?query]`): `/api/v1/namespaces/<ns>/services/[https:]<svc>:<port>/proxy/path[?query]`, the port
    by number (80, 443 for https, when the URL has none). None for any other URL."""
    parts = urllib.parse.urlsplit(url)
    match = _CLUSTER_HOST.match((parts.hostname or "").lower())
    if parts.scheme not in ("http", "https") or match is None:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    name, namespace = match.groups()
    spec = f"https:{name}:{port}" if parts.scheme == "https" else f"{name}:{port}"
    return (f"/api/v1/namespaces/{namespace}/services/{spec}/proxy{parts.path or '/'}"
            + (f"?{parts.query}" if parts.query else ""))


def proxy_request(conn: Connection, url: str, method: str, *, body: bytes | None = None,
                  headers: Mapping[str, str] | None = None, timeout: float = 60.0) -> Response:
    """One request to a cluster-internal `url` through the API server's service proxy. The service's answers,
    errors included, come back as a `Response`; the API server's own refusals (a `Status`: no permission, no
    such Service, nothing behind it) raise `KnativeError`."""
    path = service_proxy_path(url)
    if path is None:
        raise KnativeError(f"{url} is not a cluster-internal service URL", reason="Invalid")
    started = time.perf_counter()
    status, reason, pairs, content = conn.exchange(method.upper(), path, body=body, headers=dict(headers or {}),
                                                   timeout=timeout)
    elapsed = time.perf_counter() - started
    if status >= 400:
        refused = from_status_body(status, reason, content)
        if refused.status is not None and refused.status.get("apiVersion") == "v1":
            raise refused.with_hint(_refusal_hint(status, method, url, path))
    return Response(status, Headers(pairs), content, url=url, elapsed=elapsed, reason=reason)


def _refusal_hint(status: int, method: str, url: str, path: str) -> str:
    namespace = path.split("/")[4]
    service = (urllib.parse.urlsplit(url).hostname or "").split(".")[0]
    if status == 401:
        return "the API server did not accept the kubeconfig's credentials (kubectl auth whoami)"
    if status == 403:
        verb = _PROXY_VERBS.get(method.upper(), method.lower())
        return (f"the request goes through the API server's service proxy: it needs permission to {verb} "
                f"services/proxy in the {namespace} namespace (kubectl auth can-i {verb} services/proxy -n "
                f"{namespace})")
    return (f"the API server could not proxy to the Service {service} in {namespace} (kubectl get svc {service} "
            f"-n {namespace}; kubectl get endpoints {service} -n {namespace})")
