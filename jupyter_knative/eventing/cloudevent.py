"""The data plane's CloudEvents HTTP codec (binding spec v1.0, read the way sdk-go v2.16 reads it for Knative).

Hot path: no SDK, one pass over the headers, dict look-ups instead of regular expressions where one will do.

Errors: `NotACloudEvent` (the message carries no event at all: Knative answers 400, or "no reply" on a response)
and `InvalidCloudEvent` (an event whose attributes break the spec; the message names the attribute). Both are
`ValueError`s.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "STRUCTURED_CONTENT_TYPE",
    "CloudEvent",
    "InvalidCloudEvent",
    "NotACloudEvent",
    "format_time",
    "from_bytes",
    "from_http",
    "is_json_media_type",
    "response_event",
    "to_binary",
    "to_bytes",
    "to_structured",
    "validate",
]

Headers = Sequence[tuple[bytes, bytes]] | Mapping[str, str]

STRUCTURED_CONTENT_TYPE: Final = "application/cloudevents+json; charset=utf-8"
_STRUCTURED_JSON: Final = frozenset({"application/cloudevents+json", "application/cloudevents"})
_BATCH_PREFIX: Final = "application/cloudevents-batch"
_CE_PREFIX: Final = "application/cloudevents"

_CORE_V1: Final = frozenset({"specversion", "id", "source", "type", "datacontenttype", "dataschema", "subject", "time"})
_CORE_V03: Final = frozenset(
    {"specversion", "id", "source", "type", "datacontenttype", "datacontentencoding", "schemaurl", "subject", "time"}
)
_CORE: Final = {"1.0": _CORE_V1, "0.3": _CORE_V03}
# names an extension can never take, whatever the spec version ("data" is the payload's member in structured mode)
_RESERVED: Final = frozenset({"data"})
_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1

_RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})\Z", re.ASCII
)
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_DAYS: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class NotACloudEvent(ValueError):
    """The message is not a CloudEvent in any mode Knative accepts (no event, or a batch)."""


class InvalidCloudEvent(ValueError):
    """A CloudEvent whose context attributes break the spec; the message starts with the attribute's name."""


@dataclass(slots=True)
class CloudEvent:
    """Every context attribute and extension by lower-case name, and the raw data bytes (None: no data).

    Values are strings, except extensions read from structured JSON, which may be int or bool.
    """

    attributes: dict[str, Any]
    data: bytes | None = None

    @property
    def id(self) -> str:
        return str(self.attributes["id"])

    @property
    def type(self) -> str:
        return str(self.attributes["type"])

    @property
    def source(self) -> str:
        return str(self.attributes["source"])

    def get(self, name: str, default: Any = None) -> Any:
        return self.attributes.get(name, default)

    def copy(self) -> CloudEvent:
        return CloudEvent(dict(self.attributes), self.data)


# ---------------------------------------------------------------------------------------------------------- reading


def from_http(headers: Headers, body: bytes) -> CloudEvent:
    """The CloudEvent an HTTP request (or response) carries, binary or structured mode, validated."""
    content_type, ce = _scan(headers)
    media = _media_type(content_type) if content_type else ""
    if media.startswith(_BATCH_PREFIX):
        raise NotACloudEvent("batched CloudEvents (application/cloudevents-batch+json) are not accepted")
    if media in _STRUCTURED_JSON:
        return _from_structured(body)
    specversion = ce.get("specversion")
    if specversion is not None:
        if specversion not in _CORE:
            raise NotACloudEvent(f"unknown ce-specversion {specversion!r}: expected 1.0 or 0.3")
        return _from_binary(content_type, ce, body)
    if media.startswith(_CE_PREFIX):
        raise NotACloudEvent(f"unsupported event format {media!r}: only application/cloudevents+json is understood")
    raise NotACloudEvent("not a CloudEvent: no ce-specversion header and no application/cloudevents content type")


def response_event(status: int, headers: Headers, body: bytes) -> CloudEvent | None:
    """The reply event in a subscriber's 2xx response, or None when it carries none.

    Empty body and no binary event → None; a binary response with an unknown `ce-specversion` and an empty body →
    None. A non-empty body that is no event raises `NotACloudEvent`, a malformed one `InvalidCloudEvent` (the
    filter answers 502 for both). Non-2xx responses carry no reply: None.
    """
    if not 200 <= status < 300:
        return None
    try:
        _, ce = _scan(headers)
        if not body and "specversion" not in ce:
            return None
        return from_http(headers, body)
    except NotACloudEvent:
        if not body:
            return None
        raise


