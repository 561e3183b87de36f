"""Patch application: JSON merge patch, JSON patch, strategic merge patch and the apiserver's errors."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from jupyter_knative.api.patching import (
    REJECTED,
    accepted_patch_types,
    apply_patch,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)
from jupyter_knative.api.schema import Schema, arr, integer, map_of, obj, string
from jupyter_knative.api.status import (
    BadRequest,
    Invalid,
    RequestEntityTooLarge,
    StatusError,
    UnsupportedMediaType,
)

# --- builders -------------------------------------------------------------------------------------------

ENV = arr(obj({"name": string(), "value": string()}), merge_key="name", strategy="merge")
CONTAINER = obj({"name": string(), "image": string(), "env": ENV, "args": arr(string())})
POD_SPEC = obj({"containers": arr(CONTAINER, merge_key="name", strategy="merge")})
METADATA = obj({"name": string(), "labels": map_of(string()), "annotations": map_of(string()),
                "finalizers": arr(string(), strategy="merge")})
POD = obj({"metadata": METADATA, "spec": POD_SPEC})
STRATEGY = obj({"type": string(), "rollingUpdate": obj({"maxSurge": integer(), "maxUnavailable": integer()})},
               strategy="retainKeys")
DEPLOYMENT = obj({"metadata": METADATA, "spec": obj({
    "replicas": integer(), "strategy": STRATEGY, "template": obj({"metadata": METADATA, "spec": POD_SPEC})})})
CONFIG_MAP = obj({"metadata": METADATA, "data": map_of(string())})


def container(name: str, image: str = "", **fields: Any) -> dict[str, Any]:
    return {"name": name, **({"image": image} if image else {}), **fields}


def env(**values: str) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in values.items()]


def pod(*containers: dict[str, Any], finalizers: list[str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p"}
    if finalizers is not None:
        meta["finalizers"] = finalizers
    return {"metadata": meta, "spec": {"containers": list(containers)}}


def containers_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = obj["spec"]["containers"]
    return result


def body(value: Any) -> bytes:
    return orjson.dumps(value)


# --- JSON merge patch -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("target", "patch", "expected"), [
    pytest.param({"a": "b"}, {"a": "c"}, {"a": "c"}, id="replace-value"),
    pytest.param({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}, id="add-key"),
    pytest.param({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}, id="null-deletes"),
    pytest.param({"a": ["b"]}, {"a": "c"}, {"a": "c"}, id="array-replaced-by-scalar"),
    pytest.param({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}, id="scalar-replaced-by-array"),
    pytest.param({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}, id="nested-merge"),
    pytest.param({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}, id="arrays-replaced-whole"),
    pytest.param(["a", "b"], ["c", "d"], ["c", "d"], id="array-target"),
    pytest.param({"a": "b"}, ["c"], ["c"], id="non-object-patch-replaces"),
    pytest.param({"a": "foo"}, None, None, id="null-patch"),
    pytest.param({"e": None}, {"a": 1}, {"e": None, "a": 1}, id="existing-null-kept"),
    pytest.param([1, 2], {"a": "b", "c": None}, {"a": "b"}, id="object-over-array"),
    pytest.param({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}, id="nulls-dropped-from-new-objects"),
])
def test_merge_patch(target: Any, patch: Any, expected: Any) -> None:
    assert merge_patch(target, patch) == expected


def test_merge_patch_leaves_its_inputs_alone() -> None:
    target = {"metadata": {"labels": {"a": "1"}}, "spec": {"list": [1]}}
    patch = {"metadata": {"labels": {"b": "2", "a": None}}, "spec": {"new": {"x": [1]}}}
    before = copy.deepcopy((target, patch))
    result = merge_patch(target, patch)
    result["spec"]["new"]["x"].append(2)
    assert (target, patch) == before


# --- JSON patch -----------------------------------------------------------------------------------------

DOC = {"metadata": {"name": "hello", "labels": {"a": "1"}}, "spec": {"args": ["x", "y"]}}


@pytest.mark.parametrize(("ops", "expected"), [
    pytest.param([{"op": "add", "path": "/metadata/labels/b", "value": "2"}],
                 {"metadata": {"name": "hello", "labels": {"a": "1", "b": "2"}},
                  "spec": {"args": ["x", "y"]}}, id="add"),
    pytest.param([{"op": "test", "path": "/metadata/name", "value": "hello"},
                  {"op": "replace", "path": "/spec/args/1", "value": "z"}],
                 {"metadata": {"name": "hello", "labels": {"a": "1"}}, "spec": {"args": ["x", "z"]}},
                 id="test-then-replace"),
    pytest.param([{"op": "remove", "path": "/metadata/labels"},
                  {"op": "add", "path": "/spec/args/-", "value": "w"}],
                 {"metadata": {"name": "hello"}, "spec": {"args": ["x", "y", "w"]}}, id="remove-and-append"),
    pytest.param(None, DOC, id="null-body-is-no-op"),
    pytest.param([], DOC, id="empty"),
])
def test_json_patch(ops: Any, expected: dict[str, Any]) -> None:
    before = copy.deepcopy(DOC)
    assert json_patch(DOC, ops) == expected
    assert before == DOC


@pytest.mark.parametrize("ops", [
    pytest.param([{"op": "test", "path": "/metadata/name", "value": "other"}], id="test-failed"),
    pytest.param([{"op": "replace", "path": "/metadata/missing", "value": 1}], id="missing-path"),
    pytest.param([{"op": "remove", "path": "/spec/args/7"}], id="bad-index"),
    pytest.param([{"op": "add", "path": "/no/parent", "value": 1}], id="missing-parent"),
    pytest.param([{"op": "frobnicate", "path": "/a"}], id="unknown-op"),
    pytest.param([{"path": "/a"}], id="no-op-member"),
    pytest.param([None], id="null-operation"),
    pytest.param([{"op": "add", "path": "metadata", "value": 1}], id="pointer-without-slash"),
])
def test_json_patch_failures_are_the_generic_422(ops: Any) -> None:
    with pytest.raises(Invalid) as caught:
        json_patch(DOC, ops)
    assert (caught.value.code, caught.value.message) == (422, REJECTED)


@pytest.mark.parametrize(("ops", "message"), [
    pytest.param({"op": "add"}, "error decoding patch: json: cannot unmarshal object into Go value of type "
                 "[]handlers.jsonPatchOp", id="object-body"),
    pytest.param("x", "error decoding patch: json: cannot unmarshal string into Go value of type "
                 "[]handlers.jsonPatchOp", id="string-body"),
    pytest.param([1], "error decoding patch: json: cannot unmarshal number into Go value of type "
                 "handlers.jsonPatchOp", id="number-operation"),
    pytest.param([{"op": 1, "path": "/a"}], "error decoding patch: json: cannot unmarshal number into Go "
                 "struct field jsonPatchOp.op of type string", id="numeric-op"),
    pytest.param([{"op": "add", "path": ["a"]}], "error decoding patch: json: cannot unmarshal array into Go "
                 "struct field jsonPatchOp.path of type string", id="array-path"),
])
def test_json_patch_bodies_that_do_not_decode(ops: Any, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        json_patch(DOC, ops)
    assert caught.value.message == message


def test_json_patch_operation_limit() -> None:
    ops = [{"op": "test", "path": "/metadata/name", "value": "hello"}] * 10001
    with pytest.raises(RequestEntityTooLarge) as caught:
        json_patch(DOC, ops)
    assert caught.value.message == ("Request entity too large: The allowed maximum operations in a JSON "
                                    "patch is 10000, got 10001")


def test_json_patch_that_replaces_the_root_with_a_non_object() -> None:
    with pytest.raises(Invalid) as caught:
        json_patch(DOC, [{"op": "replace", "path": "", "value": [1]}])
    assert caught.value.message.startswith(' "" is invalid: patch: Invalid value: "[1]"')


# --- strategic merge patch ------------------------------------------------------------------------------

@pytest.mark.parametrize(("target", "patch", "expected"), [
    pytest.param(
        pod(container("app", "img:1", env=env(A="1", B="2"))),
        {"spec": {"containers": [{"name": "app", "env": env(B="3", C="4")}]}},
        [container("app", "img:1", env=env(A="1", B="3", C="4"))],
        id="containers-by-name-env-by-name"),
    pytest.param(
        pod(container("app", "img:1"), container("sidecar", "s:1")),
        {"spec": {"containers": [{"name": "queue", "image": "q:1"}]}},
        [container("queue", "q:1"), container("app", "img:1"), container("sidecar", "s:1")],
        id="new-element-goes-first-as-in-k8s"),
    pytest.param(
        pod(container("a"), container("b", "b:1"), container("c")),
        {"spec": {"containers": [{"name": "c", "image": "c:2"}, {"name": "a", "image": "a:2"}]}},
        [container("b", "b:1"), container("c", "c:2"), container("a", "a:2")],
        id="patch-order-kept-server-only-first"),
    pytest.param(
        pod(container("a"), container("b"), container("c")),
        {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}},
        [container("c"), container("a"), container("b")],
        id="set-element-order-reorders"),
    pytest.param(
        pod(container("a", "a:1"), container("b", "b:1")),
        {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                  "containers": [{"name": "a", "image": "a:2"}]}},
        [container("b", "b:1"), container("a", "a:2")],
        id="set-element-order-with-a-change"),
    pytest.param(
        pod(container("a"), container("b"), container("extra")),
        {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}},
        [container("b"), container("a"), container("extra")],
        id="set-element-order-server-only-after"),
    pytest.param(
        pod(container("a", "a:1"), container("b", "b:1")),
        {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}},
        [container("b", "b:1")],
        id="patch-delete-one-container"),
    pytest.param(
        pod(container("a", "a:1"), container("b", "b:1")),
        {"spec": {"containers": [{"$patch": "replace"}, {"name": "z", "image": "z:1"}]}},
        [container("z", "z:1")],
        id="patch-replace-list"),
    pytest.param(
        pod(container("a", "a:1")),
        {"spec": {"containers": [{"name": "a", "$patch": "merge", "image": "a:2"}]}},
        [container("a", "a:2")],
        id="patch-merge-element"),
    pytest.param(
        pod(container("a", "a:1", args=["x", "y"])),
        {"spec": {"containers": [{"name": "a", "args": ["z"]}]}},
        [container("a", "a:1", args=["z"])],
        id="list-without-strategy-replaced"),
    pytest.param(
        pod(container("a", "a:1", env=env(A="1"))),
        {"spec": {"containers": [{"name": "a", "env": None}]}},
        [container("a", "a:1")],
        id="null-deletes-list"),
])
def test_strategic_merge_of_containers(target: dict[str, Any], patch: dict[str, Any],
                                       expected: list[dict[str, Any]]) -> None:
    before = copy.deepcopy((target, patch))
    assert containers_of(strategic_merge_patch(target, patch, POD)) == expected
    assert (target, patch) == before


@pytest.mark.parametrize(("finalizers", "patch", "expected"), [
    pytest.param(["a", "b", "c"], {"$deleteFromPrimitiveList/finalizers": ["b"]}, ["a", "c"],
                 id="delete-from-list"),
    pytest.param(["a", "b"], {"finalizers": ["b", "c"]}, ["a", "b", "c"], id="union"),
    pytest.param(["a", "b"], {"finalizers": ["c", "a"]}, ["c", "a", "b"], id="union-in-k8s-order"),
    pytest.param(["a"], {"finalizers": ["b"], "$deleteFromPrimitiveList/finalizers": ["a"]}, ["b"],
                 id="add-and-delete"),
    pytest.param(["a", "b", "c"], {"$setElementOrder/finalizers": ["c", "a", "b"]}, ["c", "a", "b"],
                 id="set-element-order-primitives"),
    pytest.param(["1", "3"], {"$setElementOrder/finalizers": ["3", "2", "1"]}, ["3", "1"],
                 id="order-names-an-absent-item"),
    pytest.param(None, {"finalizers": ["x", "x"]}, ["x"], id="new-list-deduplicated"),
    pytest.param(None, {"$deleteFromPrimitiveList/finalizers": ["x"]}, None, id="delete-from-absent-list"),
])
def test_strategic_merge_of_finalizers(finalizers: list[str] | None, patch: dict[str, Any],
                                       expected: list[str] | None) -> None:
    result = strategic_merge_patch(pod(finalizers=finalizers), {"metadata": patch}, POD)
    assert result["metadata"].get("finalizers") == expected


def deployment(strategy: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "d"}, "spec": {"replicas": 1, "strategy": strategy}}


@pytest.mark.parametrize(("strategy", "patch", "expected"), [
    pytest.param({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                 {"$retainKeys": ["type"], "type": "Recreate"}, {"type": "Recreate"},
                 id="retain-keys-clears"),
    pytest.param({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                 {"rollingUpdate": {"maxUnavailable": 2}},
                 {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 2}},
                 id="without-directive-merges"),
    pytest.param({"type": "Recreate"},
                 {"$retainKeys": ["type", "rollingUpdate"], "type": "RollingUpdate",
                  "rollingUpdate": {"maxSurge": 2}},
                 {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2}}, id="retain-keys-with-new-key"),
])
def test_retain_keys_on_deployment_strategy(strategy: dict[str, Any], patch: dict[str, Any],
                                            expected: dict[str, Any]) -> None:
    result = strategic_merge_patch(deployment(strategy), {"spec": {"strategy": patch}}, DEPLOYMENT)
    assert result["spec"] == {"replicas": 1, "strategy": expected}


@pytest.mark.parametrize(("schema", "target", "patch", "expected"), [
    pytest.param(CONFIG_MAP, {"data": {"a": "1", "b": "2"}}, {"data": {"a": None, "c": "3", "zz": None}},
                 {"data": {"b": "2", "c": "3"}}, id="configmap-data-nulls"),
    pytest.param(CONFIG_MAP, {"data": {"a": "1"}}, {"data": {"$patch": "replace", "b": "2"}},
                 {"data": {"b": "2"}}, id="patch-replace-map"),
    pytest.param(CONFIG_MAP, {"data": {"a": "1"}}, {"data": {"$patch": "delete"}}, {"data": {}},
                 id="patch-delete-map"),
    pytest.param(CONFIG_MAP, {"data": {"a": "1"}}, {"data": {"$patch": "merge", "b": "2"}},
                 {"data": {"a": "1", "b": "2"}}, id="patch-merge-map"),
    pytest.param(CONFIG_MAP, {"data": {"a": "1"}}, {"$patch": "replace", "data": {"b": None, "c": "3"}},
                 {"data": {"c": "3"}}, id="patch-replace-root"),
    pytest.param(None, {"spec": {"list": [1, 2], "m": {"a": 1}}}, {"spec": {"list": [3], "m": {"b": 2}}},
                 {"spec": {"list": [3], "m": {"a": 1, "b": 2}}}, id="no-schema-is-merge-patch"),
    pytest.param(POD, {}, {"spec": {"containers": [{"name": "a", "env": [{"name": "X", "$patch": "delete"}],
                                                     "args": None}]}},
                 {"spec": {"containers": [{"name": "a", "env": []}]}}, id="new-subtree-cleaned"),
    pytest.param(POD, {}, {"spec": {"containers": [{"image": "no-name"}]}},
                 {"spec": {"containers": [{"image": "no-name"}]}},
                 id="nameless-new-element-left-to-validation"),
    pytest.param(POD, {"metadata": {"labels": "oops"}}, {"metadata": {"labels": {"a": "1"}}},
                 {"metadata": {"labels": {"a": "1"}}}, id="type-change-replaces"),
])
def test_strategic_merge_of_maps(schema: Schema | None, target: dict[str, Any], patch: dict[str, Any],
                                 expected: dict[str, Any]) -> None:
    assert strategic_merge_patch(target, patch, schema) == expected


@pytest.mark.parametrize(("schema", "target", "patch", "error", "message"), [
    pytest.param(CONFIG_MAP, {}, {"$foo": 1}, BadRequest, 'unknown directive "$foo" in strategic merge patch',
                 id="unknown-directive"),
    pytest.param(CONFIG_MAP, {"data": {}}, {"data": {"$patch": "frob"}}, BadRequest,
                 "unknown patch type: frob in map: map[$patch:frob]", id="unknown-patch-type"),
    pytest.param(DEPLOYMENT, deployment({"type": "Recreate"}),
                 {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}},
                 BadRequest, "invalid patch format of retainKeys", id="retain-keys-missing-a-patched-key"),
    pytest.param(DEPLOYMENT, deployment({"type": "Recreate"}),
                 {"spec": {"strategy": {"$retainKeys": "type"}}},
                 BadRequest, "invalid patch format of retainKeys", id="retain-keys-not-a-list"),
    pytest.param(POD, pod(container("a"), container("b")),
                 {"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                           "containers": [{"name": "b"}, {"name": "a"}]}}, BadRequest,
                 "The order in patch list:\n[map[name:b] map[name:a]]\n doesn't match "
                 "$setElementOrder list:\n[map[name:a] map[name:b]]\n", id="set-element-order-mismatch"),
    pytest.param(POD, pod(container("a")), {"spec": {"containers": [{"$patch": "delete", "image": "x"}]}},
                 BadRequest, "map: map[$patch:delete image:x] does not contain declared merge key: name",
                 id="delete-without-merge-key"),
    pytest.param(POD, pod(finalizers=["a"]), {"metadata": {"$deleteFromPrimitiveList": ["a"]}}, BadRequest,
                 "invalid patch format of primitive list", id="delete-list-without-field"),
    pytest.param(POD, pod(finalizers=["a"]), {"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}},
                 BadRequest, "invalid patch format of primitive list", id="delete-list-not-a-list"),
    pytest.param(POD, pod(finalizers=["a"]), {"metadata": {"finalizers": [["b"]]}}, Invalid, REJECTED,
                 id="list-of-lists"),
])
def test_strategic_merge_errors(schema: Schema | None, target: dict[str, Any], patch: dict[str, Any],
                                error: type[StatusError], message: str) -> None:
    with pytest.raises(error) as caught:
        strategic_merge_patch(target, patch, schema)
    assert caught.value.message == message


# --- apply_patch: media types and bodies ----------------------------------------------------------------

MERGE, JSON, STRATEGIC = ("application/merge-patch+json", "application/json-patch+json",
                          "application/strategic-merge-patch+json")


CR_TYPES = "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
BUILTIN_TYPES = ("application/json-patch+json, application/merge-patch+json, "
                 "application/strategic-merge-patch+json, application/apply-patch+yaml")
UNKNOWN_FORMAT = "the body of the request was in an unknown format - accepted media types include: "


def test_accepted_patch_types() -> None:
    assert ", ".join(accepted_patch_types(builtin=False)) == CR_TYPES
    assert ", ".join(accepted_patch_types(builtin=True)) == BUILTIN_TYPES


@pytest.mark.parametrize(("content_type", "builtin", "accepted"), [
    pytest.param(STRATEGIC, False, CR_TYPES, id="strategic-on-custom-resource"),
    pytest.param("application/apply-patch+yaml", False, CR_TYPES, id="apply-not-handled-here"),
    pytest.param("application/apply-patch+yaml", True, BUILTIN_TYPES, id="apply-on-builtin"),
    pytest.param("application/json", True, BUILTIN_TYPES, id="plain-json"),
    pytest.param("", False, CR_TYPES, id="missing"),
    pytest.param(MERGE + " ;charset=utf-8", False, CR_TYPES, id="space-before-parameters"),
])
def test_unsupported_media_types(content_type: str, builtin: bool, accepted: str) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        apply_patch(content_type, {}, b"{}", None, builtin)
    assert (caught.value.code, caught.value.message) == (415, UNKNOWN_FORMAT + accepted)


TARGET = {"metadata": {"name": "hello", "labels": {"a": "1"}}, "data": {"k": "v"}}


@pytest.mark.parametrize(("content_type", "patch", "builtin", "expected"), [
    pytest.param("application/merge-patch+json", {"metadata": {"labels": {"a": None, "b": "2"}}}, False,
                 {"metadata": {"name": "hello", "labels": {"b": "2"}}, "data": {"k": "v"}}, id="merge"),
    pytest.param("application/merge-patch+json; charset=utf-8", {"data": None}, False,
                 {"metadata": {"name": "hello", "labels": {"a": "1"}}}, id="merge-with-charset"),
    pytest.param("application/json-patch+json", [{"op": "replace", "path": "/data/k", "value": "w"}], False,
                 {"metadata": {"name": "hello", "labels": {"a": "1"}}, "data": {"k": "w"}}, id="json-patch"),
    pytest.param("application/strategic-merge-patch+json", {"data": {"k": None, "n": "1"}}, True,
                 {"metadata": {"name": "hello", "labels": {"a": "1"}}, "data": {"n": "1"}}, id="strategic"),
    pytest.param("application/strategic-merge-patch+json", None, True, TARGET, id="strategic-null-is-no-op"),
])
def test_apply_patch(content_type: str, patch: Any, builtin: bool, expected: dict[str, Any]) -> None:
    assert apply_patch(content_type, TARGET, body(patch), CONFIG_MAP, builtin) == expected


@pytest.mark.parametrize(("content_type", "raw", "message"), [
    pytest.param(MERGE, b"", "error decoding patch: unexpected end of JSON input", id="empty-merge"),
    pytest.param(MERGE, b"{'a': 1}", "error decoding patch: invalid character '\\'' looking for beginning of "
                 "object key string", id="single-quotes"),
    pytest.param(MERGE, b'{"a": 1,}', "error decoding patch: invalid character '}' looking for beginning of "
                 "object key string", id="trailing-comma"),
    pytest.param(MERGE, b'{"a": tru}', "error decoding patch: invalid character '}' in literal true "
                 "(expecting 'e')", id="bad-literal"),
    pytest.param(MERGE, b'{"a": 1} x', "error decoding patch: invalid character 'x' after top-level value",
                 id="trailing-garbage"),
    pytest.param(MERGE, b'{"a" 1}', "error decoding patch: invalid character '1' after object key",
                 id="missing-colon"),
    pytest.param(MERGE, b'{"a": 01}',
                 "error decoding patch: invalid character '1' after object key:value pair",
                 id="leading-zero"),
    pytest.param(MERGE, b"[1, 2]", "error decoding patch: json: cannot unmarshal array into Go value of type "
                 "map[string]interface {}", id="merge-array"),
    pytest.param(MERGE, b"null", "Invalid JSON Patch", id="merge-null"),
    pytest.param(JSON, b"[1 2]", "error decoding patch: invalid character '2' after array element",
                 id="json-patch-syntax"),
    pytest.param(JSON, b'{"op": "add"}', "error decoding patch: json: cannot unmarshal object into Go value "
                 "of type []handlers.jsonPatchOp", id="json-patch-object"),
    pytest.param(STRATEGIC, b"{", "unexpected end of JSON input", id="strategic-truncated"),
    pytest.param(STRATEGIC, b'"x"',
                 "json: cannot unmarshal string into Go value of type map[string]interface {}",
                 id="strategic-string"),
    pytest.param(STRATEGIC, b'{"a": "\x01"}', "invalid character '\\x01' in string literal",
                 id="control-character"),
    pytest.param(STRATEGIC, b'{"a": "\\q"}', "invalid character 'q' in string escape code", id="bad-escape"),
    pytest.param(STRATEGIC, b"{\"a\": -}", "invalid character '}' in numeric literal", id="lone-minus"),
])
def test_malformed_bodies(content_type: str, raw: bytes, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        apply_patch(content_type, TARGET, raw, CONFIG_MAP, True)
    assert (caught.value.code, caught.value.message) == (400, message)


def test_valid_json_that_orjson_refuses_is_still_accepted() -> None:
    result = apply_patch(MERGE, TARGET, b'{"data": {"k": "\xff"}}', None, False)
    assert result["data"] == {"k": "\ufffd"}  # Go replaces invalid UTF-8 too
