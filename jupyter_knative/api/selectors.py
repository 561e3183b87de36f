"""Label and field selectors, parsed and matched as k8s.io/apimachinery parses and matches them.

`parse_label_selector` follows `labels.Parse` (the `labelSelector` query parameter), `selector_from_match`
follows `metav1.LabelSelectorAsSelector` (a `spec.selector` object), and `parse_field_selector` follows
`fields.ParseSelector` plus the per-kind field label check. Invalid input raises `BadRequest` with the
apiserver's message, e.g. `unable to parse requirement: <nil>: Invalid value: "a b": ...`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .status import BadRequest

__all__ = [
    "EVERYTHING",
    "NOTHING",
    "FieldSelector",
    "FieldTerm",
    "LabelSelector",
    "Requirement",
    "field_value",
    "label_key_errors",
    "label_value_errors",
    "parse_field_selector",
    "parse_label_selector",
    "selector_from_match",
]

# selection.Operator values
EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "=", "==", "!="
IN, NOT_IN, EXISTS, DOES_NOT_EXIST, GREATER_THAN, LESS_THAN = "in", "notin", "exists", "!", "gt", "lt"
_BINARY = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)


# --- label requirements ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Requirement:
    """One term of a label selector: `key`, an operator and its values."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator in (EXISTS, DOES_NOT_EXIST):
            return (self.key in labels) == (self.operator == EXISTS)
        if self.key not in labels:
            return self.operator in (NOT_IN, NOT_EQUALS)
        value = labels[self.key]
        if self.operator in (IN, EQUALS, DOUBLE_EQUALS):
            return value in self.values
        if self.operator in (NOT_IN, NOT_EQUALS):
            return value not in self.values
        return _compare(self.operator, value, self.values)

    def __str__(self) -> str:
        if self.operator in (EXISTS, DOES_NOT_EXIST):
            return ("!" if self.operator == DOES_NOT_EXIST else "") + self.key
        values = ",".join(sorted(self.values)) if len(self.values) > 1 else "".join(self.values)
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({values})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{values}"


def _compare(operator: str, value: str, bounds: tuple[str, ...]) -> bool:
    actual, bound = _int64(value), _int64(bounds[0]) if len(bounds) == 1 else None
    if actual is None or bound is None:
        return False
    return actual > bound if operator == GREATER_THAN else actual < bound


def _int64(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64)."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


@dataclass(frozen=True)
class LabelSelector:
    """AND of requirements, sorted by key. `nothing` is the selector of a null `metav1.LabelSelector`."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        return all(r.matches(labels or {}) for r in self.requirements)

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything."""
        return not self.nothing and not self.requirements

    def exact_value(self, key: str) -> str | None:
        """The value `key` must have (`key=v`, `key==v` or `key in (v)`), as RequiresExactMatch finds it."""
        for r in self.requirements:
            if r.key == key:
                single = r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1
                return r.values[0] if single else None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = LabelSelector()
NOTHING = LabelSelector(nothing=True)


# --- validation, worded as apimachinery words it ---------------------------------------------------------

_LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_KEY_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', "
                  "and must start and end with an alphanumeric character")
_LABEL_VALUE_FMT = f"({_LABEL_KEY_FMT})?"
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
                    "or '.', and must start and end with an alphanumeric character")
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                          "characters, '-' or '.', and must start and end with an alphanumeric character")


def _regex_error(message: str, regex: str, *examples: str) -> str:
    """content.RegexError, double spaces included."""
    if not examples:
        return f"{message} (regex used for validation is '{regex}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{regex}')"


def _key_regex_error() -> str:
    return _regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")


def _max_len_error(length: int) -> str:
    return f"must be no more than {length} bytes"


def _matches(regex: str, text: str) -> bool:
    return re.fullmatch(regex, text, flags=re.ASCII) is not None


