"""Trigger filter semantics (eventing.md §4): attribute lookup, the legacy attributes map, the Subscriptions API
dialects, trigger-level composition."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.eventing.cloudevent import CloudEvent, from_http
from jupyter_knative.eventing.filters import (
    Filter,
    FilterResult,
    compile_trigger_filter,
    lookup_attribute,
    materialize,
)

PASS, FAIL, NO_FILTER = FilterResult.PASS, FilterResult.FAIL, FilterResult.NO_FILTER


def event(**attributes: Any) -> CloudEvent:
    base: dict[str, Any] = {"specversion": "1.0", "id": "1", "source": "/src", "type": "dev.example.created"}
    base.update(attributes)
    return CloudEvent({k: v for k, v in base.items() if v is not None}, None)


def trigger(**spec: Any) -> Filter:
    return compile_trigger_filter(spec)


# ---------------------------------------------------------------------------------------------------------- lookup


@pytest.mark.parametrize(
    ("attrs", "name", "expected"),
    [
        pytest.param({}, "type", ("dev.example.created", True), id="type"),
        pytest.param({}, "subject", ("", True), id="unset-subject-exists-empty"),
        pytest.param({}, "dataschema", ("", True), id="unset-dataschema"),
        pytest.param({}, "datacontenttype", ("", True), id="unset-datacontenttype"),
        pytest.param({}, "datacontentencoding", ("", True), id="unset-datacontentencoding"),
        pytest.param({}, "datamediatype", ("", True), id="unset-datamediatype"),
        pytest.param({}, "time", ("0001-01-01T00:00:00Z", True), id="unset-time"),
        pytest.param({"time": "2020-03-21T12:34:56.780+00:00"}, "time", ("2020-03-21T12:34:56.78Z", True),
                     id="time-utc"),
        pytest.param({"time": "2020-03-21T12:34:56.100-07:00"}, "time", ("2020-03-21T12:34:56.1-07:00", True),
                     id="time-offset-kept"),
        pytest.param({"datacontenttype": "application/json; charset=utf-8"}, "datamediatype",
                     ("application/json", True), id="datamediatype"),
        pytest.param({"dataschema": "http://s/1"}, "schemaurl", ("http://s/1", True), id="schemaurl-alias"),
        pytest.param({"specversion": "0.3", "schemaurl": "http://s/2"}, "dataschema", ("http://s/2", True),
                     id="dataschema-of-v03"),
        pytest.param({}, "myext", (None, False), id="missing-extension"),
        pytest.param({"myext": ""}, "myext", ("", True), id="empty-extension"),
        pytest.param({"knativebrokerttl": 20}, "knativebrokerttl", (20, True), id="int-extension"),
    ],
)
def test_lookup_attribute(attrs: dict[str, Any], name: str, expected: tuple[Any, bool]) -> None:
    assert lookup_attribute(event(**attrs), name) == expected


# ---------------------------------------------------------------------------------------------- legacy attributes


@pytest.mark.parametrize(
    ("attributes", "attrs", "expected"),
    [
        pytest.param(None, {}, NO_FILTER, id="nil-map"),
        pytest.param({}, {}, PASS, id="empty-map"),
        pytest.param({"type": "dev.example.created"}, {}, PASS, id="exact-match"),
        pytest.param({"type": "dev.example.Created"}, {}, FAIL, id="case-sensitive"),
        pytest.param({"type": "dev.example"}, {}, FAIL, id="no-prefix-matching"),
        pytest.param({"type": "dev.example.created", "source": "/src"}, {}, PASS, id="all-keys"),
        pytest.param({"type": "dev.example.created", "source": "/other"}, {}, FAIL, id="anded"),
        pytest.param({"subject": ""}, {}, FAIL, id="any-value-needs-non-empty-subject"),
        pytest.param({"subject": ""}, {"subject": "s"}, PASS, id="any-value-present"),
        pytest.param({"myext": ""}, {}, FAIL, id="any-value-missing-extension"),
        pytest.param({"myext": ""}, {"myext": ""}, FAIL, id="any-value-empty-extension"),
        pytest.param({"myext": ""}, {"myext": "x"}, PASS, id="any-value-extension"),
        pytest.param({"myext": "x"}, {}, FAIL, id="missing-extension"),
        pytest.param({"myext": "x"}, {"myext": "x"}, PASS, id="extension-match"),
        pytest.param({"ttl": "20"}, {"ttl": 20}, FAIL, id="non-string-value-never-equals"),
        pytest.param({"flag": "true"}, {"flag": True}, FAIL, id="bool-value-never-equals"),
        pytest.param({"ttl": ""}, {"ttl": 20}, PASS, id="non-string-value-is-present"),
        pytest.param({"time": "0001-01-01T00:00:00Z"}, {}, PASS, id="unset-time-renders-zero"),
        pytest.param({"datamediatype": "text/plain"}, {"datacontenttype": "text/plain;charset=utf-8"}, PASS,
                     id="datamediatype"),
    ],
)
def test_legacy_attributes(attributes: dict[str, str] | None, attrs: dict[str, Any], expected: FilterResult) -> None:
    spec: dict[str, Any] = {"filter": {} if attributes is None else {"attributes": attributes}}
    assert trigger(**spec).evaluate(event(**attrs)) is expected


def test_no_filter_at_all() -> None:
    assert trigger().evaluate(event()) is NO_FILTER
    assert trigger(filter=None).evaluate(event()) is NO_FILTER


# ------------------------------------------------------------------------------------------ exact / prefix / suffix


@pytest.mark.parametrize(
    ("entry", "attrs", "expected"),
    [
        pytest.param({"exact": {"type": "dev.example.created"}}, {}, PASS, id="exact"),
        pytest.param({"exact": {"type": "dev.example"}}, {}, FAIL, id="exact-miss"),
        pytest.param({"exact": {"type": "dev.example.created", "source": "/src"}}, {}, PASS, id="exact-every-key"),
        pytest.param({"exact": {"type": "dev.example.created", "source": "/x"}}, {}, FAIL, id="exact-every-key-miss"),
        pytest.param({"exact": {"myext": "a"}}, {}, FAIL, id="exact-missing-extension"),
        pytest.param({"exact": {"knativebrokerttl": "20"}}, {"knativebrokerttl": 20}, PASS, id="exact-int-as-text"),
        pytest.param({"exact": {"flag": "true"}}, {"flag": True}, PASS, id="exact-bool-as-text"),
        pytest.param({"exact": {"subject": ""}}, {}, None, id="exact-empty-value-invalid"),
        pytest.param({"exact": {"": "x"}}, {}, None, id="exact-empty-key-invalid"),
        pytest.param({"exact": {"subject": "s", "type": ""}}, {"subject": "s"}, None, id="one-empty-value-invalid"),
        pytest.param({"prefix": {"type": "dev.example."}}, {}, PASS, id="prefix"),
        pytest.param({"prefix": {"type": "Dev."}}, {}, FAIL, id="prefix-case-sensitive"),
        pytest.param({"prefix": {"myext": "a"}}, {}, FAIL, id="prefix-missing-extension"),
        pytest.param({"prefix": {"knativebrokerttl": "2"}}, {"knativebrokerttl": 20}, PASS, id="prefix-int"),
        pytest.param({"prefix": {"type": ""}}, {}, None, id="prefix-empty-value-invalid"),
        pytest.param({"suffix": {"type": ".created"}}, {}, PASS, id="suffix"),
        pytest.param({"suffix": {"type": ".deleted"}}, {}, FAIL, id="suffix-miss"),
        pytest.param({"suffix": {"source": "src", "type": "created"}}, {}, PASS, id="suffix-every-key"),
        pytest.param({"suffix": {"time": "Z"}}, {}, PASS, id="suffix-unset-time"),
        pytest.param({"suffix": {"": "x"}}, {}, None, id="suffix-empty-key-invalid"),
    ],
)
def test_string_dialects(entry: dict[str, Any], attrs: dict[str, Any], expected: FilterResult | None) -> None:
    compiled = materialize(entry)
    if expected is None:
        assert compiled is None
        assert trigger(filters=[entry]).evaluate(event(**attrs)) is NO_FILTER  # dropped: nothing left
    else:
        assert compiled is not None and compiled.evaluate(event(**attrs)) is expected


# ------------------------------------------------------------------------------------------------- all / any / not

P: dict[str, Any] = {"exact": {"type": "dev.example.created"}}  # passes event()
F: dict[str, Any] = {"exact": {"type": "nope"}}  # fails event()
N: dict[str, Any] = {"not": {}}  # NoFilter


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param({"all": [P, P]}, PASS, id="all-pass"),
        pytest.param({"all": [P, F]}, FAIL, id="all-first-fail"),
        pytest.param({"all": [F, N]}, FAIL, id="all-fail-then-nofilter"),
        pytest.param({"all": [P, N]}, NO_FILTER, id="all-last-child-nofilter"),
        pytest.param({"all": [N, P]}, PASS, id="all-last-child-pass"),
        pytest.param({"all": [P]}, PASS, id="all-one-child"),
        pytest.param({"all": [{}, {}]}, NO_FILTER, id="all-children-dropped"),
        pytest.param({"any": [F, P]}, PASS, id="any-first-pass"),
        pytest.param({"any": [F, F]}, FAIL, id="any-all-fail"),
        pytest.param({"any": [F, N]}, NO_FILTER, id="any-last-child-nofilter"),
        pytest.param({"any": [N, F]}, FAIL, id="any-last-child-fail"),
        pytest.param({"any": [F]}, FAIL, id="any-one-child"),
        pytest.param({"not": P}, FAIL, id="not-pass"),
        pytest.param({"not": F}, PASS, id="not-fail"),
        pytest.param({"not": {}}, NO_FILTER, id="not-empty"),
        pytest.param({"not": {"not": F}}, FAIL, id="not-not"),
        pytest.param({"not": {"exact": {"type": ""}}}, NO_FILTER, id="not-invalid-child"),
        pytest.param({"all": [{"any": [F, P]}, {"not": F}]}, PASS, id="nested"),
        pytest.param({"any": [{"all": [P, F]}, {"not": P}]}, FAIL, id="nested-fail"),
    ],
)
def test_combinators(entry: dict[str, Any], expected: FilterResult) -> None:
    compiled = materialize(entry)
    assert compiled is not None and compiled.evaluate(event()) is expected


@pytest.mark.parametrize("entry", [{}, {"all": []}, {"any": []}, {"exact": {}}, {"cesql": ""}, {"cesql": "a ="}])
def test_entries_that_do_not_materialise(entry: dict[str, Any]) -> None:
    assert materialize(entry) is None


def test_first_dialect_wins_when_several_are_set() -> None:
    compiled = materialize({"exact": {"type": "nope"}, "prefix": {"type": "dev."}})
    assert compiled is not None and compiled.evaluate(event()) is FAIL


# ---------------------------------------------------------------------------------------------------------- cesql


@pytest.mark.parametrize(
    ("expression", "attrs", "expected"),
    [
        pytest.param("type = 'dev.example.created'", {}, PASS, id="true"),
        pytest.param("type = 'other'", {}, FAIL, id="false"),
        pytest.param("missingattribute < 5", {}, FAIL, id="missing-attribute-error"),
        pytest.param("missingattribute = missinsvalue", {}, FAIL, id="missing-both"),
        pytest.param("knativebrokerttl < 30", {"knativebrokerttl": 20}, PASS, id="int-extension-numeric"),
        pytest.param("knativebrokerttl < 30", {"knativebrokerttl": "20"}, PASS, id="string-extension-numeric"),
        pytest.param("knativebrokerttl < 10", {"knativebrokerttl": 20}, FAIL, id="int-extension-numeric-false"),
        pytest.param("1 / 0 = 1", {}, FAIL, id="math-error"),
        pytest.param("LENGTH(type)", {}, FAIL, id="non-boolean-result"),
        pytest.param("'true'", {}, FAIL, id="string-true-is-not-boolean"),
        pytest.param("EXISTS subject", {}, FAIL, id="unset-subject-does-not-exist"),
        pytest.param("subject = ''", {}, FAIL, id="unset-subject-is-missing"),
        pytest.param("EXISTS subject AND subject LIKE 'a%'", {"subject": "abc"}, PASS, id="subject-like"),
        pytest.param("time = '2020-03-21T12:34:56.78Z'", {"time": "2020-03-21T12:34:56.780+00:00"}, PASS, id="time"),
        pytest.param("dataschema = 'http://s'", {"specversion": "0.3", "schemaurl": "http://s"}, PASS, id="v03"),
        pytest.param("flag", {"flag": True}, PASS, id="bool-extension"),
        pytest.param("EXISTS id AND EXISTS specversion", {}, PASS, id="required-exist"),
    ],
)
def test_cesql(expression: str, attrs: dict[str, Any], expected: FilterResult) -> None:
    compiled = materialize({"cesql": expression})
    assert compiled is not None and compiled.evaluate(event(**attrs)) is expected


def test_cesql_filter_on_an_event_read_from_http() -> None:
    received = from_http({"content-type": "application/cloudevents+json"},
                         b'{"specversion":"1.0","id":"1","source":"s","type":"t","knativebrokerttl":255}')
    compiled = compile_trigger_filter({"filters": [{"cesql": "knativebrokerttl > 254 AND type = 't'"}]})
    assert compiled.evaluate(received) is PASS


# -------------------------------------------------------------------------------------------------- trigger level


def test_filters_override_filter() -> None:
    compiled = trigger(filter={"attributes": {"type": "nope"}}, filters=[P])
    assert compiled.evaluate(event()) is PASS


def test_empty_filters_falls_back_to_filter() -> None:
    assert trigger(filter={"attributes": {"type": "nope"}}, filters=[]).evaluate(event()) is FAIL


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param([P, F], FAIL, id="anded"),
        pytest.param([P, P], PASS, id="all-pass"),
        pytest.param([{}], NO_FILTER, id="only-empty-entry"),
        pytest.param([{"exact": {"type": ""}}], NO_FILTER, id="only-invalid-exact"),
        pytest.param([{"cesql": "this is not cesql ("}], NO_FILTER, id="only-unparsable-cesql"),
        pytest.param([{}, F], FAIL, id="dropped-entry-then-fail"),
        pytest.param([{"cesql": "("}, P], PASS, id="dropped-entry-then-pass"),
        pytest.param([P, N], NO_FILTER, id="last-child-rule"),
    ],
)
def test_trigger_filters(filters: list[dict[str, Any]], expected: FilterResult) -> None:
    assert trigger(filters=filters).evaluate(event()) is expected


def test_checklist_only_fail_stops_delivery() -> None:
    # eventing.md §8 item 3: a non-matching filter answers 200 (empty body) rather than delivering; NoFilter delivers
    delivers = {PASS: True, NO_FILTER: True, FAIL: False}
    assert delivers[trigger().evaluate(event())] is True
    assert delivers[trigger(filters=[{}]).evaluate(event())] is True
    assert delivers[trigger(filter={"attributes": {"type": "other"}}).evaluate(event())] is False


def test_checklist_empty_attribute_value_vs_new_dialects() -> None:
    # eventing.md §8 item 4: attributes {k: ""} needs k present and non-empty; exact {k: ""} is rejected when built
    legacy = trigger(filter={"attributes": {"subject": ""}})
    assert legacy.evaluate(event()) is FAIL
    assert legacy.evaluate(event(subject="x")) is PASS
    assert materialize({"exact": {"subject": ""}}) is None
    assert trigger(filters=[{"exact": {"subject": ""}}]).evaluate(event()) is NO_FILTER


def test_compiled_filter_is_reusable_and_described() -> None:
    compiled = trigger(filters=[P, {"cesql": "EXISTS subject"}])
    assert compiled.evaluate(event()) is FAIL
    assert compiled.evaluate(event(subject="s")) is PASS
    assert "cesql" in repr(compiled) and "exact" in compiled.description
