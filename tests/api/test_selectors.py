"""Label and field selectors: grammar, matching and the apiserver's error messages."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.api.selectors import (
    EVERYTHING,
    NOTHING,
    FieldSelector,
    field_value,
    label_key_errors,
    parse_field_selector,
    parse_label_selector,
    selector_from_match,
)
from jupyter_knative.api.status import BadRequest

KEY_REGEX = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
             "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation "
             "is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
VALUE_REGEX = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
               "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  "
               "or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
SUBDOMAIN_REGEX = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
                   "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
                   "used for validation is "
                   "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")

APP = {"app": "web", "tier": "front", "version": "3"}


def labels(**values: str) -> dict[str, str]:
    return dict(values)


# --- label selectors ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "given", "expected"), [
    pytest.param("", APP, True, id="empty-selects-everything"),
    pytest.param("   ", APP, True, id="blank"),
    pytest.param("app=web", APP, True, id="equals"),
    pytest.param("app==web", APP, True, id="double-equals"),
    pytest.param("app=api", APP, False, id="equals-other"),
    pytest.param("app!=api", APP, True, id="not-equals"),
    pytest.param("missing!=x", APP, True, id="not-equals-missing-key"),
    pytest.param("app in (api, web)", APP, True, id="in"),
    pytest.param("app in (api)", APP, False, id="in-other"),
    pytest.param("missing in (x)", APP, False, id="in-missing-key"),
    pytest.param("app notin (api)", APP, True, id="notin"),
    pytest.param("missing notin (x)", APP, True, id="notin-missing-key"),
    pytest.param("app", APP, True, id="exists"),
    pytest.param("!app", APP, False, id="does-not-exist"),
    pytest.param("!missing", APP, True, id="does-not-exist-missing"),
    pytest.param(" app = web , tier!=back ,version ", APP, True, id="whitespace-and-commas"),
    pytest.param("app=web,tier=back", APP, False, id="and"),
    pytest.param("version>2", APP, True, id="greater-than"),
    pytest.param("version<3", APP, False, id="less-than"),
    pytest.param("app>2", APP, False, id="greater-than-non-integer-label"),
    pytest.param("app=", labels(app=""), True, id="empty-value"),
    pytest.param("app in ()", labels(app=""), True, id="empty-set-is-empty-value"),
    pytest.param("x in (a,,b)", labels(x=""), True, id="empty-member"),
    pytest.param("in in (notin)", {"in": "notin"}, True, id="keywords-as-words"),
    pytest.param("serving.knative.dev/service=hello", {"serving.knative.dev/service": "hello"}, True,
                 id="prefixed-key"),
])
def test_label_selector_matches(text: str, given: dict[str, str], expected: bool) -> None:
    assert parse_label_selector(text).matches(given) is expected


@pytest.mark.parametrize(("text", "canonical"), [
    pytest.param("b=1,a=2", "a=2,b=1", id="sorted-by-key"),
    pytest.param("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()", id="sets"),
    pytest.param("!a,b!=c,d==e", "!a,b!=c,d==e", id="operators"),
    pytest.param("n > 5", "n>5", id="greater-than"),
])
def test_label_selector_string(text: str, canonical: str) -> None:
    assert str(parse_label_selector(text)) == canonical


REQUIREMENT = "unable to parse requirement: "


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("app:monolith", f'{REQUIREMENT}<nil>: Invalid value: "app:monolith": name part {KEY_REGEX}',
                 id="kubectl-get-l-colon"),
    pytest.param("a/b/c=x", f'{REQUIREMENT}<nil>: Invalid value: "a/b/c": a valid label key {KEY_REGEX} '
                 "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                 id="two-slashes"),
    pytest.param("Example.com/a", f'{REQUIREMENT}<nil>: Invalid value: "Example.com/a": prefix part '
                 f"{SUBDOMAIN_REGEX}", id="uppercase-prefix"),
    pytest.param("/a", f'{REQUIREMENT}<nil>: Invalid value: "/a": prefix part must be non-empty',
                 id="empty-prefix"),
    pytest.param("x/", f'{REQUIREMENT}<nil>: Invalid value: "x/": name part must be non-empty; name part '
                 f"{KEY_REGEX}", id="empty-name"),
    pytest.param("a" * 64, f'{REQUIREMENT}<nil>: Invalid value: "{"a" * 64}": name part must be no more than '
                 "63 bytes", id="long-name"),
    pytest.param("a=x@y", f'{REQUIREMENT}values[0][a]: Invalid value: "x@y": {VALUE_REGEX}', id="bad-value"),
    pytest.param("a in (y@,x@)", f'{REQUIREMENT}[values[0][a]: Invalid value: "x@": {VALUE_REGEX}, '
                 f'values[1][a]: Invalid value: "y@": {VALUE_REGEX}]', id="bad-values-sorted"),
    pytest.param("a=" + "v" * 64, f'{REQUIREMENT}values[0][a]: Invalid value: "{"v" * 64}": must be no more '
                 "than 63 bytes", id="long-value"),
    pytest.param("a>x", f'{REQUIREMENT}values[0]: Invalid value: "x": for \'Gt\', \'Lt\' operators, the '
                 "value must be an integer", id="gt-not-integer"),
    pytest.param("a in b", f"{REQUIREMENT}found 'b' expected: '('", id="in-without-parenthesis"),
    pytest.param("a in (b", f"{REQUIREMENT}found '', expected: ',' or ')'", id="unclosed-set"),
    pytest.param("a in (b c)", f"{REQUIREMENT}found 'c', expected: ',' or ')'", id="missing-comma"),
    pytest.param("a in (b,", f"{REQUIREMENT}found '', expected: ',', or identifier",
                 id="set-ends-after-comma"),
    pytest.param("a in (=)", f"{REQUIREMENT}found '=', expected: ',', ')' or identifier",
                 id="operator-in-set"),
    pytest.param("a b", f"{REQUIREMENT}found 'b', expected: in, notin, =, ==, !=, gt, lt", id="no-operator"),
    pytest.param("a=(", f"{REQUIREMENT}found '(', expected: identifier", id="bad-exact-value"),
    pytest.param("!,a", f"{REQUIREMENT}found ',', expected: identifier", id="no-key"),
    pytest.param("!=a", "found '!=', expected: !, identifier, or 'end of string'", id="starts-with-operator"),
    pytest.param("a=b c", "found 'c', expected: ',' or 'end of string'", id="two-values"),
    pytest.param("!a=b", "found '=', expected: ',' or 'end of string'", id="negated-with-value"),
    pytest.param("a,", "found '', expected: identifier after ','", id="trailing-comma"),
    pytest.param(",a", "found ',', expected: !, identifier, or 'end of string'", id="leading-comma"),
])
def test_label_selector_errors(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_label_selector(text)
    assert (caught.value.code, caught.value.message) == (400, message)


@pytest.mark.parametrize(("text", "empty"), [
    pytest.param("", True, id="empty"),
    pytest.param("a", False, id="exists"),
])
def test_label_selector_empty(text: str, empty: bool) -> None:
    assert parse_label_selector(text).empty is empty


def test_nothing_matches_nothing() -> None:
    assert not NOTHING.matches({}) and not NOTHING.empty
    assert EVERYTHING.matches({}) and EVERYTHING.empty


@pytest.mark.parametrize(("text", "key", "expected"), [
    pytest.param("app=web,tier", "app", "web", id="equals"),
    pytest.param("app in (web)", "app", "web", id="single-in"),
    pytest.param("app in (web,api)", "app", None, id="two-values"),
    pytest.param("app!=web", "app", None, id="not-equals"),
    pytest.param("tier", "app", None, id="other-key"),
])
def test_label_selector_exact_value(text: str, key: str, expected: str | None) -> None:
    assert parse_label_selector(text).exact_value(key) == expected


@pytest.mark.parametrize(("match_labels", "expressions", "given", "expected"), [
    pytest.param({"app": "web"}, None, APP, True, id="match-labels"),
    pytest.param({"app": "web", "tier": "back"}, None, APP, False, id="match-labels-all"),
    pytest.param(None, [{"key": "tier", "operator": "In", "values": ["front", "back"]}], APP, True, id="in"),
    pytest.param(None, [{"key": "tier", "operator": "NotIn", "values": ["front"]}], APP, False, id="notin"),
    pytest.param(None, [{"key": "app", "operator": "Exists"}], APP, True, id="exists"),
    pytest.param(None, [{"key": "app", "operator": "DoesNotExist"}], APP, False, id="does-not-exist"),
    pytest.param({}, [], APP, True, id="empty-selects-everything"),
    pytest.param(None, None, {}, True, id="nothing-given"),
])
def test_selector_from_match(match_labels: dict[str, str] | None, expressions: list[dict[str, Any]] | None,
                             given: dict[str, str], expected: bool) -> None:
    assert selector_from_match(match_labels, expressions).matches(given) is expected


@pytest.mark.parametrize(("match_labels", "expressions", "message"), [
    pytest.param(None, [{"key": "a", "operator": "Equals", "values": ["b"]}],
                 '"Equals" is not a valid label selector operator', id="bad-operator"),
    pytest.param(None, [{"key": "a", "operator": "In", "values": []}],
                 "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
                 id="in-without-values"),
    pytest.param(None, [{"key": "a", "operator": "Exists", "values": ["b"]}],
                 'values: Invalid value: []string{"b"}: '
                 "values set must be empty for exists and does not exist", id="exists-with-values"),
    pytest.param({"-a": "b"}, None, f'key: Invalid value: "-a": name part {KEY_REGEX}', id="bad-key"),
    pytest.param({"a": "b c"}, None, f'values[0][a]: Invalid value: "b c": {VALUE_REGEX}', id="bad-value"),
])
def test_selector_from_match_errors(match_labels: dict[str, str] | None,
                                    expressions: list[dict[str, Any]] | None, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        selector_from_match(match_labels, expressions)
    assert caught.value.message == message


def test_selector_from_match_string_is_sorted() -> None:
    selector = selector_from_match({"b": "1"}, [{"key": "a", "operator": "In", "values": ["y", "x"]}])
    assert str(selector) == "a in (x,y),b=1"


@pytest.mark.parametrize(("key", "valid"), [
    pytest.param("simple", True, id="simple"),
    pytest.param("example.com/Upper_Is_OK", True, id="prefixed"),
    pytest.param("a" * 253 + "/" + "b" * 63, True, id="longest"),
    pytest.param("cantendwithadash-", False, id="trailing-dash"),
    pytest.param("example_com/abc", False, id="underscore-in-prefix"),
])
def test_label_key_errors(key: str, valid: bool) -> None:
    assert (label_key_errors(key) == []) is valid


# --- field selectors ------------------------------------------------------------------------------------

EVENT_FIELDS = ("metadata.name", "metadata.namespace", "involvedObject.name", "involvedObject.namespace",
                "involvedObject.kind", "involvedObject.uid", "type", "reason")
EVENT = {"metadata": {"name": "e1", "namespace": "default"}, "type": "Normal",
         "involvedObject": {"kind": "Service", "name": "hello", "namespace": "default", "uid": "u-1"}}
POD = {"metadata": {"name": "p", "namespace": "default"}, "spec": {"nodeName": "n1", "hostNetwork": True},
       "status": {"phase": "Running"}}
POD_FIELDS = ("metadata.name", "metadata.namespace", "spec.nodeName", "spec.hostNetwork", "status.phase")
NAME_FIELDS = ("metadata.name", "metadata.namespace")


@pytest.mark.parametrize(("text", "obj", "allowed", "expected"), [
    pytest.param("", EVENT, EVENT_FIELDS, True, id="empty"),
    pytest.param("involvedObject.name=hello,involvedObject.namespace=default,involvedObject.kind=Service,"
                 "involvedObject.uid=u-1", EVENT, EVENT_FIELDS, True, id="kubectl-describe-events"),
    pytest.param("involvedObject.uid=u-2", EVENT, EVENT_FIELDS, False, id="other-uid"),
    pytest.param("type!=Warning", EVENT, EVENT_FIELDS, True, id="not-equals"),
    pytest.param("type==Normal", EVENT, EVENT_FIELDS, True, id="double-equals"),
    pytest.param("reason=", EVENT, EVENT_FIELDS, True, id="missing-is-empty"),
    pytest.param("status.phase=Running,spec.nodeName=n1", POD, POD_FIELDS, True, id="pod-fields"),
    pytest.param("spec.hostNetwork=true", POD, POD_FIELDS, True, id="boolean-field"),
    pytest.param("metadata.name=p,", POD, POD_FIELDS, True, id="trailing-comma-ignored"),
])
def test_field_selector_matches(text: str, obj: dict[str, Any], allowed: tuple[str, ...],
                                expected: bool) -> None:
    assert parse_field_selector(text, allowed).matches(obj) is expected


@pytest.mark.parametrize(("text", "value"), [
    pytest.param(r"metadata.name=a\,b", "a,b", id="escaped-comma"),
    pytest.param(r"metadata.name=a\=b", "a=b", id="escaped-equals"),
    pytest.param(r"metadata.name=a\\b", "a\\b", id="escaped-backslash"),
    pytest.param("metadata.name==x", "x", id="double-equals-not-in-value"),
])
def test_field_selector_escapes(text: str, value: str) -> None:
    selector = parse_field_selector(text, ["metadata.name"])
    assert selector.exact_value("metadata.name") == value
    assert parse_field_selector(str(selector), ["metadata.name"]) == selector


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("foo=bar", "field label not supported: foo", id="unsupported-label"),
    pytest.param("metadata.name=x,zzz=1,aaa=2", "field label not supported: aaa", id="first-in-sorted-order"),
    pytest.param("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'",
                 id="no-operator"),
    pytest.param("metadata.name=a=b", "invalid field selector: unescaped character in value: 61",
                 id="unescaped-equals"),
    pytest.param(r"metadata.name=a\x", r"invalid field selector: invalid escape sequence: \x",
                 id="bad-escape"),
    pytest.param("metadata.name=a\\", "invalid field selector: invalid escape sequence: \\",
                 id="trailing-backslash"),
])
def test_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_field_selector(text, NAME_FIELDS)
    assert (caught.value.code, caught.value.message) == (400, message)


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("metadata.name=hello", "hello", id="pinned"),
    pytest.param("metadata.namespace=default,metadata.name=hello", "hello", id="with-other-terms"),
    pytest.param("metadata.name!=hello", None, id="negated"),
    pytest.param("metadata.namespace=default", None, id="not-named"),
])
def test_field_selector_exact_value(text: str, expected: str | None) -> None:
    assert parse_field_selector(text, NAME_FIELDS).exact_value("metadata.name") == expected


def test_field_selector_terms_are_sorted() -> None:
    selector = parse_field_selector("metadata.namespace=b,metadata.name=a", NAME_FIELDS)
    assert str(selector) == "metadata.name=a,metadata.namespace=b"
    assert FieldSelector().empty and not selector.empty


@pytest.mark.parametrize(("path", "expected"), [
    pytest.param("metadata.name", "p", id="string"),
    pytest.param("spec.hostNetwork", "true", id="boolean"),
    pytest.param("spec.missing", "", id="missing"),
    pytest.param("metadata.name.deeper", "", id="through-a-string"),
    pytest.param("spec", "", id="object"),
])
def test_field_value(path: str, expected: str) -> None:
    assert field_value(POD, path) == expected
