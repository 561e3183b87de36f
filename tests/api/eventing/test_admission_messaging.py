"""Channel, InMemoryChannel and Subscription webhooks through a real Store."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_knative.api.kinds.eventing import CHANNEL, IN_MEMORY_CHANNEL, SUBSCRIPTION
from jupyter_knative.store import Store

from .admission_support import SINK, edit_config, new_store, obj, refused

IMC = {"apiVersion": "messaging.knative.dev/v1", "kind": "InMemoryChannel"}
CHANNEL_REF = {**IMC, "name": "c"}


@pytest.fixture
def store() -> Iterator[Store]:
    s = new_store()
    yield s
    s.close()


# --- Channel -------------------------------------------------------------------------------------------


def test_channel_template_defaults_from_default_ch_webhook(store: Store) -> None:
    created = store.create(CHANNEL, obj("ch"))
    assert created["spec"] == {"channelTemplate": IMC}
    assert created["metadata"]["annotations"] == {"messaging.knative.dev/subscribable": "v1"}
    edit_config(store, "default-ch-webhook", **{"default-ch-config": """\
clusterDefault:
  apiVersion: messaging.knative.dev/v1
  kind: InMemoryChannel
namespaceDefaults:
  default:
    apiVersion: messaging.knative.dev/v1beta1
    kind: KafkaChannel
    spec:
      numPartitions: 2
