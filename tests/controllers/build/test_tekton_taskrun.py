"""The TaskRun controller on a real store and a FakeClock, running real host steps (busybox/alpine scripts)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_knative.build.steps import StepRunner
from jupyter_knative.controllers.build.tekton import TaskRunController
from jupyter_knative.controllers.runtime import FakeClock, Manager
from jupyter_knative.store import Store

from .tekton_support import condition, log_of, rt, step, task, task_run, until


@pytest.fixture
async def taskruns(manager: Manager, clock: FakeClock, tmp_path: Path) -> AsyncIterator[TaskRunController]:
    runner = StepRunner(artifacts=tmp_path / "artifacts", logs=tmp_path / "logs", engine=None, clock=clock)
    controller = TaskRunController(manager, runner, tmp_path / "work")
    await manager.start()
    yield controller


def get(store: Store, name: str) -> dict[str, Any]:
    return store.must_get(rt(store, "TaskRun"), "default", name)


def done(store: Store, name: str) -> bool:
    return condition(get(store, name)).get("status") in ("True", "False")


async def test_a_task_run_passes_params_and_writes_results(store: Store, taskruns: TaskRunController,
                                                           tmp_path: Path) -> None:
    store.create(rt(store, "Task"), task(
        "hello",
        step("greet", 'echo "Hello $(params.who)!"\nprintf "%s" "$(params.who)" > $(results.greeting.path)\n'),
        step("shout", "#!/bin/sh\necho $(context.taskRun.name) $(context.task.name) | tr a-z A-Z", image="alpine"),
        params=[{"name": "who", "type": "string", "default": "World"}],
        results=[{"name": "greeting", "description": "who was greeted"}]))
    store.create(rt(store, "TaskRun"), task_run("hello-run", taskRef={"name": "hello"},
                                                params=[{"name": "who", "value": "Tekton"}]))
    await until(lambda: done(store, "hello-run"))
    tr = get(store, "hello-run")
    status = tr["status"]
    assert condition(tr) | {"lastTransitionTime": ""} == {
        "type": "Succeeded", "status": "True", "reason": "Succeeded", "message": "All Steps have completed executing",
        "lastTransitionTime": ""}
    assert status["podName"] == "hello-run-pod"
    assert status["results"] == [{"name": "greeting", "type": "string", "value": "Tekton"}]
    assert [(s["name"], s["container"], s["terminated"]["exitCode"], s["terminated"]["reason"])
            for s in status["steps"]] == [("greet", "step-greet", 0, "Completed"), ("shout", "step-shout", 0,
                                                                                    "Completed")]
    assert status["startTime"] and status["completionTime"]
    assert status["taskSpec"]["params"][0]["default"] == "World"
    assert "Hello Tekton!" in log_of(tmp_path / "logs", "hello-run-pod", "step-greet")
    assert "HELLO-RUN HELLO" in log_of(tmp_path / "logs", "hello-run-pod", "step-shout")
    pod = store.must_get(rt(store, "Pod", ""), "default", "hello-run-pod")
    assert [c["name"] for c in pod["spec"]["containers"]] == ["step-greet", "step-shout"]
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["metadata"]["labels"]["tekton.dev/task"] == "hello"


async def test_a_failing_step_stops_the_task_run_with_its_exit_code(store: Store,
                                                                   taskruns: TaskRunController) -> None:
    store.create(rt(store, "TaskRun"), task_run("fails", taskSpec={"steps": [
        step("ok", "echo fine"), step("unit-test", "echo broken >&2\nexit 3"), step("never", "touch /workspace/x")]}))
    await until(lambda: done(store, "fails"))
    status = get(store, "fails")["status"]
    assert condition(get(store, "fails"))["reason"] == "Failed"
    assert condition(get(store, "fails"))["message"] == '"step-unit-test" exited with code 3'
    states = {s["name"]: s for s in status["steps"]}
    assert states["unit-test"]["terminated"]["exitCode"] == 3
    assert states["unit-test"]["terminated"]["reason"] == "Error"
    assert states["never"]["terminationReason"] == "Skipped"
    assert states["never"]["terminated"]["exitCode"] == 1
    assert "results" not in status


async def test_a_timeout_kills_the_running_step(store: Store, taskruns: TaskRunController,
                                                clock: FakeClock) -> None:
    store.create(rt(store, "TaskRun"), task_run("slow", timeout="30s", taskSpec={"steps": [
        step("wait", "echo waiting\nsleep 60"), step("after", "echo never")]}))
    await until(lambda: "running" in (get(store, "slow").get("status", {}).get("steps") or [{}])[0])
    await clock.advance(31)
    await until(lambda: done(store, "slow"))
    tr = get(store, "slow")
    assert condition(tr)["reason"] == "TaskRunTimeout"
    assert condition(tr)["message"] == 'TaskRun "slow" failed to finish within "30s"'
    states = {s["name"]: s for s in tr["status"]["steps"]}
    assert states["wait"]["terminated"]["reason"] == "TaskRunTimeout"
    assert states["after"]["terminated"]["reason"] == "TaskRunTimeout"


async def test_workspaces_bind_empty_dirs_and_configmaps(store: Store, taskruns: TaskRunController) -> None:
    store.create(rt(store, "ConfigMap", ""), {"metadata": {"name": "settings", "namespace": "default"},
                                              "data": {"greeting": "hi there"}})
    store.create(rt(store, "TaskRun"), task_run(
        "ws", workspaces=[{"name": "scratch", "emptyDir": {}}, {"name": "config", "configMap": {"name": "settings"}}],
        taskSpec={"workspaces": [{"name": "scratch"}, {"name": "config", "mountPath": "/etc/cfg"}],
                  "results": [{"name": "seen"}],
                  "steps": [step("write", "cat $(workspaces.config.path)/greeting > $(workspaces.scratch.path)/f"),
                            step("read", "cat /workspace/scratch/f | tee $(results.seen.path)")]}))
    await until(lambda: done(store, "ws"))
    tr = get(store, "ws")
    assert condition(tr)["status"] == "True", condition(tr)
    assert tr["status"]["results"] == [{"name": "seen", "type": "string", "value": "hi there"}]


async def test_a_missing_task_fails_the_run(store: Store, taskruns: TaskRunController) -> None:
    store.create(rt(store, "TaskRun"), task_run("orphan", taskRef={"name": "nope"}))
    await until(lambda: done(store, "orphan"))
    assert condition(get(store, "orphan"))["reason"] == "CouldntGetTask"


async def test_missing_params_fail_validation(store: Store, taskruns: TaskRunController) -> None:
    store.create(rt(store, "Task"), task("needs", step("s", "echo $(params.x)"), params=[{"name": "x"}]))
    store.create(rt(store, "TaskRun"), task_run("bad", taskRef={"name": "needs"}))
    await until(lambda: done(store, "bad"))
    assert condition(get(store, "bad"))["reason"] == "TaskRunValidationFailed"
    assert condition(get(store, "bad"))["message"] == ("invalid input params for task needs: missing values for "
                                                       "these params which have no default values: [x]")
