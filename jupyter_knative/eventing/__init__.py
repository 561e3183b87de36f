"""Knative Eventing's data plane: broker ingress and filter, channel dispatch, durable delivery, sources.

`next_fire(schedule, timezone, after)` is public API: when a PingSource with that schedule fires next.
"""

from __future__ import annotations

from .schedule import next_fire

__all__ = ["next_fire"]
