"""The live data every widget draws from: one `Feed` per client keeps API watches and polls the connection's
metrics (`jupyter_knative.client.metrics.MetricsSource`: the plane's `GET /metrics`, Prometheus' `/federate`, or
the revision and broker pods through the pod proxy), and hands each subscriber a fresh `Snapshot` at most once
per interval, only when something changed.

    feed = shared_feed(client)
    sub = feed.subscribe(on_snapshot, namespace="default", kinds=("ksvc", "revisions", "routes", "pods"))
    ...
    sub.close()

Threads: the feed's own thread (`knative-feed-…`) polls the metrics and calls the subscribers; each watched
(namespace, kind) is read by a helper thread of the feed (`knative-feed-…/pods@default`), because a blocking
HTTP stream cannot share a thread with others. They all run only while someone is subscribed, and stop (sockets
shut, threads joined) when the last subscription or the feed is closed. A plane that goes down or a watch that
fails never ends them: they back off, retry, and the snapshots carry the failure in `error`. A kind the server
does not serve (brokers and triggers on a cluster without Knative Eventing) is no failure: it is empty, listed in
`Snapshot.absent`, and looked for again every ABSENT_KIND_RETRY seconds (discovery is asked again at most that
often for the whole feed).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import urllib3

from jupyter_knative.client import Client, KnativeError
from jupyter_knative.client.errors import from_status_body, from_transport
from jupyter_knative.client.kinds import ResourceInfo, resolve, unknown_kind
from jupyter_knative.client.metrics import MetricsSource

__all__ = ["DEFAULT_KINDS", "Feed", "Metrics", "Sample", "Snapshot", "Subscription", "parse_metrics", "shared_feed"]

log = logging.getLogger(__name__)

DEFAULT_KINDS = ("ksvc", "revisions", "routes", "pods")
MAX_EVENTS = 50
"""Events a snapshot carries (the newest)."""
KEPT_EVENTS = 200
"""Events a feed keeps per namespace between snapshots."""
BACKOFF = (0.5, 1.0, 2.0, 4.0, 5.0)
"""Seconds before the n-th retry of a failed watch or metrics poll (the last repeats)."""
FIRST_SNAPSHOT_WAIT = 2.0
"""Longest a new subscriber waits for its watches' first listing before it gets a snapshot anyway."""
METRICS_TIMEOUT = 2.0
METRICS_ABSENT_RETRY = 30.0
"""Seconds before asking again a server whose /metrics is missing or not Knative's (any real cluster)."""
ABSENT_KIND_RETRY = 60.0
"""Seconds before looking again for a kind the server does not serve."""
WATCH_SECONDS = 300
JOIN_TIMEOUT = 1.0
_NO_METRICS_CODES = (401, 403, 404, 405, 406)
_NAMESPACE_LABELS = ("namespace_name", "k8s_namespace_name", "namespace")
_KNATIVE_PREFIXES = ("kn_", "autoscaler_", "activator_", "revision_", "event_", "jupyter_knative_",
                     "http_server_request_duration_seconds")


# --- metrics --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    labels: Mapping[str, str]
    value: float


Metrics = dict[str, list[Sample]]
"""Samples by the name they are exposed under: histograms as `x_bucket`, `x_sum`, `x_count`; counters under both
`x` and `x_total`, whichever the text used."""


def parse_metrics(text: str) -> Metrics:
    """Prometheus text → samples by name; `{}` for anything that is not Prometheus text."""
    from prometheus_client.parser import text_string_to_metric_families

    out: Metrics = {}
    try:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                names = [s.name]
                if family.type == "counter" and s.name == family.name + "_total":
                    names.append(family.name)  # the parser appends `_total` whether the text had it or not
                for name in names:
                    out.setdefault(name, []).append(Sample(dict(s.labels), float(s.value)))
    except ValueError:
        return {}
    return out


def metrics_of_namespace(metrics: Metrics, namespace: str) -> Metrics:
    """The samples about `namespace`, and those about no namespace in particular."""
    out: Metrics = {}
    for name, samples in metrics.items():
        kept = [s for s in samples if _sample_namespace(s) in (None, namespace)]
        if kept:
            out[name] = kept
    return out


def _sample_namespace(sample: Sample) -> str | None:
    return next((sample.labels[k] for k in _NAMESPACE_LABELS if k in sample.labels), None)