def _subdomain_errors(value: str) -> list[str]:
    errors = [_max_len_error(253)] if len(value.encode()) > 253 else []
    if not _matches(_DNS1123_SUBDOMAIN_FMT, value):
        errors.append(_regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def label_key_errors(key: str) -> list[str]:
    """content.IsLabelKey: why `key` is not a label key (empty when it is one)."""
    parts = key.split("/")
    if len(parts) > 2:
        return ["a valid label key " + _key_regex_error()
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    errors: list[str] = []
    if len(parts) == 2:
        prefix = parts[0]
        errors += ["prefix part must be non-empty"] if not prefix else \
            ["prefix part " + e for e in _subdomain_errors(prefix)]
    name = parts[-1]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name.encode()) > 63:
        errors.append("name part " + _max_len_error(63))
    if not _matches(_LABEL_KEY_FMT, name):
        errors.append("name part " + _key_regex_error())
    return errors


def label_value_errors(value: str) -> list[str]:
    """content.IsLabelValue: why `value` is not a label value (empty when it is one)."""
    errors = [_max_len_error(63)] if len(value.encode()) > 63 else []
    if not _matches(_LABEL_VALUE_FMT, value):
        errors.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def _go_quote(text: str) -> str:
    """Go's %q for the strings that reach these messages."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return '"' + "".join(c if c.isprintable() else _go_escape(c) for c in escaped) + '"'


def _go_escape(c: str) -> str:
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _invalid(path: str, value: Any, detail: str) -> str:
    """A field.Invalid error's text; strings are %q-quoted, string lists shown as Go's %#v."""
    shown = _go_quote(value) if isinstance(value, str) else \
        "[]string{" + ", ".join(_go_quote(v) for v in value) + "}"
    return f"{path}: Invalid value: {shown}: {detail}"


def _aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message as is, several in brackets, duplicates dropped."""
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def _new_requirement(key: str, operator: str, values: Sequence[str], key_path: str = "key") -> Requirement:
    """labels.NewRequirement; raises `_SelectorError` with the aggregated field errors."""
    errors = []
    if key_path and (key_errors := label_key_errors(key)):
        errors.append(_invalid(key_path, key, "; ".join(key_errors)))
    errors += _operator_errors(operator, values)
    for i, value in enumerate(values):
        if value_errors := label_value_errors(value):
            errors.append(_invalid(f"values[{i}][{key}]", value, "; ".join(value_errors)))
    if errors:
        raise _SelectorError(_aggregate(errors))
    return Requirement(key, operator, tuple(values))


def _operator_errors(operator: str, values: Sequence[str]) -> list[str]:
    if operator in (IN, NOT_IN) and not values:
        return [_invalid("values", values, "for 'in', 'notin' operators, values set can't be empty")]
    if operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS) and len(values) != 1:
        return [_invalid("values", values, "exact-match compatibility requires one single value")]
    if operator in (EXISTS, DOES_NOT_EXIST) and values:
        return [_invalid("values", values, "values set must be empty for exists and does not exist")]
    if operator in (GREATER_THAN, LESS_THAN):
        errors = [] if len(values) == 1 else \
            [_invalid("values", values, "for 'Gt', 'Lt' operators, exactly one value is required")]
        return errors + [_invalid(f"values[{i}]", v, "for 'Gt', 'Lt' operators, the value must be an integer")
                         for i, v in enumerate(values) if _int64(v) is None]
    return []


class _SelectorError(Exception):
    pass


# --- labels.Parse -----------------------------------------------------------------------------------------

_SPECIAL = "=!(),><"
_WHITESPACE = " \t\r\n"
_TOKENS = {")": ")", ",": ",", "!": "!", "==": "==", "=": "=", ">": ">", "in": "in", "<": "<", "!=": "!=",
           "notin": "notin", "(": "("}
_ID, _END = "identifier", "end"
_OPERATOR_OF = {"in": IN, "=": EQUALS, "==": DOUBLE_EQUALS, ">": GREATER_THAN, "<": LESS_THAN,
                "notin": NOT_IN, "!=": NOT_EQUALS}


def _lex(text: str) -> list[tuple[str, str]]:
    """The selector's tokens as (kind, literal); kind is the token itself, `identifier` or `end`."""
    items: list[tuple[str, str]] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= len(text):
            items.append((_END, ""))
            return items
        if text[pos] in _SPECIAL:
            end = pos + 1  # every special character is a token; take the longest one that starts here
            while end < len(text) and text[end] in _SPECIAL and text[pos:end + 1] in _TOKENS:
                end += 1
        else:
            end = pos
            while end < len(text) and text[end] not in _SPECIAL + _WHITESPACE:
                end += 1
        literal = text[pos:end]
        items.append((_TOKENS.get(literal, _ID), literal))
        pos = end


class _LabelParser:
    """labels.Parser: a recursive descent over the token list."""

    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def lookahead(self, values: bool = True) -> tuple[str, str]:
        kind, literal = self.items[min(self.pos, len(self.items) - 1)]
        # In a value position, `in` and `notin` are plain words.
        return (_ID if values and kind in ("in", "notin") else kind), literal

    def consume(self, values: bool = True) -> tuple[str, str]:
        item = self.lookahead(values)
        self.pos += 1
        return item

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            kind, literal = self.lookahead()
            if kind == _END:
                return requirements
            if kind not in (_ID, "!"):
                raise _SelectorError(f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self.requirement())
            except _SelectorError as err:
                raise _SelectorError(f"unable to parse requirement: {err}") from None
            kind, literal = self.consume()
            if kind == _END:
                return requirements
            if kind != ",":
                raise _SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
            kind, literal = self.lookahead()
            if kind not in (_ID, "!"):
                raise _SelectorError(f"found '{literal}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        key, operator = self.key_and_operator()
        if operator:
            return _new_requirement(key, operator, [], key_path="")
        operator = self.operator()
        values = self.value_set() if operator in (IN, NOT_IN) else self.exact_value()
        return _new_requirement(key, operator, sorted(set(values)), key_path="")

    def key_and_operator(self) -> tuple[str, str]:
        """The key, with `exists` or `!` when no binary operator follows."""
        kind, literal = self.consume()
        negated = kind == "!"
        if negated:
            kind, literal = self.consume()
        if kind != _ID:
            raise _SelectorError(f"found '{literal}', expected: identifier")
        if errors := label_key_errors(literal):
            raise _SelectorError(_invalid("<nil>", literal, "; ".join(errors)))
        if negated:
            return literal, DOES_NOT_EXIST
        return literal, EXISTS if self.lookahead()[0] in (_END, ",") else ""

    def operator(self) -> str:
        kind, literal = self.consume(values=False)
        if kind not in _OPERATOR_OF:
            raise _SelectorError(f"found '{literal}', expected: {', '.join(_BINARY)}")
        return _OPERATOR_OF[kind]

    def value_set(self) -> list[str]:
        kind, literal = self.consume()
        if kind != "(":
            raise _SelectorError(f"found '{literal}' expected: '('")
        kind, literal = self.lookahead()
        if kind == ")":
            self.consume()
            return [""]
        if kind not in (_ID, ","):
            raise _SelectorError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self.identifiers()
        if self.consume()[0] != ")":
            raise _SelectorError(f"found '{literal}', expected: ')'")  # the apiserver names the first token
        return values

    def identifiers(self) -> list[str]:
        """A comma list in which empty entries are the empty value: `(a,,b)`, `(,a)`, `(a,)`."""
        values: list[str] = []
        while True:
            kind, literal = self.consume()
            if kind == _ID:
                values.append(literal)
                following, text = self.lookahead()
                if following == ")":
                    return values
                if following != ",":
                    raise _SelectorError(f"found '{text}', expected: ',' or ')'")
            elif kind == ",":
                if not values or self.lookahead()[0] in (")", ","):
                    values.append("")
                if self.lookahead()[0] == ")":
                    return values
            else:
                raise _SelectorError(f"found '{literal}', expected: ',', or identifier")

    def exact_value(self) -> list[str]:
        if self.lookahead()[0] in (_END, ","):
            return [""]
        kind, literal = self.consume()
        if kind != _ID:
            raise _SelectorError(f"found '{literal}', expected: identifier")
        return [literal]


def parse_label_selector(text: str) -> LabelSelector:
    """labels.Parse: `a=b,c!=d,e in (f,g),!h,i`; the empty string selects everything."""
    try:
        requirements = _LabelParser(text).parse()
    except _SelectorError as err:
        raise BadRequest(str(err)) from None
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))


