"""Cron schedules as a PingSource reads them: robfig/cron v3 with SecondOptional|Minute|Hour|Dom|Month|Dow|Descriptor.

A schedule has 5 fields (minute hour dom month dow) or 6 (seconds first); each field is a comma list of
`*`/`?`, `N`, `N-M`, each optionally `/step`, with month (JAN-DEC) and weekday (SUN-SAT) names in any case.
Descriptors `@yearly @annually @monthly @weekly @daily @midnight @hourly` stand for fixed schedules; `@every` is
refused as Knative's PingSource validation refuses it. A `CRON_TZ=<zone> ` or `TZ=<zone> ` prefix picks the zone;
without one the local zone is used. Error messages are robfig's (and Go's), word for word.

Fields are bit sets. Bit 63 is robfig's "star bit": set when a field was written `*` or `?` (or `*/1`). If the
day-of-month or the day-of-week field carries it, a day must match both fields, otherwise either one.
`Schedule.next` walks wall-clock fields in the schedule's zone the way robfig's `SpecSchedule.Next` does,
including how Go's `time.Date` resolves wall times that a DST change skips or repeats, and gives up (None) once
the search passes five years beyond its start.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["CronError", "Schedule", "local_zone", "parse_schedule", "validate_timezone"]

STAR_BIT = 1 << 63

_MONTH_NAMES = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11,
    "dec": 12,
}  # fmt: skip
_DOW_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

# Go's unicode.IsSpace set, which strings.Fields and strings.TrimSpace use (Python's str.split adds \x1c-\x1f).
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_GO_FIELDS = re.compile(f"[^{_GO_SPACE}]+")
_GO_TRIM = re.compile(f"^[{_GO_SPACE}]+|[{_GO_SPACE}]+$")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_ONE_SECOND = timedelta(seconds=1)
_YEAR_HORIZON = 5


class CronError(ValueError):
    """A schedule or zone robfig/cron (or PingSource validation) refuses; `str()` is the upstream message."""


@dataclass(frozen=True)
class _Bounds:
    low: int
    high: int
    names: dict[str, int] | None = None


_SECONDS = _Bounds(0, 59)
_MINUTES = _Bounds(0, 59)
_HOURS = _Bounds(0, 23)
_DOM = _Bounds(1, 31)
_MONTHS = _Bounds(1, 12, _MONTH_NAMES)
_DOW = _Bounds(0, 6, _DOW_NAMES)


@dataclass(frozen=True)
class _Wall:
    """Wall-clock fields of an instant in a zone (weekday: Sunday = 0, as Go counts)."""

    year: int
    month: int
    day: int
    hour: int
    minute: int
    second: int
    weekday: int


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: one bit set per field, plus the zone its wall clock runs in."""

    second: int
    minute: int
    hour: int
    dom: int
    month: int
    dow: int
    location: tzinfo

    def next(self, after: datetime) -> datetime | None:
        """The first matching second strictly after `after` (aware), in the schedule's zone; None if none."""
        if after.tzinfo is None or after.utcoffset() is None:
            raise ValueError("after must be a timezone-aware datetime")
        if not self._can_match():
            return None  # robfig would reach the same answer after scanning five years second by second
        try:
            found = _Search(self).run((after - _EPOCH) // _ONE_SECOND + 1)
        except (OverflowError, ValueError):  # beyond what datetime can represent (year 9999)
            return None
        return None if found is None else datetime.fromtimestamp(found, self.location)

    def _can_match(self) -> bool:
        """False when a field matches nothing at all (only `,` can write that), so no time ever matches."""
        dom, dow = self.dom & ~STAR_BIT, self.dow & ~STAR_BIT
        days = (dom and dow) if (self.dom | self.dow) & STAR_BIT else (dom or dow)
        return all(field & ~STAR_BIT for field in (self.second, self.minute, self.hour, self.month, days))

    def _day_matches(self, wall: _Wall) -> bool:
        dom_match = bool(1 << wall.day & self.dom)
        dow_match = bool(1 << wall.weekday & self.dow)
        if (self.dom | self.dow) & STAR_BIT:
            return dom_match and dow_match
        return dom_match or dow_match


class _Search:
    """One run of robfig's Next: the current instant `ts` (Unix seconds) and its wall clock `wall`."""

    def __init__(self, schedule: Schedule) -> None:
        self.s = schedule
        self.loc = schedule.location
        self.ts = 0
        self.wall = _wall(0, self.loc)
        self.added = False

    def move(self, ts: int) -> None:
        self.ts = ts
        self.wall = _wall(ts, self.loc)

    def reset_to(self, year: int, month: int, day: int, hour: int) -> None:
        """The first time a field must advance, the smaller fields restart from zero (robfig's `added`)."""
        if not self.added:
            self.added = True
            self.move(_go_date(year, month, day, hour, 0, 0, self.loc))

    def run(self, start: int) -> int | None:
        self.move(start)
        year_limit = self.wall.year + _YEAR_HORIZON
        while self.wall.year <= year_limit:
            steps = (self.advance_month, self.advance_day, self.advance_hour, self.advance_minute, self.advance_second)
            if all(step() for step in steps):  # stops at the first field that wrapped
                return self.ts
        return None

    # Each advance_* returns False when its field wrapped around, which restarts the search from the month.

    def advance_month(self) -> bool:
        while not 1 << self.wall.month & self.s.month:
            w = self.wall
            self.reset_to(w.year, w.month, 1, 0)
            w = self.wall
            self.move(_go_date(w.year, w.month + 1, w.day, w.hour, w.minute, w.second, self.loc))
            if self.wall.month == 1:
                return False
        return True

    def advance_day(self) -> bool:
        while not self.s._day_matches(self.wall):
            w = self.wall
            self.reset_to(w.year, w.month, w.day, 0)
            w = self.wall
            self.move(_go_date(w.year, w.month, w.day + 1, w.hour, w.minute, w.second, self.loc))
            # Midnight may not exist (or repeat) on a DST day: snap back to the hour robfig expects.
            hour = self.wall.hour
            if hour != 0:
                self.move(self.ts + (24 - hour) * 3600 if hour > 12 else self.ts - hour * 3600)
            if self.wall.day == 1:
                return False
        return True

    def advance_hour(self) -> bool:
        while not 1 << self.wall.hour & self.s.hour:
            w = self.wall
            self.reset_to(w.year, w.month, w.day, w.hour)
            self.move(self.ts + 3600)
            if self.wall.hour == 0:
                return False
        return True

    def advance_minute(self) -> bool:
        while not 1 << self.wall.minute & self.s.minute:
            if not self.added:
                self.added = True
                self.ts -= self.ts % 60  # Go truncates the absolute time, not the wall clock
            self.move(self.ts + 60)
            if self.wall.minute == 0:
                return False
        return True

    def advance_second(self) -> bool:
        while not 1 << self.wall.second & self.s.second:
            self.added = True
            self.move(self.ts + 1)
            if self.wall.second == 0:
                return False
        return True


def _wall(ts: int, loc: tzinfo) -> _Wall:
    t = datetime.fromtimestamp(ts, loc)
    return _Wall(t.year, t.month, t.day, t.hour, t.minute, t.second, t.isoweekday() % 7)


def _offset(ts: int, loc: tzinfo) -> int:
    offset = datetime.fromtimestamp(ts, loc).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def _go_date(year: int, month: int, day: int, hour: int, minute: int, second: int, loc: tzinfo) -> int:
    """Go's `time.Date`: out-of-range fields carry over; a skipped or repeated wall time takes the offset in
    force at (wall time read as UTC, shifted by the offset in force there) — e.g. 02:30 on a spring-forward day
    is 01:30 EST in New York but 03:30 CEST in Berlin."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    days = date(year, month, 1).toordinal() - _EPOCH_ORDINAL + day - 1
    wall = days * 86_400 + hour * 3_600 + minute * 60 + second
    return wall - _offset(wall - _offset(wall, loc), loc)


# -- parsing -----------------------------------------------------------------------------------------------------


def parse_schedule(schedule: str, timezone: str | None = None) -> Schedule:
    """Parse a PingSource schedule; a non-empty `timezone` is applied as PingSource does, as a `CRON_TZ=` prefix.

    A bad zone is reported before `@every` (robfig fails on the zone first; Knative adds its `@every` error on
    its own), so a caller that mirrors Knative's two checks gets both messages.
    """
    spec = f"CRON_TZ={timezone} {schedule}" if timezone else schedule
    if spec == "":
        raise CronError("empty spec string")
    location: tzinfo | None = None
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space, equals = spec.find(" "), spec.find("=")
        # robfig slices up to the first space and panics without one; here the schedule is then simply empty.
        end = space if space >= 0 else len(spec)
        location = _load_location(spec[equals + 1 : end])
        spec = _GO_TRIM.sub("", spec[end:])
    if "@every" in schedule:
        raise CronError("unsupported descriptor @every")
    if location is None:
        location = local_zone()
    if spec.startswith("@"):
        return _descriptor(spec, location)
    return _fields(_GO_FIELDS.findall(spec), location)


def validate_timezone(name: str) -> None:
    """Raise CronError when Go's `time.LoadLocation` would refuse `name` (`""` and `UTC` mean UTC)."""
    _load_location(name)


def local_zone() -> tzinfo:
    """The zone Go calls `time.Local`: `$TZ` when set (empty or unknown → UTC), else /etc/localtime, else UTC."""
    name = os.environ.get("TZ")
    try:
        if name is None:
            with open("/etc/localtime", "rb") as handle:
                return ZoneInfo.from_file(handle, key="localtime")
        name = name.removeprefix(":")
        if name in ("", "UTC"):
            return UTC
        if name.startswith("/"):
            with open(name, "rb") as handle:
                return ZoneInfo.from_file(handle, key=name)
        return ZoneInfo(name)
    except (OSError, ValueError, KeyError):
        return UTC


def _load_location(name: str) -> tzinfo:
    if name in ("", "UTC"):
        return UTC
    if name == "Local":
        return local_zone()
    if ".." in name or name[0] in "/\\":
        raise CronError(f"provided bad location {name}: time: invalid location name")
    try:
        return ZoneInfo(name)
    except (OSError, ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        raise CronError(f"provided bad location {name}: unknown time zone {name}") from None


def _descriptor(spec: str, location: tzinfo) -> Schedule:
    star_dom, star_month, star_dow = _all(_DOM), _all(_MONTHS), _all(_DOW)
    midnight = (1, 1, 1)  # second 0, minute 0, hour 0
    if spec in ("@yearly", "@annually"):
        return Schedule(*midnight, 1 << 1, 1 << 1, star_dow, location)
    if spec == "@monthly":
        return Schedule(*midnight, 1 << 1, star_month, star_dow, location)
    if spec == "@weekly":
        return Schedule(*midnight, star_dom, star_month, 1 << 0, location)
    if spec in ("@daily", "@midnight"):
        return Schedule(*midnight, star_dom, star_month, star_dow, location)
    if spec == "@hourly":
        return Schedule(1, 1, _all(_HOURS), star_dom, star_month, star_dow, location)
    raise CronError(f"unrecognized descriptor: {spec}")


def _fields(fields: list[str], location: tzinfo) -> Schedule:
    if not 5 <= len(fields) <= 6:
        raise CronError(f"expected 5 to 6 fields, found {len(fields)}: [{' '.join(fields)}]")
    if len(fields) == 5:
        fields = ["0", *fields]  # the optional seconds field defaults to 0
    bounds = (_SECONDS, _MINUTES, _HOURS, _DOM, _MONTHS, _DOW)
    second, minute, hour, dom, month, dow = (_field(f, b) for f, b in zip(fields, bounds, strict=True))
    return Schedule(second, minute, hour, dom, month, dow, location)


def _field(field: str, bounds: _Bounds) -> int:
    bits = 0
    for expr in field.split(","):
        if expr:  # strings.FieldsFunc drops empty items, so `1,,2` is `1,2` and `,` matches nothing
            bits |= _range(expr, bounds)
    return bits


def _range(expr: str, bounds: _Bounds) -> int:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    star = 0
    if low_and_high[0] in ("*", "?"):
        start, end, star = bounds.low, bounds.high, STAR_BIT
    else:
        start = _int_or_name(low_and_high[0], bounds.names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], bounds.names)
        else:
            raise CronError(f"too many hyphens: {expr}")
    step = 1
    if len(range_and_step) == 2:
        step = _non_negative_int(range_and_step[1])
        if len(low_and_high) == 1:
            end = bounds.high  # `N/step` means `N-max/step`
        if step > 1:
            star = 0
    elif len(range_and_step) > 2:
        raise CronError(f"too many slashes: {expr}")
    if start < bounds.low:
        raise CronError(f"beginning of range ({start}) below minimum ({bounds.low}): {expr}")
    if end > bounds.high:
        raise CronError(f"end of range ({end}) above maximum ({bounds.high}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    return _bits(start, end, step) | star


def _int_or_name(expr: str, names: dict[str, int] | None) -> int:
    if names is not None and expr.lower() in names:
        return names[expr.lower()]
    return _non_negative_int(expr)


def _non_negative_int(expr: str) -> int:
    value = _go_atoi(expr)
    if value < 0:
        raise CronError(f"negative number ({value}) not allowed: {expr}")
    return value


def _go_atoi(text: str) -> int:
    """Go's `strconv.Atoi` (64-bit): optional sign, ASCII digits only, int64 range."""
    negative = text.startswith("-")
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits:
        raise _atoi_error(text, "invalid syntax")
    value = 0
    for char in digits:
        if not "0" <= char <= "9":
            raise _atoi_error(text, "invalid syntax")
        value = value * 10 + ord(char) - ord("0")
        if value >= 1 << 64:
            raise _atoi_error(text, "value out of range")
    if value > (1 << 63) - (0 if negative else 1):
        raise _atoi_error(text, "value out of range")
    return -value if negative else value


def _atoi_error(text: str, reason: str) -> CronError:
    return CronError(f"failed to parse int from {text}: strconv.Atoi: parsing {_go_quote(text)}: {reason}")


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _go_quote(text: str) -> str:
    """Go's `strconv.Quote`, as the text of strconv errors shows the offending input."""
    out = []
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        elif char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def _bits(start: int, end: int, step: int) -> int:
    bits = 0
    for value in range(start, end + 1, step):
        bits |= 1 << value
    return bits


def _all(bounds: _Bounds) -> int:
    return _bits(bounds.low, bounds.high, 1) | STAR_BIT
