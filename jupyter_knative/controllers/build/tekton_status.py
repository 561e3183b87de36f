"""A TaskRun's status as Tekton writes it (pure): the `Succeeded` condition, `steps[]` from the step
runner's results, and `results[]` from the files the steps wrote.

    Pending   "Pending"                                          before the first step starts
    Running   "Not all Steps in the Task have finished executing"
    Succeeded "All Steps have completed executing"
    Failed    "\"step-<name>\" exited with code <n>"            the first failing step
    TaskRunTimeout  "TaskRun \"<name>\" failed to finish within \"<timeout>\""
    TaskRunCancelled "TaskRun \"<name>\" was cancelled. <statusMessage>"

Steps after a failure do not run: their state is terminated with exit code 1 and `terminationReason:
Skipped`, as Tekton's entrypoint leaves them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ...api.printing import format_timestamp
from ...build.pods import terminated_state
from ...build.steps import StepResult
from .tekton_spec import StepPlan

__all__ = [
    "CANCELLED",
    "FAILED",
    "PENDING",
    "RUNNING",
    "SUCCEEDED",
    "TIMED_OUT",
    "failure_message",
    "result_entries",
    "set_condition",
    "step_states",
]

PENDING, RUNNING, SUCCEEDED, FAILED = "Pending", "Running", "Succeeded", "Failed"
TIMED_OUT, CANCELLED = "TaskRunTimeout", "TaskRunCancelled"
RUNNING_MESSAGE = "Not all Steps in the Task have finished executing"
SUCCEEDED_MESSAGE = "All Steps have completed executing"
SKIPPED = "Skipped"
_Obj = dict[str, Any]


def set_condition(status: _Obj, state: str, reason: str, message: str, now: float) -> None:
    """The `Succeeded` condition (its transition time kept while its status stays the same)."""
    old: _Obj = next((c for c in status.get("conditions") or [] if c.get("type") == "Succeeded"), {})
    when = old.get("lastTransitionTime") if old.get("status") == state and old.get("lastTransitionTime") \
        else format_timestamp(now)
    cond = {"type": "Succeeded", "status": state, "reason": reason, "message": message, "lastTransitionTime": when}
    status["conditions"] = [cond, *(c for c in status.get("conditions") or [] if c.get("type") != "Succeeded")]


def failure_message(steps: Sequence[StepPlan], results: Mapping[str, StepResult], skipped: set[str]) -> str:
    for plan in steps:
        result = results.get(plan.step.name)
        if result is not None and plan.step.name not in skipped and result.exit_code != 0 \
                and plan.on_error != "continue":
            return f'"{plan.step.name}" exited with code {result.exit_code}'
    return "build failed for unspecified reasons."


def step_states(steps: Sequence[StepPlan], results: Mapping[str, StepResult], running: Mapping[str, float],
                skipped: set[str], pod_uid: str, timeout: tuple[str, str] | None = None) -> list[_Obj]:
    """`status.steps`: terminated, running or waiting per step; `timeout` (reason, message) marks the step
    the deadline stopped and those that never ran, as Tekton marks them when it stops a timed-out pod."""
    out = []
    for plan in steps:
        name = plan.step.name
        state: _Obj = {"name": plan.name, "container": name}
        result = results.get(name)
        if result is not None:
            terminated = terminated_state(result, f"jupyter-knative://{pod_uid}/{name}")
            state["imageID"] = result.image_id
            if name in skipped and timeout is not None:
                terminated.update(reason=timeout[0], message=timeout[1])
                terminated.pop("containerID", None)
            elif name in skipped:
                state["terminationReason"] = SKIPPED
                terminated.pop("containerID", None)
            elif result.timed_out and timeout is not None:
                terminated.update(reason=timeout[0], message=timeout[1])
                state["terminationReason"] = "TimeoutExceeded"
            else:
                state["terminationReason"] = terminated["reason"]
            state["terminated"] = terminated
        elif name in running:
            state["running"] = {"startedAt": format_timestamp(running[name])}
        else:
            state["waiting"] = {"reason": "PodInitializing"}
        out.append(state)
    return out


def result_entries(declared: Sequence[Mapping[str, Any]], written: Mapping[str, str]) -> list[_Obj]:
    """`status.results` for the declared results a step wrote (a value as written; arrays and objects
    parsed from JSON, kept as text when they do not parse)."""
    out = []
    for spec in declared:
        name = str(spec.get("name"))
        if name not in written:
            continue
        type_ = str(spec.get("type") or "string")
        value: Any = written[name]
        if type_ in ("array", "object"):
            try:
                value = json.loads(value)
            except ValueError:
                type_ = "string"
        out.append({"name": name, "type": type_, "value": value})
    return out
