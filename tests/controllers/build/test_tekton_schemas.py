"""What the Tekton controllers and webhooks write (Task, TaskRun, Pipeline, PipelineRun, with status)
validates against Tekton's published CRDs and carries no field those schemas would prune."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from jupyter_knative.build.steps import StepRunner
from jupyter_knative.controllers.build.tekton import add_tekton
from jupyter_knative.controllers.runtime import FakeClock, Manager
from jupyter_knative.store import Store

from ...crdschema import CRDS as ALL_CRDS
from ...crdschema import crd_schema, pruned
from .tekton_support import V1, condition, rt, step, task, task_run, until

CRDS = ALL_CRDS / "tekton"
FILES = {"Task": "300-task.yaml", "TaskRun": "300-taskrun.yaml", "Pipeline": "300-pipeline.yaml",
         "PipelineRun": "300-pipelinerun.yaml"}

pytestmark = pytest.mark.skipif(not CRDS.is_dir(), reason=f"upstream CRDs (test data) not found at {CRDS}")


def schema(kind: str, version: str) -> dict[str, Any]:
    return crd_schema(CRDS / FILES[kind], version)


@pytest.fixture
async def plane(manager: Manager, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Manager]:
    runner = StepRunner(artifacts=tmp_path / "artifacts", logs=tmp_path / "logs", engine=None, clock=clock)
    add_tekton(manager, runner, tmp_path / "work")
    await manager.start()
    yield manager


async def test_written_objects_match_tektons_crds(store: Store, plane: Manager) -> None:
    store.create(rt(store, "Task"), task("t", step("s", "echo $(params.x) > $(results.r.path)"),
                                         params=[{"name": "x", "default": "1"}], results=[{"name": "r"}],
                                         workspaces=[{"name": "src", "optional": True}]))
    store.create(rt(store, "TaskRun"), task_run("ok", taskRef={"name": "t"},
                                                workspaces=[{"name": "src", "emptyDir": {}}]))
    store.create(rt(store, "TaskRun"), task_run("bad", taskSpec={"steps": [step("a", "exit 1"), step("b", "true")]}))
    store.create(rt(store, "Pipeline"), {
        "apiVersion": V1, "kind": "Pipeline", "metadata": {"name": "p", "namespace": "default"},
        "spec": {"tasks": [{"name": "one", "taskRef": {"name": "t"}},
                           {"name": "two", "taskRef": {"name": "t"},
                            "params": [{"name": "x", "value": "$(tasks.one.results.r)"}]}],
                 "results": [{"name": "out", "value": "$(tasks.two.results.r)"}]}})
    store.create(rt(store, "PipelineRun"), {"apiVersion": V1, "kind": "PipelineRun",
                                            "metadata": {"name": "pr", "namespace": "default"},
                                            "spec": {"pipelineRef": {"name": "p"}}})
    runs = [("TaskRun", "ok"), ("TaskRun", "bad"), ("PipelineRun", "pr")]
    await until(lambda: all(condition(store.get(rt(store, k), "default", n)).get("status") in ("True", "False")
                            for k, n in runs))
    problems: list[str] = []
    for kind in FILES:
        objs, _ = store.list(rt(store, kind), "default")
        assert objs, f"no {kind} was written"
        for obj in objs:
            sch = schema(kind, obj["apiVersion"].rsplit("/", 1)[1])
            name = f'{kind} {obj["metadata"]["name"]}'
            assert obj.get("status") or kind in ("Task", "Pipeline"), name
            problems += [f"{name}: {'.'.join(map(str, e.absolute_path))}: {e.message}"
                         for e in jsonschema.Draft7Validator(sch).iter_errors(obj)]
            out: list[str] = []
            pruned({k: v for k, v in obj.items() if k != "metadata"}, sch, "", out)
            problems += [f"{name}: field {p} would be pruned" for p in out]
    assert not problems, "\n".join(problems)
