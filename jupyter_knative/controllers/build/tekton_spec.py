"""What a TaskRun will run (pure): its params checked against the task's, every variable substituted, and the
steps, results and workspaces laid out as the step runner needs them.

    $(params.<name>) / [*] / [i]       the TaskRun's value, else the param's default
    $(results.<name>.path)             /tekton/results/<name>
    $(workspaces.<name>.path)          the workspace's mount path (/workspace/<name> unless declared)
    $(workspaces.<name>.bound)         "true" / "false"
    $(context.taskRun.name|namespace|uid), $(context.task.name|retry-count)
    $(steps.step-<name>.exitCode.path) /tekton/steps/step-<name>/exitCode
    $(credentials.path)                /tekton/creds

Steps inherit the stepTemplate's fields they do not set (env merged by name), as Tekton merges them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...api.build import tekton_vars as tv
from ...build.steps import Step

__all__ = [
    "RESULTS_DIR",
    "ResolveError",
    "StepPlan",
    "TaskPlan",
    "WorkspacePlan",
    "container_name",
    "plan_task_run",
]

RESULTS_DIR = "/tekton/results"
STEPS_DIR = "/tekton/steps"
CREDS_DIR = "/tekton/creds"
WORKSPACE_ROOT = "/workspace"
VALIDATION_FAILED = "TaskRunValidationFailed"
_Obj = dict[str, Any]


class ResolveError(Exception):
    """The TaskRun cannot run as written: it fails with this reason and message."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class StepPlan:
    name: str  # the step's name in the Task (generated `unnamed-<i>` when it has none)
    step: Step  # the container (`step-<name>`) with every variable substituted
    on_error: str = ""


@dataclass(frozen=True)
class WorkspacePlan:
    name: str
    mount_path: str
    binding: _Obj  # the TaskRun's binding (emptyDir, configMap, secret, ...), {} when unbound


@dataclass(frozen=True)
class TaskPlan:
    task_name: str
    spec: _Obj  # the task spec the run uses (status.taskSpec)
    steps: tuple[StepPlan, ...]
    results: tuple[_Obj, ...]  # the declared results
    workspaces: tuple[WorkspacePlan, ...] = field(default=())


def container_name(step_name: str) -> str:
    return f"step-{step_name}"


def _merge_template(template: Mapping[str, Any] | None, step: _Obj) -> _Obj:
    if not template:
        return copy.deepcopy(step)
    merged = copy.deepcopy(dict(template))
    env = {e.get("name"): e for e in merged.pop("env", None) or []}
    env.update({e.get("name"): e for e in step.get("env") or []})
    merged.update(copy.deepcopy(step))
    if env:
        merged["env"] = list(env.values())
    return merged


def _param_values(specs: list[_Obj], params: list[_Obj], task_name: str) -> dict[str, Any]:
    given = {str(p.get("name")): p.get("value") for p in params}
    values: dict[str, Any] = {}
    missing, mismatched = [], []
    for spec in specs:
        name = str(spec.get("name"))
        value = given.get(name, spec.get("default"))
        if value is None:
            missing.append(name)
            continue
        type_ = spec.get("type") or "string"
        if (type_ == "array") != isinstance(value, list) or (type_ == "object") != isinstance(value, dict):
            mismatched.append(name)
        values[name] = value
    if missing:
        raise ResolveError(VALIDATION_FAILED, f"invalid input params for task {task_name}: missing values for "
                                              f"these params which have no default values: [{' '.join(missing)}]")
    if mismatched:
        raise ResolveError(VALIDATION_FAILED, f"invalid input params for task {task_name}: param types don't "
                                              f"match the user-specified type: [{' '.join(mismatched)}]")
    # Params the TaskRun passes but the task does not declare are still substituted (propagated params).
    return {**{k: v for k, v in given.items() if v is not None}, **values}


