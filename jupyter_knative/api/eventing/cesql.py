"""CloudEvents SQL v1 (CESQL): tokenizer, recursive-descent parser, and a closure tree compiled once per expression.

Evaluation is fail-fast (spec 4.1, what a filter needs): the first error raises `CESQLError`, whose `kind` is the
spec's error type (`parse`, `math`, `cast`, `missingAttribute`, `missingFunction`, `functionEvaluation`).

Grammar as sdk-go's sql/v2 ANTLR grammar resolves it, tightest first: function calls, `(…)`, literals, identifiers
and `EXISTS x`; unary `NOT` and `-`; postfix `[NOT] LIKE 'pattern'` and `[NOT] IN (…)`; `* / %`; `+ -`; the
comparisons (left-associative); then AND, OR and XOR, which share ONE level and associate to the right, so
`a AND b OR c` means `a AND (b OR c)`. Integers are 32-bit and wrap like Go's int32.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

__all__ = ["MISSING", "CESQLError", "Expression", "Lookup", "parse"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""What a lookup returns for an attribute the event does not have."""

Lookup = Callable[[str], Any]
_Eval = Callable[[Lookup], Any]

_INT_MIN: Final = -(2**31)
_INT_MAX: Final = 2**31 - 1


class CESQLError(ValueError):
    """A parse or evaluation error; `kind` names the spec's error type."""

    def __init__(self, message: str, kind: str = "generic") -> None:
        super().__init__(message)
        self.kind = kind


class Expression:
    """A parsed CESQL expression; `evaluate(lookup)` returns a bool, int or str, or raises `CESQLError`."""

    __slots__ = ("_fn", "source")

    def __init__(self, source: str, fn: _Eval) -> None:
        self.source = source
        self._fn = fn

    def evaluate(self, lookup: Lookup) -> Any:
        return self._fn(lookup)

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def parse(expression: str) -> Expression:
    """Parse and compile `expression`; raises `CESQLError("parse error: …")`."""
    parser = _Parser(_tokenize(expression))
    node = parser.expression()
    if parser.peek().kind != "EOF":
        raise parser.error("unexpected", parser.peek())
    return Expression(expression, node)


# ------------------------------------------------------------------------------------------------------- tokenizer

_KEYWORDS: Final = frozenset({"AND", "OR", "XOR", "NOT", "LIKE", "IN", "EXISTS", "TRUE", "FALSE"})
_SYMBOLS: Final = ("!=", "<>", "<=", ">=", "(", ")", ",", "*", "/", "%", "+", "-", "=", "<", ">")
_WORD_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class _Token:
    __slots__ = ("kind", "pos", "text", "value")

    def __init__(self, kind: str, text: str, pos: int, value: Any = None) -> None:
        self.kind = kind  # EOF, INT, STRING, WORD (identifier or function name), a keyword, or a symbol
        self.text = text
        self.pos = pos
        self.value = value


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if char in " \t\r\n":
            i += 1
        elif char in "'\"":
            end, text = _string(source, i)
            tokens.append(_Token("STRING", source[i:end], i, text))
            i = end
        elif char in _WORD_CHARS:
            end = i
            while end < n and source[end] in _WORD_CHARS:
                end += 1
            tokens.append(_word(source[i:end], i))
            i = end
        else:
            symbol = next((s for s in _SYMBOLS if source.startswith(s, i)), None)
            if symbol is None:
                raise CESQLError(f"parse error: 1:{i + 1}: unexpected character {char!r}", "parse")
            tokens.append(_Token(symbol, symbol, i))
            i += len(symbol)
    tokens.append(_Token("EOF", "end of expression", n))
    return tokens


def _string(source: str, start: int) -> tuple[int, str]:
    """A quoted literal: `\\<quote>` and a doubled quote stand for the quote; other backslashes stay as they are
    (LIKE patterns give `\\%` and `\\_` their meaning)."""
    quote = source[start]
    parts: list[str] = []
    i, n = start + 1, len(source)
    while i < n:
        char = source[i]
        if char == "\\" and i + 1 < n:
            nxt = source[i + 1]
            parts.append(nxt if nxt == quote else char + nxt)
            i += 2
        elif char == quote:
            if i + 1 < n and source[i + 1] == quote:
                parts.append(quote)
                i += 2
            else:
                return i + 1, "".join(parts)
        else:
            parts.append(char)
            i += 1
    raise CESQLError(f"parse error: 1:{start + 1}: unterminated string literal", "parse")


def _word(text: str, pos: int) -> _Token:
    upper = text.upper()
    if upper in _KEYWORDS:
        return _Token(upper, text, pos)
    if text.isdigit():
        return _Token("INT", text, pos, int(text))
    return _Token("WORD", text, pos)


