"""The sidebar's picture of one namespace: a pure function of the objects listed there.

`build_snapshot(namespace, objects)` takes the listed objects by resource (`KINDS`' keys; a kind the backend does
not serve is simply absent) and returns the REST contract's `Snapshot`: plain JSON, sorted, so two snapshots of
the same state compare equal and the stream sends only real changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["BUILD_KINDS", "KINDS", "SOURCE_KINDS", "WATCHED", "build_snapshot"]

Obj = Mapping[str, Any]

# the snapshot's inputs: key -> the resource as the client resolves it (group-qualified: "services" alone could
# mean core Services on a cluster)
KINDS: dict[str, str] = {
    "services": "services.serving.knative.dev",
    "revisions": "revisions.serving.knative.dev",
    "routes": "routes.serving.knative.dev",
    "podautoscalers": "podautoscalers.autoscaling.internal.knative.dev",
    "brokers": "brokers.eventing.knative.dev",
    "triggers": "triggers.eventing.knative.dev",
    "pingsources": "pingsources.sources.knative.dev",
    "apiserversources": "apiserversources.sources.knative.dev",
    "containersources": "containersources.sources.knative.dev",
    "sinkbindings": "sinkbindings.sources.knative.dev",
    "builds": "builds.build.knative.dev",
    "taskruns": "taskruns.tekton.dev",
    "pipelineruns": "pipelineruns.tekton.dev",
}
SOURCE_KINDS: dict[str, str] = {"pingsources": "PingSource", "apiserversources": "ApiServerSource",
                                "containersources": "ContainerSource", "sinkbindings": "SinkBinding"}
BUILD_KINDS: dict[str, str] = {"builds": "Build", "taskruns": "TaskRun", "pipelineruns": "PipelineRun"}
# what the stream watches: a change to any of them can change the snapshot (a Route's traffic and a
# PodAutoscaler's replicas reach the Service's and Revision's status, which are watched)
WATCHED: tuple[str, ...] = tuple(k for k in KINDS if k not in ("routes", "podautoscalers"))

SERVICE_LABEL = "serving.knative.dev/service"
CONFIGURATION_LABEL = "serving.knative.dev/configuration"


def build_snapshot(namespace: str, objects: Mapping[str, Sequence[Obj]]) -> dict[str, Any]:
    """The contract's Snapshot of `namespace` from the listed objects (missing keys: none of that kind)."""
    services = sorted(objects.get("services") or (), key=_name)
    routes = {_name(r): r for r in objects.get("routes") or ()}
    autoscalers = {_name(p): p for p in objects.get("podautoscalers") or ()}
    traffic = {_name(s): _traffic(s, routes.get(_name(s))) for s in services}
    percents: dict[str, int] = {}
    for targets in traffic.values():
        for t in targets:
            if t["revisionName"] and t["percent"] is not None:
                percents[t["revisionName"]] = percents.get(t["revisionName"], 0) + t["percent"]
    revisions = [_revision(r, autoscalers.get(_name(r)), percents) for r in objects.get("revisions") or ()]
    revisions.sort(key=lambda r: (r["created"] or "", r["name"]), reverse=True)  # newest first ...
    revisions.sort(key=lambda r: r["service"] or "")  # ... within each service (sort is stable)
    sources = [_source(kind, o) for key, kind in SOURCE_KINDS.items() for o in objects.get(key) or ()]
    builds = [_build(kind, o) for key, kind in BUILD_KINDS.items() for o in objects.get(key) or ()]
    builds.sort(key=lambda b: (b["kind"], b["name"]))
    builds.sort(key=lambda b: b["started"] or "", reverse=True)  # newest first
    return {
        "namespace": namespace,
        "services": [_service(s, traffic[_name(s)]) for s in services],
        "revisions": revisions,
        "brokers": [_broker(b) for b in sorted(objects.get("brokers") or (), key=_name)],
        "triggers": [_trigger(t) for t in sorted(objects.get("triggers") or (), key=_name)],
        "sources": sorted(sources, key=lambda s: (s["kind"], s["name"])),
        "builds": builds,
    }


# -- kinds --------------------------------------------------------------------------------------------------


def _service(svc: Obj, traffic: list[dict[str, Any]]) -> dict[str, Any]:
    status = _status(svc)
    ready, reason = _condition(svc, "Ready")
    return {
        "name": _name(svc),
        "url": _str(status.get("url")),
        "ready": ready,
        "reason": reason,
        "latestRevision": _str(status.get("latestReadyRevisionName") or status.get("latestCreatedRevisionName")),
        "traffic": traffic,
    }


