"""What `kubectl get` shows: JSONPath evaluation, table cells, ages and timestamps.

`eval_jsonpath` is the subset of client-go's `util/jsonpath` that CRD `additionalPrinterColumns` and
`kubectl get -o jsonpath` use: fields (`.a.b`, `.a\\.b`), `['key']`, indexes and slices, `[*]`, `.*`,
unions, `..`, and filters `[?(@.type=="Ready")]`. Missing keys yield no value, as the apiserver's table
convertor allows them. `cell` turns the first value into the Table cell the CRD table convertor puts there,
`human_duration` is apimachinery's `duration.HumanDuration`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

__all__ = [
    "cell",
    "eval_jsonpath",
    "format_timestamp",
    "human_duration",
    "parse_timestamp",
    "render_jsonpath",
]


# --- timestamps -----------------------------------------------------------------------------------------

_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.ASCII)


def format_timestamp(t: float) -> str:
    """Seconds since the epoch as metav1.Time writes them: `2026-11-26T18:12:48Z` (truncated to seconds)."""
    return datetime.fromtimestamp(int(t // 1), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(s: str) -> float:
    """An RFC 3339 time (`Z` or an offset, optional fraction) as epoch seconds; ValueError if it is not."""
    m = _RFC3339.fullmatch(s)
    if m is None:
        raise ValueError(f"parsing time {s!r} as RFC 3339")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()
    return moment - _offset(s, m[8]) + (float(m[7]) if m[7] else 0.0)


def _offset(s: str, zone: str) -> int:
    if zone == "Z":
        return 0
    seconds = int(zone[1:3]) * 3600 + int(zone[4:6]) * 60
    if seconds >= 24 * 3600:
        raise ValueError(f"parsing time {s!r}: time zone offset out of range")
    return seconds if zone[0] == "+" else -seconds


# --- durations ------------------------------------------------------------------------------------------

def _trunc_div(a: int, b: int) -> int:
    """Go's integer division, which truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def human_duration(seconds: float) -> str:
    """duration.HumanDuration: `4s`, `2m3s`, `10m`, `3h2m`, `5h`, `2d3h`, `8d`, `2y45d`, `<invalid>`.

    Up to two seconds in the future count as now (clock skew); further is `<invalid>`.
    """
    ns = round(seconds * 1e9)
    whole_seconds = _trunc_div(ns, 10**9)
    if whole_seconds < -1:
        return "<invalid>"
    if whole_seconds < 0:
        return "0s"
    if whole_seconds < 120:
        return f"{whole_seconds}s"
    minutes, hours = whole_seconds // 60, whole_seconds // 3600
    days, years = hours // 24, hours // (24 * 365)
    if minutes < 10:
        return _two_units(minutes, "m", whole_seconds % 60, "s")
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return _two_units(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _two_units(days, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{days}d"
    if hours < 24 * 365 * 8:
        return _two_units(years, "y", days % 365, "d")
    return f"{years}y"


def _two_units(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big}{big_unit}{small}{small_unit}" if small else f"{big}{big_unit}"


# --- table cells ----------------------------------------------------------------------------------------

def cell(column_type: str, values: list[Any], now: float) -> Any:
    """The cell the CRD table convertor makes from a printer column's JSONPath results.

    Only the first value counts. No value, or a value of the wrong type for the column, gives None (JSON
    null), which kubectl prints as an empty cell.
    """
    if not values:
        return None
    value = values[0]
    if column_type == "string":
        return "<no value>" if value is None else go_text(value)  # what jsonpath prints for null
    return _typed_cell(column_type, value, now)


def _typed_cell(column_type: str, value: Any, now: float) -> Any:
    if column_type == "integer" and _is_number(value):
        return int(value)
    if column_type == "number" and _is_number(value):
        return float(value)
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if column_type == "date" and isinstance(value, str):
        return _age(value, now)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _age(timestamp: str, now: float) -> str:
    if timestamp in ("", "null"):
        return "<unknown>"  # the zero time
    try:
        return human_duration(now - parse_timestamp(timestamp))
    except ValueError:
        return "<invalid>"


# --- printing values as Go prints them ------------------------------------------------------------------

def go_float(value: float) -> str:
    """Go's `%v` for a float64 (strconv 'g', shortest): `0.5`, `100`, `1e+06`, `1.5e-05`."""
    if value != value or value in (float("inf"), float("-inf")):
        return "NaN" if value != value else "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + int(exponent)  # where the decimal point goes, counted in digits
    if -4 <= point - 1 < 6:
        body = _fixed(digits, point)
    else:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "") + f"e{point - 1:+03d}"
    return ("-" if sign else "") + body


def _fixed(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def go_text(value: Any) -> str:
    """A JSONPath result as kubectl prints it: objects and lists as JSON, scalars as Go's fmt.Print."""
    if isinstance(value, dict | list):
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    return str(value)


# --- JSONPath: syntax -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Literal:
    value: Any  # a quoted string, a number or a boolean


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Wildcard:
    pass


@dataclass(frozen=True)
class _Recursive:
    pass


@dataclass(frozen=True)
class _Slice:
    start: int | None
    end: int | None
    step: int | None
    single: bool  # `[i]`: the end is derived as start + 1


@dataclass(frozen=True)
class _Union:
    branches: tuple[tuple[_Node, ...], ...]


@dataclass(frozen=True)
class _Filter:
    left: tuple[_Node, ...]
    operator: str  # exists, ==, !=, <, >, <=, >=
    right: tuple[_Node, ...] = ()


_Node = _Literal | _Field | _Wildcard | _Recursive | _Slice | _Union | _Filter
_TERMINATORS = " \t\r\n.,[]$@{}"
_SLICE = re.compile(r"(-?[0-9]*)(:-?[0-9]*)?(:-?[0-9]*)?")
_FILTER = re.compile(r"([^!<>=]+)([!<>=]+)(.+?)")
_OPERATORS = ("==", "!=", "<", ">", "<=", ">=")


def _parse_template(text: str) -> list[str | tuple[_Node, ...]]:
    """Split a template into plain text and `{action}` parts; text without braces is one action."""
    if "{" not in text:
        text = "{" + text + "}"
    parts: list[str | tuple[_Node, ...]] = []
    pos = 0
    while (start := text.find("{", pos)) >= 0:
        if start > pos:
            parts.append(text[pos:start])
        nodes, pos = _ActionParser(text, start + 1).parse()
        parts.append(nodes)
    if pos < len(text):
        parts.append(text[pos:])
    return parts


class _ActionParser:
    """Parses one action up to its closing `}`, as client-go's jsonpath parser reads it."""

    def __init__(self, text: str, pos: int, end: str = "}") -> None:
        self.text, self.pos, self.end = text, pos, end
        self.nodes: list[_Node] = []

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos:self.pos + n]

    def parse(self) -> tuple[tuple[_Node, ...], int]:
        while True:
            if self.end and self.peek() == self.end:
                return tuple(self.nodes), self.pos + 1
            if self.pos >= len(self.text):
                if self.end:
                    raise ValueError("unclosed action")
                return tuple(self.nodes), self.pos
            self.step()

    def step(self) -> None:
        c = self.peek()
        if self.peek(3) == "[?(":
            self.nodes.append(self.filter())
        elif self.peek(2) == "..":
            self.recursive()
        elif c in " @$":
            self.pos += 1
        elif c in "\r\n":
            raise ValueError("unclosed action")
        elif c == "[":
            self.nodes.extend(self.array())
        elif c in "\"'":
            self.nodes.append(_Literal(self.quoted(c)))
        elif c == ".":
            self.pos += 1
            self.nodes.append(self.field())
        elif c in "+-" or c.isdigit():
            self.nodes.append(_Literal(self.number()))
        elif c == "_" or c.isalnum():
            self.nodes.append(_Literal(self.identifier()))
        else:
            raise ValueError(f"unrecognized character in action: U+{ord(c):04X} {c!r}")

    def field(self) -> _Node:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _TERMINATORS:
            self.pos += 2 if self.text[self.pos] == "\\" else 1
        name = self.text[start:self.pos].replace("\\", "")
        return _Wildcard() if name == "*" else _Field(name)

    def recursive(self) -> None:
        if self.nodes and isinstance(self.nodes[-1], _Recursive):
            raise ValueError("invalid multiple recursive descent")
        self.pos += 2
        self.nodes.append(_Recursive())
        if self.peek() == "_" or self.peek().isalnum():
            self.nodes.append(self.field())

    def array(self) -> list[_Node]:
        close, newline = self.text.find("]", self.pos), self.text.find("\n", self.pos)
        if close < 0 or 0 <= newline < close:
            raise ValueError("unterminated array")
        inner, self.pos = self.text[self.pos + 1:close], close + 1
        if inner == "*":
            inner = ":"
        if "," in inner:
            return [_Union(tuple(_parse_action("[" + piece.strip(" ") + "]") for piece in inner.split(",")))]
        if m := re.fullmatch(r"'([^']*)'", inner):
            return list(_parse_action("." + m[1]))  # dots in the key split it, unless escaped
        return [_slice(inner)]

    def filter(self) -> _Filter:
        self.pos += 3
        start, opened, closed, pair = self.pos, False, False, ""
        while True:
            c = self.peek()
            if c in ("", "\n"):
                raise ValueError("unterminated filter")
            self.pos += 1
            if c in "\"'" and not opened:
                opened, pair = True, c
            elif c == pair and self.text[self.pos - 2] != "\\":
                closed = True
            elif c == ")" and opened == closed:
                break
        if self.peek() != "]":
            raise ValueError("unclosed array expect ]")
        self.pos += 1
        return _filter(self.text[start:self.pos - 2])

    def quoted(self, quote: str) -> str:
        start = self.pos
        self.pos += 1
        while self.peek() != quote or self.text[self.pos - 1] == "\\":
            if self.peek() in ("", "\n"):
                raise ValueError("unterminated quoted string")
            self.pos += 1
        self.pos += 1
        return _unquote(self.text[start + 1:self.pos - 1])

    def number(self) -> int | float:
        start = self.pos
        self.pos += 1 if self.peek() in "+-" else 0
        while self.peek() == "." or self.peek().isdigit():
            self.pos += 1
        text = self.text[start:self.pos]
        try:
            return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else float(text)
        except ValueError:
            raise ValueError(f"cannot parse number {text}") from None

    def identifier(self) -> bool:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _TERMINATORS:
            self.pos += 1
        word = self.text[start:self.pos]
        if word not in ("true", "false"):
            raise ValueError(f"unrecognized identifier {word}")  # range/end are not supported
        return word == "true"


def _parse_action(text: str) -> tuple[_Node, ...]:
    return _ActionParser(text, 0, end="").parse()[0]


def _slice(inner: str) -> _Slice:
    """`[i]`, `[i:j]`, `[i:j:k]` with any part left out; `[*]` is `[:]`."""
    m = _SLICE.fullmatch(inner)
    if m is None:
        raise ValueError(f"invalid array index {inner}")
    start, end, step = _index_part(m[1]), _index_part((m[2] or ":")[1:]), _index_part((m[3] or ":")[1:])
    return _Slice(start, end, step, single=m[2] is None)


def _index_part(text: str) -> int | None:
    if text == "-":
        raise ValueError("array index - is not a number")
    return int(text) if text else None


def _filter(text: str) -> _Filter:
    m = _FILTER.fullmatch(text)
    if m is None:
        return _Filter(_parse_action(text), "exists")
    if m[2] not in _OPERATORS:
        raise ValueError(f"unrecognized filter operator {m[2]}")
    return _Filter(_parse_action(m[1]), m[2], _parse_action(m[3]))


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b",
            "f": "\f", "v": "\v"}