# ---------------------------------------------------------------------------------------------------------- parser

_COMPARISONS: Final = frozenset({"=", "!=", "<>", "<", "<=", ">", ">="})


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def expect(self, kind: str) -> _Token:
        if self.peek().kind != kind:
            raise self.error(f"expected {kind!r}, found", self.peek())
        return self.take()

    def error(self, what: str, token: _Token) -> CESQLError:
        return CESQLError(f"parse error: 1:{token.pos + 1}: {what} {token.text!r}", "parse")

    def expression(self) -> _Eval:
        left = self.comparison()
        if self.peek().kind in ("AND", "OR", "XOR"):
            op = self.take().kind
            return _logic(op, left, self.expression())
        return left

    def comparison(self) -> _Eval:
        left = self.additive()
        while self.peek().kind in _COMPARISONS:
            op = self.take().kind
            left = _compare(op, left, self.additive())
        return left

    def additive(self) -> _Eval:
        left = self.multiplicative()
        while self.peek().kind in ("+", "-"):
            op = self.take().kind
            left = _math(op, left, self.multiplicative())
        return left

    def multiplicative(self) -> _Eval:
        left = self.postfix()
        while self.peek().kind in ("*", "/", "%"):
            op = self.take().kind
            left = _math(op, left, self.postfix())
        return left

    def postfix(self) -> _Eval:
        node = self.unary()
        while True:
            negate = self.peek().kind == "NOT" and self.peek(1).kind in ("LIKE", "IN")
            kind = self.peek(1 if negate else 0).kind
            if kind == "LIKE":
                self.index += 2 if negate else 1
                node = _like(node, self.expect("STRING").value, negate)
            elif kind == "IN":
                self.index += 2 if negate else 1
                node = _in(node, self.set_expression(), negate)
            else:
                return node

    def set_expression(self) -> list[_Eval]:
        self.expect("(")
        items = [self.expression()]
        while self.peek().kind == ",":
            self.take()
            items.append(self.expression())
        self.expect(")")
        return items

    def unary(self) -> _Eval:
        kind = self.peek().kind
        if kind == "NOT":
            self.take()
            return _not(self.unary())
        if kind == "-":
            self.take()
            if self.peek().kind == "INT":
                return _literal(self.integer(negative=True))
            return _negate(self.unary())
        if kind == "+" and self.peek(1).kind == "INT" and self.peek(1).pos == self.peek().pos + 1:
            self.take()  # the literal's own sign: `+5`
            return _literal(self.integer(negative=False))
        return self.primary()

    def integer(self, negative: bool) -> int:
        token = self.take()
        value: int = -token.value if negative else token.value
        if not _INT_MIN <= value <= _INT_MAX:
            raise self.error("integer literal out of the 32-bit range:", token)
        return value

    def primary(self) -> _Eval:
        token = self.peek()
        kind = token.kind
        if kind == "INT":
            return _literal(self.integer(negative=False))
        if kind == "STRING":
            return _literal(self.take().value)
        if kind in ("TRUE", "FALSE"):
            self.take()
            return _literal(kind == "TRUE")
        if kind == "(":
            self.take()
            node = self.expression()
            self.expect(")")
            return node
        if kind == "EXISTS":
            self.take()
            return _exists(self.identifier(self.take()))
        if kind == "WORD":
            self.take()
            if self.peek().kind == "(":
                return self.call(token)
            return _identifier(self.identifier(token))
        raise self.error("unexpected", token)

    def identifier(self, token: _Token) -> str:
        text = token.text
        if token.kind != "WORD" or not (text.isascii() and text.isalnum()):
            raise self.error("expected an attribute name, found", token)
        return text.lower()

    def call(self, token: _Token) -> _Eval:
        name = token.text.upper()
        if not (name[0].isalpha() and name.replace("_", "").isalpha() and name.isascii()):
            raise self.error("invalid function name", token)
        self.expect("(")
        args: list[_Eval] = []
        if self.peek().kind != ")":
            args.append(self.expression())
            while self.peek().kind == ",":
                self.take()
                args.append(self.expression())
        self.expect(")")
        return _function(name, args, token, self)


# ------------------------------------------------------------------------------------------------- casting, values


def to_int(value: Any) -> int:
    kind = type(value)
    if kind is int:
        return int(value)
    if kind is bool:
        return 1 if value else 0
    text = str(value)
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not (digits.isascii() and digits.isdigit()):
        raise CESQLError(f"cast error: cannot cast String {text!r} to Integer", "cast")
    number = int(text)
    if not _INT_MIN <= number <= _INT_MAX:
        raise CESQLError(f"cast error: String {text!r} overflows a 32-bit Integer", "cast")
    return number


