"""Time-bucketed window averages: how the KPA turns one revision-wide sample per second into the stable
and panic values the decider reads.

`TimedBuckets` is Knative's linear average (`TimedFloat64Buckets`): a ring of `ceil(window/granularity)`
buckets with a running total, the first- and last-written buckets, partial windows while young or stale,
and 0 once a whole window has passed without data. `WeightedTimedBuckets` is the `weighted-exponential`
algorithm over the same ring. `MetricWindows` pairs a stable and a panic window for one metric.

Times are seconds since the epoch, passed in by the caller; a bucket is `floor(t / granularity)`.
"""

from __future__ import annotations

import math

__all__ = ["LINEAR", "WEIGHTED", "MetricWindows", "TimedBuckets", "WeightedTimedBuckets", "make_buckets",
           "smoothing_coefficient"]

LINEAR = "linear"
WEIGHTED = "weighted-exponential"
_WEIGHTED_ALIASES = frozenset({WEIGHTED, "weightedExponential"})

# The weighted average's weights must add up to at least this much over the window, but never decay
# slower than MIN_EXPONENT per bucket (a very long window would otherwise be a plain average).
WEIGHT_PRECISION = 0.9999
MIN_EXPONENT = 0.2
_PRECISION = 1e6  # window averages keep six decimal digits, truncated


def _floor6(value: float) -> float:
    return math.floor(value * _PRECISION) / _PRECISION


def smoothing_coefficient(buckets: float) -> float:
    """Per-bucket decay of the weighted average for a window of `buckets` buckets."""
    return max(1 - math.pow(1 - WEIGHT_PRECISION, 1 / buckets), MIN_EXPONENT)


class TimedBuckets:
    """Sum of the values recorded per time bucket, over a sliding window; `window_average` is linear."""

    __slots__ = ("_buckets", "_first", "_last", "_total", "granularity", "window")

    def __init__(self, window: float, granularity: float = 1.0) -> None:
        if granularity <= 0:
            raise ValueError(f"granularity = {granularity}, must be positive")
        if window < granularity:
            raise ValueError(f"window = {window}, must be at least the granularity ({granularity})")
        self.window = float(window)
        self.granularity = float(granularity)
        self._buckets = [0.0] * math.ceil(self.window / self.granularity)
        # Bucket indexes (floor(t / granularity)) of the first and last write; None before any write.
        self._first: int | None = None
        self._last: int | None = None
        # Sum of every bucket in the ring, including ones outside [first, last].
        self._total = 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(window={self.window}, granularity={self.granularity})"

    def _index(self, t: float) -> int:
        return math.floor(t / self.granularity)

    @property
    def first_write(self) -> float | None:
        """Start of the oldest bucket the average counts from; None when unknown (no data)."""
        return None if self._first is None else self._first * self.granularity

    @property
    def last_write(self) -> float | None:
        """Start of the newest bucket written; None before any write."""
        return None if self._last is None else self._last * self.granularity

    def record(self, now: float, value: float) -> None:
        """Add `value` to the bucket of `now`.

        Moving past the last written bucket first zeroes the buckets skipped over (all of them, and the
        partial-window mark restarts, after a whole window without data). A value a whole window or more
        older than the last write is dropped.
        """
        idx = self._index(now)
        last = self._last
        if idx != last:
            if last is not None and idx * self.granularity + self.window <= last * self.granularity:
                return
            if self._first is None or self._first > idx:
                self._first = idx
            if last is None or idx > last:
                self._advance(idx, last)
        buckets = self._buckets
        buckets[idx % len(buckets)] += value
        self._total += value

    def _advance(self, idx: int, last: int | None) -> None:
        buckets = self._buckets
        if last is None or (idx - last) * self.granularity >= self.window:
            self._first = idx
            self._buckets = [0.0] * len(buckets)
            self._total = 0.0
        else:
            n = len(buckets)
            for i in range(last + 1, idx + 1):
                self._total -= buckets[i % n]
                buckets[i % n] = 0.0
        self._last = idx

    def is_empty(self, now: float) -> bool:
        """Nothing recorded within a window before `now`."""
        last = self._last
        return last is None or (self._index(now) - last) * self.granularity > self.window

    def window_average(self, now: float) -> float:
        """The average bucket over the valid part of the window ending at `now` (six decimals, truncated).

        Valid buckets run from the first write (partial window while younger than the window) to the
        last write; when the newest data is older than `now`, the buckets after it that `now` would
        overwrite are left out. 0 when nothing was written for a whole window.
        """
        last = self._last
        if last is None:
            return 0.0
        d = self._index(now) - last
        n = len(self._buckets)
        span = last - self._first + 1 if self._first is not None else n
        if d <= 0:
            return _floor6(self._total / min(span, n))
        if d * self.granularity < self.window:
            buckets = self._buckets
            stale = sum(buckets[i % n] for i in range(last + 1, last + d + 1))
            return max(0.0, _floor6((self._total - stale) / min(span, n - d)))
        return 0.0

    def values(self, now: float) -> list[tuple[float, float]]:
        """(bucket start, value) of the buckets still in the window at `now`, newest first."""
        last = self._last
        if last is None:
            return []
        d = self._index(now) - last
        if d * self.granularity >= self.window:
            return []
        n = len(self._buckets)
        count = n - max(d, 0)
        return [((last - i) * self.granularity, self._buckets[(last - i) % n]) for i in range(count)]

    def resize_window(self, window: float, *, now: float | None = None) -> None:
        """Change the window, keeping the newest buckets that still fit (O(buckets); rare).

        With `now`, data last written more than a window before it is dropped instead of copied;
        without it, the data is assumed fresh.
        """
        if window == self.window:
            return
        if window < self.granularity:
            raise ValueError(f"window = {window}, must be at least the granularity ({self.granularity})")
        old = self._buckets
        new = [0.0] * math.ceil(window / self.granularity)
        total = 0.0
        last = self._last
        if last is not None and (now is None or (self._index(now) - last) * self.granularity <= self.window):
            for i in range(min(len(new), len(old))):
                value = old[(last - i) % len(old)]
                new[(last - i) % len(new)] = value
                total += value
            # All we know is that data may reach as far back as the old window did.
            self._first = last - (len(old) - 1)
        else:
            self._first = None
        self.window = float(window)
        self._buckets = new
        self._total = total


