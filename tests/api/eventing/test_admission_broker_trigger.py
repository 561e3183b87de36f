"""Broker and Trigger webhooks through a real Store: defaults from config-br-defaults, class and
immutability rules, trigger filters (attributes and the Subscriptions API dialects) and annotations."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_knative.api.kinds.eventing import BROKER, TRIGGER
from jupyter_knative.store import Store

from .admission_support import SINK, edit_config, new_store, obj, refused

CLASS = "eventing.knative.dev/broker.class"
ATTRIBUTE_DETAILS = "Attribute name must start with a letter and can only contain lowercase alphanumeric"


@pytest.fixture
def store() -> Iterator[Store]:
    s = new_store()
    yield s
    s.close()


# --- Broker --------------------------------------------------------------------------------------------


def test_broker_defaults_from_config_br_defaults(store: Store) -> None:
    created = store.create(BROKER, obj("default"))
    assert created["metadata"]["annotations"] == {CLASS: "MTChannelBasedBroker"}
    assert created["spec"] == {
        "config": {"apiVersion": "v1", "kind": "ConfigMap", "name": "config-br-default-channel",
                   "namespace": "knative-eventing"},
        "delivery": {"retry": 10, "backoffPolicy": "exponential", "backoffDelay": "PT0.2S"},
    }


def test_broker_keeps_what_it_sets(store: Store) -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "name": "mine"}
    spec = {"config": config, "delivery": {"retry": 1}}
    created = store.create(BROKER, obj("b", spec, annotations={CLASS: "Custom"}))
    assert created["metadata"]["annotations"][CLASS] == "Custom"
    assert created["spec"] == {"config": {**config, "namespace": "default"}, "delivery": {"retry": 1}}


def test_broker_namespace_and_class_defaults(store: Store) -> None:
    edit_config(store, "config-br-defaults", **{"default-br-config": """\
clusterDefault:
  brokerClass: MTChannelBasedBroker
  apiVersion: v1
  kind: ConfigMap
  name: config-br-default-channel
  namespace: knative-eventing
  brokerClasses:
    Kafka:
      apiVersion: v1
      kind: ConfigMap
      name: kafka-channel
      namespace: knative-eventing
namespaceDefaults:
  default:
    brokerClass: Special
    apiVersion: v1
    kind: ConfigMap
    name: special-config
    delivery:
      retry: 2
      timeout: PT5S
