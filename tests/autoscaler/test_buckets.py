"""Window averages with explicit times. Ids name the Knative test (pkg/autoscaler/aggregation/
bucketing_test.go) whose scenario a case carries."""

from __future__ import annotations

import math

import pytest

from jupyter_knative.autoscaler import (
    LINEAR,
    WEIGHTED,
    MetricWindows,
    TimedBuckets,
    WeightedTimedBuckets,
    make_buckets,
)
from jupyter_knative.autoscaler.buckets import smoothing_coefficient

T = 1_800_000_000.0  # divisible by 2, 3 and 5: bucket-aligned at every granularity used here


def nonzero(b: TimedBuckets, now: float) -> dict[float, float]:
    return {t: v for t, v in b.values(now) if v > 0}


def total(b: TimedBuckets, now: float) -> float:
    return sum(v for _, v in b.values(now))


@pytest.mark.parametrize(("granularity", "records", "want"), [
    pytest.param(1.0, [(T, 1.0), (T + 0.1, 10.0), (T + 1, 1.0), (T + 3, 1.0)],
                 {T: 11.0, T + 1: 1.0, T + 3: 1.0}, id="granularity=1s"),  # activator poke + scrape share a bucket
    pytest.param(5.0, [(T, 1.0), (T + 3, 11.0), (T + 6, 1.0)], {T: 12.0, T + 5: 1.0}, id="granularity=5s"),
    pytest.param(1.0, [], {}, id="empty"),
])
def test_timed_float64_buckets_simple(granularity: float, records: list[tuple[float, float]],
                                      want: dict[float, float]) -> None:
    b = TimedBuckets(120.0, granularity)
    assert b.is_empty(T)
    for at, value in records:
        b.record(at, value)
    assert nonzero(b, T + 60) == want
    assert b.is_empty(T + 60) == (not want)


@pytest.mark.parametrize("order", [
    pytest.param([1, 2, 3, 4, 5], id="TestTimedFloat64BucketsManyReps"),
    pytest.param([0, 3, 2, 1, 4], id="TestTimedFloat64BucketsManyRepsWithNonMonotonicalOrder"),
])
def test_many_reps(order: list[int]) -> None:
    b = TimedBuckets(60.0)
    for p, offset in enumerate(order):
        for t in range(5):
            b.record(T + offset, float(p + t))
    # Buckets 10, 15, 20, 25 and 30, in whatever order they were written.
    assert total(b, T + max(order)) == 100.0


def test_timed_float64_buckets_window_average() -> None:
    """TestTimedFloat64BucketsWindowAverage: partial windows, holes, late and too-old records."""
    now = T + 0.25
    b = TimedBuckets(5.0)
    b.record(now, 1)
    assert b.window_average(now) == 1.0  # one valid bucket, not 1/5
    for i in range(1, 5):
        b.record(now + i, i + 1)
    assert b.window_average(now + 4) == 15 / 5
    assert b.window_average(now + 3.6) == 15 / 5  # now lags behind the last write
    assert b.window_average(now + 6) == (15 - 1 - 2) / (5 - 2)  # short hole: the overwritten buckets drop out
    assert b.window_average(now + 10) == 0.0  # a whole window without data
    b.record(now + 6, 91)
    assert b.window_average(now + 6) == (15 - 1 - 2 + 91) / 5  # the hole's bucket counts as 0
    now += 60
    b.record(now, 1984)
    assert b.window_average(now) == 1984.0  # a gap of a window restarts the partial window
    b.record(now - 3, 4)
    assert b.window_average(now) == (4 + 1984) / 4  # an earlier record extends it back
    now += 1
    b.record(now, 5)
    assert b.window_average(now) == (4 + 1984 + 5) / 5
    b.record(now - 3, 10)
    assert b.window_average(now) == (4 + 10 + 1984 + 5) / 5
    b.record(now - 6, 10)
    assert b.window_average(now) == (4 + 10 + 1984 + 5) / 5  # older than the window: dropped


@pytest.mark.parametrize(("offset", "kept"), [
    pytest.param(-4, True, id="four-buckets-back-fits"),
    pytest.param(-5, False, id="exactly-a-window-back-is-dropped"),
])
def test_record_boundary(offset: int, kept: bool) -> None:
    b = TimedBuckets(5.0)
    b.record(T, 2)
    b.record(T + offset, 8)
    assert total(b, T) == (10 if kept else 2)


