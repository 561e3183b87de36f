"""Eventing end to end on a real plane: objects through kubectl, CloudEvents from the `cloudevents` SDK, subscribers
in the test process (any URL) and in the plane (event-display, read back with `kubectl logs`)."""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent

from .conftest import Plane
from .recorder import Recorder
from .test_serving_e2e import apply, get, until, wait_ready

BROKER_INGRESS = "broker-ingress.knative-eventing.svc.cluster.local"


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.close()


def post(plane: Plane, host: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
         method: str = "POST") -> tuple[int, dict[str, str], bytes]:
    port = int(plane.ingress.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def event(type: str = "greeting", data: Any = None, structured: bool = False,
          **extensions: Any) -> tuple[str, dict[str, str], bytes]:
    """A CloudEvent made by the SDK, as (id, headers, body)."""
    attrs = {"type": type, "source": "/tests/e2e", "id": uuid.uuid4().hex, **extensions}
    if isinstance(data, str):  # text travels as it is (the SDK would JSON-encode a str)
        attrs["datacontenttype"] = "text/plain"
        data = data.encode()
    ce = CloudEvent(attrs, data if data is not None else {"hello": "world"})
    headers, body = (to_structured if structured else to_binary)(ce)
    return attrs["id"], {k: str(v) for k, v in headers.items()}, body


def send(plane: Plane, ns: str, broker: str, ce: tuple[str, dict[str, str], bytes]) -> int:
    status, _, _ = post(plane, BROKER_INGRESS, f"/{ns}/{broker}", ce[2], ce[1])
    return status


def broker(plane: Plane, ns: str, name: str = "default", delivery: str = "") -> None:
    apply(plane, ns, f"apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: {name}\n"
                     + (f"spec:\n  delivery:\n{delivery}" if delivery else ""))
    wait_ready(plane, ns, f"broker/{name}")


def trigger(plane: Plane, ns: str, name: str, uri: str, filters: str = "", broker: str = "default",
            delivery: str = "") -> None:
    body = (f"apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: {name}\nspec:\n"
            f"  broker: {broker}\n  subscriber:\n    uri: {uri}\n{filters}{delivery}")
    apply(plane, ns, body)


def test_broker_delivers_through_filters_of_every_dialect(plane: Plane, namespace: str, recorder: Recorder) -> None:
    broker(plane, namespace)
    dialects = {
        "all-events": "",
        "attributes": "  filter:\n    attributes:\n      type: order.created\n      region: eu\n",
        "exact": "  filters:\n    - exact:\n        type: order.created\n",
        "prefix": "  filters:\n    - prefix:\n        type: order.\n",
        "suffix": "  filters:\n    - suffix:\n        type: .shipped\n",
        "allof": "  filters:\n    - all:\n        - prefix:\n            type: order.\n"
                 "        - exact:\n            region: us\n",
        "anyof": "  filters:\n    - any:\n        - exact:\n            type: order.shipped\n"
                 "        - exact:\n            region: eu\n",
        "notof": "  filters:\n    - not:\n        exact:\n          type: order.created\n",
        "cesql": "  filters:\n    - cesql: \"type LIKE 'order.%' AND priority > 5\"\n",
    }
    for name, spec in dialects.items():
        trigger(plane, namespace, name, recorder.url(f"ok/{name}"), spec)
    for name in dialects:
        wait_ready(plane, namespace, f"trigger/{name}")
    sent = {
        "created-eu": event("order.created", region="eu", priority=9),
        "created-us": event("order.created", region="us", structured=True),
        "shipped-us": event("order.shipped", region="us", priority=2),
        "other": event("user.signup", priority=7),
    }
    for ce in sent.values():
        assert send(plane, namespace, "default", ce) == 202
    expected = {
        "all-events": {"created-eu", "created-us", "shipped-us", "other"},
        "attributes": {"created-eu"},
        "exact": {"created-eu", "created-us"},
        "prefix": {"created-eu", "created-us", "shipped-us"},
        "suffix": {"shipped-us"},
        "allof": {"created-us", "shipped-us"},
        "anyof": {"created-eu", "shipped-us"},
        "notof": {"shipped-us", "other"},
        "cesql": {"created-eu"},
    }
    ids = {key: ce[0] for key, ce in sent.items()}
    total = sum(len(v) for v in expected.values())
    recorder.wait_for(lambda: len(recorder.received) >= total)
    time.sleep(0.3)  # nothing more may arrive
    for name, keys in expected.items():
        assert sorted(recorder.ids(name)) == sorted(ids[k] for k in keys), name
    seen = recorder.at("all-events")[0]
    assert "ce-knativebrokerttl" not in seen.headers  # hidden from subscribers
    assert seen.ce("knativearrivaltime")
    assert seen.headers.get("prefer") == "reply"
    structured = next(r for r in recorder.at("all-events") if r.ce("id") == ids["created-us"])
    assert json.loads(structured.body) == {"hello": "world"}


def test_broker_ingress_answers_as_knative(plane: Plane, namespace: str) -> None:
    broker(plane, namespace)
    path = f"/{namespace}/default"
    assert post(plane, BROKER_INGRESS, path, method="GET")[:2][0] == 405
    assert post(plane, BROKER_INGRESS, path, method="GET")[1]["allow"] == "POST, OPTIONS"
    status, headers, _ = post(plane, BROKER_INGRESS, path, method="OPTIONS")
    assert status == 200 and headers["webhook-allowed-origin"] == "*"
    good = event()
    assert send(plane, namespace, "nope", good) == 404
    assert post(plane, BROKER_INGRESS, f"/x/{namespace}/default", good[2], good[1])[0] == 400
    assert post(plane, BROKER_INGRESS, path, b'{"not": "an event"}', {"Content-Type": "application/json"})[0] == 400
    no_source = {k: v for k, v in good[1].items() if k != "ce-source"}
    assert post(plane, BROKER_INGRESS, path, good[2], no_source)[0] == 400
    assert send(plane, namespace, "default", event(knativebrokerttl=1)) == 400
    assert send(plane, namespace, "default", good) == 202


def test_replies_re_enter_the_broker(plane: Plane, namespace: str, recorder: Recorder) -> None:
    broker(plane, namespace)
    trigger(plane, namespace, "transform", recorder.url("reply/order.priced/priced"),
            "  filter:\n    attributes:\n      type: order.created\n")
    trigger(plane, namespace, "priced", recorder.url("ok/sink"),
            "  filter:\n    attributes:\n      type: order.priced\n")
    wait_ready(plane, namespace, "trigger/transform")
    wait_ready(plane, namespace, "trigger/priced")
    assert send(plane, namespace, "default", event("order.created", data="order")) == 202
    (reply,) = recorder.wait_for(lambda: recorder.at("sink"))
    assert reply.body == b"order+priced" and reply.ce("type") == "order.priced"
    assert "ce-knativebrokerttl" not in reply.headers


def test_retries_follow_linear_backoff_then_dead_letter(plane: Plane, namespace: str, recorder: Recorder) -> None:
    broker(plane, namespace)
    delivery = (f"  delivery:\n    retry: 3\n    backoffPolicy: linear\n    backoffDelay: PT0.3S\n"
                f"    deadLetterSink:\n      uri: {recorder.url('ok/dls')}\n")
    trigger(plane, namespace, "failing", recorder.url("status/500/failing"), delivery=delivery)
    wait_ready(plane, namespace, "trigger/failing")
    status_obj = get(plane, namespace, "trigger/failing")["status"]
    assert status_obj["deadLetterSinkUri"] == recorder.url("ok/dls")
    ce = event("order.created", data={"n": 1})
    assert send(plane, namespace, "default", ce) == 202
    (dead,) = recorder.wait_for(lambda: recorder.at("dls"))
    attempts = recorder.at("failing")
    assert len(attempts) == 4  # 1 + retry
    gaps = [b.at - a.at for a, b in itertools.pairwise(attempts)]
    # linear: the first retry goes at once (0-based backoff index), then 0.3 s, then 0.6 s
    assert gaps[0] < 0.25 and 0.25 <= gaps[1] < 0.9 and 0.55 <= gaps[2] < 1.3, gaps
    assert dead.ce("id") == ce[0]
    assert dead.ce("knativeerrorcode") == "500"
    assert dead.ce("knativeerrordest") == recorder.url("status/500/failing")
    assert base64.b64decode(dead.ce("knativeerrordata") or "") == b"no luck"
    assert json.loads(dead.body) == {"n": 1}


def test_retried_statuses_and_exponential_backoff(plane: Plane, namespace: str, recorder: Recorder) -> None:
    broker(plane, namespace)
    trigger(plane, namespace, "flaky", recorder.url("flaky/2/flaky"),
            delivery="  delivery:\n    retry: 5\n    backoffPolicy: exponential\n    backoffDelay: PT0.2S\n")
    trigger(plane, namespace, "refused", recorder.url("status/400/refused"),
            delivery="  delivery:\n    retry: 5\n")
    wait_ready(plane, namespace, "trigger/flaky")
    wait_ready(plane, namespace, "trigger/refused")
    assert send(plane, namespace, "default", event()) == 202
    recorder.wait_for(lambda: len(recorder.at("flaky")) == 3)
    attempts = recorder.at("flaky")
    gaps = [b.at - a.at for a, b in itertools.pairwise(attempts)]
    assert 0.15 <= gaps[0] < 0.6 and 0.35 <= gaps[1] < 1.0, gaps  # 0.2 s, then 0.4 s
    time.sleep(0.5)
    assert len(recorder.at("refused")) == 1  # 400 is not retried


def test_channel_fans_out_to_every_subscription(plane: Plane, namespace: str, recorder: Recorder) -> None:
    apply(plane, namespace, "apiVersion: messaging.knative.dev/v1\nkind: InMemoryChannel\nmetadata:\n  name: orders\n")
    for name, path in (("audit", "ok/audit"), ("billing", "ok/billing"), ("broken", "status/500/broken")):
        dls = f"  delivery:\n    deadLetterSink:\n      uri: {recorder.url('ok/dead')}\n" if name == "broken" else ""
        apply(plane, namespace, f"apiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata:\n  name: {name}\n"
                                f"spec:\n  channel:\n    apiVersion: messaging.knative.dev/v1\n"
                                f"    kind: InMemoryChannel\n    name: orders\n"
                                f"  subscriber:\n    uri: {recorder.url(path)}\n{dls}")
    wait_ready(plane, namespace, "imc/orders")
    for name in ("audit", "billing", "broken"):
        wait_ready(plane, namespace, f"subscription/{name}")
    address = get(plane, namespace, "imc/orders")["status"]["address"]["url"]
    assert address == f"http://orders-kn-channel.{namespace}.svc.cluster.local"
    ce = event()
    status, _, _ = post(plane, f"orders-kn-channel.{namespace}.svc.cluster.local", "/", ce[2], ce[1])
    assert status == 202  # every subscriber succeeded, the broken one through its dead letter sink
    assert recorder.ids("audit") == [ce[0]] and recorder.ids("billing") == [ce[0]]
    assert recorder.ids("dead") == [ce[0]]


def test_sequence_and_parallel(plane: Plane, namespace: str, recorder: Recorder) -> None:
    apply(plane, namespace, f"""apiVersion: flows.knative.dev/v1
kind: Sequence
metadata:
  name: pipeline
spec:
  steps:
    - uri: {recorder.url("reply/step/one")}
    - uri: {recorder.url("reply/step/two")}
  reply:
    uri: {recorder.url("ok/sequence-out")}
---
apiVersion: flows.knative.dev/v1
kind: Parallel
metadata:
  name: fork
spec:
  branches:
    - filter:
        uri: {recorder.url("filter/order.created/f1")}
      subscriber:
        uri: {recorder.url("reply/branch/created")}
    - subscriber:
        uri: {recorder.url("reply/branch/always")}
  reply:
    uri: {recorder.url("ok/parallel-out")}
""")
    wait_ready(plane, namespace, "sequence/pipeline")
    wait_ready(plane, namespace, "parallel/fork")
    seq = get(plane, namespace, "sequence/pipeline")
    assert seq["status"]["address"]["url"] == f"http://pipeline-kn-sequence-0-kn-channel.{namespace}.svc.cluster.local"
    ce = event(data="in")
    host = seq["status"]["address"]["url"].removeprefix("http://")
    assert post(plane, host, "/", ce[2], ce[1])[0] == 202
    (out,) = recorder.wait_for(lambda: recorder.at("sequence-out"))
    assert out.body == b"in+one+two"
    par = get(plane, namespace, "parallel/fork")["status"]["address"]["url"].removeprefix("http://")
    for type_ in ("order.created", "user.signup"):
        ce = event(type_, data=type_)
        assert post(plane, par, "/", ce[2], ce[1])[0] == 202
    recorder.wait_for(lambda: len(recorder.at("parallel-out")) == 3)
    assert sorted(r.body for r in recorder.at("parallel-out")) == sorted(
        [b"order.created+created", b"order.created+always", b"user.signup+always"])


def test_ping_source_fires_every_second_into_event_display(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, """apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: event-display
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "1"
    spec:
      containers:
        - image: gcr.io/knative-releases/knative.dev/eventing/cmd/event_display
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: every-second
spec:
  schedule: "* * * * * *"
  contentType: application/json
  data: '{"message": "Hello world!"}'
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-display
""")
    wait_ready(plane, namespace, "ksvc/event-display")
    wait_ready(plane, namespace, "pingsource/every-second")
    source = get(plane, namespace, "pingsource/every-second")
    assert source["status"]["sinkUri"] == f"http://event-display.{namespace}.svc.cluster.local"

    def logged() -> list[str]:
        out = plane.kubectl("logs", "-n", namespace, "-l", "serving.knative.dev/service=event-display",
                            "-c", "user-container", "--tail=-1", check=False).stdout
        return [line for line in out.splitlines() if "type: dev.knative.sources.ping" in line]

    until(lambda: len(logged()) >= 3, timeout=20)
    out = plane.kubectl("logs", "-n", namespace, "-l", "serving.knative.dev/service=event-display",
                        "-c", "user-container").stdout
    assert f"source: /apis/v1/namespaces/{namespace}/pingsources/every-second" in out
    assert '"message": "Hello world!"' in out


def test_kubectl_shows_eventing_objects(plane: Plane, namespace: str, recorder: Recorder) -> None:
    broker(plane, namespace)
    trigger(plane, namespace, "all", recorder.url("ok/all"))
    wait_ready(plane, namespace, "trigger/all")
    table = plane.kubectl("get", "brokers,triggers", "-n", namespace).stdout
    assert f"http://broker-ingress.knative-eventing.svc.cluster.local/{namespace}/default" in table
    assert "True" in table
    subs = json.loads(plane.kubectl("get", "subscriptions", "-n", namespace, "-o", "json").stdout)["items"]
    uid = get(plane, namespace, "trigger/all")["metadata"]["uid"]
    assert [s["metadata"]["name"] for s in subs] == [f"default-all-{uid}"]
    channel = get(plane, namespace, "imc/default-kne-trigger")
    assert channel["spec"]["subscribers"][0]["subscriberUri"] == (
        f"http://broker-filter.knative-eventing.svc.cluster.local/triggers/{namespace}/all/{uid}")
    assert send(plane, namespace, "default", event()) == 202
    recorder.wait_for(lambda: recorder.at("all"))
    metrics = plane.request("GET", "/metrics").body.decode()
    assert 'broker_name="default"' in metrics and "event_count" in metrics


def test_container_source_heartbeats_reach_the_sink(plane: Plane, namespace: str, recorder: Recorder) -> None:
    apply(plane, namespace, f"""apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata:
  name: heartbeat
spec:
  template:
    spec:
      containers:
        - image: gcr.io/knative-releases/knative.dev/eventing/cmd/heartbeats:latest
          name: heartbeats
          args: ["--period=1"]
          env:
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
  ceOverrides:
    extensions:
      origin: container-source
  sink:
    uri: {recorder.url("ok/beats")}
""")
    wait_ready(plane, namespace, "containersource/heartbeat")
    beats = recorder.wait_for(lambda: len(recorder.at("beats")) >= 2 and recorder.at("beats"), timeout=30)
    first = beats[0]
    assert first.ce("type") == "dev.knative.eventing.samples.heartbeat"
    pod = json.loads(plane.kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)["items"][0]
    assert (first.ce("source") or "").endswith(f"#{namespace}/{pod['metadata']['name']}")
    assert first.ce("origin") == "container-source"  # K_CE_OVERRIDES from the SinkBinding
    assert json.loads(first.body)["id"] == 1
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["K_SINK"] == recorder.url("ok/beats")
