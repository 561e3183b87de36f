"""ISO-8601 periods as Knative's DeliverySpec reads them (rickb777/date `period.Parse`, then `Duration()`).

Accepted: an optional sign, `P`, then `<number><designator>` items — `Y`, `M` (months), `W`, `D` before `T`;
`H`, `M` (minutes), `S` after it — each at most once, in any order within its part. Numbers are digits with an
optional `.` or `,` fraction, of which only ONE digit is kept (truncated), because the library stores every
component in tenths. `P0` is the special zero. Months count 30.436875 days and years 365.2425 days.
"""

from __future__ import annotations

_DAY = 86_400.0
_SECONDS_PER_UNIT_DATE = {"Y": 365.2425 * _DAY, "M": 30.436875 * _DAY, "W": 7 * _DAY, "D": _DAY}
_SECONDS_PER_UNIT_TIME = {"H": 3_600.0, "M": 60.0, "S": 1.0}
_NUMBER_CHARS = frozenset("0123456789.,")


def parse_period(text: str) -> float:
    """Return the period's length in seconds; raise ValueError when `text` is not a valid period."""
    if text in ("", "-", "+"):
        raise ValueError("cannot parse a blank string as a period")
    if text == "P0":
        return 0.0
    rest, sign = _strip_sign(text)
    if not rest.startswith("P"):
        raise ValueError(f"{text}: expected 'P' period designator at the start")
    tenths = _sum_items(rest[1:], text)
    return sign * tenths / 10


def _strip_sign(text: str) -> tuple[str, int]:
    if text[0] == "-":
        return text[1:], -1
    if text[0] == "+":
        return text[1:], 1
    return text, 1


def _sum_items(body: str, original: str) -> float:
    """Total of the items in tenths of seconds (kept as tenths so `PT0.1S` stays exact)."""
    units = _SECONDS_PER_UNIT_DATE
    seen: set[str] = set()
    total = 0.0
    count = 0
    i = 0
    while i < len(body):
        if body[i] == "T":
            if units is _SECONDS_PER_UNIT_TIME:
                raise ValueError(f"{original}: 'T' designator cannot occur more than once")
            units, seen = _SECONDS_PER_UNIT_TIME, set()
            i += 1
            continue
        j = i
        while j < len(body) and body[j] in _NUMBER_CHARS:
            j += 1
        if j == len(body):
            raise ValueError(f"{original}: missing designator at the end")
        designator = body[j]
        if designator not in "YMWDHS":
            raise ValueError(f"{original}: expected a number not {designator!r}")
        if designator not in units:
            raise ValueError(f"{original}: {designator!r} designator cannot occur here")
        if designator in seen:
            raise ValueError(f"{original}: {designator!r} designator cannot occur more than once")
        seen.add(designator)
        total += _tenths(body[i:j], original, designator) * units[designator]
        count += 1
        i = j + 1
    if count == 0:
        raise ValueError(f"{original}: expected 'Y', 'M', 'W', 'D', 'H', 'M', or 'S' designator")
    return total


def _tenths(number: str, original: str, designator: str) -> int:
    """`12.34` → 123: the whole part and the first fractional digit, the rest dropped."""
    whole, _, fraction = number.replace(",", ".", 1).partition(".")
    if not whole.isdigit() or not (fraction == "" or fraction.isdigit()):
        raise ValueError(f"{original}: expected a number but found {designator!r}")
    return int(whole) * 10 + int(fraction[:1] or "0")
