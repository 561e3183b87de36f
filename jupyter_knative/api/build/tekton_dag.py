"""A Pipeline's task graph (pure): what each pipeline task waits for, whether the graph is sound, and which
tasks may start once others are done.

A task waits for the tasks its `runAfter` names and for every task whose result it reads
(`$(tasks.<task>.results.<result>)` in its params or `when` expressions). The graph is refused as Tekton's
`dag.Build` refuses it: a task named twice, a cycle (reported on the alphabetically first task left in it,
with its remaining dependencies), or a dependency on a task the pipeline does not have.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

__all__ = ["DagError", "ResultRef", "build", "candidates", "dependencies", "result_refs", "strings_in"]

_RESULT_REF = re.compile(
    r"\$\(tasks\.(?P<task>[^.()\[\]]+)\.results"
    r"(?:\.(?P<r1>[_a-zA-Z0-9-]+)|\[\"(?P<r2>[^\"]+)\"\]|\['(?P<r3>[^']+)'\])"
    r"(?P<rest>\[\*\]|\[[0-9]+\]|\.[_a-zA-Z0-9-]+)?\)")


class DagError(ValueError):
    """The graph cannot be built; the message is Tekton's."""


class ResultRef(NamedTuple):
    task: str
    result: str


def strings_in(value: Any) -> list[str]:
    """Every string inside a param value (a string, an array of strings, or an object of strings)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    return []


def result_refs(text: str) -> list[ResultRef]:
    return [ResultRef(m.group("task"), m.group("r1") or m.group("r2") or m.group("r3") or "")
            for m in _RESULT_REF.finditer(text)]


def _texts(task: Mapping[str, Any]) -> list[str]:
    texts = [s for p in task.get("params") or [] for s in strings_in(p.get("value"))]
    for when in task.get("when") or []:
        texts += [str(when.get("input") or ""), *strings_in(when.get("values") or [])]
    return texts


def dependencies(task: Mapping[str, Any]) -> list[str]:
    """The pipeline tasks `task` waits for: `runAfter`, then the producers of the results it reads."""
    out: list[str] = []
    for name in [*(task.get("runAfter") or []), *(r.task for t in _texts(task) for r in result_refs(t))]:
        if name not in out:
            out.append(str(name))
    return out


def build(tasks: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Each task's dependencies, after checking the graph as Tekton's `dag.Build` does."""
    names: list[str] = []
    for task in tasks:
        name = str(task.get("name") or "")
        if name in names:
            raise DagError(f"task {name} is already present in Graph, can't add it again: duplicate pipeline task")
        names.append(name)
    deps = {str(t.get("name") or ""): dependencies(t) for t in tasks}
    cycle = _cycle(deps)
    if cycle:
        raise DagError(f"cycle detected; {cycle}")
    for name, needs in deps.items():
        for need in needs:
            if need not in deps:
                raise DagError(f"couldn't add link between {name} and {need}: "
                               f"task {name} depends on {need} but {need} wasn't present in Pipeline")
    return deps


def _cycle(deps: Mapping[str, Sequence[str]]) -> str:
    """Kahn's algorithm over the tasks that have dependencies; what is left afterwards is in a cycle."""
    left = {task: set(needs) for task, needs in deps.items() if needs}
    children: dict[str, set[str]] = {}
    ready: set[str] = set()
    for task, needs in left.items():
        for need in needs:
            if not deps.get(need):
                ready.add(need)
            children.setdefault(need, set()).add(task)
    while ready:
        parent = ready.pop()
        for child in children.get(parent, set()):
            left[child].discard(parent)
            if not left[child]:
                ready.add(child)
                del left[child]
    if not left:
        return ""
    first = min(left)
    return f"task {_q(first)} depends on " + ", ".join(_q(d) for d in sorted(left[first]))


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def candidates(deps: Mapping[str, Sequence[str]], done: Iterable[str], started: Iterable[str] = ()) -> list[str]:
    """Tasks not yet started whose dependencies are all done, in pipeline order."""
    finished, begun = set(done), set(started) | set(done)
    return [task for task, needs in deps.items() if task not in begun and all(n in finished for n in needs)]
