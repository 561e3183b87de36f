"""What Knative's request path does to headers, and the bodies of the answers it makes itself. Pure.

Behind Kourier, the activator and queue-proxy a user container sees the client's headers minus
the hop-by-hop ones, plus:
- `X-Forwarded-For` (the client address appended), `X-Forwarded-Proto` (`http` unless a trusted
  hop set it) and `X-Request-Id` (Envoy makes one when the request has none);
- `Forwarded`, which queue-proxy synthesises from the `X-Forwarded-*` headers when the request
  carries none (`for=<first>;host=<xfh>;proto=<xfp>, for=<next>, ...`), as the runtime contract
  requires;
- `K-Proxy-Request: activator` when the activator proxied the request (here: when it had to wait
  for the revision to get a ready replica).
`Knative-Serving-Revision` and `Knative-Serving-Namespace` never reach the container.

The ingress's own answers copy the components that make them: Envoy's 404 with an empty body for
an unknown host; Go's `http.Error` (text/plain, nosniff, body plus a newline) for the activator's
503 and queue-proxy's 502; the timeout handler's bare 504 body.
"""

from __future__ import annotations

import errno
import os

__all__ = [
    "ACTIVATOR_TIMEOUT",
    "QUEUE_FULL",
    "REQUEST_TIMEOUT",
    "REQ_CONNECTION",
    "REQ_CONTENT_LENGTH",
    "REQ_DROP",
    "REQ_EXPECT",
    "REQ_FORWARDED",
    "REQ_HOST",
    "REQ_REQUEST_ID",
    "REQ_SPECIAL",
    "REQ_TRANSFER_ENCODING",
    "REQ_XFF",
    "REQ_XFH",
    "REQ_XFP",
    "RESP_HOP_BY_HOP",
    "RequestIds",
    "connect_error",
    "forwarded",
    "go_error",
    "not_found",
    "read_error",
    "timeout_response",
]

ACTIVATOR_TIMEOUT = b"activator request timeout"
REQUEST_TIMEOUT = b"request timeout"
QUEUE_FULL = b"pending request queue full"

# What to do with a request header, by lower-cased name; names not listed are forwarded as they are.
REQ_DROP = 1
REQ_HOST = 2
REQ_XFF = 3
REQ_XFP = 4
REQ_XFH = 5
REQ_FORWARDED = 6
REQ_REQUEST_ID = 7
REQ_CONNECTION = 8
REQ_TRANSFER_ENCODING = 9
REQ_EXPECT = 10
REQ_CONTENT_LENGTH = 11

REQ_SPECIAL: dict[bytes, int] = {
    # hop-by-hop (RFC 9110 §7.6.1 and Go's httputil.ReverseProxy list); framing is redone per hop
    b"connection": REQ_CONNECTION,
    b"keep-alive": REQ_DROP,
    b"proxy-connection": REQ_DROP,
    b"proxy-authenticate": REQ_DROP,
    b"proxy-authorization": REQ_DROP,
    b"te": REQ_DROP,
    b"trailer": REQ_DROP,
    b"upgrade": REQ_DROP,
    b"transfer-encoding": REQ_TRANSFER_ENCODING,
    # the activator's routing headers (activator.RevisionHeaders), pruned before the container
    b"knative-serving-revision": REQ_DROP,
    b"knative-serving-namespace": REQ_DROP,
    b"host": REQ_HOST,
    b"x-forwarded-for": REQ_XFF,
    b"x-forwarded-proto": REQ_XFP,
    b"x-forwarded-host": REQ_XFH,
    b"forwarded": REQ_FORWARDED,
    b"x-request-id": REQ_REQUEST_ID,
    b"expect": REQ_EXPECT,
    b"content-length": REQ_CONTENT_LENGTH,
}

RESP_HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-connection", b"proxy-authenticate", b"proxy-authorization",
    b"te", b"trailer", b"transfer-encoding", b"upgrade",
})


def forwarded(xff: bytes, xfp: bytes, xfh: bytes) -> bytes:
    """An RFC 7239 `Forwarded` value from the `X-Forwarded-*` values, as queue-proxy's shim builds it."""
    nodes = [node.strip() for node in xff.split(b",")] if xff else []
    first: list[bytes] = []
    if nodes:
        first.append(b"for=" + _node(nodes[0]))
    if xfh:
        first.append(b"host=" + xfh)
    if xfp:
        first.append(b"proto=" + xfp)
    elements = [b";".join(first)] if first else []
    elements.extend(b"for=" + _node(node) for node in nodes[1:])
    return b", ".join(elements)


def _node(node: bytes) -> bytes:
    return b'"[' + node + b']"' if b":" in node else node


class RequestIds:
    """`X-Request-Id` values shaped like Envoy's UUIDs: a random per-process prefix and a counter,
    unique without a system call per request."""

    __slots__ = ("_n", "_prefix")

    def __init__(self, seed: bytes | None = None) -> None:
        raw = (seed or os.urandom(10)).hex().encode()
        variant = b"89ab"[raw[15] % 4:][:1]
        self._prefix = b"%s-%s-4%s-%s%s-" % (raw[:8], raw[8:12], raw[12:15], variant, raw[16:19])
        self._n = 0

    def next(self) -> bytes:
        self._n += 1
        return b"%s%012x" % (self._prefix, self._n & 0xFFFFFFFFFFFF)


def go_error(status: int, reason: bytes, message: bytes, *, close: bool = False) -> bytes:
    """The response Go's `http.Error(w, message, status)` writes."""
    body = message + b"\n"
    return (b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\nx-content-type-options: nosniff\r\n"
            b"content-length: %d\r\n%s\r\n%s") % (status, reason, len(body), b"connection: close\r\n" if close else b"",
                                                  body)


def timeout_response(message: bytes, *, close: bool = False) -> bytes:
    """Knative's timeout handler: `WriteHeader(504)` then the bare message (Go sniffs text/plain)."""
    return (b"HTTP/1.1 504 Gateway Timeout\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
            b"%s\r\n%s") % (len(message), b"connection: close\r\n" if close else b"", message)


def not_found(*, close: bool = False) -> bytes:
    """Envoy's answer when no virtual host matches: 404 with an empty body."""
    return b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n%s\r\n" % (b"connection: close\r\n" if close else b"")


def connect_error(host: str, port: int, exc: BaseException) -> bytes:
    """Go's dial error text, e.g. `dial tcp 127.0.0.1:8080: connect: connection refused`."""
    return f"dial tcp {host}:{port}: connect: {_strerror(exc)}".encode()


def read_error(local: str, remote: str, exc: BaseException | None) -> bytes:
    """Go's transport error when the replica goes away before answering: `EOF` on a clean close."""
    if exc is None:
        return b"EOF"
    return f"read tcp {local}->{remote}: read: {_strerror(exc)}".encode()


def _strerror(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None:
        return os.strerror(exc.errno).lower() if exc.errno != errno.ECONNREFUSED else "connection refused"
    return str(exc) or type(exc).__name__