def _unquote(body: str) -> str:
    out, chars = [], iter(body)
    for c in chars:
        if c == "\\":
            escaped = next(chars, "")
            if escaped not in _ESCAPES:
                raise ValueError(f"unquote string {body!r} error invalid syntax")
            c = _ESCAPES[escaped]
        out.append(c)
    return "".join(out)


# --- JSONPath: evaluation -------------------------------------------------------------------------------

class _EvalError(Exception):
    """An evaluation the apiserver fails (index out of range, not a list): the cell gets no value."""


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value[k] for k in sorted(value)]
    return list(value) if isinstance(value, list) else []


def _walk(values: list[Any], nodes: tuple[_Node, ...]) -> list[Any]:
    for node in nodes:
        values = _STEPS[type(node)](values, node)
    return values


def _field_step(values: list[Any], node: Any) -> list[Any]:
    if node.name == "":
        return [v for v in values if v is not None]
    return [v[node.name] for v in values if isinstance(v, dict) and node.name in v]


def _wildcard_step(values: list[Any], node: Any) -> list[Any]:
    return [child for v in values for child in _children(v)]


def _recursive_step(values: list[Any], node: Any) -> list[Any]:
    def descend(value: Any) -> Iterator[Any]:
        children = _children(value)
        if children:
            yield value
            for child in children:
                yield from descend(child)
    return [found for v in values for found in descend(v)]