"""})
    kafka = store.create(CHANNEL, obj("ch2"))
    assert kafka["spec"]["channelTemplate"] == {"apiVersion": "messaging.knative.dev/v1beta1",
                                                "kind": "KafkaChannel", "spec": {"numPartitions": 2}}


@pytest.mark.parametrize(("spec", "message"), [
    ({"channelTemplate": {}}, "missing field(s): spec.channelTemplate.apiVersion, spec.channelTemplate.kind"),
    ({"channelTemplate": IMC, "subscribers": [{"subscriberUri": "http://x"}]},
     "must not set the field(s): spec.subscribable.subscribers"),
    ({"channelTemplate": IMC, "delivery": {"retry": -3}}, "invalid value: -3: spec.delivery.retry"),
])
def test_channel_errors(store: Store, spec: dict[str, Any], message: str) -> None:
    assert refused(store, CHANNEL, obj("ch", spec)) == message


def test_channel_template_is_immutable(store: Store) -> None:
    created = store.create(CHANNEL, obj("ch"))
    changed = copy.deepcopy(created)
    changed["spec"]["channelTemplate"]["kind"] = "KafkaChannel"
    assert refused(store, CHANNEL, changed, update=True) == (
        "Immutable fields changed (-old +new): spec\n"
        '{v1.ChannelSpec}.ChannelTemplate.TypeMeta.Kind:\n\t-: "InMemoryChannel"\n\t+: "KafkaChannel"\n')


# --- InMemoryChannel -----------------------------------------------------------------------------------


def test_in_memory_channel_accepts_subscribers(store: Store) -> None:
    subscribers = [{"uid": "1", "generation": 1, "subscriberUri": "http://a"}, {"uid": "2", "replyUri": "http://b"}]
    created = store.create(IN_MEMORY_CHANNEL, obj("c", {"subscribers": subscribers}))
    assert created["spec"]["subscribers"] == subscribers
    assert created["metadata"]["annotations"] == {"messaging.knative.dev/subscribable": "v1"}


@pytest.mark.parametrize(("body", "message"), [
    (obj("c", {"subscribers": [{"subscriberUri": "http://a"}, {"uid": "2"}]}),
     "missing field(s): spec.subscribable.subscriber[1].replyURI, spec.subscribable.subscriber[1].subscriberURI\n"
     "expected at least one of, got none"),
    (obj("c", {"delivery": {"backoffDelay": "PT"}}), "invalid value: PT: spec.delivery.backoffDelay"),
    (obj("c", annotations={"eventing.knative.dev/scope": "galaxy"}),
     # knative.dev/pkg splits paths at dots, so a dotted key loses its glue to the field before it.
     "invalid value: galaxy: metadata.annotations.[eventing.knative.dev/scope]\n"
     "expected either 'cluster' or 'namespace'"),
])
def test_in_memory_channel_errors(store: Store, body: dict[str, Any], message: str) -> None:
    assert refused(store, IN_MEMORY_CHANNEL, body) == message


# --- Subscription --------------------------------------------------------------------------------------


def subscription(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"channel": CHANNEL_REF, "subscriber": SINK}
    base.update(spec)
    return obj("s", {k: v for k, v in base.items() if v is not None})


def test_subscription_defaults_destination_namespaces(store: Store) -> None:
    created = store.create(SUBSCRIPTION, subscription(
        reply={"ref": {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "name": "default"}},
        delivery={"deadLetterSink": {"ref": {"apiVersion": "v1", "kind": "Service", "name": "dls"}}}))
    spec = created["spec"]
    assert spec["channel"] == CHANNEL_REF  # the channel ref may not carry a namespace, so it gets none
    assert spec["subscriber"]["ref"]["namespace"] == "default"
    assert spec["reply"]["ref"]["namespace"] == "default"
    assert spec["delivery"]["deadLetterSink"]["ref"]["namespace"] == "default"


@pytest.mark.parametrize(("spec", "message"), [
    ({"channel": None}, "missing field(s): spec.channel\nthe Subscription must reference a channel"),
    ({"channel": {}, "subscriber": None}, "missing field(s): spec.channel\nthe Subscription must reference a channel"),
    ({"subscriber": None}, "missing field(s): spec.subscriber\nthe Subscription must reference a subscriber"),
    ({"subscriber": {}}, "missing field(s): spec.subscriber\nthe Subscription must reference a subscriber"),
    ({"channel": {"kind": "InMemoryChannel", "name": "c"}}, "missing field(s): spec.channel.apiVersion"),
    ({"channel": {**CHANNEL_REF, "namespace": "default"}},
     "must not set the field(s): spec.channel.namespace\nonly name, apiVersion and kind are supported fields"),
    ({"subscriber": {"uri": "relative"}},
     "invalid value: Relative URI is not allowed when Ref and [apiVersion, kind, name] is absent: "
     "spec.subscriber.uri"),
    ({"reply": {"uri": "/r"}},
     "invalid value: Relative URI is not allowed when Ref and [apiVersion, kind, name] is absent: spec.reply.uri"),
    ({"delivery": {"retry": -1}}, "invalid value: -1: spec.delivery.retry"),
])
def test_subscription_errors(store: Store, spec: dict[str, Any], message: str) -> None:
    assert refused(store, SUBSCRIPTION, subscription(**spec)) == message


def test_without_strict_subscriber_a_reply_is_enough(store: Store) -> None:
    edit_config(store, "config-features", **{"strict-subscriber": "disabled"})
    assert refused(store, SUBSCRIPTION, subscription(subscriber=None)) == (
        "missing field(s): spec.reply, spec.subscriber\n"
        "the Subscription must reference at least one of (reply or a subscriber)")
    created = store.create(SUBSCRIPTION, subscription(subscriber=None, reply={"uri": "http://reply.example.com"}))
    assert "subscriber" not in created["spec"]


def test_subscription_channel_is_immutable_subscriber_is_not(store: Store) -> None:
    created = store.create(SUBSCRIPTION, subscription())
    changed = copy.deepcopy(created)
    changed["spec"]["subscriber"] = {"uri": "http://new.example.com"}
    changed = store.update(SUBSCRIPTION, changed)
    assert changed["spec"]["subscriber"] == {"uri": "http://new.example.com"}
    changed = copy.deepcopy(changed)
    changed["spec"]["channel"]["name"] = "other"
    assert refused(store, SUBSCRIPTION, changed, update=True) == (
        "Immutable fields changed (-old +new): spec\n"
        '{v1.SubscriptionSpec}.Channel.Name:\n\t-: "c"\n\t+: "other"\n')


def test_an_object_being_deleted_is_not_validated_again(store: Store) -> None:
    created = store.create(SUBSCRIPTION, subscription())
    created["metadata"]["finalizers"] = ["example.com/hold"]
    store.update(SUBSCRIPTION, created)
    store.delete(SUBSCRIPTION, "default", "s")
    deleting = store.must_get(SUBSCRIPTION, "default", "s")
    assert deleting["metadata"]["deletionTimestamp"]
    edit_config(store, "config-features", **{"delivery-timeout": "disabled"})
    deleting["spec"]["delivery"] = {"timeout": "PT1S"}  # would be refused on a live object
    deleting["metadata"]["finalizers"] = []
    store.update(SUBSCRIPTION, deleting)
    assert store.get(SUBSCRIPTION, "default", "s") is None