def to_bool(value: Any) -> bool:
    kind = type(value)
    if kind is bool:
        return bool(value)
    if kind is int:
        return bool(value != 0)
    lowered = str(value).lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise CESQLError(f"cast error: cannot cast String {value!r} to Boolean", "cast")


def to_str(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    return str(value)


_CASTS: Final[dict[type, Callable[[Any], Any]]] = {bool: to_bool, int: to_int, str: to_str}


def _cast_like(value: Any, target: Any) -> Any:
    """`value` cast to `target`'s type (the rule for `=` and `IN`: the typed side decides)."""
    if type(value) is type(target):
        return value
    return _CASTS[type(target)](value)


def _wrap(value: int) -> int:
    return ((value - _INT_MIN) & 0xFFFFFFFF) + _INT_MIN


# ------------------------------------------------------------------------------------------------------ node types


def _literal(value: Any) -> _Eval:
    return lambda lookup: value


def _identifier(name: str) -> _Eval:
    def identifier(lookup: Lookup) -> Any:
        value = lookup(name)
        if value is MISSING:
            raise CESQLError(f"missing attribute '{name}'", "missingAttribute")
        if type(value) in _CASTS:
            return value
        return str(value)

    return identifier


def _exists(name: str) -> _Eval:
    return lambda lookup: lookup(name) is not MISSING


def _not(child: _Eval) -> _Eval:
    return lambda lookup: not to_bool(child(lookup))


def _negate(child: _Eval) -> _Eval:
    return lambda lookup: _wrap(-to_int(child(lookup)))


def _logic(op: str, left: _Eval, right: _Eval) -> _Eval:
    if op == "AND":
        return lambda lookup: to_bool(left(lookup)) and to_bool(right(lookup))
    if op == "OR":
        return lambda lookup: to_bool(left(lookup)) or to_bool(right(lookup))
    return lambda lookup: to_bool(left(lookup)) != to_bool(right(lookup))


def _compare(op: str, left: _Eval, right: _Eval) -> _Eval:
    if op == "=":

        def equal(lookup: Lookup) -> bool:
            value, other = left(lookup), right(lookup)
            return bool(_cast_like(value, other) == other)

        return equal
    if op in ("!=", "<>"):

        def not_equal(lookup: Lookup) -> bool:
            value, other = left(lookup), right(lookup)
            return bool(_cast_like(value, other) != other)

        return not_equal
    test = _ORDERINGS[op]
    return lambda lookup: test(to_int(left(lookup)), to_int(right(lookup)))


_ORDERINGS: Final[dict[str, Callable[[int, int], bool]]] = {
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y,
}


def _divide(x: int, y: int) -> int:
    if y == 0:
        raise CESQLError("math error: division by zero", "math")
    quotient = abs(x) // abs(y)
    return _wrap(quotient if (x < 0) == (y < 0) else -quotient)


def _modulo(x: int, y: int) -> int:
    if y == 0:
        raise CESQLError("math error: division by zero", "math")
    remainder = abs(x) % abs(y)
    return -remainder if x < 0 else remainder


_ARITHMETIC: Final[dict[str, Callable[[int, int], int]]] = {
    "+": lambda x, y: _wrap(x + y),
    "-": lambda x, y: _wrap(x - y),
    "*": lambda x, y: _wrap(x * y),
    "/": _divide,
    "%": _modulo,
}


def _math(op: str, left: _Eval, right: _Eval) -> _Eval:
    fn = _ARITHMETIC[op]
    return lambda lookup: fn(to_int(left(lookup)), to_int(right(lookup)))


def _in(left: _Eval, items: list[_Eval], negate: bool) -> _Eval:
    def member(lookup: Lookup) -> bool:
        value: Any = left(lookup)
        for item in items:
            if _cast_like(item(lookup), value) == value:
                return not negate
        return negate

    return member


def like_matcher(pattern: str) -> Callable[[str], bool]:
    """A matcher for a LIKE pattern: `%` any run, `_` one character, `\\%` and `\\_` themselves; built once."""
    parts: list[tuple[str, str]] = []  # ("lit", text) | ("one", "") | ("any", "")
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\" and i + 1 < n and pattern[i + 1] in "%_":
            parts.append(("lit", pattern[i + 1]))
            i += 2
            continue
        parts.append(("any", "") if char == "%" else ("one", "") if char == "_" else ("lit", char))
        i += 1
    return _glob(parts)


def _glob(parts: list[tuple[str, str]]) -> Callable[[str], bool]:
    if all(kind == "lit" for kind, _ in parts):
        literal = "".join(text for _, text in parts)
        return lambda text: text == literal

    def match(text: str) -> bool:
        # classic wildcard matching with backtracking to the last `%`
        t = p = 0
        star_p, star_t = -1, 0
        while t < len(text):
            if p < len(parts) and (parts[p][0] == "one" or (parts[p][0] == "lit" and parts[p][1] == text[t])):
                t += 1
                p += 1
            elif p < len(parts) and parts[p][0] == "any":
                star_p, star_t = p, t
                p += 1
            elif star_p >= 0:
                p = star_p + 1
                star_t += 1
                t = star_t
            else:
                return False
        return all(kind == "any" for kind, _ in parts[p:])

    return match


def _like(child: _Eval, pattern: str, negate: bool) -> _Eval:
    matches = like_matcher(pattern)
    return lambda lookup: matches(to_str(child(lookup))) != negate


# ------------------------------------------------------------------------------------------------------- functions


def _fail(message: str) -> CESQLError:
    return CESQLError(f"function evaluation error: {message}", "functionEvaluation")


def _left(text: str, count: int) -> str:
    if count < 0:
        raise _fail(f"LEFT: negative length {count}")
    return text[:count]


def _right(text: str, count: int) -> str:
    if count < 0:
        raise _fail(f"RIGHT: negative length {count}")
    return text[len(text) - count :] if count < len(text) else text


def _substring(text: str, pos: int, length: int | None = None) -> str:
    size = len(text)
    if pos > size or pos < -size:
        raise _fail(f"SUBSTRING: position {pos} is outside a string of length {size}")
    if length is not None and length < 0:
        raise _fail(f"SUBSTRING: negative length {length}")
    if pos == 0:
        return ""
    start = pos - 1 if pos > 0 else size + pos
    return text[start:] if length is None else text[start : start + length]


def _abs(value: int) -> int:
    if value == _INT_MIN:
        raise CESQLError("math error: ABS(-2147483648) overflows a 32-bit Integer", "math")
    return abs(value)


def _can(cast: Callable[[Any], Any]) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        try:
            cast(value)
        except CESQLError:
            return False
        return True

    return test


_ANY: Final = None  # an argument taken as it is
# name -> (argument casts, the variadic tail's cast or None for fixed arity, implementation)
_FunctionSpec = tuple[tuple[Callable[[Any], Any] | None, ...], Callable[[Any], Any] | None, Callable[..., Any]]
_FUNCTIONS: Final[dict[str, tuple[_FunctionSpec, ...]]] = {
    "ABS": (((to_int,), None, _abs),),
    "LENGTH": (((to_str,), None, len),),
    "CONCAT": (((), to_str, lambda *xs: "".join(xs)),),
    "CONCAT_WS": (((to_str,), to_str, lambda sep, *xs: sep.join(xs)),),
    "LOWER": (((to_str,), None, str.lower),),
    "UPPER": (((to_str,), None, str.upper),),
    "TRIM": (((to_str,), None, str.strip),),
    "LEFT": (((to_str, to_int), None, _left),),
    "RIGHT": (((to_str, to_int), None, _right),),
    "SUBSTRING": (((to_str, to_int), None, _substring), ((to_str, to_int, to_int), None, _substring)),
    "INT": (((to_int,), None, lambda x: x),),
    "BOOL": (((to_bool,), None, lambda x: x),),
    "STRING": (((to_str,), None, lambda x: x),),
    "IS_BOOL": (((_ANY,), None, _can(to_bool)),),
    "IS_INT": (((_ANY,), None, _can(to_int)),),
}


def _function(name: str, args: list[_Eval], token: _Token, parser: _Parser) -> _Eval:
    spec = next((s for s in _FUNCTIONS.get(name, ()) if _arity_fits(s, len(args))), None)
    if spec is None:
        known = "unknown function" if name not in _FUNCTIONS else f"wrong number of arguments ({len(args)}) for"
        raise parser.error(known, token)
    fixed, tail, impl = spec
    casts = [fixed[i] if i < len(fixed) else tail for i in range(len(args))]
    pairs = list(zip(casts, args, strict=True))

    def call(lookup: Lookup) -> Any:
        values = [arg(lookup) if cast is None else cast(arg(lookup)) for cast, arg in pairs]
        return impl(*values)

    return call


def _arity_fits(spec: _FunctionSpec, count: int) -> bool:
    fixed, tail, _ = spec
    return count == len(fixed) or (tail is not None and count >= len(fixed))
