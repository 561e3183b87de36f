"""Broker → trigger channel, Trigger → Subscription → channel entry, end to end on the store."""

from __future__ import annotations

import json
from typing import Any

from jupyter_knative.controllers.eventing.names import trigger_subscription_name

from .conftest import (
    EVENTING_V1,
    MESSAGING_V1,
    Env,
    broker,
    cond,
    ksvc,
    ref,
    status_of,
    trigger,
)

INGRESS = "http://broker-ingress.knative-eventing.svc.cluster.local"
FILTER = "http://broker-filter.knative-eventing.svc.cluster.local"


async def ready_broker(env: Env, name: str = "default", delivery: dict[str, Any] | None = None) -> dict[str, Any]:
    env.create(broker(name, delivery=delivery))
    await env.until(lambda: status_of(env.get(EVENTING_V1, "Broker", name)) == "True")
    return env.must(EVENTING_V1, "Broker", name)


async def test_broker_creates_its_trigger_channel_and_becomes_ready(env: Env) -> None:
    b = await ready_broker(env)
    channel = env.must(MESSAGING_V1, "InMemoryChannel", "default-kne-trigger")
    assert channel["metadata"]["labels"] == {"eventing.knative.dev/broker": "default",
                                             "eventing.knative.dev/brokerEverything": "true"}
    owner = channel["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("Broker", "default", True)
    st = b["status"]
    assert st["address"] == {"name": "http", "url": f"{INGRESS}/default/default"}
    assert st["annotations"] == {
        "knative.dev/channelAddress": "http://default-kne-trigger-kn-channel.default.svc.cluster.local",
        "knative.dev/channelAPIVersion": MESSAGING_V1, "knative.dev/channelKind": "InMemoryChannel",
        "knative.dev/channelName": "default-kne-trigger", "knative.dev/channelNamespace": "default"}
    for type_ in ("IngressReady", "TriggerChannelReady", "FilterReady", "Addressable", "EventPoliciesReady"):
        assert status_of(b, type_) == "True", type_
    assert cond(b, "DeadLetterSinkResolved") | {"lastTransitionTime": ""} == {
        "type": "DeadLetterSinkResolved", "status": "True", "reason": "DeadLetterSinkNotConfigured",
        "message": "No dead letter sink is configured.", "lastTransitionTime": ""}
    assert cond(b, "EventPoliciesReady")["reason"] == "OIDCDisabled"
    assert st["observedGeneration"] == b["metadata"]["generation"]
    assert env.handed("Broker", "default")["status"]["address"]["url"] == f"{INGRESS}/default/default"


async def test_broker_of_another_class_is_left_alone(env: Env) -> None:
    env.create(broker("kafka", cls="Kafka"))
    await env.settle()
    await env.until(lambda: env.eventing.controller("Broker").reconciles >= 1)
    assert "status" not in env.must(EVENTING_V1, "Broker", "kafka") or \
        not env.must(EVENTING_V1, "Broker", "kafka")["status"].get("conditions")
    assert env.get(MESSAGING_V1, "InMemoryChannel", "kafka-kne-trigger") is None
    assert env.plane.objects.get(("Broker", "default", "kafka")) is None


async def test_broker_dead_letter_sink(env: Env) -> None:
    b = await ready_broker(env, delivery={"deadLetterSink": {"uri": "http://dls.example.com"}})
    assert b["status"]["deadLetterSinkUri"] == "http://dls.example.com"
    assert cond(b, "DeadLetterSinkResolved").get("reason") is None


async def test_broker_unresolvable_dead_letter_sink_recovers_when_the_sink_appears(env: Env) -> None:
    env.create(broker(delivery={"deadLetterSink": ref("serving.knative.dev/v1", "Service", "dls")}))
    await env.until(lambda: status_of(env.get(EVENTING_V1, "Broker", "default"), "DeadLetterSinkResolved") == "False")
    b = env.must(EVENTING_V1, "Broker", "default")
    assert cond(b, "DeadLetterSinkResolved")["reason"] == "Unable to get the dead letter sink's URI"
    assert cond(b, "DeadLetterSinkResolved")["message"] == \
        'failed to get object default/dls: services.serving.knative.dev "dls" not found'
    assert status_of(b) == "False"
    svc = env.create(ksvc("dls"))
    env.store.update(env.rt("serving.knative.dev/v1", "Service"),
                     {**svc, "status": {"address": {"url": "http://dls.default.svc.cluster.local"}}},
                     subresource="status")
    await env.until(lambda: status_of(env.get(EVENTING_V1, "Broker", "default")) == "True")
    assert env.must(EVENTING_V1, "Broker", "default")["status"]["deadLetterSinkUri"] == \
        "http://dls.default.svc.cluster.local"


async def test_trigger_wires_a_subscription_into_the_broker_channel(env: Env) -> None:
    await ready_broker(env, delivery={"retry": 3})
    t = env.create(trigger("t1", subscriber={"uri": "http://display.example.com"}))
    await env.until(lambda: status_of(env.get(EVENTING_V1, "Trigger", "t1")) == "True")
    t = env.must(EVENTING_V1, "Trigger", "t1")
    uid = t["metadata"]["uid"]
    sub = env.must(MESSAGING_V1, "Subscription", f"default-t1-{uid}")
    assert sub["spec"]["channel"] == {"apiVersion": MESSAGING_V1, "kind": "InMemoryChannel",
                                      "name": "default-kne-trigger"}
    assert sub["spec"]["subscriber"]["uri"] == f"{FILTER}/triggers/default/t1/{uid}"
    assert sub["spec"]["reply"]["ref"]["kind"] == "Broker"
    assert sub["spec"]["reply"]["ref"]["name"] == "default"
    assert sub["spec"]["delivery"]["retry"] == 3  # the broker's delivery, copied whole
    assert sub["metadata"]["labels"] == {"eventing.knative.dev/broker": "default", "eventing.knative.dev/trigger": "t1"}
    assert t["status"]["subscriberUri"] == "http://display.example.com"
    for type_ in ("BrokerReady", "SubscriptionReady", "DependencyReady", "SubscriberResolved",
                  "DeadLetterSinkResolved", "OIDCIdentityCreated"):
        assert status_of(t, type_) == "True", type_
    channel = env.must(MESSAGING_V1, "InMemoryChannel", "default-kne-trigger")
    entry = channel["spec"]["subscribers"][0]
    assert entry["uid"] == sub["metadata"]["uid"]
    assert entry["subscriberUri"] == f"{FILTER}/triggers/default/t1/{uid}"
    assert entry["replyUri"] == f"{INGRESS}/default/default"
    assert channel["status"]["subscribers"] == [{"uid": sub["metadata"]["uid"], "observedGeneration": 1,
                                                 "ready": "True"}]
    handed = env.plane.objects[("Trigger", "default", "t1")]
    assert handed is not None and handed["status"]["subscriberUri"] == "http://display.example.com"
    assert env.plane.objects[("InMemoryChannel", "default", "default-kne-trigger")] is not None


async def test_trigger_delivery_replaces_the_broker_delivery_and_its_dls_wins(env: Env) -> None:
    await ready_broker(env, delivery={"retry": 10, "backoffPolicy": "exponential",
                                      "deadLetterSink": {"uri": "http://broker-dls.example.com"}})
    env.create(trigger("own", delivery={"retry": 1, "deadLetterSink": {"uri": "http://trigger-dls.example.com"}}))
    env.create(trigger("inherits"))
    await env.until(lambda: status_of(env.get(EVENTING_V1, "Trigger", "own")) == "True"
                    and status_of(env.get(EVENTING_V1, "Trigger", "inherits")) == "True")
    own = env.must(EVENTING_V1, "Trigger", "own")
    inherits = env.must(EVENTING_V1, "Trigger", "inherits")
    assert own["status"]["deadLetterSinkUri"] == "http://trigger-dls.example.com"
    assert inherits["status"]["deadLetterSinkUri"] == "http://broker-dls.example.com"
    own_sub = env.must(MESSAGING_V1, "Subscription", f"default-own-{own['metadata']['uid']}")
    assert own_sub["spec"]["delivery"]["retry"] == 1
    assert "backoffPolicy" not in own_sub["spec"]["delivery"]  # replaced whole, never merged
    inherited_sub = env.must(MESSAGING_V1, "Subscription", f"default-inherits-{inherits['metadata']['uid']}")
    assert inherited_sub["spec"]["delivery"]["retry"] == 10
    assert inherited_sub["spec"]["delivery"]["backoffPolicy"] == "exponential"
    entries = {e["name"]: e for e in env.must(MESSAGING_V1, "InMemoryChannel", "default-kne-trigger")["spec"]
               ["subscribers"]}
    assert entries[own_sub["metadata"]["name"]]["delivery"]["deadLetterSink"] == \
        {"uri": "http://trigger-dls.example.com"}


async def test_trigger_without_broker_then_broker_appears(env: Env) -> None:
    env.create(trigger("t"))
    await env.until(lambda: status_of(env.get(EVENTING_V1, "Trigger", "t"), "BrokerReady") == "False")
    t = env.must(EVENTING_V1, "Trigger", "t")
    assert cond(t, "BrokerReady")["reason"] == "BrokerDoesNotExist"
    assert cond(t, "BrokerReady")["message"] == 'Broker "default" does not exist'
    assert status_of(t) == "False"
    env.create(broker())
    await env.until(lambda: status_of(env.get(EVENTING_V1, "Trigger", "t")) == "True")


async def test_trigger_with_unresolvable_subscriber(env: Env) -> None:
    await ready_broker(env)
    env.create(trigger("t", subscriber=ref("serving.knative.dev/v1", "Service", "nope")))
    await env.until(lambda: status_of(env.get(EVENTING_V1, "Trigger", "t"), "SubscriberResolved") == "False")
    t = env.must(EVENTING_V1, "Trigger", "t")
    c = cond(t, "SubscriberResolved")
    assert c["reason"] == "Unable to get the Subscriber's URI"
    assert c["message"] == 'failed to get object default/nope: services.serving.knative.dev "nope" not found'
    assert "subscriberUri" not in t["status"]
    assert status_of(t) == "False"


async def test_trigger_subscriber_ref_with_relative_uri_follows_the_target_address(env: Env) -> None:
    await ready_broker(env)
    svc_rt = env.rt("serving.knative.dev/v1", "Service")
    svc = env.create(ksvc("display"))
    svc = env.store.update(svc_rt, {**svc, "status": {"address": {"url": "http://display.default.svc.cluster.local"}}},
                           subresource="status")
    env.create(trigger("t", subscriber={**ref("serving.knative.dev/v1", "Service", "display"), "uri": "/events"}))
    await env.until(lambda: (env.must(EVENTING_V1, "Trigger", "t").get("status") or {}).get("subscriberUri") ==
                    "http://display.default.svc.cluster.local/events")
    svc = env.must("serving.knative.dev/v1", "Service", "display")
    env.store.update(svc_rt, {**svc, "status": {"address": {"url": "http://moved.default.svc.cluster.local"}}},
                     subresource="status")
    await env.until(lambda: env.must(EVENTING_V1, "Trigger", "t")["status"].get("subscriberUri") ==
                    "http://moved.default.svc.cluster.local/events")


async def test_trigger_dependency_annotation(env: Env) -> None:
    await ready_broker(env)
    dep = json.dumps({"apiVersion": "sources.knative.dev/v1", "kind": "PingSource", "name": "ping"})
    env.create(trigger("t", annotations={"knative.dev/dependency": dep}))
    await env.until(lambda: status_of(env.get(EVENTING_V1, "Trigger", "t"), "DependencyReady") == "False")
    c = cond(env.must(EVENTING_V1, "Trigger", "t"), "DependencyReady")
    assert c["reason"] == "DependencyDoesNotExist"
    assert c["message"] == 'Dependency does not exist: pingsources.sources.knative.dev "ping" not found'
    env.create({"apiVersion": "sources.knative.dev/v1", "kind": "PingSource", "metadata": {"name": "ping"},
                "spec": {"schedule": "* * * * *", "sink": {"uri": "http://sink.example.com"}}})
    await env.until(lambda: status_of(env.get(EVENTING_V1, "Trigger", "t")) == "True")


async def test_deleting_a_trigger_and_broker_tells_the_plane(env: Env) -> None:
    await ready_broker(env)
    env.create(trigger("t"))
    await env.until(lambda: status_of(env.get(EVENTING_V1, "Trigger", "t")) == "True")
    env.delete(EVENTING_V1, "Trigger", "t")
    env.delete(EVENTING_V1, "Broker", "default")
    await env.until(lambda: env.plane.objects.get(("Trigger", "default", "t"), {}) is None
                    and env.plane.objects.get(("Broker", "default", "default"), {}) is None)


def test_long_names_hash_like_kmeta() -> None:
    uid = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    name = trigger_subscription_name("a-rather-long-broker-name", "and-a-long-trigger-name", uid)
    assert len(name) == 63
    assert name.startswith("a-rather-long-broker-name-and-a")
