"""The ingress: Knative's gateway, activator and queue-proxy jobs in one asyncio listener.

For each request: the Host header picks a `HostRoute` (404 with an empty body when none matches,
as Envoy answers), a weighted draw picks the revision, the revision's load-balancing policy picks a
ready replica with a free `containerConcurrency` slot, and the request is proxied over a pooled
keep-alive connection. Without such a replica the request waits in the revision's FIFO queue
(bounded: 503 `pending request queue full`); a revision with no ready replica at all gets
`on_activate(key)` at once and again every second while requests wait, which is the
scale-from-zero signal. The controllers feed the ingress through `set_routes`, `set_revision`,
`set_endpoints`; the autoscaler polls `snapshot()`.

Timeouts follow Knative's timeout handler, which only answers while nothing of the response has
been written: a request gets 504 once `timeoutSeconds` (or the shorter
`responseStartTimeoutSeconds` / `idleTimeoutSeconds`) pass without a response head, with the
activator's body `activator request timeout` if it was still waiting for a replica and
queue-proxy's `request timeout` if a replica had it. After the head is out only
`idleTimeoutSeconds` applies, between writes; the connection is then cut.

A replica that refuses a connection gets no further traffic from that request: it fails over to
another ready replica with a free slot, else answers 502 with Go's dial error as queue-proxy
does. Taking the replica out of rotation is the controller's call (`set_endpoints`). A replica
that closes a pooled connection before answering gets the request once more on a new connection
when the request has no body (as Go's transport retries); otherwise 502 with Go's read error.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .balancing import first_available, random_choice_2, round_robin
from .headers import (
    ACTIVATOR_TIMEOUT,
    QUEUE_FULL,
    REQUEST_TIMEOUT,
    RequestIds,
    connect_error,
    go_error,
    not_found,
    read_error,
    timeout_response,
)
from .metrics import Histogram, PodSample, PodStats, RevisionLabels, RevisionSample, RevisionStats, render, render_pod
from .proxy import (
    CANCELLED,
    CONNECTING,
    DONE,
    HEAD,
    PROXYING,
    QUEUED,
    RESPONDING,
    ClientProtocol,
    Exchange,
    UpstreamProtocol,
)
from .routing import HostRoute, RevisionKey, RouteTable, choose, normalize_host

__all__ = ["Endpoint", "Ingress", "RevisionSettings"]

log = logging.getLogger(__name__)

_MAX_DIALS = 32  # connections being opened to one replica at once
_MAX_IDLE = 256  # idle connections kept per replica
_ACTIVATION_PERIOD = 1.0


@dataclass(frozen=True, slots=True)
class RevisionSettings:
    container_concurrency: int = 0
    """Requests one replica takes at once; 0 means no limit (requests are still counted)."""
    timeout_seconds: float = 300
    """`spec.timeoutSeconds`: how long a request may go without a response head."""
    response_start_timeout_seconds: float | None = None
    """`spec.responseStartTimeoutSeconds`: a shorter limit to the response head, if set."""
    idle_timeout_seconds: float | None = None
    """`spec.idleTimeoutSeconds`: the longest gap between writes of a response, if set."""
    service_name: str = ""
    """The owning Service, for metric labels only (`kn_service_name`)."""
    configuration_name: str = ""
    """The owning Configuration, for metric labels only (`kn_configuration_name`)."""


class Endpoint(NamedTuple):
    """A ready replica of a revision."""

    host: str
    port: int
    name: str


class _Endpoint:
    __slots__ = ("dialing", "host", "idle", "in_flight", "name", "port", "removed", "stats", "waiters")

    def __init__(self, spec: Endpoint) -> None:
        self.host, self.port, self.name = spec.host, spec.port, spec.name
        self.in_flight = 0
        self.stats = PodStats()  # this replica's queue-proxy counters
        self.idle: list[UpstreamProtocol] = []
        self.waiters: deque[Exchange] = deque()  # hold a slot here, wait for a connection
        self.dialing = 0
        self.removed = False


class _Revision:
    __slots__ = ("area", "cc", "deadlines", "endpoints", "first_byte", "idle_timeout", "in_flight", "invocation", "key",
                 "labels", "last_change", "poke_timer", "queued", "requests", "rr", "server", "settings", "snap_time",
                 "timer", "waiting", "window")

    def __init__(self, key: RevisionKey, settings: RevisionSettings, now: float) -> None:
        self.key = key
        self.endpoints: list[_Endpoint] = []
        self.rr = 0
        self.waiting: deque[Exchange] = deque()
        self.deadlines: deque[Exchange] = deque()
        self.timer: asyncio.TimerHandle | None = None
        self.poke_timer: asyncio.TimerHandle | None = None
        self.queued = self.in_flight = self.requests = self.window = 0
        self.area = 0.0
        self.last_change = self.snap_time = now
        self.server: dict[tuple[bytes, int], Histogram] = {}
        self.invocation: dict[int, Histogram] = {}
        self.apply(settings)

    def apply(self, settings: RevisionSettings) -> None:
        self.settings = settings
        self.cc = max(0, int(settings.container_concurrency))
        limits = (settings.timeout_seconds, settings.response_start_timeout_seconds, settings.idle_timeout_seconds)
        # Before the response head every one of the three limits is a limit on the head.
        self.first_byte = min((float(v) for v in limits if v is not None and v > 0), default=float("inf"))
        idle = settings.idle_timeout_seconds
        self.idle_timeout = float(idle) if idle is not None and idle > 0 else 0.0
        self.labels = RevisionLabels(self.key.namespace, settings.service_name, settings.configuration_name,
                                     self.key.name)

    def note(self, now: float) -> None:
        """Accumulate concurrency x time up to `now`, before `queued` or `in_flight` changes."""
        self.area += (self.queued + self.in_flight) * (now - self.last_change)
        self.last_change = now

    def record(self, method: bytes, status: int, total: float, invocation: float | None) -> None:
        hist = self.server.get((method, status))
        if hist is None:
            hist = self.server[(method, status)] = Histogram()
        hist.observe(total)
        if invocation is not None:
            inv = self.invocation.get(status)
            if inv is None:
                inv = self.invocation[status] = Histogram()
            inv.observe(invocation)


class Ingress:
    """The data plane's HTTP entry point. All methods must be called on the event loop's thread."""

    def __init__(self, *, on_activate: Callable[[RevisionKey], None] = lambda key: None, queue_depth: int = 10_000,
                 clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None) -> None:
        self._on_activate = on_activate
        self._queue_depth = queue_depth
        self._clock = clock
        self._rand = (rng or random.Random()).random
        self._table = RouteTable()
        self._fallback: Callable[[bytes], HostRoute | None] | None = None
        self._revisions: dict[RevisionKey, _Revision] = {}
        self._servers: list[asyncio.Server] = []
        self._clients: set[ClientProtocol] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self.request_ids = RequestIds()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int | None = None, sock: socket.socket | None = None) -> None:
        self._loop = loop = asyncio.get_running_loop()
        if sock is not None:
            server = await loop.create_server(self._client, sock=sock, backlog=4096)
        else:
            server = await loop.create_server(self._client, host, port or 0, reuse_address=True, backlog=4096)
        self._servers.append(server)

    @property
    def port(self) -> int:
        for server in self._servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        raise RuntimeError("the ingress is not listening")

    async def stop(self, grace: float = 1.0) -> None:
        """Stop listening, fail waiting requests with 503, let proxied ones finish for `grace`
        seconds, then cut what is left and close the connection pools."""
        self._stopping = True
        for server in self._servers:
            server.close()
        self._fail_waiting(b"ingress stopping")
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(c.active is not None for c in self._clients):
            await asyncio.sleep(0.01)
        self.close()

    def close(self) -> None:
        """Stop at once: close listeners, fail waiting requests, cut every connection."""
        self._stopping = True
        for server in self._servers:
            server.close()
        self._servers.clear()
        self._fail_waiting(b"ingress stopping")
        for conn in list(self._clients):
            conn.abort()
        for rev in self._revisions.values():
            for timer in (rev.timer, rev.poke_timer):
                if timer is not None:
                    timer.cancel()
            rev.timer = rev.poke_timer = None
            for ep in rev.endpoints:
                self._drop_idle(ep)

    # -- the controllers' side ------------------------------------------------------------------

    def set_routes(self, table: RouteTable) -> None:
        """Replace the whole host table (requests already routed keep their revision)."""
        self._table = table

    def set_fallback(self, fallback: Callable[[bytes], HostRoute | None] | None) -> None:
        """Routes for hosts the table does not hold, decided by name (the eventing plane's
        `<channel>-kn-channel.<ns>.svc.cluster.local` hosts, say). Asked only on a table miss."""
        self._fallback = fallback

    def routes_host(self, host: str) -> bool:
        """Whether a request for `host` would be routed somewhere (the table or the fallback)."""
        if self._table.lookup(host) is not None:
            return True
        return self._fallback is not None and self._fallback(normalize_host(host).encode("ascii")) is not None

    def set_revision(self, key: RevisionKey, settings: RevisionSettings) -> None:
        """Create or update a revision's limits. A revision that traffic reaches before this call
        gets the defaults (unlimited concurrency, 300 s)."""
        rev = self._revisions.get(key)
        if rev is None:
            self._revisions[key] = _Revision(key, settings, self._clock())
            return
        rev.apply(settings)
        if rev.timer is not None:
            rev.timer.cancel()
            rev.timer = None
        self._arm(rev)
        self._drain(rev)

    def remove_revision(self, key: RevisionKey) -> None:
        """Forget a revision: its waiting requests get 503, proxied ones finish, pools close."""
        rev = self._revisions.pop(key, None)
        if rev is None:
            return
        for timer in (rev.timer, rev.poke_timer):
            if timer is not None:
                timer.cancel()
        self._fail_revision(rev, f"revision {key} was removed".encode())
        for ep in rev.endpoints:
            ep.removed = True
            self._drop_idle(ep)

    def set_endpoints(self, key: RevisionKey, endpoints: Sequence[Endpoint]) -> None:
        """The revision's ready replicas, whole. Replicas that stay keep their counts and pooled
        connections; ones that leave finish what they carry; waiting requests move at once."""
        rev = self._revision(key)
        old = {(ep.host, ep.port): ep for ep in rev.endpoints}
        fresh: list[_Endpoint] = []
        for spec in endpoints:
            ep = old.pop((spec.host, spec.port), None) or _Endpoint(spec)
            ep.name = spec.name
            fresh.append(ep)
        for ep in old.values():
            ep.removed = True
            self._drop_idle(ep)
        rev.endpoints = fresh
        rev.rr = 0
        self._drain(rev)

    def snapshot(self) -> dict[RevisionKey, RevisionStats]:
        """Per-revision counts now and since the previous call (which this call resets)."""
        now = self._clock()
        out: dict[RevisionKey, RevisionStats] = {}
        for key, rev in self._revisions.items():
            rev.note(now)
            span = now - rev.snap_time
            average = rev.area / span if span > 0 else float(rev.queued + rev.in_flight)
            out[key] = RevisionStats(in_flight=rev.in_flight, queued=rev.queued, requests=rev.requests,
                                     average_concurrency=average, request_count=rev.window)
            rev.area = 0.0
            rev.snap_time = now
            rev.window = 0
        return out

    def pod_metrics_text(self, key: RevisionKey, pod: str) -> bytes:
        """The queue-proxy metrics of one replica (what its port 9091 serves in a cluster); a replica the
        ingress does not hold (not ready yet, or gone) has no counts."""
        rev = self._revisions.get(key)
        labels = rev.labels if rev is not None else RevisionLabels(key.namespace, "", "", key.name)
        ep = next((e for e in rev.endpoints if e.name == pod), None) if rev is not None else None
        return render_pod(PodSample(labels=labels, pod=pod, stats=ep.stats.copy() if ep is not None else PodStats(),
                                    in_flight=ep.in_flight if ep is not None else 0,
                                    limited=rev is not None and rev.cc > 0))

    def metrics_text(self) -> bytes:
        """Prometheus text exposition (format 0.0.4) of the request metrics."""
        return render(
            RevisionSample(labels=rev.labels, queued=rev.queued, active=rev.in_flight, server=dict(rev.server),
                           invocation=dict(rev.invocation),
                           replicas=tuple((ep.name, ep.in_flight) for ep in rev.endpoints))
            for rev in self._revisions.values())

    # -- the request path (called by the protocols) ------------------------------------------------

    def route(self, ex: Exchange) -> None:
        route = self._table.lookup_bytes(ex.host)
        if route is None and self._fallback is not None:
            route = self._fallback(_host_name(ex.host))
        if route is None:
            ex.conn.reply(ex, not_found(close=not ex.keep_alive))
            return
        targets = route.targets
        if len(targets) == 1:
            key = targets[0].revision
        elif targets:
            key = choose(route, self._rand())
        else:
            ex.conn.reply(ex, go_error(503, b"Service Unavailable", b"no healthy upstream", close=not ex.keep_alive))
            return
        rev = self._revisions.get(key) or self._revision(key)
        now = self._clock()
        rev.requests += 1
        rev.window += 1
        ex.rev = rev
        ex.t0 = now
        ep = self._pick(rev)
        if ep is None:
            if rev.queued >= self._queue_depth or self._stopping:
                self._fail(ex, 503, b"Service Unavailable", QUEUE_FULL, dispatched=False, close=False)
                return
            rev.note(now)
            rev.queued += 1
            ex.state = QUEUED
            rev.waiting.append(ex)
            if not rev.endpoints:
                self._poke(rev, fresh=rev.queued == 1)
        else:
            rev.note(now)
            rev.in_flight += 1
            ep.in_flight += 1
            ex.endpoint = ep
            ex.t_dispatch = now
            self._connect(ex, ep)
        if ex.state < RESPONDING:
            self._watch(rev, ex)

    def cancel(self, ex: Exchange) -> None:
        state = ex.state
        ex.state = CANCELLED
        rev = ex.rev
        if rev is None or state in (HEAD, DONE, CANCELLED):
            return
        if state == QUEUED:
            rev.note(self._clock())
            rev.queued -= 1
            return
        upstream = ex.upstream
        if upstream is not None and upstream.ex is ex:
            upstream.abort()
        if ex.idle_handle is not None:
            ex.idle_handle.cancel()
            ex.idle_handle = None
        self._release(ex, self._clock())
        self._drain(rev)

    def response_started(self, ex: Exchange) -> None:
        rev = ex.rev
        if rev is not None and rev.idle_timeout and self._loop is not None:
            ex.last_write = self._loop.time()
            ex.idle_handle = self._loop.call_later(rev.idle_timeout, self._idle_check, ex)

    def exchange_done(self, ex: Exchange, upstream: UpstreamProtocol, reusable: bool) -> None:
        rev, ep = ex.rev, ex.endpoint
        assert rev is not None and ep is not None
        now = self._clock()
        ex.state = DONE
        ex.upstream = None
        if ex.idle_handle is not None:
            ex.idle_handle.cancel()
            ex.idle_handle = None
        rev.record(ex.method, ex.status, now - ex.t0, now - ex.t_dispatch)
        ep.stats.record(ex.status, (now - ex.t_dispatch) * 1000.0, True)
        self._release(ex, now)
        if reusable:
            self._recycle(ep, upstream)
        else:
            upstream.close()
        if ex.req_done:
            ex.conn.finished(ex)
        else:
            ex.discard = True
            ex.up_buf.clear()
        if rev.waiting:
            self._drain(rev)

    def upstream_lost(self, ex: Exchange, upstream: UpstreamProtocol, exc: BaseException | None) -> None:
        rev, ep = ex.rev, ex.endpoint
        if rev is None or ep is None or ex.state not in (PROXYING, RESPONDING):
            return
        if ex.idle_handle is not None:
            ex.idle_handle.cancel()
            ex.idle_handle = None
        if ex.state == RESPONDING:  # the head is out: all the client can learn is a cut connection
            ex.state = DONE
            now = self._clock()
            rev.record(ex.method, ex.status, now - ex.t0, None)
            ep.stats.record(ex.status, (now - ex.t_dispatch) * 1000.0, True)
            self._release(ex, now)
            ex.conn.abort()
        elif upstream.reused and not upstream.got_bytes and ex.replay is not None and ex.tried is None:
            # a pooled connection the replica had already closed: send the request again on a new one
            ex.tried = []
            ex.up_buf[:] = [ex.replay]
            ex.upstream = None
            ex.state = CONNECTING
            self._spawn_dial(ep, ex)
            return
        else:
            local, remote = _addresses(upstream)
            message = read_error(local, remote, exc) if not isinstance(exc, ValueError) else (
                b"net/http: HTTP/1.x transport connection broken: " + str(exc).encode())
            self._fail(ex, 502, b"Bad Gateway", message, dispatched=True)
        self._drain(rev)

    def upstream_closed(self, upstream: UpstreamProtocol) -> None:
        idle = upstream.endpoint.idle
        if upstream in idle:
            idle.remove(upstream)

    def client_gone(self, conn: ClientProtocol) -> None:
        self._clients.discard(conn)

    # -- internals ------------------------------------------------------------------------------

    def _client(self) -> ClientProtocol:
        conn = ClientProtocol(self)
        self._clients.add(conn)
        return conn

    def _revision(self, key: RevisionKey) -> _Revision:
        rev = self._revisions.get(key)
        if rev is None:
            rev = self._revisions[key] = _Revision(key, RevisionSettings(), self._clock())
        return rev

    def _pick(self, rev: _Revision) -> _Endpoint | None:
        eps = rev.endpoints
        if not eps:
            return None
        cc = rev.cc
        if cc == 0:
            return eps[0] if len(eps) == 1 else eps[random_choice_2(eps, self._rand)]
        if cc <= 3:
            index = first_available(eps, cc)
        else:
            index = round_robin(eps, cc, rev.rr)
            if index is not None:
                rev.rr = index + 1
        return None if index is None else eps[index]

    def _connect(self, ex: Exchange, ep: _Endpoint) -> None:
        ex.state = CONNECTING
        idle = ep.idle
        while idle:
            up = idle.pop()
            if not up.closed:
                up.reused = True
                up.attach(ex)
                return
        ep.waiters.append(ex)
        if ep.dialing < _MAX_DIALS and ep.dialing < len(ep.waiters):
            ep.dialing += 1
            self._spawn_dial(ep, None)

    def _spawn_dial(self, ep: _Endpoint, ex: Exchange | None) -> None:
        assert self._loop is not None
        self._loop.create_task(self._dial(ep, ex))

    async def _dial(self, ep: _Endpoint, ex: Exchange | None) -> None:
        """Open a connection to `ep` for `ex`, or (ex None) for whoever waits there first."""
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET6 if ":" in ep.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (ep.host, ep.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _, up = await loop.create_connection(lambda: UpstreamProtocol(self, ep), sock=sock)
        except OSError as exc:
            sock.close()
            if ex is None:
                ep.dialing -= 1
            self._dial_failed(ep, ex, exc)
            return
        if ex is None:
            ep.dialing -= 1
        target = ex if ex is not None and ex.state == CONNECTING else self._next_waiter(ep)
        if target is None:
            self._recycle(ep, up)
            return
        up.attach(target)

    def _next_waiter(self, ep: _Endpoint) -> Exchange | None:
        waiters = ep.waiters
        while waiters:
            ex = waiters.popleft()
            if ex.state == CONNECTING and ex.upstream is None:
                return ex
        return None

    def _dial_failed(self, ep: _Endpoint, ex: Exchange | None, exc: OSError) -> None:
        target = ex if ex is not None and ex.state == CONNECTING else self._next_waiter(ep)
        if target is None:
            return
        rev = target.rev
        assert rev is not None
        now = self._clock()
        self._release(target, now)
        tried = target.tried if target.tried is not None else []
        tried.append(ep)
        target.tried = tried
        other = next((e for e in rev.endpoints if e not in tried and (rev.cc == 0 or e.in_flight < rev.cc)), None)
        if other is not None:
            rev.note(now)
            rev.in_flight += 1
            other.in_flight += 1
            target.endpoint = other
            self._connect(target, other)
        else:
            self._fail(target, 502, b"Bad Gateway", connect_error(ep.host, ep.port, exc), dispatched=False)
        # others still waiting on this replica need dials of their own
        if len(ep.waiters) > ep.dialing and ep.dialing < _MAX_DIALS:
            ep.dialing += 1
            self._spawn_dial(ep, None)
        self._drain(rev)

    def _recycle(self, ep: _Endpoint, up: UpstreamProtocol) -> None:
        if up.closed:
            return
        nxt = self._next_waiter(ep)
        if nxt is not None:
            up.reused = True
            up.attach(nxt)
        elif ep.removed or len(ep.idle) >= _MAX_IDLE or self._stopping:
            up.close()
        else:
            ep.idle.append(up)

    def _release(self, ex: Exchange, now: float) -> None:
        """Give back the replica slot (and the revision's in-flight count) that `ex` held."""
        rev, ep = ex.rev, ex.endpoint
        if rev is None or ep is None:
            return
        ex.endpoint = None
        rev.note(now)
        rev.in_flight -= 1
        ep.in_flight -= 1

    def _drain(self, rev: _Revision) -> None:
        """Hand waiting requests, oldest first, to replicas with free slots."""
        waiting = rev.waiting
        while waiting:
            ex = waiting[0]
            if ex.state != QUEUED:
                waiting.popleft()
                continue
            ep = self._pick(rev)
            if ep is None:
                return
            waiting.popleft()
            rev.queued -= 1  # queued + in_flight is unchanged: no area to add
            rev.in_flight += 1
            ep.in_flight += 1
            ex.endpoint = ep
            ex.t_dispatch = self._clock()
            if not ex.activated:
                ex.activated = True
                head = ex.up_buf[0][:-2] + b"k-proxy-request: activator\r\n\r\n"
                ex.up_buf[0] = head
                if ex.replay is not None:
                    ex.replay = head
            self._connect(ex, ep)

    def _fail(self, ex: Exchange, status: int, reason: bytes, message: bytes, *, dispatched: bool,
              timeout: bool = False, close: bool | None = None) -> None:
        """Answer `ex` here: Go's `http.Error` text, or the timeout handler's bare 504. Unless told,
        the connection closes when the request body is not all read yet."""
        rev = ex.rev
        now = self._clock()
        if rev is not None:
            rev.record(ex.method, status, now - ex.t0, now - ex.t_dispatch if dispatched else None)
        if dispatched and ex.endpoint is not None:  # queue-proxy's own answer (502, 504)
            ex.endpoint.stats.record(status, (now - ex.t_dispatch) * 1000.0, False)
        self._release(ex, now)
        if ex.idle_handle is not None:
            ex.idle_handle.cancel()
            ex.idle_handle = None
        ex.upstream = None
        ex.status = status
        close = (not ex.req_done if close is None else close) or not ex.keep_alive
        response = timeout_response(message, close=close) if timeout else go_error(status, reason, message, close=close)
        ex.conn.reply(ex, response, close=close)

    def _fail_waiting(self, message: bytes) -> None:
        for rev in self._revisions.values():
            self._fail_revision(rev, message)

    def _fail_revision(self, rev: _Revision, message: bytes) -> None:
        now = self._clock()
        while rev.waiting:
            ex = rev.waiting.popleft()
            if ex.state != QUEUED:
                continue
            rev.note(now)
            rev.queued -= 1
            self._fail(ex, 503, b"Service Unavailable", message, dispatched=False, close=True)

    def _poke(self, rev: _Revision, fresh: bool = False) -> None:
        """The scale-from-zero signal: now, then every second while requests wait with no replica.
        The first request of a new wait pokes at once even if the last wait's timer is still pending."""
        if self._loop is None:
            return
        if rev.poke_timer is not None:
            if not fresh:
                return
            rev.poke_timer.cancel()
        rev.poke_timer = self._loop.call_later(_ACTIVATION_PERIOD, self._repoke, rev)
        try:
            self._on_activate(rev.key)
        except Exception:
            log.exception("on_activate(%s) failed", rev.key)

    def _repoke(self, rev: _Revision) -> None:
        rev.poke_timer = None
        if rev.queued > 0 and not rev.endpoints and self._revisions.get(rev.key) is rev:
            self._poke(rev)

    # -- timeouts -----------------------------------------------------------------------------

    def _watch(self, rev: _Revision, ex: Exchange) -> None:
        """Track `ex` until its response head: the revision's requests share one timer, since
        their deadlines (arrival + the revision's limit) come in arrival order."""
        assert self._loop is not None
        ex.arrived = self._loop.time()
        deadlines = rev.deadlines
        while deadlines and deadlines[0].state >= RESPONDING:
            deadlines.popleft()
        deadlines.append(ex)
        if len(deadlines) > 4096 and len(deadlines) % 4096 == 0:
            rev.deadlines = deque(e for e in deadlines if e.state < RESPONDING)
        if rev.timer is None:
            self._arm(rev)

    def _arm(self, rev: _Revision) -> None:
        if rev.deadlines and self._loop is not None and rev.first_byte != float("inf"):
            rev.timer = self._loop.call_at(rev.deadlines[0].arrived + rev.first_byte, self._expire, rev)

    def _expire(self, rev: _Revision) -> None:
        rev.timer = None
        assert self._loop is not None
        cutoff = self._loop.time() - rev.first_byte
        deadlines = rev.deadlines
        while deadlines:
            ex = deadlines[0]
            if ex.state >= RESPONDING:
                deadlines.popleft()
                continue
            if ex.arrived > cutoff:
                break
            deadlines.popleft()
            self._time_out(rev, ex)
        self._arm(rev)
        self._drain(rev)

    def _time_out(self, rev: _Revision, ex: Exchange) -> None:
        if ex.state == QUEUED:
            rev.note(self._clock())
            rev.queued -= 1
            self._fail(ex, 504, b"Gateway Timeout", ACTIVATOR_TIMEOUT, dispatched=False, timeout=True)
            return
        if ex.state == PROXYING and ex.upstream is not None:
            ex.upstream.abort()
        self._fail(ex, 504, b"Gateway Timeout", REQUEST_TIMEOUT, dispatched=True, timeout=True)

    def _idle_check(self, ex: Exchange) -> None:
        ex.idle_handle = None
        rev = ex.rev
        if ex.state != RESPONDING or rev is None or self._loop is None:
            return
        quiet = self._loop.time() - ex.last_write
        if quiet < rev.idle_timeout:
            ex.idle_handle = self._loop.call_later(rev.idle_timeout - quiet, self._idle_check, ex)
            return
        ex.conn.abort()  # connection_lost cancels the exchange and cuts the replica's connection

    def _drop_idle(self, ep: _Endpoint) -> None:
        idle, ep.idle = ep.idle, []
        for up in idle:
            up.close()


def _addresses(upstream: UpstreamProtocol) -> tuple[str, str]:
    transport = upstream.transport
    local = transport.get_extra_info("sockname") if transport is not None else None
    ep = upstream.endpoint
    local_text = f"{local[0]}:{local[1]}" if isinstance(local, tuple) else "127.0.0.1:0"
    return local_text, f"{ep.host}:{ep.port}"


def _host_name(host: bytes) -> bytes:
    """The Host header as a bare lower-case name (no port, no trailing dot)."""
    try:
        return normalize_host(host.decode("latin-1")).encode("ascii")
    except UnicodeError:
        return b""
