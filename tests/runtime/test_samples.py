"""The built-in sample images answer (and log) as the originals do."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from jupyter_knative.runtime.asgi import Message
from jupyter_knative.runtime.samples import SAMPLES, create_sample, sample_for
from jupyter_knative.runtime.samples.autoscale import largest_prime_below
from jupyter_knative.runtime.samples.gofmt import json_indent, json_marshal, rfc3339nano

from .asgi_client import call

HEARTBEAT_HEADERS = {
    "ce-specversion": "1.0", "ce-type": "dev.knative.samples.heartbeat",
    "ce-source": "https://knative.dev/eventing-contrib/cmd/heartbeats/#event-test/mypod",
    "ce-id": "2b72d7bf-c38f-4a98-a433-608fbcdd2596", "ce-time": "2019-10-18T15:23:20.809775386Z",
    "ce-the": "42", "ce-heart": "yes", "ce-beats": "true", "content-type": "application/json",
}

HEARTBEAT_DISPLAY = """\
☁️  cloudevents.Event
Validation: valid
Context Attributes,
  specversion: 1.0
  type: dev.knative.samples.heartbeat
  source: https://knative.dev/eventing-contrib/cmd/heartbeats/#event-test/mypod
  id: 2b72d7bf-c38f-4a98-a433-608fbcdd2596
  time: 2019-10-18T15:23:20.809775386Z
  datacontenttype: application/json
Extensions,
  beats: true
  heart: yes
  the: 42
Data,
  {
    "id": 2,
    "label": "",
    "nested": {
      "empty": {},
      "list": [
        1,
        2
      ]
    }
  }
"""


async def lifespan(app: object) -> None:
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        pass

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)  # type: ignore[operator]


# image names


@pytest.mark.parametrize(("image", "sample"), [
    ("ghcr.io/knative/helloworld-go", "helloworld-go"),
    ("ghcr.io/knative/helloworld-go:latest", "helloworld-go"),
    ("gcr.io/knative-samples/helloworld-go", "helloworld-go"),
    ("gcr.io/knative-samples/helloworld-go@sha256:" + "a" * 64, "helloworld-go"),
    ("GHCR.IO/Knative/HelloWorld-Go:V1", "helloworld-go"),
    ("ghcr.io/knative/autoscale-go:latest", "autoscale-go"),
    ("gcr.io/knative-samples/autoscale-go:0.1@sha256:" + "b" * 64, "autoscale-go"),
    ("gcr.io/knative-releases/knative.dev/eventing/cmd/event_display", "event-display"),
    ("gcr.io/knative-releases/knative.dev/eventing/cmd/event_display@sha256:" + "c" * 64, "event-display"),
    ("ghcr.io/knative/event-display:latest", "event-display"),
    ("ghcr.io/knative/cloudevents-player:latest", "cloudevents-player"),
    ("docker.io/ruromero/cloudevents-player:latest", "cloudevents-player"),
    ("index.docker.io/ruromero/cloudevents-player", "cloudevents-player"),
    ("ghcr.io/knative/sockeye:v0.7.0", "sockeye"),
    ("docker.io/n3wscott/sockeye:v0.7.0", "sockeye"),
    ("ghcr.io/knative/helloworld-java", None),
    ("docker.io/library/nginx:1.25", None),
    ("localhost:5000/helloworld-go", None),
])
def test_sample_for(image: str, sample: str | None) -> None:
    assert sample_for(image) == sample


def test_every_sample_is_an_application() -> None:
    for name in SAMPLES:
        assert callable(create_sample(name))


# helloworld-go


async def test_helloworld(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    app = create_sample("helloworld-go")
    monkeypatch.delenv("TARGET", raising=False)
    monkeypatch.setenv("PORT", "8080")
    await lifespan(app)
    reply = await call(app, path="/anything")
    assert (reply.status, reply.text, reply.header("content-type")) == (200, "Hello World!\n",
                                                                         "text/plain; charset=utf-8")
    monkeypatch.setenv("TARGET", "Knative")
    assert (await call(app, "POST")).text == "Hello Knative!\n"
    log = capsys.readouterr().err.splitlines()
    stamp = r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} "
    assert [re.sub(stamp, "", line) for line in log] == [
        "helloworld: starting server...", "helloworld: listening on port 8080",
        "helloworld: received a request", "helloworld: received a request"]
    assert all(re.match(stamp, line) for line in log)


# autoscale-go


@pytest.mark.parametrize(("query", "status", "lines"), [
    ("", 200, []),
    ("prime=10000", 200, ["The largest prime less than 10000 is 9973."]),
    ("bloat=5", 200, ["Allocated 5 Mb of memory."]),
    ("sleep=abc", 400, ['strconv.Atoi: parsing "abc": invalid syntax']),
    ("prime=1.5", 400, ['strconv.Atoi: parsing "1.5": invalid syntax']),
    ("sleep=0&prime=0", 200, []),
])
async def test_autoscale(query: str, status: int, lines: list[str]) -> None:
    reply = await call(create_sample("autoscale-go"), query=query)
    assert reply.status == status and reply.text.splitlines() == lines
    if not lines:
        assert reply.header("content-type") is None


async def test_autoscale_runs_the_three_together() -> None:
    reply = await call(create_sample("autoscale-go"), query="sleep=100&prime=10000&bloat=5")
    lines = reply.text.splitlines()
    assert sorted(line.split()[0] for line in lines) == ["Allocated", "Slept", "The"]
    assert lines[-1].startswith("Slept for 10") and lines[-1].endswith(" milliseconds.")


async def test_autoscale_sleeps_concurrently() -> None:
    app = create_sample("autoscale-go")
    started = asyncio.get_running_loop().time()
    await asyncio.gather(*(call(app, query="sleep=200") for _ in range(10)))
    assert asyncio.get_running_loop().time() - started < 1.5


@pytest.mark.parametrize(("n", "prime"), [(4, 2), (10, 7), (13, 11), (100, 97), (1000, 997), (3, 0), (-5, 0)])
def test_largest_prime_matches_the_go_sieve(n: int, prime: int) -> None:
    assert largest_prime_below(n) == prime


# event_display


async def test_event_display_binary(capsys: pytest.CaptureFixture[str]) -> None:
    body = '{"id": 2, "label": "", "nested": {"empty": {}, "list": [1, 2]}}'
    reply = await call(create_sample("event-display"), "POST", body=body, headers=HEARTBEAT_HEADERS)
    assert (reply.status, reply.body) == (200, b"")
    assert capsys.readouterr().out == HEARTBEAT_DISPLAY


async def test_event_display_structured(capsys: pytest.CaptureFixture[str]) -> None:
    event = ('{"specversion":"1.0","type":"dev.knative.sources.ping","source":"/apis/v1/namespaces/default/'
             'pingsources/test-ping-source","id":"d8e761eb","time":"2024-05-01T10:00:00.120+02:00",'
             '"datacontenttype":"application/json","subject":"ping","comexampleothervalue":5,"flag":true,'
             '"data":{"message":"Hello world!","ratio":1.50}}')
    reply = await call(create_sample("event-display"), "POST", body=event,
                       headers={"Content-Type": "application/cloudevents+json; charset=utf-8"})
    assert reply.status == 200
    assert capsys.readouterr().out == """\
