"""The two HTTP/1.1 protocols of the ingress, on asyncio transports with httptools parsers.

`ClientProtocol` reads requests from a client connection and writes their responses back in order;
`UpstreamProtocol` is one keep-alive connection to a replica, carrying one exchange at a time (no
pipelining). An `Exchange` is one request/response pair travelling between them. Everything here
is callback driven: no task, coroutine or dict per request. Decisions (route, queue, pick a
replica, time out, count) belong to the ingress (`ingress.py`), which these classes call through
the small `Scheduler` protocol.

Bodies stream in both directions. Request bodies are re-framed for the replica (Content-Length
passes through, chunked is re-chunked) and buffered while the request waits for a replica, with
reading paused past a high-water mark. Response bodies follow the replica's framing; a response
without length is chunked for HTTP/1.1 clients and closes the connection for HTTP/1.0 ones.
Protocol upgrades (WebSocket, h2c) are not offered: `Upgrade` is dropped like any hop-by-hop
header and the request goes on as a plain HTTP/1.1 one. Trailers are not forwarded.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Protocol, cast

import httptools

from .headers import (
    REQ_CONNECTION,
    REQ_CONTENT_LENGTH,
    REQ_DROP,
    REQ_EXPECT,
    REQ_FORWARDED,
    REQ_HOST,
    REQ_REQUEST_ID,
    REQ_SPECIAL,
    REQ_TRANSFER_ENCODING,
    REQ_XFF,
    REQ_XFH,
    REQ_XFP,
    RESP_HOP_BY_HOP,
    RequestIds,
    forwarded,
    go_error,
)

if TYPE_CHECKING:
    from .ingress import _Endpoint, _Revision

__all__ = ["ClientProtocol", "Exchange", "Scheduler", "UpstreamProtocol"]

# Exchange states, in the order an exchange normally passes them.
HEAD = 0  # request head being parsed, or parsed and waiting behind a pipelined predecessor
QUEUED = 1  # waiting for a replica with a free slot
CONNECTING = 2  # holds a slot on a replica, waiting for a connection to it
PROXYING = 3  # request sent or being sent; no response head yet
RESPONDING = 4  # response head forwarded to the client
DONE = 5  # response complete (proxied or answered by the ingress)
CANCELLED = 6  # the client went away

_BUFFER_HIGH = 256 * 1024  # request bytes held while waiting before reading from the client pauses
_MAX_HEAD = 64 * 1024

# Reasons for pausing reading from a client, as bits.
_HOLD_PIPELINE = 1
_HOLD_BUFFER = 2
_HOLD_UPSTREAM = 4

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _HeadTooLarge(Exception):
    pass


class Scheduler(Protocol):
    """What the protocols need from the ingress."""

    request_ids: RequestIds

    def route(self, ex: Exchange) -> None: ...
    def cancel(self, ex: Exchange) -> None: ...
    def response_started(self, ex: Exchange) -> None: ...
    def exchange_done(self, ex: Exchange, upstream: UpstreamProtocol, reusable: bool) -> None: ...
    def upstream_lost(self, ex: Exchange, upstream: UpstreamProtocol, exc: BaseException | None) -> None: ...
    def upstream_closed(self, upstream: UpstreamProtocol) -> None: ...
    def client_gone(self, conn: ClientProtocol) -> None: ...


class Exchange:
    """One request and its response."""

    __slots__ = (
        "activated", "arrived", "chunked", "clen", "conn", "conn_tokens", "discard", "endpoint", "expect", "has_body",
        "has_forwarded", "has_request_id", "head_size", "host", "http10", "idle_handle", "keep_alive", "last_write",
        "method", "parts", "replay", "req_done", "rev", "state", "status", "t0", "t_dispatch", "tried", "up_buf",
        "up_size", "upstream", "url", "xff", "xfh", "xfp",
    )

    def __init__(self, conn: ClientProtocol) -> None:
        self.conn = conn
        self.state = HEAD
        self.method = b"GET"
        self.url = b""
        # request line placeholders, then (name, ": ", value, CRLF) per forwarded header
        self.parts: list[bytes] = [b"", b" ", b"", b" HTTP/1.1\r\n"]
        self.head_size = 0
        self.host = b""
        self.xff = self.xfp = self.xfh = b""
        self.has_forwarded = self.has_request_id = self.chunked = self.expect = self.has_body = False
        self.keep_alive = True
        self.http10 = False
        self.up_buf: list[bytes] = []
        self.up_size = 0
        self.upstream: UpstreamProtocol | None = None
        self.rev: _Revision | None = None
        self.endpoint: _Endpoint | None = None
        self.req_done = self.discard = self.activated = False
        self.t0 = self.t_dispatch = self.arrived = self.last_write = 0.0
        self.status = 0
        self.replay: bytes | None = None
        self.tried: list[_Endpoint] | None = None
        self.conn_tokens: list[bytes] | None = None
        self.clen = 0
        self.idle_handle: asyncio.TimerHandle | None = None


class ClientProtocol(asyncio.Protocol):
    """A connection from a client: parse requests, hand them to the scheduler, write responses in order."""

    __slots__ = ("_cur", "_eof", "_fwd_lines", "_hold", "_peer", "_pipeline", "_raw_left", "_sched", "_upgrade",
                 "active", "closed", "feeding", "out", "parser", "transport")

    def __init__(self, scheduler: Scheduler) -> None:
        self._sched = scheduler
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._peer = b"127.0.0.1"
        self._fwd_lines = b""
        self._cur: Exchange | None = None
        self.active: Exchange | None = None  # the exchange whose response is due next
        self._pipeline: deque[Exchange] = deque()
        self.out: list[bytes] = []
        self.feeding = False
        self.closed = False
        self._eof = False
        self._hold = 0
        self._upgrade: Exchange | None = None  # a request llhttp took for a protocol upgrade
        self._raw_left = 0  # body bytes of that request still to come, read without the parser

    # -- transport events ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio subclasses
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self._peer = str(peer[0]).encode()
        # the headers every request without forwarding headers of its own gets; one join per connection
        self._fwd_lines = (b"x-forwarded-for: " + self._peer + b"\r\nx-forwarded-proto: http\r\nforwarded: " +
                           forwarded(self._peer, b"http", b"") + b"\r\n")

    def data_received(self, data: bytes) -> None:
        self.feeding = True
        try:
            if self._raw_left:
                data = self._take_raw(data)
            if data:
                self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self.feeding = False
            self._after_upgrade(data[int(upgrade.args[0]):])
            return
        except httptools.HttpParserError as exc:
            self.feeding = False
            if isinstance(exc.__context__, _HeadTooLarge):
                self._bad_request(431, b"Request Header Fields Too Large")
            else:
                self._bad_request(400, b"Bad Request")
            return
        self.feeding = False
        ex = self.active
        if ex is not None and ex.up_buf and ex.upstream is not None:
            ex.upstream.send(ex)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for ex in (self.active, *self._pipeline):
            if ex is not None and ex.state < DONE:
                self._sched.cancel(ex)
        self._pipeline.clear()
        self.active = self._cur = None
        self._sched.client_gone(self)

    def eof_received(self) -> bool:
        """The client shut down its sending side: answer what it asked, then close."""
        self._eof = True
        return self.active is not None

    def pause_writing(self) -> None:
        ex = self.active
        if ex is not None and ex.upstream is not None and ex.upstream.transport is not None:
            ex.upstream.transport.pause_reading()

    def resume_writing(self) -> None:
        ex = self.active
        if ex is not None and ex.upstream is not None and ex.upstream.transport is not None:
            ex.upstream.transport.resume_reading()

    # -- parser callbacks --------------------------------------------------------------------

    def on_message_begin(self) -> None:
        ex = Exchange(self)
        self._cur = ex
        if self.active is None:
            self.active = ex
        else:
            self._pipeline.append(ex)
            self.hold(_HOLD_PIPELINE)

    def on_url(self, url: bytes) -> None:
        ex = self._cur
        assert ex is not None
        ex.url += url
        ex.head_size += len(url)
        if ex.head_size > _MAX_HEAD:
            raise _HeadTooLarge

    def on_header(self, name: bytes, value: bytes) -> None:
        ex = self._cur
        assert ex is not None
        ex.head_size += len(name) + len(value) + 4
        if ex.head_size > _MAX_HEAD:
            raise _HeadTooLarge
        kind = REQ_SPECIAL.get(name.lower())
        if kind is None:
            ex.parts.extend((name, b": ", value, b"\r\n"))
        elif kind == REQ_HOST:
            ex.host = value
            ex.parts.extend((name, b": ", value, b"\r\n"))
        elif kind == REQ_DROP:
            pass
        elif kind == REQ_XFF:
            ex.xff = value if not ex.xff else ex.xff + b", " + value
        elif kind == REQ_XFP:
            ex.xfp = value
        elif kind == REQ_XFH:
            ex.xfh = value
            ex.parts.extend((name, b": ", value, b"\r\n"))
        elif kind == REQ_FORWARDED:
            ex.has_forwarded = True
            ex.parts.extend((name, b": ", value, b"\r\n"))
        elif kind == REQ_REQUEST_ID:
            ex.has_request_id = True
            ex.parts.extend((name, b": ", value, b"\r\n"))
        elif kind == REQ_TRANSFER_ENCODING:
            ex.chunked = b"chunked" in value.lower()
        elif kind == REQ_CONNECTION:
            extra = _connection_tokens(value)
            if extra:
                ex.conn_tokens = (ex.conn_tokens or []) + extra
        elif kind == REQ_CONTENT_LENGTH:
            ex.clen = int(value) if value.strip().isdigit() else 0
            ex.has_body = ex.clen > 0
            ex.parts.extend((name, b": ", value, b"\r\n"))
        elif kind == REQ_EXPECT:
            ex.expect = value.strip().lower() == b"100-continue"
            if not ex.expect:
                ex.parts.extend((name, b": ", value, b"\r\n"))

    def on_headers_complete(self) -> None:
        ex = self._cur
        assert ex is not None
        parser = self.parser
        ex.method = method = parser.get_method()
        ex.keep_alive = parser.should_keep_alive()
        if parser.should_upgrade():
            self._upgrade = ex
        ex.http10 = parser.get_http_version() == "1.0"
        url = ex.url
        if url[:1] != b"/" and url != b"*":
            url = _origin_form(ex, url)
        parts = ex.parts
        if ex.conn_tokens:
            parts = parts[:4] + _without(parts[4:], ex.conn_tokens)
        parts[0] = method
        parts[2] = url
        if ex.xff or ex.xfp or ex.xfh or ex.has_forwarded:
            parts.append(self._forwarding_lines(ex))
        else:
            parts.append(self._fwd_lines)
        if not ex.has_request_id:
            parts.append(b"x-request-id: " + self._sched.request_ids.next() + b"\r\n")
        if ex.chunked:
            parts.append(b"transfer-encoding: chunked\r\n")
            ex.has_body = True
        parts.append(b"\r\n")
        head = b"".join(parts)
        ex.parts = []
        ex.up_buf.append(head)
        ex.up_size = len(head)
        if not ex.has_body:
            ex.replay = head
        elif ex.expect and ex is self.active and self.transport is not None:
            self.transport.write(_CONTINUE)
        if ex is self.active:
            self._sched.route(ex)

    def on_body(self, body: bytes) -> None:
        ex = self._cur
        assert ex is not None
        if ex.discard:
            return
        if ex.chunked:
            ex.up_buf.extend((b"%x\r\n" % len(body), body, b"\r\n"))
        else:
            ex.up_buf.append(body)
        ex.up_size += len(body)
        if ex.upstream is None and ex.up_size > _BUFFER_HIGH:
            self.hold(_HOLD_BUFFER)

    def on_message_complete(self) -> None:
        ex = self._cur
        assert ex is not None
        if ex is self._upgrade and ex.has_body:
            return  # llhttp skipped the body of an upgrade request; `_after_upgrade` reads it
        self._cur = None
        if ex.chunked and not ex.discard:
            ex.up_buf.append(b"0\r\n\r\n")
        ex.req_done = True
        if ex.state == DONE:
            self.finished(ex)

    # -- used by the scheduler and the upstream side ---------------------------------------------

    def flush(self) -> None:
        out = self.out
        if out and self.transport is not None and not self.closed:
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))
        out.clear()

    def reply(self, ex: Exchange, data: bytes, *, close: bool = False) -> None:
        """Answer `ex` with a complete response made here (an error, a 404). With `close`, the
        connection closes after it; otherwise the rest of the request body is read and dropped."""
        ex.state = DONE
        ex.up_buf.clear()
        ex.replay = None
        if close:
            ex.keep_alive = False
        if self.transport is not None and not self.closed:
            self.transport.write(data)
        if ex.req_done:
            self.finished(ex)
            return
        ex.discard = True
        if close and self.transport is not None:
            self.transport.close()

    def finished(self, ex: Exchange) -> None:
        """`ex` has its whole request read and its whole response written: move to the next one."""
        if ex is not self.active:
            return
        self.active = None
        self.release(_HOLD_BUFFER | _HOLD_UPSTREAM)
        if not ex.keep_alive or (self._eof and not self._pipeline):
            self.flush()
            if self.transport is not None:
                self.transport.close()
            return
        if self._pipeline:
            nxt = self._pipeline.popleft()
            self.active = nxt
            if not self._pipeline:
                self.release(_HOLD_PIPELINE)
            if nxt.up_buf and nxt.state == HEAD:  # its head is complete
                if nxt.expect and nxt.has_body and self.transport is not None:
                    self.transport.write(_CONTINUE)
                self._sched.route(nxt)

    def hold(self, reason: int) -> None:
        if not self._hold and self.transport is not None and not self.closed:
            self.transport.pause_reading()
        self._hold |= reason

    def release(self, reason: int) -> None:
        if not self._hold:
            return
        self._hold &= ~reason
        if not self._hold and self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # -- internals ----------------------------------------------------------------------------

    def _after_upgrade(self, rest: bytes) -> None:
        """llhttp stops at a request asking for a protocol upgrade (WebSocket, h2c). Upgrades are
        not offered, so the request goes on as a plain one: read its body, if any, outside the
        parser, then continue with a new parser."""
        ex, self._upgrade = self._upgrade, None
        self.parser = httptools.HttpRequestParser(self)
        if ex is not None and ex.has_body:
            if ex.chunked:
                self._bad_request(501, b"Not Implemented")
                return
            self._cur = ex
            self._raw_left = ex.clen
        self.data_received(rest)

    def _take_raw(self, data: bytes) -> bytes:
        n = min(len(data), self._raw_left)
        self._raw_left -= n
        if n:
            self.on_body(data[:n])
        if not self._raw_left:
            self._upgrade = None
            self.on_message_complete()
        return data[n:]

    def _forwarding_lines(self, ex: Exchange) -> bytes:
        xff = ex.xff + b", " + self._peer if ex.xff else self._peer
        xfp = ex.xfp or b"http"
        lines = b"x-forwarded-for: " + xff + b"\r\nx-forwarded-proto: " + xfp + b"\r\n"
        if not ex.has_forwarded:
            lines += b"forwarded: " + forwarded(xff, xfp, ex.xfh) + b"\r\n"
        return lines

    def _bad_request(self, status: int, reason: bytes) -> None:
        ex = self.active
        if ex is not None and ex.state not in (HEAD, DONE, CANCELLED):
            # a response is under way; the connection cannot carry anything sensible any more
            self.abort()
            return
        if self.transport is not None and not self.closed:
            self.transport.write(go_error(status, reason, reason, close=True))
            self.transport.close()
        self.closed = True


class UpstreamProtocol(asyncio.Protocol):
    """One keep-alive connection to a replica."""

    __slots__ = ("_chunk_out", "_clen", "_complete", "_conn_tokens", "_fresh_parser", "_interim", "_keep", "_parts",
                 "_reason", "_sched", "_te_chunked", "closed", "endpoint", "ex", "got_bytes", "parser", "reused",
                 "transport")

    def __init__(self, scheduler: Scheduler, endpoint: _Endpoint) -> None:
        self._sched = scheduler
        self.endpoint = endpoint
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.ex: Exchange | None = None
        self.closed = False
        self.reused = False
        self.got_bytes = False
        self._reset()

    def _reset(self) -> None:
        self._reason = b""
        self._parts: list[bytes] = []
        self._clen = self._te_chunked = self._chunk_out = self._interim = self._complete = False
        self._fresh_parser = False
        self._keep = True
        self._conn_tokens: list[bytes] | None = None

    # -- used by the scheduler ----------------------------------------------------------------

    def attach(self, ex: Exchange) -> None:
        self.ex = ex
        self.got_bytes = False
        self._reset()
        ex.upstream = self
        ex.state = PROXYING
        if self.transport is not None and self.transport.is_reading() is False:
            self.transport.resume_reading()
        if not ex.conn.feeding:
            self.send(ex)
            ex.conn.release(_HOLD_BUFFER)

    def send(self, ex: Exchange) -> None:
        buf = ex.up_buf
        if self.transport is None or not buf:
            return
        self.transport.write(buf[0] if len(buf) == 1 else b"".join(buf))
        buf.clear()
        ex.up_size = 0

    def close(self) -> None:
        self.ex = None
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.ex = None
        if self.transport is not None:
            self.transport.abort()

    # -- transport events ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        ex = self.ex
        if ex is None:  # bytes on an idle connection: the replica is confused; drop the connection
            self.abort()
            return
        self.got_bytes = True
        conn = ex.conn
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            conn.flush()
            self.ex = None
            self._keep = False
            if self.transport is not None:
                self.transport.abort()
            self._sched.upstream_lost(ex, self, ValueError("malformed HTTP response"))
            return
        conn.flush()
        if self._complete:
            self._finish()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        ex = self.ex
        self._sched.upstream_closed(self)
        if ex is None:
            return
        if ex.state == RESPONDING and not self._clen and not self._te_chunked and not self._complete:
            # a response delimited by the end of the connection has ended
            if self._chunk_out:
                ex.conn.out.append(b"0\r\n\r\n")
            ex.conn.flush()
            self._keep = False
            self._finish()
            return
        self.ex = None
        self._sched.upstream_lost(ex, self, exc)

    def pause_writing(self) -> None:
        ex = self.ex
        if ex is not None:
            ex.conn.hold(_HOLD_UPSTREAM)

    def resume_writing(self) -> None:
        ex = self.ex
        if ex is not None:
            ex.conn.release(_HOLD_UPSTREAM)

    # -- parser callbacks --------------------------------------------------------------------

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        lname = name.lower()
        if lname in RESP_HOP_BY_HOP:
            if lname == b"transfer-encoding":
                self._te_chunked = b"chunked" in value.lower()
            elif lname == b"connection":
                extra = _connection_tokens(value)
                if extra:
                    self._conn_tokens = (self._conn_tokens or []) + extra
            return
        if lname == b"content-length":
            self._clen = True
        self._parts.extend((name, b": ", value, b"\r\n"))

    def on_headers_complete(self) -> None:
        ex = self.ex
        if ex is None:
            return
        status = self.parser.get_status_code()
        if status < 200:  # interim (100 Continue, 103 Early Hints): swallowed, the final response follows
            self._interim = True
            self._parts = []
            self._reason = b""
            self._clen = self._te_chunked = False
            return
        parts = self._parts
        if self._conn_tokens:
            parts = _without(parts, self._conn_tokens)
        head_only = ex.method == b"HEAD"
        if not (head_only or status == 204 or status == 304 or (self._clen and not self._te_chunked)):
            if ex.http10:
                ex.keep_alive = False
            else:
                self._chunk_out = True
                parts.append(b"transfer-encoding: chunked\r\n")
        if not ex.keep_alive:
            parts.append(b"connection: close\r\n")
        elif ex.http10:
            parts.append(b"connection: keep-alive\r\n")
        ex.conn.out.append(b"HTTP/1.1 %d %s\r\n%s\r\n" % (status, self._reason, b"".join(parts)))
        self._parts = []
        ex.status = status
        ex.state = RESPONDING
        self._sched.response_started(ex)
        if head_only:
            # llhttp cannot be told that this response has no body; the next response gets a new parser
            self._keep = self.parser.should_keep_alive() and (self._clen or self._te_chunked)
            self._complete = True
            self._fresh_parser = True

    def on_body(self, body: bytes) -> None:
        ex = self.ex
        if ex is None or self._complete:
            return
        if self._chunk_out:
            ex.conn.out.extend((b"%x\r\n" % len(body), body, b"\r\n"))
        else:
            ex.conn.out.append(body)
        if ex.idle_handle is not None:
            ex.last_write = asyncio.get_running_loop().time()

    def on_message_complete(self) -> None:
        ex = self.ex
        if ex is None or self._complete:
            return
        if self._interim:
            self._interim = False
            return
        if self._chunk_out:
            ex.conn.out.append(b"0\r\n\r\n")
        self._keep = self.parser.should_keep_alive()
        self._complete = True

    # -- internals ----------------------------------------------------------------------------

    def _finish(self) -> None:
        ex = self.ex
        assert ex is not None
        self.ex = None
        if self._fresh_parser:
            self.parser = httptools.HttpResponseParser(self)
        reusable = self._keep and ex.req_done and not self.closed
        self._sched.exchange_done(ex, self, reusable)


def _connection_tokens(value: bytes) -> list[bytes]:
    """The further hop-by-hop headers a `Connection` header names (`Connection: close, X-Foo`)."""
    tokens = (t.strip().lower() for t in value.split(b","))
    return [t for t in tokens if t and t not in (b"close", b"keep-alive", b"upgrade")]


def _without(parts: list[bytes], names: list[bytes]) -> list[bytes]:
    kept: list[bytes] = []
    for i in range(0, len(parts) - 3, 4):
        if parts[i].lower() not in names:
            kept.extend(parts[i:i + 4])
    return kept


def _origin_form(ex: Exchange, url: bytes) -> bytes:
    """`GET http://host/path` (absolute form): route on its authority, send the path on."""
    scheme_end = url.find(b"://")
    if scheme_end < 0:
        return url
    rest = url[scheme_end + 3:]
    slash = rest.find(b"/")
    authority, path = (rest, b"/") if slash < 0 else (rest[:slash], rest[slash:])
    ex.host = authority
    return path