def _slice_step(values: list[Any], node: Any) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value is None:
            continue
        if not isinstance(value, list):
            raise _EvalError("not an array or slice")
        out += _take(value, node)
    return out


def _take(items: list[Any], node: _Slice) -> list[Any]:
    n = len(items)
    start = node.start or 0
    start += n if start < 0 else 0
    end = n if node.end is None else node.end + (n if node.end < 0 else 0)
    end = start + 1 if node.single else end
    if start == end:
        return []
    if not (0 <= start < n and 0 <= end <= n) or start > end:
        raise _EvalError("array index out of bounds")
    if node.step is not None and node.step <= 0:
        raise _EvalError("step must be > 0")
    return items[start:end:node.step or 1]


def _union_step(values: list[Any], node: Any) -> list[Any]:
    return [found for branch in node.branches for found in _walk(values, branch)]


def _literal_step(values: list[Any], node: Any) -> list[Any]:
    return [node.value]


def _filter_step(values: list[Any], node: Any) -> list[Any]:
    out: list[Any] = []
    for value in values:
        candidates = _children(value) if isinstance(value, dict | list) else [value]
        out += [c for c in candidates if _passes(c, node)]
    return out


def _passes(candidate: Any, node: _Filter) -> bool:
    try:
        lefts = _walk([candidate], node.left)
    except _EvalError:  # client-go ignores these with missing keys allowed
        return False
    if len(lefts) > 1:
        raise _EvalError("can only compare one element at a time")
    if not lefts or node.operator == "exists":
        return bool(lefts)
    rights = _walk([candidate], node.right)
    if len(rights) > 1:
        raise _EvalError("can only compare one element at a time")
    return bool(rights) and _compare(node.operator, lefts[0], rights[0])