def merge_metrics(parts: Iterable[Metrics]) -> Metrics:
    """Samples of several scrapes (pods) under one name each."""
    out: Metrics = {}
    for part in parts:
        for name, samples in part.items():
            out.setdefault(name, []).extend(samples)
    return out


def _is_knative(metrics: Metrics) -> bool:
    return any(name.startswith(_KNATIVE_PREFIXES) for name in metrics)


# --- snapshots ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    at: float
    """time.monotonic() when the snapshot was taken."""
    metrics: Metrics
    """The namespace's samples (and those without a namespace); {} when /metrics is unavailable."""
    objects: Mapping[str, Mapping[str, dict[str, Any]]]
    """kind (as subscribed, e.g. "revisions") → name → object. Shared between snapshots: read, never modify."""
    events: Sequence[dict[str, Any]]
    """Recent core/v1 Events of the namespace, newest last (at most MAX_EVENTS)."""
    error: str | None = None
    """What is failing now (a watch, the plane), None when every source answers."""
    namespace: str = ""
    absent: frozenset[str] = frozenset()
    """The subscribed kinds the server does not serve (their `objects` are empty)."""


def event_order(event: dict[str, Any]) -> tuple[str, int]:
    meta = event.get("metadata") or {}
    when = event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp") or \
        meta.get("creationTimestamp") or ""
    rv = str(meta.get("resourceVersion") or "0")
    return str(when), int(rv) if rv.isdigit() else 0


# --- watches --------------------------------------------------------------------------------------------------


class _Watch:
    """The current objects of one kind in one namespace, kept by list + watch on a thread of its own."""

    def __init__(self, client: Client, kind: str, namespace: str, on_change: Callable[[], None],
                 thread_name: str, resolve_kind: Callable[[str], ResourceInfo] | None = None) -> None:
        self.client, self.kind, self.namespace = client, kind, namespace
        self.items: dict[str, dict[str, Any]] = {}
        self.generation = 0
        self.synced = False
        self.error: str | None = None
        self.absent = False
        """The server does not serve the kind (now)."""
        self._resolve = resolve_kind or client._objects.info
        self._on_change = on_change
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._response: Any = None
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def view(self) -> tuple[int, dict[str, dict[str, Any]], bool, str | None, bool]:
        with self._lock:
            return self.generation, dict(self.items), self.synced, self.error, self.absent

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            response = self._response
        if response is not None:
            with contextlib.suppress(Exception):  # unblocks the thread's read at once
                response.shutdown()

    def join(self, timeout: float) -> None:
        if self._thread is not threading.current_thread() and self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._list_and_watch()
                failures = 0
            except KnativeError as e:
                if not _not_served(e):
                    self._failed(e)
                    self._stop.wait(BACKOFF[min(failures, len(BACKOFF) - 1)])
                    failures += 1
                    continue
                self._not_served()
                self._stop.wait(ABSENT_KIND_RETRY)
                failures = 0
            except Exception as e:  # a watch must outlive any failure: report it, back off, start over
                self._failed(e)
                self._stop.wait(BACKOFF[min(failures, len(BACKOFF) - 1)])
                failures += 1

    def _list_and_watch(self) -> None:
        objects = self.client._objects
        info = self._resolve(self.kind)
        items, rv = objects.list_info(info, self.namespace if info.namespaced else None)
        self._replace({str(i["metadata"]["name"]): i for i in items})
        while not self._stop.is_set():
            rv, expired = self._follow(info.path(self.namespace if info.namespaced else None), rv)
            if expired:
                return  # the caller lists again

    def _follow(self, path: str, rv: str) -> tuple[str, bool]:
        """Apply watch events from `rv` until the server ends the stream; (last rv, whether rv expired)."""
        for event in self._stream(path, rv):
            kind, obj = str(event.get("type", "")), event.get("object") or {}
            if kind == "ERROR":
                if obj.get("code") == 410:
                    return rv, True
                raise KnativeError(str(obj.get("message") or "watch failed"), reason=str(obj.get("reason") or "Error"))
            rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
            if kind != "BOOKMARK":
                self._apply(kind, obj)
        return rv, False

    def _stream(self, path: str, rv: str) -> Iterator[dict[str, Any]]:
        conn = self.client._conn
        query = [("watch", "true"), ("resourceVersion", rv), ("allowWatchBookmarks", "true"),
                 ("timeoutSeconds", str(WATCH_SECONDS))]
        resp = conn._send("GET", path, query, None, "application/json", "application/json",
                          (10.0, WATCH_SECONDS + 10.0))
        if not 200 <= resp.status < 300:
            raise from_status_body(resp.status, str(resp.reason or ""), resp.read())
        raw = resp.response
        with self._lock:
            self._response = raw
        if self._stop.is_set():
            return
        buffer = b""
        try:
            for chunk in raw.stream(64 * 1024, decode_content=True):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                yield from (orjson.loads(line) for line in lines if line.strip())
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as e:
            if not self._stop.is_set():
                raise from_transport(e, server=conn.server, plane=conn.is_plane) from e
        finally:
            with self._lock:
                self._response = None
            with contextlib.suppress(Exception):
                raw.release_conn()

    def _replace(self, items: dict[str, dict[str, Any]]) -> None:
        with self._lock:
            self.items = items
            self._trim()
            self.generation += 1
            first = not self.synced
            self.synced, self.error, self.absent = True, None, False
        if first:
            self._on_change()

    def _apply(self, kind: str, obj: dict[str, Any]) -> None:
        name = str((obj.get("metadata") or {}).get("name", ""))
        with self._lock:
            if kind == "DELETED":
                self.items.pop(name, None)
            else:
                self.items[name] = obj
                self._trim()
            self.generation += 1
            self.error = None

    def _trim(self) -> None:
        if self.kind == "events" and len(self.items) > KEPT_EVENTS:
            newest = sorted(self.items.values(), key=event_order)[-KEPT_EVENTS:]
            self.items = {str(e["metadata"]["name"]): e for e in newest}

    def _not_served(self) -> None:
        if self._stop.is_set():
            return
        with self._lock:
            changed = bool(self.items) or self.error is not None or not self.absent
            self.items, self.error, self.absent = {}, None, True
            first = not self.synced
            self.synced = True
            if changed:
                self.generation += 1
        if first:
            self._on_change()

    def _failed(self, error: Exception) -> None:
        if self._stop.is_set():
            return
        message = f"watching {self.kind} in {self.namespace}: {error}"
        if not isinstance(error, KnativeError):
            log.warning("%s", message, exc_info=error)
        with self._lock:
            changed = self.error != message
            self.error, first = message, not self.synced
            self.synced = True  # failed counts as settled: subscribers need not wait for it
            if changed:
                self.generation += 1
        if first:
            self._on_change()


