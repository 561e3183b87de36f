"""v1 <-> v1beta1 for the fields Tekton spells differently, both ways."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.api.build.tekton_conversion import V1, V1BETA1, convert

CASES = [
    pytest.param(
        {"kind": "TaskRun", "spec": {"taskRef": {"name": "t"}, "stepSpecs": [{"name": "s"}]},
         "status": {"podName": "p", "results": [{"name": "r", "type": "string", "value": "v"}],
                    "taskSpec": {"steps": [{"name": "s", "computeResources": {"limits": {"cpu": "1"}}}]}}},
        {"kind": "TaskRun", "spec": {"taskRef": {"name": "t"}, "stepOverrides": [{"name": "s"}]},
         "status": {"podName": "p", "taskResults": [{"name": "r", "type": "string", "value": "v"}],
                    "taskSpec": {"steps": [{"name": "s", "resources": {"limits": {"cpu": "1"}}}]}}},
        id="taskrun"),
    pytest.param(
        {"kind": "PipelineRun", "spec": {"pipelineRef": {"name": "p"},
                                         "taskRunTemplate": {"serviceAccountName": "builder"},
                                         "taskRunSpecs": [{"pipelineTaskName": "a", "serviceAccountName": "x"}]},
         "status": {"results": [{"name": "r", "value": "v"}]}},
        {"kind": "PipelineRun", "spec": {"pipelineRef": {"name": "p"}, "serviceAccountName": "builder",
                                         "taskRunSpecs": [{"pipelineTaskName": "a", "taskServiceAccountName": "x"}]},
         "status": {"pipelineResults": [{"name": "r", "value": "v"}]}},
        id="pipelinerun"),
    pytest.param(
        {"kind": "Pipeline", "spec": {"tasks": [{"name": "a", "taskSpec": {
            "steps": [{"name": "s", "computeResources": {}}], "stepTemplate": {"computeResources": {}}}}]}},
        {"kind": "Pipeline", "spec": {"tasks": [{"name": "a", "taskSpec": {
            "steps": [{"name": "s", "resources": {}}], "stepTemplate": {"resources": {}}}}]}},
        id="pipeline-inline-task"),
]


@pytest.mark.parametrize(("v1", "beta"), CASES)
def test_both_ways(v1: dict[str, Any], beta: dict[str, Any]) -> None:
    v1, beta = {"apiVersion": V1, **v1}, {"apiVersion": V1BETA1, **beta}
    assert convert(v1, V1BETA1) == beta
    assert convert(beta, V1) == v1
    assert v1["apiVersion"] == V1  # the input is left alone
