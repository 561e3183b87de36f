"""Server-side apply: field sets in FieldsV1, merging by list semantics, pruning, conflicts."""

from __future__ import annotations

import re
from typing import Any

import pytest

from jupyter_knative.api.applying import apply, field_set, from_fields_v1, merge, path_string, to_fields_v1
from jupyter_knative.api.schema import Schema, arr, integer, map_of, obj, string
from jupyter_knative.api.status import BadRequest, Conflict

ENV = arr(obj({"name": string(), "value": string()}), list_type="map", map_keys=("name",))
CONTAINER = obj({"name": string(), "image": string(), "env": ENV, "args": arr(string())})
METADATA = obj({"name": string(), "namespace": string(), "labels": map_of(string()),
                "finalizers": arr(string(), list_type="set"), "managedFields": arr(obj(), list_type="atomic")})
SPEC = obj({"replicas": integer(), "containers": arr(CONTAINER, list_type="map", map_keys=("name",)),
            "ports": arr(obj({"port": integer(), "protocol": string()}), merge_key="port", strategy="merge"),
            "extra": map_of(obj({"a": string()}))})
KIND = obj({"apiVersion": string(), "kind": string(), "metadata": METADATA, "spec": SPEC})
NOW, LATER = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"


def thing(*, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "x"}
    if labels is not None:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Thing", "metadata": meta, "spec": spec}


def run(live: dict[str, Any] | None, config: dict[str, Any], manager: str = "kubectl", **kw: Any) -> dict[str, Any]:
    return apply(live, config, KIND, manager=manager, api_version="v1", now=kw.pop("now", NOW), **kw)


def owned(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    entry = next(e for e in obj["metadata"]["managedFields"] if e["manager"] == manager)
    fields: dict[str, Any] = entry["fieldsV1"]
    return fields


@pytest.mark.parametrize(("config", "schema", "expected"), [
    pytest.param({"metadata": {"labels": {"app": "a"}}}, KIND, {"f:metadata": {"f:labels": {"f:app": {}}}},
                 id="map-of-strings"),
    pytest.param({"spec": {"containers": [{"name": "c", "image": "i"}]}}, KIND,
                 {"f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}, "f:name": {}}}}},
                 id="map-list-item"),
    pytest.param({"spec": {"containers": [{"name": "c", "args": ["a", "b"]}]}}, KIND,
                 {"f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:args": {}, "f:name": {}}}}},
                 id="atomic-list-is-a-leaf"),
    pytest.param({"metadata": {"finalizers": ["a", "b"]}}, KIND,
                 {"f:metadata": {"f:finalizers": {'v:"a"': {}, 'v:"b"': {}}}}, id="set-items"),
    pytest.param({"spec": {"ports": [{"port": 80}]}}, KIND,
                 {"f:spec": {"f:ports": {'k:{"port":80}': {".": {}, "f:port": {}}}}}, id="builtin-merge-key"),
    pytest.param({"spec": {"extra": {"k": {"a": "1"}}}}, KIND,
                 {"f:spec": {"f:extra": {"f:k": {".": {}, "f:a": {}}}}}, id="map-of-objects"),
    pytest.param({"spec": {"containers": [{"image": "i"}]}}, KIND, {"f:spec": {"f:containers": {}}},
                 id="items-without-keys-are-atomic"),
    pytest.param({"a": {"b": [1], "c": {}}}, None, {"f:a": {".": {}, "f:b": {}, "f:c": {}}}, id="no-schema"),
])
def test_field_set(config: dict[str, Any], schema: Schema | None, expected: dict[str, Any]) -> None:
    fields = to_fields_v1(field_set(config, schema))
    assert fields == expected
    assert from_fields_v1(fields) == field_set(config, schema)


@pytest.mark.parametrize(("live", "config", "expected"), [
    pytest.param({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}},
                 {"spec": {"containers": [{"name": "b", "image": "3"}, {"name": "c"}]}},
                 {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "3"}, {"name": "c"}]}},
                 id="map-list-merges-by-key"),
    pytest.param({"metadata": {"finalizers": ["a", "b"]}}, {"metadata": {"finalizers": ["c", "a"]}},
                 {"metadata": {"finalizers": ["c", "a", "b"]}}, id="set-union"),
    pytest.param({"spec": {"containers": [{"name": "a", "args": ["1", "2"]}]}},
                 {"spec": {"containers": [{"name": "a", "args": ["3"]}]}},
                 {"spec": {"containers": [{"name": "a", "args": ["3"]}]}}, id="atomic-replaced"),
    pytest.param({"metadata": {"labels": {"a": "1"}}}, {"metadata": {"labels": {"b": "2"}}},
                 {"metadata": {"labels": {"a": "1", "b": "2"}}}, id="maps-merge"),
])
def test_merge(live: dict[str, Any], config: dict[str, Any], expected: dict[str, Any]) -> None:
    assert merge(live, config, KIND) == expected


