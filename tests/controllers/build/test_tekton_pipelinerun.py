"""The PipelineRun controller with the TaskRun controller: real host steps, a FakeClock for the timeout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_knative.build.steps import StepRunner
from jupyter_knative.controllers.build.pipelines import Counts, condition_message
from jupyter_knative.controllers.build.tekton import add_tekton
from jupyter_knative.controllers.runtime import FakeClock, Manager
from jupyter_knative.store import Store

from .tekton_support import V1, condition, rt, step, task, until


@pytest.fixture
async def plane(manager: Manager, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Manager]:
    runner = StepRunner(artifacts=tmp_path / "artifacts", logs=tmp_path / "logs", engine=None, clock=clock)
    add_tekton(manager, runner, tmp_path / "work")
    await manager.start()
    yield manager


def pipeline_run(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": V1, "kind": "PipelineRun", "metadata": {"name": name, "namespace": "default"},
            "spec": spec}


def get(store: Store, kind: str, name: str) -> dict[str, Any]:
    return store.must_get(rt(store, kind), "default", name)


def done(store: Store, name: str) -> bool:
    return condition(get(store, "PipelineRun", name)).get("status") in ("True", "False")


@pytest.mark.parametrize(("counts", "done_", "message"), [
    pytest.param(Counts(succeeded=1, total=2), False, "Tasks Completed: 1 (Failed: 0, Cancelled 0), Incomplete: 1, "
                                                      "Skipped: 0", id="running"),
    pytest.param(Counts(succeeded=2, total=2), True, "Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 0",
                 id="succeeded"),
    pytest.param(Counts(succeeded=1, failed=1, skipped=1, total=3), True,
                 "Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 1", id="failed"),
])
def test_condition_messages(counts: Counts, done_: bool, message: str) -> None:
    assert condition_message(counts, done_) == message


def _two_task_pipeline(store: Store) -> None:
    store.create(rt(store, "Task"), task(
        "produce", step("write", 'printf "%s-built" "$(params.name)" > $(results.artifact.path)'),
        params=[{"name": "name"}], results=[{"name": "artifact"}]))
    store.create(rt(store, "Task"), task(
        "consume", step("read", 'echo "using $(params.input)"\nprintf "%s" "$(params.input)" | wc -c '
                                "| tr -d ' ' > $(results.size.path)"),
        params=[{"name": "input"}], results=[{"name": "size"}]))
    store.create(rt(store, "Pipeline"), {
        "apiVersion": V1, "kind": "Pipeline", "metadata": {"name": "build-and-use", "namespace": "default"},
        "spec": {"params": [{"name": "app", "default": "demo"}],
                 "tasks": [{"name": "use", "taskRef": {"name": "consume"},
                            "params": [{"name": "input", "value": "$(tasks.make.results.artifact)"}]},
                           {"name": "make", "taskRef": {"name": "produce"},
                            "params": [{"name": "name", "value": "$(params.app)"}]}],
                 "results": [{"name": "size", "value": "$(tasks.use.results.size)"}]}})


async def test_a_two_task_pipeline_passes_a_result(store: Store, plane: Manager) -> None:
    _two_task_pipeline(store)
    store.create(rt(store, "PipelineRun"), pipeline_run("pr", pipelineRef={"name": "build-and-use"},
                                                        params=[{"name": "app", "value": "shop"}]))
    await until(lambda: done(store, "pr"))
    pr = get(store, "PipelineRun", "pr")
    assert condition(pr)["reason"] == "Succeeded", condition(pr)
    assert condition(pr)["message"] == "Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 0"
    assert pr["status"]["results"] == [{"name": "size", "value": "10\n"}]  # kept as written, newline too
    assert pr["status"]["childReferences"] == [  # in the pipeline's order, as Tekton lists them
        {"apiVersion": V1, "kind": "TaskRun", "name": "pr-use", "pipelineTaskName": "use"},
        {"apiVersion": V1, "kind": "TaskRun", "name": "pr-make", "pipelineTaskName": "make"}]
    use = get(store, "TaskRun", "pr-use")
    assert use["spec"]["params"] == [{"name": "input", "value": "shop-built"}]
    assert use["metadata"]["labels"]["tekton.dev/pipelineTask"] == "use"
    assert use["metadata"]["ownerReferences"][0]["kind"] == "PipelineRun"
    assert pr["status"]["pipelineSpec"]["tasks"][0]["name"] == "use"


async def test_a_failed_task_stops_the_pipeline(store: Store, plane: Manager) -> None:
    store.create(rt(store, "PipelineRun"), pipeline_run("broken", pipelineSpec={"tasks": [
        {"name": "first", "taskSpec": {"steps": [step("fail", "exit 2")]}},
        {"name": "second", "runAfter": ["first"], "taskSpec": {"steps": [step("s", "echo never")]}}]}))
    await until(lambda: done(store, "broken"))
    pr = get(store, "PipelineRun", "broken")
    assert (condition(pr)["status"], condition(pr)["reason"]) == ("False", "Failed")
    assert condition(pr)["message"] == "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 1"
    assert pr["status"]["skippedTasks"] == [{"name": "second", "reason": "PipelineRun was stopping"}]
    assert condition(get(store, "TaskRun", "broken-first"))["message"] == '"step-fail" exited with code 2'


async def test_a_pipeline_timeout_cancels_its_task_runs(store: Store, plane: Manager, clock: FakeClock) -> None:
    store.create(rt(store, "PipelineRun"), pipeline_run("slow", timeouts={"pipeline": "1m"}, pipelineSpec={"tasks": [
        {"name": "wait", "taskSpec": {"steps": [step("sleep", "sleep 60")]}}]}))
    def sleeping() -> bool:
        tr = store.get(rt(store, "TaskRun"), "default", "slow-wait") or {}
        return "running" in ((tr.get("status") or {}).get("steps") or [{}])[0]

    await until(sleeping)
    await clock.advance(61)
    await until(lambda: done(store, "slow"))
    pr = get(store, "PipelineRun", "slow")
    assert condition(pr)["reason"] == "PipelineRunTimeout"
    assert condition(pr)["message"] == 'PipelineRun "slow" failed to finish within "1m0s"'
    await until(lambda: condition(get(store, "TaskRun", "slow-wait")).get("status") == "False")
    assert condition(get(store, "TaskRun", "slow-wait"))["reason"] in ("TaskRunCancelled", "TaskRunTimeout")
