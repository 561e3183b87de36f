"""Sequence and Parallel: names of their channels and subscriptions, the wiring, the statuses."""

from __future__ import annotations

from .conftest import FLOWS_V1, MESSAGING_V1, Env, status_of

IMC_TEMPLATE = {"apiVersion": MESSAGING_V1, "kind": "InMemoryChannel"}


def channel_ref(name: str) -> dict[str, str]:
    return {"apiVersion": MESSAGING_V1, "kind": "InMemoryChannel", "name": name, "namespace": "default"}


async def test_sequence_wiring(env: Env) -> None:
    env.create({"apiVersion": FLOWS_V1, "kind": "Sequence", "metadata": {"name": "seq"},
                "spec": {"channelTemplate": IMC_TEMPLATE,
                         "steps": [{"uri": "http://first.example.com"},
                                   {"uri": "http://second.example.com", "delivery": {"retry": 2}}],
                         "reply": {"uri": "http://reply.example.com"}}})
    await env.until(lambda: status_of(env.get(FLOWS_V1, "Sequence", "seq")) == "True")
    seq = env.must(FLOWS_V1, "Sequence", "seq")
    first = env.must(MESSAGING_V1, "Subscription", "seq-kn-sequence-0")
    second = env.must(MESSAGING_V1, "Subscription", "seq-kn-sequence-1")
    assert first["spec"]["channel"]["name"] == "seq-kn-sequence-0"
    assert first["spec"]["subscriber"]["uri"] == "http://first.example.com"
    assert first["spec"]["reply"]["ref"]["name"] == "seq-kn-sequence-1"
    assert second["spec"]["channel"]["name"] == "seq-kn-sequence-1"
    assert second["spec"]["reply"] == {"uri": "http://reply.example.com"}
    assert second["spec"]["delivery"]["retry"] == 2
    assert seq["status"]["address"]["url"] == "http://seq-kn-sequence-0-kn-channel.default.svc.cluster.local"
    assert [s["channel"] for s in seq["status"]["channelStatuses"]] == [channel_ref("seq-kn-sequence-0"),
                                                                        channel_ref("seq-kn-sequence-1")]
    assert [s["subscription"]["name"] for s in seq["status"]["subscriptionStatuses"]] == [
        "seq-kn-sequence-0", "seq-kn-sequence-1"]
    assert all(s["ready"]["status"] == "True" for s in seq["status"]["subscriptionStatuses"])
    # step 0's entry in channel 0 replies into channel 1's address
    entry = env.must(MESSAGING_V1, "InMemoryChannel", "seq-kn-sequence-0")["spec"]["subscribers"][0]
    assert entry["replyUri"] == "http://seq-kn-sequence-1-kn-channel.default.svc.cluster.local"


async def test_parallel_wiring(env: Env) -> None:
    env.create({"apiVersion": FLOWS_V1, "kind": "Parallel", "metadata": {"name": "par"},
                "spec": {"channelTemplate": IMC_TEMPLATE,
                         "branches": [{"filter": {"uri": "http://filter.example.com"},
                                       "subscriber": {"uri": "http://a.example.com"}},
                                      {"subscriber": {"uri": "http://b.example.com"},
                                       "reply": {"uri": "http://b-reply.example.com"}}],
                         "reply": {"uri": "http://reply.example.com"}}})
    await env.until(lambda: status_of(env.get(FLOWS_V1, "Parallel", "par")) == "True")
    par = env.must(FLOWS_V1, "Parallel", "par")
    f0 = env.must(MESSAGING_V1, "Subscription", "par-kn-parallel-filter-0")
    f1 = env.must(MESSAGING_V1, "Subscription", "par-kn-parallel-filter-1")
    s0 = env.must(MESSAGING_V1, "Subscription", "par-kn-parallel-0")
    s1 = env.must(MESSAGING_V1, "Subscription", "par-kn-parallel-1")
    assert f0["spec"]["channel"]["name"] == f1["spec"]["channel"]["name"] == "par-kn-parallel"
    assert f0["spec"]["subscriber"] == {"uri": "http://filter.example.com"}
    assert f0["spec"]["reply"]["ref"]["name"] == "par-kn-parallel-0"
    assert f1["spec"]["subscriber"]["ref"]["name"] == "par-kn-parallel-1"
    assert "reply" not in f1["spec"]
    assert s0["spec"]["channel"]["name"] == "par-kn-parallel-0"
    assert s0["spec"]["reply"] == {"uri": "http://reply.example.com"}
    assert s1["spec"]["reply"] == {"uri": "http://b-reply.example.com"}
    assert par["status"]["address"]["url"] == "http://par-kn-parallel-kn-channel.default.svc.cluster.local"
    assert par["status"]["ingressChannelStatus"]["channel"] == channel_ref("par-kn-parallel")
    branch = par["status"]["branchStatuses"][1]
    assert branch["filterChannelStatus"]["channel"] == channel_ref("par-kn-parallel-1")
    assert branch["filterSubscriptionStatus"]["subscription"]["name"] == "par-kn-parallel-filter-1"
    assert branch["subscriberSubscriptionStatus"]["subscription"]["name"] == "par-kn-parallel-1"
    assert "lastTransitionTime" not in branch["subscriberSubscriptionStatus"]["ready"]
    assert all("lastTransitionTime" not in c for c in par["status"]["conditions"])


async def test_event_type_reference(env: Env) -> None:
    env.create({"apiVersion": "eventing.knative.dev/v1beta2", "kind": "EventType", "metadata": {"name": "et"},
                "spec": {"type": "dev.example", "reference": {"apiVersion": "eventing.knative.dev/v1",
                                                              "kind": "Broker", "name": "default"}}})
    await env.until(lambda: status_of(env.get("eventing.knative.dev/v1beta2", "EventType", "et")) == "False")
    env.create({"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "metadata": {"name": "default"}})
    await env.until(lambda: status_of(env.get("eventing.knative.dev/v1beta2", "EventType", "et")) == "True")
