"""PingSource, ApiServerSource, ContainerSource and SinkBinding webhooks through a real Store, plus the Go
decoders whose errors PingSource validation repeats."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_knative.api.eventing.gobase64 import Base64Error, decode_std
from jupyter_knative.api.kinds.eventing import API_SERVER_SOURCE, CONTAINER_SOURCE, PING_SOURCE, SINK_BINDING
from jupyter_knative.store import Store

from .admission_support import SINK, edit_config, new_store, obj, refused

URI_SINK = {"uri": "http://sink.example.com"}
EXTENSION_DETAILS = ("keys MUST consist of lower-case letters ('a' to 'z') or digits ('0' to '9') from the ASCII "
                     "character set")


@pytest.fixture
def store() -> Iterator[Store]:
    s = new_store()
    yield s
    s.close()


# --- PingSource ----------------------------------------------------------------------------------------


def ping(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"sink": URI_SINK}
    base.update(spec)
    return obj("p", {k: v for k, v in base.items() if v is not None})


def test_ping_source_defaults(store: Store) -> None:
    created = store.create(PING_SOURCE, ping(sink=SINK))
    assert created["spec"]["schedule"] == "* * * * *"
    assert created["spec"]["sink"]["ref"]["namespace"] == "default"


@pytest.mark.parametrize("spec", [
    {"schedule": "0 0 * * *", "timezone": "Europe/Berlin", "data": '{"message": "hi"}',
     "contentType": "application/json"},
    {"schedule": "*/2 * * * * *", "dataBase64": base64.b64encode(b'{"a": [1, 2]}').decode(),
     "contentType": "application/json"},
    {"schedule": "@daily", "data": "not json, and not claimed to be", "contentType": "text/plain"},
    {"schedule": "0 12 ? * MON", "data": "null", "contentType": "application/json"},
    {"schedule": "CRON_TZ=Asia/Tokyo 0 9 * * *", "ceOverrides": {"extensions": {"Tenant1": "x", "zone": "y"}}},
])
def test_ping_source_accepts(store: Store, spec: dict[str, Any]) -> None:
    assert store.create(PING_SOURCE, ping(**spec))["spec"]["schedule"] == spec["schedule"]


@pytest.mark.parametrize(("spec", "message"), [
    ({"schedule": "2"}, "invalid value: expected 5 to 6 fields, found 1: [2]: spec.schedule"),
    ({"schedule": "@every 1m"}, "invalid value: unsupported descriptor @every: spec.schedule"),
    ({"timezone": "Knative/Land"},
     "invalid value: provided bad location Knative/Land: unknown time zone Knative/Land: spec.timezone"),
    ({"data": "a", "dataBase64": "YQ=="}, "expected exactly one, got both: spec.data, spec.dataBase64"),
    ({"dataBase64": "$$$$"}, "invalid value: illegal base64 data at input byte 0: spec.dataBase64"),
    ({"dataBase64": "aGVsbG8"}, "invalid value: illegal base64 data at input byte 4: spec.dataBase64"),
    ({"data": "Invalid", "contentType": "application/json"},
     "invalid value: invalid character 'I' looking for beginning of value: spec.data"),
    ({"data": '{"a": 1,}', "contentType": "application/json"},
     "invalid value: invalid character '}' looking for beginning of object key string: spec.data"),
    ({"data": "[1, 2]", "contentType": "application/json"},
     "invalid value: json: cannot unmarshal array into Go value of type map[string]interface {}: spec.data"),
    ({"dataBase64": base64.b64encode(b'"text"').decode(), "contentType": "application/json"},
     "invalid value: json: cannot unmarshal string into Go value of type map[string]interface {}: "
     "spec.dataBase64"),
    ({"sink": None}, "expected at least one, got none: spec.sink.ref, spec.sink.uri"),
    ({"ceOverrides": {"extensions": {"bad-key": "x", "ok": "y"}}},
     f'invalid key name "bad-key": spec.ceOverrides.extensions\n{EXTENSION_DETAILS}'),
    ({"ceOverrides": {"extensions": {"": "x"}}},
     'invalid key name "": spec.ceOverrides.extensions\nkeys MUST NOT be empty'),
])
def test_ping_source_errors(store: Store, spec: dict[str, Any], message: str) -> None:
    assert refused(store, PING_SOURCE, ping(**spec)) == message


def test_ping_source_data_max_size(store: Store) -> None:
    edit_config(store, "config-ping-defaults", **{"data-max-size": "4096"})
    assert refused(store, PING_SOURCE, ping(data="x" * 5000)) == \
        "invalid value: the data length of 5000 bytes exceeds limit set at 4096.: spec.data"
    assert refused(store, PING_SOURCE, ping(dataBase64="QUJD" * 1025)) == \
        "invalid value: the dataBase64 length of 4100 bytes exceeds limit set at 4096.: spec.dataBase64"
    assert store.create(PING_SOURCE, ping(data="x" * 4096))["spec"]["data"] == "x" * 4096


@pytest.mark.parametrize(("text", "offset"), [
    ("YQ", 0), ("Y", 0), ("YQ=", 3), ("Y===", 1), ("YQ=x", 2), ("YQ==YQ==", 4), ("YWJj!", 4), ("YWJjZA=", 7),
])
def test_go_base64_error_offsets(text: str, offset: int) -> None:
    with pytest.raises(Base64Error) as err:
        decode_std(text)
    assert str(err.value) == f"illegal base64 data at input byte {offset}"


@pytest.mark.parametrize("data", [b"", b"a", b"ab", b"abc", b"hello world", bytes(range(256))])
def test_go_base64_round_trips(data: bytes) -> None:
    encoded = base64.b64encode(data).decode()
    assert decode_std(encoded) == data
    assert decode_std(encoded[:4] + "\r\n" + encoded[4:]) == data


# --- ApiServerSource -----------------------------------------------------------------------------------


def test_api_server_source_defaults(store: Store) -> None:
    created = store.create(API_SERVER_SOURCE, obj("a", {"resources": [{"apiVersion": "v1", "kind": "Event"}],
                                                        "sink": SINK}))
    assert created["spec"]["mode"] == "Reference" and created["spec"]["serviceAccountName"] == "default"


@pytest.mark.parametrize(("spec", "message"), [
    ({"resources": [], "sink": URI_SINK}, "missing field(s): spec.resources"),
    ({"resources": [{"apiVersion": "a/b/c", "kind": " "}], "sink": URI_SINK},
     "invalid value: a/b/c: spec.resources[0].apiVersion\nmissing field(s): spec.resources[0].kind"),
    ({"resources": [{"apiVersion": "v1", "kind": "Pod"}], "mode": "Everything", "sink": URI_SINK},
     "invalid value: Everything: spec.mode"),
    ({"resources": [{"apiVersion": "v1", "kind": "Pod"}], "owner": {"apiVersion": "apps/v1"}, "sink": URI_SINK},
     "missing field(s): spec.owner.kind"),
    ({"resources": [{"apiVersion": "v1", "kind": "Pod"}]},
     "expected at least one, got none: spec.sink.ref, spec.sink.uri"),
])
def test_api_server_source_errors(store: Store, spec: dict[str, Any], message: str) -> None:
    assert refused(store, API_SERVER_SOURCE, obj("a", spec)) == message


# --- ContainerSource -----------------------------------------------------------------------------------


def test_container_source_names_its_containers(store: Store) -> None:
    template = {"spec": {"containers": [{"image": "ghcr.io/example/heartbeats"}, {"name": "b", "image": "x"}]}}
    created = store.create(CONTAINER_SOURCE, obj("beats", {"template": template, "sink": SINK}))
    assert [c["name"] for c in created["spec"]["template"]["spec"]["containers"]] == ["beats-0", "b"]


@pytest.mark.parametrize(("spec", "message"), [
    ({"template": {"spec": {"containers": []}}, "sink": URI_SINK}, "missing field(s): spec.containers"),
    ({"sink": URI_SINK}, "missing field(s): spec.containers"),
    ({"template": {"spec": {"containers": [{"image": "a"}, {}]}}, "sink": URI_SINK},
     "missing field(s): spec.containers[1].image"),
    ({"template": {"spec": {"containers": [{"image": "a"}]}}},
     "expected at least one, got none: spec.sink.ref, spec.sink.uri"),
])
def test_container_source_errors(store: Store, spec: dict[str, Any], message: str) -> None:
    assert refused(store, CONTAINER_SOURCE, obj("cs", spec)) == message


# --- SinkBinding ---------------------------------------------------------------------------------------


def test_sink_binding_defaults_subject_namespace(store: Store) -> None:
    subject = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"}
    created = store.create(SINK_BINDING, obj("sb", {"subject": subject, "sink": SINK}))
    assert created["spec"]["subject"] == {**subject, "namespace": "default"}


@pytest.mark.parametrize(("subject", "message"), [
    ({}, "expected exactly one, got neither: spec.subject.name, spec.subject.selector\n"
         "missing field(s): spec.subject.apiVersion, spec.subject.kind"),
    ({"apiVersion": "apps/v1", "kind": "Deployment", "name": "a", "selector": {"matchLabels": {"app": "a"}}},
     "expected exactly one, got both: spec.subject.name, spec.subject.selector"),
    ({"apiVersion": "apps/v1", "kind": "Deployment", "name": "a", "namespace": "other"},
     "invalid value: other: spec.subject.namespace"),
    ({"apiVersion": "apps/v1", "kind": "Deploy-ment", "name": "a"},
     "invalid value: a valid C identifier must start with alphabetic character or '_', followed by a string of "
     "alphanumeric characters or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName', regex used for validation is "
     "'[A-Za-z_][A-Za-z0-9_]*'): spec.subject.kind"),
    ({"apiVersion": "apps/v1", "kind": "Deployment", "name": "Upper"},
     "invalid value: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
     "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation "
     "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?'): spec.subject.name"),
])
def test_sink_binding_errors(store: Store, subject: dict[str, Any], message: str) -> None:
    assert refused(store, SINK_BINDING, obj("sb", {"subject": subject, "sink": URI_SINK})) == message
