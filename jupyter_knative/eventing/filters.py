"""Trigger filters (Knative's `pkg/eventfilter`): the legacy `filter.attributes` map and the Subscriptions API
dialects of `filters` (exact, prefix, suffix, all, any, not, cesql), compiled once per trigger generation into
`Filter` objects whose `evaluate(event)` is the broker filter's hot path.

Only `FilterResult.FAIL` stops a delivery; `PASS` and `NO_FILTER` both deliver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Any, Final

from ..api.eventing.cesql import MISSING, CESQLError, parse
from .cloudevent import CloudEvent, InvalidCloudEvent, format_time

__all__ = [
    "Filter",
    "FilterResult",
    "compile_trigger_filter",
    "lookup_attribute",
    "materialize",
]


class FilterResult(Enum):
    PASS = "pass"
    FAIL = "fail"
    NO_FILTER = "noFilter"


PASS: Final = FilterResult.PASS
FAIL: Final = FilterResult.FAIL
NO_FILTER: Final = FilterResult.NO_FILTER

Evaluate = Callable[[CloudEvent], FilterResult]


class Filter:
    """A compiled filter. `evaluate` is a plain function held in a slot, so calling it binds nothing."""

    __slots__ = ("description", "evaluate")

    def __init__(self, evaluate: Evaluate, description: str) -> None:
        self.evaluate: Evaluate = evaluate
        self.description = description

    def __repr__(self) -> str:
        return f"Filter({self.description})"


NO_FILTER_FILTER: Final = Filter(lambda event: NO_FILTER, "noFilter")
PASS_FILTER: Final = Filter(lambda event: PASS, "pass")


# -------------------------------------------------------------------------------------------------- attribute lookup

# core attributes read straight from the map; always present, "" when unset
_PLAIN_CORE: Final = frozenset(
    {"specversion", "type", "source", "subject", "id", "datacontenttype", "datacontentencoding"}
)
_SPECIAL: Final = frozenset({"time", "dataschema", "schemaurl", "datamediatype"})
_ZERO_TIME: Final = "0001-01-01T00:00:00Z"


def lookup_attribute(event: CloudEvent, name: str) -> tuple[Any, bool]:
    """(value, present) as Knative's `attributes.LookupAttribute` sees it: core attributes always exist ("" when
    unset), `time` in Go's RFC3339Nano form, `schemaurl` is `dataschema`, `datamediatype` the content type without
    parameters; any other name is an extension, present only if the event has it."""
    attributes = event.attributes
    if name in _PLAIN_CORE:
        return attributes.get(name, ""), True
    if name in _SPECIAL:
        return _special(attributes, name), True
    if name in attributes:
        return attributes[name], True
    return None, False


def _special(attributes: Mapping[str, Any], name: str) -> str:
    if name == "time":
        return _render_time(attributes.get("time"))
    if name == "datamediatype":
        return str(attributes.get("datacontenttype", "")).partition(";")[0].strip()
    return str(attributes.get("dataschema") or attributes.get("schemaurl") or "")


def _render_time(value: Any) -> str:
    if value is None:
        return _ZERO_TIME
    try:
        return format_time(value)  # events from from_http already hold this form; others may not
    except InvalidCloudEvent:
        return str(value)


def _getter(name: str) -> Callable[[CloudEvent], Any]:
    """The fastest reader for one attribute name; returns `MISSING` for an absent extension."""
    if name in _PLAIN_CORE:
        return lambda event: event.attributes.get(name, "")
    if name in _SPECIAL:
        return lambda event: _special(event.attributes, name)
    return lambda event: event.attributes.get(name, MISSING)


def _text(value: Any) -> str:
    """Go's `fmt.Sprint` of an attribute value."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value if type(value) is str else str(value)


# ----------------------------------------------------------------------------------------------- legacy attributes


def attributes_filter(attributes: Mapping[str, str] | None) -> Filter:
    """`spec.filter.attributes`: None → NoFilter, {} → Pass; "" = present and non-empty; else the exact string."""
    if attributes is None:
        return NO_FILTER_FILTER
    checks = [(_getter(key), value) for key, value in attributes.items()]
    if not checks:
        return PASS_FILTER

    def evaluate(event: CloudEvent) -> FilterResult:
        for get, expected in checks:
            value = get(event)
            if value is MISSING:
                return FAIL
            if expected == "":
                if value == "":
                    return FAIL
            elif value != expected or type(value) is not str:
                return FAIL
        return PASS

    return Filter(evaluate, f"attributes{dict(attributes)}")


# ------------------------------------------------------------------------------------------------------- dialects


