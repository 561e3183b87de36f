"""Cron schedules with robfig/cron v3 semantics (SecondOptional|Minute|Hour|Dom|Month|Dow|Descriptor).

The next-fire tables include robfig's own `TestNext` vectors (its DST cases in New York and Sao Paulo).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from jupyter_knative.api.eventing.cron import CronError, Schedule, local_zone, parse_schedule, validate_timezone

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def at(text: str) -> datetime:
    """An instant from ISO text with an explicit UTC offset, so a time inside a DST fold is unambiguous."""
    return datetime.fromisoformat(text)


def next_of(schedule: str, after: datetime, timezone: str | None = "UTC") -> datetime | None:
    return parse_schedule(schedule, timezone).next(after)


# -- parse errors: robfig's messages, word for word --------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        pytest.param("2", "expected 5 to 6 fields, found 1: [2]", id="one-field"),
        pytest.param("* * * *", "expected 5 to 6 fields, found 4: [* * * *]", id="four-fields"),
        pytest.param("1 2 3 4 5 6 7", "expected 5 to 6 fields, found 7: [1 2 3 4 5 6 7]", id="seven-fields"),
        pytest.param("", "empty spec string", id="empty"),
        pytest.param("   ", "expected 5 to 6 fields, found 0: []", id="blank"),
        pytest.param("60 * * * *", "end of range (60) above maximum (59): 60", id="minute-60"),
        pytest.param("0 24 * * *", "end of range (24) above maximum (23): 24", id="hour-24"),
        pytest.param("60 * * * * *", "end of range (60) above maximum (59): 60", id="second-60"),
        pytest.param("0 0 0 * *", "beginning of range (0) below minimum (1): 0", id="dom-0"),
        pytest.param("0 0 32 * *", "end of range (32) above maximum (31): 32", id="dom-32"),
        pytest.param("0 0 * 0 *", "beginning of range (0) below minimum (1): 0", id="month-0"),
        pytest.param("0 0 * 13 *", "end of range (13) above maximum (12): 13", id="month-13"),
        pytest.param("0 0 * * 7", "end of range (7) above maximum (6): 7", id="dow-7"),
        pytest.param("5-3 * * * *", "beginning of range (5) beyond end of range (3): 5-3", id="backwards-range"),
        pytest.param(
            "0 0 * 13/2 *", "beginning of range (13) beyond end of range (12): 13/2", id="start-slash-step-past-max"
        ),
        pytest.param("*/0 * * * *", "step of range should be a positive number: */0", id="step-zero"),
        pytest.param("15/0 * * * *", "step of range should be a positive number: 15/0", id="robfig-144-no-hang"),
        pytest.param("*//2 * * * *", "too many slashes: *//2", id="slashes"),
        pytest.param("5--5 * * * *", "too many hyphens: 5--5", id="hyphens"),
        pytest.param("1-2-3 * * * *", "too many hyphens: 1-2-3", id="three-part-range"),
        pytest.param(
            "x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax', id="not-a-number"
        ),
        pytest.param(
            "* 5 j * * *", 'failed to parse int from j: strconv.Atoi: parsing "j": invalid syntax', id="six-field-bad"
        ),
        pytest.param(
            "0 0 * jan-x *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax', id="bad-range-end"
        ),
        pytest.param(
            "0 0 * * XYZ", 'failed to parse int from XYZ: strconv.Atoi: parsing "XYZ": invalid syntax', id="bad-name"
        ),
        pytest.param(
            "0 0 * * sunday",
            'failed to parse int from sunday: strconv.Atoi: parsing "sunday": invalid syntax',
            id="long-day-name",
        ),
        pytest.param(
            "*/ * * * *", 'failed to parse int from : strconv.Atoi: parsing "": invalid syntax', id="empty-step"
        ),
        pytest.param(
            "-5 * * * *", 'failed to parse int from : strconv.Atoi: parsing "": invalid syntax', id="leading-hyphen"
        ),
        pytest.param(
            "1.5 * * * *", 'failed to parse int from 1.5: strconv.Atoi: parsing "1.5": invalid syntax', id="decimal"
        ),
        pytest.param(
            "99999999999999999999 * * * *",
            "failed to parse int from 99999999999999999999: strconv.Atoi: parsing "
            '"99999999999999999999": value out of range',
            id="out-of-int64-range",
        ),
        pytest.param(
            "\u00e9 * * * *",
            'failed to parse int from \u00e9: strconv.Atoi: parsing "\u00e9": invalid syntax',
            id="non-ascii",
        ),
        pytest.param(
            '"\\ * * * *',
            'failed to parse int from "\\: strconv.Atoi: parsing "\\"\\\\": invalid syntax',
            id="go-quoting",
        ),
        pytest.param("*/-12 * * * *", "negative number (-12) not allowed: -12", id="negative-step"),
        pytest.param("@unrecognized", "unrecognized descriptor: @unrecognized", id="unknown-descriptor"),
        pytest.param("@Daily", "unrecognized descriptor: @Daily", id="descriptor-is-case-sensitive"),
        pytest.param("@daily ", "unrecognized descriptor: @daily ", id="descriptor-trailing-space"),
        pytest.param(" @daily", "expected 5 to 6 fields, found 1: [@daily]", id="descriptor-leading-space"),
        pytest.param("@every 5m", "unsupported descriptor @every", id="every"),
        pytest.param("@every Xm", "unsupported descriptor @every", id="every-bad-duration"),
        pytest.param("CRON_TZ=UTC @every 1h", "unsupported descriptor @every", id="every-after-prefix"),
        pytest.param(
            "CRON_TZ=Knative/Land * * * * *",
            "provided bad location Knative/Land: unknown time zone Knative/Land",
            id="unknown-zone-prefix",
        ),
        pytest.param(
            "TZ=Knative/Land * * * * *",
            "provided bad location Knative/Land: unknown time zone Knative/Land",
            id="unknown-zone-tz-prefix",
        ),
        pytest.param(
            "TZ=../etc/passwd * * * * *",
            "provided bad location ../etc/passwd: time: invalid location name",
            id="dotdot-zone",
        ),
        pytest.param(
            "TZ=/etc/localtime * * * * *",
            "provided bad location /etc/localtime: time: invalid location name",
            id="absolute-zone",
        ),
        pytest.param("CRON_TZ=UTC", "expected 5 to 6 fields, found 0: []", id="prefix-without-schedule"),
        pytest.param(
            "CRON_TZ=UTC CRON_TZ=UTC * * * * *",
            'failed to parse int from CRON_TZ=UTC: strconv.Atoi: parsing "CRON_TZ=UTC": invalid syntax',
            id="second-prefix-is-a-field",
        ),
    ],
)
def test_parse_errors(schedule: str, message: str) -> None:
    with pytest.raises(CronError) as caught:
        parse_schedule(schedule)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("schedule", "timezone", "message"),
    [
        pytest.param(
            "* * * * *",
            "Knative/Land",
            "provided bad location Knative/Land: unknown time zone Knative/Land",
            id="bad-zone",
        ),
        pytest.param(
            "* * * * *",
            "America/New York",
            "provided bad location America/New: unknown time zone America/New",
            id="zone-with-space-is-cut-like-the-prefix",
        ),
        pytest.param("2", "UTC", "expected 5 to 6 fields, found 1: [2]", id="bad-schedule-with-zone"),
        pytest.param("@every 2h", "Europe/Paris", "unsupported descriptor @every", id="every-with-zone"),
        pytest.param(
            "@every 2h",
            "Knative/Land",
            "provided bad location Knative/Land: unknown time zone Knative/Land",
            id="bad-zone-reported-before-every",
        ),
        pytest.param(
            "CRON_TZ=UTC * * * * *",
            "UTC",
            'failed to parse int from CRON_TZ=UTC: strconv.Atoi: parsing "CRON_TZ=UTC": invalid syntax',
            id="zone-and-prefix",
        ),
    ],
)
def test_timezone_argument_is_a_prefix(schedule: str, timezone: str, message: str) -> None:
    with pytest.raises(CronError) as caught:
        parse_schedule(schedule, timezone)
    assert str(caught.value) == message


@pytest.mark.parametrize("name", ["UTC", "", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Etc/GMT+5", "Local"])
def test_valid_timezones(name: str) -> None:
    validate_timezone(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Knative/Land", "provided bad location Knative/Land: unknown time zone Knative/Land"),
        ("europe/berlin", "provided bad location europe/berlin: unknown time zone europe/berlin"),
        ("../zoneinfo/UTC", "provided bad location ../zoneinfo/UTC: time: invalid location name"),
        ("/UTC", "provided bad location /UTC: time: invalid location name"),
        ("\\UTC", "provided bad location \\UTC: time: invalid location name"),
    ],
)
def test_invalid_timezones(name: str, message: str) -> None:
    with pytest.raises(CronError) as caught:
        validate_timezone(name)
    assert str(caught.value) == message


# -- what a schedule parses to -----------------------------------------------------------------------------------

STAR = 1 << 63
ALL_MINUTES = (1 << 60) - 1


def bits(*values: int) -> int:
    total = 0
    for value in values:
        total |= 1 << value
    return total


@pytest.mark.parametrize(
    ("schedule", "field", "expected"),
    [
        pytest.param("5 * * * *", "second", bits(0), id="five-fields-second-is-0"),
        pytest.param("5 * * * *", "minute", bits(5), id="single"),
        pytest.param("5,6,7 * * * *", "minute", bits(5, 6, 7), id="list"),
        pytest.param("1,5-7/2,3 * * * *", "minute", bits(1, 3, 5, 7), id="list-of-ranges"),
        pytest.param("5-7/2 * * * *", "minute", bits(5, 7), id="range-step"),
        pytest.param("50/5 * * * *", "minute", bits(50, 55), id="start-step-runs-to-max"),
        pytest.param("* * * * *", "minute", ALL_MINUTES | STAR, id="star-has-star-bit"),
        pytest.param("? * * * *", "minute", ALL_MINUTES | STAR, id="question-mark-is-star"),
        pytest.param("*/1 * * * *", "minute", ALL_MINUTES | STAR, id="star-step-1-keeps-star-bit"),
        pytest.param("*/2 * * * *", "minute", sum(1 << m for m in range(0, 60, 2)), id="star-step-drops-star-bit"),
        pytest.param("*-5 * * * *", "minute", ALL_MINUTES | STAR, id="star-range-is-star"),
        pytest.param("1,,2 * * * *", "minute", bits(1, 2), id="empty-list-items-ignored"),
        pytest.param("+5 * * * *", "minute", bits(5), id="plus-sign-accepted"),
        pytest.param("007 * * * *", "minute", bits(7), id="leading-zeros"),
        pytest.param("0 0 * JAN-mar *", "month", bits(1, 2, 3), id="month-names-any-case"),
        pytest.param("0 0 * * Mon-FRI", "dow", bits(1, 2, 3, 4, 5), id="day-names-any-case"),
        pytest.param("0 0 * * sun,sat", "dow", bits(0, 6), id="day-name-list"),
        pytest.param("0 0 * 1-dec/3 *", "month", bits(1, 4, 7, 10), id="mixed-number-name-range"),
        pytest.param("30 15 10 * * *", "second", bits(30), id="six-fields-seconds-first"),
        pytest.param("30 15 10 * * *", "hour", bits(10), id="six-fields-hour"),
        pytest.param("0 0 * * *", "dom", (((1 << 32) - 1) & ~1) | STAR, id="dom-star"),
    ],
)
def test_parsed_fields(schedule: str, field: str, expected: int) -> None:
    assert getattr(parse_schedule(schedule, "UTC"), field) == expected


@pytest.mark.parametrize(
    ("descriptor", "equivalent"),
    [
        ("@yearly", "0 0 0 1 1 *"),
        ("@annually", "0 0 0 1 1 *"),
        ("@monthly", "0 0 0 1 * *"),
        ("@weekly", "0 0 0 * * 0"),
        ("@daily", "0 0 0 * * *"),
        ("@midnight", "0 0 0 * * *"),
        ("@hourly", "0 0 * * * *"),
    ],
)
def test_descriptors_equal_their_spec(descriptor: str, equivalent: str) -> None:
    assert parse_schedule(descriptor, "UTC") == parse_schedule(equivalent, "UTC")


def test_prefixes_and_timezone_argument_agree() -> None:
    by_arg = parse_schedule("0 5 * * *", "Asia/Tokyo")
    assert parse_schedule("CRON_TZ=Asia/Tokyo 0 5 * * *") == by_arg
    assert parse_schedule("TZ=Asia/Tokyo   0 5 * * *") == by_arg
    assert by_arg.location == ZoneInfo("Asia/Tokyo")
    assert parse_schedule("TZ=UTC @midnight").location is UTC


# -- next fire ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        # robfig TestNext, simple cases and wrap-arounds
        pytest.param("0 0/15 * * * *", utc(2012, 7, 9, 14, 45), utc(2012, 7, 9, 15, 0), id="quarter-hours"),
        pytest.param("0 0/15 * * * *", utc(2012, 7, 9, 14, 59, 59), utc(2012, 7, 9, 15, 0), id="last-second"),
        pytest.param("0 20-35/15 * * * *", utc(2012, 7, 9, 15, 45), utc(2012, 7, 9, 16, 20), id="wrap-hour"),
        pytest.param("0 */15 * * * *", utc(2012, 7, 9, 23, 46), utc(2012, 7, 10, 0, 0), id="wrap-day"),
        pytest.param("0 20-35/15 * * * *", utc(2012, 7, 9, 23, 45), utc(2012, 7, 10, 0, 20), id="wrap-day-range"),
        pytest.param(
            "15/35 20-35/15 * * * *", utc(2012, 7, 9, 23, 35, 51), utc(2012, 7, 10, 0, 20, 15), id="seconds-step"
        ),
        pytest.param(
            "15/35 20-35/15 1/2 * * *", utc(2012, 7, 9, 23, 35, 51), utc(2012, 7, 10, 1, 20, 15), id="hours-step"
        ),
        pytest.param(
            "15/35 20-35/15 10-12 * * *", utc(2012, 7, 9, 23, 35, 51), utc(2012, 7, 10, 10, 20, 15), id="hours-range"
        ),
        pytest.param(
            "15/35 20-35/15 1/2 */2 * *", utc(2012, 7, 9, 23, 35, 51), utc(2012, 7, 11, 1, 20, 15), id="dom-step"
        ),
        pytest.param(
            "15/35 20-35/15 * 9-20 * *", utc(2012, 7, 9, 23, 35, 51), utc(2012, 7, 10, 0, 20, 15), id="dom-range"
        ),
        pytest.param(
            "15/35 20-35/15 * 9-20 Jul *", utc(2012, 7, 9, 23, 35, 51), utc(2012, 7, 10, 0, 20, 15), id="month-name"
        ),
        pytest.param("0 0 0 9 Apr-Oct ?", utc(2012, 7, 9, 23, 35), utc(2012, 8, 9), id="wrap-month"),
        pytest.param("0 0 0 */5 Apr,Aug,Oct Mon", utc(2012, 7, 9, 23, 35), utc(2012, 8, 1), id="dom-or-dow"),
        pytest.param("0 0 0 */5 Oct Mon", utc(2012, 7, 9, 23, 35), utc(2012, 10, 1), id="dom-or-dow-october"),
        pytest.param("0 0 0 * Feb Mon", utc(2012, 7, 9, 23, 35), utc(2013, 2, 4), id="wrap-year"),
        pytest.param("0 0 0 * Feb Mon/2", utc(2012, 7, 9, 23, 35), utc(2013, 2, 1), id="dow-step-no-star"),
        pytest.param("0 * * * * *", utc(2012, 12, 31, 23, 59, 45), utc(2013, 1, 1), id="wrap-everything"),
        pytest.param("0 0 0 29 Feb ?", utc(2012, 7, 9, 23, 35), utc(2016, 2, 29), id="leap-day"),
        # every second / step / names
        pytest.param("* * * * * *", utc(2024, 5, 1, 12, 0, 0), utc(2024, 5, 1, 12, 0, 1), id="every-second"),
        pytest.param(
            "* * * * * *",
            datetime(2024, 5, 1, 12, 0, 0, 500_000, tzinfo=UTC),
            utc(2024, 5, 1, 12, 0, 1),
            id="every-second-from-fraction",
        ),
        pytest.param("* * * * * *", utc(2024, 12, 31, 23, 59, 59), utc(2025, 1, 1), id="every-second-new-year"),
        pytest.param("* * * * *", utc(2024, 5, 1, 12, 0, 0), utc(2024, 5, 1, 12, 1), id="every-minute"),
        pytest.param("*/5 * * * *", utc(2024, 5, 1, 12, 3, 20), utc(2024, 5, 1, 12, 5), id="every-5-minutes"),
        pytest.param("*/5 * * * *", utc(2024, 5, 1, 12, 55), utc(2024, 5, 1, 13, 0), id="every-5-minutes-wrap"),
        pytest.param("*/10 * * * * *", utc(2024, 5, 1, 12, 0, 55), utc(2024, 5, 1, 12, 1, 0), id="every-10-seconds"),
        pytest.param("0 9 * * MON-FRI", utc(2024, 5, 3, 10), utc(2024, 5, 6, 9), id="weekdays-skip-weekend"),
        pytest.param("0 0 1 JAN *", utc(2024, 5, 3), utc(2025, 1, 1), id="new-year"),
        pytest.param("0 12 * * sat,SUN", utc(2024, 5, 1), utc(2024, 5, 4, 12), id="weekend-names"),
        # dom/dow: either one when both are restricted, both when one carries the star bit
        pytest.param("0 0 13 * FRI", utc(2024, 5, 1), utc(2024, 5, 3), id="both-restricted-or-friday"),
        pytest.param("0 0 13 * FRI", utc(2024, 5, 10, 1), utc(2024, 5, 13), id="both-restricted-or-13th"),
        pytest.param("0 0 13 * *", utc(2024, 5, 1), utc(2024, 5, 13), id="dow-star-and"),
        pytest.param("0 0 * * FRI", utc(2024, 5, 1), utc(2024, 5, 3), id="dom-star-and"),
        pytest.param("0 0 ? * FRI", utc(2024, 5, 1), utc(2024, 5, 3), id="dom-question-mark-and"),
        pytest.param("0 0 */1 * FRI", utc(2024, 5, 1), utc(2024, 5, 3), id="dom-star-step-1-keeps-and"),
        pytest.param("0 0 */2 * FRI", utc(2024, 5, 1), utc(2024, 5, 1, 0, 0) + timedelta(days=2), id="dom-step-or"),
        pytest.param("0 0 1-31 * FRI", utc(2024, 5, 1), utc(2024, 5, 2), id="dom-full-range-is-not-star"),
        pytest.param("0 0 1 * SUN", utc(2024, 5, 1, 1), utc(2024, 5, 5), id="first-or-sunday"),
        # never
        pytest.param("0 0 30 2 *", utc(2024, 1, 1), None, id="february-30"),
        pytest.param("0 0 0 31 Apr ?", utc(2012, 7, 9, 23, 35), None, id="april-31"),
        pytest.param("0 0 29 2 *", utc(2096, 3, 1), None, id="leap-day-beyond-five-years"),
        pytest.param("0 0 29 2 *", utc(2099, 3, 1), utc(2104, 2, 29), id="leap-day-within-five-years"),
        pytest.param(", * * * *", utc(2024, 1, 1), None, id="empty-field-never-matches"),
        pytest.param("0 0 , * ,", utc(2024, 1, 1), None, id="no-day-never-matches"),
        # descriptors
        pytest.param("@yearly", utc(2024, 5, 1), utc(2025, 1, 1), id="yearly"),
        pytest.param("@annually", utc(2024, 1, 1), utc(2025, 1, 1), id="annually-strictly-after"),
        pytest.param("@monthly", utc(2024, 5, 15), utc(2024, 6, 1), id="monthly"),
        pytest.param("@weekly", utc(2024, 5, 1), utc(2024, 5, 5), id="weekly-is-sunday-midnight"),
        pytest.param("@daily", utc(2024, 5, 1, 0, 0, 1), utc(2024, 5, 2), id="daily"),
        pytest.param("@midnight", utc(2024, 2, 28, 13), utc(2024, 2, 29), id="midnight"),
        pytest.param("@hourly", utc(2024, 5, 1, 23, 30), utc(2024, 5, 2), id="hourly"),
    ],
)
def test_next_in_utc(schedule: str, after: datetime, expected: datetime | None) -> None:
    assert next_of(schedule, after) == expected


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        # robfig TestNext: New York, 2am EST -> 3am EDT on 2012-03-11
        pytest.param("0 30 2 11 Mar ?", "2012-03-11T00:00:00-05:00", "2013-03-11T02:30:00-04:00", id="ny-gap-skipped"),
        pytest.param("0 0 * * * ?", "2012-03-11T00:00:00-05:00", "2012-03-11T01:00:00-05:00", id="ny-hourly-1"),
        pytest.param("0 0 * * * ?", "2012-03-11T01:00:00-05:00", "2012-03-11T03:00:00-04:00", id="ny-hourly-gap"),
        pytest.param("0 0 * * * ?", "2012-03-11T03:00:00-04:00", "2012-03-11T04:00:00-04:00", id="ny-hourly-3"),
        pytest.param("0 0 1 * * ?", "2012-03-11T01:00:00-05:00", "2012-03-12T01:00:00-04:00", id="ny-1am-next-day"),
        pytest.param("0 0 2 * * ?", "2012-03-11T00:00:00-05:00", "2012-03-12T02:00:00-04:00", id="ny-2am-skipped"),
        # 2am EDT -> 1am EST on 2012-11-04
        pytest.param("0 30 2 04 Nov ?", "2012-11-04T00:00:00-04:00", "2012-11-04T02:30:00-05:00", id="ny-fall-2:30"),
        pytest.param("0 30 1 04 Nov ?", "2012-11-04T01:45:00-04:00", "2012-11-04T01:30:00-05:00", id="ny-fall-twice"),
        pytest.param("0 0 * * * ?", "2012-11-04T00:00:00-04:00", "2012-11-04T01:00:00-04:00", id="ny-fall-hourly-1"),
        pytest.param("0 0 * * * ?", "2012-11-04T01:00:00-04:00", "2012-11-04T01:00:00-05:00", id="ny-fall-repeat"),
        pytest.param("0 0 * * * ?", "2012-11-04T01:00:00-05:00", "2012-11-04T02:00:00-05:00", id="ny-fall-hourly-2"),
        pytest.param("0 0 1 * * ?", "2012-11-04T00:00:00-04:00", "2012-11-04T01:00:00-04:00", id="ny-1am-first"),
        pytest.param("0 0 1 * * ?", "2012-11-04T01:00:00-04:00", "2012-11-04T01:00:00-05:00", id="ny-1am-again"),
        pytest.param("0 0 1 * * ?", "2012-11-04T01:00:00-05:00", "2012-11-05T01:00:00-05:00", id="ny-1am-then"),
        pytest.param("0 0 2 * * ?", "2012-11-04T00:00:00-04:00", "2012-11-04T02:00:00-05:00", id="ny-fall-2am"),
        pytest.param("0 0 3 * * ?", "2012-11-04T03:00:00-05:00", "2012-11-05T03:00:00-05:00", id="ny-fall-3am"),
        pytest.param("0 0 3 3 * ?", "2012-11-04T00:00:00-04:00", "2012-12-03T03:00:00-05:00", id="ny-monthly"),
    ],
)
def test_next_across_new_york_dst(schedule: str, after: str, expected: str) -> None:
    got = next_of(schedule, at(after), "America/New_York")
    assert got is not None
    assert got.timestamp() == at(expected).timestamp()
    assert got.utcoffset() == at(expected).utcoffset()
    assert got.tzinfo is NEW_YORK


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        # 2024-03-31: 02:00 CET -> 03:00 CEST; 02:30 does not exist that day
        pytest.param("30 2 * * *", "2024-03-30T12:00:00+01:00", "2024-04-01T02:30:00+02:00", id="gap-skipped"),
        pytest.param("0 * * * *", "2024-03-31T01:00:00+01:00", "2024-03-31T03:00:00+02:00", id="hourly-over-gap"),
        pytest.param("30 3 * * *", "2024-03-31T00:00:00+01:00", "2024-03-31T03:30:00+02:00", id="after-gap"),
        pytest.param("0 0 * * *", "2024-03-30T12:00:00+01:00", "2024-03-31T00:00:00+01:00", id="midnight-before"),
        # 2024-10-27: 03:00 CEST -> 02:00 CET; 02:30 happens twice and fires twice
        pytest.param("30 2 * * *", "2024-10-27T00:00:00+02:00", "2024-10-27T02:30:00+02:00", id="fold-first"),
        pytest.param("30 2 * * *", "2024-10-27T02:30:00+02:00", "2024-10-27T02:30:00+01:00", id="fold-second"),
        pytest.param("30 2 * * *", "2024-10-27T02:30:00+01:00", "2024-10-28T02:30:00+01:00", id="fold-then-next-day"),
        pytest.param("0 * * * *", "2024-10-27T02:00:00+02:00", "2024-10-27T02:00:00+01:00", id="hourly-repeats"),
        pytest.param("@daily", "2024-10-26T12:00:00+02:00", "2024-10-27T00:00:00+02:00", id="daily"),
        pytest.param("@daily", "2024-10-27T00:00:00+02:00", "2024-10-28T00:00:00+01:00", id="daily-after-fold"),
    ],
)
def test_next_across_berlin_dst(schedule: str, after: str, expected: str) -> None:
    got = next_of(schedule, at(after), "Europe/Berlin")
    assert got is not None
    assert (got.timestamp(), got.utcoffset()) == (at(expected).timestamp(), at(expected).utcoffset())


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        # robfig issue 157: DST makes midnight not exist in Sao Paulo
        pytest.param("0 0 9 10 * ?", "2018-10-17T05:00:00-04:00", "2018-11-10T06:00:00-05:00", id="november"),
        pytest.param("0 0 9 22 * ?", "2018-02-14T05:00:00-05:00", "2018-02-22T07:00:00-05:00", id="february"),
        # on the day itself: Go's time.Date puts the missing 00:00 at 23:00 the day before, robfig moves it to 01:00
        pytest.param("0 0 9 4 11 ?", "2018-10-17T05:00:00-04:00", "2018-11-04T09:00:00-02:00", id="on-the-dst-day"),
    ],
)
def test_next_when_midnight_does_not_exist(schedule: str, after: str, expected: str) -> None:
    got = next_of(schedule, at(after), "America/Sao_Paulo")
    assert got is not None and got.timestamp() == at(expected).timestamp()
    assert got.tzinfo is SAO_PAULO


def test_after_in_another_zone_is_converted() -> None:
    # 14:14 in India (+05:30), asked from an instant given in UTC (robfig TestNextWithTz)
    got = next_of("14 14 * * *", at("2016-01-03T13:09:03+05:30"), "Asia/Kolkata")
    assert got is not None and got.timestamp() == at("2016-01-03T14:14:00+05:30").timestamp()


def test_returned_datetime_is_aware_in_the_schedule_zone() -> None:
    got = next_of("0 9 * * *", utc(2024, 1, 1, 12), "Asia/Tokyo")
    assert got == datetime(2024, 1, 2, 9, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert got is not None and str(got.tzinfo) == "Asia/Tokyo"


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_schedule("* * * * *", "UTC").next(datetime(2024, 1, 1))


def test_far_future_gives_none() -> None:
    assert next_of("0 0 29 2 *", utc(9998, 3, 1)) is None


def test_consecutive_fires_of_every_second_schedule() -> None:
    schedule = parse_schedule("* * * * * *", "UTC")
    moment = utc(2024, 2, 28, 23, 59, 58)
    fires = []
    for _ in range(4):
        found = schedule.next(moment)
        assert found is not None
        fires.append(found)
        moment = found
    assert fires == [
        utc(2024, 2, 28, 23, 59, 59),
        utc(2024, 2, 29),
        utc(2024, 2, 29, 0, 0, 1),
        utc(2024, 2, 29, 0, 0, 2),
    ]


# -- the local zone ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz_env", "offset_in_january"),
    [
        pytest.param("Asia/Tokyo", timedelta(hours=9), id="zone-name"),
        pytest.param(":Asia/Tokyo", timedelta(hours=9), id="leading-colon"),
        pytest.param("", timedelta(0), id="empty-is-utc"),
        pytest.param("UTC", timedelta(0), id="utc"),
        pytest.param("Not/AZone", timedelta(0), id="unknown-falls-back-to-utc"),
    ],
)
def test_local_zone_follows_tz(monkeypatch: pytest.MonkeyPatch, tz_env: str, offset_in_january: timedelta) -> None:
    monkeypatch.setenv("TZ", tz_env)
    assert local_zone().utcoffset(datetime(2024, 1, 1)) == offset_in_january


def test_no_timezone_schedules_in_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    schedule = parse_schedule("0 9 * * *")
    got = schedule.next(utc(2024, 7, 1, 12))  # 08:00 EDT
    assert got is not None and got.timestamp() == at("2024-07-01T09:00:00-04:00").timestamp()
    assert isinstance(schedule, Schedule)


def test_local_keyword_is_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert parse_schedule("0 9 * * *", "Local").location == ZoneInfo("Asia/Tokyo")
