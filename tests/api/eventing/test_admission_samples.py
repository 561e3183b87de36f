"""Manifests in the shape of the Knative Eventing docs' samples go through the webhooks unchanged except
for the documented defaults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from jupyter_knative.store import Store

from .admission_support import new_store

SAMPLES = """\
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: default
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: my-service-trigger
  namespace: default
spec:
  broker: default
  filter:
    attributes:
      type: dev.knative.samples.helloworld
      source: dev.knative.samples/helloworldsource
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: my-service
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: test-ping-source
  namespace: default
spec:
  schedule: "*/1 * * * *"
  contentType: "application/json"
  data: '{"message": "Hello world!"}'
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-display
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata:
  name: my-channel
  namespace: default
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: my-subscription
  namespace: default
spec:
  channel:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
    name: my-channel
  delivery:
    deadLetterSink:
      ref:
        apiVersion: serving.knative.dev/v1
        kind: Service
        name: error-handler
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-display
---
apiVersion: flows.knative.dev/v1
kind: Sequence
metadata:
  name: sequence
  namespace: default
spec:
  channelTemplate:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
  steps:
    - ref:
        apiVersion: serving.knative.dev/v1
        kind: Service
        name: first
    - ref:
        apiVersion: serving.knative.dev/v1
        kind: Service
        name: second
  reply:
    ref:
      kind: Service
      apiVersion: serving.knative.dev/v1
      name: event-display
"""


@pytest.fixture
def created() -> Iterator[dict[str, dict[str, Any]]]:
    store: Store = new_store()
    out: dict[str, dict[str, Any]] = {}
    for doc in yaml.safe_load_all(SAMPLES):
        group = doc["apiVersion"].split("/")[0]
        rt = store.registry.by_kind(group, doc["kind"])
        assert rt is not None
        out[doc["kind"]] = store.create(rt, doc)
    yield out
    store.close()


def _ns(ref: dict[str, Any]) -> str:
    return str(ref["namespace"])


def test_broker_sample(created: dict[str, dict[str, Any]]) -> None:
    broker = created["Broker"]
    assert broker["metadata"]["annotations"] == {"eventing.knative.dev/broker.class": "MTChannelBasedBroker"}
    assert broker["spec"]["config"]["name"] == "config-br-default-channel"
    assert broker["spec"]["delivery"] == {"retry": 10, "backoffPolicy": "exponential", "backoffDelay": "PT0.2S"}


def test_trigger_sample(created: dict[str, dict[str, Any]]) -> None:
    trigger = created["Trigger"]
    assert trigger["metadata"]["labels"] == {"eventing.knative.dev/broker": "default"}
    assert trigger["spec"]["filter"]["attributes"]["type"] == "dev.knative.samples.helloworld"
    assert _ns(trigger["spec"]["subscriber"]["ref"]) == "default"


def test_ping_source_sample(created: dict[str, dict[str, Any]]) -> None:
    ping = created["PingSource"]
    assert ping["spec"]["schedule"] == "*/1 * * * *" and ping["spec"]["data"] == '{"message": "Hello world!"}'
    assert _ns(ping["spec"]["sink"]["ref"]) == "default"


def test_channel_and_subscription_samples(created: dict[str, dict[str, Any]]) -> None:
    imc = created["InMemoryChannel"]
    assert imc["metadata"]["annotations"] == {"messaging.knative.dev/subscribable": "v1"}
    sub = created["Subscription"]["spec"]
    assert "namespace" not in sub["channel"]
    assert _ns(sub["subscriber"]["ref"]) == "default" and _ns(sub["delivery"]["deadLetterSink"]["ref"]) == "default"


def test_sequence_sample(created: dict[str, dict[str, Any]]) -> None:
    seq = created["Sequence"]["spec"]
    assert [s["ref"]["name"] for s in seq["steps"]] == ["first", "second"]
    assert all(_ns(s["ref"]) == "default" for s in seq["steps"]) and _ns(seq["reply"]["ref"]) == "default"
    assert seq["channelTemplate"] == {"apiVersion": "messaging.knative.dev/v1", "kind": "InMemoryChannel"}