class WeightedTimedBuckets(TimedBuckets):
    """`weighted-exponential`: newer buckets weigh more, each older one by a factor (1 - coefficient)."""

    __slots__ = ("smoothing",)

    def __init__(self, window: float, granularity: float = 1.0) -> None:
        super().__init__(window, granularity)
        self.smoothing = smoothing_coefficient(len(self._buckets))

    def window_average(self, now: float) -> float:
        last = self._last
        if last is None or self.is_empty(now):
            return 0.0
        buckets, keep = self._buckets, 1 - self.smoothing
        n = count = len(buckets)
        multiplier = self.smoothing
        d = self._index(now) - last
        if d > 0:
            # The buckets between the last write and now are zeros: skip straight to their weight.
            multiplier *= math.pow(keep, d)
            count -= d
        total = 0.0
        for i in range(count):
            total += buckets[(last - i) % n] * multiplier
            multiplier *= keep
        return total

    def resize_window(self, window: float, *, now: float | None = None) -> None:
        super().resize_window(window, now=now)
        self.smoothing = smoothing_coefficient(len(self._buckets))


def make_buckets(window: float, algorithm: str = LINEAR, granularity: float = 1.0) -> TimedBuckets:
    """Buckets for a `metric-aggregation-algorithm` value; anything but the weighted spellings is linear."""
    if algorithm in _WEIGHTED_ALIASES:
        return WeightedTimedBuckets(window, granularity)
    return TimedBuckets(window, granularity)


class MetricWindows:
    """One metric of one revision (concurrency or rps): a stable and a panic window fed the same samples."""

    __slots__ = ("algorithm", "panic", "stable")

    def __init__(self, stable_window: float, panic_window: float, algorithm: str = LINEAR,
                 granularity: float = 1.0) -> None:
        self.algorithm = algorithm
        self.stable = make_buckets(stable_window, algorithm, granularity)
        self.panic = make_buckets(panic_window, algorithm, granularity)

    def record(self, now: float, value: float) -> None:
        """One revision-wide sample (the scraped total, plus the activator's, at `now`)."""
        self.stable.record(now, value)
        self.panic.record(now, value)

    def averages(self, now: float, *, scraped: bool = True) -> tuple[float, float] | None:
        """(stable, panic) averages at `now`; None is "no data" (a scraped revision with an empty stable
        window), on which the decider's tick is skipped. Unscraped revisions (target-burst-capacity -1,
        activator stats only) read as 0."""
        if scraped and self.stable.is_empty(now):
            return None
        return self.stable.window_average(now), self.panic.window_average(now)

    def resize(self, stable_window: float, panic_window: float, *, now: float | None = None) -> None:
        """Apply changed windows without losing data (configuration changes need no restart)."""
        self.stable.resize_window(stable_window, now=now)
        self.panic.resize_window(panic_window, now=now)
