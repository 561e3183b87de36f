"""The declared kinds against the upstream CRDs, example manifests, and the built-in row printers."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from jupyter_knative.api.kinds import ALL_TYPES, core, default_configmaps, registry, serving
from jupyter_knative.api.kinds.configmaps import example_checksum
from jupyter_knative.api.kinds.serving import LEGACY_VERSIONS
from jupyter_knative.api.registry import AGE, ResourceType
from jupyter_knative.api.schema import Schema, check

CRDS = Path(__file__).parents[2].parent / "shared" / "knative" / "crds"

# --- upstream CRDs ------------------------------------------------------------------------------------


def _load_crds() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    if not CRDS.is_dir():
        return found
    for path in sorted(CRDS.glob("*/*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                found[(doc["spec"]["group"], doc["spec"]["names"]["kind"])] = doc
    return found


UPSTREAM = _load_crds()
WITH_CRD = [rt for rt in ALL_TYPES if not rt.builtin and (rt.group, rt.kind) in UPSTREAM] if UPSTREAM \
    else [rt for rt in ALL_TYPES if not rt.builtin and rt.group != "build.knative.dev"]


@pytest.fixture(params=WITH_CRD, ids=lambda rt: f"{rt.group}/{rt.kind}")
def pair(request: pytest.FixtureRequest) -> tuple[ResourceType, dict[str, Any]]:
    if not UPSTREAM:
        pytest.skip(f"upstream CRDs (test reference data) not found at {CRDS}")
    rt: ResourceType = request.param
    return rt, UPSTREAM[(rt.group, rt.kind)]


def test_names_scope_and_subresources(pair: tuple[ResourceType, dict[str, Any]]) -> None:
    rt, crd = pair
    names = crd["spec"]["names"]
    assert (rt.group, rt.kind, rt.plural) == (crd["spec"]["group"], names["kind"], names["plural"])
    assert rt.singular_name == names.get("singular", names["kind"].lower())
    assert ("Namespaced" if rt.namespaced else "Cluster") == crd["spec"]["scope"]
    assert rt.short_names == tuple(names.get("shortNames", ()))
    assert rt.categories == tuple(names.get("categories", ()))
    for version in crd["spec"]["versions"]:
        assert tuple(version.get("subresources", {})) == rt.subresources, version["name"]


def test_versions(pair: tuple[ResourceType, dict[str, Any]]) -> None:
    rt, crd = pair
    served = {v["name"] for v in crd["spec"]["versions"] if v["served"]}
    storage = [v["name"] for v in crd["spec"]["versions"] if v["storage"]]
    if rt.group == "serving.knative.dev" and rt.kind in ("Service", "Configuration", "Revision", "Route"):
        served |= set(LEGACY_VERSIONS)  # the seed-era forms the plane still accepts, converted to v1
    assert {v.name for v in rt.versions} == served
    assert [rt.storage] == storage


def test_printer_columns(pair: tuple[ResourceType, dict[str, Any]]) -> None:
    rt, crd = pair
    for version in crd["spec"]["versions"]:
        ours = rt.version(version["name"])
        assert ours is not None
        # Without additionalPrinterColumns, the apiserver shows AGE alone.
        expected = [(c["name"], c["type"], c["jsonPath"], c.get("priority", 0))
                    for c in version.get("additionalPrinterColumns", ())] or \
            [(AGE.name, AGE.type, AGE.json_path, 0)]
        assert [(c.name, c.type, c.json_path, c.priority) for c in ours.columns] == expected


def _compare(ours: Schema, up: dict[str, Any], path: str, out: list[str]) -> None:
    """Report where `ours` and an upstream structural schema would accept or keep different things."""
    up_open = bool(up.get("x-kubernetes-preserve-unknown-fields"))
    if ours.int_or_string or up.get("x-kubernetes-int-or-string"):
        if not (ours.int_or_string and up.get("x-kubernetes-int-or-string")):
            out.append(f"{path}: int-or-string on one side only")
        return
    if ours.type != up.get("type"):
        out.append(f"{path}: type {ours.type}, upstream {up.get('type')}")
        return
    ours_open = ours.preserve_unknown_fields or ours.additional_properties is not None
    if ours.type in (None, "object") and up_open and not ours_open:
        out.append(f"{path}: upstream keeps unknown fields, ours drops them")
    if set(ours.required) - set(up.get("required", ())):
        out.append(f"{path}: requires {sorted(set(ours.required) - set(up.get('required', ())))}")
    if ours.type == "array" and ours.items is not None and "items" in up:
        _compare(ours.items, up["items"], path + "[]", out)
    if ours.type == "object":
        _compare_properties(ours, up, path, out)


def _compare_properties(ours: Schema, up: dict[str, Any], path: str, out: list[str]) -> None:
    up_props: dict[str, Any] = up.get("properties", {})
    up_open = bool(up.get("x-kubernetes-preserve-unknown-fields"))
    for name, sub in ours.properties.items():
        if name in up_props:
            _compare(sub, up_props[name], f"{path}.{name}", out)
        elif not up_open:
            out.append(f"{path}.{name}: not in the upstream schema")
    if not (ours.preserve_unknown_fields or ours.additional_properties is not None):
        out += [f"{path}.{name}: upstream field we would drop"
                for name in up_props if name not in ours.properties]
    if ours.additional_properties is not None:
        if isinstance(up.get("additionalProperties"), dict):
            _compare(ours.additional_properties, up["additionalProperties"], path + "{}", out)
        elif not up_open:
            out.append(f"{path}: a map here, not upstream")


def _without_meta(props: dict[str, Any]) -> dict[str, Any]:
    # apiVersion, kind and metadata are the apiserver's own business, whatever a CRD says about them.
    return {k: v for k, v in props.items() if k not in ("apiVersion", "kind", "metadata")}


def test_schema_matches_upstream(pair: tuple[ResourceType, dict[str, Any]]) -> None:
    """Same paths and types both ways: we declare nothing upstream lacks, and drop nothing it keeps."""
    rt, crd = pair
    for version in crd["spec"]["versions"]:
        ours = rt.version(version["name"])
        assert ours is not None and ours.schema is not None
        up = version["schema"]["openAPIV3Schema"]
        problems: list[str] = []
        trimmed = Schema("object", properties=_without_meta(dict(ours.schema.properties)))
        _compare(trimmed, {**up, "properties": _without_meta(up.get("properties", {}))}, "", problems)
        assert problems == [], f"{rt.kind} {version['name']}"


def test_every_declared_schema_has_metadata() -> None:
    for rt in ALL_TYPES:
        for version in rt.versions:
            assert version.schema is not None
            assert {"apiVersion", "kind", "metadata"} <= set(version.schema.properties), rt.kind


# --- the registry -------------------------------------------------------------------------------------


def test_registry_lookups() -> None:
    reg = registry()
    found = reg.lookup("serving.knative.dev", "v1", "services")
    assert found is not None and found[0].short_names == ("kservice", "ksvc")
    assert reg.by_key("core/pods") is core.POD
    eventtype = reg.for_api_version("eventing.knative.dev/v1beta3", "EventType")
    assert eventtype is not None and eventtype[0].storage == "v1beta2"
    assert [g for g, _ in reg.groups()][:3] == ["", "apps", "serving.knative.dev"]
    assert len({rt.key for rt in ALL_TYPES}) == len(ALL_TYPES)


def test_preferred_versions_follow_kube_version_priority() -> None:
    preferred = {rt.kind: rt.preferred.name for rt in ALL_TYPES if len(rt.versions) > 1}
    assert preferred == {"EventType": "v1beta3", "PingSource": "v1", "Task": "v1", "TaskRun": "v1",
                         "Pipeline": "v1", "PipelineRun": "v1", "Service": "v1", "Configuration": "v1",
                         "Revision": "v1", "Route": "v1"}


def test_build_columns() -> None:
    build = registry().by_kind("build.knative.dev", "Build")
    assert build is not None and build.subresources == ("status",)
    assert [c.name.upper() for c in build.preferred.columns] == ["SUCCEEDED", "REASON", "STARTTIME",
                                                                 "COMPLETIONTIME"]
    assert build.preferred.columns[0].json_path == '.status.conditions[?(@.type=="Succeeded")].status'
    cluster_templates = registry().by_kind("build.knative.dev", "ClusterBuildTemplate")
    assert cluster_templates is not None and not cluster_templates.namespaced


@pytest.mark.parametrize(("kind", "returns_object"), [
    pytest.param("Namespace", True, id="namespace"),
    pytest.param("Pod", True, id="pod"),
    pytest.param("ServiceAccount", True, id="serviceaccount"),
    pytest.param("ConfigMap", False, id="configmap"),
    pytest.param("Secret", False, id="secret"),
    pytest.param("Event", False, id="event"),
    pytest.param("Deployment", False, id="deployment"),
])
def test_delete_answers(kind: str, returns_object: bool) -> None:
    rt = next(rt for rt in core.CORE_TYPES if rt.kind == kind)
    assert rt.delete_returns_object is returns_object


def test_custom_resources_answer_delete_with_the_object() -> None:
    assert all(rt.delete_returns_object for rt in ALL_TYPES if not rt.builtin)


# --- patch metadata -----------------------------------------------------------------------------------


def _at(schema: Schema | None, path: str) -> Schema:
    for name in path.split("."):
        assert schema is not None, path
        schema = schema.items if name == "[]" else schema.properties.get(name)
    assert schema is not None, path
    return schema


@pytest.mark.parametrize(("path", "merge_key", "strategy"), [
    pytest.param("metadata.ownerReferences", "uid", "merge", id="ownerReferences"),
    pytest.param("metadata.finalizers", "", "merge", id="finalizers"),
    pytest.param("spec.containers", "name", "merge", id="containers"),
    pytest.param("spec.initContainers", "name", "merge", id="initContainers"),
    pytest.param("spec.volumes", "name", "merge,retainKeys", id="volumes"),
    pytest.param("spec.imagePullSecrets", "name", "merge", id="imagePullSecrets"),
    pytest.param("spec.hostAliases", "ip", "merge", id="hostAliases"),
    pytest.param("spec.containers.[].env", "name", "merge", id="env"),
    pytest.param("spec.containers.[].ports", "containerPort", "merge", id="ports"),
    pytest.param("spec.containers.[].volumeMounts", "mountPath", "merge", id="volumeMounts"),
    pytest.param("status.conditions", "type", "merge", id="pod-conditions"),
])
def test_pod_patch_metadata(path: str, merge_key: str, strategy: str) -> None:
    field = _at(core.POD.preferred.schema, path)
    assert (field.patch_merge_key, field.patch_strategy) == (merge_key, strategy)


def test_deployment_and_service_account_patch_metadata() -> None:
    deployment = core.DEPLOYMENT.preferred.schema
    assert _at(deployment, "spec.strategy").patch_strategy == "retainKeys"
    assert _at(deployment, "status.conditions").patch_merge_key == "type"
    assert _at(deployment, "spec.template.spec.containers").patch_merge_key == "name"
    assert _at(core.SERVICE_ACCOUNT.preferred.schema, "secrets").patch_merge_key == "name"
    assert _at(core.NAMESPACE.preferred.schema, "status.conditions").patch_merge_key == "type"


# --- manifests ----------------------------------------------------------------------------------------


def _check(manifest: dict[str, Any]) -> tuple[list[Any], list[str], dict[str, Any]]:
    found = registry().for_api_version(manifest["apiVersion"], manifest["kind"])
    assert found is not None and found[1].schema is not None
    body = copy.deepcopy(manifest)
    findings = check(found[1].schema, body)
    return findings.errors, findings.unknown, body


def hello_service(**spec: Any) -> dict[str, Any]:
    """The Knative docs' hello-world Service, with env and containerConcurrency."""
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "hello", "namespace": "default"},
        "spec": {
            "template": {
                "metadata": {"annotations": {"autoscaling.knative.dev/target": "10"}},
                "spec": {
                    "containerConcurrency": 10,
                    "containers": [{
                        "image": "ghcr.io/knative/helloworld-go:latest",
                        "ports": [{"containerPort": 8080}],
                        "env": [{"name": "TARGET", "value": "World"}],
                    }],
                },
            },
            **spec,
        },
    }


