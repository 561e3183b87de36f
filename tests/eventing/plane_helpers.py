"""Test helpers for the eventing data plane: object builders shaped as the controllers write them, a
recording subscriber on a real socket, and a small HTTP client for posting events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from jupyter_knative.eventing.plane import EventingPlane
from jupyter_knative.runtime.asgi import Receive, Scope, Send, read_body
from jupyter_knative.runtime.http import Server, ServerConfig

INGRESS = "broker-ingress.knative-eventing.svc.cluster.local"
FILTER = "broker-filter.knative-eventing.svc.cluster.local"

# --- objects ---------------------------------------------------------------------------------------------


def broker_obj(ns: str, name: str, *, ready: bool = True, delivery: dict[str, Any] | None = None,
               dls: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"address": {"url": f"http://{INGRESS}/{ns}/{name}"}}
    if ready:
        channel = f"{name}-kne-trigger"
        status["annotations"] = {
            "knative.dev/channelAddress": f"http://{channel}-kn-channel.{ns}.svc.cluster.local",
            "knative.dev/channelAPIVersion": "messaging.knative.dev/v1",
            "knative.dev/channelKind": "InMemoryChannel",
            "knative.dev/channelName": channel,
            "knative.dev/channelNamespace": ns,
        }
    if dls:
        status["deadLetterSinkUri"] = dls
    spec: dict[str, Any] = {"config": {"apiVersion": "v1", "kind": "ConfigMap", "name": "config-br-default-channel",
                                       "namespace": "knative-eventing"}}
    if delivery is not None:
        spec["delivery"] = delivery
    return {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
            "metadata": {"namespace": ns, "name": name, "uid": str(uuid.uuid4()),
                         "annotations": {"eventing.knative.dev/broker.class": "MTChannelBasedBroker"}},
            "spec": spec, "status": status}


def trigger_obj(ns: str, name: str, broker: str, uid: str, subscriber: str | None, *,
                filter: dict[str, str] | None = None, filters: list[dict[str, Any]] | None = None,
                delivery: dict[str, Any] | None = None, dls: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"broker": broker, "filter": {"attributes": filter} if filter is not None else {},
                            "subscriber": {"uri": subscriber or "http://nowhere.example"}}
    if filters is not None:
        spec["filters"] = filters
    if delivery is not None:
        spec["delivery"] = delivery
    status: dict[str, Any] = {}
    if subscriber is not None:
        status["subscriberUri"] = subscriber
    if dls:
        status["deadLetterSinkUri"] = dls
    return {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger",
            "metadata": {"namespace": ns, "name": name, "uid": uid}, "spec": spec, "status": status}


def subscriber_entry(uid: str, uri: str, *, reply: str | None = None, delivery: dict[str, Any] | None = None,
                     dls: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"uid": uid, "generation": 1, "subscriberUri": uri}
    if reply:
        entry["replyUri"] = reply
    if delivery is not None or dls is not None:
        entry["delivery"] = dict(delivery or {})
        if dls:
            entry["delivery"]["deadLetterSink"] = {"uri": dls}
    return entry


def channel_obj(ns: str, name: str, subscribers: list[dict[str, Any]], *, async_handler: bool = False,
                delivery: dict[str, Any] | None = None, dls: str | None = None) -> dict[str, Any]:
    annotations = {"messaging.knative.dev/subscribable": "v1"}
    if async_handler:
        annotations["messaging.knative.dev/async-handler"] = "true"
    spec: dict[str, Any] = {"subscribers": subscribers}
    if delivery is not None:
        spec["delivery"] = delivery
    status: dict[str, Any] = {"address": {"url": f"http://{name}-kn-channel.{ns}.svc.cluster.local"}}
    if dls:
        status["deadLetterSinkUri"] = dls
    return {"apiVersion": "messaging.knative.dev/v1", "kind": "InMemoryChannel",
            "metadata": {"namespace": ns, "name": name, "annotations": annotations}, "spec": spec, "status": status}


@dataclass
class BrokerWiring:
    """A broker, its channel and triggers, kept in step as the controllers would."""

    plane: EventingPlane
    ns: str = "ns1"
    name: str = "default"
    delivery: dict[str, Any] | None = None
    dls: str | None = None
    subscribers: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.plane.set_broker(self.ns, self.name, broker_obj(self.ns, self.name, delivery=self.delivery, dls=self.dls))
        self._sync()

    @property
    def channel(self) -> str:
        return f"{self.name}-kne-trigger"

    def add_trigger(self, name: str, subscriber: str | None, *, filter: dict[str, str] | None = None,
                    filters: list[dict[str, Any]] | None = None, delivery: dict[str, Any] | None = None,
                    dls: str | None = None, uid: str | None = None) -> str:
        uid = uid or str(uuid.uuid4())
        self.plane.set_trigger(self.ns, name, trigger_obj(self.ns, name, self.name, uid, subscriber, filter=filter,
                                                          filters=filters, delivery=delivery, dls=dls or self.dls))
        sub_delivery = delivery if delivery is not None else self.delivery
        self.subscribers.append(subscriber_entry(
            f"sub-{uid}", f"http://{FILTER}/triggers/{self.ns}/{name}/{uid}",
            reply=f"http://{INGRESS}/{self.ns}/{self.name}", delivery=sub_delivery, dls=dls or self.dls))
        self._sync()
        return uid

    def _sync(self) -> None:
        self.plane.set_channel(self.ns, self.channel, channel_obj(self.ns, self.channel, self.subscribers))


# --- a recording subscriber --------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def ce(self, name: str) -> str | None:
        return self.headers.get(f"ce-{name}")


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
Behaviour = Callable[[Request], Answer | Awaitable[Answer]]


class Subscriber:
    """An HTTP server that records requests and answers as `behaviour` says (default 200, empty)."""

    def __init__(self, behaviour: Behaviour | None = None, port: int = 0) -> None:
        self.behaviour = behaviour
        self.requests: list[Request] = []
        self.server: Server | None = None
        self.port = port
        self._arrived = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def __aenter__(self) -> Subscriber:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self.server = Server(self._app, sock, ServerConfig(lifespan="off"))
        await self.server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        await self.server.shutdown(0.5)

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        request = Request(scope["method"], scope["path"],
                          {k.decode().lower(): v.decode() for k, v in scope["headers"]}, body, time.monotonic())
        self.requests.append(request)
        self._arrived.set()
        answer: Answer = (200, [], b"")
        if self.behaviour is not None:
            result = self.behaviour(request)
            answer = await result if isinstance(result, Awaitable) else result
        status, headers, data = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Request]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"expected {count} requests, got {len(self.requests)}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        return self.requests


def fail_times(n: int, status: int = 503, headers: list[tuple[bytes, bytes]] | None = None,
               body: bytes = b"") -> Behaviour:
    """Answer `status` to the first `n` requests, then 200."""
    def behave(request: Request) -> Answer:
        behave.calls += 1  # type: ignore[attr-defined]
        if behave.calls <= n:  # type: ignore[attr-defined]
            return status, list(headers or []), body
        return 200, [], b""
    behave.calls = 0  # type: ignore[attr-defined]
    return behave


# --- posting -----------------------------------------------------------------------------------------------


def ce_headers(event_id: str = "1", type: str = "dev.test.event", source: str = "/test",
               **extensions: str) -> dict[str, str]:
    headers = {"ce-specversion": "1.0", "ce-id": event_id, "ce-type": type, "ce-source": source,
               "content-type": "application/json"}
    for name, value in extensions.items():
        headers[f"ce-{name}"] = value
    return headers


@dataclass
class Posted:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def post(port: int, path: str, *, host: str = INGRESS, headers: dict[str, str] | None = None,
               body: bytes = b'{"hello":"world"}', method: str = "POST") -> Posted:
    async with aiohttp.ClientSession() as session, session.request(
            method, f"http://127.0.0.1:{port}{path}", headers={"Host": host, **(headers or {})}, data=body,
            skip_auto_headers=["Content-Type"]) as resp:
        return Posted(resp.status, {k.lower(): v for k, v in resp.headers.items()}, await resp.read())


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
