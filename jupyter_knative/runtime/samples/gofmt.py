"""Text exactly as the Go programs behind the sample images print it.

`json_indent` is `encoding/json.Indent` (tokens kept byte for byte, whitespace re-laid, empty `{}`/`[]`
kept compact, trailing whitespace kept); `json_marshal` is `json.Marshal` of a decoded value (sorted
keys, compact, HTML-safe escapes, float64 numbers); `rfc3339nano` is `Time.UTC().Format(RFC3339Nano)`;
`log_prefix` is the standard logger's `2006/01/02 15:04:05 `.
"""

from __future__ import annotations

import json
import math
import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

__all__ = ["go_quote", "json_indent", "json_marshal", "log_prefix", "rfc3339nano"]


def json_indent(src: bytes, prefix: str = "  ", indent: str = "  ") -> bytes | None:
    """`json.Indent(&out, src, prefix, indent)`, or None where Go would return an error."""
    text = src.decode("utf-8", "surrogateescape")
    try:
        json.loads(text, parse_constant=_reject)
    except ValueError:
        return None
    out: list[str] = []
    depth = 0
    need_indent = False
    in_string = escaped = False
    body = text.lstrip(" \t\r\n")
    stripped = body.rstrip(" \t\r\n")
    trailing = body[len(stripped):]
    for c in stripped:
        if in_string:
            out.append(c)
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
            continue
        if c in " \t\r\n":
            continue
        if need_indent and c not in "}]":
            need_indent = False
            depth += 1
            out.append("\n" + prefix + indent * depth)
        if c in "{[":
            need_indent = True
            out.append(c)
        elif c == ",":
            out.append(",\n" + prefix + indent * depth)
        elif c == ":":
            out.append(": ")
        elif c in "}]":
            if need_indent:
                need_indent = False
            else:
                depth -= 1
                out.append("\n" + prefix + indent * depth)
            out.append(c)
        else:
            if c == '"':
                in_string = True
            out.append(c)
    return ("".join(out) + trailing).encode("utf-8", "surrogateescape")


def _reject(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_marshal(value: Any) -> bytes:
    """`json.Marshal` of what `json.Unmarshal` into an `interface{}` gives for `value`."""
    return _marshal(value).encode("utf-8")


def _marshal(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return _float(float(value))
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ",".join(_marshal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(_string(k) + ":" + _marshal(value[k]) for k in sorted(value)) + "}"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _float(f: float) -> str:
    if math.isinf(f) or math.isnan(f):
        raise ValueError(f"json: unsupported value: {f}")
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        text = repr(f)  # shortest digits, exponent form in this range, as strconv's 'e' with -1
        return re.sub(r"e([+-])0(\d)$", r"e\1\2", text)
    return format(Decimal(repr(f)).normalize(), "f")


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
            "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _string(s: str) -> str:
    out = ['"']
    for c in s:
        esc = _ESCAPES.get(c)
        if esc is not None:
            out.append(esc)
        elif c < " ":
            out.append(f"\\u{ord(c):04x}")
        elif "\ud800" <= c <= "\udfff":
            out.append("\ufffd")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$")


def rfc3339nano(value: str) -> str:
    """An RFC 3339 time re-printed in UTC with nanoseconds and no trailing zeros. `ValueError` if invalid."""
    m = _RFC3339.match(value.strip())
    if m is None:
        raise ValueError(f'parsing time "{value}" as RFC 3339: cannot parse')
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    stamp = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    zone = m.group(8)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        stamp -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    fraction = (m.group(7) or "")[:9].rstrip("0")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def log_prefix(now: float | None = None) -> str:
    """The Go standard logger's default prefix (local time)."""
    return time.strftime("%Y/%m/%d %H:%M:%S ", time.localtime(now))


def go_quote(s: str) -> str:
    """`strconv.Quote` for the printable strings error messages carry."""
    out = ['"']
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif c < " " or c == "\x7f":
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)