TRAFFIC_SPLIT = [
    {"tag": "current", "revisionName": "hello-00001", "percent": 50},
    {"tag": "candidate", "revisionName": "hello-00002", "percent": 50},
    {"tag": "latest", "latestRevision": True, "percent": 0},
]

TRIGGER = {
    "apiVersion": "eventing.knative.dev/v1",
    "kind": "Trigger",
    "metadata": {"name": "my-service-trigger"},
    "spec": {
        "broker": "default",
        "filter": {"attributes": {"type": "dev.knative.foo.bar", "myextension": "my-extension-value"}},
        "filters": [
            {"any": [{"exact": {"type": "com.github.push"}}, {"prefix": {"type": "com.gitlab"}}]},
            {"cesql": "source LIKE '%commerce%'"},
        ],
        "subscriber": {"ref": {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
                               "name": "my-service"}},
        "delivery": {"retry": 3, "backoffPolicy": "exponential", "backoffDelay": "PT0.5S"},
    },
}

PING_SOURCE = {
    "apiVersion": "sources.knative.dev/v1",
    "kind": "PingSource",
    "metadata": {"name": "test-ping-source"},
    "spec": {
        "schedule": "*/1 * * * *",
        "contentType": "application/json",
        "data": '{"message": "Hello world!"}',
        "sink": {"ref": {"apiVersion": "v1", "kind": "Service", "name": "event-display"}},
    },
}

