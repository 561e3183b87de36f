"""What one snapshot says about one Knative Service: per revision its replicas, load and autoscaler state, the
configured traffic split, the status line and the events. Pure: a `Snapshot` in, a `Reading` out.

Objects come first (they are what any cluster offers); the plane's metrics add the request counters,
concurrency, the autoscaler's target and panic mode. Metric names are looked up in Knative's current spelling
(`http_server_request_duration_seconds_count`, `kn_revision_name`, ...) and the older one
(`revision_request_count`, `revision_name`, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .feed import Metrics, Sample, Snapshot, event_order

__all__ = ["CODE_CLASSES", "EventRow", "Reading", "RevisionReading", "code_class", "read"]

CODE_CLASSES = ("2xx", "3xx", "4xx", "5xx")
SERVICE_LABEL = "serving.knative.dev/service"
REVISION_LABEL = "serving.knative.dev/revision"
DEFAULT_TARGET = 100.0  # Knative's container-concurrency-target-default
DEFAULT_UTILIZATION = 70.0  # and container-concurrency-target-percentage
SHOWN_EVENTS = 10

# (sample name, revision label, status code label): the first family present wins, so one request is never
# counted twice (queue-proxy's and the activator's families count the same requests)
_REQUEST_COUNTERS = (
    ("http_server_request_duration_seconds_count", "kn_revision_name", "http_response_status_code"),
    ("revision_request_count", "revision_name", "response_code"),
    ("revision_request_count_total", "revision_name", "response_code"),
    ("kn_serving_invocation_duration_seconds_count", "kn_revision_name", "http_response_status_code"),
)
_REVISION_LABELS = ("kn_revision_name", "revision_name")


@dataclass(frozen=True)
class RevisionReading:
    desired: float | None = None
    actual: float | None = None
    concurrency: float | None = None
    """Requests in flight for the revision (the autoscaler's stable average when known)."""
    target: float | None = None
    """The autoscaler's concurrency target per replica."""
    panic: bool | None = None
    requests: Mapping[str, float] = field(default_factory=dict)
    """Requests served since the counters started, by code class ("2xx" …); empty without metrics."""


@dataclass(frozen=True)
class EventRow:
    when: str
    type: str
    reason: str
    object: str
    message: str
    count: int = 1


@dataclass(frozen=True)
class Reading:
    at: float
    service: str
    found: bool
    revisions: Mapping[str, RevisionReading]
    """The Service's revisions, oldest first."""
    configured: Mapping[str, float]
    """Percent of traffic per revision as the Route's status has it."""
    url: str = ""
    ready: str = "Unknown"
    ready_message: str = ""
    latest: str = ""
    metrics: bool = False
    """Whether the plane's request metrics were there."""
    error: str | None = None
    events: tuple[EventRow, ...] = ()


def read(snapshot: Snapshot, service: str) -> Reading:
    objects = snapshot.objects
    svc = (objects.get("ksvc") or {}).get(service)
    revisions = _service_revisions(objects.get("revisions") or {}, service)
    ready_pods = _ready_pods(objects["pods"]) if "pods" in objects else None
    counters = request_counters(snapshot.metrics)
    per_revision = {name: _revision(rev, snapshot.metrics, ready_pods, counters.get(name))
                    for name, rev in revisions}
    status = (svc or {}).get("status") or {}
    route = (objects.get("routes") or {}).get(service)
    ready, message = _ready(svc)
    return Reading(
        at=snapshot.at, service=service, found=svc is not None, revisions=per_revision,
        configured=configured_split(route, svc), url=str(status.get("url") or ""), ready=ready, ready_message=message,
        latest=str(status.get("latestReadyRevisionName") or status.get("latestCreatedRevisionName") or ""),
        metrics=bool(counters) or any(_family(snapshot.metrics, "autoscaler_desired_pods")), error=snapshot.error,
        events=service_events(snapshot.events, service))


# --- objects --------------------------------------------------------------------------------------------------


def _service_revisions(revisions: Mapping[str, dict[str, Any]], service: str) -> list[tuple[str, dict[str, Any]]]:
    mine = [(name, rev) for name, rev in revisions.items()
            if ((rev.get("metadata") or {}).get("labels") or {}).get(SERVICE_LABEL) == service]
    return sorted(mine, key=lambda item: (_generation(item[1]), item[0]))


def _generation(rev: dict[str, Any]) -> int:
    value = str(((rev.get("metadata") or {}).get("labels") or {}).get("serving.knative.dev/configurationGeneration"))
    return int(value) if value.isdigit() else 0


def _ready_pods(pods: Mapping[str, dict[str, Any]]) -> dict[str, int]:
    """Ready, not terminating pods per revision."""
    out: dict[str, int] = {}
    for pod in pods.values():
        meta = pod.get("metadata") or {}
        revision = (meta.get("labels") or {}).get(REVISION_LABEL)
        if not revision or meta.get("deletionTimestamp"):
            continue
        conditions = (pod.get("status") or {}).get("conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        out[revision] = out.get(revision, 0) + int(ready)
    return out


def _ready(svc: dict[str, Any] | None) -> tuple[str, str]:
    for cond in ((svc or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            text = ": ".join(str(p) for p in (cond.get("reason"), cond.get("message")) if p)
            return str(cond.get("status") or "Unknown"), text
    return "Unknown", ""


def configured_split(route: dict[str, Any] | None, svc: dict[str, Any] | None) -> dict[str, float]:
    """Percent per revision from the Route's status (the Service's mirrors it when the Route is not watched)."""
    targets = ((route or svc or {}).get("status") or {}).get("traffic") or []
    out: dict[str, float] = {}
    for target in targets:
        name, percent = target.get("revisionName"), target.get("percent")
        if name and percent:
            out[name] = out.get(name, 0.0) + float(percent)
    return out


def _revision(rev: dict[str, Any], metrics: Metrics, ready_pods: Mapping[str, int] | None,
              requests: Mapping[str, float] | None) -> RevisionReading:
    name = str(rev["metadata"]["name"])
    status = rev.get("status") or {}
    actual = _first(float(ready_pods.get(name, 0)) if ready_pods is not None else None,
                    _number(status.get("actualReplicas")), revision_gauge(metrics, "autoscaler_actual_pods", name))
    desired = _first(revision_gauge(metrics, "autoscaler_desired_pods", name), _number(status.get("desiredReplicas")))
    concurrency = _first(revision_gauge(metrics, "autoscaler_stable_request_concurrency", name),
                         revision_gauge(metrics, "kn_revision_request_concurrency", name))
    target = _first(revision_gauge(metrics, "autoscaler_target_concurrency_per_pod", name),
                    annotated_target((rev.get("metadata") or {}).get("annotations") or {}))
    panic = revision_gauge(metrics, "autoscaler_panic_mode", name)
    return RevisionReading(desired=desired, actual=actual, concurrency=concurrency, target=target,
                           panic=None if panic is None else panic >= 1, requests=dict(requests or {}))


def annotated_target(annotations: Mapping[str, str]) -> float | None:
    """The per-replica concurrency target a revision's annotations ask for (Knative's defaults otherwise);
    None when it scales on something else than concurrency."""
    if annotations.get("autoscaling.knative.dev/metric", "concurrency") != "concurrency":
        return None
    target = _number(annotations.get("autoscaling.knative.dev/target"))
    utilization = _number(annotations.get("autoscaling.knative.dev/target-utilization-percentage"))
    return (target or DEFAULT_TARGET) * (utilization or DEFAULT_UTILIZATION) / 100.0


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


# --- metrics --------------------------------------------------------------------------------------------------


def _family(metrics: Metrics, name: str) -> list[Sample]:
    return metrics.get(name) or []


def _revision_of(sample: Sample) -> str | None:
    return next((sample.labels[k] for k in _REVISION_LABELS if k in sample.labels), None)


def revision_gauge(metrics: Metrics, name: str, revision: str) -> float | None:
    """The sum of a gauge's samples about `revision` (None when there are none)."""
    values = [s.value for s in _family(metrics, name) if _revision_of(s) == revision]
    return sum(values) if values else None


def code_class(code: str) -> str | None:
    return f"{code[0]}xx" if len(code) == 3 and code.isdigit() and f"{code[0]}xx" in CODE_CLASSES else None


def request_counters(metrics: Metrics) -> dict[str, dict[str, float]]:
    """revision → code class → requests counted so far, from the first request family the metrics have."""
    for name, revision_label, code_label in _REQUEST_COUNTERS:
        samples = _family(metrics, name)
        if samples:
            return _by_revision_and_class(samples, revision_label, code_label)
    return {}


def _by_revision_and_class(samples: Iterable[Sample], revision_label: str,
                           code_label: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for s in samples:
        revision = s.labels.get(revision_label)
        cls = code_class(s.labels.get(code_label, "")) or s.labels.get("response_code_class")
        if revision and cls in CODE_CLASSES:
            per = out.setdefault(revision, {})
            per[cls] = per.get(cls, 0.0) + s.value
    return out


# --- events ---------------------------------------------------------------------------------------------------


def service_events(events: Sequence[dict[str, Any]], service: str,
                   limit: int = SHOWN_EVENTS) -> tuple[EventRow, ...]:
    """The newest events about the service or its children (revisions, pods, ... are named `service-…`),
    newest first."""
    mine = [e for e in events if _about(e, service)]
    rows = [_row(e) for e in sorted(mine, key=event_order)[-limit:]]
    return tuple(reversed(rows))


def _about(event: dict[str, Any], service: str) -> bool:
    name = str((event.get("involvedObject") or {}).get("name") or "")
    return name == service or name.startswith(service + "-")


def _row(event: dict[str, Any]) -> EventRow:
    obj = event.get("involvedObject") or {}
    when = event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp") or ""
    return EventRow(when=str(when), type=str(event.get("type") or ""), reason=str(event.get("reason") or ""),
                    object=f"{obj.get('kind', '')}/{obj.get('name', '')}", message=str(event.get("message") or ""),
                    count=int(event.get("count") or 1))
