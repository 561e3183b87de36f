"""Printing: JSONPath, Table cells for CRD printer columns, ages and timestamps."""

from __future__ import annotations

import re
from typing import Any

import pytest

from jupyter_knative.api.printing import (
    cell,
    eval_jsonpath,
    format_timestamp,
    go_float,
    human_duration,
    parse_timestamp,
    render_jsonpath,
)

NOW = 1795716768.0  # 2026-11-26T18:12:48Z
MINUTE, HOUR, DAY, YEAR = 60, 3600, 86400, 365 * 86400


def ksvc(name: str = "hello", ready: str = "True", **status: Any) -> dict[str, Any]:
    """A Knative Service as the API server stores it, with Ready and RoutesReady conditions."""
    return {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": name, "creationTimestamp": "2026-11-26T18:10:45Z",
                     "labels": {"serving.knative.dev/configuration": name},
                     "annotations": {"eventing.knative.dev/broker.class": "MTChannelBasedBroker"}},
        "spec": {"template": {"spec": {"containers": [
            {"image": "img:1", "ports": [{"containerPort": 8080}]}]}}},
        "status": {"url": f"http://{name}.default.example.com", "observedGeneration": 1,
                   "conditions": [{"type": "Ready", "status": ready},
                                  {"type": "RoutesReady", "status": "True", "reason": ""}], **status},
    }


SERVICE = ksvc()
READY = ".status.conditions[?(@.type=='Ready')]"
LIST = {"kind": "ServiceList", "items": [ksvc("a"), ksvc("b", ready="False"), ksvc("c")]}


# --- durations and timestamps ---------------------------------------------------------------------------

@pytest.mark.parametrize(("seconds", "expected"), [
    pytest.param(0, "0s", id="now"),
    pytest.param(4, "4s", id="seconds"),
    pytest.param(4.9, "4s", id="truncated"),
    pytest.param(119, "119s", id="under-two-minutes"),
    pytest.param(2 * MINUTE, "2m", id="two-minutes"),
    pytest.param(2 * MINUTE + 3, "2m3s", id="minutes-seconds"),
    pytest.param(10 * MINUTE, "10m", id="ten-minutes"),
    pytest.param(179 * MINUTE + 59, "179m", id="under-three-hours"),
    pytest.param(3 * HOUR, "3h", id="three-hours"),
    pytest.param(3 * HOUR + 2 * MINUTE, "3h2m", id="hours-minutes"),
    pytest.param(5 * HOUR, "5h", id="hours"),
    pytest.param(8 * HOUR + 30 * MINUTE, "8h", id="eight-hours"),
    pytest.param(47 * HOUR + 59 * MINUTE, "47h", id="under-two-days"),
    pytest.param(2 * DAY + 3 * HOUR, "2d3h", id="days-hours"),
    pytest.param(2 * DAY, "2d", id="two-days"),
    pytest.param(8 * DAY, "8d", id="eight-days"),
    pytest.param(729 * DAY, "729d", id="under-two-years"),
    pytest.param(2 * YEAR + 45 * DAY, "2y45d", id="years-days"),
    pytest.param(2 * YEAR, "2y", id="two-years"),
    pytest.param(8 * YEAR + 100 * DAY, "8y", id="eight-years"),
    pytest.param(-1.9, "0s", id="clock-skew-tolerated"),
    pytest.param(-2, "<invalid>", id="future"),
])
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


@pytest.mark.parametrize(("text", "seconds"), [
    pytest.param("2026-11-26T18:12:48Z", NOW, id="utc"),
    pytest.param("2026-11-26T20:12:48+02:00", NOW, id="offset"),
    pytest.param("2026-11-26T18:12:48.25Z", NOW + 0.25, id="fraction"),
    pytest.param("1970-01-01T00:00:00Z", 0.0, id="epoch"),
])
def test_parse_timestamp(text: str, seconds: float) -> None:
    assert parse_timestamp(text) == seconds


@pytest.mark.parametrize("text", [
    pytest.param("2026-11-26 18:12:48Z", id="space"),
    pytest.param("2026-11-26T18:12:48", id="no-zone"),
    pytest.param("2026-13-26T18:12:48Z", id="month"),
    pytest.param("2026-11-26t18:12:48z", id="lowercase"),
    pytest.param("", id="empty"),
])
def test_parse_timestamp_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