def test_gap_of_exactly_a_window_resets() -> None:
    b = TimedBuckets(5.0)
    for i in range(5):
        b.record(T + i, 3)
    b.record(T + 9, 7)  # 5 s after the last write: everything before is gone
    assert b.first_write == T + 9 and b.window_average(T + 9) == 7.0


def test_descending_record() -> None:
    b = TimedBuckets(5.0)
    for i in range(8, -1, -1):
        b.record(T + 0.5 + i, 5)
    # Only the five newest seconds are within a window of the first write (at 8 s); each holds one 5.
    assert b.window_average(T + 5.5) == 5.0


def test_timed_float64_buckets_holes() -> None:
    b = TimedBuckets(5.0)
    for i in range(5):
        b.record(T + i, i + 1)
    assert total(b, T + 4) == 15 and b.window_average(T + 4) == 3.0
    b.record(T + 8, 2.0)  # seconds 5, 6 and 7 (buckets 0, 1, 2) are zeroed on the way
    assert total(b, T + 8) == 7.0  # bucket 3 = 2, bucket 4 = 5


def test_timed_float64_buckets_window_update() -> None:
    b = TimedBuckets(5.0)
    for i in range(6):  # with rollover: the 1 at second 0 is overwritten by the 6
        b.record(T + i, i + 1)
    now = T + 5
    initial = 2.0 + 3 + 4 + 5 + 6
    assert total(b, now) == initial and b.window_average(now) == initial / 5
    b.resize_window(10.0, now=now)
    assert (len(b.values(now)), b.window) == (10, 10.0)
    assert total(b, now) == initial
    assert b.window_average(now) == initial / 5  # at most five buckets are known to hold data
    now += 1
    b.record(now, 7)
    assert total(b, now) == initial + 7
    assert b.window_average(now) == math.floor((initial + 7) / 6 * 1e6) / 1e6  # six decimals, truncated
    b.resize_window(4.0, now=now)
    assert len(b.values(now)) == 4
    shrunk = initial + 7 - 2 - 3  # the two oldest are gone
    assert total(b, now) == shrunk and b.window_average(now) == shrunk / 4
    before = b.values(now)
    b.resize_window(4.0, now=now)  # same window: nothing happens
    assert b.values(now) == before


def test_timed_float64_buckets_window_update_3s_granularity() -> None:
    b = TimedBuckets(5.0, 3.0)
    assert len(b.values(T)) == 0 and b.is_empty(T)
    for i, value in enumerate([10, 2, 3, 4, 5, 6, 7]):  # the 7 overwrites the first bucket (10 + 2 + 3)
        b.record(T + i, value)
    want = 4.0 + 5 + 6 + 7
    assert total(b, T + 6) == want and len(b.values(T + 6)) == 2  # ceil(5/3) buckets
    b.resize_window(10.0, now=T + 6)
    assert len(b.values(T + 6)) == 4 and total(b, T + 6) == want
    b.record(T + 9.3, 42)
    assert total(b, T + 9) == want + 42
    b.resize_window(4.0, now=T + 9)
    assert len(b.values(T + 9)) == 2 and total(b, T + 9) == 42 + 7  # oldest and unused dropped


def test_timed_float64_buckets_window_update_no_op() -> None:
    start = T - 60
    b = TimedBuckets(5.0)
    b.record(start, 19.82)
    assert b.first_write == b.last_write == start
    b.resize_window(10.0, now=T)  # the data is a minute old: nothing to carry over
    assert b.first_write is None and b.window_average(T) == 0.0


def test_window_average_keeps_six_truncated_decimals() -> None:
    b = TimedBuckets(3.0)
    for i in range(3):
        b.record(T + i, 1.0 if i == 0 else 0.0)
    assert b.window_average(T + 2) == 0.333333
    c = TimedBuckets(3.0)
    c.record(T, 2.0)
    c.record(T + 1, 0.0)
    c.record(T + 2, 0.0)
    assert c.window_average(T + 2) == 0.666666  # truncated, not rounded


