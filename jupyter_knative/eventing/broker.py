"""The MTChannelBasedBroker's two endpoints: ingress (`/<ns>/<broker>`) and the trigger filter
(`/triggers/<ns>/<trigger>/<uid>`), with Knative's status codes (eventing.md §3).

Ingress validates the event, applies the TTL defaulter, stamps `knativearrivaltime` and enqueues the
event into the broker's channel; it answers 202 once the event and its delivery rows are committed
(a deviation from IMC-backed brokers, which wait for the fan-out: here the broker is persistent).

The filter is what the broker channel's subscribers point at. The channel dispatcher calls it in
process (`dispatch`); it is also served over HTTP (`handle`). It hides the TTL from the subscriber,
puts it back on a reply, answers 200 with no body when the filter does not match, and reports a
subscriber's failure as that status plus the JSON body `{"errdestination", "errresponsebody"}` the
channel dispatcher turns into dead-letter extensions.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from .cloudevent import CloudEvent, InvalidCloudEvent, NotACloudEvent, from_http, response_event, to_binary
from .delivery import pass_through_headers
from .dispatch import Dispatcher, Outcome, TextHeaders
from .filters import FilterResult
from .metrics import Metrics
from .model import BrokerInfo, ChannelInfo, TriggerInfo
from .queue import Journal
from .sender import Sender

__all__ = ["TTL_EXTENSION", "BrokerIngress", "Reply", "TriggerFilter", "default_ttl", "text_headers"]

TTL_EXTENSION = "knativebrokerttl"
ARRIVAL_EXTENSION = "knativearrivaltime"
MAX_TTL = 255
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1

RawHeaders = Sequence[tuple[bytes, bytes]]
Reply = tuple[int, list[tuple[bytes, bytes]], bytes]
WEBHOOK_HEADERS = [(b"webhook-allowed-origin", b"*"), (b"webhook-allowed-rate", b"*")]


def text_headers(headers: RawHeaders) -> list[tuple[str, str]]:
    return [(bytes(k).decode("latin-1"), bytes(v).decode("latin-1")) for k, v in headers]


def default_ttl(value: object) -> int:
    """Knative's TTL defaulter: absent or not an int32 → MAX_TTL; otherwise one less, floored at 0."""
    ttl: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        ttl = value
    elif isinstance(value, str):
        text = value.strip()
        if text[1:].isdigit() if text[:1] in "+-" else text.isdigit():
            ttl = int(text)
    if ttl is None or not _INT32_MIN <= ttl <= _INT32_MAX:
        return MAX_TTL
    return max(ttl - 1, 0)


def rfc3339_nano(seconds: float) -> str:
    """Go's RFC3339Nano in UTC (trailing zeros of the fraction dropped)."""
    stamp = datetime.fromtimestamp(seconds, UTC)
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    if stamp.microsecond:
        text += "." + f"{stamp.microsecond:06d}".rstrip("0")
    return text + "Z"


class BrokerIngress:
    """`POST /<namespace>/<broker>`."""

    def __init__(self, brokers: dict[tuple[str, str], BrokerInfo], channels: dict[tuple[str, str], ChannelInfo],
                 dispatcher: Dispatcher, journal: Journal, metrics: Metrics, *, wall: Callable[[], float],
                 clock: Callable[[], float]) -> None:
        self.brokers = brokers
        self.channels = channels
        self.dispatcher = dispatcher
        self.journal = journal
        self.metrics = metrics
        self.wall = wall
        self.clock = clock

    async def handle(self, method: str, path: str, headers: RawHeaders, body: bytes) -> Reply:
        if method == "OPTIONS":
            return 200, list(WEBHOOK_HEADERS), b""
        if method != "POST":
            return 405, [(b"allow", b"POST, OPTIONS")], b""
        if path == "/":
            return 404, [], b""
        parts = path.removesuffix("/").split("/")
        if len(parts) != 3:
            return 400, [], b""
        try:
            event = from_http(headers, body)
        except (NotACloudEvent, InvalidCloudEvent):
            return 400, [], b""
        start = self.clock()
        status = self.accept(parts[1], parts[2], event, pass_through_headers(text_headers(headers)))
        if status == 202:
            try:
                await self.journal.committed()
            except ConnectionError:
                status = 500
        self.metrics.event((parts[1], parts[2], "", event.type, status), (self.clock() - start) * 1000)
        return status, [], b""

    def accept(self, namespace: str, name: str, event: CloudEvent, headers: TextHeaders) -> int:
        """Everything after parsing: broker, TTL, channel, enqueue. Returns the status (202: queued in the open
        transaction). `event` is not modified."""
        broker = self.brokers.get((namespace, name))
        if broker is None:
            return 404
        event = event.copy()
        ttl = default_ttl(event.attributes.get(TTL_EXTENSION))
        event.attributes[TTL_EXTENSION] = ttl
        event.attributes[ARRIVAL_EXTENSION] = rfc3339_nano(self.wall())
        if ttl <= 0:
            return 400
        if broker.channel is None:
            return 500
        channel = self.channels.get(broker.channel)
        if channel is None:
            return 500
        try:
            self.dispatcher.enqueue(channel, event, headers)
        except ConnectionError:
            return 500
        return 202

    def accept_path(self, path: str, event: CloudEvent, headers: TextHeaders) -> int:
        """In process, for a URL on the ingress host (replies, dead letters, sources)."""
        parts = path.split("?", 1)[0].removesuffix("/").split("/")
        if path == "/":
            return 404
        if len(parts) != 3:
            return 400
        status = self.accept(parts[1], parts[2], event, pass_through_headers(headers))
        self.metrics.event((parts[1], parts[2], "", str(event.attributes.get("type", "")), status))
        return status


