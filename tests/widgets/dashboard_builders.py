"""Small builders of the objects, metrics and snapshots the dashboard reads (hand-made, as a plane serves them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_knative.widgets.feed import Metrics, Snapshot, parse_metrics


def ksvc(name: str = "hello", *, ready: str = "True", latest: str = "hello-00001",
         traffic: Mapping[str, int] | None = None, url: str | None = None) -> dict[str, Any]:
    split = traffic if traffic is not None else {latest: 100}
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": name},
            "status": {"url": url if url is not None else f"http://{name}.default.svc.cluster.local",
                       "latestReadyRevisionName": latest, "latestCreatedRevisionName": latest,
                       "conditions": [{"type": "Ready", "status": ready}],
                       "traffic": [{"revisionName": r, "percent": p} for r, p in split.items()]}}


def route(name: str = "hello", traffic: Mapping[str, int] | None = None,
          tags: Mapping[str, str] | None = None) -> dict[str, Any]:
    targets: list[dict[str, Any]] = [{"revisionName": r, "percent": p} for r, p in (traffic or {}).items()]
    targets += [{"revisionName": r, "tag": t, "percent": 0} for t, r in (tags or {}).items()]
    return {"kind": "Route", "metadata": {"name": name}, "status": {"traffic": targets}}


def revision(name: str, *, service: str = "hello", generation: int = 1, desired: int | None = None,
             actual: int | None = None, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if desired is not None:
        status["desiredReplicas"] = desired
    if actual is not None:
        status["actualReplicas"] = actual
    return {"kind": "Revision",
            "metadata": {"name": name, "annotations": dict(annotations or {}),
                         "labels": {"serving.knative.dev/service": service,
                                    "serving.knative.dev/configurationGeneration": str(generation)}},
            "status": status}


def pod(name: str, revision_name: str | None, *, ready: bool = True, terminating: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {"serving.knative.dev/revision": revision_name}
                            if revision_name else {}}
    if terminating:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"kind": "Pod", "metadata": meta,
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def event(name: str, involved: str, *, kind: str = "Revision", reason: str = "Created",
          when: str = "2026-01-01T00:00:00Z", type_: str = "Normal", message: str = "", rv: int = 1,
          count: int = 1) -> dict[str, Any]:
    return {"kind": "Event", "metadata": {"name": name, "resourceVersion": str(rv)},
            "involvedObject": {"kind": kind, "name": involved}, "reason": reason, "type": type_,
            "message": message, "lastTimestamp": when, "count": count}


def plane_metrics(*, requests: Mapping[tuple[str, int], float] = {}, desired: Mapping[str, float] = {},
                  stable: Mapping[str, float] = {}, target: Mapping[str, float] = {},
                  panic: Mapping[str, int] = {}, namespace: str = "default") -> Metrics:
    """Metrics as the plane's /metrics spells them: `requests` by (revision, status code)."""
    lines = ["# TYPE http_server_request_duration_seconds histogram"]
    for (rev, code), count in requests.items():
        labels = (f'http_request_method="GET",http_response_status_code="{code}",k8s_namespace_name="{namespace}",'
                  f'kn_service_name="",kn_revision_name="{rev}"')
        lines += [f'http_server_request_duration_seconds_bucket{{{labels},le="+Inf"}} {count}',
                  f"http_server_request_duration_seconds_sum{{{labels}}} {count * 0.01}",
                  f"http_server_request_duration_seconds_count{{{labels}}} {count}"]
    for metric, values in (("autoscaler_desired_pods", desired), ("autoscaler_stable_request_concurrency", stable),
                           ("autoscaler_target_concurrency_per_pod", target), ("autoscaler_panic_mode", panic)):
        lines.append(f"# TYPE {metric} gauge")
        lines += [f'{metric}{{namespace_name="{namespace}",revision_name="{rev}"}} {value}'
                  for rev, value in values.items()]
    return parse_metrics("\n".join(lines) + "\n")


def snapshot(at: float, *, svc: dict[str, Any] | None = None, revisions: Sequence[dict[str, Any]] = (),
             pods: Sequence[dict[str, Any]] | None = None, route_: dict[str, Any] | None = None,
             metrics: Metrics | None = None, events: Sequence[dict[str, Any]] = (),
             error: str | None = None) -> Snapshot:
    objects: dict[str, dict[str, dict[str, Any]]] = {
        "ksvc": {svc["metadata"]["name"]: svc} if svc else {},
        "revisions": {r["metadata"]["name"]: r for r in revisions},
        "routes": {route_["metadata"]["name"]: route_} if route_ else {},
    }
    if pods is not None:
        objects["pods"] = {p["metadata"]["name"]: p for p in pods}
    return Snapshot(at=at, metrics=metrics or {}, objects=objects, events=list(events), error=error)