def _scan(headers: Headers) -> tuple[str | None, dict[str, str]]:
    """Content-Type and the `ce-` headers by lower-case attribute name; the first of repeated headers wins (Go's
    `Header.Get`). Values are taken as they come: sdk-go v2.16 does not percent-decode binary-mode header values
    although the binding spec asks for it, and Knative forwards them as they are, so neither do we."""
    content_type: str | None = None
    ce: dict[str, str] = {}
    if isinstance(headers, Mapping):
        for key, text in headers.items():
            name = key.lower()
            if name.startswith("ce-"):
                ce.setdefault(name[3:], text)
            elif name == "content-type" and content_type is None:
                content_type = text
        return content_type, ce
    for raw_name, raw_value in headers:
        if raw_name[:3].lower() == b"ce-":
            attr = raw_name[3:].lower().decode("latin-1")
            if attr not in ce:
                ce[attr] = _text(raw_value)
        elif content_type is None and raw_name.lower() == b"content-type":
            content_type = _text(raw_value)
    return content_type, ce


def _text(value: bytes) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def is_json_media_type(content_type: str | None) -> bool:
    """JSON data: no content type at all (the spec's default), `application/json`, `text/json` or `…+json`."""
    if not content_type:
        return True
    media = _media_type(content_type)
    return media in ("application/json", "text/json") or media.endswith("+json")


def _from_binary(content_type: str | None, ce: dict[str, str], body: bytes) -> CloudEvent:
    attributes: dict[str, Any] = {}
    for name, value in ce.items():
        if name == "datacontenttype":
            # the binding carries it as Content-Type; a stray ce-datacontenttype only counts when that is absent
            if content_type is None:
                attributes[name] = value
            continue
        attributes[name] = value
    if content_type is not None:
        attributes["datacontenttype"] = content_type
    validate(attributes)
    return CloudEvent(attributes, body or None)


