"""The Pod object a build run shows (`kubectl get pods`, `kubectl describe pod`, `kubectl logs -c <step>`),
shared by the Knative Build and Tekton controllers (pure).

The steps' containers are listed as a cluster would run them (Knative Build: init containers `build-step-*`
and a `nop` container; Tekton: one container per step), and the status is the kubelet's view of the run:
terminated states from `StepResult`s, the running step, waiting ones, the phase and the pod conditions.

Such pods carry `STEP_POD_ANNOTATION`: the step runner runs them, so the replica kubelet must leave them
alone (`is_step_pod`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..api.printing import format_timestamp
from .steps import Step, StepResult

__all__ = ["STEP_POD_ANNOTATION", "container", "is_step_pod", "pod_status", "step_pod", "terminated_state"]

STEP_POD_ANNOTATION = "jupyter-knative.dev/step-runner"
TIMED_OUT_EXIT_CODE = 137


def is_step_pod(pod: Mapping[str, Any]) -> bool:
    """A pod run by the step runner (a build's), not by the replica kubelet."""
    return STEP_POD_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {})


def container(step: Step, **extra: Any) -> dict[str, Any]:
    """The container a step stands for, as the pod spec lists it."""
    out: dict[str, Any] = {"name": step.name, "image": step.image}
    if step.command:
        out["command"] = list(step.command)
    if step.args:
        out["args"] = list(step.args)
    if step.env:
        out["env"] = [{"name": k, "value": v} for k, v in step.env.items()]
    if step.working_dir:
        out["workingDir"] = step.working_dir
    out.update(extra)
    return out


def step_pod(*, name: str, namespace: str, owner: Mapping[str, Any], init_containers: Sequence[dict[str, Any]],
             containers: Sequence[dict[str, Any]], labels: Mapping[str, str] | None = None,
             annotations: Mapping[str, str] | None = None, service_account: str = "",
             volumes: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """A pod controlled by `owner` (deleted with it), never restarted."""
    meta = owner["metadata"]
    ref = {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"], "uid": meta["uid"],
           "controller": True, "blockOwnerDeletion": True}
    spec: dict[str, Any] = {"restartPolicy": "Never", "containers": [dict(c) for c in containers]}
    if init_containers:
        spec["initContainers"] = [dict(c) for c in init_containers]
    if service_account:
        spec["serviceAccountName"] = service_account
    if volumes:
        spec["volumes"] = [dict(v) for v in volumes]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {}),
                     "annotations": {**(annotations or {}), STEP_POD_ANNOTATION: "true"},
                     "ownerReferences": [ref]},
        "spec": spec,
    }


def terminated_state(result: StepResult, container_id: str) -> dict[str, Any]:
    """A container's `state.terminated` for a step's result."""
    code = TIMED_OUT_EXIT_CODE if result.timed_out and result.exit_code == 0 else result.exit_code
    state: dict[str, Any] = {
        "exitCode": code,
        "reason": "Completed" if result.succeeded else ("Error" if result.timed_out else result.reason),
    }
    if result.message and not result.succeeded:
        state["message"] = result.message
    state.update(startedAt=format_timestamp(result.started_at), finishedAt=format_timestamp(result.finished_at),
                 containerID=container_id)
    return state  # in the order Go writes ContainerStateTerminated


def _status_of(pod: Mapping[str, Any], spec: Mapping[str, Any], results: Mapping[str, StepResult],
               running: Mapping[str, float]) -> dict[str, Any]:
    name = spec.get("name", "")
    cid = f"jupyter-knative://{pod['metadata'].get('uid', '')}/{name}"
    result = results.get(name)
    status: dict[str, Any] = {"name": name, "image": spec.get("image", ""), "imageID": "",
                              "ready": False, "restartCount": 0, "started": False}
    if result is not None:
        status.update(state={"terminated": terminated_state(result, cid)}, imageID=result.image_id,
                      containerID=cid)
    elif name in running:
        status.update(state={"running": {"startedAt": format_timestamp(running[name])}}, started=True,
                      ready=True, containerID=cid)
    else:
        status["state"] = {"waiting": {"reason": "PodInitializing"}}
    status["lastState"] = {}
    return status


def _phase(inits: list[dict[str, Any]], mains: list[dict[str, Any]], results: Mapping[str, StepResult],
           failed: bool) -> str:
    if failed or any(not r.succeeded for r in results.values()):
        return "Failed"
    if all(c.get("name") in results for c in inits + mains):
        return "Succeeded"
    if any(c.get("name") not in results for c in inits):
        return "Pending"
    return "Running"


def _condition(type_: str, ok: bool, now: float, old: Mapping[str, dict[str, Any]], reason: str = "",
               message: str = "") -> dict[str, Any]:
    status = "True" if ok else "False"
    prev = old.get(type_) or {}
    cond: dict[str, Any] = {"type": type_, "status": status, "lastProbeTime": None,
                            "lastTransitionTime": prev.get("lastTransitionTime") if prev.get("status") == status
                            else format_timestamp(now)}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def pod_status(pod: Mapping[str, Any], *, results: Mapping[str, StepResult], running: Mapping[str, float],
               now: float, failed: bool = False, reason: str = "", message: str = "") -> dict[str, Any]:
    """The pod's status: `results` of the steps that ended, `running` (container → start time) of those
    running; `failed` with `reason`/`message` when the run was stopped as a whole (a timeout, a restart)."""
    spec = pod.get("spec") or {}
    inits, mains = list(spec.get("initContainers") or []), list(spec.get("containers") or [])
    old = pod.get("status") or {}
    phase = _phase(inits, mains, results, failed)
    incomplete = [c.get("name", "") for c in inits if c.get("name") not in results or
                  not results[c.get("name", "")].succeeded]
    not_ready = [c.get("name", "") for c in mains if c.get("name") not in running]
    done = phase in ("Succeeded", "Failed")
    old_conditions = {c.get("type", ""): c for c in old.get("conditions") or []}
    ready_reason = "PodCompleted" if done else "ContainersNotReady"
    ready_message = "" if done else f"containers with unready status: [{' '.join(not_ready)}]"
    conditions = [
        _condition("PodReadyToStartContainers", not done, now, old_conditions),
        _condition("Initialized", not incomplete, now, old_conditions,
                   *(("", "") if not incomplete else
                     ("ContainersNotInitialized", f"containers with incomplete status: [{' '.join(incomplete)}]"))),
        _condition("Ready", not not_ready and not done, now, old_conditions,
                   *(("", "") if not_ready == [] and not done else (ready_reason, ready_message))),
        _condition("ContainersReady", not not_ready and not done, now, old_conditions,
                   *(("", "") if not_ready == [] and not done else (ready_reason, ready_message))),
        _condition("PodScheduled", True, now, old_conditions),
    ]
    status: dict[str, Any] = {
        "phase": phase, "conditions": conditions, "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
        "podIP": "127.0.0.1", "podIPs": [{"ip": "127.0.0.1"}],
        "startTime": old.get("startTime") or format_timestamp(now),
        "qosClass": "BestEffort",
    }
    if inits:
        status["initContainerStatuses"] = [_status_of(pod, c, results, running) for c in inits]
    status["containerStatuses"] = [_status_of(pod, c, results, running) for c in mains]
    if reason:
        status["reason"] = reason
    if message:
        status["message"] = message
    return status
