"""Build kinds: the seed-era Knative Build (build.knative.dev/v1alpha1) and its successor, Tekton's
Task/TaskRun and Pipeline/PipelineRun.

Build, BuildTemplate and ClusterBuildTemplate are declared as knative/build's last CRDs declared them (no
schema there: the one here follows its Go types). The Tekton kinds follow Tekton's CRDs: v1 stored and
preferred, v1beta1 still served (its steps and sidecars carry the older container fields). Converting between
versions is `api/build/tekton_conversion.py`'s job (for Tekton; admission is `api/build/tekton.py`).
"""

from __future__ import annotations

from ..build.knative import admit_build, admit_build_template
from ..build.tekton import admit_pipeline, admit_pipeline_run, admit_task, admit_task_run
from ..build.tekton_conversion import convert as convert_tekton
from ..registry import PrinterColumn, ResourceType, Version
from ..schema import Schema, any_value, arr, boolean, free_object, integer, map_of, obj, string
from .meta import (
    column,
    container,
    container_ports,
    env_from_source,
    env_var,
    lifecycle,
    probe,
    ready_reason,
    resource_requirements,
    root,
    security_context,
    strings,
    volume,
    volume_device,
    volume_mount,
)

BUILD = "build.knative.dev"
TEKTON = "tekton.dev"

_SUCCEEDED = ready_reason(of="Succeeded")
_RUN_COLUMNS: tuple[PrinterColumn, ...] = (
    *_SUCCEEDED,
    column("StartTime", ".status.startTime", "date"),
    column("CompletionTime", ".status.completionTime", "date"),
)

# --- build.knative.dev/v1alpha1 -----------------------------------------------------------------------


def _steps() -> Schema:
    return arr(container())


def _build_volumes() -> Schema:
    return arr(volume())


def _source() -> Schema:
    return obj({
        "name": string(),
        "git": obj({"url": string(), "revision": string()}),
        "gcs": obj({"type": string(), "location": string()}),
        "custom": container(),
        "subPath": string(),
        "targetPath": string(),
    })


_BUILD = root(
    spec=obj({
        "generation": integer(),
        "source": _source(),
        "sources": arr(_source()),
        "steps": _steps(),
        "volumes": _build_volumes(),
        "serviceAccountName": string(),
        "template": obj({
            "name": string(),
            "kind": string(),
            "arguments": arr(obj({"name": string(), "value": string()}, required=("name",))),
            "env": arr(env_var()),
        }),
        "nodeSelector": map_of(string()),
        "affinity": free_object(),
        "timeout": string(),
        "status": string(),
    }),
    status=free_object(),
)

_TEMPLATE = root(
    spec=obj({
        "generation": integer(),
        "parameters": arr(obj({"name": string(), "description": string(), "default": string()},
                              required=("name",))),
        "steps": _steps(),
        "volumes": _build_volumes(),
    }),
    status=free_object(),
)

BUILD_TYPE = ResourceType(
    BUILD, "Build", "builds", (Version("v1alpha1", _BUILD, _RUN_COLUMNS),), categories=("all", "knative"),
    admission=admit_build)

BUILD_TEMPLATE = ResourceType(
    BUILD, "BuildTemplate", "buildtemplates", (Version("v1alpha1", _TEMPLATE),),
    categories=("all", "knative"), admission=admit_build_template)

CLUSTER_BUILD_TEMPLATE = ResourceType(
    BUILD, "ClusterBuildTemplate", "clusterbuildtemplates", (Version("v1alpha1", _TEMPLATE),),
    namespaced=False, categories=("all", "knative"), admission=admit_build_template)

# --- tekton.dev ---------------------------------------------------------------------------------------


def _param_value() -> Schema:
    """A parameter value: a string, an array of strings or an object of strings."""
    return any_value()


def _property_types() -> Schema:
    return map_of(obj({"type": string()}))


def _params() -> Schema:
    return arr(obj({"name": string(), "value": _param_value()}, required=("name", "value")),
               list_type="atomic")


def _param_specs() -> Schema:
    return arr(obj({
        "name": string(), "type": string(), "description": string(), "default": _param_value(),
        "enum": arr(string()), "properties": _property_types(),
    }, required=("name",)), list_type="atomic")


def _result_specs(*, value: bool) -> Schema:
    props = {"name": string(), "type": string(), "description": string(), "properties": _property_types()}
    if value:
        props["value"] = any_value()
    return arr(obj(props, required=("name",)), list_type="atomic")


def _env() -> Schema:
    return arr(env_var(), list_type="atomic")


def _container_common(*, v1: bool) -> dict[str, Schema]:
    """Fields every Tekton step, sidecar and step template has."""
    return {
        "image": string(),
        "command": strings(),
        "args": strings(),
        "workingDir": string(),
        "env": _env(),
        "envFrom": arr(env_from_source(), list_type="atomic"),
        ("computeResources" if v1 else "resources"): resource_requirements(),
        "volumeMounts": arr(volume_mount(), list_type="atomic"),
        "volumeDevices": arr(volume_device(), list_type="atomic"),
        "imagePullPolicy": string(),
        "securityContext": security_context(),
    }


