"""A CloudEvent as the Go SDK (cloudevents/sdk-go v2) reads it from HTTP and prints it.

The samples that log events (event_display, sockeye) are Go programs printing `event.String()`; to
print the same bytes we keep what the Go SDK keeps: the data bytes as received (a JSON `data` member
raw, or re-marshalled by Go when it came before the content type was known), attribute strings,
extension values typed as Go types them (numbers become int32, booleans stay booleans).

Errors: `UnknownEncoding` (neither binary nor structured mode), `InvalidEvent` (bad attributes or data).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from ..asgi import Scope
from .gofmt import json_indent, json_marshal, rfc3339nano

__all__ = ["GoEvent", "InvalidEvent", "UnknownEncoding", "from_http"]

_JSON_TYPES = frozenset({"", "application/json", "text/json", "application/cloudevents+json",
                         "application/cloudevents-batch+json"})
_V1_ATTRS = ("id", "source", "type", "subject", "time", "dataschema", "datacontenttype")
_V03_ATTRS = ("id", "source", "type", "subject", "time", "schemaurl", "datacontenttype", "datacontentencoding")


_SCANSTRING: Any = getattr(json.decoder, "scanstring")  # noqa: B009 - untyped in typeshed, stable since 2.6


class UnknownEncoding(ValueError):
    """Not a CloudEvent: no `ce-specversion` header and no `application/cloudevents+json` body."""


class InvalidEvent(ValueError):
    """A CloudEvent the Go SDK would reject."""


@dataclass
class GoEvent:
    specversion: str
    attrs: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)
    data: bytes | None = None
    data_base64: bool = False

    def media_type(self) -> str:
        return self.attrs.get("datacontenttype", "").split(";", 1)[0]

    def validate(self) -> list[str]:
        errors = []
        for name in ("id", "source", "type"):
            if not self.attrs.get(name, "").strip():
                errors.append(f"{name}: {'REQUIRED' if name == 'source' else 'MUST be a non-empty string'}")
        if "subject" in self.attrs and not self.attrs["subject"].strip():
            errors.append("subject: if present, MUST be a non-empty string")
        return errors

    def string(self) -> str:
        """`event.String()`: validation line, context attributes, extensions, data."""
        lines = ["Validation: valid" if not self.validate() else "Validation: invalid"]
        if self.validate():
            lines.append("Validation Error: \n" + "\n".join(self.validate()))
        lines.append("Context Attributes,")
        lines.append(f"  specversion: {self.specversion}")
        names = _V1_ATTRS if self.specversion == "1.0" else _V03_ATTRS
        order = ["type", "source", "subject", "id", "time", *names[5:]]
        for name in order:
            if name in self.attrs:
                lines.append(f"  {name}: {self.attrs[name]}")
        if self.extensions:
            lines.append("Extensions,")
            for key in sorted(self.extensions):
                lines.append(f"  {key}: {_go_value(self.extensions[key])}")
        text = "\n".join(lines) + "\n"
        if self.data is not None:
            text += "Data (binary),\n  " if self.data_base64 else "Data,\n  "
            shown = json_indent(self.data) if self.media_type() == "application/json" else None
            text += (shown if shown is not None else self.data).decode("utf-8", "replace") + "\n"
        return text

    def to_json(self) -> dict[str, Any]:
        """The event as structured-mode JSON (for pages and lists)."""
        out: dict[str, Any] = {"specversion": self.specversion, **self.attrs, **self.extensions}
        if self.data is not None:
            if self.data_base64 or not _is_json_type(self.media_type()):
                try:
                    out["data"] = self.data.decode("utf-8")
                except UnicodeDecodeError:
                    out["data_base64"] = base64.b64encode(self.data).decode()
            else:
                try:
                    out["data"] = json.loads(self.data)
                except ValueError:
                    out["data"] = self.data.decode("utf-8", "replace")
        return out


def _go_value(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _is_json_type(media_type: str) -> bool:
    return media_type in _JSON_TYPES


def from_http(scope: Scope, body: bytes) -> GoEvent:
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))  # Go reads v[0]
    content_type = headers.get("content-type", "")
    if content_type.lower().startswith("application/cloudevents+json"):
        return _structured(body)
    if "ce-specversion" in headers:
        return _binary(headers, body)
    raise UnknownEncoding("neither a ce-specversion header nor a structured CloudEvent body")


def _binary(headers: dict[str, str], body: bytes) -> GoEvent:
    version = headers["ce-specversion"]
    if version not in ("1.0", "0.3"):
        raise InvalidEvent(f"specversion: unknown value: {version}")
    known = _V1_ATTRS if version == "1.0" else _V03_ATTRS
    event = GoEvent(version)
    for name, value in headers.items():
        if not name.startswith("ce-") or name == "ce-specversion":
            continue
        key = name[3:]
        if key in known:
            event.attrs[key] = _attribute(key, value)
        else:
            event.extensions[key] = value
    if "content-type" in headers:
        event.attrs["datacontenttype"] = headers["content-type"]
    if body:
        event.data = body
    return event


def _attribute(key: str, value: str) -> str:
    if key == "time":
        try:
            return rfc3339nano(value)
        except ValueError as exc:
            raise InvalidEvent(f"time: {exc}") from exc
    return value


def _structured(body: bytes) -> GoEvent:
    try:
        members = _members(body.decode("utf-8"))
    except ValueError as exc:
        raise InvalidEvent(f"structured event is not a JSON object: {exc}") from exc
    doc = {key: value for key, _, value in members}
    raw = {key: text for key, text, _ in members}
    version = doc.get("specversion")
    if version not in ("1.0", "0.3"):
        raise InvalidEvent(f"specversion: unknown value: {version}" if version else "specversion: no specversion")
    known = _V1_ATTRS if version == "1.0" else _V03_ATTRS
    event = GoEvent(version)
    keys = list(doc)
    for key in keys:
        value = doc[key]
        if key in ("specversion", "data", "data_base64"):
            continue
        if key in known:
            if not isinstance(value, str):
                raise InvalidEvent(f"{key}: must be a string")
            if value == "" and key in ("subject", "datacontenttype"):
                continue  # the Go SDK reads an empty optional string as absent
            event.attrs[key] = _attribute(key, value)
        else:
            _set_extension(event, key, value)
    _structured_data(event, doc, keys, raw.get("data", ""))
    return event


def _members(text: str) -> list[tuple[str, str, Any]]:
    """(key, raw text, value) of each member of a top-level JSON object, in order."""
    decoder = json.JSONDecoder()
    i = _skip(text, 0)
    if text[i:i + 1] != "{":
        raise ValueError("expected an object")
    i += 1
    members: list[tuple[str, str, Any]] = []
    while True:
        i = _skip(text, i)
        if text[i:i + 1] == "}" and not members:
            break
        if text[i:i + 1] != '"':
            raise ValueError(f"expected a key at offset {i}")
        key, i = _SCANSTRING(text, i + 1)
        i = _skip(text, i)
        if text[i:i + 1] != ":":
            raise ValueError(f"expected ':' at offset {i}")
        i += 1
        i = _skip(text, i)
        value, end = decoder.raw_decode(text, i)
        members.append((key, text[i:end], value))
        i = end
        i = _skip(text, i)
        if text[i:i + 1] == ",":
            i += 1
            continue
        if text[i:i + 1] == "}":
            break
        raise ValueError(f"expected ',' or '}}' at offset {i}")
    if text[i + 1:].strip(" \t\r\n"):
        raise ValueError("data after the object")
    return members


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _set_extension(event: GoEvent, key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, (bool, str)):
        event.extensions[key.lower()] = value
        return
    if isinstance(value, (int, float)):
        if not -(2**31) <= value <= 2**31 - 1:
            raise InvalidEvent(f"cannot convert {value} to int32: out of range")
        event.extensions[key.lower()] = int(value)  # the Go SDK keeps numeric extensions as int32
        return
    raise InvalidEvent(f"invalid CloudEvents value for extension {key}: {json.dumps(value)}")


def _structured_data(event: GoEvent, doc: dict[str, Any], keys: list[str], raw: str) -> None:
    v03_base64 = event.specversion == "0.3" and event.attrs.get("datacontentencoding", "").lower() == "base64"
    if "data_base64" in doc and event.specversion == "1.0":
        raw = doc["data_base64"]
        if not isinstance(raw, str):
            raise InvalidEvent("data_base64: expected string")
        event.data = _b64(raw)
        event.data_base64 = True
        return
    if "data" not in doc:
        return
    value = doc["data"]
    if v03_base64:
        if not isinstance(value, str):
            raise InvalidEvent("data: expected a base64 string")
        event.data = _b64(value)
        event.data_base64 = True
        return
    media = event.media_type()
    if not _is_json_type(media):
        if not isinstance(value, str):
            raise InvalidEvent(f'unexpected data payload for media type "{media}", expected a string')
        event.data = value.encode("utf-8")
        return
    # The Go SDK keeps the raw bytes of `data` when it already knew the content type, and
    # re-marshals the decoded value when `data` came first (or no content type came at all).
    content_type_first = "datacontenttype" in keys and keys.index("datacontenttype") < keys.index("data") and \
        keys.index("specversion") < keys.index("data")
    event.data = raw.encode("utf-8") if content_type_first else json_marshal(value)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidEvent(f"illegal base64 data: {exc}") from exc