def param_replacements(values: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """`$(params.…)` substitutions for these values: strings, arrays (`[*]` and by index) and object keys."""
    strings: dict[str, str] = {}
    arrays: dict[str, list[str]] = {}
    for name, value in values.items():
        if isinstance(value, list):
            s, a = tv.array_replacements("params", name, [str(v) for v in value])
            strings.update(s)
            arrays.update(a)
        elif isinstance(value, dict):
            for key, item in value.items():
                strings.update(dict.fromkeys(tv.keys("params", f"{name}.{key}"), str(item)))
        else:
            strings.update(dict.fromkeys(tv.keys("params", name), str(value)))
    return strings, arrays


def _context(task_run: _Obj, task_name: str) -> dict[str, str]:
    meta = task_run.get("metadata") or {}
    return {"context.taskRun.name": str(meta.get("name", "")),
            "context.taskRun.namespace": str(meta.get("namespace", "")),
            "context.taskRun.uid": str(meta.get("uid", "")),
            "context.task.name": task_name, "context.task.retry-count": "0",
            "credentials.path": CREDS_DIR}


def _workspaces(spec: _Obj, task_run: _Obj) -> tuple[tuple[WorkspacePlan, ...], dict[str, str]]:
    bindings = {str(b.get("name")): b for b in (task_run.get("spec") or {}).get("workspaces") or []}
    plans, strings = [], {}
    for declared in spec.get("workspaces") or []:
        name = str(declared.get("name"))
        path = str(declared.get("mountPath") or f"{WORKSPACE_ROOT}/{name}")
        binding = dict(bindings.get(name) or {})
        if not binding and not declared.get("optional"):
            raise ResolveError(VALIDATION_FAILED, f"declared workspace {tv_quote(name)} is required but has not "
                                                  "been bound")
        if binding.get("subPath"):
            path = path.rstrip("/")
        plans.append(WorkspacePlan(name, path, binding))
        strings.update(dict.fromkeys(tv.keys("workspaces", name, ".path"), path if binding else ""))
        strings.update(dict.fromkeys(tv.keys("workspaces", name, ".bound"), "true" if binding else "false"))
        strings.update(dict.fromkeys(tv.keys("workspaces", name, ".claim"),
                                     str((binding.get("persistentVolumeClaim") or {}).get("claimName", ""))))
        strings.update(dict.fromkeys(tv.keys("workspaces", name, ".volume"), f"ws-{name}"))
    return tuple(plans), strings


def tv_quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def _substitute_step(step: _Obj, strings: Mapping[str, str], arrays: Mapping[str, list[str]]) -> Step:
    def one(text: Any) -> str:
        return tv.apply(str(text), strings)

    def many(items: Any) -> list[str]:
        return [out for item in items or [] for out in tv.apply_array(str(item), strings, arrays)]

    env = {str(e.get("name")): one(e.get("value") or "") for e in step.get("env") or [] if "valueFrom" not in e}
    script = step.get("script")
    return Step(name=container_name(str(step["name"])), image=one(step.get("image") or ""),
                command=many(step.get("command")), args=many(step.get("args")),
                script=one(script) if script else None, env=env,
                working_dir=one(step["workingDir"]) if step.get("workingDir") else None)


def plan_task_run(task_run: _Obj, spec: _Obj, task_name: str = "") -> TaskPlan:
    """The run of `task_run` with the task spec `spec` (from its taskRef, or its own taskSpec)."""
    run_spec = task_run.get("spec") or {}
    values = _param_values(list(spec.get("params") or []), list(run_spec.get("params") or []), task_name)
    strings, arrays = param_replacements(values)
    strings.update(_context(task_run, task_name))
    workspaces, ws_strings = _workspaces(spec, task_run)
    strings.update(ws_strings)
    results = tuple(copy.deepcopy(r) for r in spec.get("results") or [])
    for r in results:
        strings.update(dict.fromkeys(tv.keys("results", str(r.get("name")), ".path"),
                                     f"{RESULTS_DIR}/{r.get('name')}"))
    raw_steps = [_merge_template(spec.get("stepTemplate"), s) for s in spec.get("steps") or []]
    for i, s in enumerate(raw_steps):
        s["name"] = s.get("name") or f"unnamed-{i}"
        strings.update(dict.fromkeys(tv.keys("steps", container_name(s["name"]), ".exitCode.path"),
                                     f"{STEPS_DIR}/{container_name(s['name'])}/exitCode"))
    steps = tuple(StepPlan(str(s["name"]), _substitute_step(s, strings, arrays), str(s.get("onError") or ""))
                  for s in raw_steps)
    return TaskPlan(task_name, copy.deepcopy(spec), steps, results, workspaces)
