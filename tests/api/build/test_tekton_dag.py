"""A Pipeline's task graph: dependencies, Tekton's refusals, and what may start next."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.api.build.tekton_dag import DagError, build, candidates, dependencies, result_refs


def task(name: str, *after: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "taskRef": {"name": "t"}}
    if after:
        out["runAfter"] = list(after)
    if params:
        out["params"] = [{"name": k, "value": v} for k, v in params.items()]
    return out


def test_result_references_imply_ordering() -> None:
    t = task("b", "a", params={"x": "$(tasks.c.results.out)", "y": ["$(tasks.a.results['v'])", "z"]})
    assert dependencies(t) == ["a", "c"]
    assert [tuple(r) for r in result_refs('$(tasks.c.results["o-1"]) $(tasks.d.results.arr[*])')] == \
        [("c", "o-1"), ("d", "arr")]


@pytest.mark.parametrize(("tasks", "message"), [
    pytest.param([task("a", "b"), task("b", "a")], 'cycle detected; task "a" depends on "b"', id="cycle"),
    pytest.param([task("a"), task("b", "a", "c"), task("c", "b")], 'cycle detected; task "b" depends on "c"',
                 id="cycle-after-kahn"),
    pytest.param([task("a", "x")], "couldn't add link between a and x: task a depends on x but x wasn't "
                                   "present in Pipeline", id="missing"),
    pytest.param([task("a"), task("a")], "task a is already present in Graph, can't add it again: "
                                         "duplicate pipeline task", id="duplicate"),
])
def test_refusals(tasks: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(DagError) as e:
        build(tasks)
    assert str(e.value) == message


def test_candidates_follow_the_graph() -> None:
    deps = build([task("clone"), task("test", "clone"), task("lint", "clone"),
                  task("push", params={"d": "$(tasks.test.results.digest)"})])
    assert candidates(deps, done=[]) == ["clone"]
    assert candidates(deps, done=["clone"], started=["clone"]) == ["test", "lint"]
    assert candidates(deps, done=["clone", "lint"], started=["test"]) == []
    assert candidates(deps, done=["clone", "lint", "test"]) == ["push"]