TASK = {
    "apiVersion": "tekton.dev/v1",
    "kind": "Task",
    "metadata": {"name": "hello"},
    "spec": {
        "params": [{"name": "username", "type": "string"}],
        "steps": [{"name": "hello", "image": "ubuntu",
                   "script": "#!/bin/bash\necho \"Hello $(params.username)!\"\n"}],
    },
}

TASK_RUN = {
    "apiVersion": "tekton.dev/v1",
    "kind": "TaskRun",
    "metadata": {"name": "hello-task-run"},
    "spec": {"taskRef": {"name": "hello"}, "params": [{"name": "username", "value": "Tekton"}]},
}


@pytest.mark.parametrize("manifest", [
    pytest.param(hello_service(), id="hello-service"),
    pytest.param(hello_service(traffic=TRAFFIC_SPLIT), id="traffic-split"),
    pytest.param(TRIGGER, id="trigger-filters"),
    pytest.param(PING_SOURCE, id="pingsource"),
    pytest.param(TASK, id="tekton-task"),
    pytest.param(TASK_RUN, id="tekton-taskrun-params"),
])
def test_valid_manifests_pass_untouched(manifest: dict[str, Any]) -> None:
    errors, unknown, body = _check(manifest)
    assert (errors, unknown) == ([], [])
    assert body == manifest


