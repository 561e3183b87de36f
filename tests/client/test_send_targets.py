"""`send` to any addressable: a channel (its `status.address.url`), a Knative Service (its URL, answered with
the reply event), a URL; on the plane and on the plane reached as a cluster (a Knative Service through the given
ingress)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jupyter_knative.client import Client, KnativeError

from ..recorder import Recorder

REPLYING = """
from cloudevents.http import CloudEvent

def receive(cloud_event):
    return CloudEvent({"type": "reply." + cloud_event["type"], "source": "/fn"}, {"got": cloud_event.data})
"""


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.close()


def test_send_to_a_channel_a_service_and_a_url(client: Client, recorder: Recorder) -> None:
    client.apply("apiVersion: messaging.knative.dev/v1\nkind: InMemoryChannel\nmetadata:\n  name: orders\n---\n"
                 "apiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata:\n  name: to-recorder\n"
                 "spec:\n  channel:\n    apiVersion: messaging.knative.dev/v1\n    kind: InMemoryChannel\n"
                 f"    name: orders\n  subscriber:\n    uri: {recorder.url('ok/channel')}\n")
    client.wait("subscription", "to-recorder")
    sent = client.send("imc/orders", type="order.created", source="/test", data={"n": 1}, id="via-channel")
    assert sent.status_code == 202
    recorder.wait_for(lambda: recorder.ids("channel") == ["via-channel"])

    client.deploy_function("replier", REPLYING)
    reply = client.send("ksvc/replier", type="ping", source="/test", data={"n": 2})
    assert reply.status_code == 200 and reply.cloudevent["type"] == "reply.ping"
    assert reply.json() == {"got": {"n": 2}}

    direct = client.send(recorder.url("ok/direct"), type="direct", source="/test", id="via-url")
    assert direct.status_code == 200
    assert recorder.ids("direct") == ["via-url"] and recorder.at("direct")[0].ce("type") == "direct"

    with pytest.raises(KnativeError) as err:
        client.send("channel/nope", type="x", source="/test")
    assert err.value.reason == "NotFound"


def test_send_to_a_service_on_a_cluster_goes_through_the_ingress(client: Client, cluster: Client) -> None:
    client.deploy_function("replier", REPLYING)
    reply = cluster.send("ksvc/replier", type="ping", source="/cluster", data={"n": 3})
    assert reply.status_code == 200 and reply.json() == {"got": {"n": 3}}