def _legacy_container_fields() -> dict[str, Schema]:
    """Container fields v1beta1 steps still carry (dropped from v1 steps)."""
    return {
        "ports": container_ports(), "livenessProbe": probe(), "readinessProbe": probe(),
        "startupProbe": probe(), "lifecycle": lifecycle(), "terminationMessagePath": string(),
        "terminationMessagePolicy": string(), "stdin": boolean(), "stdinOnce": boolean(), "tty": boolean(),
    }


def _step(*, v1: bool) -> Schema:
    props = {
        "name": string(),
        "displayName": string(),
        **_container_common(v1=v1),
        "script": string(),
        "timeout": string(),
        "onError": string(),
        "workspaces": arr(obj({"name": string(), "mountPath": string()}, required=("name", "mountPath")),
                          list_type="atomic"),
        "stdoutConfig": obj({"path": string()}),
        "stderrConfig": obj({"path": string()}),
        "ref": obj({"name": string(), "resolver": string(), "params": _params()}),
        "params": _params(),
        "results": _result_specs(value=False),
        "when": arr(obj({"input": string(), "operator": string(), "values": strings(), "cel": string()})),
    }
    if not v1:
        props.update(_legacy_container_fields())
    return obj(props)


def _sidecar(*, v1: bool) -> Schema:
    return obj({
        "name": string(),
        **_container_common(v1=v1),
        **_legacy_container_fields(),
        "restartPolicy": string(),
        "script": string(),
        "workspaces": arr(obj({"name": string(), "mountPath": string()}, required=("name", "mountPath")),
                          list_type="atomic"),
    })


def _step_template(*, v1: bool) -> Schema:
    props = _container_common(v1=v1)
    if not v1:
        props.update({"name": string(), **_legacy_container_fields()})
    return obj(props)


def _task_spec(*, v1: bool) -> Schema:
    props = {
        "displayName": string(),
        "description": string(),
        "params": _param_specs(),
        "steps": arr(_step(v1=v1), list_type="atomic"),
        "stepTemplate": _step_template(v1=v1),
        "sidecars": arr(_sidecar(v1=v1), list_type="atomic"),
        "volumes": any_value(),
        "workspaces": arr(obj({"name": string(), "description": string(), "mountPath": string(),
                               "readOnly": boolean(), "optional": boolean()}, required=("name",)),
                          list_type="atomic"),
        "results": _result_specs(value=True),
    }
    if not v1:
        resource = obj({"name": string(), "type": string(), "description": string(), "targetPath": string(),
                        "optional": boolean()}, required=("name", "type"))
        props["resources"] = obj({"inputs": arr(resource, list_type="atomic"),
                                  "outputs": arr(resource, list_type="atomic")})
    return obj(props)


def _workspace_binding() -> Schema:
    return obj({
        "name": string(), "subPath": string(), "volumeClaimTemplate": any_value(),
        **{source: free_object() for source in
           ("persistentVolumeClaim", "emptyDir", "configMap", "secret", "projected", "csi")},
    }, required=("name",))


def _task_run_spec(*, v1: bool) -> Schema:
    props = {
        "taskRef": obj({"name": string(), "kind": string(), "apiVersion": string(), "resolver": string(),
                        "params": _params(), **({} if v1 else {"bundle": string()})}),
        "taskSpec": any_value(),
        "params": _params(),
        "serviceAccountName": string(),
        "timeout": string(),
        "retries": integer(),
        "workspaces": arr(_workspace_binding(), list_type="atomic"),
        "podTemplate": free_object(),
        "computeResources": free_object(),
        "debug": free_object(),
        "managedBy": string(),
        "status": string(),
        "statusMessage": string(),
        ("stepSpecs" if v1 else "stepOverrides"): arr(free_object(), list_type="atomic"),
        ("sidecarSpecs" if v1 else "sidecarOverrides"): arr(free_object(), list_type="atomic"),
    }
    if not v1:
        props["resources"] = free_object()
    return obj(props)


def _task(*, v1: bool) -> Schema:
    return root(spec=_task_spec(v1=v1))


def _task_run(*, v1: bool) -> Schema:
    return root(spec=_task_run_spec(v1=v1), status=free_object())


def _ref(*, v1: bool, kind: bool) -> Schema:
    """A taskRef / pipelineRef: a name, or a resolver with params (v1beta1 still has OCI bundles)."""
    props = {"apiVersion": string(), "name": string(), "resolver": string(), "params": _params()}
    if kind:
        props["kind"] = string()
    if not v1:
        props["bundle"] = string()
    return obj(props)