def test_typos_are_reported_with_their_paths() -> None:
    service = hello_service(traffic=copy.deepcopy(TRAFFIC_SPLIT))
    template_spec = service["spec"]["template"]["spec"]
    template_spec["contaners"] = template_spec.pop("containers")
    service["spec"]["traffic"][0]["persent"] = service["spec"]["traffic"][0].pop("percent")
    errors, unknown, body = _check(service)
    assert sorted(unknown) == ["spec.template.spec.contaners", "spec.traffic[0].persent"]
    assert "persent" not in body["spec"]["traffic"][0]
    # Dropping the misspelt list leaves the template without its required containers.
    assert [(e.type, e.field) for e in errors] == [("FieldValueRequired", "spec.template.spec.containers")]


def test_container_typos_are_caught() -> None:
    service = hello_service()
    service["spec"]["template"]["spec"]["containers"][0]["imagee"] = "x"
    service["spec"]["template"]["spec"]["containers"][0]["env"][0]["valeu"] = "y"
    _, unknown, _ = _check(service)
    assert sorted(unknown) == ["spec.template.spec.containers[0].env[0].valeu",
                              "spec.template.spec.containers[0].imagee"]


def test_wrong_type_gives_one_error_at_its_path() -> None:
    service = hello_service()
    service["spec"]["template"]["spec"]["containerConcurrency"] = "ten"
    errors, unknown, _ = _check(service)
    assert unknown == []
    assert [(e.type, e.field, e.value) for e in errors] == [
        ("FieldValueTypeInvalid", "spec.template.spec.containerConcurrency", "string")]
    assert str(errors[0]) == (
        'spec.template.spec.containerConcurrency: Invalid value: "string": '
        'spec.template.spec.containerConcurrency in body must be of type integer: "string"')


def test_open_subtrees_keep_what_upstream_keeps() -> None:
    service = hello_service()
    template = service["spec"]["template"]
    template["metadata"]["generateName"] = "hello-"  # template metadata keeps unknown fields
    template["spec"]["affinity"] = {"nodeAffinity": {"anything": True}}
    trigger = copy.deepcopy(TRIGGER)
    trigger["spec"]["somethingNew"] = 1  # a Trigger's spec keeps unknown fields
    for manifest in (service, trigger):
        errors, unknown, body = _check(manifest)
        assert (errors, unknown, body) == ([], [], manifest)


