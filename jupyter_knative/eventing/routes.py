"""Which part of the data plane a host (and path) means. Pure.

- `broker-ingress.knative-eventing.svc.cluster.local` → broker ingress, path `/<ns>/<broker>`;
- `broker-filter.knative-eventing.svc.cluster.local` → trigger filter, path `/triggers/<ns>/<trigger>/<uid>`;
- `<name>-kn-channel.<ns>.svc[.cluster.local]` → that InMemoryChannel (any path);
- `imc-dispatcher.knative-eventing.svc[.cluster.local]` → the channel named by the path `/<ns>/<name>`;
- any other host is not the plane's (`HTTP`): the plane sends there over HTTP. For a request that
  reaches the plane's own port with a loopback or missing Host, `classify_request` picks the filter for
  paths under `/triggers/` and the broker ingress otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

__all__ = ["BROKER_FILTER_HOST", "BROKER_INGRESS_HOST", "Kind", "Target", "classify_request", "classify_url",
           "host_only", "serves_host"]

BROKER_INGRESS_HOST = "broker-ingress.knative-eventing.svc.cluster.local"
BROKER_FILTER_HOST = "broker-filter.knative-eventing.svc.cluster.local"
_SHORT_INGRESS = ("broker-ingress.knative-eventing.svc", "broker-ingress.knative-eventing")
_SHORT_FILTER = ("broker-filter.knative-eventing.svc", "broker-filter.knative-eventing")
_IMC_DISPATCHER = ("imc-dispatcher.knative-eventing.svc.cluster.local", "imc-dispatcher.knative-eventing.svc",
                   "imc-dispatcher.knative-eventing")
_CHANNEL_SUFFIX = "-kn-channel"
_LOOPBACK = frozenset({"", "localhost", "127.0.0.1", "::1", "[::1]"})


class Kind(Enum):
    INGRESS = "ingress"
    FILTER = "filter"
    CHANNEL = "channel"
    HTTP = "http"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Target:
    """A destination URL, taken apart once."""

    url: str
    kind: Kind
    host: str
    """Host name, lower case, without port."""
    port: int
    authority: str
    """What goes into the Host header."""
    path: str
    """Path and query as sent in the request line (at least `/`)."""
    channel: tuple[str, str] | None = None
    """(namespace, name) for CHANNEL."""


def host_only(host: str) -> str:
    """`Host` header value without the port, lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _channel_from_host(host: str) -> tuple[str, str] | None:
    labels = host.split(".")
    if len(labels) < 2 or not labels[0].endswith(_CHANNEL_SUFFIX) or len(labels[0]) == len(_CHANNEL_SUFFIX):
        return None
    rest = labels[2:]
    if rest not in ([], ["svc"], ["svc", "cluster", "local"]):
        return None
    return labels[1], labels[0][: -len(_CHANNEL_SUFFIX)]


def _channel_from_path(path: str) -> tuple[str, str] | None:
    parts = path.split("?", 1)[0].strip("/").split("/")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


def serves_host(host: str) -> bool:
    """Whether the plane answers requests for this host (the serving ingress forwards those here)."""
    name = host_only(host)
    return (name in (BROKER_INGRESS_HOST, BROKER_FILTER_HOST) or name in _SHORT_INGRESS or name in _SHORT_FILTER
            or name in _IMC_DISPATCHER or _channel_from_host(name) is not None)


def classify_request(host: str, path: str) -> tuple[Kind, tuple[str, str] | None]:
    """Which handler answers a request with this Host header and path (the channel for CHANNEL)."""
    name = host_only(host)
    if name == BROKER_INGRESS_HOST or name in _SHORT_INGRESS:
        return Kind.INGRESS, None
    if name == BROKER_FILTER_HOST or name in _SHORT_FILTER:
        return Kind.FILTER, None
    if name in _IMC_DISPATCHER:
        channel = _channel_from_path(path)
        return (Kind.CHANNEL, channel) if channel else (Kind.UNKNOWN, None)
    channel = _channel_from_host(name)
    if channel is not None:
        return Kind.CHANNEL, channel
    if name in _LOOPBACK:
        return (Kind.FILTER, None) if path.startswith("/triggers/") else (Kind.INGRESS, None)
    return Kind.UNKNOWN, None


def classify_url(url: str) -> Target:
    """Take a destination URL apart. Raises `ValueError` when it is not an absolute http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"url = {url!r}, must be an absolute http URL")
    host = parts.hostname.lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    authority = parts.netloc.rsplit("@", 1)[-1]
    kind, channel = classify_request(host, parts.path or "/")
    if kind in (Kind.UNKNOWN,) or host in _LOOPBACK:
        kind, channel = Kind.HTTP, None
    return Target(url, kind, host, port, authority, path, channel)
