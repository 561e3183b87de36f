"""Per-revision request statistics for the autoscaler and the Prometheus text the plane exposes.

The request path only bumps integers and floats in these records; the text is rendered on scrape.
Metric names are Knative Serving's OpenTelemetry instruments as its Prometheus exporter spells them
(dots become underscores, a unit suffix for seconds, UpDownCounters and gauges without `_total`):

activator
- `kn_revision_request_concurrency` (gauge): requests routed to the revision and not finished,
  waiting or proxied; labels `k8s_namespace_name`, `kn_service_name`, `kn_configuration_name`,
  `kn_revision_name`;
- `kn_revision_request_queued`, `kn_revision_request_active` (gauges): waiting for a replica /
  being proxied; labels `k8s_namespace_name`, `kn_revision_name`;
- `http_server_request_duration_seconds` (histogram): the whole request as the client saw it;
  labels `http_request_method`, `http_response_status_code`, `network_protocol_name`,
  `network_protocol_version`, `url_scheme` and the four revision labels;
queue-proxy
- `kn_serving_queue_depth` (gauge): requests in flight on one replica; revision labels plus
  `k8s_pod_name`;
- `kn_serving_invocation_duration_seconds` (histogram): from handing the request to a replica to
  the end of its response; `http_response_status_code` and the revision labels.

One replica's queue-proxy, as its Prometheus port (9091, `http-usermetric`) shows it to a scraper
(`render_pod`; the API server serves it at `pods/<pod>:9091/proxy/metrics`), in the names of
queue-proxy's OpenCensus views, which many dashboards and Prometheus rules still query:
- `revision_request_count` (counter), `revision_request_latencies` (histogram, milliseconds):
  every request the replica's queue-proxy answered (its own 502/504 answers included);
- `revision_app_request_count`, `revision_app_request_latencies`: those the user container answered;
- `revision_queue_depth` (gauge): requests in flight on the replica, only with a concurrency limit.
Labels: `namespace_name`, `service_name`, `configuration_name`, `revision_name`, `pod_name`,
`container_name="queue-proxy"`, and `response_code`, `response_code_class` on the request families.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DURATION_BOUNDS", "LATENCY_BOUNDS_MS", "Histogram", "PodSample", "PodStats", "RevisionLabels",
           "RevisionSample", "RevisionStats", "render", "render_pod"]

# OpenTelemetry's advisory buckets for HTTP durations, which queue-proxy also uses.
DURATION_BOUNDS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
                                      10.0)
# queue-proxy's latency distribution for its OpenCensus views, in milliseconds.
LATENCY_BOUNDS_MS: tuple[float, ...] = (5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700,
                                        800, 900, 1000, 2000, 5000, 10000, 20000, 50000, 100000)


@dataclass(frozen=True, slots=True)
class RevisionStats:
    in_flight: int
    """Requests being proxied to a replica now."""
    queued: int
    """Requests waiting for a replica (or a free slot on one) now."""
    requests: int
    """Requests routed to the revision since it became known (monotonic)."""
    average_concurrency: float
    """Time-weighted average of waiting + proxied requests since the previous snapshot."""
    request_count: int
    """Requests routed to the revision since the previous snapshot."""


class Histogram:
    """Counts per bucket (not cumulative) plus the sum; made cumulative when rendered."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...] = DURATION_BOUNDS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def merged(self, other: Histogram) -> Histogram:
        out = Histogram(self.bounds)
        out.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        out.total = self.total + other.total
        return out


class PodStats:
    """One replica's queue-proxy counters: latency histograms (ms) by response code, split by who answered.
    The request path does one dict lookup and one `observe` per request."""

    __slots__ = ("app", "own")

    def __init__(self) -> None:
        self.app: dict[int, Histogram] = {}
        """Responses of the user container, by status."""
        self.own: dict[int, Histogram] = {}
        """Answers queue-proxy made itself (502 on a broken connection, 504 on a timeout), by status."""

    def record(self, status: int, milliseconds: float, app: bool) -> None:
        table = self.app if app else self.own
        hist = table.get(status)
        if hist is None:
            hist = table[status] = Histogram(LATENCY_BOUNDS_MS)
        hist.observe(milliseconds)

    def copy(self) -> PodStats:
        out = PodStats()
        for src, dst in ((self.app, out.app), (self.own, out.own)):
            for status, hist in src.items():
                dst[status] = hist.merged(Histogram(hist.bounds))  # a copy
        return out


@dataclass(frozen=True, slots=True)
class RevisionLabels:
    namespace: str
    service: str
    configuration: str
    revision: str

    def full(self) -> str:
        return (f'k8s_namespace_name="{_escape(self.namespace)}",kn_service_name="{_escape(self.service)}",'
                f'kn_configuration_name="{_escape(self.configuration)}",kn_revision_name="{_escape(self.revision)}"')

    def short(self) -> str:
        return f'k8s_namespace_name="{_escape(self.namespace)}",kn_revision_name="{_escape(self.revision)}"'


@dataclass(frozen=True, slots=True)
class RevisionSample:
    """What the renderer needs from one revision, copied out of the ingress at scrape time."""

    labels: RevisionLabels
    queued: int
    active: int
    server: dict[tuple[bytes, int], Histogram]
    """By (method, status)."""
    invocation: dict[int, Histogram]
    """By status."""
    replicas: tuple[tuple[str, int], ...]
    """(pod name, requests in flight) per ready replica."""


