"""JSON decoding with Go's error messages: the apiserver parses bodies with encoding/json, and clients
(kubectl among them) show its words, so a syntax error here reads as it would from a real cluster."""

from __future__ import annotations

import json
from typing import Any

import orjson

from .status import BadRequest

__all__ = ["GO_MAP", "decode_json", "json_kind", "syntax_error", "unmarshal_error"]

GO_MAP = "map[string]interface {}"


def decode_json(body: bytes, prefix: str) -> Any:
    """Parse JSON; a syntax error becomes a 400 worded as Go's encoding/json words it."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        error = syntax_error(body)
        if error is not None:
            raise BadRequest(prefix + error) from None
    # Valid JSON orjson refuses (integers beyond 64 bits, invalid UTF-8, deep nesting): Go accepts it.
    try:
        return json.loads(body.decode("utf-8", errors="replace"))
    except RecursionError:
        raise BadRequest(prefix + "exceeded max depth") from None


def json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


def unmarshal_error(value: Any, go_type: str) -> str:
    return f"json: cannot unmarshal {json_kind(value)} into Go value of type {go_type}"


_WHITESPACE = b" \t\r\n"
_LITERALS = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}


def _quote_char(c: int) -> str:
    """Go's `quoteChar`: how encoding/json shows the offending byte."""
    if c == ord("'"):
        return "'\\''"
    if c == ord('"'):
        return "'\"'"
    named = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}
    if c in named:
        return f"'{named[c]}'"
    if c < 0x20 or c == 0x7F:
        return f"'\\x{c:02x}'"
    if not chr(c).isprintable():
        return f"'\\u{c:04x}'"
    return f"'{chr(c)}'"


class _GoSyntaxError(Exception):
    pass


def syntax_error(data: bytes) -> str | None:
    """The first syntax error in `data` as Go's encoding/json reports it, or None if it is valid JSON."""
    try:
        _GoScanner(data).scan()
    except _GoSyntaxError as err:
        return str(err)
    return None


class _GoScanner:
    """A JSON syntax checker that fails on the same byte, with the same words, as Go's scanner."""

    MAX_DEPTH = 10000

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def fail(self, context: str) -> _GoSyntaxError:
        if self.pos >= len(self.data):
            return _GoSyntaxError("unexpected end of JSON input")
        return _GoSyntaxError(f"invalid character {_quote_char(self.data[self.pos])} {context}")

    def peek(self) -> int:
        return self.data[self.pos] if self.pos < len(self.data) else -1

    def skip_space(self) -> int:
        while self.pos < len(self.data) and self.data[self.pos] in _WHITESPACE:
            self.pos += 1
        return self.peek()

    def scan(self) -> None:
        stack: list[int] = []  # the open containers, as their opening byte
        need_value = True
        while need_value or stack:
            need_value = self.value(stack) if need_value else self.after_value(stack)
        if self.skip_space() != -1:
            raise self.fail("after top-level value")

    def value(self, stack: list[int]) -> bool:
        """Scan one value; True when it opened a container whose first value comes next."""
        c = self.skip_space()
        if c in (ord("{"), ord("[")):
            if len(stack) >= self.MAX_DEPTH:
                raise self.fail("exceeded max depth")
            self.pos += 1
            close = ord("}") if c == ord("{") else ord("]")
            if self.skip_space() == close:
                self.pos += 1
                return False
            stack.append(c)
            if c == ord("{"):
                self.key()
            return True
        if c == ord('"'):
            self.string()
        elif c == ord("-") or ord("0") <= c <= ord("9"):
            self.number()
        elif c in _LITERALS:
            self.literal(_LITERALS[c])
        else:
            raise self.fail("looking for beginning of value")
        return False

    def key(self) -> None:
        if self.skip_space() != ord('"'):
            raise self.fail("looking for beginning of object key string")
        self.string()
        if self.skip_space() != ord(":"):
            raise self.fail("after object key")
        self.pos += 1

    def after_value(self, stack: list[int]) -> bool:
        """After a value inside a container: True when a `,` asks for the next value."""
        c = self.skip_space()
        in_object = stack[-1] == ord("{")
        if c == ord(","):
            self.pos += 1
            if in_object:
                self.key()
            return True
        if c == (ord("}") if in_object else ord("]")):
            self.pos += 1
            stack.pop()
            return False
        raise self.fail("after object key:value pair" if in_object else "after array element")

    def string(self) -> None:
        self.pos += 1
        while True:
            c = self.peek()
            if c == -1:
                raise self.fail("")
            if c == ord('"'):
                self.pos += 1
                return
            if c < 0x20:
                raise self.fail("in string literal")
            self.pos += 1
            if c == ord("\\"):
                self.escape()

    def escape(self) -> None:
        c = self.peek()
        if c == ord("u"):
            self.pos += 1
            for _ in range(4):
                if self.peek() == -1 or chr(self.peek()) not in "0123456789abcdefABCDEF":
                    raise self.fail("in \\u hexadecimal character escape")
                self.pos += 1
        elif c != -1 and chr(c) in '"\\/bfnrt':
            self.pos += 1
        else:
            raise self.fail("in string escape code")

    def digits(self, context: str) -> None:
        if not ord("0") <= self.peek() <= ord("9"):
            raise self.fail(context)
        while ord("0") <= self.peek() <= ord("9"):
            self.pos += 1

    def number(self) -> None:
        if self.peek() == ord("-"):
            self.pos += 1
        if self.peek() == ord("0"):
            self.pos += 1
        else:
            self.digits("in numeric literal")
        if self.peek() == ord("."):
            self.pos += 1
            self.digits("after decimal point in numeric literal")
        if self.peek() in (ord("e"), ord("E")):
            self.pos += 1
            if self.peek() in (ord("+"), ord("-")):
                self.pos += 1
            self.digits("in exponent of numeric literal")

    def literal(self, word: bytes) -> None:
        self.pos += 1
        for expected in word[1:]:
            if self.peek() != expected:
                raise self.fail(f"in literal {word.decode()} (expecting {_quote_char(expected)})")
            self.pos += 1