def _compare(operator: str, left: Any, right: Any) -> bool:
    """Filter comparison; values of different types never pass, as in client-go."""
    comparable = (_is_number(left) and _is_number(right)) or (
        type(left) is type(right) and isinstance(left, str | bool))
    if not comparable:
        return False
    if operator in ("==", "!="):
        return bool(left == right) == (operator == "==")
    if isinstance(left, bool):
        return False
    return _ORDERINGS[operator](left, right)


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: bool(a < b), ">": lambda a, b: bool(a > b),
    "<=": lambda a, b: bool(a <= b), ">=": lambda a, b: bool(a >= b),
}


_STEPS: dict[type, Callable[[list[Any], Any], list[Any]]] = {
    _Field: _field_step, _Wildcard: _wildcard_step, _Recursive: _recursive_step, _Slice: _slice_step,
    _Union: _union_step, _Literal: _literal_step, _Filter: _filter_step,
}


@functools.lru_cache(maxsize=1024)
def _parsed(expr: str) -> tuple[str | tuple[_Node, ...], ...]:
    """Printer columns evaluate the same few expressions for every row: parse each once."""
    return tuple(_parse_template(expr))


def _results(expr: str, obj: Any) -> list[list[Any]]:
    parts = _parsed(expr)
    try:
        return [[part] if isinstance(part, str) else _walk([obj], part) for part in parts]
    except _EvalError:
        return []


def eval_jsonpath(expr: str, obj: Any) -> list[Any]:
    """The values `expr` selects in `obj` (not copies). `{}` around the expression are optional.

    ValueError if the expression does not parse; an evaluation the apiserver would fail (an index out of
    range, indexing a non-list) gives no values, which is what the table convertor makes of it.
    """
    return [value for values in _results(expr, obj) for value in values]


def render_jsonpath(template: str, obj: Any) -> str:
    """`kubectl get -o jsonpath=TEMPLATE` for one object: values space-separated, objects as JSON."""
    return "".join(" ".join(go_text(v) for v in values) for values in _results(template, obj))