class TriggerFilter:
    """`POST /triggers/<namespace>/<trigger>/<uid>[/reply|/dls]`."""

    def __init__(self, triggers: dict[tuple[str, str], TriggerInfo], brokers: dict[tuple[str, str], BrokerInfo],
                 ingress: BrokerIngress, sender: Sender, metrics: Metrics, *, clock: Callable[[], float]) -> None:
        self.triggers = triggers
        self.brokers = brokers
        self.ingress = ingress
        self.sender = sender
        self.metrics = metrics
        self.clock = clock

    async def handle(self, method: str, path: str, headers: RawHeaders, body: bytes) -> Reply:
        if method != "POST":
            return 405, [(b"allow", b"POST")], b""
        trigger, status = self._trigger(path)
        if trigger is None:
            return status, [], b""
        try:
            event = from_http(headers, body)
        except (NotACloudEvent, InvalidCloudEvent):
            return 400, [], b""
        out = await self._dispatch(trigger, path, event, text_headers(headers), None)
        if out.reply is not None:
            raw, data = to_binary(out.reply)
            return out.status or 500, raw, data
        return out.status or 500, out.headers, out.body

    async def dispatch(self, path: str, event: CloudEvent, headers: TextHeaders, timeout: float | None) -> Outcome:
        """In process, from the channel dispatcher."""
        trigger, status = self._trigger(path)
        if trigger is None:
            return Outcome(status, parsed=True)
        return await self._dispatch(trigger, path, event, headers, timeout)

    def _trigger(self, path: str) -> tuple[TriggerInfo | None, int]:
        parts = path.split("?", 1)[0].split("/")
        if len(parts) not in (5, 6) or parts[1] != "triggers":
            return None, 400
        trigger = self.triggers.get((parts[2], parts[3]))
        if trigger is None:
            return None, 404
        if trigger.uid != parts[4]:
            return None, 400
        return trigger, 0

    async def _dispatch(self, trigger: TriggerInfo, path: str, event: CloudEvent, headers: TextHeaders,
                        timeout: float | None) -> Outcome:
        passed = pass_through_headers(headers)
        suffix = path.split("?", 1)[0].split("/")[5:]
        if suffix == ["reply"]:
            return Outcome(self.ingress.accept(trigger.namespace, trigger.broker, event, passed), parsed=True)
        if suffix == ["dls"]:
            return await self._dead_letter(trigger, event, passed)
        ttl = event.attributes.get(TTL_EXTENSION)
        if ttl is None:
            return Outcome(400, parsed=True)
        uri = trigger.subscriber_uri
        if uri is None:
            return Outcome(404, parsed=True)
        if trigger.filter.evaluate(event) is FilterResult.FAIL:
            return Outcome(200, parsed=True, filtered=True)
        event = event.copy()
        del event.attributes[TTL_EXTENSION]
        start = self.clock()
        sent = [*passed, ("prefer", "reply"), ("kn-namespace", trigger.namespace)]
        out = await self.sender.send(uri, event, sent, timeout if timeout is not None else trigger.timeout,
                                     trigger.structured)
        result = self._answer(uri, ttl, out)
        self.metrics.event((trigger.namespace, trigger.broker, trigger.name, event.type, result.status or 500),
                           (self.clock() - start) * 1000)
        return result

    @staticmethod
    def _answer(uri: str, ttl: object, out: Outcome) -> Outcome:
        status = out.status
        if status is None:
            return Outcome(500, error=out.error, parsed=True)
        if 200 <= status < 300:
            if out.parsed:  # an in-process subscriber (broker ingress, channel): never a reply
                return Outcome(status, parsed=True)
            try:
                reply = response_event(status, out.headers, out.body)
            except (NotACloudEvent, InvalidCloudEvent):
                return Outcome(502, parsed=True)
            if reply is not None:
                reply.attributes[TTL_EXTENSION] = ttl
            return Outcome(status, reply=reply, parsed=True)
        body = json.dumps({"errdestination": uri, "errresponsebody": base64.b64encode(out.body).decode()}).encode()
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in
                   pass_through_headers(text_headers(out.headers))]
        headers.append((b"content-type", b"application/json"))
        return Outcome(status, headers, body, parsed=True)

    async def _dead_letter(self, trigger: TriggerInfo, event: CloudEvent, headers: TextHeaders) -> Outcome:
        broker = self.brokers.get((trigger.namespace, trigger.broker))
        dls = trigger.dead_letter_uri or (broker.dead_letter_uri if broker is not None else None)
        if dls is None:
            return Outcome(400, parsed=True)
        out = await self.sender.send(dls, event, headers, trigger.timeout, trigger.structured)
        return Outcome(out.status if out.status is not None else 500, parsed=True)