def test_pod_manifest() -> None:
    pod = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "a"}},
        "spec": {
            "containers": [{
                "name": "c", "image": "busybox", "command": ["sh", "-c"], "args": ["sleep 1"],
                "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "resources": {"limits": {"cpu": "1", "memory": 1024}},
                "readinessProbe": {"httpGet": {"path": "/", "port": "http"}},
                "lifecycle": {"preStop": {"exec": {"command": ["true"]}}},
                "securityContext": {"runAsNonRoot": True}, "stdin": True, "tty": True,
                "imagePullPolicy": "IfNotPresent", "terminationMessagePolicy": "File",
            }],
            "volumes": [{"name": "v", "emptyDir": {}}], "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 5, "tolerations": [{"operator": "Exists"}],
        },
    }
    errors, unknown, _ = _check(pod)
    assert (errors, unknown) == ([], [])
    pod["spec"]["containers"][0]["workingdir"] = "/"
    _, unknown, _ = _check(pod)
    assert unknown == ["spec.containers[0].workingdir"]


def test_knative_template_is_narrower_than_a_pod() -> None:
    service = hello_service()
    service["spec"]["template"]["spec"]["restartPolicy"] = "Always"  # not in Knative's PodSpec
    _, unknown, _ = _check(service)
    assert unknown == ["spec.template.spec.restartPolicy"]
    assert "containerConcurrency" in serving.revision_spec().properties


# --- row printers -------------------------------------------------------------------------------------

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC).timestamp()


def _printer(rt: ResourceType) -> tuple[list[str], Any]:
    assert rt.row_printer is not None
    columns, print_row = rt.row_printer
    return [c.name for c in columns], print_row


def test_every_builtin_has_a_row_printer() -> None:
    for rt in core.CORE_TYPES:
        names, _ = _printer(rt)
        assert names and rt.builtin


def test_pod_row() -> None:
    pod = {
        "metadata": {"name": "web", "creationTimestamp": "2026-01-01T11:57:00Z"},
        "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "node-1"},
        "status": {
            "phase": "Running",
            "podIPs": [{"ip": "10.0.0.5"}],
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {"name": "a", "ready": True, "restartCount": 1, "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-01-01T11:50:00Z"}}},
                {"name": "b", "ready": True, "restartCount": 2, "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 2, "finishedAt": "2026-01-01T11:55:00Z"}}},
            ],
        },
    }
    names, print_row = _printer(core.POD)
    assert names == ["Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"]
    assert print_row(pod, NOW) == ["2/2", "Running", "3 (5m ago)", "3m", "10.0.0.5", "node-1", "<none>",
                                   "<none>"]