def _pipeline_task(*, v1: bool) -> Schema:
    props = {
        "name": string(),
        "displayName": string(),
        "description": string(),
        "taskRef": _ref(v1=v1, kind=True),
        "taskSpec": any_value(),
        "pipelineRef": _ref(v1=v1, kind=False),
        "pipelineSpec": any_value(),
        "params": _params(),
        "matrix": obj({"params": _params(),
                       "include": arr(obj({"name": string(), "params": _params()}), list_type="atomic")}),
        "runAfter": strings(),
        "retries": integer(),
        "timeout": string(),
        "onError": string(),
        "when": arr(obj({"input": string(), "operator": string(), "values": strings(), "cel": string()})),
        "workspaces": arr(obj({"name": string(), "workspace": string(), "subPath": string()}, required=("name",)),
                          list_type="atomic"),
    }
    if not v1:
        binding = {"name": string(), "resource": string()}
        props["resources"] = obj({
            "inputs": arr(obj({**binding, "from": strings()}, required=("name", "resource")), list_type="atomic"),
            "outputs": arr(obj(binding, required=("name", "resource")), list_type="atomic"),
        })
    return obj(props)


def _pipeline_spec(*, v1: bool) -> Schema:
    props = {
        "displayName": string(),
        "description": string(),
        "params": _param_specs(),
        "tasks": arr(_pipeline_task(v1=v1), list_type="atomic"),
        "finally": arr(_pipeline_task(v1=v1), list_type="atomic"),
        "workspaces": arr(obj({"name": string(), "description": string(), "optional": boolean()},
                              required=("name",)), list_type="atomic"),
        "results": arr(obj({"name": string(), "type": string(), "description": string(), "value": any_value()},
                           required=("name", "value")), list_type="atomic"),
    }
    if not v1:
        props["resources"] = arr(obj({"name": string(), "type": string(), "optional": boolean()},
                                     required=("name", "type")), list_type="atomic")
    return obj(props)


def _task_run_specs(*, v1: bool) -> Schema:
    """Per pipeline task overrides of the TaskRuns a PipelineRun creates."""
    props = {
        "pipelineTaskName": string(),
        "timeout": string(),
        "computeResources": free_object(),
        "metadata": obj({"labels": map_of(string()), "annotations": map_of(string())}),
    }
    if v1:
        props.update({"serviceAccountName": string(), "podTemplate": free_object(),
                      "stepSpecs": arr(free_object(), list_type="atomic"),
                      "sidecarSpecs": arr(free_object(), list_type="atomic")})
    else:
        props.update({"taskServiceAccountName": string(), "taskPodTemplate": free_object(),
                      "stepOverrides": arr(free_object(), list_type="atomic"),
                      "sidecarOverrides": arr(free_object(), list_type="atomic")})
    return arr(obj(props), list_type="atomic")


def _pipeline_run_spec(*, v1: bool) -> Schema:
    props = {
        "pipelineRef": _ref(v1=v1, kind=False),
        "pipelineSpec": any_value(),
        "params": _params(),
        "status": string(),
        "managedBy": string(),
        "timeouts": obj({"pipeline": string(), "tasks": string(), "finally": string()}),
        "workspaces": arr(_workspace_binding(), list_type="atomic"),
        "taskRunSpecs": _task_run_specs(v1=v1),
    }
    if v1:
        props["taskRunTemplate"] = obj({"serviceAccountName": string(), "podTemplate": free_object()})
    else:
        props.update({"serviceAccountName": string(), "podTemplate": free_object(), "timeout": string(),
                      "resources": arr(free_object(), list_type="atomic")})
    return obj(props)


def _pipeline(*, v1: bool) -> Schema:
    return root(spec=_pipeline_spec(v1=v1))


def _pipeline_run(*, v1: bool) -> Schema:
    return root(spec=_pipeline_run_spec(v1=v1), status=free_object())


_TEKTON_CATEGORIES = ("tekton", "tekton-pipelines")

TASK = ResourceType(
    TEKTON, "Task", "tasks", (Version("v1", _task(v1=True)), Version("v1beta1", _task(v1=False))),
    storage_version="v1", categories=_TEKTON_CATEGORIES, admission=admit_task,
    converter=convert_tekton)

TASK_RUN = ResourceType(
    TEKTON, "TaskRun", "taskruns",
    (Version("v1", _task_run(v1=True), _RUN_COLUMNS), Version("v1beta1", _task_run(v1=False), _RUN_COLUMNS)),
    storage_version="v1", short_names=("tr", "trs"), categories=_TEKTON_CATEGORIES, admission=admit_task_run,
    converter=convert_tekton)

BUILD_TYPES = (BUILD_TYPE, BUILD_TEMPLATE, CLUSTER_BUILD_TEMPLATE)
PIPELINE = ResourceType(
    TEKTON, "Pipeline", "pipelines", (Version("v1", _pipeline(v1=True)), Version("v1beta1", _pipeline(v1=False))),
    storage_version="v1", categories=_TEKTON_CATEGORIES, admission=admit_pipeline,
    converter=convert_tekton)

PIPELINE_RUN = ResourceType(
    TEKTON, "PipelineRun", "pipelineruns",
    (Version("v1", _pipeline_run(v1=True), _RUN_COLUMNS), Version("v1beta1", _pipeline_run(v1=False), _RUN_COLUMNS)),
    storage_version="v1", short_names=("pr", "prs"), categories=_TEKTON_CATEGORIES,
    admission=admit_pipeline_run, converter=convert_tekton)

TEKTON_TYPES = (TASK, TASK_RUN, PIPELINE, PIPELINE_RUN)
