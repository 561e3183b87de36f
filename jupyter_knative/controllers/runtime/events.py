"""Kubernetes Events, written as client-go's event recorder writes them.

An event about an object becomes a core/v1 `Event` named `<object name>.<hex nanoseconds>` in the object's
namespace (`default` for cluster-scoped objects), with the `involvedObject` reference, reason, message,
type, `source.component`, first/last timestamps and a count. Before writing, the recorder runs client-go's
`EventCorrelator`:

- aggregation: when one object gets events of the same type and reason with 10 different messages within
  10 minutes, further ones are folded into one event whose message reads
  `(combined from similar events): <latest message>`;
- de-duplication: an identical event (same source, object, type, reason and message) increments `count`
  and moves `lastTimestamp` of the Event already written instead of creating another;
- spam filtering: a source may burst 25 events about one object, then one every 5 minutes.

Recording never raises into the caller: failures are logged (events are best-effort, as in Kubernetes).
"""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ...api.printing import format_timestamp
from ...api.status import AlreadyExists, NotFound
from .clock import Clock, RealClock

if TYPE_CHECKING:
    from ...api.registry import ResourceType
    from ...store import Store

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"
EVENT_TYPES = (NORMAL, WARNING)

LRU_CACHE_ENTRIES = 4096
AGGREGATE_MAX_EVENTS = 10
AGGREGATE_INTERVAL = 600.0
SPAM_BURST = 25
SPAM_QPS = 1.0 / 300.0
AGGREGATE_PREFIX = "(combined from similar events): "

V = TypeVar("V")


class _LRU(Generic[V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, ...], V] = OrderedDict()

    def get(self, key: tuple[str, ...]) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: tuple[str, ...], value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


def _source_and_object(event: dict[str, Any]) -> tuple[str, ...]:
    source, ref = event.get("source") or {}, event.get("involvedObject") or {}
    return (source.get("component", ""), source.get("host", ""), ref.get("kind", ""),
            ref.get("namespace", ""), ref.get("name", ""))


def event_key(event: dict[str, Any]) -> tuple[str, ...]:
    """What makes two events identical (client-go's `getEventKey`)."""
    ref = event.get("involvedObject") or {}
    return (*_source_and_object(event), ref.get("fieldPath", ""), ref.get("uid", ""),
            ref.get("apiVersion", ""), event.get("type", ""), event.get("reason", ""),
            event.get("message", ""))


def spam_key(event: dict[str, Any]) -> tuple[str, ...]:
    ref = event.get("involvedObject") or {}
    return (*_source_and_object(event), ref.get("uid", ""), ref.get("apiVersion", ""))


def aggregate_key(event: dict[str, Any]) -> tuple[str, ...]:
    ref = event.get("involvedObject") or {}
    return (*_source_and_object(event), ref.get("uid", ""), ref.get("apiVersion", ""), event.get("type", ""),
            event.get("reason", ""), event.get("reportingComponent", ""), event.get("reportingInstance", ""))


@dataclass
class _Aggregate:
    messages: set[str] = field(default_factory=set)
    last: float = float("-inf")


@dataclass
class _Observation:
    count: int
    first_timestamp: str
    name: str


@dataclass
class _Bucket:
    tokens: float
    last: float