def test_create_records_an_apply_entry() -> None:
    obj = run(None, thing(labels={"app": "a"}, replicas=1))
    assert obj["metadata"]["managedFields"] == [{
        "manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": NOW, "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:replicas": {}}}}]


def test_fields_no_longer_applied_are_removed() -> None:
    first = run(None, thing(labels={"app": "a", "tier": "t"}, replicas=1))
    second = run(first, thing(labels={"app": "a"}))
    assert second["metadata"]["labels"] == {"app": "a"}
    assert "replicas" not in second["spec"]
    third = run(second, thing())
    assert "labels" not in third["metadata"]


def test_fields_another_applier_owns_are_kept() -> None:
    first = run(None, thing(labels={"app": "a"}, replicas=1))
    shared = run(first, thing(replicas=1), manager="other")
    dropped = run(shared, thing(labels={"app": "a"}))
    assert dropped["spec"]["replicas"] == 1
    assert owned(dropped, "other") == {"f:spec": {"f:replicas": {}}}


def test_conflict_with_another_applier() -> None:
    first = run(None, thing(replicas=1, containers=[{"name": "c", "image": "1"}]))
    with pytest.raises(Conflict) as err:
        run(first, thing(replicas=2), manager="other")
    assert err.value.message == 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas'
    assert err.value.details == {"causes": [{"type": "FieldManagerConflict", "message": 'conflict with "kubectl"',
                                             "field": ".spec.replicas"}]}
    with pytest.raises(Conflict) as err:
        run(first, thing(replicas=2, containers=[{"name": "c", "image": "2"}]), manager="other")
    assert err.value.message == ('Apply failed with 2 conflicts: conflicts with "kubectl":\n'
                                 '- .spec.containers[name="c"].image\n- .spec.replicas')


def test_force_takes_ownership() -> None:
    first = run(None, thing(replicas=1, labels={"app": "a"}))
    forced = run(first, thing(replicas=2), manager="other", force=True, now=LATER)
    assert forced["spec"]["replicas"] == 2
    assert owned(forced, "kubectl") == {"f:metadata": {"f:labels": {"f:app": {}}}}
    assert owned(forced, "other") == {"f:spec": {"f:replicas": {}}}
    assert [e["manager"] for e in forced["metadata"]["managedFields"]] == ["kubectl", "other"]


def test_same_value_is_shared_without_conflict() -> None:
    first = run(None, thing(replicas=1))
    both = run(first, thing(replicas=1), manager="other")
    assert owned(both, "kubectl") == owned(both, "other") == {"f:spec": {"f:replicas": {}}}


def test_update_managers_are_named_with_their_version() -> None:
    live = thing(replicas=1)
    live["metadata"]["managedFields"] = [{"manager": "kubectl-client-side-apply", "operation": "Update",
                                          "apiVersion": "v1", "time": NOW, "fieldsType": "FieldsV1",
                                          "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
    with pytest.raises(Conflict, match=re.escape('conflict with "kubectl-client-side-apply" using v1: .spec.replicas')):
        run(live, thing(replicas=3))


def test_ignored_and_stripped_fields_are_not_owned() -> None:
    config = {**thing(replicas=1), "status": {"ready": True}}
    obj = run(None, config, ignored=[("f:status",)])
    assert owned(obj, "kubectl") == {"f:spec": {"f:replicas": {}}}


def test_managed_fields_in_the_config_are_refused() -> None:
    config = thing()
    config["metadata"]["managedFields"] = []
    with pytest.raises(BadRequest, match=re.escape("metadata.managedFields must be nil")):
        run(None, config)


@pytest.mark.parametrize(("path", "text"), [
    (("f:spec", "f:replicas"), ".spec.replicas"),
    (("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}', "f:port"), '.spec.ports[port=80,protocol="TCP"].port'),
    (("f:metadata", "f:finalizers", 'v:"a"'), '.metadata.finalizers[="a"]'),
])
def test_path_string(path: tuple[str, ...], text: str) -> None:
    assert path_string(path) == text
