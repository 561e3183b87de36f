"""Converting Tekton objects between v1 (stored) and v1beta1 (still served), for the fields the two spell
differently (Tekton's conversion webhook, the common fields):

    steps, stepTemplate, sidecars   computeResources (v1)       <-> resources (v1beta1)
    TaskRun spec                    stepSpecs / sidecarSpecs    <-> stepOverrides / sidecarOverrides
    TaskRun status                  results                     <-> taskResults
    PipelineRun spec                taskRunTemplate.serviceAccountName / podTemplate
                                                                <-> serviceAccountName / podTemplate
                                    taskRunSpecs[].serviceAccountName / podTemplate / stepSpecs / sidecarSpecs
                                                                <-> taskServiceAccountName / taskPodTemplate /
                                                                    stepOverrides / sidecarOverrides
    PipelineRun status              results                     <-> pipelineResults

The object passed in is not changed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["convert"]

_Obj = dict[str, Any]
V1, V1BETA1 = "tekton.dev/v1", "tekton.dev/v1beta1"
_RUN_SPEC = {"stepSpecs": "stepOverrides", "sidecarSpecs": "sidecarOverrides"}
_RUN_SPECS = {"serviceAccountName": "taskServiceAccountName", "podTemplate": "taskPodTemplate", **_RUN_SPEC}


def _rename(obj: Any, names: Mapping[str, str]) -> None:
    if isinstance(obj, dict):
        for old, new in names.items():
            if old in obj:
                obj[new] = obj.pop(old)


def _containers(spec: Any, names: Mapping[str, str]) -> None:
    if not isinstance(spec, dict):
        return
    for item in [*(spec.get("steps") or []), *(spec.get("sidecars") or []), spec.get("stepTemplate")]:
        _rename(item, names)


def _pipeline_spec(spec: Any, names: Mapping[str, str]) -> None:
    if isinstance(spec, dict):
        for task in [*(spec.get("tasks") or []), *(spec.get("finally") or [])]:
            _containers(task.get("taskSpec"), names)


def _to_beta(obj: _Obj) -> None:
    kind, spec, status = obj.get("kind"), obj.get("spec") or {}, obj.get("status") or {}
    res = {"computeResources": "resources"}
    if kind == "Task":
        _containers(spec, res)
    elif kind == "Pipeline":
        _pipeline_spec(spec, res)
    elif kind == "TaskRun":
        _containers(spec.get("taskSpec"), res)
        _containers(status.get("taskSpec"), res)
        _rename(spec, _RUN_SPEC)
        _rename(status, {"results": "taskResults"})
    elif kind == "PipelineRun":
        _pipeline_spec(spec.get("pipelineSpec"), res)
        _pipeline_spec(status.get("pipelineSpec"), res)
        template = spec.pop("taskRunTemplate", None) or {}
        spec.update({k: template[k] for k in ("serviceAccountName", "podTemplate") if k in template})
        for item in spec.get("taskRunSpecs") or []:
            _rename(item, _RUN_SPECS)
        _rename(status, {"results": "pipelineResults"})


def _to_v1(obj: _Obj) -> None:
    kind, spec, status = obj.get("kind"), obj.get("spec") or {}, obj.get("status") or {}
    res = {"resources": "computeResources"}
    if kind == "Task":
        _containers(spec, res)
    elif kind == "Pipeline":
        _pipeline_spec(spec, res)
    elif kind == "TaskRun":
        _containers(spec.get("taskSpec"), res)
        _containers(status.get("taskSpec"), res)
        _rename(spec, {v: k for k, v in _RUN_SPEC.items()})
        _rename(status, {"taskResults": "results"})
    elif kind == "PipelineRun":
        _pipeline_spec(spec.get("pipelineSpec"), res)
        _pipeline_spec(status.get("pipelineSpec"), res)
        template = {k: spec.pop(k) for k in ("serviceAccountName", "podTemplate") if k in spec}
        if template:
            spec["taskRunTemplate"] = {**(spec.get("taskRunTemplate") or {}), **template}
        for item in spec.get("taskRunSpecs") or []:
            _rename(item, {v: k for k, v in _RUN_SPECS.items()})
        _rename(status, {"pipelineResults": "results"})


def convert(obj: dict[str, Any], api_version: str) -> dict[str, Any]:
    """`obj` as `api_version` (tekton.dev/v1 or tekton.dev/v1beta1)."""
    if obj.get("apiVersion") == api_version:
        return obj
    out = copy.deepcopy(obj)
    if api_version == V1BETA1:
        _to_beta(out)
    elif api_version == V1:
        _to_v1(out)
    out["apiVersion"] = api_version
    return out