def _not_served(error: KnativeError) -> bool:
    """The server does not serve the kind: discovery does not know the word, or the resource answers 404."""
    return error.code == 404 or (error.code is None and error.reason == "NotFound")


# --- subscriptions and the feed -------------------------------------------------------------------------------


@dataclass(eq=False)
class Subscription:
    """One subscriber; `close()` stops its snapshots (and the feed's threads when it was the last)."""

    _feed: Feed
    callback: Callable[[Snapshot], None]
    namespace: str
    kinds: tuple[str, ...]
    since: float = field(default_factory=time.monotonic)
    _last_key: Any = None
    _last_at: float | None = None
    _settle: bool = False
    _failed: bool = False
    closed: bool = False

    def close(self) -> None:
        self._feed._unsubscribe(self)


class Feed:
    """Watches, metrics and events for any number of subscribers, on one set of threads."""

    def __init__(self, client: Client, *, interval: float = 0.5) -> None:
        if interval <= 0:
            raise ValueError(f"interval = {interval}, must be > 0 seconds")
        self.client = client
        self.interval = interval
        self._lock = threading.RLock()
        self._subs: list[Subscription] = []
        self._watches: dict[tuple[str, str], _Watch] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._closed = False
        self._metrics: Metrics = {}
        self._metrics_error: str | None = None
        self._metrics_next = 0.0
        self._metrics_failures = 0
        self._source: MetricsSource | None = None
        self._discovered_at = float("-inf")
        self.name = f"knative-feed-{id(self):x}"
        self.polls = 0
        """Metrics scrapes made (for tests and benchmarks)."""
        self.last_scrape: Any = None
        """The last `Scrape` (which source, which pods answered or failed), None before the first."""

    # -- subscribing ---------------------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[Snapshot], None], *, namespace: str,
                  kinds: Sequence[str] = DEFAULT_KINDS) -> Subscription:
        """`callback(snapshot)` on the feed's thread: first once the watches of `kinds` (and the namespace's
        events) have listed, then at most once per interval when something changed — plus one snapshot after the
        metrics stop moving. Kinds are any word `client.get` takes ("ksvc", "revisions", "triggers", ...)."""
        wanted = tuple(dict.fromkeys(kinds))
        with self._lock:
            if self._closed:
                raise RuntimeError("this Feed is closed; make a new one (or use shared_feed(client))")
            sub = Subscription(self, callback, namespace, wanted)
            self._subs.append(sub)
            for kind in (*wanted, "events"):
                self._ensure_watch(namespace, kind)
            self._ensure_thread()
        self._wake.set()
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub.closed:
                return
            sub.closed = True
            self._subs.remove(sub)
            needed = {(s.namespace, k) for s in self._subs for k in (*s.kinds, "events")}
            unneeded = [key for key in self._watches if key not in needed]
            stopping = [self._watches.pop(key) for key in unneeded]
            thread = self._thread if not self._subs else None
            if thread is not None:
                self._thread = None
                self._stop.set()
                self._wake.set()
        for watch in stopping:
            watch.stop()
        for watch in stopping:
            watch.join(JOIN_TIMEOUT)
        if thread is not None and thread is not threading.current_thread():
            thread.join(JOIN_TIMEOUT)

    def close(self) -> None:
        """Stop every subscription and thread; the feed cannot be used again."""
        with self._lock:
            self._closed = True
            subs = list(self._subs)
        for sub in subs:
            sub.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def threads(self) -> list[threading.Thread]:
        """The feed's live threads (the feed's own and its watches')."""
        return [t for t in threading.enumerate() if t.name == self.name or t.name.startswith(self.name + "/")]

    def _ensure_watch(self, namespace: str, kind: str) -> None:
        if (namespace, kind) not in self._watches:
            watch = _Watch(self.client, kind, namespace, self._wake.set, f"{self.name}/{kind}@{namespace}",
                           self._resolve_kind)
            self._watches[namespace, kind] = watch
            watch.start()

    def _resolve_kind(self, kind: str) -> ResourceInfo:
        """What `kind` names, from the discovery the client has; asked of the server again only when the word is
        unknown and the last such refresh is ABSENT_KIND_RETRY seconds old (the watches of absent kinds all retry)."""
        discovery = self.client._discovery
        found = resolve(kind, discovery.resources())
        if found is None:
            with self._lock:
                now = time.monotonic()
                refresh = now - self._discovered_at >= ABSENT_KIND_RETRY
                if refresh:
                    self._discovered_at = now
            if refresh:
                found = resolve(kind, discovery.resources(refresh=True))
        if found is None:
            raise unknown_kind(kind, discovery.resources())
        return found

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(self._stop,), name=self.name, daemon=True)
            self._thread.start()

    # -- the loop --------------------------------------------------------------------------------------------

    def _run(self, stop: threading.Event) -> None:
        try:
            self._loop(stop)
        finally:
            self._close_source()  # its scraping threads end with the feed's

    def _loop(self, stop: threading.Event) -> None:
        next_poll = 0.0
        while not stop.is_set():
            self._wake.wait(max(0.0, next_poll - time.monotonic()))
            self._wake.clear()
            if stop.is_set():
                return
            now = time.monotonic()
            if now >= next_poll:
                self._poll_metrics(now)
                next_poll = now + self.interval
            try:
                self._deliver(time.monotonic())
            except Exception:  # the loop must survive anything a snapshot or subscriber does
                log.exception("knative feed: delivering snapshots failed")

    def _close_source(self) -> None:
        with self._lock:
            source, self._source = self._source, None
        if source is not None:
            source.close()

    def _poll_metrics(self, now: float) -> None:
        if now < self._metrics_next:
            return
        with self._lock:
            if self._source is None:
                self._source = MetricsSource(self.client, timeout=METRICS_TIMEOUT, thread_name=f"{self.name}/metrics")
            source = self._source
            namespaces = list(dict.fromkeys(s.namespace for s in self._subs))
        self.polls += 1
        try:
            scrape = source.scrape(namespaces)
        except KnativeError as e:
            if e.code in _NO_METRICS_CODES:  # the server answered: it has no metrics for us (any real cluster)
                self._metrics, self._metrics_error = {}, None
                self._metrics_next = now + METRICS_ABSENT_RETRY
            else:
                self._metrics, self._metrics_error = {}, f"metrics: {e}"
                self._metrics_next = now + BACKOFF[min(self._metrics_failures, len(BACKOFF) - 1)]
                self._metrics_failures += 1
            return
        self.last_scrape = scrape
        metrics = merge_metrics(parse_metrics(text) for text in scrape.texts)
        self._metrics_failures, self._metrics_error = 0, None
        self._metrics_next = now + source.interval
        if scrape.source == "plane" and not _is_knative(metrics):  # a /metrics that is not the plane's
            metrics, self._metrics_next = {}, now + METRICS_ABSENT_RETRY
        self._metrics = metrics

    def _deliver(self, now: float) -> None:
        with self._lock:
            subs = list(self._subs)
            views = {key: w.view() for key, w in self._watches.items()}
        for sub in subs:
            snapshot, key = self._snapshot_for(sub, views, now)
            if snapshot is None or sub.closed or (key == sub._last_key and not sub._settle):
                continue
            if sub._last_at is not None and now - sub._last_at < self.interval * 0.9:
                continue  # woken early (a new subscriber): this one waits for its turn
            # After the metrics moved, one more snapshot follows even if nothing else does: rates computed from
            # counter deltas then see the counters stand still instead of keeping the last burst's rate.
            sub._settle = sub._last_key is not None and key[1] != sub._last_key[1]
            sub._last_key, sub._last_at = key, now
            self._call(sub, snapshot)

    def _snapshot_for(self, sub: Subscription, views: Mapping[tuple[str, str], Any],
                      now: float) -> tuple[Snapshot | None, Any]:
        mine = [(kind, views.get((sub.namespace, kind))) for kind in (*sub.kinds, "events")]
        settled = all(v is not None and v[2] for _, v in mine)
        if not settled and now - sub.since < FIRST_SNAPSHOT_WAIT:
            return None, None
        objects: dict[str, dict[str, dict[str, Any]]] = {}
        errors = [self._metrics_error] if self._metrics_error else []
        generations = []
        absent: set[str] = set()
        for kind, view in mine:
            generation, items, _, error, missing = view if view is not None else (0, {}, False, None, False)
            generations.append(generation)
            if error:
                errors.append(error)
            if missing:
                absent.add(kind)
            if kind != "events":
                objects[kind] = items
        events = sorted(((views.get((sub.namespace, "events")) or (0, {}, False, None, False))[1]).values(),
                        key=event_order)[-MAX_EVENTS:]
        metrics = metrics_of_namespace(self._metrics, sub.namespace)
        error = "; ".join(dict.fromkeys(errors)) or None
        key = (tuple(generations), metrics, error)
        return Snapshot(now, metrics, objects, events, error, sub.namespace, frozenset(absent)), key

    def _call(self, sub: Subscription, snapshot: Snapshot) -> None:
        try:
            sub.callback(snapshot)
        except Exception:
            if not sub._failed:  # say it once per subscriber, not twice a second
                log.exception("knative feed: a subscriber failed on a snapshot (further failures are not logged)")
            sub._failed = True


# --- one feed per client --------------------------------------------------------------------------------------

_SHARED_LOCK = threading.Lock()
_SHARED_ATTR = "_jupyter_knative_feed"


def shared_feed(client: Client) -> Feed:
    """The client's feed, made on first use. Its threads run only while something is subscribed; at interpreter
    exit (which a kernel's shutdown and restart are) it is closed so no watch is cut half-way."""
    with _SHARED_LOCK:
        feed: Feed | None = vars(client).get(_SHARED_ATTR)
        if feed is None or feed.closed:
            feed = Feed(client)
            vars(client)[_SHARED_ATTR] = feed
            atexit.register(_close_if_alive, weakref.ref(feed))
    return feed


def _close_if_alive(ref: weakref.ref[Feed]) -> None:
    feed = ref()
    if feed is not None:
        feed.close()

