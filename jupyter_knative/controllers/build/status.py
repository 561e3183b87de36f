"""A Knative Build's status from its pod (pure), as knative/build's `BuildStatusFromPod` wrote it.

    builder: Cluster, cluster: {namespace, podName}, startTime, completionTime,
    stepStates (every init container's state), stepsCompleted (the terminated ones, by name),
    conditions: [Succeeded]

The Succeeded condition follows the pod's phase: Pending → Unknown/`Pending` with the waiting message;
Running → Unknown/`Building`; Succeeded → True; Failed → False with `build step "<name>" exited with code
<n> (image: "<imageID>"); for logs run: kubectl -n <ns> logs <pod> -c <name>` (no reason, as v0.7), or
`BuildTimeout` when the pod was stopped at the build's deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...api.printing import format_timestamp

CLUSTER = "Cluster"
SUCCEEDED = "Succeeded"
TIMED_OUT_REASON = "DeadlineExceeded"  # the pod's status.reason when the run hit the build's timeout
INTERRUPTED_REASON = "BuildInterrupted"

_Obj = dict[str, Any]


def condition(status: str, reason: str = "", message: str = "", *, now: float,
              old: Mapping[str, Any] | None = None) -> _Obj:
    cond: _Obj = {"type": SUCCEEDED, "status": status}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    prev = next((c for c in (old or {}).get("conditions") or [] if c.get("type") == SUCCEEDED), None)
    same = prev is not None and prev.get("status") == status and prev.get("lastTransitionTime")
    cond["lastTransitionTime"] = prev["lastTransitionTime"] if same and prev else format_timestamp(now)
    return cond


def succeeded(build: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next((c for c in (build.get("status") or {}).get("conditions") or [] if c.get("type") == SUCCEEDED),
                None)


def is_done(build: Mapping[str, Any]) -> bool:
    cond = succeeded(build)
    return cond is not None and cond.get("status") in ("True", "False")


def waiting_message(pod: Mapping[str, Any]) -> str:
    status = pod.get("status") or {}
    for cs in status.get("initContainerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("message"):
            return f'build step "{cs.get("name")}" is pending with reason "{waiting["message"]}"'
    for cond in status.get("conditions") or []:
        if cond.get("status") != "True":
            return (f'pod status "{cond.get("type")}":"{cond.get("status")}"; '
                    f'message: "{cond.get("message", "")}"')
    return status.get("message") or "Pending"


def failure_message(pod: Mapping[str, Any]) -> str:
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    for cs in status.get("initContainerStatuses") or []:
        term = (cs.get("state") or {}).get("terminated") or {}
        if term and term.get("exitCode", 0) != 0:
            return (f'build step "{cs.get("name")}" exited with code {term["exitCode"]} (image: '
                    f'"{cs.get("imageID", "")}"); for logs run: kubectl -n {meta.get("namespace")} logs '
                    f'{meta.get("name")} -c {cs.get("name")}')
    return status.get("message") or "build failed for unspecified reasons."


def _completion(pod: Mapping[str, Any], now: float) -> str:
    finished = [str(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt") or "")
                for key in ("initContainerStatuses", "containerStatuses")
                for cs in (pod.get("status") or {}).get(key) or []]
    return max((f for f in finished if f), default=format_timestamp(now))


def from_pod(build: Mapping[str, Any], pod: Mapping[str, Any], *, timeout: str, now: float) -> _Obj:
    meta, pstatus = pod.get("metadata") or {}, pod.get("status") or {}
    old = build.get("status") or {}
    status: _Obj = {
        "builder": CLUSTER,
        "cluster": {"namespace": meta.get("namespace", ""), "podName": meta.get("name", "")},
        "startTime": old.get("startTime") or meta.get("creationTimestamp") or format_timestamp(now),
    }
    states, completed = [], []
    for cs in pstatus.get("initContainerStatuses") or []:
        state = cs.get("state") or {}
        if "terminated" in state:
            completed.append(cs.get("name", ""))
        states.append(state)
    phase = pstatus.get("phase") or "Pending"
    if phase == "Running":
        cond = condition("Unknown", "Building", now=now, old=old)
    elif phase == "Succeeded":
        cond = condition("True", now=now, old=old)
    elif phase == "Failed" and pstatus.get("reason") == TIMED_OUT_REASON:
        name = (build.get("metadata") or {}).get("name", "")
        cond = condition("False", "BuildTimeout", f'Build "{name}" failed to finish within "{timeout}"', now=now,
                         old=old)
    elif phase == "Failed":
        reason = INTERRUPTED_REASON if pstatus.get("reason") == INTERRUPTED_REASON else ""
        cond = condition("False", reason, failure_message(pod), now=now, old=old)
    else:
        cond = condition("Unknown", "Pending", waiting_message(pod), now=now, old=old)
    if phase in ("Succeeded", "Failed"):
        status["completionTime"] = _completion(pod, now)
    if states:
        status["stepStates"] = states
    status["conditions"] = [cond]
    status["stepsCompleted"] = completed
    return status


def failed(build: Mapping[str, Any], reason: str, message: str, *, now: float, pod_name: str = "") -> _Obj:
    """A build that ends without running (or finishing) its pod. Without a pod (validation failed) the status
    is replaced, as knative/build did: `cluster.podName` empty and the condition; otherwise (cancelled, pod
    deleted) the status keeps what it had and completes."""
    old = dict(build.get("status") or {})
    cond = [condition("False", reason, message, now=now, old=old)]
    if not pod_name:
        return {"cluster": {"podName": ""}, "conditions": cond, "stepsCompleted": []}
    return {**old, "builder": old.get("builder") or CLUSTER, "conditions": cond,
            "completionTime": old.get("completionTime") or format_timestamp(now),
            "stepsCompleted": old.get("stepsCompleted") or []}
