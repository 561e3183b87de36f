"""Channel fan-out and delivery: one queue per channel subscriber, attempts, retries, replies, dead letters.

`Dispatcher.enqueue(channel, event, headers)` writes the event and one delivery row per current
subscriber into the journal's open transaction and hands each delivery to its subscriber's queue. A
queue starts deliveries in arrival order, at most `window` at once; a delivery that must wait before
a retry leaves the window (a timer puts it back at the front), so a retrying event never holds up
later ones.

One delivery runs Knative's dispatcher steps: send to the subscriber (`Prefer: reply`, pass-through
headers, `Kn-Namespace`); a 2xx answer carrying an event goes on to the reply URL; the final failure
of either hop sends the ORIGINAL event with the dead-letter extensions to the dead letter sink. Each
hop gets the subscriber's retry policy. The pending hop, its attempt count and the earliest time of
the next attempt are written to the journal, so a restart resumes where the delivery stood. A reply
or dead letter handed to an in-process destination (broker ingress, a channel) is enqueued in the
same journal transaction that finishes the delivery producing it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from .cloudevent import CloudEvent, InvalidCloudEvent, NotACloudEvent, from_bytes, response_event, to_bytes
from .delivery import dead_letter_extensions, is_retryable
from .metrics import DEAD_LETTERED, DELIVERED, FAILED, RETRIED, FlowLabels, Metrics
from .model import ChannelInfo, SubscriberInfo
from .queue import PHASE_DLS, PHASE_REPLY, PHASE_SUBSCRIBER, Journal, StoredDelivery
from .recent import RecentLog, entry, to_dicts
from .routes import BROKER_FILTER_HOST, BROKER_INGRESS_HOST, Kind, classify_url

__all__ = ["Dispatcher", "FanOut", "Outcome", "Transport"]

log = logging.getLogger(__name__)

Headers = list[tuple[bytes, bytes]]
TextHeaders = list[tuple[str, str]]


class Outcome:
    """What one send got back. `status` None: no response (transport error, timeout; `error` says which)."""

    __slots__ = ("body", "error", "filtered", "headers", "parsed", "reply", "status")

    def __init__(self, status: int | None, headers: Headers | None = None, body: bytes = b"", error: str = "",
                 reply: CloudEvent | None = None, parsed: bool = False, filtered: bool = False) -> None:
        self.status = status
        self.headers: Headers = headers if headers is not None else []
        self.body = body
        self.error = error
        self.reply = reply
        self.parsed = parsed
        """`reply` is already worked out (in-process destinations); otherwise parse the response."""
        self.filtered = filtered
        """The trigger filter did not match: the 2xx means "dropped", not "delivered"."""

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def describe(self) -> str:
        if self.status is None:
            return self.error or "no response"
        return f"unexpected HTTP response, expected 2xx, got {self.status}"


class Transport(Protocol):
    """Sends one event to a URL (in-process for the plane's own hosts, HTTP otherwise)."""

    async def send(self, url: str, event: CloudEvent, headers: TextHeaders, timeout: float | None,
                   structured: bool) -> Outcome: ...

    def is_internal(self, url: str) -> bool: ...


class FanOut:
    """Waits for every delivery of one event posted straight to a channel (IMC's synchronous answer)."""

    __slots__ = ("future", "ok", "remaining")

    def __init__(self, count: int) -> None:
        self.remaining = count
        self.ok = True
        self.future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if count == 0:
            self.future.set_result(True)

    def done(self, ok: bool) -> None:
        self.ok = self.ok and ok
        self.remaining -= 1
        if self.remaining <= 0 and not self.future.done():
            self.future.set_result(self.ok)


class _Delivery:
    __slots__ = ("attempt", "code", "dropped", "errinfo", "event", "event_id", "group", "headers", "id", "phase",
                 "reply", "reply_id", "timer", "tries")

    def __init__(self, row_id: int, event_id: int, event: CloudEvent, headers: TextHeaders) -> None:
        self.id = row_id
        self.event_id = event_id
        self.event = event
        self.headers = headers
        self.phase = PHASE_SUBSCRIBER
        self.attempt = 0
        self.reply: CloudEvent | None = None
        self.reply_id: int | None = None
        self.errinfo: dict[str, Any] | None = None
        self.group: FanOut | None = None
        self.dropped = False
        self.timer: asyncio.TimerHandle | None = None
        self.tries = 0
        """Attempts at the subscriber, kept once the delivery moves on to the reply or dead letter hop."""
        self.code: int | None = None
        """The subscriber's last answer, kept likewise."""

    def leave_subscriber(self, code: int | None) -> None:
        self.tries, self.code = self.attempt + 1, code


class _Queue:
    """The deliveries of one channel subscriber."""

    def __init__(self, dispatcher: Dispatcher, namespace: str, channel: str, uid: str) -> None:
        self.dispatcher = dispatcher
        self.namespace = namespace
        self.channel = channel
        self.uid = uid
        self.sub: SubscriberInfo | None = None
        self.flow: list[int] = [0, 0, 0, 0]
        self.recent = RecentLog(FlowLabels(namespace, channel, uid))
        self.pending: dict[int, _Delivery] = {}
        self.ready: deque[_Delivery] = deque()
        self.in_flight = 0

    def configure(self, sub: SubscriberInfo | None, labels: FlowLabels) -> None:
        self.sub = sub
        self.flow = self.dispatcher.metrics.flow(labels)
        self.recent.labels = labels
        self.pump()

    def add(self, delivery: _Delivery, wait: float = 0.0) -> None:
        self.pending[delivery.id] = delivery
        if wait > 0:
            self.later(delivery, wait)
        else:
            self.ready.append(delivery)
            self.pump()

    def later(self, delivery: _Delivery, wait: float) -> None:
        delivery.timer = asyncio.get_running_loop().call_later(wait, self._wake, delivery)

    def _wake(self, delivery: _Delivery) -> None:
        delivery.timer = None
        if not delivery.dropped:
            self.ready.appendleft(delivery)
            self.pump()

    def pump(self) -> None:
        dispatcher = self.dispatcher
        if not dispatcher.running or self.sub is None or self.sub.uri is None:
            return
        while self.ready and self.in_flight < dispatcher.window:
            delivery = self.ready.popleft()
            if delivery.dropped:
                continue
            self.in_flight += 1
            dispatcher.spawn(self, delivery)

    def record(self, d: _Delivery, outcome: int, code: int | None = None, *, count: bool = True) -> None:
        """Count the outcome (unless already counted) and keep the delivery among the subscriber's recent ones."""
        if count:
            self.flow[outcome] += 1
        if d.phase == PHASE_SUBSCRIBER:
            d.leave_subscriber(code)
        self.recent.entries.append(entry(self.dispatcher.wall(), d.event, outcome, d.code, d.tries))

    def finished(self, delivery: _Delivery, ok: bool) -> None:
        self.pending.pop(delivery.id, None)
        if not delivery.dropped:
            self.dispatcher.journal.finish(delivery.id, delivery.event_id, delivery.reply_id)
        if delivery.group is not None:
            delivery.group.done(ok)

    def drop(self) -> None:
        """The subscriber is gone: forget its deliveries."""
        for delivery in list(self.pending.values()):
            self.finished(delivery, False)
            delivery.dropped = True
            if delivery.timer is not None:
                delivery.timer.cancel()
        self.ready.clear()


class Dispatcher:
    """All subscriber queues of the plane's channels."""

    def __init__(self, journal: Journal, transport: Transport, metrics: Metrics, *,
                 wall: Callable[[], float], window: int = 64) -> None:
        self.journal = journal
        self.transport = transport
        self.metrics = metrics
        self.wall = wall
        self.window = window
        self.queues: dict[tuple[str, str], _Queue] = {}
        self.channels: dict[str, ChannelInfo] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.running = False

    # configuration

    def set_channel(self, namespace: str, name: str, new: ChannelInfo | None) -> None:
        key = f"{namespace}/{name}"
        if new is None:
            self.channels.pop(key, None)
        else:
            self.channels[key] = new
        current = {sub.uid: sub for sub in new.subscribers} if new is not None else {}
        for uid in [uid for (channel, uid) in self.queues if channel == key]:
            if uid not in current:
                self.queues.pop((key, uid)).drop()
        for uid, sub in current.items():
            self._queue(key, uid).configure(sub, _labels(namespace, name, sub))

    def _queue(self, key: str, uid: str) -> _Queue:
        queue = self.queues.get((key, uid))
        if queue is None:
            namespace, _, name = key.partition("/")
            queue = self.queues[(key, uid)] = _Queue(self, namespace, name, uid)
        return queue

    # accepting

    def enqueue(self, channel: ChannelInfo, event: CloudEvent, headers: TextHeaders,
                group: FanOut | None = None) -> int:
        """Journal `event` for every subscriber of `channel` (in the open transaction) and queue it.
        Returns the number of deliveries."""
        subs = [sub for sub in channel.subscribers if sub.uri is not None]
        if not subs:
            return 0
        journal = self.journal
        event_id = journal.add_event(to_bytes(event), headers)
        key = channel.key
        for sub in subs:
            delivery = _Delivery(journal.add_delivery(event_id, key, sub.uid), event_id, event, headers)
            delivery.group = group
            queue = self.queues.get((key, sub.uid))
            if queue is None:
                queue = self._queue(key, sub.uid)
                queue.configure(sub, _labels(channel.namespace, channel.name, sub))
            queue.add(delivery)
        return len(subs)

    def restore(self, rows: list[StoredDelivery]) -> None:
        """Queue the deliveries a previous run left pending."""
        now = self.wall()
        events: dict[int, CloudEvent] = {}
        for row in rows:
            known = self.queues.get((row.channel, row.subscriber))
            if known is not None and row.id in known.pending:
                continue  # enqueued by this run before start()
            event = events.get(row.event_id)
            if event is None:
                event = events[row.event_id] = from_bytes(row.event_blob)
            channel = self.channels.get(row.channel)
            if channel is not None and all(sub.uid != row.subscriber for sub in channel.subscribers):
                self.journal.finish(row.id, row.event_id, row.reply_id)  # the subscriber left while we were down
                continue
            delivery = _Delivery(row.id, row.event_id, event, row.headers)
            delivery.phase, delivery.attempt, delivery.errinfo = row.phase, row.attempt, row.errinfo
            if row.phase == PHASE_REPLY and row.reply_blob is not None:
                delivery.reply, delivery.reply_id = from_bytes(row.reply_blob), row.reply_id
            elif row.phase == PHASE_REPLY:
                delivery.phase = PHASE_SUBSCRIBER  # reply lost: cannot happen with a consistent file
            self._queue(row.channel, row.subscriber).add(delivery, max(0.0, row.not_before - now))

    def start(self) -> None:
        self.running = True
        for queue in list(self.queues.values()):
            queue.pump()

    async def stop(self) -> None:
        """Stop without draining: deliveries in flight are cancelled and stay pending in the journal."""
        self.running = False
        for queue in self.queues.values():
            for delivery in queue.pending.values():
                if delivery.timer is not None:
                    delivery.timer.cancel()
                    delivery.timer = None
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def pending(self) -> int:
        return sum(len(queue.pending) for queue in self.queues.values())

    def recent(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """The last finished deliveries of each current subscriber (in `namespace`), oldest first."""
        return to_dicts((queue.recent for queue in self.queues.values()), namespace)

    # delivering

    def spawn(self, queue: _Queue, delivery: _Delivery) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(queue, delivery))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver(self, queue: _Queue, delivery: _Delivery) -> None:
        try:
            while await self._attempt(queue, delivery):
                pass
        except Exception:
            log.exception("delivery of event %s failed unexpectedly", delivery.event.get("id"))
        finally:
            queue.in_flight -= 1
            queue.pump()

    async def _attempt(self, queue: _Queue, d: _Delivery) -> bool:
        """One attempt of the pending hop; True when another attempt should follow at once."""
        sub = queue.sub
        if sub is None or d.dropped or not self.running:
            return False
        url: str | None
        event: CloudEvent | None
        if d.phase == PHASE_SUBSCRIBER:
            url, event = sub.uri, d.event
        elif d.phase == PHASE_REPLY:
            url, event = sub.reply_uri, d.reply
        else:
            url, event = sub.dead_letter_uri, _dead_letter_event(d)
        if url is None or event is None:
            return self._hop_gone(queue, d)
        headers = [*d.headers, ("prefer", "reply"), ("kn-namespace", queue.namespace)]
        out = await self.transport.send(url, event, headers, sub.policy.timeout, sub.structured)
        if d.dropped or not self.running:
            return False
        if out.status is not None and 200 <= out.status < 300:
            return self._succeeded(queue, d, sub, out)
        return self._failed(queue, d, sub, url, out)

    def _hop_gone(self, queue: _Queue, d: _Delivery) -> bool:
        """The reply or dead letter URL was removed while the hop was pending."""
        if d.phase == PHASE_REPLY:
            queue.record(d, DELIVERED)
            queue.finished(d, True)
        else:
            if d.phase == PHASE_DLS:
                queue.record(d, FAILED, count=False)  # counted when the subscriber failed
            queue.finished(d, False)
        return False

    def _succeeded(self, queue: _Queue, d: _Delivery, sub: SubscriberInfo, out: Outcome) -> bool:
        if d.phase == PHASE_DLS:
            queue.record(d, DEAD_LETTERED)
            queue.finished(d, True)
            return False
        if d.phase == PHASE_SUBSCRIBER and sub.reply_uri is not None:
            reply = out.reply if out.parsed else _reply_of(out)
            if reply is not None:
                d.leave_subscriber(out.status)
                d.phase, d.attempt, d.reply = PHASE_REPLY, 0, reply
                if not self.transport.is_internal(sub.reply_uri):
                    d.reply_id = self.journal.to_reply(d.id, to_bytes(reply), d.headers)
                return True
        if not out.filtered:
            queue.record(d, DELIVERED, out.status)
        queue.finished(d, True)
        return False

    def _failed(self, queue: _Queue, d: _Delivery, sub: SubscriberInfo, url: str, out: Outcome) -> bool:
        policy = sub.policy
        if is_retryable(out.status) and d.attempt < policy.retry:
            d.attempt += 1
            retry_after = out.header(b"retry-after")
            wait = policy.wait_before_retry(d.attempt, out.status, retry_after.decode("latin-1") if retry_after
                                            else None, datetime.fromtimestamp(self.wall(), UTC))
            if d.phase == PHASE_REPLY and d.reply_id is None and d.reply is not None:
                d.reply_id = self.journal.to_reply(d.id, to_bytes(d.reply), d.headers)
            self.journal.retry_later(d.id, d.attempt, self.wall() + wait)
            queue.flow[RETRIED] += 1
            if wait <= 0:
                return True
            queue.later(d, wait)
            return False
        if d.phase == PHASE_DLS:
            assert d.errinfo is not None
            log.error("unable to complete request to either %s (%s) or %s (%s)", d.errinfo["dest"],
                      d.errinfo["error"], url, out.describe())
            queue.record(d, FAILED, count=False)  # counted when the subscriber failed
            queue.finished(d, False)
            return False
        dest, body = _error_destination(url, out)
        if sub.dead_letter_uri is None:
            log.warning("failed to deliver event %s to %s: %s", d.event.get("id"), dest, out.describe())
            queue.record(d, FAILED, out.status)
            queue.finished(d, False)
            return False
        queue.flow[FAILED] += 1  # the recent entry waits for the dead letter sink's answer
        if d.phase == PHASE_SUBSCRIBER:
            d.leave_subscriber(out.status)
        d.errinfo = {"ext": dead_letter_extensions(dest, out.status, body), "dest": dest, "error": out.describe()}
        self.journal.to_dead_letter(d.id, d.reply_id, d.errinfo)
        d.phase, d.attempt, d.reply, d.reply_id = PHASE_DLS, 0, None, None
        return True


def _labels(namespace: str, channel: str, sub: SubscriberInfo) -> FlowLabels:
    broker = trigger = ""
    if sub.uri is not None and BROKER_FILTER_HOST in sub.uri:
        parts = sub.uri.split(BROKER_FILTER_HOST, 1)[1].split("/")
        if len(parts) >= 4 and parts[1] == "triggers":
            trigger = parts[3]
    if sub.reply_uri is not None and BROKER_INGRESS_HOST in sub.reply_uri:
        parts = sub.reply_uri.split(BROKER_INGRESS_HOST, 1)[1].split("/")
        if len(parts) >= 3:
            broker = parts[2]
    return FlowLabels(namespace, channel, sub.uid, sub.name, broker, trigger)


def _reply_of(out: Outcome) -> CloudEvent | None:
    """The event in a channel subscriber's 2xx answer; anything else in the body is discarded."""
    try:
        return response_event(out.status or 0, out.headers, out.body)
    except (NotACloudEvent, InvalidCloudEvent):
        return None


def _error_destination(url: str, out: Outcome) -> tuple[str, bytes]:
    """The URL and body the dead-letter extensions report: for the broker filter, the real subscriber's,
    from the filter's JSON error body."""
    try:
        target = classify_url(url)
    except ValueError:
        return url, out.body
    if target.kind is not Kind.FILTER or not out.body:
        return url, out.body
    try:
        info = json.loads(out.body)
        dest = str(info["errdestination"])
        raw = info.get("errresponsebody")
        body = base64.b64decode(raw) if raw else b""
    except (ValueError, KeyError, TypeError, binascii.Error):
        return url, out.body
    return dest, body


def _dead_letter_event(d: _Delivery) -> CloudEvent:
    event = d.event.copy()
    if d.errinfo is not None:
        event.attributes.update(d.errinfo["ext"])
    return event