_MATCH_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def selector_from_match(match_labels: Mapping[str, str] | None,
                        match_expressions: Sequence[Mapping[str, Any]] | None) -> LabelSelector:
    """metav1.LabelSelectorAsSelector for `{matchLabels, matchExpressions}`; empty selects everything."""
    requirements: list[Requirement] = []
    try:
        for key in sorted(match_labels or {}):
            requirements.append(_new_requirement(key, EQUALS, [(match_labels or {})[key]]))
        for expression in match_expressions or ():
            operator = expression.get("operator", "")
            if operator not in _MATCH_OPERATORS:
                raise _SelectorError(f"{_go_quote(str(operator))} is not a valid label selector operator")
            values = list(expression.get("values") or [])
            requirements.append(_new_requirement(str(expression.get("key", "")), _MATCH_OPERATORS[operator],
                                                 values))
    except _SelectorError as err:
        raise BadRequest(str(err)) from None
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))


# --- field selectors ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldTerm:
    """`field=value` (or `!=` when `negated`), the value unescaped."""

    field: str
    value: str
    negated: bool = False

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return (field_value(obj, self.field) == self.value) != self.negated

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{'!=' if self.negated else '='}{escaped}"


@dataclass(frozen=True)
class FieldSelector:
    """AND of field terms, in the order the apiserver sorts them."""

    terms: tuple[FieldTerm, ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(term.matches(obj) for term in self.terms)

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything."""
        return not self.terms

    def exact_value(self, field: str) -> str | None:
        """The value `field` must equal, as RequiresExactMatch finds it (used to look up metadata.name)."""
        for term in self.terms:
            if term.field == field and not term.negated:
                return term.value
        return None

    def __str__(self) -> str:
        return ",".join(str(term) for term in self.terms)


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The value at a dotted path as a field selector sees it: a string, "" when missing."""
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return ""


def _split_terms(text: str) -> list[str]:
    """Split on commas not escaped by a backslash; escapes stay in the terms."""
    terms, start, escaped = [], 0, False
    for i, c in enumerate(text):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    return [*terms, text[start:]] if text else []


def _split_term(term: str) -> tuple[str, str, str] | None:
    """At the first operator (`!=`, `==`, `=`, in that preference at each position): field, op, raw value."""
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
    return None


def _unescape(value: str) -> str:
    if not any(c in value for c in "\\,="):
        return value
    out: list[str] = []
    escaped = False
    for c in value:
        if escaped:
            if c not in "\\,=":
                raise BadRequest(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c in ",=":
            raise BadRequest(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if escaped:
        raise BadRequest("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def parse_field_selector(text: str, allowed: Sequence[str]) -> FieldSelector:
    """fields.ParseSelector, then the kind's field label conversion: fields outside `allowed` are refused."""
    terms = []
    for part in sorted(_split_terms(text)):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise BadRequest(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, raw = split
        terms.append(FieldTerm(field, _unescape(raw), negated=op == "!="))
    for term in terms:
        if term.field not in allowed:
            raise BadRequest(f"field label not supported: {term.field}")
    return FieldSelector(tuple(terms))
