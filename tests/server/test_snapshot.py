"""`build_snapshot` is a pure function of the listed objects: a table of inputs and the Snapshot they make."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.server.snapshot import KINDS, WATCHED, build_snapshot

EMPTY = {"namespace": "ns", "services": [], "revisions": [], "brokers": [], "triggers": [], "sources": [],
         "builds": []}


def obj(name: str, *, status: dict[str, Any] | None = None, spec: dict[str, Any] | None = None,
        labels: dict[str, str] | None = None, created: str = "2024-01-01T00:00:00Z",
        generation: int | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "ns", "creationTimestamp": created}
    if labels:
        meta["labels"] = labels
    if generation is not None:
        meta["generation"] = generation
    out: dict[str, Any] = {"metadata": meta}
    if status is not None:
        out["status"] = status
    if spec is not None:
        out["spec"] = spec
    return out


def cond(kind: str, status: str, reason: str | None = None) -> dict[str, Any]:
    c = {"type": kind, "status": status}
    return {**c, "reason": reason} if reason else c


SVC = obj("hello", status={
    "url": "http://hello.ns.svc.cluster.local", "latestCreatedRevisionName": "hello-00002",
    "latestReadyRevisionName": "hello-00001", "conditions": [cond("Ready", "False", "RevisionMissing")],
    "traffic": [{"revisionName": "hello-00001", "latestRevision": False, "percent": 80},
                {"revisionName": "hello-00002", "latestRevision": True, "percent": 20, "tag": "next",
                 "url": "http://next-hello.ns.svc.cluster.local"}]})


SVC_OUT = {
    "name": "hello", "url": "http://hello.ns.svc.cluster.local", "ready": "False", "reason": "RevisionMissing",
    "latestRevision": "hello-00001",
    "traffic": [{"revisionName": "hello-00001", "percent": 80, "tag": None, "url": None},
                {"revisionName": "hello-00002", "percent": 20, "tag": "next", "url": "http://next-hello.ns.svc.cluster.local"}]}


def rev(name: str, created: str, status: dict[str, Any] | None = None, service: str = "hello") -> dict[str, Any]:
    return obj(name, created=created, labels={"serving.knative.dev/service": service}, status=status)


CASES: list[tuple[str, dict[str, list[dict[str, Any]]], dict[str, Any]]] = [
    ("nothing listed", {}, {}),
    ("kinds the backend does not serve are absent", {"services": [], "brokers": []}, {}),
    ("a service with split traffic and a tag", {"services": [SVC]}, {"services": [SVC_OUT]}),
    ("a new service: no status yet", {"services": [obj("fresh")]}, {"services": [{
        "name": "fresh", "url": None, "ready": "Unknown", "reason": None, "latestRevision": None, "traffic": []}]}),
    ("a status behind the spec is Unknown", {"services": [obj("stale", generation=3, status={
        "observedGeneration": 2, "conditions": [cond("Ready", "True")]})]}, {"services": [{
            "name": "stale", "url": None, "ready": "Unknown", "reason": "Reconciling", "latestRevision": None,
            "traffic": []}]}),
    ("traffic from the Route when the service has none",
     {"services": [obj("r", status={"latestCreatedRevisionName": "r-1"})],
      "routes": [obj("r", status={"traffic": [{"revisionName": "r-1", "percent": 100}]})]},
     {"services": [{"name": "r", "url": None, "ready": "Unknown", "reason": None, "latestRevision": "r-1",
                    "traffic": [{"revisionName": "r-1", "percent": 100, "tag": None, "url": None}]}]}),
    ("revisions: replicas from their status, percents from traffic, newest first",
     {"services": [SVC], "revisions": [
         rev("hello-00001", "2024-01-01T00:00:00Z", {"conditions": [cond("Ready", "True")], "actualReplicas": 2,
                                                     "desiredReplicas": 3}),
         rev("hello-00002", "2024-01-02T00:00:00Z", {"conditions": [cond("Ready", "Unknown")]})]},
     {"services": [SVC_OUT], "revisions": [
         {"name": "hello-00002", "service": "hello", "ready": "Unknown", "desired": None, "actual": None,
          "percent": 20, "created": "2024-01-02T00:00:00Z"},
         {"name": "hello-00001", "service": "hello", "ready": "True", "desired": 3, "actual": 2, "percent": 80,
          "created": "2024-01-01T00:00:00Z"}]}),
    ("revisions: the PodAutoscaler's scale when the revision has none; negative is unknown",
     {"revisions": [rev("a-1", "2024-01-01T00:00:00Z", {}, service="a"),
                    rev("b-1", "2024-01-01T00:00:00Z", {"actualReplicas": 0, "desiredReplicas": 0}, service="b")],
      "podautoscalers": [obj("a-1", status={"desiredScale": -1, "actualScale": 1}),
                         obj("b-1", status={"desiredScale": 5, "actualScale": 5})]},
     {"revisions": [
         {"name": "a-1", "service": "a", "ready": "Unknown", "desired": None, "actual": 1, "percent": None,
          "created": "2024-01-01T00:00:00Z"},
         {"name": "b-1", "service": "b", "ready": "Unknown", "desired": 0, "actual": 0, "percent": None,
          "created": "2024-01-01T00:00:00Z"}]}),
    ("a revision of a bare Configuration names it as its service",
     {"revisions": [obj("c-1", labels={"serving.knative.dev/configuration": "c"})]},
     {"revisions": [{"name": "c-1", "service": "c", "ready": "Unknown", "desired": None, "actual": None,
                     "percent": None, "created": "2024-01-01T00:00:00Z"}]}),
    ("brokers and triggers",
     {"brokers": [obj("default", status={"address": {"url": "http://broker/ns/default"},
                                         "conditions": [cond("Ready", "True")]}), obj("b2")],
      "triggers": [obj("t", spec={"broker": "default", "subscriber": {"ref": {"kind": "Service", "name": "fn"},
                                                                     "uri": "/events"}},
                       status={"subscriberUri": "http://fn.ns.svc.cluster.local/events"}),
                   obj("u", spec={"broker": "b2", "subscriber": {"uri": "http://example.com/hook"}}),
                   obj("v", spec={"broker": "b2"}, status={"subscriberUri": "http://resolved"})]},
     {"brokers": [{"name": "b2", "url": None, "ready": "Unknown"},
                  {"name": "default", "url": "http://broker/ns/default", "ready": "True"}],
      "triggers": [{"name": "t", "broker": "default", "subscriber": "Service/fn/events", "ready": "Unknown"},
                   {"name": "u", "broker": "b2", "subscriber": "http://example.com/hook", "ready": "Unknown"},
                   {"name": "v", "broker": "b2", "subscriber": "http://resolved", "ready": "Unknown"}]}),
    ("the four source kinds, by kind then name",
     {"sinkbindings": [obj("bind", spec={"sink": {"ref": {"kind": "Broker", "name": "default"}}})],
      "pingsources": [obj("tick", spec={"sink": {"uri": "http://x"}}, status={
          "conditions": [cond("Ready", "True")]}), obj("alpha")],
      "apiserversources": [obj("api", status={"sinkUri": "http://resolved"})],
      "containersources": [obj("ctr", spec={"sink": {"ref": {"name": "fn"}}})]},
     {"sources": [{"kind": "ApiServerSource", "name": "api", "sink": "http://resolved", "ready": "Unknown"},
                  {"kind": "ContainerSource", "name": "ctr", "sink": "?/fn", "ready": "Unknown"},
                  {"kind": "PingSource", "name": "alpha", "sink": None, "ready": "Unknown"},
                  {"kind": "PingSource", "name": "tick", "sink": "http://x", "ready": "True"},
                  {"kind": "SinkBinding", "name": "bind", "sink": "Broker/default", "ready": "Unknown"}]}),
    ("builds of the three kinds, newest first",
     {"builds": [obj("kb", status={"startTime": "2024-01-03T00:00:00Z",
                                   "conditions": [cond("Succeeded", "False", "BuildFailed")]})],
      "taskruns": [obj("tr", status={"startTime": "2024-01-05T00:00:00Z",
                                     "conditions": [cond("Succeeded", "True", "Succeeded")]})],
      "pipelineruns": [obj("pr", created="2024-01-04T00:00:00Z", generation=2,
                           status={"observedGeneration": 1, "conditions": [cond("Succeeded", "Unknown", "Running")]})]},
     {"builds": [{"kind": "TaskRun", "name": "tr", "succeeded": "True", "reason": "Succeeded",
                  "started": "2024-01-05T00:00:00Z"},
                 {"kind": "PipelineRun", "name": "pr", "succeeded": "Unknown", "reason": "Running",
                  "started": "2024-01-04T00:00:00Z"},
                 {"kind": "Build", "name": "kb", "succeeded": "False", "reason": "BuildFailed",
                  "started": "2024-01-03T00:00:00Z"}]}),
    ("odd shapes do not break it",
     {"services": [{"metadata": {"name": "odd"},
                    "status": {"traffic": ["nonsense", {"percent": True}],
                               "conditions": ["x", {"type": "Ready", "status": "Maybe"}]}}],
      "brokers": [{"metadata": {"name": "nb"}, "status": {"address": "not-a-map"}}]},
     {"services": [{"name": "odd", "url": None, "ready": "Unknown", "reason": None, "latestRevision": None,
                    "traffic": [{"revisionName": None, "percent": None, "tag": None, "url": None}]}],
      "brokers": [{"name": "nb", "url": None, "ready": "Unknown"}]}),
]


@pytest.mark.parametrize(("objects", "expected"), [(o, e) for _, o, e in CASES], ids=[c[0] for c in CASES])
def test_snapshot(objects: dict[str, list[dict[str, Any]]], expected: dict[str, Any]) -> None:
    assert build_snapshot("ns", objects) == {**EMPTY, **expected}


def test_same_state_same_snapshot() -> None:
    """The stream compares snapshots: list order from the server must not matter."""
    objects = {"services": [obj("b"), obj("a")], "pingsources": [obj("y"), obj("x")]}
    reordered = {k: list(reversed(v)) for k, v in objects.items()}
    assert build_snapshot("ns", objects) == build_snapshot("ns", reordered)


def test_kinds_are_qualified() -> None:
    """Group-qualified, so a cluster's core Services never stand in for Knative's."""
    assert all("." in resource for resource in KINDS.values())
    assert set(WATCHED) <= set(KINDS) and "routes" not in WATCHED
