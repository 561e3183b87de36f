"""Tekton's webhooks on the store: defaults written, invalid objects refused with Tekton's messages."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_knative.api.kinds import registry
from jupyter_knative.api.status import BadRequest
from jupyter_knative.store import Store

V1 = "tekton.dev/v1"
DENIED = 'admission webhook "validation.webhook.pipeline.tekton.dev" denied the request: validation failed: '


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store(registry())
    namespaces = s.registry.by_kind("", "Namespace")
    assert namespaces is not None
    for name in ("default", "tekton-pipelines"):
        s.create(namespaces, {"metadata": {"name": name}})
    yield s
    s.close()


def kind(store: Store, name: str) -> Any:
    rt = store.registry.by_kind("tekton.dev", name)
    assert rt is not None
    return rt


def step(name: str = "build", **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox", **fields}


def task(*steps: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": V1, "kind": "Task", "metadata": {"name": "t", "namespace": "default"},
            "spec": {"steps": list(steps or [step(script="echo hi")]), **spec}}


def task_run(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": V1, "kind": "TaskRun", "metadata": {"name": "tr", "namespace": "default"}, "spec": spec}


def pipeline(*tasks: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": V1, "kind": "Pipeline", "metadata": {"name": "p", "namespace": "default"},
            "spec": {"tasks": list(tasks), **spec}}


def refused(store: Store, obj: dict[str, Any]) -> str:
    with pytest.raises(BadRequest) as e:
        store.create(kind(store, obj["kind"]), copy.deepcopy(obj))
    message = str(e.value.message if hasattr(e.value, "message") else e.value)
    assert message.startswith(DENIED), message
    return message[len(DENIED):]


def test_task_run_defaults(store: Store) -> None:
    created = store.create(kind(store, "TaskRun"), task_run(taskRef={"name": "t"}))
    assert created["spec"] == {"taskRef": {"name": "t", "kind": "Task"}, "timeout": "1h0m0s",
                               "serviceAccountName": "default"}
    assert created["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "tekton-pipelines"}


def test_config_defaults_are_read(store: Store) -> None:
    store.create(store.registry.by_kind("", "ConfigMap"),  # type: ignore[arg-type]
                 {"metadata": {"name": "config-defaults", "namespace": "tekton-pipelines"},
                  "data": {"default-timeout-minutes": "90", "default-service-account": "builder"}})
    created = store.create(kind(store, "PipelineRun"), {"apiVersion": V1, "kind": "PipelineRun",
                                                         "metadata": {"name": "pr", "namespace": "default"},
                                                         "spec": {"pipelineRef": {"name": "p"}}})
    assert created["spec"]["timeouts"] == {"pipeline": "1h30m0s"}
    assert created["spec"]["taskRunTemplate"] == {"serviceAccountName": "builder"}


def test_param_and_result_types_are_defaulted(store: Store) -> None:
    created = store.create(kind(store, "Task"), task(params=[{"name": "a"}, {"name": "b", "default": ["x"]}],
                                                     results=[{"name": "out"}]))
    assert [p["type"] for p in created["spec"]["params"]] == ["string", "array"]
    assert created["spec"]["results"] == [{"name": "out", "type": "string"}]


@pytest.mark.parametrize(("obj", "message"), [
    pytest.param(task(step(script="echo $(params.missing)")),
                 'non-existent variable in "echo $(params.missing)": spec.steps[0].script', id="undeclared-param"),
    pytest.param(task(step("a", script="x"), step("a", script="y")), "invalid value: a: spec.steps[1].name",
                 id="duplicate-step"),
    pytest.param(task(step("Build_It", script="x")),
                 'invalid value "Build_It": spec.steps[0].name\nTask step name must be a valid DNS Label, For more '
                 "info refer to https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#names",
                 id="step-name"),
    pytest.param(task({"name": "s", "script": "x"}), "missing field(s): spec.steps[0].Image", id="no-image"),
    pytest.param(task(step(script="x", command=["sh"])), "script cannot be used with command: spec.steps[0].script",
                 id="script-and-command"),
    pytest.param(task(steps=[]) | {"spec": {"steps": []}}, "missing field(s): spec.steps", id="no-steps"),
    pytest.param(task(step(script="echo > $(results.nope.path)"), results=[{"name": "out"}]),
                 'non-existent variable in "echo > $(results.nope.path)": spec.steps[0].script',
                 id="undeclared-result"),
    pytest.param(task(results=[{"name": "-bad"}]),
                 'invalid key name "-bad": spec.results[0].name\nName must consist of alphanumeric characters, '
                 "'-', '_', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my-name',  "
                 "or 'my_name', regex used for validation is '^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$')",
                 id="result-name"),
    pytest.param(task(params=[{"name": "p", "type": "string", "default": ["a"]}]),
                 '"string" type does not match default value\'s type: "array": spec.params.p.default.type, '
                 "spec.params.p.type", id="default-type"),
    pytest.param(task(step(script="echo $(params.flags)"), params=[{"name": "flags", "type": "array"}]),
                 'variable type invalid in "echo $(params.flags)": spec.steps[0].script', id="array-in-script"),
    pytest.param(task(step(script="echo $(context.taskRun.nme)")),
                 'non-existent variable in "echo $(context.taskRun.nme)": spec.steps[0].script', id="context"),
    pytest.param(task(workspaces=[{"name": "src"}, {"name": "src"}]),
                 'workspace mount path "/workspace/src" must be unique: spec.workspaces[1].mountpath\n'
                 'workspace name "src" must be unique: spec.workspaces[1].name', id="workspace-names"),
    pytest.param(task_run(), "expected exactly one, got neither: spec.taskRef, spec.taskSpec", id="neither"),
    pytest.param(task_run(taskRef={"name": "t"}, taskSpec={"steps": [step()]}),
                 "expected exactly one, got both: spec.taskRef, spec.taskSpec", id="both"),
    pytest.param(task_run(taskRef={"name": "t"}, workspaces=[{"name": "w"}]),
                 "expected exactly one, got neither: spec.workspaces[0].configmap, spec.workspaces[0].emptydir, "
                 "spec.workspaces[0].persistentvolumeclaim, spec.workspaces[0].secret, "
                 "spec.workspaces[0].volumeclaimtemplate", id="binding-without-source"),
    pytest.param(task_run(taskRef={"name": "t"}, timeout="-1s"), "invalid value: -1s should be >= 0: spec.timeout",
                 id="negative-timeout"),
    pytest.param(pipeline({"name": "a", "taskRef": {"name": "t"}, "runAfter": ["b"]},
                          {"name": "b", "taskRef": {"name": "t"}, "runAfter": ["a"]}),
                 'invalid value: cycle detected; task "a" depends on "b": spec.tasks', id="cycle"),
    pytest.param(pipeline({"name": "a", "taskRef": {"name": "t"}, "runAfter": ["nope"]}),
                 "invalid value: couldn't add link between a and nope: task a depends on nope but nope wasn't "
                 "present in Pipeline: spec.tasks", id="run-after-unknown"),
    pytest.param(pipeline({"name": "a"}), "expected exactly one, got neither: spec.tasks[0].taskRef, "
                                          "spec.tasks[0].taskSpec", id="task-without-ref"),
    pytest.param(pipeline({"name": "a", "taskRef": {"name": "t"}, "params": [{"name": "x", "value": "$(params.y)"}]}),
                 'non-existent variable in "$(params.y)": spec.tasks[0].params[x]', id="pipeline-param"),
    pytest.param(pipeline({"name": "a", "taskRef": {"name": "t"}},
                          results=[{"name": "r", "value": "$(tasks.b.results.x)"}]),
                 "invalid value: referencing a nonexistent task: spec.results[0].value", id="pipeline-result"),
])
def test_refusals(store: Store, obj: dict[str, Any], message: str) -> None:
    assert refused(store, obj) == message


def test_inline_task_spec_may_use_the_task_runs_params(store: Store) -> None:
    tr = task_run(params=[{"name": "who", "value": "you"}],
                  taskSpec={"steps": [step(script="echo $(params.who)")]})
    assert store.create(kind(store, "TaskRun"), tr)["spec"]["taskSpec"]["steps"][0]["script"] == "echo $(params.who)"


def test_a_started_run_only_accepts_cancellation(store: Store) -> None:
    rt = kind(store, "TaskRun")
    created = store.create(rt, task_run(taskRef={"name": "t"}))
    started = store.update(rt, {**created, "status": {"podName": "tr-pod", "startTime": "2027-01-01T00:00:00Z"}},
                           subresource="status")
    changed = copy.deepcopy(started)
    changed["spec"]["timeout"] = "5m"
    with pytest.raises(BadRequest) as e:
        store.update(rt, changed)
    assert "Once the TaskRun has started, only status and statusMessage updates are allowed: spec" in str(e.value)
    started["spec"]["status"] = "TaskRunCancelled"
    assert store.update(rt, started)["spec"]["status"] == "TaskRunCancelled"
