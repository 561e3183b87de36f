"""Sequence and Parallel webhooks (and EventType) through a real Store."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_knative.api.kinds.eventing import EVENTTYPE, PARALLEL, SEQUENCE
from jupyter_knative.store import Store

from .admission_support import SINK, SVC_REF, new_store, obj, refused

IMC = {"apiVersion": "messaging.knative.dev/v1", "kind": "InMemoryChannel"}


@pytest.fixture
def store() -> Iterator[Store]:
    s = new_store()
    yield s
    s.close()


def test_sequence_defaults(store: Store) -> None:
    created = store.create(SEQUENCE, obj("seq", {"steps": [SINK, {"uri": "http://step.example.com"}],
                                                 "reply": {"ref": {**SVC_REF, "name": "last"}}}))
    spec = created["spec"]
    assert spec["channelTemplate"] == IMC
    assert spec["steps"][0]["ref"]["namespace"] == "default" and spec["steps"][1] == {"uri": "http://step.example.com"}
    assert spec["reply"]["ref"]["namespace"] == "default"


@pytest.mark.parametrize(("spec", "message"), [
    ({}, "missing field(s): spec.steps"),
    ({"steps": [{"uri": "relative"}]}, "invalid value: {{<nil> relative <nil> <nil>} <nil>}: spec.steps[0]"),
    ({"steps": [SINK, {"uri": "http://ok.example.com", "delivery": {"retry": -1}}]},
     "invalid value: {{<nil> http://ok.example.com <nil> <nil>} &{<nil> -1 <nil> <nil> <nil> <nil> <nil>}}: "
     "spec.steps[1]"),
    ({"steps": [{}]}, "invalid value: {{<nil> <nil> <nil> <nil>} <nil>}: spec.steps[0]"),
    ({"steps": [SINK], "channelTemplate": {"kind": "InMemoryChannel"}},
     "missing field(s): spec.channelTemplate.apiVersion"),
    ({"steps": [SINK], "reply": {}}, "expected at least one, got none: spec.reply.ref, spec.reply.uri"),
])
def test_sequence_errors(store: Store, spec: dict[str, Any], message: str) -> None:
    assert refused(store, SEQUENCE, obj("seq", spec)) == message


def test_parallel_defaults(store: Store) -> None:
    branches = [{"filter": {"ref": {**SVC_REF, "name": "even"}}, "subscriber": SINK},
                {"subscriber": {"uri": "http://b.example.com"}, "reply": {"ref": dict(SVC_REF)}}]
    created = store.create(PARALLEL, obj("par", {"branches": copy.deepcopy(branches)}))
    spec = created["spec"]
    assert spec["channelTemplate"] == IMC
    assert spec["branches"][0]["filter"]["ref"]["namespace"] == "default"
    assert spec["branches"][0]["subscriber"]["ref"]["namespace"] == "default"
    assert spec["branches"][1]["reply"]["ref"]["namespace"] == "default"


@pytest.mark.parametrize(("spec", "message"), [
    ({}, "missing field(s): spec.branches"),
    ({"branches": [{"subscriber": SINK}, {}]},
     "invalid value: {<nil> {<nil> <nil> <nil> <nil>} <nil> <nil>}: spec.branches.subscriber[1]"),
    ({"branches": [{"subscriber": {"uri": "http://s"}, "filter": {"uri": "f"}, "reply": {"uri": "r"}}]},
     "invalid value: {&{<nil> f <nil> <nil>} {<nil> http://s <nil> <nil>} &{<nil> r <nil> <nil>} <nil>}: "
     "spec.branches.filter[0], spec.branches.reply[0]"),
    ({"branches": [{"subscriber": SINK}], "channelTemplate": {}},
     "missing field(s): spec.channelTemplate.apiVersion, spec.channelTemplate.kind"),
    ({"branches": [{"subscriber": SINK}], "reply": {"uri": "/x"}},
     "invalid value: Relative URI is not allowed when Ref and [apiVersion, kind, name] is absent: spec.reply.uri"),
])
def test_parallel_errors(store: Store, spec: dict[str, Any], message: str) -> None:
    assert refused(store, PARALLEL, obj("par", spec)) == message


def test_event_type(store: Store) -> None:
    assert refused(store, EVENTTYPE, obj("et", {"source": "/x"})) == "missing field(s): spec.type"
    reference = {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "name": "default"}
    created = store.create(EVENTTYPE, obj("et", {"type": "dev.example", "reference": reference}))
    assert created["spec"]["reference"]["namespace"] == "default"
    changed = copy.deepcopy(created)
    changed["spec"]["type"] = "dev.other"
    assert refused(store, EVENTTYPE, changed, update=True) == (
        "Immutable fields changed (-old +new): spec\n"
        '{v1beta2.EventTypeSpec}.Type:\n\t-: "dev.example"\n\t+: "dev.other"\n')
