"""Go's spelling of values, and Go's parsers, where Knative's messages depend on them.

Knative builds its messages with `fmt` (`%v`, `%q`, `%g`), parses annotation values with `strconv` and
`time.ParseDuration`, and prints durations with `time.Duration.String`. What a user reads (and whether a
value is accepted at all) follows those rules, so they are restated here: `"1.5s"` is a duration, `" 3"`
is not an integer, `6s` prints as `6s` and one hour as `1h0m0s`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

__all__ = ["Duration", "go_float", "go_quote", "go_value", "parse_duration", "parse_float", "parse_int"]

_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
       "m": 60_000_000_000, "h": 3_600_000_000_000}
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)")
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)")
_SPECIAL_FLOATS = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "infinity": math.inf,
                   "+infinity": math.inf, "-infinity": -math.inf, "nan": math.nan}


class RangeError(ValueError):
    """The text is a number, but out of the type's range (Go's `strconv.ErrRange`)."""


@dataclass(frozen=True)
class Duration:
    """A `time.Duration` in nanoseconds; `str()` is Go's `Duration.String()`."""

    ns: int

    @classmethod
    def seconds(cls, s: float) -> Duration:
        return cls(round(s * 1_000_000_000))

    def __str__(self) -> str:
        ns = abs(self.ns)
        sign = "-" if self.ns < 0 else ""
        if ns == 0:
            return "0s"
        if ns < 1_000_000_000:
            for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
                if ns >= size:
                    return sign + _trim(ns, size) + unit
        hours, rest = divmod(ns, 3_600_000_000_000)
        minutes, rest = divmod(rest, 60_000_000_000)
        text = _trim(rest, 1_000_000_000) + "s"
        if hours or minutes:
            text = f"{minutes}m" + text
        if hours:
            text = f"{hours}h" + text
        return sign + text


def _trim(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = str(frac).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def parse_duration(text: str) -> Duration:
    """`time.ParseDuration`: `300ms`, `-1.5h`, `2h45m`; a bare `0` is allowed, other bare numbers are not."""
    s = text
    sign = 1
    if s[:1] in "+-" and s:
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return Duration(0)
    if not s:
        raise ValueError(f'time: invalid duration "{text}"')
    total = 0.0
    pos = 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if not m or m.group(1) in ("", ".") or m.group(2) not in _NS:
            raise ValueError(f'time: invalid duration "{text}"')
        total += float(m.group(1)) * _NS[m.group(2)]
        pos = m.end()
    if total > 2**63 - 1:
        raise ValueError(f'time: invalid duration "{text}"')
    return Duration(sign * round(total))


def parse_int(text: str, bits: int = 64) -> int:
    """`strconv.ParseInt(text, 10, bits)`: no spaces, no underscores; RangeError beyond the type."""
    if not _INT.fullmatch(text):
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    value = int(text)
    if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise RangeError(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


def parse_float(text: str) -> float:
    """`strconv.ParseFloat(text, 64)`: decimal or exponent forms, `Inf`, `NaN`; no surrounding spaces."""
    special = _SPECIAL_FLOATS.get(text.lower())
    if special is not None:
        return special
    if not _FLOAT.fullmatch(text):
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax')
    value = float(text)
    if math.isinf(value):
        raise RangeError(f'strconv.ParseFloat: parsing "{text}": value out of range')
    return value


def go_float(value: float) -> str:
    """`%v` of a float64 (`strconv` 'g', shortest digits): exponent form below 1e-4 and from 1e6 on."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    point = len(whole) + int(exp_text or 0)  # decimal point position within `digits`
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    sign = "-" if value < 0 else ""
    exponent = point - 1
    if exponent < -4 or exponent >= 6:
        tail = "." + digits[1:] if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{tail}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if point <= 0:
        return sign + "0." + "0" * -point + digits
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return sign + digits[:point] + "." + digits[point:]


def go_quote(text: str) -> str:
    """`%q` / `strconv.Quote`: double quotes, Go escapes, printable characters kept as they are."""
    out = ['"']
    named = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
             '"': '\\"', "\\": "\\\\"}
    for ch in text:
        if ch in named:
            out.append(named[ch])
        elif ch == " " or (ch.isprintable() and unicodedata.category(ch)[0] != "Z"):
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def go_value(value: Any) -> str:
    """`%v` of the values Knative's helpers format: strings bare, floats shortest, nil as `<nil>`."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)