@pytest.mark.parametrize(("status", "deleting", "expected"), [
    pytest.param({"phase": "Pending", "containerStatuses": [
        {"name": "a", "ready": False, "restartCount": 4,
         "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]},
        False, ["0/1", "CrashLoopBackOff", "4"], id="crashloop"),
    pytest.param({"phase": "Failed", "containerStatuses": [
        {"name": "a", "ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 3}}}]},
        False, ["0/1", "ExitCode:3", "0"], id="exit-code"),
    pytest.param({"phase": "Running", "containerStatuses": [
        {"name": "a", "ready": True, "restartCount": 0, "state": {"running": {}}}]},
        True, ["1/1", "Terminating", "0"], id="terminating"),
    pytest.param({"phase": "Failed", "containerStatuses": [
        {"name": "a", "ready": False, "restartCount": 0, "state": {"terminated": {}}}]},
        False, ["0/1", "ExitCode:0", "0"], id="terminated-without-details"),
    pytest.param({"phase": "Succeeded", "containerStatuses": [
        {"name": "a", "ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 0,
                                                                                 "reason": "Completed"}}}]},
        True, ["0/1", "Completed", "0"], id="completed-while-deleting"),
    pytest.param({"phase": "Pending", "initContainerStatuses": [
        {"name": "init", "ready": False, "restartCount": 0,
         "state": {"waiting": {"reason": "PodInitializing"}}}]},
        False, ["0/1", "Init:0/1", "0"], id="initializing"),
    pytest.param({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]},
        False, ["0/1", "SchedulingGated", "0"], id="gated"),
])
def test_pod_status_column(status: dict[str, Any], deleting: bool, expected: list[str]) -> None:
    pod: dict[str, Any] = {"metadata": {"name": "p", "creationTimestamp": "2026-01-01T11:59:15Z"},
                           "spec": {"containers": [{"name": "a"}]}, "status": status}
    if "initContainerStatuses" in status:
        pod["spec"]["initContainers"] = [{"name": "init"}]
    if deleting:
        pod["metadata"]["deletionTimestamp"] = "2026-01-01T11:59:50Z"
    _, print_row = _printer(core.POD)
    assert print_row(pod, NOW)[:4] == [*expected, "45s"]


def test_pod_row_counts_sidecars() -> None:
    pod = {
        "metadata": {"name": "p", "creationTimestamp": "2026-01-01T11:59:15Z"},
        "spec": {"initContainers": [{"name": "proxy", "restartPolicy": "Always"}, {"name": "setup"}],
                 "containers": [{"name": "a"}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
            "initContainerStatuses": [
                {"name": "proxy", "ready": True, "started": True, "restartCount": 1,
                 "state": {"running": {}}},
                {"name": "setup", "ready": False, "restartCount": 0,
                 "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            ],
            "containerStatuses": [{"name": "a", "ready": True, "restartCount": 0, "state": {"running": {}}}],
        },
    }
    _, print_row = _printer(core.POD)
    assert print_row(pod, NOW)[:4] == ["2/2", "Running", "1", "45s"]


def test_terminating_namespace_row() -> None:
    namespace = {"metadata": {"name": "demo", "creationTimestamp": "2026-01-01T09:00:00Z",
                              "deletionTimestamp": "2026-01-01T11:59:00Z"},
                 "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Terminating"}}
    names, print_row = _printer(core.NAMESPACE)
    assert names == ["Status", "Age"]
    assert print_row(namespace, NOW) == ["Terminating", "3h"]


def test_event_row() -> None:
    event = {
        "metadata": {"name": "hello.17a2b3c4d5e6f708", "namespace": "default"},
        "involvedObject": {"kind": "Service", "name": "hello", "namespace": "default",
                           "apiVersion": "serving.knative.dev/v1"},
        "reason": "Created", "message": "Created Configuration \"hello\"\n", "type": "Normal",
        "source": {"component": "service-controller"},
        "firstTimestamp": "2026-01-01T11:58:00Z", "lastTimestamp": "2026-01-01T11:59:30Z", "count": 2,
    }
    names, print_row = _printer(core.EVENT)
    assert names == ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen",
                     "Count", "Name"]
    assert [c.priority for c in core.EVENT.row_printer[0]] == [0, 0, 0, 0, 1, 1, 0, 1, 1, 1]  # type: ignore[index]
    assert print_row(event, NOW) == ["30s", "Normal", "Created", "service/hello", "", "service-controller",
                                     'Created Configuration "hello"', "2m", 2, "hello.17a2b3c4d5e6f708"]


def test_event_row_of_the_events_api() -> None:
    event = {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod"}, "type": "Warning",
             "reason": "BackOff", "eventTime": "2026-01-01T11:59:00Z", "reportingComponent": "kubelet",
             "reportingInstance": "node-1",
             "series": {"count": 7, "lastObservedTime": "2026-01-01T11:59:50Z"}}
    _, print_row = _printer(core.EVENT)
    assert print_row(event, NOW) == ["10s", "Warning", "BackOff", "pod", "", "kubelet, node-1", "", "60s", 7,
                                     "e"]


def test_small_builtin_rows() -> None:
    created = {"creationTimestamp": "2026-01-01T11:59:00Z"}
    config_map = {"metadata": created, "data": {"a": "1"}, "binaryData": {"b": "AA=="}}
    assert _printer(core.CONFIG_MAP)[1](config_map, NOW) == [2, "60s"]
    assert _printer(core.SECRET)[1]({"metadata": created, "type": "Opaque", "data": {"a": "MQ=="}},
                                    NOW) == ["Opaque", 1, "60s"]
    assert _printer(core.SERVICE_ACCOUNT)[1]({"metadata": created}, NOW) == [0, "60s"]
    assert _printer(core.NAMESPACE)[1]({"metadata": {}, "status": {"phase": "Active"}}, NOW) == ["Active",
                                                                                               "<unknown>"]


def test_deployment_row() -> None:
    deployment = {
        "metadata": {"name": "hello-00001-deployment", "creationTimestamp": "2026-01-01T11:00:00Z"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"serving.knative.dev/revision": "hello-00001", "app": "hello"},
                         "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]},
            "template": {"spec": {"containers": [{"name": "user-container", "image": "dev.local/hello"},
                                                 {"name": "queue-proxy", "image": "queue"}]}},
        },
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }
    names, print_row = _printer(core.DEPLOYMENT)
    assert [n.upper() for n in names] == ["READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES",
                                          "SELECTOR"]
    assert print_row(deployment, NOW) == [
        "2/3", 3, 2, "60m", "user-container,queue-proxy", "dev.local/hello,queue",
        "app=hello,serving.knative.dev/revision=hello-00001,tier in (api,web)"]


def test_field_labels() -> None:
    assert "status.phase" in core.POD.selectable_fields()
    assert "involvedObject.uid" in core.EVENT.field_labels
    assert core.SECRET.field_labels == ("type",)
    assert core.NAMESPACE.field_labels == ("status.phase",)


# --- configmaps ---------------------------------------------------------------------------------------


def _configmaps() -> Iterator[dict[str, Any]]:
    yield from default_configmaps()


def test_configmaps_are_valid_objects() -> None:
    schema = core.CONFIG_MAP.preferred.schema
    assert schema is not None
    names = []
    for cm in _configmaps():
        findings = check(schema, copy.deepcopy(cm))
        assert (findings.errors, findings.unknown) == ([], [])
        names.append((cm["metadata"]["namespace"], cm["metadata"]["name"]))
    assert len(set(names)) == len(names)
    assert {n for ns, n in names if ns == "knative-serving"} >= {
        "config-autoscaler", "config-defaults", "config-domain", "config-features", "config-deployment",
        "config-gc", "config-network", "config-observability", "config-logging"}
    assert {n for ns, n in names if ns == "knative-eventing"} >= {
        "config-br-defaults", "config-br-default-channel", "default-ch-webhook", "config-ping-defaults",
        "config-features"}


def _cm(namespace: str, name: str) -> dict[str, Any]:
    return next(cm for cm in _configmaps()
                if (cm["metadata"]["namespace"], cm["metadata"]["name"]) == (namespace, name))


def test_configmap_data_keys() -> None:
    br = yaml.safe_load(_cm("knative-eventing", "config-br-defaults")["data"]["default-br-config"])
    assert br["clusterDefault"]["brokerClass"] == "MTChannelBasedBroker"
    assert br["clusterDefault"]["delivery"] == {"retry": 10, "backoffPolicy": "exponential",
                                                "backoffDelay": "PT0.2S"}
    channel_cm = _cm("knative-eventing", "config-br-default-channel")
    channel = yaml.safe_load(channel_cm["data"]["channel-template-spec"])
    assert channel == {"apiVersion": "messaging.knative.dev/v1", "kind": "InMemoryChannel"}
    ch = yaml.safe_load(_cm("knative-eventing", "default-ch-webhook")["data"]["default-ch-config"])
    assert ch["clusterDefault"]["kind"] == "InMemoryChannel"
    assert _cm("knative-eventing", "config-features")["data"]["delivery-timeout"] == "enabled"
    assert set(_cm("knative-serving", "config-autoscaler")["data"]) == {"_example"}
    assert set(_cm("knative-serving", "config-deployment")["data"]) == {"queue-sidecar-image", "_example"}


def test_configmap_labels_and_checksums() -> None:
    autoscaler = _cm("knative-serving", "config-autoscaler")["metadata"]
    assert autoscaler["labels"]["app.kubernetes.io/component"] == "autoscaler"
    assert autoscaler["labels"]["app.kubernetes.io/name"] == "knative-serving"
    for cm in _configmaps():
        example = cm["data"].get("_example")
        if example is not None:
            assert cm["metadata"]["annotations"]["knative.dev/example-checksum"] == example_checksum(example)
            assert "stable-window" not in example or 'stable-window: "60s"' in example


def test_configmaps_are_fresh_copies() -> None:
    first = default_configmaps()
    first[0]["metadata"]["labels"]["x"] = "y"
    first[-1]["data"]["x"] = "y"
    assert default_configmaps()[0]["metadata"]["labels"].get("x") is None
    assert "x" not in default_configmaps()[-1]["data"]
