"""When a PingSource fires next: the public face of the cron logic in `jupyter_knative.api.eventing.cron`."""

from __future__ import annotations

from datetime import datetime

from jupyter_knative.api.eventing.cron import parse_schedule

__all__ = ["next_fire"]


def next_fire(schedule: str, timezone: str | None, after: datetime) -> datetime | None:
    """The first second strictly after `after` at which a PingSource with this schedule and timezone fires.

    `after` must be timezone-aware. The result is aware, in the schedule's zone (the local zone when `timezone`
    is None or empty), or None when the schedule never fires within robfig/cron's five-year search. An invalid
    schedule or zone raises `CronError` with robfig/cron's message.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be a timezone-aware datetime")
    return parse_schedule(schedule, timezone).next(after)