class EventCorrelator:
    """client-go's `EventCorrelator` with its defaults: aggregate, then count, then filter spam."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._aggregates: _LRU[_Aggregate] = _LRU(LRU_CACHE_ENTRIES)
        self._observed: _LRU[_Observation] = _LRU(LRU_CACHE_ENTRIES)
        self._spam: _LRU[_Bucket] = _LRU(LRU_CACHE_ENTRIES)

    def correlate(self, event: dict[str, Any], name_for: Callable[[str], str]) -> dict[str, Any] | None:
        """The event to write (count above 1: update the existing one), or None to drop it as spam.
        `name_for(object name)` makes a fresh Event name for aggregate events."""
        event, key = self._aggregate(event, name_for)
        event = self._observe(event, key)
        return None if self._is_spam(event) else event

    def observed(self, event: dict[str, Any]) -> None:
        """Remember the Event as the server stored it."""
        self._observed.put(event_key(event), _Observation(int(event.get("count") or 1),
                                                          str(event.get("firstTimestamp") or ""),
                                                          event["metadata"]["name"]))

    def _aggregate(self, event: dict[str, Any],
                   name_for: Callable[[str], str]) -> tuple[dict[str, Any], tuple[str, ...]]:
        now = self._clock.now()
        key = aggregate_key(event)
        record = self._aggregates.get(key)
        if record is None or now - record.last > AGGREGATE_INTERVAL:
            record = _Aggregate()
        record.messages.add(str(event.get("message", "")))
        record.last = now
        self._aggregates.put(key, record)
        if len(record.messages) < AGGREGATE_MAX_EVENTS:
            return event, event_key(event)
        record.messages.pop()  # do not grow the set beyond the maximum
        combined = {k: v for k, v in event.items() if k not in ("reportingComponent", "reportingInstance")}
        combined["metadata"] = {"name": name_for(event["involvedObject"].get("name", "")),
                                "namespace": event["metadata"]["namespace"]}
        combined["message"] = AGGREGATE_PREFIX + str(event.get("message", ""))
        combined["reportingComponent"] = ""
        combined["reportingInstance"] = ""
        return combined, key

    def _observe(self, event: dict[str, Any], key: tuple[str, ...]) -> dict[str, Any]:
        event = dict(event, metadata=dict(event["metadata"]))
        last = self._observed.get(key)
        if last is not None and last.count > 0:
            event["metadata"]["name"] = last.name
            event["firstTimestamp"] = last.first_timestamp
            event["count"] = last.count + 1
        self._observed.put(key, _Observation(int(event["count"]), str(event["firstTimestamp"]),
                                             event["metadata"]["name"]))
        return event

    def _is_spam(self, event: dict[str, Any]) -> bool:
        now = self._clock.monotonic()
        key = spam_key(event)
        bucket = self._spam.get(key) or _Bucket(float(SPAM_BURST), now)
        bucket.tokens = min(float(SPAM_BURST), bucket.tokens + (now - bucket.last) * SPAM_QPS)
        bucket.last = now
        spam = bucket.tokens < 1.0
        if not spam:
            bucket.tokens -= 1.0
        self._spam.put(key, bucket)
        return spam


def object_reference(obj: dict[str, Any]) -> dict[str, Any]:
    """The `ObjectReference` to an object, fields in the Go struct's order, empty ones left out."""
    meta = obj.get("metadata") or {}
    ref = {
        "kind": obj.get("kind", ""),
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "apiVersion": obj.get("apiVersion", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    return {k: v for k, v in ref.items() if v}


_VERB = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?([vsdqfgtxXw%])")


def go_sprintf(template: str, *args: Any) -> str:
    """Enough of Go's `fmt.Sprintf` for event messages: %v %s %d %q %f %g %t %x %w %%."""
    values = iter(args)

    def one(m: re.Match[str]) -> str:
        flags, width, precision, verb = m.groups()
        if verb == "%":
            return "%"
        try:
            value = next(values)
        except StopIteration:
            return f"%!{verb}(MISSING)"
        text = _format_value(value, verb, precision)
        if width and "-" in flags:
            return text.ljust(int(width))
        if width:
            return text.rjust(int(width), "0" if "0" in flags else " ")
        return text

    out = _VERB.sub(one, template)
    extra = list(values)
    if extra:
        out += "%!(EXTRA " + ", ".join(f"{type(v).__name__}={_format_value(v, 'v', None)}"
                                       for v in extra) + ")"
    return out


def _format_value(value: Any, verb: str, precision: str | None) -> str:
    if verb == "q":
        return json.dumps(str(value), ensure_ascii=False)
    if verb in "xX" and isinstance(value, int):
        return format(value, verb)
    if verb in "fg" and isinstance(value, int | float):
        return f"{value:.{precision or 6}f}" if verb == "f" else format(value, "g")
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    return str(value)


class EventRecorder:
    def __init__(self, store: Store, component: str, clock: Clock | None = None, *, host: str = "") -> None:
        self.store = store
        self.component = component
        self.host = host
        self.clock: Clock = clock or RealClock()
        self.correlator = EventCorrelator(self.clock)

    def event(self, obj: dict[str, Any], type: str, reason: str, message: str,
              annotations: dict[str, str] | None = None) -> None:
        """Record an event about `obj` (type `Normal` or `Warning`); never raises."""
        try:
            self._record(obj, type, reason, message, annotations)
        except Exception:
            log.exception("%s: could not record event %s %s on %s", self.component, type, reason,
                          object_reference(obj) if isinstance(obj, dict) else obj)

    def eventf(self, obj: dict[str, Any], type: str, reason: str, template: str, *args: Any) -> None:
        """`event` with a Go-style format string (`"Created Configuration %q", name`)."""
        try:
            message = go_sprintf(template, *args)
        except Exception:
            log.exception("%s: bad event message format %r", self.component, template)
            return
        self.event(obj, type, reason, message)

    def warning(self, obj: dict[str, Any], reason: str, message: str) -> None:
        self.event(obj, WARNING, reason, message)

    def normal(self, obj: dict[str, Any], reason: str, message: str) -> None:
        self.event(obj, NORMAL, reason, message)

    # --- internals --------------------------------------------------------------------------------

    def _event_type(self) -> ResourceType | None:
        return self.store.registry.by_kind("", "Event")

    def _record(self, obj: dict[str, Any], type: str, reason: str, message: str,
                annotations: dict[str, str] | None) -> None:
        if type not in EVENT_TYPES:
            log.error("%s: unsupported event type %r (reason %s)", self.component, type, reason)
            return
        rt = self._event_type()
        if rt is None:
            log.warning("%s: no Event type registered; dropping event %s", self.component, reason)
            return
        event = self._make_event(rt, obj, type, reason, message, annotations)
        correlated = self.correlator.correlate(event, lambda name: self._fresh_name(rt, event, name))
        if correlated is None:
            log.debug("%s: event %s on %s filtered as spam", self.component, reason, event["involvedObject"])
            return
        stored = self._write(rt, correlated)
        if stored is not None:
            self.correlator.observed(stored)

    def _make_event(self, rt: ResourceType, obj: dict[str, Any], type: str, reason: str, message: str,
                    annotations: dict[str, str] | None) -> dict[str, Any]:
        ref = object_reference(obj)
        namespace = ref.get("namespace") or "default"
        now = format_timestamp(self.clock.now())
        meta: dict[str, Any] = {"namespace": namespace}
        if annotations:
            meta["annotations"] = dict(annotations)
        event: dict[str, Any] = {"apiVersion": "v1", "kind": "Event", "metadata": meta}
        source = {k: v for k, v in (("component", self.component), ("host", self.host)) if v}
        event.update({
            "involvedObject": ref, "reason": reason, "message": message, "source": source,
            "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": type, "eventTime": None,
            "reportingComponent": self.component, "reportingInstance": self.host,
        })
        meta["name"] = self._fresh_name(rt, event, ref.get("name", ""))
        return event

    def _fresh_name(self, rt: ResourceType, event: dict[str, Any], object_name: str) -> str:
        """`<name>.<unix nanoseconds in hex>`; on a clash (a virtual clock standing still) the next
        nanosecond, so two different events never share a name."""
        nanos = round(self.clock.now() * 1e9)
        namespace = event["metadata"]["namespace"]
        while self.store.entry(rt, namespace, f"{object_name}.{nanos:x}") is not None:
            nanos += 1
        return f"{object_name}.{nanos:x}"

    def _write(self, rt: ResourceType, event: dict[str, Any]) -> dict[str, Any] | None:
        meta = event["metadata"]
        if int(event.get("count") or 1) > 1:
            existing = self.store.get(rt, meta["namespace"], meta["name"])
            if existing is not None:
                existing["count"] = event["count"]
                existing["lastTimestamp"] = event["lastTimestamp"]
                existing["message"] = event["message"]
                return self.store.update(rt, existing)
            # the earlier Event is gone (its TTL ran out): write it afresh under the same name
        try:
            return self.store.create(rt, event)
        except AlreadyExists:
            log.debug("%s: event %s already exists, dropping", self.component, meta["name"])
        except NotFound as e:
            log.warning("%s: cannot record event %s: %s", self.component, meta["name"], e.message)
        except Exception as e:
            causes = ((getattr(e, "details", None) or {}).get("causes") or [])
            if any(c.get("reason") == "NamespaceTerminating" for c in causes):
                log.debug("%s: event %s dropped: namespace terminating", self.component, meta["name"])
            else:
                raise
        return None