☁️  cloudevents.Event
Validation: valid
Context Attributes,
  specversion: 1.0
  type: dev.knative.sources.ping
  source: /apis/v1/namespaces/default/pingsources/test-ping-source
  subject: ping
  id: d8e761eb
  time: 2024-05-01T08:00:00.12Z
  datacontenttype: application/json
Extensions,
  comexampleothervalue: 5
  flag: true
Data,
  {
    "message": "Hello world!",
    "ratio": 1.50
  }
"""


async def test_event_display_structured_data_before_its_type_is_remarshalled(
        capsys: pytest.CaptureFixture[str]) -> None:
    event = '{"specversion":"1.0","type":"t","source":"s","id":"1","data":{"b":"<x>","a":1.0}}'
    await call(create_sample("event-display"), "POST", body=event,
               headers={"Content-Type": "application/cloudevents+json"})
    assert capsys.readouterr().out.endswith('Data,\n  {"a":1,"b":"\\u003cx\\u003e"}\n')


async def test_event_display_text_data_and_no_data(capsys: pytest.CaptureFixture[str]) -> None:
    headers = {**HEARTBEAT_HEADERS, "content-type": "text/plain"}
    await call(create_sample("event-display"), "POST", body="just text", headers=headers)
    assert capsys.readouterr().out.endswith("  datacontenttype: text/plain\nExtensions,\n  beats: true\n  heart: yes\n"
                                            "  the: 42\nData,\n  just text\n")
    headers = {k: v for k, v in HEARTBEAT_HEADERS.items() if k not in ("content-type", "ce-the", "ce-heart",
                                                                        "ce-beats")}
    await call(create_sample("event-display"), "POST", body="", headers=headers)
    assert capsys.readouterr().out.endswith("  time: 2019-10-18T15:23:20.809775386Z\n")


@pytest.mark.parametrize(("method", "path", "headers", "status"), [
    ("GET", "/healthz", {}, 204),
    ("GET", "/", {}, 405),
    ("POST", "/", {"content-type": "application/json"}, 415),
    ("POST", "/", {"ce-specversion": "1.0", "ce-source": "/s", "ce-type": "t"}, 400),
    ("POST", "/", {"ce-specversion": "2.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t"}, 400),
])
async def test_event_display_answers(method: str, path: str, headers: dict[str, str], status: int,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    reply = await call(create_sample("event-display"), method, path, body="{}", headers=headers)
    assert reply.status == status
    assert capsys.readouterr().out == ""


# cloudevents-player and sockeye


async def test_cloudevents_player_receives_and_lists() -> None:
    app = create_sample("cloudevents-player")
    for i in range(3):
        reply = await call(app, "POST", body=f'{{"msg": {i}}}',
                           headers={**HEARTBEAT_HEADERS, "ce-id": f"id-{i}", "ce-subject": "s"})
        assert reply.status == 202
    listed = (await call(app, path="/messages")).json()
    assert [m["id"] for m in listed] == ["id-2", "id-1", "id-0"]
    first = listed[0]
    assert first["type"] == "RECEIVED" and first["eventType"] == "dev.knative.samples.heartbeat"
    assert first["data"] == {"msg": 2} and first["extensions"] == {"beats": "true", "heart": "yes", "the": "42"}
    assert [m["id"] for m in (await call(app, path="/messages", query="page=0&size=2")).json()] == ["id-2", "id-1"]
    assert (await call(app, path="/")).header("content-type") == "text/html; charset=utf-8"
    assert (await call(app, "POST", body="{}", headers={"content-type": "application/json"})).status == 415
    assert (await call(app, "DELETE", "/messages")).status == 202
    assert (await call(app, path="/messages")).json() == []


async def test_cloudevents_player_sends_to_its_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[bytes] = []

    async def broker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(broker, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("K_SINK", f"http://127.0.0.1:{port}/default/example-broker")
    app = create_sample("cloudevents-player")
    reply = await call(app, "POST", "/messages", body='{"msg": "out"}', headers=HEARTBEAT_HEADERS)
    assert reply.status == 202
    assert received and b"POST /default/example-broker HTTP/1.1" in received[0]
    assert b"Ce-type: dev.knative.samples.heartbeat" in received[0]
    assert (await call(app, path="/messages")).json()[0]["type"] == "SENT"
    server.close()


async def test_sockeye(capsys: pytest.CaptureFixture[str]) -> None:
    app = create_sample("sockeye")
    reply = await call(app, "POST", body='{"id": 2, "label": "", "nested": {"empty": {}, "list": [1, 2]}}',
                       headers=HEARTBEAT_HEADERS)
    assert reply.status == 200
    assert capsys.readouterr().out == "got " + HEARTBEAT_DISPLAY.split("\n", 1)[1] + "\n"
    events = (await call(app, path="/events")).json()
    assert events[0]["id"] == "2b72d7bf-c38f-4a98-a433-608fbcdd2596" and events[0]["data"]["id"] == 2
    assert "<html>" in (await call(app, path="/")).text


# Go formatting


@pytest.mark.parametrize(("src", "out"), [
    ('{"a":1,"b":[true,null],"c":{}}', '{\n    "a": 1,\n    "b": [\n      true,\n      null\n    ],\n    "c": {}\n  }'),
    ('  [ ]', "[]"),
    ('"x, y: {z}"', '"x, y: {z}"'),
    ('{"s": "a\\"b,c"}  ', '{\n    "s": "a\\"b,c"\n  }  '),
    ("1.50", "1.50"),
])
def test_json_indent_is_go(src: str, out: str) -> None:
    assert json_indent(src.encode()) == out.encode()


def test_json_indent_rejects_what_go_rejects() -> None:
    assert json_indent(b"{nope") is None
    assert json_indent(b"NaN") is None


@pytest.mark.parametrize(("value", "out"), [
    ({"b": 1, "a": [1.5, 2.0, None, True]}, '{"a":[1.5,2,null,true],"b":1}'),
    (1e21, "1e+21"), (1e20, "100000000000000000000"), (1.5e-7, "1.5e-7"), (0.000001, "0.000001"),
    ("<&>\u2028", '"\\u003c\\u0026\\u003e\\u2028"'), ("tab\t", '"tab\\t"'),
])
def test_json_marshal_is_go(value: object, out: str) -> None:
    assert json_marshal(value) == out.encode()


@pytest.mark.parametrize(("value", "out"), [
    ("2019-10-18T15:23:20.809775386Z", "2019-10-18T15:23:20.809775386Z"),
    ("2019-10-18T15:23:20Z", "2019-10-18T15:23:20Z"),
    ("2019-10-18T15:23:20.500+01:30", "2019-10-18T13:53:20.5Z"),
    ("2019-10-18T00:00:00.000000-05:00", "2019-10-18T05:00:00Z"),
])
def test_rfc3339nano(value: str, out: str) -> None:
    assert rfc3339nano(value) == out


def test_rfc3339nano_rejects() -> None:
    with pytest.raises(ValueError):
        rfc3339nano("yesterday")


def test_to_json_of_received_events_round_trips() -> None:
    from jupyter_knative.runtime.samples.goevent import from_http

    scope = {"headers": [(k.encode(), v.encode()) for k, v in HEARTBEAT_HEADERS.items()]}
    event = from_http(scope, b'{"id": 2}')
    assert json.loads(json.dumps(event.to_json()))["data"] == {"id": 2}