@pytest.mark.parametrize(("seconds", "text"), [
    pytest.param(NOW, "2026-11-26T18:12:48Z", id="whole"),
    pytest.param(NOW + 0.999, "2026-11-26T18:12:48Z", id="truncated"),
    pytest.param(0, "1970-01-01T00:00:00Z", id="epoch"),
])
def test_format_timestamp(seconds: float, text: str) -> None:
    assert format_timestamp(seconds) == text
    assert parse_timestamp(text) == float(int(seconds))


# --- JSONPath -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("expr", "obj", "expected"), [
    pytest.param(".status.url", SERVICE, ["http://hello.default.example.com"], id="fields"),
    pytest.param("{.status.url}", SERVICE, ["http://hello.default.example.com"], id="braces"),
    pytest.param("$.metadata.name", SERVICE, ["hello"], id="dollar-root"),
    pytest.param(".metadata.labels['serving\\.knative\\.dev/configuration']", SERVICE, ["hello"],
                 id="bracket-key-escaped-dots"),
    pytest.param(".metadata.labels['serving.knative.dev/configuration']", SERVICE, [],
                 id="bracket-key-unescaped-dots-split-as-in-k8s"),
    pytest.param(".metadata.annotations.eventing\\.knative\\.dev/broker\\.class", SERVICE,
                 ["MTChannelBasedBroker"], id="escaped-dots-in-field"),
    pytest.param(".status.conditions[0].type", SERVICE, ["Ready"], id="index"),
    pytest.param(".status.conditions[-1].type", SERVICE, ["RoutesReady"], id="negative-index"),
    pytest.param(".status.conditions[*].type", SERVICE, ["Ready", "RoutesReady"], id="all"),
    pytest.param(".status.conditions[0:1].type", SERVICE, ["Ready"], id="slice"),
    pytest.param(READY + ".status", SERVICE, ["True"], id="filter-single-quotes"),
    pytest.param('.status.conditions[?(@.type=="Ready")].status', SERVICE, ["True"],
                 id="filter-double-quotes"),
    pytest.param('.status.conditions[?(@.type!="Ready")].type', SERVICE, ["RoutesReady"],
                 id="filter-not-equal"),
    pytest.param(".status.conditions[?(@.reason)].type", SERVICE, ["RoutesReady"], id="filter-exists"),
    pytest.param(".status.conditions[?(@.type=='Missing')].status", SERVICE, [], id="filter-no-match"),
    pytest.param(".status.observedGeneration", SERVICE, [1], id="integer"),
    pytest.param(".spec.template.spec.containers[0].ports[0].containerPort", SERVICE, [8080], id="deep"),
    pytest.param(".items[*].metadata.name", LIST, ["a", "b", "c"], id="items"),
    pytest.param(".items[?(@.status.conditions[0].status=='False')].metadata.name", LIST, ["b"],
                 id="filter-on-items"),
    pytest.param(".items[0,2].metadata.name", LIST, ["a", "c"], id="union"),
    pytest.param(".items[*].status.observedGeneration", LIST, [1, 1, 1], id="numbers"),
    pytest.param(".status.missing", SERVICE, [], id="missing-key"),
    pytest.param(".status.url.deeper", SERVICE, [], id="field-of-a-string"),
    pytest.param(".status.conditions[5].type", SERVICE, [], id="index-out-of-range-gives-nothing"),
    pytest.param(".metadata[0]", SERVICE, [], id="index-of-an-object-gives-nothing"),
    pytest.param(".metadata.labels.*", SERVICE, ["hello"], id="wildcard"),
    pytest.param("..containerPort", SERVICE, [8080], id="recursive"),
    pytest.param("{.metadata.name}{'\\n'}", SERVICE, ["hello", "\n"], id="literal"),
])
def test_eval_jsonpath(expr: str, obj: Any, expected: list[Any]) -> None:
    assert eval_jsonpath(expr, obj) == expected


