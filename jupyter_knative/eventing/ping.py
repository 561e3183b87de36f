"""PingSource's receive adapter, inside the daemon: one timer per source, one event per tick.

As Knative's `mtping` adapter does it (robfig/cron underneath): the next fire is the first matching second
strictly after now, in the source's time zone; when the timer goes off the tick runs in its own task (a slow
sink never delays the next tick) and the next fire is computed from the later of the fire time and now, so
ticks missed while the daemon was down or the loop was late are not replayed. Each tick waits a random
0 to 499 ms (to spread the load of sources sharing a schedule), then sends one event with a fresh id and the
send time, retried as the CloudEvents Go SDK's exponential backoff with a 50 ms period and 5 retries does it:
after a transport error or a 404, 413, 425, 429, 502, 503 or 504, wait 50 ms · 2^n (n = 1..5) and try again.

The scheduler reads the PingSource as the controllers write it: `spec.schedule`, `spec.timezone`,
`spec.contentType`, `spec.data` / `spec.dataBase64`, `spec.ceOverrides.extensions` and `status.sinkUri`;
a source without a sink, with a bad schedule or being deleted has no timer.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ..api.eventing.cron import CronError
from ..api.eventing.gobase64 import Base64Error, decode_std
from .cloudevent import CloudEvent
from .schedule import next_fire

__all__ = [
    "CORE_ATTRIBUTES",
    "EVENT_TYPE",
    "RETRYABLE_STATUSES",
    "Clock",
    "PingConfig",
    "PingScheduler",
    "SendEvent",
    "WallClock",
    "backoff",
    "make_event",
    "ping_config",
    "rfc3339",
    "send_with_retries",
    "source_uri",
]

log = logging.getLogger(__name__)

EVENT_TYPE = "dev.knative.sources.ping"
RETRIES = 5
BACKOFF_PERIOD = 0.05
MAX_DELAY_MS = 500
RETRYABLE_STATUSES = frozenset({404, 413, 425, 429, 502, 503, 504})
# Extensions may not take a context attribute's name (the Go SDK refuses to set them).
CORE_ATTRIBUTES = frozenset({"id", "source", "specversion", "type", "datacontenttype", "dataschema", "subject",
                             "time"})

SendEvent = Callable[[str, CloudEvent], Awaitable[int]]
"""Deliver an event to a URL; returns the HTTP status. Raising means the request got no response."""


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock time in unix seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        ...


class WallClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


# --- what a tick sends (pure) ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PingConfig:
    namespace: str
    name: str
    schedule: str
    timezone: str | None
    sink: str
    content_type: str
    data: bytes | None
    extensions: tuple[tuple[str, str], ...]


def source_uri(namespace: str, name: str) -> str:
    return f"/apis/v1/namespaces/{namespace}/pingsources/{name}"


def ping_config(namespace: str, name: str, obj: Mapping[str, Any] | None) -> PingConfig | None:
    """The tick's inputs, or None when the source should have no timer (gone, deleting, no sink, bad data)."""
    if obj is None or (obj.get("metadata") or {}).get("deletionTimestamp"):
        return None
    sink = str((obj.get("status") or {}).get("sinkUri") or "")
    if not sink:
        return None
    spec = obj.get("spec") or {}
    try:
        data = _data(spec)
    except Base64Error as err:
        log.warning("PingSource %s/%s: spec.dataBase64: %s; not scheduling it", namespace, name, err)
        return None
    overrides = ((spec.get("ceOverrides") or {}).get("extensions") or {})
    extensions = tuple(sorted((str(k).lower(), str(v)) for k, v in overrides.items()
                              if str(k).lower() not in CORE_ATTRIBUTES))
    return PingConfig(namespace, name, str(spec.get("schedule") or "* * * * *"), spec.get("timezone") or None,
                      sink, str(spec.get("contentType") or ""), data, extensions)


def _data(spec: Mapping[str, Any]) -> bytes | None:
    """dataBase64 first, then data, as the adapter reads them; empty means no data."""
    if spec.get("dataBase64"):
        return decode_std(str(spec["dataBase64"]))
    if spec.get("data"):
        return str(spec["data"]).encode("utf-8")
    return None


def rfc3339(seconds: float) -> str:
    """Unix seconds as Go's RFC3339Nano in UTC (microsecond precision, trailing zeros dropped)."""
    stamp = datetime.fromtimestamp(seconds, UTC)
    fraction = f"{stamp.microsecond:06d}".rstrip("0")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def make_event(config: PingConfig, event_id: str, now: float) -> CloudEvent:
    attributes: dict[str, Any] = {"specversion": "1.0", "id": event_id, "type": EVENT_TYPE,
                                  "source": source_uri(config.namespace, config.name), "time": rfc3339(now)}
    if config.data is not None and config.content_type:
        attributes["datacontenttype"] = config.content_type
    attributes.update(config.extensions)
    return CloudEvent(attributes, config.data)


