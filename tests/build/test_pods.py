"""The Pod object a build run shows (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.build import Step, StepResult, container, is_step_pod, pod_status, step_pod

NOW = 1_800_000_000.0
OWNER = {"apiVersion": "build.knative.dev/v1alpha1", "kind": "Build", "metadata": {"name": "b", "uid": "u-1"}}


def pod(*, inits: tuple[str, ...] = ("a", "b"), mains: tuple[str, ...] = ("nop",)) -> dict[str, Any]:
    p = step_pod(name="b-pod-abcdef", namespace="default", owner=OWNER,
                 init_containers=[container(Step(n, "busybox")) for n in inits],
                 containers=[container(Step(n, "busybox")) for n in mains])
    p["metadata"]["uid"] = "pod-uid"
    return p


def result(name: str, code: int = 0, *, timed_out: bool = False) -> StepResult:
    reason = "Completed" if code == 0 and not timed_out else ("DeadlineExceeded" if timed_out else "Error")
    return StepResult(name, code, reason, "" if code == 0 else "boom", NOW, NOW + 1, "host://busybox", timed_out)


def test_a_step_pod_is_owned_never_restarted_and_marked() -> None:
    p = pod()
    assert p["spec"]["restartPolicy"] == "Never"
    assert p["metadata"]["ownerReferences"][0] == {**OWNER_REF, "controller": True, "blockOwnerDeletion": True}
    assert is_step_pod(p) and not is_step_pod({"metadata": {"name": "replica"}})


OWNER_REF = {"apiVersion": "build.knative.dev/v1alpha1", "kind": "Build", "name": "b", "uid": "u-1"}


@pytest.mark.parametrize(("results", "running", "failed", "phase"), [
    pytest.param({}, {"a": NOW}, False, "Pending", id="first-init-running"),
    pytest.param({"a": result("a")}, {"b": NOW}, False, "Pending", id="second-init-running"),
    pytest.param({"a": result("a"), "b": result("b")}, {"nop": NOW}, False, "Running", id="main-running"),
    pytest.param({"a": result("a"), "b": result("b"), "nop": result("nop")}, {}, False, "Succeeded", id="done"),
    pytest.param({"a": result("a", 2)}, {}, False, "Failed", id="step-failed"),
    pytest.param({"a": result("a", 143, timed_out=True)}, {}, True, "Failed", id="stopped"),
])
def test_phase(results: dict[str, StepResult], running: dict[str, float], failed: bool, phase: str) -> None:
    assert pod_status(pod(), results=results, running=running, now=NOW, failed=failed)["phase"] == phase


def test_container_states_and_conditions() -> None:
    status = pod_status(pod(), results={"a": result("a", 3)}, running={}, now=NOW)
    a, b = status["initContainerStatuses"]
    assert a["state"]["terminated"] == {"exitCode": 3, "reason": "Error", "message": "boom",
                                        "startedAt": "2027-01-15T08:00:00Z", "finishedAt": "2027-01-15T08:00:01Z",
                                        "containerID": "jupyter-knative://pod-uid/a"}
    assert a["imageID"] == "host://busybox"
    assert b["state"] == {"waiting": {"reason": "PodInitializing"}}
    initialized = next(c for c in status["conditions"] if c["type"] == "Initialized")
    assert initialized["status"] == "False" and initialized["message"] == "containers with incomplete status: [a b]"


def test_running_step_and_stopped_run() -> None:
    running = pod_status(pod(), results={}, running={"a": NOW}, now=NOW)
    assert running["initContainerStatuses"][0]["state"] == {"running": {"startedAt": "2027-01-15T08:00:00Z"}}
    stopped = pod_status(pod(), results={"a": result("a", 137, timed_out=True)}, running={}, now=NOW, failed=True,
                         reason="DeadlineExceeded", message="too slow")
    assert (stopped["reason"], stopped["message"]) == ("DeadlineExceeded", "too slow")
    assert stopped["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Error"


def test_transition_times_are_kept_while_a_condition_holds() -> None:
    p = pod()
    p["status"] = pod_status(p, results={}, running={"a": NOW}, now=NOW)
    later = pod_status(p, results={"a": result("a")}, running={"b": NOW + 5}, now=NOW + 5)
    scheduled = next(c for c in later["conditions"] if c["type"] == "PodScheduled")
    assert scheduled["lastTransitionTime"] == "2027-01-15T08:00:00Z"
    assert later["startTime"] == "2027-01-15T08:00:00Z"
