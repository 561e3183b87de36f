"""The last deliveries of each channel subscriber (triggers included), for the event-flow widget's hover texts.

The dispatcher appends one tuple per finished delivery to its subscriber's bounded deque: a few attribute
reads and an append on the hot path, nothing formatted until someone asks. Retries are not separate
entries: the finished delivery carries its attempt count. Events a trigger filter dropped are not
deliveries and are not recorded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from .cloudevent import CloudEvent
from .metrics import OUTCOMES, FlowLabels

__all__ = ["RECENT_PER_SUBSCRIBER", "Entry", "RecentLog", "entry", "to_dicts"]

RECENT_PER_SUBSCRIBER = 20

# (finished at (wall seconds), id, type, source, subject, time, outcome index, response code or None, attempts)
Entry = tuple[float, str, str, str, str | None, str | None, int, int | None, int]


class RecentLog:
    """The deque of one subscriber; `labels` says whose it is."""

    __slots__ = ("entries", "labels")

    def __init__(self, labels: FlowLabels, size: int = RECENT_PER_SUBSCRIBER) -> None:
        self.labels = labels
        self.entries: deque[Entry] = deque(maxlen=size)


def entry(at: float, event: CloudEvent, outcome: int, code: int | None, attempts: int) -> Entry:
    attrs = event.attributes
    subject, time = attrs.get("subject"), attrs.get("time")
    return (at, str(attrs.get("id", "")), str(attrs.get("type", "")), str(attrs.get("source", "")),
            None if subject is None else str(subject), None if time is None else str(time), outcome, code,
            attempts)


def to_dicts(logs: Iterable[RecentLog], namespace: str | None) -> list[dict[str, Any]]:
    """The entries of `logs` in `namespace` (all when None) as JSON-ready dicts, oldest first."""
    out: list[tuple[float, dict[str, Any]]] = []
    for log in logs:
        labels = log.labels
        if namespace is not None and labels.namespace != namespace:
            continue
        for at, event_id, type_, source, subject, time, outcome, code, attempts in log.entries:
            out.append((at, {
                "namespace": labels.namespace, "channel": labels.channel, "subscription_uid": labels.uid,
                "subscription_name": labels.name, "broker": labels.broker, "trigger": labels.trigger,
                "id": event_id, "type": type_, "source": source, "subject": subject, "time": time,
                "outcome": OUTCOMES[outcome], "response_code": code, "attempts": attempts, "at": _rfc3339(at)}))
    out.sort(key=lambda item: item[0])
    return [item[1] for item in out]


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
