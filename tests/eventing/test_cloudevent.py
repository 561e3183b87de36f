"""The data plane's CloudEvents HTTP codec: modes, validation, data handling, persistence, replies, SDK interop."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cloudevents.conversion import to_binary as sdk_to_binary
from cloudevents.conversion import to_structured as sdk_to_structured
from cloudevents.http import CloudEvent as SDKEvent
from cloudevents.http import from_http as sdk_from_http

from jupyter_knative.eventing.cloudevent import (
    CloudEvent,
    InvalidCloudEvent,
    NotACloudEvent,
    format_time,
    from_bytes,
    from_http,
    response_event,
    to_binary,
    to_bytes,
    to_structured,
)

BASE = {"specversion": "1.0", "id": "1", "source": "/src", "type": "dev.example"}


def binary(content_type: str | None = None, /, **attrs: str) -> list[tuple[bytes, bytes]]:
    """Headers as the httptools server hands them over: lower-case bytes names."""
    headers = [(f"ce-{name}".encode(), value.encode()) for name, value in {**BASE, **attrs}.items()]
    if content_type is not None:
        headers.append((b"content-type", content_type.encode()))
    return headers


def structured(document: dict[str, Any], content_type: str = "application/cloudevents+json") -> tuple[Any, bytes]:
    return [(b"content-type", content_type.encode())], json.dumps(document).encode()


def to_str_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {name.decode(): value.decode() for name, value in headers}


# ---------------------------------------------------------------------------------------------------- mode detection


def test_binary_event_reads_every_header_and_content_type() -> None:
    event = from_http(binary("application/json", subject="s1", myext="v"), b'{"a":1}')
    assert event.attributes == {**BASE, "subject": "s1", "myext": "v", "datacontenttype": "application/json"}
    assert (event.id, event.type, event.source, event.get("myext"), event.get("nope")) == (
        "1", "dev.example", "/src", "v", None)
    assert event.data == b'{"a":1}'


def test_binary_without_body_has_no_data_and_no_content_type() -> None:
    event = from_http(binary(), b"")
    assert event.data is None
    assert "datacontenttype" not in event.attributes


def test_binary_header_names_are_case_insensitive_and_first_repeat_wins() -> None:
    headers = [(b"CE-SpecVersion", b"1.0"), (b"Ce-Id", b"a"), (b"ce-id", b"b"), (b"ce-source", b"s"),
               (b"ce-type", b"t"), (b"Content-Type", b"text/plain")]
    event = from_http(headers, b"x")
    assert event.attributes == {"specversion": "1.0", "id": "a", "source": "s", "type": "t",
                                "datacontenttype": "text/plain"}


def test_mapping_headers_are_accepted() -> None:
    event = from_http({"Ce-Specversion": "1.0", "Ce-Id": "1", "Ce-Source": "s", "Ce-Type": "t", "Ce-MyExt": "x"}, b"")
    assert event.attributes["myext"] == "x"


def test_header_values_are_not_percent_decoded() -> None:
    # sdk-go v2.16 does not percent-decode, and Knative passes the value on as it came
    event = from_http(binary(subject="Euro%20%E2%82%AC"), b"")
    assert event.attributes["subject"] == "Euro%20%E2%82%AC"


def test_utf8_header_values_are_kept() -> None:
    headers = [*binary(), (b"ce-subject", "Euro € 😀".encode())]
    assert from_http(headers, b"").attributes["subject"] == "Euro € 😀"


def test_specversion_03_is_accepted() -> None:
    event = from_http(binary(specversion="0.3", schemaurl="http://x/s"), b"")
    assert event.attributes["specversion"] == "0.3"
    assert event.attributes["schemaurl"] == "http://x/s"


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        pytest.param([(b"content-type", b"application/json")], b"{}", id="plain-json"),
        pytest.param([], b"", id="nothing"),
        pytest.param(binary(specversion="2.0"), b"", id="unknown-specversion"),
        pytest.param([(b"content-type", b"application/cloudevents-batch+json")], b"[]", id="batch"),
        pytest.param([(b"content-type", b"Application/CloudEvents-Batch+JSON")], b"[]", id="batch-any-case"),
        pytest.param([(b"content-type", b"application/cloudevents+avro")], b"x", id="unknown-format"),
    ],
)
def test_not_a_cloudevent(headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    with pytest.raises(NotACloudEvent):
        from_http(headers, body)


def test_unknown_structured_format_with_specversion_header_is_binary() -> None:
    # sdk-go only knows application/cloudevents+json; anything else falls back to binary when ce-specversion is set
    event = from_http(binary("application/cloudevents+avro"), b"x")
    assert event.attributes["datacontenttype"] == "application/cloudevents+avro"


@pytest.mark.parametrize(
    "content_type",
    ["application/cloudevents+json", "Application/CloudEvents+JSON; charset=utf-8", "application/cloudevents"],
)
def test_structured_content_type_is_case_insensitive(content_type: str) -> None:
    headers, body = structured({**BASE, "data": {"k": "v"}}, content_type)
    event = from_http([*headers, (b"ce-specversion", b"9.9")], body)  # ce- headers are ignored in structured mode
    assert event.attributes == BASE
    assert event.data == b'{"k":"v"}'


# ------------------------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("attrs", "attribute"),
    [
        pytest.param({"id": ""}, "id", id="empty-id"),
        pytest.param({"id": "   "}, "id", id="blank-id"),
        pytest.param({"source": ""}, "source", id="empty-source"),
        pytest.param({"type": " "}, "type", id="blank-type"),
        pytest.param({"subject": " "}, "subject", id="blank-subject"),
        pytest.param({"dataschema": "relative/path"}, "dataschema", id="relative-dataschema"),
        pytest.param({"time": "yesterday"}, "time", id="bad-time"),
        pytest.param({"time": "2020-02-30T00:00:00Z"}, "time", id="no-such-day"),
        pytest.param({"time": "2020-01-01T24:00:00Z"}, "time", id="hour-24"),
        pytest.param({"time": "2020-01-01 00:00:00Z"}, "time", id="space-separator"),
        pytest.param({"time": "2020-01-01T00:00:00"}, "time", id="no-offset"),
        pytest.param({"my-ext": "x"}, "my-ext", id="dash-in-extension"),
        pytest.param({"my_ext": "x"}, "my_ext", id="underscore-in-extension"),
        pytest.param({"data": "x"}, "data", id="reserved-data"),
    ],
)
def test_binary_validation_names_the_attribute(attrs: dict[str, str], attribute: str) -> None:
    with pytest.raises(InvalidCloudEvent, match=attribute):
        from_http(binary(**attrs), b"")


def test_missing_required_attribute() -> None:
    headers = [h for h in binary() if h[0] != b"ce-source"]
    with pytest.raises(InvalidCloudEvent, match="source"):
        from_http(headers, b"")


def test_binary_empty_content_type_is_invalid_datacontenttype() -> None:
    with pytest.raises(InvalidCloudEvent, match="datacontenttype"):
        from_http(binary(" "), b"x")


def test_stray_ce_datacontenttype_only_counts_without_content_type() -> None:
    assert from_http(binary(datacontenttype="text/plain"), b"x").attributes["datacontenttype"] == "text/plain"
    event = from_http(binary("text/csv", datacontenttype="text/plain"), b"x")
    assert event.attributes["datacontenttype"] == "text/csv"


@pytest.mark.parametrize(
    ("document", "attribute"),
    [
        pytest.param({"specversion": "1.0", "id": "1", "type": "t"}, "source", id="no-source"),
        pytest.param({**BASE, "specversion": "0.9"}, "specversion", id="bad-specversion"),
        pytest.param({"id": "1", "source": "s", "type": "t"}, "specversion", id="no-specversion"),
        pytest.param({**BASE, "id": 5}, "id", id="numeric-id"),
        pytest.param({**BASE, "datacontenttype": ""}, "datacontenttype", id="empty-datacontenttype"),
        pytest.param({**BASE, "myext": {"a": 1}}, "myext", id="object-extension"),
        pytest.param({**BASE, "myext": 2**31}, "myext", id="int-extension-overflow"),
        pytest.param({**BASE, "myext": 1.5}, "myext", id="fractional-extension"),
        pytest.param({**BASE, "Bad-Name": "x"}, "bad-name", id="dash-in-extension"),
        pytest.param({**BASE, "data": {}, "data_base64": "AA=="}, "data_base64", id="data-and-base64"),
        pytest.param({**BASE, "data_base64": "not base64!"}, "data_base64", id="bad-base64"),
    ],
)
def test_structured_validation_names_the_attribute(document: dict[str, Any], attribute: str) -> None:
    headers, body = structured(document)
    with pytest.raises(InvalidCloudEvent, match=attribute):
        from_http(headers, body)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', "é".encode("latin-1")])
def test_malformed_structured_body(body: bytes) -> None:
    with pytest.raises(InvalidCloudEvent):
        from_http([(b"content-type", b"application/cloudevents+json")], body)


def test_upper_case_extension_names_are_lower_cased() -> None:
    headers, body = structured({**BASE, "MyExt": "x"})
    assert from_http(headers, body).attributes["myext"] == "x"


def test_structured_extension_types_and_nulls() -> None:
    headers, body = structured({**BASE, "count": 20, "flag": True, "whole": 3.0, "gone": None})
    event = from_http(headers, body)
    assert (event.get("count"), event.get("flag"), event.get("whole")) == (20, True, 3)
    assert "gone" not in event.attributes


@pytest.mark.parametrize(
    ("given", "rendered"),
    [
        ("2020-03-21T12:34:56.780Z", "2020-03-21T12:34:56.78Z"),
        ("2020-03-21T12:34:56.000Z", "2020-03-21T12:34:56Z"),
        ("2020-03-21T12:34:56+00:00", "2020-03-21T12:34:56Z"),
        ("2020-03-21T12:34:56.5-07:00", "2020-03-21T12:34:56.5-07:00"),
        ("2020-03-21T12:34:56.1234567891Z", "2020-03-21T12:34:56.123456789Z"),
        ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"),
    ],
)
def test_time_is_kept_in_go_rfc3339nano_form(given: str, rendered: str) -> None:
    assert format_time(given) == rendered
    assert from_http(binary(time=given), b"").attributes["time"] == rendered


# ------------------------------------------------------------------------------------------------------------ data


@pytest.mark.parametrize(
    ("document", "data"),
    [
        pytest.param({"data": {"b": [1, 2], "a": "é"}}, '{"b":[1,2],"a":"é"}'.encode(), id="json-object-compact"),
        pytest.param({"data": "hello"}, b'"hello"', id="json-string-no-content-type"),
        pytest.param({"datacontenttype": "application/json", "data": "hi"}, b'"hi"', id="json-string"),
        pytest.param({"datacontenttype": "application/vnd+json", "data": 5}, b"5", id="plus-json"),
        pytest.param({"datacontenttype": "text/plain", "data": "héllo"}, "héllo".encode(), id="text-string"),
        pytest.param({"datacontenttype": "text/plain", "data": [1]}, b"[1]", id="text-non-string"),
        pytest.param({"datacontenttype": "application/octet-stream", "data_base64": "AP8="}, b"\x00\xff", id="b64"),
        pytest.param({"data": None}, None, id="null-data"),
        pytest.param({}, None, id="no-data"),
    ],
)
def test_structured_data(document: dict[str, Any], data: bytes | None) -> None:
    headers, body = structured({**BASE, **document})
    assert from_http(headers, body).data == data


def test_to_binary_writes_headers_and_content_type() -> None:
    event = CloudEvent({**BASE, "datacontenttype": "text/plain", "ttl": 5, "flag": False}, b"hi")
    headers, body = to_binary(event)
    assert dict(headers) == {b"ce-specversion": b"1.0", b"ce-id": b"1", b"ce-source": b"/src",
                             b"ce-type": b"dev.example", b"content-type": b"text/plain", b"ce-ttl": b"5",
                             b"ce-flag": b"false"}
    assert body == b"hi"
    assert from_http(headers, body).attributes == {**event.attributes, "ttl": "5", "flag": "false"}


@pytest.mark.parametrize(
    ("attrs", "data", "member", "value"),
    [
        pytest.param({}, b'{"a": 1}', "data", {"a": 1}, id="json"),
        pytest.param({}, b"\xff\x00", "data_base64", "/wA=", id="no-content-type-not-json"),
        pytest.param({"datacontenttype": "text/plain"}, "é".encode(), "data", "é", id="text"),
        pytest.param({"datacontenttype": "application/xml"}, b"<a/>", "data", "<a/>", id="xml"),
        pytest.param({"datacontenttype": "application/octet-stream"}, b"abc", "data_base64", "YWJj", id="binary"),
        pytest.param({"datacontenttype": "text/plain"}, b"\xff", "data_base64", "/w==", id="text-not-utf8"),
    ],
)
def test_to_structured_data_forms(attrs: dict[str, str], data: bytes, member: str, value: Any) -> None:
    event = CloudEvent({**BASE, **attrs, "n": 3}, data)
    headers, body = to_structured(event)
    assert headers == [(b"content-type", b"application/cloudevents+json; charset=utf-8")]
    document = json.loads(body)
    assert document[member] == value
    assert document["n"] == 3
    again = from_http(headers, body)
    assert again.data == (data if member == "data_base64" or attrs else json.dumps(value, separators=(",", ":"))
                          .encode())
    assert again.attributes == event.attributes


def test_to_structured_without_data() -> None:
    _, body = to_structured(CloudEvent(dict(BASE)))
    assert json.loads(body) == BASE


def test_copy_is_independent() -> None:
    event = CloudEvent(dict(BASE), b"x")
    clone = event.copy()
    clone.attributes["id"] = "2"
    assert event.id == "1" and clone.data == b"x"


# ----------------------------------------------------------------------------------------------------- persistence


@pytest.mark.parametrize(
    "event",
    [
        CloudEvent({**BASE, "ttl": 255, "flag": True, "s": "a\nb", "u": "€"}, b"\x00\n\xff\n"),
        CloudEvent(dict(BASE), None),
        CloudEvent(dict(BASE), b""),
    ],
    ids=["typed-extensions-binary-data", "no-data", "empty-data"],
)
def test_to_bytes_round_trips_exactly(event: CloudEvent) -> None:
    again = from_bytes(to_bytes(event))
    assert again == event
    assert [type(v) for v in again.attributes.values()] == [type(v) for v in event.attributes.values()]


def test_from_bytes_rejects_foreign_blobs() -> None:
    with pytest.raises(ValueError, match="not a stored CloudEvent"):
        from_bytes(b"{}")


# ---------------------------------------------------------------------------------------------------------- replies


def test_response_without_body_or_event_is_none() -> None:
    assert response_event(200, [(b"content-type", b"text/plain")], b"") is None
    assert response_event(202, [], b"") is None
    assert response_event(200, [(b"content-type", b"application/cloudevents+json")], b"") is None


def test_binary_response_with_unknown_specversion_and_no_body_is_none() -> None:
    assert response_event(200, binary(specversion="5.0"), b"") is None


def test_binary_response_without_body_is_an_event() -> None:
    event = response_event(200, binary(), b"")
    assert event is not None and event.data is None and event.id == "1"


def test_response_events_in_both_modes() -> None:
    reply = response_event(200, binary("text/plain"), b"x")
    assert reply is not None and reply.data == b"x"
    headers, body = structured({**BASE, "data": 1})
    reply = response_event(200, headers, body)
    assert reply is not None and reply.data == b"1"


@pytest.mark.parametrize(
    ("headers", "body", "error"),
    [
        pytest.param([(b"content-type", b"text/plain")], b"hello", NotACloudEvent, id="plain-body"),
        pytest.param(binary(specversion="5.0"), b"x", NotACloudEvent, id="unknown-specversion-with-body"),
        pytest.param([(b"content-type", b"application/cloudevents+json")], b"{oops", InvalidCloudEvent,
                     id="malformed-structured"),
        pytest.param([(b"content-type", b"application/cloudevents+json")], b'{"specversion":"1.0"}',
                     InvalidCloudEvent, id="structured-missing-attributes"),
        pytest.param([(b"content-type", b"application/cloudevents-batch+json")], b"[]", NotACloudEvent, id="batch"),
    ],
)
def test_response_that_is_not_an_event_raises(headers: Any, body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        response_event(200, headers, body)


def test_error_responses_carry_no_reply() -> None:
    assert response_event(500, binary(), b"x") is None


# ---------------------------------------------------------------------------------------------------- SDK interop


def sdk_event(data: Any, **attrs: Any) -> SDKEvent:
    return SDKEvent({"type": "dev.example", "source": "/src", "id": "abc", "time": "2020-03-21T12:34:56.780+00:00",
                     **attrs}, data)


@pytest.mark.parametrize("mode", ["binary", "structured"])
@pytest.mark.parametrize(
    ("data", "attrs", "expected"),
    [
        pytest.param({"a": [1, "x"]}, {}, b'{"a":[1,"x"]}', id="json"),
        pytest.param({"a": 1}, {"datacontenttype": "application/json"}, b'{"a":1}', id="json-content-type"),
        pytest.param(b"\x00\xffraw", {"datacontenttype": "application/octet-stream"}, b"\x00\xffraw", id="binary"),
        pytest.param(None, {"subject": "s", "myext": "v"}, None, id="no-data"),
    ],
)
def test_sdk_to_ours(mode: str, data: Any, attrs: dict[str, Any], expected: bytes | None) -> None:
    convert = sdk_to_binary if mode == "binary" else sdk_to_structured
    headers, body = convert(sdk_event(data, **attrs))
    wire = [(k.lower().encode(), str(v).encode()) for k, v in headers.items()]
    event = from_http(wire, body or b"")
    if mode == "binary" and isinstance(data, dict):
        assert event.data is not None and json.loads(event.data) == data  # binary mode keeps the body as it came
    else:
        assert event.data == expected  # structured mode: the compact encoding
    assert event.attributes["time"] == "2020-03-21T12:34:56.78Z"
    assert {k: event.attributes[k] for k in ("id", "type", "source", "specversion")} == {
        "id": "abc", "type": "dev.example", "source": "/src", "specversion": "1.0"}
    for name, value in attrs.items():
        assert event.attributes[name] == value


def test_sdk_integer_extension_in_structured_mode_stays_an_integer() -> None:
    headers, body = sdk_to_structured(sdk_event({"a": 1}, knativebrokerttl=20))
    assert from_http(headers, body).attributes["knativebrokerttl"] == 20


@pytest.mark.parametrize("mode", ["binary", "structured"])
@pytest.mark.parametrize(
    ("attrs", "data", "sdk_data"),
    [
        pytest.param({"datacontenttype": "application/json"}, b'{"a":1}', {"a": 1}, id="json"),
        pytest.param({}, b'{"a":1}', {"a": 1}, id="json-default"),
        pytest.param({"datacontenttype": "application/octet-stream"}, b"\x00\x01", b"\x00\x01", id="binary"),
        pytest.param({"datacontenttype": "text/plain"}, b"hello", "hello", id="text"),
    ],
)
def test_ours_to_sdk(mode: str, attrs: dict[str, str], data: bytes, sdk_data: Any) -> None:
    event = CloudEvent({**BASE, **attrs, "myext": "v", "time": "2020-03-21T12:34:56.78Z"}, data)
    headers, body = to_binary(event) if mode == "binary" else to_structured(event)
    received = sdk_from_http(to_str_headers(headers), body)
    assert received["id"] == "1" and received["type"] == "dev.example" and received["myext"] == "v"
    assert received["time"] == "2020-03-21T12:34:56.78Z"
    got = received.data
    if isinstance(sdk_data, str) and isinstance(got, bytes):
        got = got.decode()  # the SDK hands text as bytes in binary mode
    if isinstance(sdk_data, dict) and isinstance(got, bytes | str):
        got = json.loads(got)
    assert got == sdk_data
    if "datacontenttype" in attrs:
        assert received["datacontenttype"] == attrs["datacontenttype"]


def test_base64_helper_agrees_with_sdk_structured() -> None:
    headers, body = to_structured(CloudEvent({**BASE, "datacontenttype": "image/png"}, b"\x89PNG"))
    assert json.loads(body)["data_base64"] == base64.b64encode(b"\x89PNG").decode()
    assert sdk_from_http(to_str_headers(headers), body).data == b"\x89PNG"
