"""ISO-8601 periods as Knative's DeliverySpec parses them (rickb777/date period.Parse + Duration)."""

from __future__ import annotations

import pytest

from jupyter_knative.api.eventing.durations import parse_period

DAY = 86_400.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("PT2.5S", 2.5, id="fractional-seconds"),
        pytest.param("PT0.5S", 0.5, id="half-second"),
        pytest.param("P1D", DAY, id="one-day"),
        pytest.param("PT1M30S", 90.0, id="minutes-and-seconds"),
        pytest.param("P0", 0.0, id="special-zero"),
        pytest.param("P0D", 0.0, id="zero-days"),
        pytest.param("PT0S", 0.0, id="zero-seconds"),
        pytest.param("PT0.25S", 0.2, id="one-fractional-digit-kept"),
        pytest.param("PT1.99S", 1.9, id="fraction-truncated-not-rounded"),
        pytest.param("PT0,5S", 0.5, id="comma-decimal-separator"),
        pytest.param("PT5.S", 5.0, id="empty-fraction"),
        pytest.param("P1M", 30.436875 * DAY, id="month-is-30.436875-days"),
        pytest.param("P1Y", 365.2425 * DAY, id="year-is-365.2425-days"),
        pytest.param("P2W", 14 * DAY, id="weeks"),
        pytest.param("P1W1D", 8 * DAY, id="weeks-and-days"),
        pytest.param("P1DT1H", DAY + 3600, id="date-and-time"),
        pytest.param("PT1H1M1S", 3661.0, id="all-time-parts"),
        pytest.param("PT1M", 60.0, id="M-after-T-is-minutes"),
        pytest.param("P1MT1M", 30.436875 * DAY + 60, id="M-both-sides-of-T"),
        pytest.param("PT1.5M", 90.0, id="fractional-minutes"),
        pytest.param("P1.5D", 1.5 * DAY, id="fractional-days"),
        pytest.param("-PT10S", -10.0, id="negative"),
        pytest.param("+PT10S", 10.0, id="explicit-plus"),
        pytest.param("PT90S", 90.0, id="seconds-beyond-a-minute"),
        pytest.param("P1D2Y", 2 * 365.2425 * DAY + DAY, id="date-parts-in-any-order"),
    ],
)
def test_valid_periods(text: str, seconds: float) -> None:
    assert parse_period(text) == pytest.approx(seconds, abs=1e-9)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("FOO", id="no-P"),
        pytest.param("PP1", id="double-P"),
        pytest.param("2020-01-01T00:00:00Z", id="rfc3339-timestamp"),
        pytest.param("P", id="no-components"),
        pytest.param("PT", id="T-without-components"),
        pytest.param("P1", id="missing-designator"),
        pytest.param("PT1", id="missing-time-designator"),
        pytest.param("P1H", id="hours-before-T"),
        pytest.param("PT1D", id="days-after-T"),
        pytest.param("P1D1D", id="repeated-designator"),
        pytest.param("PT1S1S", id="repeated-time-designator"),
        pytest.param("P1DTT1H", id="double-T"),
        pytest.param("PT1X", id="unknown-designator"),
        pytest.param("PT.5S", id="no-whole-part"),
        pytest.param("PT1.2.3S", id="two-decimal-points"),
        pytest.param(" PT1S", id="leading-space"),
        pytest.param("-", id="lone-minus"),
        pytest.param("1D", id="number-without-P"),
    ],
)
def test_invalid_periods(text: str) -> None:
    with pytest.raises(ValueError):
        parse_period(text)
