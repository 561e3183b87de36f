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
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DURATION_BOUNDS", "Histogram", "RevisionLabels", "RevisionSample", "RevisionStats", "render"]

# OpenTelemetry's advisory buckets for HTTP durations, which queue-proxy also uses.
DURATION_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


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

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(DURATION_BOUNDS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(DURATION_BOUNDS, seconds)] += 1
        self.total += seconds


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


_HEADERS = {
    "kn_revision_request_concurrency": ("gauge", "Concurrent requests that are routed to Activator"),
    "kn_revision_request_queued": ("gauge",
                                   "Number of requests currently queued in the activator waiting for capacity"),
    "kn_revision_request_active": ("gauge", "Number of requests currently being proxied by the activator"),
    "kn_serving_queue_depth": ("gauge", "Number of current items in the queue proxy queue"),
    "http_server_request_duration_seconds": ("histogram", "Duration of HTTP server requests."),
    "kn_serving_invocation_duration_seconds": ("histogram", "The duration of the task execution"),
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
    out: list[str] = []
    for name, (kind, help_text) in _HEADERS.items():
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(lines[name])
    return ("\n".join(out) + "\n").encode()


def _histogram(lines: dict[str, list[str]], name: str, labels: str, hist: Histogram) -> None:
    out = lines[name]
    running = 0
    for bound, count in zip(DURATION_BOUNDS, hist.counts, strict=False):
        running += count
        out.append(f'{name}_bucket{{{labels},le="{bound}"}} {running}')
    running += hist.counts[-1]
    out.append(f'{name}_bucket{{{labels},le="+Inf"}} {running}')
    out.append(f"{name}_sum{{{labels}}} {hist.total!r}")
    out.append(f"{name}_count{{{labels}}} {running}")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
