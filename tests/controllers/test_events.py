"""EventRecorder: Events written as client-go writes them, with its correlator's dedup, aggregation and
spam filter; and the event TTL sweep."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from jupyter_knative.api.registry import Registry
from jupyter_knative.controllers.gc import EventTTL, last_written
from jupyter_knative.controllers.runtime import EventRecorder, FakeClock, go_sprintf
from jupyter_knative.store import Store

from .conftest import START, configmap, kind, ksvc, make_namespace

STAMP = "2027-01-15T08:00:00Z"


def events(store: Store, reg: Registry, ns: str | None = None) -> list[dict[str, Any]]:
    return store.list(kind(reg, "", "Event"), ns)[0]


@pytest.fixture
def service(store: Store, reg: Registry) -> dict[str, Any]:
    return store.create(kind(reg, "serving.knative.dev", "Service"), ksvc("hello"))


@pytest.fixture
def recorder(store: Store, clock: FakeClock) -> EventRecorder:
    return EventRecorder(store, "service-controller", clock)


def test_event_fields(store: Store, reg: Registry, recorder: EventRecorder, service: dict[str, Any]) -> None:
    recorder.event(service, "Normal", "Created", "Created Configuration \"hello\"")
    [event] = events(store, reg)
    meta = event["metadata"]
    assert meta["name"] == f"hello.{int(START * 1e9):x}" and meta["namespace"] == "default"
    assert event["involvedObject"] == {
        "kind": "Service", "namespace": "default", "name": "hello", "uid": service["metadata"]["uid"],
        "apiVersion": "serving.knative.dev/v1", "resourceVersion": service["metadata"]["resourceVersion"],
    }
    assert {k: event[k] for k in ("reason", "message", "type", "source", "firstTimestamp", "lastTimestamp",
                                  "count", "reportingComponent", "reportingInstance", "eventTime")} == {
        "reason": "Created", "message": "Created Configuration \"hello\"", "type": "Normal",
        "source": {"component": "service-controller"}, "firstTimestamp": STAMP, "lastTimestamp": STAMP,
        "count": 1, "reportingComponent": "service-controller", "reportingInstance": "", "eventTime": None,
    }


async def test_identical_events_are_counted(store: Store, reg: Registry, recorder: EventRecorder,
                                            service: dict[str, Any], clock: FakeClock) -> None:
    recorder.event(service, "Warning", "InternalError", "boom")
    await clock.advance(30)
    recorder.event(service, "Warning", "InternalError", "boom")
    await clock.advance(30)
    recorder.event(service, "Warning", "InternalError", "boom")
    recorder.event(service, "Warning", "InternalError", "other")
    recorder.event(service, "Normal", "InternalError", "boom")
    found = {(e["type"], e["message"]): e for e in events(store, reg)}
    assert len(found) == 3
    repeated = found[("Warning", "boom")]
    assert repeated["count"] == 3
    assert repeated["firstTimestamp"] == STAMP and repeated["lastTimestamp"] == "2027-01-15T08:01:00Z"
    assert found[("Warning", "other")]["count"] == 1 and found[("Normal", "boom")]["count"] == 1


def test_different_objects_are_not_merged(store: Store, reg: Registry, recorder: EventRecorder) -> None:
    cm = kind(reg, "", "ConfigMap")
    a, b = store.create(cm, configmap("a")), store.create(cm, configmap("b"))
    recorder.event(a, "Normal", "Synced", "ok")
    recorder.event(b, "Normal", "Synced", "ok")
    assert sorted(e["involvedObject"]["name"] for e in events(store, reg)) == ["a", "b"]
    assert all(e["count"] == 1 for e in events(store, reg))


def test_same_instant_gives_distinct_names(store: Store, reg: Registry, recorder: EventRecorder,
                                           service: dict[str, Any]) -> None:
    for i in range(3):
        recorder.event(service, "Normal", "Step", f"step {i}")
    names = [e["metadata"]["name"] for e in events(store, reg)]
    assert len(set(names)) == 3


def test_similar_events_are_aggregated(store: Store, reg: Registry, recorder: EventRecorder,
                                       service: dict[str, Any]) -> None:
    for i in range(12):
        recorder.event(service, "Warning", "Failed", f"attempt {i}")
    by_message = {e["message"]: e for e in events(store, reg)}
    assert len(by_message) == 10
    combined = by_message["(combined from similar events): attempt 11"]
    assert combined["count"] == 3 and combined["reportingComponent"] == ""


async def test_spam_filter(store: Store, reg: Registry, recorder: EventRecorder, service: dict[str, Any],
                           clock: FakeClock) -> None:
    for i in range(30):
        recorder.event(service, "Normal", f"Reason{i}", "m")
    assert len(events(store, reg)) == 25, "a source may burst 25 events about one object"
    await clock.advance(300)
    recorder.event(service, "Normal", "Later", "m")
    assert len(events(store, reg)) == 26, "then one every five minutes"


def test_cluster_scoped_objects_get_events_in_default(store: Store, reg: Registry,
                                                      recorder: EventRecorder) -> None:
    ns = make_namespace(store, reg, "team")
    recorder.event(ns, "Normal", "Seen", "namespace seen")
    [event] = events(store, reg)
    assert event["metadata"]["namespace"] == "default"
    assert "namespace" not in event["involvedObject"] and event["involvedObject"]["kind"] == "Namespace"


def test_recording_never_raises(store: Store, reg: Registry, recorder: EventRecorder,
                                caplog: pytest.LogCaptureFixture) -> None:
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "missing"}}
    with caplog.at_level(logging.WARNING):
        recorder.event(ghost, "Normal", "Reason", "namespace does not exist")
        recorder.event(ghost, "Bogus", "Reason", "bad type")
        recorder.event("not an object", "Normal", "Reason", "garbage")  # type: ignore[arg-type]
        recorder.eventf(ghost, "Normal", "Reason", "%d", "not a number")
    assert events(store, reg) == []
    assert any("unsupported event type 'Bogus'" in r.getMessage() for r in caplog.records)


async def test_event_recreated_after_expiry_keeps_counting(
        store: Store, reg: Registry, recorder: EventRecorder, service: dict[str, Any],
        clock: FakeClock) -> None:
    recorder.event(service, "Normal", "Tick", "tick")
    [first] = events(store, reg)
    store.delete(kind(reg, "", "Event"), "default", first["metadata"]["name"])
    await clock.advance(1)
    recorder.event(service, "Normal", "Tick", "tick")
    [again] = events(store, reg)
    assert again["metadata"]["name"] == first["metadata"]["name"] and again["count"] == 2


@pytest.mark.parametrize(("template", "args", "expected"), [
    pytest.param("Created Configuration %q", ("hello",), 'Created Configuration "hello"', id="q"),
    pytest.param("%s has %d replicas", ("rev", 3), "rev has 3 replicas", id="s-d"),
    pytest.param("ready: %v, err: %v", (True, None), "ready: true, err: <nil>", id="v"),
    pytest.param("100%% done", (), "100% done", id="percent"),
    pytest.param("%s and %s", ("one",), "one and %!s(MISSING)", id="missing"),
    pytest.param("%s", ("a", 2), "a%!(EXTRA int=2)", id="extra"),
    pytest.param("%5d|%-4s|", (42, "ab"), "   42|ab  |", id="width"),
])
def test_go_sprintf(template: str, args: tuple[Any, ...], expected: str) -> None:
    assert go_sprintf(template, *args) == expected


def test_eventf(store: Store, reg: Registry, recorder: EventRecorder, service: dict[str, Any]) -> None:
    recorder.eventf(service, "Normal", "Created", "Created Route %q", "hello")
    assert events(store, reg)[0]["message"] == 'Created Route "hello"'


@pytest.mark.parametrize(("event", "expected"), [
    pytest.param({"lastTimestamp": "2027-01-15T09:00:00Z",
                  "metadata": {"creationTimestamp": "2027-01-15T08:00:00Z"}}, START + 3600, id="last"),
    pytest.param({"eventTime": "2027-01-15T08:30:00.123456Z", "metadata": {}}, START + 1800.123456,
                 id="micro-time"),
    pytest.param({"series": {"lastObservedTime": "2027-01-15T08:10:00.000000Z"},
                  "eventTime": "2027-01-15T08:00:00.000000Z", "metadata": {}}, START + 600, id="series"),
    pytest.param({"metadata": {"creationTimestamp": "2027-01-15T08:00:00Z"}}, START, id="created"),
    pytest.param({"metadata": {}}, None, id="nothing"),
])
def test_last_written(event: dict[str, Any], expected: float | None) -> None:
    assert last_written(event) == (pytest.approx(expected) if expected is not None else None)


async def test_event_ttl(store: Store, reg: Registry, recorder: EventRecorder, service: dict[str, Any],
                         clock: FakeClock) -> None:
    recorder.event(service, "Normal", "Old", "old")
    recorder.event(service, "Normal", "Refreshed", "refreshed")
    await clock.advance(1800)
    recorder.event(service, "Normal", "Refreshed", "refreshed")  # a write renews it
    recorder.event(service, "Normal", "Young", "young")
    ttl = EventTTL(store, clock)
    await clock.advance(1800)
    assert ttl.sweep() == 0, "exactly an hour old is not yet older than the TTL"
    await clock.advance(1)
    assert ttl.sweep() == 1
    assert sorted(e["reason"] for e in events(store, reg)) == ["Refreshed", "Young"]
    await clock.advance(1800)
    assert ttl.sweep() == 2 and events(store, reg) == []