@dataclass(frozen=True, slots=True)
class PodSample:
    """What `render_pod` needs from one replica, copied out of the ingress at scrape time."""

    labels: RevisionLabels
    pod: str
    stats: PodStats
    in_flight: int
    limited: bool
    """Whether the revision has a concurrency limit (queue-proxy reports its queue depth only then)."""


_HEADERS = {
    "kn_revision_request_concurrency": ("gauge", "Concurrent requests that are routed to Activator"),
    "kn_revision_request_queued": ("gauge",
                                   "Number of requests currently queued in the activator waiting for capacity"),
    "kn_revision_request_active": ("gauge", "Number of requests currently being proxied by the activator"),
    "kn_serving_queue_depth": ("gauge", "Number of current items in the queue proxy queue"),
    "http_server_request_duration_seconds": ("histogram", "Duration of HTTP server requests."),
    "kn_serving_invocation_duration_seconds": ("histogram", "The duration of the task execution"),
}


_POD_HEADERS = {
    "revision_request_count": ("counter", "The number of requests that are routed to queue-proxy"),
    "revision_request_latencies": ("histogram", "The response time in millisecond"),
    "revision_app_request_count": ("counter", "The number of requests that are routed to user-container"),
    "revision_app_request_latencies": ("histogram", "The response time in millisecond"),
    "revision_queue_depth": ("gauge", "The current number of items in the serving and waiting queue, or not "
                                      "reported if unlimited concurrency."),
}


def render(samples: Iterable[RevisionSample]) -> bytes:
    lines: dict[str, list[str]] = {name: [] for name in _HEADERS}

    def sample(name: str, labels: str, value: object) -> None:
        lines[name].append(f"{name}{{{labels}}} {value}")

    for s in samples:
        full, short = s.labels.full(), s.labels.short()
        sample("kn_revision_request_concurrency", full, s.queued + s.active)
        sample("kn_revision_request_queued", short, s.queued)
        sample("kn_revision_request_active", short, s.active)
        for pod, in_flight in s.replicas:
            sample("kn_serving_queue_depth", f'{full},k8s_pod_name="{_escape(pod)}"', in_flight)
        for (method, status), hist in sorted(s.server.items()):
            labels = (f'http_request_method="{_escape(method.decode("latin-1"))}",http_response_status_code="{status}",'
                      f'network_protocol_name="http",network_protocol_version="1.1",url_scheme="http",{full}')
            _histogram(lines, "http_server_request_duration_seconds", labels, hist)
        for status, hist in sorted(s.invocation.items()):
            _histogram(lines, "kn_serving_invocation_duration_seconds", f'http_response_status_code="{status}",{full}',
                       hist)
    return _exposition(_HEADERS, lines)


def render_pod(sample: PodSample) -> bytes:
    """One replica's queue-proxy metrics (its port 9091), in queue-proxy's OpenCensus names and labels."""
    lines: dict[str, list[str]] = {name: [] for name in _POD_HEADERS}
    labels = sample.labels
    # label names sorted, as the OpenCensus exporter writes them
    base = (f'configuration_name="{_escape(labels.configuration)}",container_name="queue-proxy",'
            f'namespace_name="{_escape(labels.namespace)}",pod_name="{_escape(sample.pod)}"')
    tail = f'revision_name="{_escape(labels.revision)}",service_name="{_escape(labels.service)}"'
    stats = sample.stats
    for status in sorted(set(stats.app) | set(stats.own)):
        app, own = stats.app.get(status), stats.own.get(status)
        both = app.merged(own) if app is not None and own is not None else app or own
        assert both is not None
        codes = f'response_code="{status}",response_code_class="{status // 100}xx"'
        lines["revision_request_count"].append(f"revision_request_count{{{base},{codes},{tail}}} {both.count}")
        _histogram(lines, "revision_request_latencies", f"{base},{codes},{tail}", both)
        if app is not None:
            lines["revision_app_request_count"].append(
                f"revision_app_request_count{{{base},{codes},{tail}}} {app.count}")
            app_base = (f'configuration_name="{_escape(labels.configuration)}",'
                        f'namespace_name="{_escape(labels.namespace)}",pod_name="{_escape(sample.pod)}"')
            _histogram(lines, "revision_app_request_latencies", f"{app_base},{codes},{tail}", app)
    if sample.limited:
        lines["revision_queue_depth"].append(f"revision_queue_depth{{{base},{tail}}} {sample.in_flight}")
    return _exposition(_POD_HEADERS, lines)


def _exposition(headers: dict[str, tuple[str, str]], lines: dict[str, list[str]]) -> bytes:
    out: list[str] = []
    for name, (kind, help_text) in headers.items():
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(lines[name])
    return ("\n".join(out) + "\n").encode()


def _histogram(lines: dict[str, list[str]], name: str, labels: str, hist: Histogram) -> None:
    out = lines[name]
    running = 0
    for bound, count in zip(hist.bounds, hist.counts, strict=False):
        running += count
        out.append(f'{name}_bucket{{{labels},le="{bound}"}} {running}')
    running += hist.counts[-1]
    out.append(f'{name}_bucket{{{labels},le="+Inf"}} {running}')
    out.append(f"{name}_sum{{{labels}}} {hist.total!r}")
    out.append(f"{name}_count{{{labels}}} {running}")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
