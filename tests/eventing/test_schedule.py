"""`jupyter_knative.eventing.next_fire`: when a PingSource fires next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from jupyter_knative.api.eventing.cron import CronError
from jupyter_knative.eventing import next_fire
from jupyter_knative.eventing.schedule import next_fire as next_fire_direct

NEW_YORK = ZoneInfo("America/New_York")


def test_package_exports_the_same_function() -> None:
    assert next_fire is next_fire_direct


@pytest.mark.parametrize(
    ("schedule", "tz", "after", "expected"),
    [
        pytest.param(
            "* * * * *",
            "UTC",
            datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC),
            datetime(2024, 5, 1, 12, 1, tzinfo=UTC),
            id="default-schedule-every-minute",
        ),
        pytest.param(
            "*/2 * * * *",
            "UTC",
            datetime(2024, 5, 1, 12, 1, tzinfo=UTC),
            datetime(2024, 5, 1, 12, 2, tzinfo=UTC),
            id="every-other-minute",
        ),
        pytest.param(
            "* * * * * *",
            "UTC",
            datetime(2024, 5, 1, 12, 0, 0, 999_999, tzinfo=UTC),
            datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC),
            id="six-fields-every-second",
        ),
        pytest.param(
            "0 9 * * *",
            "America/New_York",
            datetime(2024, 5, 1, 12, tzinfo=UTC),
            datetime(2024, 5, 1, 9, tzinfo=NEW_YORK),
            id="timezone-applied",
        ),
        pytest.param("0 0 30 2 *", "UTC", datetime(2024, 1, 1, tzinfo=UTC), None, id="never"),
    ],
)
def test_next_fire(schedule: str, tz: str, after: datetime, expected: datetime | None) -> None:
    got = next_fire(schedule, tz, after)
    assert got == expected
    if got is not None:
        assert str(got.tzinfo) == tz


def test_result_is_in_the_schedule_zone() -> None:
    got = next_fire("30 8 * * *", "America/New_York", datetime(2024, 1, 15, 12, tzinfo=timezone(timedelta(hours=5))))
    assert got is not None
    assert got.tzinfo is NEW_YORK
    assert (got.year, got.month, got.day, got.hour, got.minute) == (2024, 1, 15, 8, 30)


def test_strictly_after() -> None:
    at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert next_fire("0 12 * * *", "UTC", at) == datetime(2024, 5, 2, 12, 0, tzinfo=UTC)


def test_no_timezone_uses_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    got = next_fire("0 9 * * *", None, datetime(2024, 5, 1, 1, tzinfo=UTC))  # 10:00 in Tokyo
    assert got == datetime(2024, 5, 2, 9, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert got is not None and got.utcoffset() == timedelta(hours=9)


def test_empty_timezone_is_no_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    assert next_fire("0 9 * * *", "", datetime(2024, 5, 1, 10, tzinfo=UTC)) == datetime(2024, 5, 2, 9, tzinfo=UTC)


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire("* * * * *", "UTC", datetime(2024, 5, 1, 12))


@pytest.mark.parametrize(
    ("schedule", "tz", "message"),
    [
        pytest.param("2", None, "expected 5 to 6 fields, found 1: [2]", id="bad-schedule"),
        pytest.param(
            "* * * * *",
            "Knative/Land",
            "provided bad location Knative/Land: unknown time zone Knative/Land",
            id="bad-timezone",
        ),
        pytest.param("@every 2h", "Europe/Paris", "unsupported descriptor @every", id="every"),
    ],
)
def test_invalid_schedule_raises_cron_error(schedule: str, tz: str | None, message: str) -> None:
    with pytest.raises(CronError) as caught:
        next_fire(schedule, tz, datetime(2024, 5, 1, tzinfo=UTC))
    assert str(caught.value) == message
