"""The `heartbeats` sample: its flags and environment as the Go program reads them, and beats to a real receiver."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from jupyter_knative.runtime.asgi import Message
from jupyter_knative.runtime.samples import create_sample, sample_for
from jupyter_knative.runtime.samples.heartbeats import (
    ARGS_ENV,
    ConfigError,
    Heartbeats,
    Settings,
    encode,
    go_duration,
    parse_flags,
    settings,
)

from .asgi_client import call

POD = {"POD_NAME": "hb-7d9f", "POD_NAMESPACE": "event-test"}


# --- registration ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("image", [
    "gcr.io/knative-releases/knative.dev/eventing/cmd/heartbeats",
    "gcr.io/knative-releases/knative.dev/eventing/cmd/heartbeats:v1.15.0",
    "gcr.io/knative-releases/knative.dev/eventing/cmd/heartbeats@sha256:" + "a" * 64,
    "gcr.io/knative-releases/knative.dev/eventing-contrib/cmd/heartbeats:latest",
    "ghcr.io/knative/heartbeats:latest",
])
def test_heartbeats_images(image: str) -> None:
    assert sample_for(image) == "heartbeats"
    assert isinstance(create_sample("heartbeats"), Heartbeats)


# --- flags and environment -------------------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "flags"), [
    pytest.param(["--period=1"], {"period": "1"}, id="double-dash-equals"),
    pytest.param(["-period", "1s", "-label", "x"], {"period": "1s", "label": "x"}, id="single-dash-space"),
    pytest.param(["--label=a=b"], {"label": "a=b"}, id="equals-in-value"),
    pytest.param(["--label", "x", "stray", "--period=2"], {"label": "x"}, id="stops-at-a-non-flag"),
    pytest.param(["--", "--label=x"], {}, id="stops-at-double-dash"),
    pytest.param(["-", "--label=x"], {}, id="lone-dash-is-an-argument"),
    pytest.param(["--sink=http://a/", "--sink=http://b/"], {"sink": "http://b/"}, id="last-wins"),
])
def test_parse_flags(argv: list[str], flags: dict[str, str]) -> None:
    assert parse_flags(argv) == flags


@pytest.mark.parametrize(("argv", "message"), [
    (["--nope=1"], "flag provided but not defined: -nope"),
    (["--period"], "flag needs an argument: -period"),
    (["---period=1"], "bad flag syntax: ---period=1"),
    (["-=1"], "bad flag syntax: -=1"),
    (["-h"], "flag: help requested"),
])
def test_parse_flags_errors(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_flags(argv)
    assert str(err.value) == message


@pytest.mark.parametrize(("text", "seconds"), [
    ("1s", 1.0), ("100ms", 0.1), ("1.5h", 5400.0), ("1h2m3s", 3723.0), ("0", 0.0), ("-2s", -2.0), ("+3m", 180.0),
    ("2us", 2e-6), ("2µs", 2e-6), ("500ns", 5e-7), (".5s", 0.5), ("1.s", 1.0),
])
def test_go_duration(text: str, seconds: float) -> None:
    assert go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["1", "s", "", "1x", ".s", "1s2", "--1s"])
def test_go_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="time: invalid duration"):
        go_duration(text)


@pytest.mark.parametrize(("argv", "period"), [
    ([], 5.0), (["--period="], 5.0), (["--period=2"], 2.0), (["--period=250ms"], 0.25), (["--period=1m"], 60.0),
])
def test_period(argv: list[str], period: float) -> None:
    assert settings(POD, argv).period == period


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["--period=abc"], POD, 'Invalid period interval provided: "abc"'),
    (["--period=0"], POD, "panic: non-positive interval for NewTicker"),
    ([], {"POD_NAMESPACE": "ns"}, "[ERROR] Failed to process env var: required key POD_NAME missing value"),
    ([], {"POD_NAME": "p"}, "[ERROR] Failed to process env var: required key POD_NAMESPACE missing value"),
    ([], {**POD, "K_CE_OVERRIDES": "{nope"}, "[ERROR] Unparseable CloudEvents overrides {nope"),
    ([], {**POD, "ONE_SHOT": "maybe"}, 'strconv.ParseBool: parsing "maybe": invalid syntax'),
])
def test_settings_errors(argv: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings(env, argv)
    assert message in str(err.value)


def test_settings_defaults() -> None:
    config = settings(POD, [])
    assert config == Settings(sink="", source="https://knative.dev/eventing-contrib/cmd/heartbeats/#event-test/hb-7d9f",
                              event_type="dev.knative.eventing.samples.heartbeat", label="", period=5.0,
                              source_defaulted=True)


def test_settings_from_flags_and_env() -> None:
    env = {**POD, "K_SINK": "http://from-env/", "ONE_SHOT": "true",
           "K_CE_OVERRIDES": json.dumps({"extensions": {"Team": "blue", "id": "no"}})}
    config = settings(env, ["--sink=http://from-flag/", "--label", '"quoted label"', "--eventType=my.type",
                            "--eventSource=urn:me"])
    assert (config.sink, config.label, config.event_type, config.source, config.one_shot, config.extensions) == (
        "http://from-env/", "quoted label", "my.type", "urn:me", True, {"team": "blue"})
    assert not config.source_defaulted
    assert settings(POD, ["--sink=http://from-flag/"]).sink == "http://from-flag/"


# --- one beat --------------------------------------------------------------------------------------------

def test_encode_a_beat() -> None:
    config = Settings(sink="http://s/", source="urn:src", event_type="t", label="héllo", period=1.0,
                      extensions={"team": "blue", "heart": "no"})
    headers, body = encode(config, 7, "the-id", 1_800_000_000.5)
    assert dict(headers) == {"ce-specversion": "1.0", "ce-id": "the-id", "ce-source": "urn:src", "ce-type": "t",
                             "ce-time": "2027-01-15T08:00:00.5Z", "Content-Type": "application/json",
                             "ce-the": "42", "ce-heart": "no", "ce-beats": "true", "ce-team": "blue"}
    assert json.loads(body) == {"id": 7, "label": "héllo"}
    assert body == '{"id":7,"label":"héllo"}'.encode()


# --- the application, against a receiver ------------------------------------------------------------------

@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    status: int = 202
    requests: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")[1:]
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append(Received(headers, body))
        self.arrived.set()
        writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async def enough() -> None:
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(enough(), timeout)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    server = await asyncio.start_server(r.handle, "127.0.0.1", 0)
    r.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    yield r
    server.close()


class Lifespan:
    def __init__(self, app: Any) -> None:
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                              self.inbox.get, self.outbox.put))

    async def startup(self) -> Message:
        await self.inbox.put({"type": "lifespan.startup"})
        return await self.outbox.get()

    async def shutdown(self) -> Message:
        await self.inbox.put({"type": "lifespan.shutdown"})
        reply = await self.outbox.get()
        await self.task
        return reply


async def test_beats_every_period_to_the_sink(receiver: Receiver, capsys: pytest.CaptureFixture[str]) -> None:
    app = Heartbeats({**POD, "K_SINK": receiver.url}, ["--period=50ms", "--label=hi"])
    life = Lifespan(app)
    assert await life.startup() == {"type": "lifespan.startup.complete"}
    await receiver.wait_for(3)
    assert await life.shutdown() == {"type": "lifespan.shutdown.complete"}
    first = receiver.requests[0]
    assert {k: v for k, v in first.headers.items() if k.startswith("ce-") and k not in ("ce-id", "ce-time")} == {
        "ce-specversion": "1.0", "ce-type": "dev.knative.eventing.samples.heartbeat",
        "ce-source": "https://knative.dev/eventing-contrib/cmd/heartbeats/#event-test/hb-7d9f",
        "ce-the": "42", "ce-heart": "yes", "ce-beats": "true"}
    assert first.headers["content-type"] == "application/json"
    assert [json.loads(r.body) for r in receiver.requests[:3]] == [
        {"id": 1, "label": "hi"}, {"id": 2, "label": "hi"}, {"id": 3, "label": "hi"}]
    assert len({r.headers["ce-id"] for r in receiver.requests}) == len(receiver.requests)
    count = len(receiver.requests)
    await asyncio.sleep(0.15)
    assert len(receiver.requests) == count  # no beats after shutdown
    err = capsys.readouterr().err
    assert "Heartbeats Source: https://knative.dev/eventing-contrib/cmd/heartbeats/#event-test/hb-7d9f" in err
    assert f"sending cloudevent to {receiver.url}" in err


async def test_failed_sends_are_logged_and_the_beats_go_on(receiver: Receiver,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    receiver.status = 500
    app = Heartbeats({**POD, "K_SINK": receiver.url}, ["--period=30ms"])
    life = Lifespan(app)
    await life.startup()
    await receiver.wait_for(2)
    await life.shutdown()
    assert "failed to send cloudevent: 500" in capsys.readouterr().err


async def test_one_shot_sends_a_single_beat(receiver: Receiver) -> None:
    app = Heartbeats({**POD, "K_SINK": receiver.url, "ONE_SHOT": "true"}, ["--period=20ms"])
    life = Lifespan(app)
    await life.startup()
    await receiver.wait_for(1)
    await asyncio.sleep(0.1)
    await life.shutdown()
    assert len(receiver.requests) == 1


async def test_args_come_from_the_environment(receiver: Receiver) -> None:
    env = {**POD, "K_SINK": receiver.url, ARGS_ENV: json.dumps(["--period=20ms", "--label=from-env"])}
    life = Lifespan(Heartbeats(env))
    await life.startup()
    await receiver.wait_for(1)
    await life.shutdown()
    assert json.loads(receiver.requests[0].body) == {"id": 1, "label": "from-env"}


@pytest.mark.parametrize(("env", "message"), [
    ({"POD_NAMESPACE": "ns"}, "required key POD_NAME missing value"),
    ({**POD, ARGS_ENV: "--period=1"}, f"{ARGS_ENV} = '--period=1', must be a JSON list of strings"),
    ({**POD, ARGS_ENV: '["--bogus"]'}, "flag provided but not defined: -bogus"),
])
async def test_bad_configuration_fails_startup(env: dict[str, str], message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    life = Lifespan(Heartbeats(env))
    reply = await life.startup()
    await life.task
    assert reply["type"] == "lifespan.startup.failed"
    assert message in reply["message"]
    assert message in capsys.readouterr().err


async def test_http_requests_get_404() -> None:
    reply = await call(Heartbeats(POD, []), path="/")
    assert reply.status == 404