def _from_structured(body: bytes) -> CloudEvent:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCloudEvent(f"structured event: the body is not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise InvalidCloudEvent(f"structured event: expected a JSON object, found {type(document).__name__}")
    specversion = document.get("specversion")
    if not isinstance(specversion, str):
        raise InvalidCloudEvent("specversion: REQUIRED but missing (or not a string) in the structured event")
    core = _CORE.get(specversion)
    if core is None:
        raise InvalidCloudEvent(f"specversion: unknown value {specversion!r}, expected 1.0 or 0.3")
    attributes: dict[str, Any] = {}
    data_value: Any = None
    base64_value: Any = None
    for key, value in document.items():
        if key == "data":
            data_value = value
        elif key == "data_base64":
            base64_value = value
        elif value is not None:
            name = key.lower()
            attributes[name] = _structured_value(name, value, core)
    if data_value is not None and base64_value is not None:
        raise InvalidCloudEvent("data_base64: an event holds data or data_base64, not both")
    validate(attributes)
    if base64_value is not None:
        return CloudEvent(attributes, _decode_base64(base64_value))
    if data_value is not None:
        return CloudEvent(attributes, _encode_data(data_value, attributes.get("datacontenttype")))
    return CloudEvent(attributes, None)


def _structured_value(name: str, value: Any, core: frozenset[str]) -> Any:
    if name in core:
        if not isinstance(value, str):
            raise InvalidCloudEvent(f"{name}: MUST be a string, found {json.dumps(value)}")
        return value
    if isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        return _int32(name, value)
    if isinstance(value, float) and value.is_integer():
        return _int32(name, int(value))
    raise InvalidCloudEvent(f"{name}: extension values are strings, integers or booleans, found {json.dumps(value)}")


def _int32(name: str, value: int) -> int:
    if not _INT32_MIN <= value <= _INT32_MAX:
        raise InvalidCloudEvent(f"{name}: integer extension value {value} does not fit in 32 bits")
    return value


def _decode_base64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise InvalidCloudEvent("data_base64: MUST be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidCloudEvent("data_base64: not valid base64") from None


def _encode_data(value: Any, content_type: str | None) -> bytes:
    if isinstance(value, str) and not is_json_media_type(content_type):
        return value.encode()
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# ------------------------------------------------------------------------------------------------------- validation


def validate(attributes: dict[str, Any]) -> None:
    """Check context attributes as sdk-go does; raise `InvalidCloudEvent` naming the first bad attribute.

    Side effect: `time`, when present, is rewritten in Go's RFC3339Nano form (what sdk-go sends on).
    """
    specversion = attributes.get("specversion")
    core = _CORE.get(specversion) if isinstance(specversion, str) else None
    if core is None:
        raise InvalidCloudEvent(f"specversion: expected 1.0 or 0.3, found {specversion!r}")
    for name in ("id", "source", "type"):
        value = attributes.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidCloudEvent(f"{name}: REQUIRED, MUST be a non-empty string")
    for name, value in attributes.items():
        if name in core:
            if name in _CHECKS:
                _CHECKS[name](value)
        elif not (name.isascii() and name.isalnum() and (name.islower() or name.isdigit())) or name in _RESERVED:
            raise InvalidCloudEvent(f"{name!r}: invalid extension name, expected lower-case letters and digits only")
    time = attributes.get("time")
    if time is not None:
        attributes["time"] = format_time(time)


def _non_empty(name: str) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if not isinstance(value, str) or not value.strip():
            raise InvalidCloudEvent(f"{name}: if present, MUST be a non-empty string")

    return check


def _absolute_uri(name: str) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if not isinstance(value, str) or not _SCHEME.match(value):
            raise InvalidCloudEvent(f"{name}: if present, MUST be an absolute URI (RFC 3986 4.3), found {value!r}")

    return check


def _check_time(value: Any) -> None:
    format_time(value)


_CHECKS: Final = {
    "datacontenttype": _non_empty("datacontenttype"),
    "datacontentencoding": _non_empty("datacontentencoding"),
    "subject": _non_empty("subject"),
    "dataschema": _absolute_uri("dataschema"),
    "schemaurl": _non_empty("schemaurl"),
    "time": _check_time,
}


def format_time(value: Any) -> str:
    """An RFC 3339 timestamp in Go's RFC3339Nano form: nanoseconds at most, trailing fractional zeros dropped, the
    original offset kept except that a zero offset is written `Z`. Raises `InvalidCloudEvent` for anything else."""
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None or not _in_range(match):
        raise InvalidCloudEvent(f"time: if present, MUST be an RFC 3339 timestamp, found {value!r}")
    text: str = match.string[:19]
    fraction = (match.group(7) or "")[:9].rstrip("0")
    if fraction:
        text = f"{text}.{fraction}"
    offset: str = match.group(8)
    return text + "Z" if offset in ("Z", "+00:00", "-00:00") else text + offset


def _in_range(match: re.Match[str]) -> bool:
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = 29 if month == 2 and leap else _DAYS[month - 1] if 1 <= month <= 12 else 0
    offset = match.group(8)
    offset_ok = offset == "Z" or (int(offset[1:3]) < 24 and int(offset[4:6]) < 60)
    return 1 <= day <= days and hour < 24 and minute < 60 and second < 60 and offset_ok


# ---------------------------------------------------------------------------------------------------------- writing


def _header_value(value: Any) -> bytes:
    if value is True:
        return b"true"
    if value is False:
        return b"false"
    return str(value).encode()


def to_binary(event: CloudEvent) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Binary mode: one `ce-` header per attribute, datacontenttype as Content-Type, the data as the body."""
    headers: list[tuple[bytes, bytes]] = []
    for name, value in event.attributes.items():
        if name == "datacontenttype":
            headers.append((b"content-type", _header_value(value)))
        else:
            headers.append((b"ce-" + name.encode(), _header_value(value)))
    return headers, event.data or b""


def to_structured(event: CloudEvent) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Structured mode (`application/cloudevents+json`): JSON data as `data`, text as a string, else `data_base64`."""
    document: dict[str, Any] = dict(event.attributes)
    raw_json: str | None = None
    data = event.data
    if data is not None:
        content_type = event.attributes.get("datacontenttype")
        if is_json_media_type(content_type):
            raw_json = _valid_json_text(data)
            if raw_json is None:
                document["data_base64"] = base64.b64encode(data).decode()
        else:
            text = _text_data(data, content_type)
            if text is None:
                document["data_base64"] = base64.b64encode(data).decode()
            else:
                document["data"] = text
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    if raw_json is not None:
        body = f'{body[:-1]},"data":{raw_json}}}' if len(document) else f'{{"data":{raw_json}}}'
    return [(b"content-type", STRUCTURED_CONTENT_TYPE.encode())], body.encode()


def _valid_json_text(data: bytes) -> str | None:
    try:
        text = data.decode()
        json.loads(text)
    except ValueError:
        return None
    return text


def _text_data(data: bytes, content_type: Any) -> str | None:
    media = _media_type(str(content_type))
    if not (media.startswith("text/") or media.endswith("xml")):
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


# ------------------------------------------------------------------------------------------------------ persistence

_NO_DATA: Final = b"\x00"
_WITH_DATA: Final = b"\x01"


def to_bytes(event: CloudEvent) -> bytes:
    """A compact form for the queue's SQLite rows: flag byte, attributes as compact JSON, newline, raw data.

    JSON keeps int and bool extension values apart from strings, and never holds a raw newline.
    """
    head = json.dumps(event.attributes, separators=(",", ":"), ensure_ascii=False).encode()
    if event.data is None:
        return _NO_DATA + head
    return _WITH_DATA + head + b"\n" + event.data


def from_bytes(blob: bytes) -> CloudEvent:
    """The event `to_bytes` wrote."""
    flag, rest = blob[:1], blob[1:]
    if flag == _NO_DATA:
        return CloudEvent(json.loads(rest), None)
    if flag != _WITH_DATA:
        raise ValueError(f"not a stored CloudEvent (flag byte {flag!r})")
    head, _, data = rest.partition(b"\n")
    return CloudEvent(json.loads(head), data)
