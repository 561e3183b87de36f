"""Destination and DeliverySpec rules, shared by every kind; driven through Triggers, InMemoryChannels,
Channels and Brokers in a real Store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_knative.api.eventing.config import EventingConfig, Features
from jupyter_knative.api.eventing.destination import Ctx, is_absolute_url, validate_destination
from jupyter_knative.api.kinds.eventing import BROKER, CHANNEL, IN_MEMORY_CHANNEL, TRIGGER
from jupyter_knative.store import Store

from .admission_support import SINK, SVC_REF, edit_config, new_store, obj, refused


@pytest.fixture
def store() -> Iterator[Store]:
    s = new_store()
    yield s
    s.close()


def trigger(subscriber: Any = None, delivery: Any = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"broker": "default", "subscriber": subscriber if subscriber is not None else SINK}
    if delivery is not None:
        spec["delivery"] = delivery
    return obj("t", spec)


@pytest.mark.parametrize(("subscriber", "message"), [
    ({}, "expected at least one, got none: spec.subscriber.ref, spec.subscriber.uri"),
    ({"ref": SVC_REF, "uri": "http://example.com/x"},
     "Absolute URI is not allowed when Ref or [apiVersion, kind, name] is present: "
     "spec.subscriber.ref, spec.subscriber.uri, spec.subscriber[apiVersion, kind, name]"),
    ({"uri": "/relative"},
     "invalid value: Relative URI is not allowed when Ref and [apiVersion, kind, name] is absent: "
     "spec.subscriber.uri"),
    ({"uri": "http:///no-host"},
     "invalid value: Relative URI is not allowed when Ref and [apiVersion, kind, name] is absent: "
     "spec.subscriber.uri"),
    ({"ref": {"kind": "Service"}}, "missing field(s): spec.subscriber.ref.apiVersion, spec.subscriber.ref.name"),
    ({"ref": {**SVC_REF, "group": "serving.knative.dev"}}, "must not set the field(s): spec.subscriber.ref.group"),
])
def test_destination_errors(store: Store, subscriber: Any, message: str) -> None:
    assert refused(store, TRIGGER, trigger(subscriber)) == message


def test_ref_with_relative_uri_is_accepted_and_namespace_defaulted(store: Store) -> None:
    created = store.create(TRIGGER, trigger({"ref": dict(SVC_REF), "uri": "/extra/path"}))
    assert created["spec"]["subscriber"] == {"ref": {**SVC_REF, "namespace": "default"}, "uri": "/extra/path"}


def test_a_given_ref_namespace_is_kept(store: Store) -> None:
    created = store.create(TRIGGER, trigger({"ref": {**SVC_REF, "namespace": "other"}}))
    assert created["spec"]["subscriber"]["ref"]["namespace"] == "other"


@pytest.mark.parametrize(("delivery", "message"), [
    ({"retry": -1}, "invalid value: -1: spec.delivery.retry"),
    ({"backoffPolicy": "fibonacci"}, "invalid value: fibonacci: spec.delivery.backoffPolicy"),
    ({"backoffDelay": "FOO"}, "invalid value: FOO: spec.delivery.backoffDelay"),
    ({"backoffDelay": "PP1"}, "invalid value: PP1: spec.delivery.backoffDelay"),
    ({"backoffDelay": "2020-01-01T00:00:00Z"}, "invalid value: 2020-01-01T00:00:00Z: spec.delivery.backoffDelay"),
    ({"timeout": "P0"}, "invalid value: P0: spec.delivery.timeout"),
    ({"timeout": "soon"}, "invalid value: soon: spec.delivery.timeout"),
    ({"retryAfterMax": "PT5S"}, "must not set the field(s): spec.delivery.retryAfterMax"),
    ({"format": "xml"}, "invalid value: xml: spec.delivery.format"),
    ({"deadLetterSink": {}},
     "expected at least one, got none: spec.delivery.deadLetterSink.ref, spec.delivery.deadLetterSink.uri"),
    ({"retry": -2, "backoffPolicy": "x"},
     "invalid value: -2: spec.delivery.retry\ninvalid value: x: spec.delivery.backoffPolicy"),
])
def test_delivery_errors(store: Store, delivery: dict[str, Any], message: str) -> None:
    assert refused(store, TRIGGER, trigger(delivery=delivery)) == message


@pytest.mark.parametrize("delivery", [
    {"retry": 0},
    {"retry": 3, "backoffPolicy": "linear", "backoffDelay": "PT2.5S", "timeout": "PT1M30S"},
    {"backoffPolicy": "exponential", "backoffDelay": "P0", "format": "binary"},
    {"deadLetterSink": {"uri": "http://dls.example.com"}, "format": "json", "backoffDelay": "P1D"},
])
def test_valid_delivery(store: Store, delivery: dict[str, Any]) -> None:
    assert store.create(TRIGGER, trigger(delivery=delivery))["spec"]["delivery"] == delivery


def test_dead_letter_sink_ref_namespace_is_defaulted(store: Store) -> None:
    created = store.create(IN_MEMORY_CHANNEL, obj("c", {"delivery": {"deadLetterSink": {"ref": dict(SVC_REF)}}}))
    assert created["spec"]["delivery"]["deadLetterSink"]["ref"]["namespace"] == "default"


def test_feature_gates_come_from_config_features(store: Store) -> None:
    edit_config(store, "config-features", **{"delivery-timeout": "disabled", "delivery-retryafter": "enabled"})
    assert refused(store, TRIGGER, trigger(delivery={"timeout": "PT1S"})) == \
        "must not set the field(s): spec.delivery.timeout"
    assert refused(store, TRIGGER, trigger(delivery={"retryAfterMax": "bad"})) == \
        "invalid value: bad: spec.delivery.retryAfterMax"
    created = store.create(TRIGGER, trigger(delivery={"retryAfterMax": "PT0S"}))
    assert created["spec"]["delivery"]["retryAfterMax"] == "PT0S"


def test_kreference_group_feature(store: Store) -> None:
    edit_config(store, "config-features", **{"kreference-group": "enabled"})
    ref = {"kind": "Service", "name": "x", "group": "serving.knative.dev", "apiVersion": "serving.knative.dev/v1"}
    assert refused(store, TRIGGER, trigger({"ref": ref})) == \
        "both apiVersion and group are specified: spec.subscriber.ref.apiVersion, spec.subscriber.ref.group\n" \
        "Only one of them must be specified"
    ref.pop("apiVersion")
    assert store.create(TRIGGER, trigger({"ref": ref}))["spec"]["subscriber"]["ref"]["group"] == "serving.knative.dev"


def test_namespaces_are_checked_where_the_kind_validates_within_its_parent(store: Store) -> None:
    other_dls = {"deadLetterSink": {"ref": {**SVC_REF, "namespace": "other"}}}
    # A Channel validates its delivery within its own namespace...
    assert refused(store, CHANNEL, obj("ch", {"delivery": other_dls})) == (
        "mismatched namespaces: spec.delivery.deadLetterSink.ref.namespace\n"
        'parent namespace: "default" does not match ref: "other"')
    # ...a Broker allows other namespaces, and a Trigger does not check.
    assert store.create(BROKER, obj("b", {"delivery": other_dls}))["spec"]["delivery"] == other_dls
    assert store.create(TRIGGER, trigger(delivery=other_dls))["spec"]["delivery"] == other_dls


@pytest.mark.parametrize(("uri", "absolute"), [
    ("http://example.com", True), ("https://user@host:8443/p?q", True), ("http://:8080", True),
    ("/path", False), ("example.com", False), ("localhost:8080", False), ("http:///x", False), ("mailto:a@b", False),
])
def test_absolute_url(uri: str, absolute: bool) -> None:
    assert is_absolute_url(uri) is absolute


def test_destination_validation_is_pure() -> None:
    ctx = Ctx(EventingConfig(features=Features()))
    assert not validate_destination({"uri": "http://example.com"}, ctx)
    assert str(validate_destination(None, ctx)) == "expected at least one, got none: ref, uri"