def _string_filter(kind: str, attributes: Mapping[str, Any]) -> Filter | None:
    """exact / prefix / suffix; an empty key or value makes the filter invalid (None: dropped)."""
    if any(not key or value is None or value == "" for key, value in attributes.items()):
        return None
    test = _STRING_TESTS[kind]
    checks = [(_getter(key), str(value)) for key, value in attributes.items()]

    def evaluate(event: CloudEvent) -> FilterResult:
        for get, expected in checks:
            value = get(event)
            if value is MISSING or not test(_text(value), expected):
                return FAIL
        return PASS

    if len(checks) == 1 and kind == "exact":
        get, expected = checks[0]

        def evaluate(event: CloudEvent) -> FilterResult:
            value = get(event)
            return PASS if value == expected or (value is not MISSING and _text(value) == expected) else FAIL

    return Filter(evaluate, f"{kind}{dict(attributes)}")


_STRING_TESTS: Final[dict[str, Callable[[str, str], bool]]] = {
    "exact": str.__eq__,
    "prefix": str.startswith,
    "suffix": str.endswith,
}


def all_filter(children: Sequence[Filter]) -> Filter:
    """The first Fail → Fail, otherwise the last child's result; none → NoFilter."""
    if not children:
        return NO_FILTER_FILTER
    if len(children) == 1:
        return children[0]
    evaluators = [child.evaluate for child in children]

    def evaluate(event: CloudEvent) -> FilterResult:
        result = NO_FILTER
        for child in evaluators:
            result = child(event)
            if result is FAIL:
                return FAIL
        return result

    return Filter(evaluate, f"all{[child.description for child in children]}")


def any_filter(children: Sequence[Filter]) -> Filter:
    """The first Pass → Pass, otherwise the last child's result; none → NoFilter."""
    if not children:
        return NO_FILTER_FILTER
    if len(children) == 1:
        return children[0]
    evaluators = [child.evaluate for child in children]

    def evaluate(event: CloudEvent) -> FilterResult:
        result = NO_FILTER
        for child in evaluators:
            result = child(event)
            if result is PASS:
                return PASS
        return result

    return Filter(evaluate, f"any{[child.description for child in children]}")


_NEGATION: Final = {PASS: FAIL, FAIL: PASS, NO_FILTER: NO_FILTER}


def not_filter(child: Filter | None) -> Filter:
    """Pass ↔ Fail; NoFilter (and a missing child) stays NoFilter."""
    if child is None:
        return NO_FILTER_FILTER
    inner = child.evaluate
    return Filter(lambda event: _NEGATION[inner(event)], f"not({child.description})")


def cesql_filter(expression: str) -> Filter:
    """A CESQL predicate: true → Pass; false, a non-boolean or any evaluation error → Fail. Raises `CESQLError`
    when `expression` does not parse. Lookups follow sdk-go's: optional attributes exist only when set."""
    compiled = parse(expression)

    def evaluate(event: CloudEvent) -> FilterResult:
        attributes = event.attributes

        def lookup(name: str) -> Any:
            value = attributes.get(name, MISSING)
            if name == "time" and value is not MISSING:
                return _render_time(value)
            if value is MISSING and name == "dataschema":
                return attributes.get("schemaurl", MISSING)
            return value

        try:
            result = compiled.evaluate(lookup)
        except CESQLError:
            return FAIL
        return PASS if result is True else FAIL

    return Filter(evaluate, f"cesql({expression!r})")


# ---------------------------------------------------------------------------------------------------- materialise


def materialize(entry: Mapping[str, Any]) -> Filter | None:
    """One `filters[]` entry as Knative materialises it: the first dialect set wins (exact, prefix, suffix, all,
    any, not, cesql); None when the entry sets none (`{}`), or is invalid (empty exact key or value, CESQL that
    does not parse), so the caller drops it."""
    for kind in ("exact", "prefix", "suffix"):
        value = entry.get(kind)
        if isinstance(value, Mapping) and value:
            return _string_filter(kind, value)
    for kind, combine in (("all", all_filter), ("any", any_filter)):
        value = entry.get(kind)
        if isinstance(value, Sequence) and not isinstance(value, str) and value:
            return combine(_materialize_list(value))
    inner = entry.get("not")
    if isinstance(inner, Mapping):
        return not_filter(materialize(inner))
    expression = entry.get("cesql")
    if isinstance(expression, str) and expression:
        try:
            return cesql_filter(expression)
        except CESQLError:
            return None
    return None


def _materialize_list(entries: Sequence[Any]) -> list[Filter]:
    filters = (materialize(entry) for entry in entries if isinstance(entry, Mapping))
    return [f for f in filters if f is not None]


def compile_trigger_filter(spec: Mapping[str, Any]) -> Filter:
    """The filter of a Trigger `spec`: non-empty `filters` → all[…] of its materialised entries (NoFilter when none
    is left), overriding `filter`; otherwise `filter.attributes`; otherwise NoFilter."""
    filters = spec.get("filters")
    if isinstance(filters, Sequence) and not isinstance(filters, str) and filters:
        return all_filter(_materialize_list(filters))
    legacy = spec.get("filter")
    attributes = legacy.get("attributes") if isinstance(legacy, Mapping) else None
    return attributes_filter(attributes if isinstance(attributes, Mapping) else None)