@pytest.mark.parametrize(("expr", "message"), [
    pytest.param("{.status.url", "unclosed action", id="unclosed"),
    pytest.param(".items[0", "unterminated array", id="unterminated-array"),
    pytest.param(".items[?(@.a=='x'", "unterminated filter", id="unterminated-filter"),
    pytest.param(".items[?(@.a=='x')", "unclosed array expect ]", id="filter-without-bracket"),
    pytest.param(".items[x]", "invalid array index x", id="bad-index"),
    pytest.param('.labels["a"]', 'invalid array index "a"', id="double-quoted-key"),
    pytest.param("%", "unrecognized character in action: U+0025 '%'", id="bad-character"),
    pytest.param("{range .items[*]}", "unrecognized identifier range", id="range"),
    pytest.param(".items[?(@.a=<'x')]", "unrecognized filter operator =<", id="bad-operator"),
    pytest.param("{'abc}", "unterminated quoted string", id="unterminated-quote"),
])
def test_eval_jsonpath_syntax_errors(expr: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        eval_jsonpath(expr, SERVICE)


@pytest.mark.parametrize(("template", "obj", "expected"), [
    pytest.param("{.items[*].metadata.name}", LIST, "a b c", id="space-separated"),
    pytest.param("{.metadata.labels}", SERVICE, '{"serving.knative.dev/configuration":"hello"}', id="object"),
    pytest.param("name={.metadata.name}{'\\n'}", SERVICE, "name=hello\n", id="text-and-literal"),
    pytest.param("{.spec.x}", {"spec": {"x": [1, "<a>"]}}, '[1,"\\u003ca\\u003e"]', id="html-escaped-json"),
    pytest.param("{.x}", {"x": None}, "<nil>", id="null"),
    pytest.param("{.x}", {"x": 2.5}, "2.5", id="float"),
])
def test_render_jsonpath(template: str, obj: Any, expected: str) -> None:
    assert render_jsonpath(template, obj) == expected


@pytest.mark.parametrize(("value", "text"), [
    pytest.param(0.5, "0.5", id="fraction"),
    pytest.param(100.0, "100", id="whole"),
    pytest.param(123456.0, "123456", id="six-digits"),
    pytest.param(1e6, "1e+06", id="million"),
    pytest.param(1234567.0, "1.234567e+06", id="exponent"),
    pytest.param(0.0001, "0.0001", id="small"),
    pytest.param(0.00001, "1e-05", id="smaller"),
    pytest.param(-2.5, "-2.5", id="negative"),
    pytest.param(0.0, "0", id="zero"),
])
def test_go_float(value: float, text: str) -> None:
    assert go_float(value) == text


# --- table cells ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("column_type", "values", "expected"), [
    pytest.param("string", ["True"], "True", id="string"),
    pytest.param("string", ["a", "b"], "a", id="first-value-only"),
    pytest.param("string", [], None, id="missing"),
    pytest.param("string", [None], "<no value>", id="string-null"),
    pytest.param("string", [3], "3", id="string-of-integer"),
    pytest.param("string", [True], "true", id="string-of-boolean"),
    pytest.param("string", [{"b": 1, "a": [2]}], '{"a":[2],"b":1}', id="string-of-object"),
    pytest.param("integer", [3], 3, id="integer"),
    pytest.param("integer", [3.9], 3, id="integer-truncates"),
    pytest.param("integer", ["3"], None, id="integer-of-string"),
    pytest.param("integer", [True], None, id="integer-of-boolean"),
    pytest.param("number", [3], 3.0, id="number"),
    pytest.param("number", [0.25], 0.25, id="number-float"),
    pytest.param("boolean", [False], False, id="boolean"),
    pytest.param("boolean", ["false"], None, id="boolean-of-string"),
    pytest.param("date", ["2026-11-26T18:10:45Z"], "2m3s", id="date"),
    pytest.param("date", ["2026-11-20T18:12:48Z"], "6d", id="date-days"),
    pytest.param("date", [""], "<unknown>", id="date-empty"),
    pytest.param("date", ["yesterday"], "<invalid>", id="date-unparsable"),
    pytest.param("date", ["2026-11-26T18:20:00Z"], "<invalid>", id="date-in-the-future"),
    pytest.param("date", [12], None, id="date-of-number"),
    pytest.param("integer", [None], None, id="null"),
    pytest.param("quantity", ["1"], None, id="unknown-type"),
])
def test_cell(column_type: str, values: list[Any], expected: Any) -> None:
    assert cell(column_type, values, NOW) == expected


def test_printer_columns_of_a_knative_service() -> None:
    columns = [("string", ".status.url"), ("string", READY + ".status"), ("string", READY + ".reason"),
               ("date", ".metadata.creationTimestamp")]
    row = [cell(kind, eval_jsonpath(path, SERVICE), NOW) for kind, path in columns]
    assert row == ["http://hello.default.example.com", "True", None, "2m3s"]