def test_stale_average_is_never_negative() -> None:
    b = TimedBuckets(10.0)
    for i, v in enumerate([0.1, 0.2, 0.3]):
        b.record(T + i, v)
    b.record(T + 3, 0.0)
    assert b.window_average(T + 5) >= 0.0


@pytest.mark.parametrize(("window", "granularity"), [(0.5, 1.0), (5.0, 0.0)])
def test_invalid_sizes(window: float, granularity: float) -> None:
    with pytest.raises(ValueError):
        TimedBuckets(window, granularity)


# --- weighted-exponential ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("buckets", "want"), [
    pytest.param(100, 0.2, id="nb=100"), pytest.param(60, 0.2, id="nb=60"),
    pytest.param(40, 0.20567, id="nb=40"), pytest.param(6, 0.78456, id="nb=6"),
])
def test_compute_decay_multiplier(buckets: int, want: float) -> None:
    assert smoothing_coefficient(buckets) == pytest.approx(want, abs=1e-5)


def test_weighted_average() -> None:
    b = WeightedTimedBuckets(5.0)
    m = b.smoothing
    b.record(T, 2)
    assert b.window_average(T) == pytest.approx(2 * m)
    assert b.window_average(T + 1) == pytest.approx(2 * m * (1 - m))  # one empty bucket since
    b.record(T + 1, 2)
    assert b.window_average(T + 1) == pytest.approx(2 * m + 2 * m * (1 - m))
    for i in range(5):
        b.record(T + 2 + i, i + 2)  # the window now holds 2, 3, 4, 5, 6 (newest last)
    want = sum(v * m * (1 - m) ** k for k, v in enumerate([6, 5, 4, 3, 2]))
    assert b.window_average(T + 6) == pytest.approx(want)
    assert b.window_average(T + 16) == 0.0


def test_weighted_favours_recent_load() -> None:
    rising, falling = WeightedTimedBuckets(4.0), WeightedTimedBuckets(4.0)
    for i, (up, down) in enumerate(zip([5, 5, 10, 10], [10, 10, 5, 5], strict=True)):
        rising.record(T + i, up)
        falling.record(T + i, down)
    assert rising.window_average(T + 3) > 7.5 > falling.window_average(T + 3)


def test_weighted_resize_window() -> None:
    b = WeightedTimedBuckets(5.0)
    assert b.smoothing == pytest.approx(smoothing_coefficient(5))
    for i in range(6):
        b.record(T + i, i + 1)
    assert round(b.window_average(T + 5), 3) == 5.812
    b.resize_window(10.0, now=T + 5)
    assert len(b.values(T + 5)) == 10 and b.window == 10.0
    assert b.smoothing == pytest.approx(smoothing_coefficient(10))


@pytest.mark.parametrize(("algorithm", "kind"), [
    (LINEAR, TimedBuckets), ("", TimedBuckets), (WEIGHTED, WeightedTimedBuckets),
    ("weightedExponential", WeightedTimedBuckets),
])
def test_make_buckets(algorithm: str, kind: type) -> None:
    assert type(make_buckets(60.0, algorithm)) is kind


# --- stable + panic -----------------------------------------------------------------------------------------

def test_metric_windows() -> None:
    w = MetricWindows(60.0, 6.0)
    assert w.averages(T) is None  # scraped and nothing yet: no data
    assert w.averages(T, scraped=False) == (0.0, 0.0)  # activator-only revisions read 0
    for i in range(10):
        w.record(T + i, 10.0 if i < 5 else 40.0)
    assert w.averages(T + 9) == (25.0, 35.0)  # stable over 10 s so far; panic over the last 6 (10 + 5 x 40)
    assert w.averages(T + 80) is None  # more than a stable window without data
    w.resize(30.0, 3.0, now=T + 9)
    # Data is kept, but a resize forgets how young the window was: the first-write mark moves back to
    # where the old window began, so the shrunk stable window averages over all 30 of its buckets.
    assert w.averages(T + 9) == (math.floor(250 / 30 * 1e6) / 1e6, 40.0)


def test_metric_windows_weighted() -> None:
    w = MetricWindows(60.0, 6.0, WEIGHTED)
    assert isinstance(w.stable, WeightedTimedBuckets) and isinstance(w.panic, WeightedTimedBuckets)