def _traffic(svc: Obj, route: Obj | None) -> list[dict[str, Any]]:
    """The Service's status traffic (its Route's, copied), else the Route's own status."""
    targets = _status(svc).get("traffic")
    if not targets and route is not None:
        targets = _status(route).get("traffic")
    out = []
    for t in targets or ():
        if not isinstance(t, Mapping):
            continue
        out.append({"revisionName": _str(t.get("revisionName")), "percent": _int(t.get("percent")),
                    "tag": _str(t.get("tag")), "url": _str(t.get("url"))})
    return out


def _revision(rev: Obj, autoscaler: Obj | None, percents: Mapping[str, int]) -> dict[str, Any]:
    """Replicas from the Revision's status (the plane and Knative copy them from the PodAutoscaler), else the
    PodAutoscaler's own `desiredScale`/`actualScale`; a negative scale means "not known yet"."""
    status, labels = _status(rev), _labels(rev)
    pa = _status(autoscaler) if autoscaler is not None else {}
    ready, _ = _condition(rev, "Ready")
    desired = _scale(status.get("desiredReplicas"), pa.get("desiredScale"))
    actual = _scale(status.get("actualReplicas"), pa.get("actualScale"))
    return {
        "name": _name(rev),
        "service": _str(labels.get(SERVICE_LABEL) or labels.get(CONFIGURATION_LABEL)),
        "ready": ready,
        "desired": desired,
        "actual": actual,
        "percent": percents.get(_name(rev)),
        "created": _str(_meta(rev).get("creationTimestamp")),
    }


def _broker(broker: Obj) -> dict[str, Any]:
    address = _status(broker).get("address")
    return {"name": _name(broker), "url": _str(address.get("url") if isinstance(address, Mapping) else None),
            "ready": _condition(broker, "Ready")[0]}


def _trigger(trigger: Obj) -> dict[str, Any]:
    spec = _spec(trigger)
    return {"name": _name(trigger), "broker": _str(spec.get("broker")),
            "subscriber": _destination(spec.get("subscriber"), _status(trigger).get("subscriberUri")),
            "ready": _condition(trigger, "Ready")[0]}


def _source(kind: str, source: Obj) -> dict[str, Any]:
    return {"kind": kind, "name": _name(source),
            "sink": _destination(_spec(source).get("sink"), _status(source).get("sinkUri")),
            "ready": _condition(source, "Ready")[0]}


def _build(kind: str, build: Obj) -> dict[str, Any]:
    succeeded, reason = _condition(build, "Succeeded", stale_is_unknown=False)
    return {"kind": kind, "name": _name(build), "succeeded": succeeded, "reason": reason,
            "started": _str(_status(build).get("startTime") or _meta(build).get("creationTimestamp"))}


def _destination(dest: Any, resolved: Any) -> str | None:
    """A duck Destination as the sidebar shows it: `Kind/name` for a ref (with its `uri` suffix), else the
    URI; the resolved address when the spec says nothing."""
    if isinstance(dest, Mapping):
        ref, uri = dest.get("ref"), _str(dest.get("uri"))
        if isinstance(ref, Mapping) and ref.get("name"):
            shown = f"{ref.get('kind') or '?'}/{ref['name']}"
            return shown + (uri if uri and uri.startswith("/") else (f" {uri}" if uri else ""))
        if uri:
            return uri
    return _str(resolved)


# -- fields -------------------------------------------------------------------------------------------------


def _condition(obj: Obj, kind: str, stale_is_unknown: bool = True) -> tuple[str, str | None]:
    """(status, reason) of condition `kind`; "Unknown" when absent, or while the status lags the spec."""
    meta, status = _meta(obj), _status(obj)
    generation, observed = meta.get("generation"), status.get("observedGeneration")
    if stale_is_unknown and isinstance(generation, int) and isinstance(observed, int) and observed < generation:
        return "Unknown", "Reconciling"
    for cond in status.get("conditions") or ():
        if isinstance(cond, Mapping) and cond.get("type") == kind:
            value = cond.get("status")
            return (value if value in ("True", "False") else "Unknown"), _str(cond.get("reason"))
    return "Unknown", None


def _scale(*values: Any) -> int | None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _meta(obj: Obj) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _status(obj: Obj) -> Mapping[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, Mapping) else {}


def _spec(obj: Obj) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _labels(obj: Obj) -> Mapping[str, Any]:
    labels = _meta(obj).get("labels")
    return labels if isinstance(labels, Mapping) else {}


def _name(obj: Obj) -> str:
    return str(_meta(obj).get("name") or "")


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