"""})
    created = store.create(BROKER, obj("ns-default"))
    assert created["metadata"]["annotations"][CLASS] == "Special"
    # The ref namespace defaults to the broker's; only dls/retry/backoff are copied from the delivery defaults.
    assert created["spec"] == {"config": {"apiVersion": "v1", "kind": "ConfigMap", "name": "special-config",
                                          "namespace": "default"}, "delivery": {"retry": 2}}
    kafka = store.create(BROKER, obj("kafka", annotations={CLASS: "Kafka"}))
    assert kafka["spec"] == {"config": {"apiVersion": "v1", "kind": "ConfigMap", "name": "kafka-channel",
                                        "namespace": "knative-eventing"}}


@pytest.mark.parametrize(("body", "message"), [
    (obj("b", annotations={CLASS: ""}), "missing field(s): eventing.knative.dev/broker.class"),
    (obj("b", {"config": {"kind": "ConfigMap"}}), "missing field(s): spec.config.apiVersion, spec.config.name"),
    (obj("b", {"delivery": {"retry": -1}}), "invalid value: -1: spec.delivery.retry"),
])
def test_broker_errors(store: Store, body: dict[str, Any], message: str) -> None:
    assert refused(store, BROKER, body) == message


def test_broker_only_delivery_may_change(store: Store) -> None:
    created = store.create(BROKER, obj("b"))
    changed = copy.deepcopy(created)
    changed["spec"]["delivery"] = {"retry": 3}
    assert store.update(BROKER, changed)["spec"]["delivery"] == {"retry": 3}
    changed = copy.deepcopy(store.must_get(BROKER, "default", "b"))
    changed["spec"]["config"]["name"] = "other"
    assert refused(store, BROKER, changed, update=True) == (
        "Immutable fields changed (-old +new): spec\n"
        '{v1.BrokerSpec}.Config.Name:\n\t-: "config-br-default-channel"\n\t+: "other"\n')
    changed = copy.deepcopy(store.must_get(BROKER, "default", "b"))
    changed["metadata"]["annotations"][CLASS] = "Kafka"
    assert refused(store, BROKER, changed, update=True) == (
        "Immutable annotations changed (-old +new): annotations\n"
        '{string}:\n\t-: "MTChannelBasedBroker"\n\t+: "Kafka"\n')


# --- Trigger -------------------------------------------------------------------------------------------


def trigger(name: str = "t", **spec: Any) -> dict[str, Any]:
    return obj(name, {"broker": "default", "subscriber": SINK, **spec})


def test_trigger_defaults(store: Store) -> None:
    created = store.create(TRIGGER, trigger())
    assert created["spec"]["filter"] == {}
    assert created["spec"]["subscriber"]["ref"]["namespace"] == "default"
    assert created["metadata"]["labels"] == {"eventing.knative.dev/broker": "default"}
    with_attrs = store.create(TRIGGER, trigger("t2", filter={"attributes": {"type": "dev.example"}}))
    assert with_attrs["spec"]["filter"] == {"attributes": {"type": "dev.example"}}


@pytest.mark.parametrize(("spec", "message"), [
    ({"broker": ""}, "missing field(s): spec.broker"),
    ({"subscriber": None}, "expected at least one, got none: spec.subscriber.ref, spec.subscriber.uri"),
    ({"brokerRef": {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "name": "b"}},
     "expected exactly one, got both: spec.broker, spec.brokerRef"),
    ({"filter": {"attributes": {"0invalid": "x"}}},
     f'invalid key name "0invalid": spec.filter.attributes[0invalid]\n{ATTRIBUTE_DETAILS}'),
    ({"filter": {"attributes": {"Type": "x", "ok": ""}}},
     f'invalid key name "Type": spec.filter.attributes[Type]\n{ATTRIBUTE_DETAILS}'),
    ({"filters": [{"exact": {"type": "a"}, "suffix": {"source": "b"}}]},
     "multiple dialects found, filters can have only one dialect set: spec.filters[0]"),
    ({"filters": [{"cesql": "type = 'a'", "not": {"exact": {"type": "b"}}}]},
     "multiple dialects found, filters can have only one dialect set: spec.filters[0]"),
    ({"filters": [{"exact": {"a": "1", "b": "2"}}]},
     "Multiple items found, can have only one key-value: spec.filters[0].exact"),
    ({"filters": [{"prefix": {"9type": "x"}}]},
     f'invalid key name "9type": spec.filters[0].prefix[9type]\n{ATTRIBUTE_DETAILS}'),
    ({"filters": [{"exact": {"type": "x"}}, {"all": [{"any": [{"suffix": {"BAD": "x"}}]}]}]},
     f'invalid key name "BAD": spec.filters[1].all[0].any[0].suffix[BAD]\n{ATTRIBUTE_DETAILS}'),
    ({"filters": [{"not": {"exact": {"a": "1"}, "prefix": {"b": "2"}}}]},
     "multiple dialects found, filters can have only one dialect set: spec.filters[0].not"),
    ({"filters": [{"cesql": "type = "}]},
     "invalid value: type = : spec.filters[0].cesql\nparse error: 1:8: unexpected 'end of expression'"),
    ({"delivery": {"backoffPolicy": "sometimes"}}, "invalid value: sometimes: spec.delivery.backoffPolicy"),
])
def test_trigger_errors(store: Store, spec: dict[str, Any], message: str) -> None:
    body = trigger(**spec)
    body["spec"] = {k: v for k, v in body["spec"].items() if v is not None}
    assert refused(store, TRIGGER, body) == message


def test_trigger_accepts_valid_filters(store: Store) -> None:
    filters = [{"exact": {"type": "a"}}, {"prefix": {"source": ""}}, {"any": [{"suffix": {"subject": "x"}}]},
               {"not": {"cesql": "knativebrokerttl < 30"}}, {"cesql": "type LIKE 'dev.%'"}, {}]
    assert store.create(TRIGGER, trigger(filters=filters))["spec"]["filters"] == filters


def test_trigger_broker_ref_needs_cross_namespace_links(store: Store) -> None:
    ref = {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "name": "b", "namespace": "other"}
    body = obj("t", {"brokerRef": ref, "subscriber": SINK})
    assert refused(store, TRIGGER, body) == "missing field(s): spec.broker"
    edit_config(store, "config-features", **{"cross-namespace-event-links": "enabled"})
    created = store.create(TRIGGER, body)
    assert created["spec"]["brokerRef"] == ref and "labels" not in created["metadata"]
    assert refused(store, TRIGGER, obj("t2", {"brokerRef": {"kind": "Broker"}, "subscriber": SINK})) == \
        "missing field(s): spec.brokerRef.apiVersion, spec.brokerRef.name"


def test_trigger_broker_is_immutable(store: Store) -> None:
    created = store.create(TRIGGER, trigger())
    changed = copy.deepcopy(created)
    changed["spec"]["subscriber"] = {"uri": "http://elsewhere.example.com"}
    assert store.update(TRIGGER, changed)["spec"]["subscriber"] == {"uri": "http://elsewhere.example.com"}
    changed = copy.deepcopy(store.must_get(TRIGGER, "default", "t"))
    changed["spec"]["broker"] = "other"
    assert refused(store, TRIGGER, changed, update=True) == (
        "Immutable fields changed (-old +new): broker, spec\n"
        '{string}:\n\t-: "default"\n\t+: "other"\n')


DEP = "knative.dev/dependency"
DEP_PATH = "metadata.annotations[knative.dev/dependency]"
INJ_PATH = "metadata.annotations[eventing.knative.dev/injection]"


@pytest.mark.parametrize(("annotations", "broker", "message"), [
    ({DEP: "{"}, "default",
     f'The provided annotation was not a corev1.ObjectReference: "{{": {DEP_PATH}\nunexpected end of JSON input'),
    ({DEP: "[1]"}, "default",
     f'The provided annotation was not a corev1.ObjectReference: "[1]": {DEP_PATH}\n'
     "json: cannot unmarshal array into Go value of type v1.ObjectReference"),
    ({DEP: '{"kind": 1}'}, "default",
     'The provided annotation was not a corev1.ObjectReference: "{\\"kind\\": 1}": '
     f"{DEP_PATH}\njson: cannot unmarshal number into Go struct field ObjectReference.kind of type string"),
    ({DEP: '{"kind":"PingSource","namespace":"other"}'}, "default",
     f'Namespace must be empty or equal to the trigger namespace "default": {DEP_PATH}.namespace\n'
     f"missing field(s): {DEP_PATH}.apiVersion, {DEP_PATH}.name"),
    ({"eventing.knative.dev/injection": "on"}, "default",
     f'The provided injection annotation value can only be "enabled" or "disabled", not "on": {INJ_PATH}'),
    ({"eventing.knative.dev/injection": "enabled"}, "mine",
     'The provided injection annotation is only used for default broker, but non-default broker specified '
     f'here: "mine": {INJ_PATH}'),
])
def test_trigger_annotations(store: Store, annotations: dict[str, str], broker: str, message: str) -> None:
    body = trigger(broker=broker)
    body["metadata"]["annotations"] = annotations
    assert refused(store, TRIGGER, body) == message


def test_trigger_valid_annotations(store: Store) -> None:
    annotations = {DEP: '{"kind":"PingSource","name":"ping","apiVersion":"sources.knative.dev/v1"}',
                   "eventing.knative.dev/injection": "disabled"}
    body = trigger()
    body["metadata"]["annotations"] = annotations
    assert store.create(TRIGGER, body)["metadata"]["annotations"] == annotations