def backoff(tries: int) -> float:
    """The Go SDK's exponential backoff before retry number `tries` (1-based): period · 2^tries."""
    return BACKOFF_PERIOD * 2.0 ** tries


async def send_with_retries(send: SendEvent, url: str, event: CloudEvent,
                            sleep: Callable[[float], Awaitable[None]], retries: int = RETRIES) -> int | None:
    """Send, retrying retryable failures up to `retries` times; the last status (None: no response)."""
    tries = 0
    while True:
        status: int | None
        try:
            status = await send(url, event)
        except Exception as exc:  # any failure to get a response is retried, as a transport error is
            log.info("sending event %s to %s failed: %s", event.attributes.get("id"), url, exc)
            status = None
        if status is not None and (200 <= status < 300 or status not in RETRYABLE_STATUSES):
            return status
        tries += 1
        if tries > retries:
            return status
        await sleep(backoff(tries))


# --- timers ---------------------------------------------------------------------------------------------

Key = tuple[str, str]


class PingScheduler:
    """One timer task per PingSource with a sink; `set_source` (re)schedules or cancels it."""

    def __init__(self, send: SendEvent, *, clock: Clock | None = None,
                 rand: Callable[[], float] = random.random) -> None:
        self._send = send
        self._clock: Clock = clock or WallClock()
        self._rand = rand
        self._configs: dict[Key, PingConfig] = {}
        self._timers: dict[Key, asyncio.Task[None]] = {}
        self._ticks: set[asyncio.Task[None]] = set()
        self._running = False

    def scheduled(self) -> list[Key]:
        """The sources that have a timer now (namespace, name), sorted."""
        return sorted(key for key, task in self._timers.items() if not task.done())

    def set_source(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        key = (namespace, name)
        config = ping_config(namespace, name, obj)
        if config is not None and config == self._configs.get(key) and key in self._timers:
            return  # nothing the timer depends on changed (a status-only update)
        self._cancel_timer(key)
        if config is None:
            self._configs.pop(key, None)
            return
        self._configs[key] = config
        if self._running:
            self._start_timer(key, config)

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        for key, config in sorted(self._configs.items()):
            self._start_timer(key, config)

    async def stop(self) -> None:
        """Cancel every timer and every tick still waiting or sending."""
        self._running = False
        tasks = [*self._timers.values(), *self._ticks]
        self._timers.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _cancel_timer(self, key: Key) -> None:
        task = self._timers.pop(key, None)
        if task is not None:
            task.cancel()

    def _start_timer(self, key: Key, config: PingConfig) -> None:
        self._timers[key] = asyncio.get_running_loop().create_task(
            self._run(config), name=f"pingsource {key[0]}/{key[1]}")

    async def _run(self, config: PingConfig) -> None:
        after = datetime.fromtimestamp(self._clock.now(), UTC)
        while True:
            try:
                fire = next_fire(config.schedule, config.timezone, after)
            except CronError as err:
                log.warning("PingSource %s/%s: spec.schedule: %s; not scheduling it", config.namespace,
                            config.name, err)
                return
            if fire is None:
                return  # a schedule that never matches (e.g. February 30th)
            await self._sleep_until(fire.timestamp())
            self._spawn_tick(config)
            after = max(fire, datetime.fromtimestamp(self._clock.now(), UTC))

    async def _sleep_until(self, deadline: float) -> None:
        while (left := deadline - self._clock.now()) > 0:
            await self._clock.sleep(left)

    def _spawn_tick(self, config: PingConfig) -> None:
        task = asyncio.get_running_loop().create_task(self._tick(config))
        self._ticks.add(task)
        task.add_done_callback(self._ticks.discard)

    async def _tick(self, config: PingConfig) -> None:
        await self._clock.sleep(int(self._rand() * MAX_DELAY_MS) / 1000)
        event = make_event(config, str(uuid.uuid4()), self._clock.now())
        status = await send_with_retries(self._send, config.sink, event, self._clock.sleep)
        if status is None or not 200 <= status < 300:
            log.warning("PingSource %s/%s: event %s to %s was not delivered (%s)", config.namespace, config.name,
                        event.attributes["id"], config.sink, status if status is not None else "no response")
