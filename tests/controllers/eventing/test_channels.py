"""InMemoryChannel, Channel and Subscription."""

from __future__ import annotations

from .conftest import MESSAGING_V1, Env, cond, imc, ref, status_of, subscription


async def test_in_memory_channel_address_and_dls(env: Env) -> None:
    env.create(imc("c", delivery={"deadLetterSink": {"uri": "http://dls.example.com"}, "retry": 2}))
    await env.until(lambda: status_of(env.get(MESSAGING_V1, "InMemoryChannel", "c")) == "True")
    c = env.must(MESSAGING_V1, "InMemoryChannel", "c")
    assert c["status"]["address"] == {"name": "http", "url": "http://c-kn-channel.default.svc.cluster.local"}
    assert c["status"]["deadLetterSinkUri"] == "http://dls.example.com"
    for type_ in ("ServiceReady", "EndpointsReady", "Addressable", "ChannelServiceReady", "DeadLetterSinkResolved",
                  "EventPoliciesReady"):
        assert status_of(c, type_) == "True", type_
    assert env.plane.objects[("InMemoryChannel", "default", "c")] is not None


async def test_subscription_adds_and_deletion_removes_the_channel_entry(env: Env) -> None:
    env.create(imc("c", delivery={"retry": 4, "backoffDelay": "PT1S"}))
    env.create(subscription("s", "c", reply={"uri": "http://reply.example.com"},
                            delivery={"deadLetterSink": {"uri": "http://dls.example.com"}, "retry": 1}))
    env.create(subscription("plain", "c"))
    await env.until(lambda: status_of(env.get(MESSAGING_V1, "Subscription", "s")) == "True"
                    and status_of(env.get(MESSAGING_V1, "Subscription", "plain")) == "True")
    s = env.must(MESSAGING_V1, "Subscription", "s")
    assert "subscriptions.messaging.knative.dev" in s["metadata"]["finalizers"]
    assert s["status"]["physicalSubscription"] == {"subscriberUri": "http://sub.example.com",
                                                   "replyUri": "http://reply.example.com",
                                                   "deadLetterSinkUri": "http://dls.example.com"}
    entries = {e["name"]: e for e in env.must(MESSAGING_V1, "InMemoryChannel", "c")["spec"]["subscribers"]}
    assert entries["s"] == {"uid": s["metadata"]["uid"], "generation": 1, "name": "s", "namespace": "default",
                            "subscriberUri": "http://sub.example.com", "replyUri": "http://reply.example.com",
                            "delivery": {"deadLetterSink": {"uri": "http://dls.example.com"}, "retry": 1}}
    # no delivery of its own: the channel's retry settings
    assert entries["plain"]["delivery"] == {"retry": 4, "backoffDelay": "PT1S"}
    env.delete(MESSAGING_V1, "Subscription", "s")
    await env.until(lambda: env.get(MESSAGING_V1, "Subscription", "s") is None)
    channel = env.must(MESSAGING_V1, "InMemoryChannel", "c")
    assert [e["name"] for e in channel["spec"]["subscribers"]] == ["plain"]
    await env.until(lambda: [x["uid"] for x in env.must(MESSAGING_V1, "InMemoryChannel", "c")["status"]
                             ["subscribers"]] == [entries["plain"]["uid"]])


async def test_subscription_to_a_missing_channel_then_the_channel_appears(env: Env) -> None:
    env.create(subscription("s", "later"))
    await env.until(lambda: status_of(env.get(MESSAGING_V1, "Subscription", "s"), "ReferencesResolved") == "False")
    c = cond(env.must(MESSAGING_V1, "Subscription", "s"), "ReferencesResolved")
    assert c["reason"] == "ChannelReferenceFailed"
    assert c["message"] == ('Failed to get Spec.Channel or backing channel: '
                            'inmemorychannels.messaging.knative.dev "later" not found')
    env.create(imc("later"))
    await env.until(lambda: status_of(env.get(MESSAGING_V1, "Subscription", "s")) == "True")


async def test_subscription_with_unresolvable_subscriber(env: Env) -> None:
    env.create(imc("c"))
    env.create(subscription("s", "c", subscriber=ref("serving.knative.dev/v1", "Service", "gone")))
    await env.until(lambda: status_of(env.get(MESSAGING_V1, "Subscription", "s"), "ReferencesResolved") == "False")
    c = cond(env.must(MESSAGING_V1, "Subscription", "s"), "ReferencesResolved")
    assert c["reason"] == "SubscriberResolveFailed"
    assert c["message"] == ('Failed to resolve spec.subscriber: failed to get object default/gone: '
                            'services.serving.knative.dev "gone" not found')
    assert not env.must(MESSAGING_V1, "InMemoryChannel", "c").get("spec", {}).get("subscribers")


async def test_channel_backed_by_in_memory_channel(env: Env) -> None:
    env.create({"apiVersion": MESSAGING_V1, "kind": "Channel", "metadata": {"name": "ch"},
                "spec": {"channelTemplate": {"apiVersion": MESSAGING_V1, "kind": "InMemoryChannel"}}})
    env.create(subscription("s", "ch", kind="Channel"))
    await env.until(lambda: status_of(env.get(MESSAGING_V1, "Subscription", "s")) == "True"
                    and status_of(env.get(MESSAGING_V1, "Channel", "ch")) == "True")
    ch = env.must(MESSAGING_V1, "Channel", "ch")
    backing = env.must(MESSAGING_V1, "InMemoryChannel", "ch")
    assert backing["metadata"]["ownerReferences"][0]["kind"] == "Channel"
    assert ch["status"]["channel"] == {"apiVersion": MESSAGING_V1, "kind": "InMemoryChannel", "name": "ch",
                                       "namespace": "default"}
    assert ch["status"]["address"]["url"] == "http://ch-kn-channel.default.svc.cluster.local"
    s = env.must(MESSAGING_V1, "Subscription", "s")
    assert not ch["spec"].get("subscribers")  # a Channel takes no subscribers: its backing channel does
    assert [e["uid"] for e in backing["spec"]["subscribers"]] == [s["metadata"]["uid"]]
    assert [e["uid"] for e in ch["status"]["subscribers"]] == [s["metadata"]["uid"]]
    assert cond(ch, "DeadLetterSinkResolved")["reason"] == "DeadLetterSinkNotConfigured"
