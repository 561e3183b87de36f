"""Kubernetes protobuf request bodies: the wire reader, the field tables, and real kubectl output.

The kubectl tests run the real kubectl against a tiny capture server (plain HTTP on 127.0.0.1) that
answers discovery and records each request body, then check that `decode` of what kubectl sent equals
what `kubectl ... --dry-run=client -o json` prints for the same command.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from jupyter_knative.api.protobuf import KINDS, MAGIC, MEDIA_TYPE, decode, read_varint, wire_fields
from jupyter_knative.api.status import BadRequest, UnsupportedMediaType

# --- a small encoder for hand-built messages ------------------------------------------------------------


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative numbers go on the wire as their 64-bit two's complement (10 bytes)
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def vi(number: int, n: int) -> bytes:
    """A varint field."""
    return varint(number << 3) + varint(n)


def ld(number: int, payload: bytes | str) -> bytes:
    """A length-delimited field (string, bytes or embedded message)."""
    data = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(data)) + data


def entry(number: int, key: str, value: bytes | str) -> bytes:
    """One map<string, ...> entry."""
    return ld(number, ld(1, key) + ld(2, value))


def envelope(api_version: str, kind: str, raw: bytes, *, content_type: str = "", encoding: str = "") -> bytes:
    return MAGIC + ld(1, ld(1, api_version) + ld(2, kind)) + ld(2, raw) + ld(3, encoding) + ld(4, content_type)


def go_meta(name: str = "", **extra: bytes) -> bytes:
    """ObjectMeta as Go marshals it: every value field on the wire, even empty, and a zero creationTimestamp."""
    return (ld(1, name) + ld(2, "") + ld(3, "") + ld(4, "") + ld(5, "") + ld(6, "") + vi(7, 0) + ld(8, b"")
            + b"".join(extra.values()))


def seconds(s: int, nanos: int = 0) -> bytes:
    return vi(1, s) + (vi(2, nanos) if nanos else b"")


NOW = 1795716768  # 2026-11-26T18:12:48Z

# --- the wire reader ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "value"), [
    pytest.param(b"\x00", 0, id="zero"),
    pytest.param(b"\x01", 1, id="one"),
    pytest.param(b"\xac\x02", 300, id="two-bytes"),
    pytest.param(b"\xff" * 9 + b"\x01", (1 << 64) - 1, id="max-uint64"),
    pytest.param(varint(-1), (1 << 64) - 1, id="minus-one-is-ten-bytes"),
])
def test_read_varint(data: bytes, value: int) -> None:
    assert read_varint(data) == (value, len(data))


def test_negative_numbers_take_ten_bytes() -> None:
    assert len(varint(-1)) == 10
    assert len(varint(-(1 << 63))) == 10


def test_read_varint_at_offset() -> None:
    assert read_varint(b"\x05\xac\x02\x07", 1) == (300, 3)


@pytest.mark.parametrize("data", [
    pytest.param(b"", id="empty"),
    pytest.param(b"\x80", id="continuation-then-end"),
    pytest.param(b"\xff\xff", id="truncated-long"),
])
def test_truncated_varint_is_bad_request(data: bytes) -> None:
    with pytest.raises(BadRequest, match="truncated varint"):
        read_varint(data)


def test_overlong_varint_is_bad_request() -> None:
    with pytest.raises(BadRequest, match="longer than 10 bytes"):
        read_varint(b"\xff" * 10 + b"\x01")


def test_wire_fields_reads_every_wire_type() -> None:
    data = (vi(1, 150) + varint(2 << 3 | 1) + (7).to_bytes(8, "little") + ld(3, "hi")
            + varint(4 << 3 | 5) + (9).to_bytes(4, "little"))
    assert list(wire_fields(data)) == [(1, 0, 150), (2, 1, 7), (3, 2, b"hi"), (4, 5, 9)]


@pytest.mark.parametrize(("data", "message"), [
    pytest.param(ld(1, "abc")[:-1], "claims 3 bytes, 2 remain", id="short-payload"),
    pytest.param(varint(1 << 3 | 2), "truncated varint", id="missing-length"),
    pytest.param(varint(1 << 3 | 1) + b"\x00" * 7, "truncated 64-bit", id="short-fixed64"),
    pytest.param(varint(1 << 3 | 5) + b"\x00", "truncated 32-bit", id="short-fixed32"),
    pytest.param(varint(1 << 3 | 3), "group wire type", id="group"),
    pytest.param(varint(1 << 3 | 7), "invalid wire type 7", id="bad-wire-type"),
    pytest.param(vi(0, 1), "illegal field number 0", id="field-zero"),
])
def test_malformed_fields_are_bad_requests(data: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        list(wire_fields(data))


# --- the envelope ---------------------------------------------------------------------------------------


def test_namespace_envelope() -> None:
    body = envelope("v1", "Namespace", ld(1, go_meta("ns1")) + ld(2, b"") + ld(3, b""))
    assert decode(body) == {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "ns1"},
                            "spec": {}, "status": {}}


def test_missing_magic_is_bad_request() -> None:
    with pytest.raises(BadRequest, match="k8s protobuf prefix"):
        decode(b'{"kind": "Namespace"}')


def test_truncated_body_is_bad_request() -> None:
    body = envelope("v1", "ConfigMap", ld(1, go_meta("c")) + entry(2, "a", "1"))
    with pytest.raises(BadRequest, match="malformed protobuf body"):
        decode(body[:-5])


def test_missing_kind_is_bad_request() -> None:
    with pytest.raises(BadRequest, match="Kind"):
        decode(MAGIC + ld(1, ld(1, "v1")) + ld(2, b""))


def test_unknown_kind_is_unsupported() -> None:
    with pytest.raises(UnsupportedMediaType, match=r"kind TokenRequest \(authentication.k8s.io/v1\)"):
        decode(envelope("authentication.k8s.io/v1", "TokenRequest", b""))


def test_content_encoding_is_unsupported() -> None:
    with pytest.raises(UnsupportedMediaType, match="gzip"):
        decode(envelope("v1", "Namespace", b"", encoding="gzip"))


def test_json_raw_is_accepted() -> None:
    body = envelope("v1", "Namespace", b'{"metadata": {"name": "j"}}', content_type="application/json")
    assert decode(body) == {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "j"}}


def test_kinds() -> None:
    assert {("v1", "Namespace"), ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "ServiceAccount"),
            ("v1", "Pod"), ("v1", "Event"), ("apps/v1", "Deployment"), ("v1", "DeleteOptions")} <= KINDS
    assert ("serving.knative.dev/v1", "Service") not in KINDS


# --- field semantics ------------------------------------------------------------------------------------


def deployment(spec: bytes) -> dict[str, Any]:
    return decode(envelope("apps/v1", "Deployment", ld(1, go_meta("d")) + ld(2, spec) + ld(3, b"")))


def pod(spec: bytes, meta: bytes | None = None) -> dict[str, Any]:
    return decode(envelope("v1", "Pod", ld(1, go_meta("p") if meta is None else meta) + ld(2, spec)))


def test_pointer_zero_is_kept_value_zero_is_omitted() -> None:
    # replicas and revisionHistoryLimit are *int32: on the wire only when set; minReadySeconds and paused
    # are value fields Go always writes.
    spec = vi(1, 0) + vi(5, 0) + vi(6, 0) + vi(7, 0) + ld(4, ld(1, ""))
    assert deployment(spec)["spec"] == {"replicas": 0, "revisionHistoryLimit": 0, "strategy": {}}


def test_negative_int32_and_int64() -> None:
    assert deployment(vi(1, -1))["spec"] == {"replicas": -1}
    assert pod(vi(4, -5) + vi(25, -(1 << 31)))["spec"] == {"terminationGracePeriodSeconds": -5,
                                                           "priority": -(1 << 31)}
    assert pod(vi(5, (1 << 63) - 1))["spec"] == {"activeDeadlineSeconds": (1 << 63) - 1}


def test_bools() -> None:
    spec = vi(11, 1) + vi(12, 0) + vi(21, 0) + vi(30, 1)
    assert pod(spec)["spec"] == {"hostNetwork": True, "automountServiceAccountToken": False,
                                 "enableServiceLinks": True}


def test_last_scalar_wins() -> None:
    assert pod(ld(6, "Default") + ld(6, "ClusterFirst"))["spec"] == {"dnsPolicy": "ClusterFirst"}
    assert pod(ld(6, "Default") + ld(6, ""))["spec"] == {}


def test_repeated_message_field_merges() -> None:
    spec = ld(14, vi(2, 1000)) + ld(14, vi(5, 2000))
    assert pod(spec)["spec"] == {"securityContext": {"runAsUser": 1000, "fsGroup": 2000}}


def test_object_meta() -> None:
    meta = go_meta(
        "web",
        ns=b"",  # a value field sent empty stays out
        labels=entry(11, "app", "web") + entry(11, "tier", ""),
        annotations=entry(12, "note", "x"),
        owner=ld(13, ld(5, "apps/v1") + ld(1, "ReplicaSet") + ld(3, "web-1") + ld(4, "u1") + vi(6, 1) + vi(7, 0)),
        finalizers=ld(14, "a/b") + ld(14, ""),
        deletion=ld(9, seconds(NOW)) + vi(10, 0),
        managed=ld(17, ld(1, "kubectl") + ld(2, "Update") + ld(3, "v1") + ld(4, seconds(NOW)) + ld(6, "FieldsV1")
                   + ld(7, ld(1, b'{"f:metadata":{"f:labels":{".":{}}}}')) + ld(8, "")),
        cluster_name=ld(15, ""),  # removed upstream in 1.25; older clients still send it empty
    )
    assert pod(b"", meta)["metadata"] == {
        "name": "web",
        "labels": {"app": "web", "tier": ""},
        "annotations": {"note": "x"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u1",
                             "controller": True, "blockOwnerDeletion": False}],
        "finalizers": ["a/b", ""],
        "deletionTimestamp": "2026-11-26T18:12:48Z",
        "deletionGracePeriodSeconds": 0,
        "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                           "time": "2026-11-26T18:12:48Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}}}],
    }


def test_times() -> None:
    event = ld(1, go_meta("e")) + ld(6, seconds(NOW, 999_999_999)) + ld(7, b"") + ld(10, seconds(NOW, 123_456_789))
    assert decode(envelope("v1", "Event", event)) == {
        "kind": "Event", "apiVersion": "v1", "metadata": {"name": "e"},
        # metav1.Time keeps seconds only; MicroTime renders microseconds; an empty Time is the zero time
        "firstTimestamp": "2026-11-26T18:12:48Z", "eventTime": "2026-11-26T18:12:48.123456Z"}


def test_time_before_1000_is_zero_padded() -> None:
    early = -59_000_000_000  # year 100
    assert pod(b"", go_meta("p", d=ld(9, seconds(early))))["metadata"]["deletionTimestamp"].startswith("0100-")


def test_time_ignores_nanos_micro_time_normalises_them() -> None:
    event = ld(1, go_meta("e")) + ld(6, seconds(NOW, 1_500_000_000)) + ld(10, seconds(NOW, 1_500_000_000))
    decoded = decode(envelope("v1", "Event", event))
    assert decoded["firstTimestamp"] == "2026-11-26T18:12:48Z"
    assert decoded["eventTime"] == "2026-11-26T18:12:49.500000Z"


def test_time_out_of_range_is_bad_request() -> None:
    with pytest.raises(BadRequest, match="out of range"):
        pod(b"", go_meta("p", d=ld(9, seconds(1 << 62))))


def test_go_zero_time_is_omitted() -> None:
    assert "deletionTimestamp" not in pod(b"", go_meta("p", d=ld(9, seconds(-62135596800))))["metadata"]


def test_event() -> None:
    ref = ld(1, "Pod") + ld(2, "default") + ld(3, "web") + ld(4, "u1") + ld(5, "v1") + ld(6, "") + ld(7, "")
    raw = (ld(1, go_meta("web.1", ns=ld(3, "default"))) + ld(2, ref) + ld(3, "Started") + ld(4, "Started container")
           + ld(5, ld(1, "kubelet") + ld(2, "node1")) + ld(6, seconds(NOW)) + ld(7, seconds(NOW + 60)) + vi(8, 2)
           + ld(9, "Normal") + ld(10, b"") + ld(11, vi(1, 3) + ld(2, seconds(NOW + 60))) + ld(12, "Start")
           + ld(13, ld(1, "Node") + ld(3, "node1")) + ld(14, "kubelet") + ld(15, "kubelet-node1"))
    assert decode(envelope("v1", "Event", raw)) == {
        "kind": "Event", "apiVersion": "v1",
        "metadata": {"name": "web.1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web", "uid": "u1", "apiVersion": "v1"},
        "reason": "Started", "message": "Started container",
        "source": {"component": "kubelet", "host": "node1"},
        "firstTimestamp": "2026-11-26T18:12:48Z", "lastTimestamp": "2026-11-26T18:13:48Z", "count": 2,
        "type": "Normal", "series": {"count": 3, "lastObservedTime": "2026-11-26T18:13:48.000000Z"},
        "action": "Start", "related": {"kind": "Node", "name": "node1"},
        "reportingComponent": "kubelet", "reportingInstance": "kubelet-node1",
    }


def test_bytes_are_base64() -> None:
    raw = ld(1, go_meta("s")) + entry(2, "bin", b"\xff\x00\x01") + entry(2, "empty", b"") + ld(3, "Opaque")
    assert decode(envelope("v1", "Secret", raw))["data"] == {"bin": "/wAB", "empty": ""}
    cm = ld(1, go_meta("c")) + entry(3, "blob", b"\x89PNG")
    assert decode(envelope("v1", "ConfigMap", cm))["binaryData"] == {"blob": base64.b64encode(b"\x89PNG").decode()}


def test_map_entry_without_value_is_the_zero_value() -> None:
    cm = ld(1, go_meta("c")) + ld(2, ld(1, "k"))
    assert decode(envelope("v1", "ConfigMap", cm))["data"] == {"k": ""}


def container(*fields: bytes) -> bytes:
    return ld(2, ld(1, "c") + ld(2, "img") + b"".join(fields))


def test_container() -> None:
    probe = (ld(1, ld(2, ld(1, "/healthz") + ld(2, vi(1, 1) + ld(3, "http")) + ld(4, "HTTP")
                   + ld(5, ld(1, "X-A") + ld(2, "b"))))
             + vi(2, 0) + vi(3, 1) + vi(4, 10) + vi(5, 1) + vi(6, 3))
    spec = container(
        ld(3, "sh") + ld(3, "-c") + ld(4, "echo hi") + ld(5, "/work"),
        ld(6, ld(1, "http") + vi(2, 0) + vi(3, 8080) + ld(4, "TCP") + ld(5, "")),
        ld(19, ld(1, "CM_") + ld(2, ld(1, ld(1, "cm")) + vi(2, 1))),
        ld(7, ld(1, "A") + ld(2, "B")),
        ld(7, ld(1, "NODE") + ld(2, "") + ld(3, ld(1, ld(1, "v1") + ld(2, "spec.nodeName")))),
        ld(7, ld(1, "PW") + ld(3, ld(4, ld(1, ld(1, "db")) + ld(2, "password")))),
        ld(7, ld(1, "MEM") + ld(3, ld(2, ld(1, "") + ld(2, "limits.memory") + ld(3, ld(1, "1Mi"))))),
        ld(8, entry(1, "cpu", ld(1, "500m")) + entry(2, "memory", ld(1, "64Mi")) + ld(3, ld(1, "gpu"))),
        ld(9, ld(1, "data") + vi(2, 1) + ld(3, "/data") + ld(4, "") + ld(6, "")),
        ld(10, probe), ld(11, ld(1, ld(3, ld(1, vi(1, 0) + vi(2, 8080)))) + vi(7, 5)),
        ld(22, ld(1, ld(1, ld(1, "true"))) + ld(1, ld(4, vi(1, 9090) + ld(2, "")))),
        ld(12, ld(2, ld(4, vi(1, 5)))),
        ld(13, "/dev/termination-log") + ld(20, "File") + ld(14, "IfNotPresent"),
        ld(15, ld(1, ld(2, "ALL")) + vi(4, 0) + vi(5, 1) + vi(7, 0) + ld(11, ld(1, "RuntimeDefault"))),
        vi(16, 1) + vi(17, 0) + vi(18, 1),
    )
    assert pod(spec)["spec"]["containers"] == [{
        "name": "c", "image": "img", "command": ["sh", "-c"], "args": ["echo hi"], "workingDir": "/work",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "envFrom": [{"prefix": "CM_", "configMapRef": {"name": "cm", "optional": True}}],
        "env": [
            {"name": "A", "value": "B"},
            {"name": "NODE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
        ],
        "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}, "claims": [{"name": "gpu"}]},
        "volumeMounts": [{"name": "data", "readOnly": True, "mountPath": "/data"}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP",
                                      "httpHeaders": [{"name": "X-A", "value": "b"}]},
                          "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
        "readinessProbe": {"tcpSocket": {"port": 8080}, "terminationGracePeriodSeconds": 5},
        "startupProbe": {"exec": {"command": ["true"]}, "grpc": {"port": 9090, "service": ""}},
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {"capabilities": {"drop": ["ALL"]}, "runAsUser": 0, "runAsNonRoot": True,
                            "allowPrivilegeEscalation": False, "seccompProfile": {"type": "RuntimeDefault"}},
        "stdin": True, "tty": True,
    }]


def test_volumes() -> None:
    items = ld(2, ld(1, "k") + ld(2, "p") + vi(3, 0o400))
    spec = (ld(1, ld(1, "tmp") + ld(2, ld(2, ld(1, "Memory") + ld(2, ld(1, "1Gi")))))
            + ld(1, ld(1, "cfg") + ld(2, ld(19, ld(1, ld(1, "cm")) + items + vi(3, 420))))
            + ld(1, ld(1, "sec") + ld(2, ld(6, ld(1, "s") + vi(4, 0))))
            + ld(1, ld(1, "host") + ld(2, ld(1, ld(1, "/var/log") + ld(2, ""))))
            + ld(1, ld(1, "claim") + ld(2, ld(10, ld(1, "pvc") + vi(2, 0))))
            + ld(1, ld(1, "proj") + ld(2, ld(26, ld(1, ld(4, ld(1, "") + vi(2, 3600) + ld(3, "token")))
                                                   + ld(1, ld(3, ld(1, ld(1, "root-ca")))))))
            + ld(1, ld(1, "none") + ld(2, b"")))
    assert pod(spec)["spec"]["volumes"] == [
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}},
        {"name": "cfg", "configMap": {"name": "cm", "items": [{"key": "k", "path": "p", "mode": 256}],
                                      "defaultMode": 420}},
        {"name": "sec", "secret": {"secretName": "s", "optional": False}},
        {"name": "host", "hostPath": {"path": "/var/log", "type": ""}},
        {"name": "claim", "persistentVolumeClaim": {"claimName": "pvc"}},
        {"name": "proj", "projected": {"sources": [
            {"serviceAccountToken": {"expirationSeconds": 3600, "path": "token"}},
            {"configMap": {"name": "root-ca"}}]}},
        {"name": "none"},
    ]


def test_pod_spec_scheduling() -> None:
    term = ld(1, ld(1, "zone") + ld(2, "In") + ld(3, "a") + ld(3, "b"))
    affinity = (ld(1, ld(1, ld(1, term)) + ld(2, vi(1, 10) + ld(2, term)))
                + ld(3, ld(2, vi(1, 100) + ld(2, ld(1, entry(1, "app", "web")) + ld(3, "kubernetes.io/host")))))
    spec = (ld(7, ld(1, "disk") + ld(2, "ssd")) + ld(8, "sa") + ld(18, affinity)
            + ld(22, ld(1, "k") + ld(2, "Equal") + ld(3, "v") + ld(4, "NoExecute") + vi(5, 0))
            + ld(23, ld(1, "10.0.0.1") + ld(2, "db")) + ld(15, ld(1, "regcred")) + ld(24, "high")
            + ld(26, ld(1, "1.1.1.1") + ld(3, ld(1, "ndots") + ld(2, "2")))
            + entry(32, "cpu", ld(1, "250m")) + ld(29, "gvisor")
            + ld(33, vi(1, 1) + ld(2, "zone") + ld(3, "DoNotSchedule") + ld(4, entry(1, "app", "web")))
            + ld(36, ld(1, "linux")) + ld(38, ld(1, "wait")))
    assert pod(spec)["spec"] == {
        "nodeSelector": {"disk": "ssd"}, "serviceAccountName": "sa",
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]},
                "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 10, "preference": {
                    "matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}}]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {
                "labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/host"}}]},
        },
        "tolerations": [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoExecute",
                         "tolerationSeconds": 0}],
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["db"]}],
        "imagePullSecrets": [{"name": "regcred"}], "priorityClassName": "high",
        "dnsConfig": {"nameservers": ["1.1.1.1"], "options": [{"name": "ndots", "value": "2"}]},
        "overhead": {"cpu": "250m"}, "runtimeClassName": "gvisor",
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
                                       "labelSelector": {"matchLabels": {"app": "web"}}}],
        "os": {"name": "linux"}, "schedulingGates": [{"name": "wait"}],
    }


def test_packed_and_unpacked_repeated_int64() -> None:
    unpacked = ld(14, vi(4, 1) + vi(4, 2))
    packed = ld(14, ld(4, varint(3) + varint(-4)))
    assert pod(unpacked)["spec"]["securityContext"] == {"supplementalGroups": [1, 2]}
    assert pod(packed)["spec"]["securityContext"] == {"supplementalGroups": [3, -4]}


def test_rolling_update_int_or_string() -> None:
    strategy = ld(1, "RollingUpdate") + ld(2, ld(1, vi(1, 1) + ld(3, "25%")) + ld(2, vi(1, 0) + vi(2, 2)))
    assert deployment(ld(4, strategy))["spec"] == {
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 2}}}


def test_bad_int_or_string_type() -> None:
    with pytest.raises(BadRequest, match="IntOrString type 2"):
        deployment(ld(4, ld(2, ld(1, vi(1, 2)))))


def test_delete_options() -> None:
    raw = vi(1, 0) + ld(2, ld(1, "u1") + ld(2, "")) + vi(3, 0) + ld(4, "Foreground") + ld(5, "All")
    assert decode(envelope("v1", "DeleteOptions", raw)) == {
        "kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
        "preconditions": {"uid": "u1", "resourceVersion": ""}, "orphanDependents": False,
        "propagationPolicy": "Foreground", "dryRun": ["All"]}


def test_pod_status_decodes() -> None:
    status = (ld(1, "Running") + ld(2, ld(1, "Ready") + ld(2, "True") + ld(4, seconds(NOW))) + ld(6, "10.0.0.5")
              + ld(8, ld(1, "c") + ld(2, ld(2, ld(1, seconds(NOW)))) + vi(4, 1) + vi(5, 0) + vi(9, 1)))
    raw = ld(1, go_meta("p")) + ld(2, b"") + ld(3, status)
    assert decode(envelope("v1", "Pod", raw))["status"] == {
        "phase": "Running", "conditions": [{"type": "Ready", "status": "True",
                                            "lastTransitionTime": "2026-11-26T18:12:48Z"}],
        "podIP": "10.0.0.5",
        "containerStatuses": [{"name": "c", "state": {"running": {"startedAt": "2026-11-26T18:12:48Z"}},
                               "ready": True, "started": True}]}


# --- what is refused ------------------------------------------------------------------------------------


def test_unknown_field_is_unsupported_with_its_message_and_number() -> None:
    spec = ld(2, ld(1, "c") + ld(99, "x"))
    with pytest.raises(UnsupportedMediaType) as err:
        deployment(ld(3, ld(2, spec)))
    assert str(err.value).startswith("protobuf field 99 of k8s.io.api.core.v1.Container "
                                     "(at spec.template.spec.containers[0]) is not supported by this server;")
    assert "JSON" in str(err.value)
    assert err.value.code == 415


def test_unknown_volume_source_is_unsupported() -> None:
    with pytest.raises(UnsupportedMediaType, match=r"field 4 of k8s\.io\.api\.core\.v1\.VolumeSource"):
        pod(ld(1, ld(1, "ebs") + ld(2, ld(4, ld(1, "vol-1")))))


def test_unknown_top_level_field_is_unsupported() -> None:
    with pytest.raises(UnsupportedMediaType, match=r"field 18 of k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta "
                                                   r"\(at metadata\)"):
        decode(envelope("v1", "Namespace", ld(1, go_meta("n") + vi(18, 1))))


def test_wrong_wire_type_is_bad_request() -> None:
    with pytest.raises(BadRequest, match=r"field 1 of k8s\.io\.api\.apps\.v1\.DeploymentSpec has wire type "
                                         r"length-delimited, expected varint"):
        deployment(ld(1, "3"))
    with pytest.raises(BadRequest, match="expected length-delimited"):
        pod(vi(2, 1))


def test_invalid_utf8_is_bad_request() -> None:
    with pytest.raises(BadRequest, match="not valid UTF-8"):
        decode(envelope("v1", "ConfigMap", ld(1, go_meta("c")) + entry(2, "k", b"\xff")))


# --- real kubectl ---------------------------------------------------------------------------------------

KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def _resource(name: str, kind: str, namespaced: bool = True) -> dict[str, Any]:
    return {"name": name, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}


DISCOVERY: dict[str, Any] = {
    "/api": {"kind": "APIVersions", "versions": ["v1"]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [{
        "name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}]},
    "/api/v1": {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": [
        _resource("namespaces", "Namespace", False), _resource("nodes", "Node", False),
        _resource("configmaps", "ConfigMap"), _resource("secrets", "Secret"),
        _resource("serviceaccounts", "ServiceAccount"), _resource("pods", "Pod"), _resource("events", "Event")]},
    "/apis/apps/v1": {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
                      "resources": [_resource("deployments", "Deployment")]},
}
KIND_OF = {"namespaces": ("v1", "Namespace"), "configmaps": ("v1", "ConfigMap"), "secrets": ("v1", "Secret"),
           "serviceaccounts": ("v1", "ServiceAccount"), "pods": ("v1", "Pod"),
           "deployments": ("apps/v1", "Deployment")}
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1"}, "spec": {}}
VICTIM = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "victim", "namespace": "default", "uid": "u1"},
          "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "nginx"}]}}


@dataclass
class Captured:
    method: str
    path: str
    content_type: str
    body: bytes


class CaptureServer:
    """Answers discovery (and a node with one pod, for drain), records every request with a body."""

    def __init__(self) -> None:
        self.requests: list[Captured] = []
        self.deleted: set[str] = set()
        self.lock = threading.Lock()
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def reply(self, code: int, obj: Any) -> None:
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def not_found(self) -> None:
                self.reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                                 "reason": "NotFound", "message": "not found"})

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path in DISCOVERY:
                    self.reply(200, DISCOVERY[path])
                elif path == "/api/v1/nodes/node1":
                    self.reply(200, NODE)
                elif path == "/api/v1/pods":
                    items = [] if "victim" in capture.deleted else [VICTIM]
                    self.reply(200, {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items})
                elif path == "/api/v1/namespaces/default/pods/victim" and "victim" not in capture.deleted:
                    self.reply(200, VICTIM)
                else:
                    self.not_found()

            def record(self) -> bytes:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with capture.lock:
                    capture.requests.append(Captured(self.command, self.path.split("?")[0],
                                                     self.headers.get("Content-Type") or "", body))
                return body

            def do_POST(self) -> None:
                """Answer with the created object, as the API server does (kubectl reads it back)."""
                body = self.record()
                parts = self.path.split("?")[0].strip("/").split("/")
                api_version, kind = KIND_OF.get(parts[-1], ("v1", "Status"))
                created: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": {}}
                with contextlib.suppress(ValueError, BadRequest, UnsupportedMediaType):
                    created = decode(body) if body.startswith(MAGIC) else json.loads(body)
                meta = created.setdefault("metadata", {})
                meta.setdefault("name", meta.get("generateName", "") + "created")
                if "namespaces" in parts[:-1]:
                    meta["namespace"] = parts[parts.index("namespaces") + 1]
                self.reply(201, created)

            def do_PATCH(self) -> None:
                self.record()
                self.reply(200, NODE) if "/nodes/" in self.path else self.not_found()

            def do_DELETE(self) -> None:
                self.record()
                capture.deleted.add(self.path.split("?")[0].rsplit("/", 1)[-1])
                self.reply(200, VICTIM)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def take(self) -> list[Captured]:
        with self.lock:
            taken, self.requests = self.requests, []
        return taken


@dataclass
class Kubectl:
    server: CaptureServer
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        return subprocess.run([KUBECTL, "--server", self.server.url, "--kubeconfig", os.devnull, *args],
                              env=self.env, text=True, capture_output=True, timeout=60)

    def capture(self, *args: str) -> list[Captured]:
        """Run a command for real; the requests with a body it sent."""
        self.server.take()
        result = self.run(*args)
        assert result.returncode == 0, result.stderr
        return self.server.take()

    def dry_run(self, *args: str) -> dict[str, Any]:
        """What `--dry-run=client -o json` prints for the command (flags go before any `--`)."""
        cut = args.index("--") if "--" in args else len(args)
        result = self.run(*args[:cut], "--dry-run=client", "-o", "json", *args[cut:])
        assert result.returncode == 0, result.stderr
        obj: dict[str, Any] = json.loads(result.stdout)
        return obj


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    home = tmp_path_factory.mktemp("kubectl-home")
    server = CaptureServer()
    server.thread.start()
    env = {"HOME": str(home), "KUBECACHEDIR": str(home / "cache"), "PATH": os.environ.get("PATH", "")}
    try:
        yield Kubectl(server, env)
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


def pruned(value: Any) -> Any:
    """Drop null values (`creationTimestamp: null`), which are not on the protobuf wire."""
    if isinstance(value, dict):
        return {k: pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [pruned(v) for v in value]
    return value


def only(requests: list[Captured]) -> Captured:
    assert len(requests) == 1, requests
    return requests[0]


CREATE_COMMANDS = [
    pytest.param(["create", "namespace", "ns1"], id="namespace"),
    pytest.param(["create", "configmap", "c", "--from-literal=a=1", "--from-literal=b=2"], id="configmap"),
    pytest.param(["create", "secret", "generic", "s", "--from-literal=p=q"], id="secret"),
    pytest.param(["create", "serviceaccount", "sa"], id="serviceaccount"),
    pytest.param(["create", "deployment", "d", "--image=nginx", "--replicas=3", "--port=80"], id="deployment"),
    pytest.param(["create", "deployment", "zero", "--image=nginx", "--replicas=0"], id="deployment-zero"),
    pytest.param(["create", "secret", "docker-registry", "reg", "--docker-server=r.example",
                  "--docker-username=u", "--docker-password=p"], id="secret-docker-registry"),
    pytest.param(["create", "configmap", "labelled", "--from-literal=x=", "--append-hash"], id="configmap-hash"),
]


@needs_kubectl
@pytest.mark.parametrize("args", CREATE_COMMANDS)
def test_kubectl_create_sends_protobuf_that_decodes_to_its_json(kubectl: Kubectl, args: list[str]) -> None:
    sent = only(kubectl.capture(*args))
    assert sent.method == "POST"
    assert sent.content_type == MEDIA_TYPE
    assert sent.body.startswith(MAGIC)
    assert decode(sent.body) == pruned(kubectl.dry_run(*args))


@needs_kubectl
def test_kubectl_replicas_zero_is_kept(kubectl: Kubectl) -> None:
    sent = only(kubectl.capture("create", "deployment", "none", "--image=nginx", "--replicas=0"))
    assert decode(sent.body)["spec"]["replicas"] == 0


@needs_kubectl
def test_kubectl_binary_configmap(kubectl: Kubectl, tmp_path: Path) -> None:
    (tmp_path / "blob").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    (tmp_path / "text").write_text("hello\n")
    args = ["create", "configmap", "files", f"--from-file={tmp_path / 'blob'}", f"--from-file={tmp_path / 'text'}"]
    sent = only(kubectl.capture(*args))
    decoded = decode(sent.body)
    assert decoded == pruned(kubectl.dry_run(*args))
    assert base64.b64decode(decoded["binaryData"]["blob"]) == b"\x89PNG\r\n\x1a\n\x00\xff"
    assert decoded["data"] == {"text": "hello\n"}


@needs_kubectl
def test_kubectl_run_sends_json(kubectl: Kubectl) -> None:
    """`kubectl run` builds its Pod with the dynamic client: the body is JSON, not protobuf."""
    args = ["run", "p", "--image=busybox", "--env=A=B", "--labels=x=y", "--", "sleep", "10"]
    sent = only(kubectl.capture(*args))
    assert sent.content_type == "application/json"
    assert pruned(json.loads(sent.body)) == pruned(kubectl.dry_run(*args))


@needs_kubectl
def test_kubectl_debug_node_sends_a_protobuf_pod(kubectl: Kubectl) -> None:
    sent = only(kubectl.capture("debug", "node/node1", "--image=busybox", "--", "true"))
    assert sent.content_type == MEDIA_TYPE
    decoded = decode(sent.body)
    assert decoded["kind"] == "Pod" and decoded["apiVersion"] == "v1"
    assert decoded["metadata"]["name"].startswith("node-debugger-node1-")
    spec = decoded["spec"]
    assert spec["nodeName"] == "node1"
    assert spec["hostPID"] is True and spec["hostNetwork"] is True
    assert spec["volumes"] == [{"name": "host-root", "hostPath": {"path": "/"}}]
    [debugger] = spec["containers"]
    assert debugger["image"] == "busybox" and debugger["command"] == ["true"]
    assert debugger["volumeMounts"] == [{"name": "host-root", "mountPath": "/host"}]


@needs_kubectl
def test_kubectl_drain_sends_protobuf_delete_options(kubectl: Kubectl) -> None:
    """Typed clients send DeleteOptions as protobuf too (`kubectl delete` itself sends JSON)."""
    kubectl.server.deleted.discard("victim")
    sent = kubectl.capture("drain", "node1", "--disable-eviction", "--force", "--grace-period=7",
                           "--timeout=30s")
    delete = only([r for r in sent if r.method == "DELETE"])
    assert delete.content_type == MEDIA_TYPE
    assert decode(delete.body) == {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 7}


@needs_kubectl
def test_kubectl_delete_sends_json(kubectl: Kubectl) -> None:
    sent = only(kubectl.capture("delete", "configmap", "c", "--wait=false"))
    assert sent.content_type == "application/json"
    assert json.loads(sent.body) == {"propagationPolicy": "Background"}
