"""Delivery policy of a DeliverySpec, as Knative's dispatcher applies it (pure: no I/O, the clock is passed in).

- `RetryPolicy.from_spec(spec.delivery)`: 1 + `retry` attempts; the wait before retry k is `backoff(k-1)`
  (retryablehttp counts from 0), so linear waits 0, d, 2d, … and exponential d, 2d, 4d, …; no backoffPolicy
  or no backoffDelay means retries go out at once.
- Retry-After is honoured only for 429 and 503 and only when `retryAfterMax` is set:
  wait = max(backoff, min(Retry-After, retryAfterMax)); `PT0S` therefore turns it off.
- `is_retryable`: transport errors, -1, 404, 408, 409, 429 and every 5xx.
- `dead_letter_extensions`: what the event sent to a dead-letter sink carries about the failure.
"""

from __future__ import annotations

import base64
import email.utils
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jupyter_knative.api.eventing.durations import parse_period

__all__ = ["RetryPolicy", "dead_letter_extensions", "is_retryable", "pass_through_headers"]

ERROR_DATA_MAX_LENGTH = 1024
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_RETRYABLE_STATUSES = frozenset({-1, 404, 408, 409, 429})
_PASS_THROUGH_NAMES = frozenset({"x-request-id", "retry-after", "traceparent", "tracestate"})
_PASS_THROUGH_PREFIXES = ("knative-", "x-b3-")
_GO_INT64 = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class RetryPolicy:
    """The retry part of a DeliverySpec, durations in seconds (None = unset)."""

    retry: int = 0
    backoff_policy: str | None = None
    backoff_delay: float | None = None
    timeout: float | None = None
    """Per-attempt HTTP timeout."""
    retry_after_max: float | None = None

    @classmethod
    def from_spec(cls, delivery: Mapping[str, Any] | None) -> RetryPolicy:
        """Read `spec.delivery`; a missing spec means no retries, an unparsable duration counts as unset."""
        if not delivery:
            return cls()
        retry = delivery.get("retry")
        policy = delivery.get("backoffPolicy")
        return cls(
            retry=retry if isinstance(retry, int) and not isinstance(retry, bool) and retry > 0 else 0,
            backoff_policy=policy if isinstance(policy, str) else None,
            backoff_delay=_duration(delivery.get("backoffDelay")),
            timeout=_duration(delivery.get("timeout")),
            retry_after_max=_duration(delivery.get("retryAfterMax")),
        )

    @property
    def attempts(self) -> int:
        """How many times an event is sent at most: the first try plus `retry` retries."""
        return 1 + self.retry

    def backoff(self, n: int) -> float:
        """Knative's backoff function at 0-based `n`: linear d·n, exponential d·2^n, else 0."""
        if self.backoff_delay is None:
            return 0.0
        if self.backoff_policy == "linear":
            return self.backoff_delay * n
        if self.backoff_policy == "exponential":
            return self.backoff_delay * 2.0**n
        return 0.0

    def wait_before_retry(self, k: int, status: int | None, retry_after: str | None, now: datetime) -> float:
        """Seconds to wait before retry `k` (1..retry), given the failed attempt's status and Retry-After header."""
        wait = self.backoff(k - 1)
        if self.retry_after_max is not None and status in _RETRY_AFTER_STATUSES:
            wait = max(wait, min(retry_after_seconds(retry_after, now), self.retry_after_max))
        return max(wait, 0.0)


def retry_after_seconds(value: str | None, now: datetime) -> float:
    """A Retry-After value in seconds from `now`: delta-seconds or an HTTP date; absent or invalid → 0."""
    text = (value or "").strip(" \t")
    if _GO_INT64.fullmatch(text) and -(1 << 63) <= int(text) < 1 << 63:
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return 0.0
    return (_aware(when) - _aware(now)).total_seconds()


def is_retryable(status: int | None) -> bool:
    """Whether a failed attempt is retried; None stands for a transport error or no response at all."""
    return status is None or status in _RETRYABLE_STATUSES or status >= 500


def dead_letter_extensions(destination: str, status: int | None, body: bytes) -> dict[str, str | int]:
    """Extensions added to the original event sent to the dead-letter sink after the final failure.

    `status` None (transport error, timeout) is reported as 500; Knative's body in that case is
    `dispatch error: <error>`, which the caller passes as `body`. The body travels base64-encoded (std
    alphabet), cut to 1024 characters, and `knativeerrordata` is left out when the body is empty.
    """
    extensions: dict[str, str | int] = {
        "knativeerrordest": destination,
        "knativeerrorcode": 500 if status is None else status,
    }
    if body:
        extensions["knativeerrordata"] = base64.b64encode(body).decode("ascii")[:ERROR_DATA_MAX_LENGTH]
    return extensions


def pass_through_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The incoming headers a dispatcher forwards to the subscriber (names and order kept)."""
    kept = []
    for name, value in headers:
        lower = name.lower()
        if lower in _PASS_THROUGH_NAMES or lower.startswith(_PASS_THROUGH_PREFIXES):
            kept.append((name, value))
    return kept


def _duration(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_period(value)
    except ValueError:
        return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
