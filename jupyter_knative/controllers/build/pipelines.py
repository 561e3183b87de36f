"""The PipelineRun controller: a TaskRun per pipeline task (`<pipelinerun>-<task>`, owned by the PipelineRun),
each started once the tasks it waits for (`runAfter`, the results it reads) have succeeded, then the `finally`
tasks; the PipelineRun's status as Tekton writes it.

Level-based: each reconcile reads the PipelineRun and its TaskRuns, creates the TaskRuns that may start now
(params, context and `$(tasks.<t>.results.<r>)` substituted), and writes the status:

    Running    "Tasks Completed: 1 (Failed: 0, Cancelled 0), Incomplete: 1, Skipped: 0"
    Succeeded  "Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 0"   (reason Completed when some skipped)
    Failed     "Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 1"   (no new task starts after a failure)
    PipelineRunTimeout  "PipelineRun \"<name>\" failed to finish within \"<timeout>\"" (running TaskRuns cancelled)
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...api.build import tekton_vars as tv
from ...api.build.tekton_dag import DagError, build, candidates, result_refs
from ...api.printing import format_timestamp, parse_timestamp
from ...api.registry import ResourceType
from ...api.serving.goformat import Duration, parse_duration
from ...api.status import AlreadyExists, Conflict, NotFound
from ...store import Store
from ..runtime import Controller, Manager, ObjectKey, Result, watch_objects, watch_owned
from .tekton_spec import param_replacements
from .tekton_status import set_condition

__all__ = ["Counts", "PipelineRunController", "child_name", "condition_message"]

TEKTON = "tekton.dev"
V1 = "tekton.dev/v1"
STOPPING = "PipelineRun was stopping"
PARENT_SKIPPED = "Parent Tasks were skipped"
TIMEOUT_REACHED = "PipelineRun timeout has been reached"
_Obj = dict[str, Any]


def _type(store: Store, kind: str, group: str = TEKTON) -> ResourceType:
    rt = store.registry.by_kind(group, kind)
    if rt is None:
        raise LookupError(f"{kind}.{group} is not registered")
    return rt


def child_name(pipeline_run: str, task: str) -> str:
    return f"{pipeline_run}-{task}"


def _succeeded(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Succeeded":
            return dict(cond)
    return {}


@dataclass(frozen=True)
class Counts:
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped: int = 0
    total: int = 0

    @property
    def completed(self) -> int:
        return self.succeeded + self.failed + self.cancelled

    @property
    def incomplete(self) -> int:
        return self.total - self.completed - self.skipped


def condition_message(c: Counts, done: bool) -> str:
    head = f"Tasks Completed: {c.completed} (Failed: {c.failed}, Cancelled {c.cancelled})"
    return f"{head}, Skipped: {c.skipped}" if done else f"{head}, Incomplete: {c.incomplete}, Skipped: {c.skipped}"


def _state(tr: Mapping[str, Any] | None) -> str:
    """none, running, succeeded, failed or cancelled."""
    if tr is None:
        return "none"
    cond = _succeeded(tr)
    if cond.get("status") == "True":
        return "succeeded"
    if cond.get("status") == "False":
        return "cancelled" if cond.get("reason") == "TaskRunCancelled" else "failed"
    return "running"


def _substitute(value: Any, strings: Mapping[str, str], arrays: Mapping[str, list[str]]) -> Any:
    if isinstance(value, str):
        return tv.apply(value, strings)
    if isinstance(value, list):
        return [out for item in value for out in
                (tv.apply_array(item, strings, arrays) if isinstance(item, str) else [_substitute(item, strings,
                                                                                                  arrays)])]
    if isinstance(value, dict):
        return {k: _substitute(v, strings, arrays) for k, v in value.items()}
    return value


class PipelineRunController:
    def __init__(self, manager: Manager) -> None:
        self.store, self.clock = manager.store, manager.clock
        self.rt = _type(self.store, "PipelineRun")
        self.pipelines = _type(self.store, "Pipeline")
        self.task_runs = _type(self.store, "TaskRun")
        self.controller: Controller[ObjectKey] = Controller("pipelinerun-controller", self.reconcile, workers=2,
                                                            clock=self.clock)
        manager.add(self.controller)
        watch_objects(self.controller, manager.informer(self.rt))
        watch_owned(self.controller, manager.informer(self.task_runs), TEKTON, "PipelineRun")

    async def reconcile(self, key: ObjectKey) -> Result | None:
        pr = self.store.get(self.rt, key.namespace, key.name)
        if pr is None or pr["metadata"].get("deletionTimestamp"):
            return None
        status = copy.deepcopy(pr.get("status") or {})
        if _succeeded(pr).get("status") in ("True", "False"):
            return None
        now = self.clock.now()
        status.setdefault("startTime", format_timestamp(now))
        try:
            spec, pipeline_name = self._pipeline_spec(pr)
            deps = _graph(spec)
            values = self._params(pr, spec, pipeline_name)
        except _Failure as f:
            set_condition(status, "False", f.reason, f.message, now)
            status["completionTime"] = format_timestamp(now)
            self._write(pr, status)
            return None
        status["pipelineSpec"] = spec
        timeout = parse_duration(str((pr["spec"].get("timeouts") or {}).get("pipeline") or "1h"))
        deadline = parse_timestamp(status["startTime"]) + timeout.ns / 1e9 if timeout.ns > 0 else None
        timed_out = deadline is not None and now >= deadline
        self._progress(pr, status, spec, deps, values, pipeline_name, now, timed_out, str(Duration(timeout.ns)))
        self._write(pr, status)
        if deadline is not None and not timed_out and _succeeded({"status": status}).get("status") == "Unknown":
            return Result(requeue_after=deadline - now)
        return None

    # --- resolution ---------------------------------------------------------------------------------------

    def _pipeline_spec(self, pr: _Obj) -> tuple[_Obj, str]:
        spec = pr.get("spec") or {}
        if spec.get("pipelineSpec") is not None:
            return copy.deepcopy(spec["pipelineSpec"]), ""
        name = str((spec.get("pipelineRef") or {}).get("name") or "")
        pipeline = self.store.get(self.pipelines, pr["metadata"]["namespace"], name) if name else None
        if pipeline is None:
            raise _Failure("CouldntGetPipeline", f'Error retrieving pipeline for pipelinerun '
                                                 f'"{pr["metadata"]["name"]}": pipelines.tekton.dev "{name}" not found')
        return copy.deepcopy(pipeline.get("spec") or {}), name

    def _params(self, pr: _Obj, spec: _Obj, pipeline_name: str) -> dict[str, Any]:
        given = {str(p.get("name")): p.get("value") for p in pr["spec"].get("params") or []}
        values = dict(given)
        missing = []
        for p in spec.get("params") or []:
            name = str(p.get("name"))
            if name not in given:
                if p.get("default") is None:
                    missing.append(name)
                else:
                    values[name] = p["default"]
        if missing:
            raise _Failure("ParameterMissing", f'PipelineRun {pr["metadata"]["namespace"]}/{pr["metadata"]["name"]} '
                                               "parameters is missing some parameters required by Pipeline "
                                               f"{pr['metadata']['name']}'s parameters: pipelineRun missing "
                                               f"parameters: [{' '.join(missing)}]")
        return values

    # --- the tasks ----------------------------------------------------------------------------------------

    def _children(self, pr: _Obj, names: Sequence[str]) -> dict[str, _Obj | None]:
        ns, name = pr["metadata"]["namespace"], pr["metadata"]["name"]
        out: dict[str, _Obj | None] = {}
        for task in names:
            tr = self.store.get(self.task_runs, ns, child_name(name, task))
            owned = tr is not None and any(o.get("uid") == pr["metadata"]["uid"]
                                           for o in tr["metadata"].get("ownerReferences") or [])
            out[task] = tr if owned else None
        return out

    def _progress(self, pr: _Obj, status: _Obj, spec: _Obj, deps: dict[str, list[str]], values: dict[str, Any],
                  pipeline_name: str, now: float, timed_out: bool, timeout: str) -> None:
        tasks = {str(t["name"]): t for t in spec.get("tasks") or []}
        final = {str(t["name"]): t for t in spec.get("finally") or []}
        children = self._children(pr, [*tasks, *final])
        states = {name: _state(tr) for name, tr in children.items()}
        stopping = timed_out or any(s in ("failed", "cancelled") for n, s in states.items() if n in tasks)
        done_ok = [n for n, s in states.items() if s == "succeeded" and n in tasks]
        started = [n for n, s in states.items() if s != "none"]
        skipped = {} if not stopping else {n: (TIMEOUT_REACHED if timed_out else STOPPING)
                                             for n in tasks if states[n] == "none"}
        if not stopping:
            for name in candidates(deps, done_ok, started):
                states[name] = "running"
                children[name] = self._create(pr, tasks[name], "tasks", values, children, pipeline_name)
        dag_over = all(states[n] not in ("none", "running") or n in skipped for n in tasks)
        if dag_over and not timed_out:
            for name in final:
                if states[name] == "none":
                    states[name] = "running"
                    children[name] = self._create(pr, final[name], "finally", values, children, pipeline_name)
        elif timed_out:
            skipped.update({n: TIMEOUT_REACHED for n in final if states[n] == "none"})
            self._cancel_running(children, states)
        status["childReferences"] = [
            {"apiVersion": V1, "kind": "TaskRun", "name": tr["metadata"]["name"], "pipelineTaskName": n}
            for n, tr in children.items() if tr is not None]
        counts = Counts(sum(s == "succeeded" for s in states.values()),
                        sum(s == "failed" for s in states.values()),
                        sum(s == "cancelled" for s in states.values()), len(skipped), len(states))
        finished = counts.incomplete == 0 or timed_out
        if timed_out:
            set_condition(status, "False", "PipelineRunTimeout",
                          f'PipelineRun "{pr["metadata"]["name"]}" failed to finish within "{timeout}"', now)
        elif not finished:
            set_condition(status, "Unknown", "Running", condition_message(counts, False), now)
        elif counts.failed or counts.cancelled:
            set_condition(status, "False", "Failed" if counts.failed else "Cancelled",
                          condition_message(counts, True), now)
        else:
            set_condition(status, "True", "Completed" if counts.skipped else "Succeeded",
                          condition_message(counts, True), now)
        if finished:
            status["completionTime"] = format_timestamp(now)
            if skipped:
                status["skippedTasks"] = [{"name": n, "reason": r} for n, r in skipped.items()]
            results = self._results(spec, children)
            if results:
                status["results"] = results

    def _replacements(self, pr: _Obj, values: Mapping[str, Any], children: Mapping[str, _Obj | None],
                      pipeline_name: str) -> tuple[dict[str, str], dict[str, list[str]]]:
        strings, arrays = param_replacements(values)
        meta = pr["metadata"]
        strings.update({"context.pipelineRun.name": meta["name"], "context.pipelineRun.namespace": meta["namespace"],
                        "context.pipelineRun.uid": meta["uid"], "context.pipeline.name": pipeline_name})
        for task, tr in children.items():
            for r in ((tr or {}).get("status") or {}).get("results") or []:
                value = r.get("value")
                if isinstance(value, list):
                    s, a = tv.array_replacements(f"tasks.{task}.results", str(r["name"]), [str(v) for v in value])
                    strings.update(s)
                    arrays.update(a)
                else:
                    strings.update(dict.fromkeys(tv.keys(f"tasks.{task}.results", str(r["name"])),
                                                 value if isinstance(value, str) else str(value)))
        return strings, arrays

    def _create(self, pr: _Obj, task: _Obj, member: str, values: Mapping[str, Any],
                children: Mapping[str, _Obj | None], pipeline_name: str) -> _Obj | None:
        strings, arrays = self._replacements(pr, values, children, pipeline_name)
        meta, name = pr["metadata"], str(task["name"])
        spec: _Obj = {"params": _substitute(copy.deepcopy(task.get("params") or []), strings, arrays)}
        if task.get("taskSpec") is not None:
            inline = copy.deepcopy(task["taskSpec"])
            own = {str(p.get("name")) for p in inline.get("params") or []}
            propagated = {k: v for k, v in strings.items() if not any(k.startswith(f"params.{o}") or
                                                                       k.startswith(f'params["{o}"]') for o in own)}
            spec["taskSpec"] = _substitute(inline, propagated, {k: v for k, v in arrays.items()
                                                               if k in propagated or not k.startswith("params")})
            for key in ("apiVersion", "kind", "metadata", "spec"):
                spec["taskSpec"].pop(key, None)
        else:
            spec["taskRef"] = copy.deepcopy(task.get("taskRef") or {})
        if not spec["params"]:
            del spec["params"]
        overrides: _Obj = next((s for s in pr["spec"].get("taskRunSpecs") or []
                                if s.get("pipelineTaskName") == name), {})
        account = overrides.get("serviceAccountName") or (pr["spec"].get("taskRunTemplate") or {}).get(
            "serviceAccountName")
        if account:
            spec["serviceAccountName"] = account
        if task.get("timeout") or overrides.get("timeout"):
            spec["timeout"] = overrides.get("timeout") or task["timeout"]
        workspaces = self._workspaces(pr, task)
        if workspaces:
            spec["workspaces"] = workspaces
        labels = {**(meta.get("labels") or {}), "tekton.dev/pipelineRun": meta["name"],
                  "tekton.dev/pipelineRunUID": meta["uid"], "tekton.dev/pipelineTask": name,
                  "tekton.dev/memberOf": member}
        if pipeline_name:
            labels["tekton.dev/pipeline"] = pipeline_name
        labels.pop("app.kubernetes.io/managed-by", None)
        child: _Obj = {"apiVersion": V1, "kind": "TaskRun",
                 "metadata": {"name": child_name(meta["name"], name), "namespace": meta["namespace"],
                              "labels": labels,
                              "ownerReferences": [{"apiVersion": V1, "kind": "PipelineRun", "name": meta["name"],
                                                   "uid": meta["uid"], "controller": True,
                                                   "blockOwnerDeletion": True}]},
                 "spec": spec}
        try:
            return self.store.create(self.task_runs, child)
        except AlreadyExists:
            return self.store.get(self.task_runs, meta["namespace"], child["metadata"]["name"])

    def _workspaces(self, pr: _Obj, task: _Obj) -> list[_Obj]:
        bindings = {str(b.get("name")): b for b in pr["spec"].get("workspaces") or []}
        out = []
        for ws in task.get("workspaces") or []:
            source = bindings.get(str(ws.get("workspace") or ws.get("name")))
            if source is None:
                continue
            binding = {k: copy.deepcopy(v) for k, v in source.items() if k not in ("name", "volumeClaimTemplate")}
            if source.get("volumeClaimTemplate") is not None:
                digest = hashlib.sha256(f'{pr["metadata"]["uid"]}/{source["name"]}'.encode()).hexdigest()[:10]
                binding["persistentVolumeClaim"] = {"claimName": f"pvc-{digest}"}
            sub = "/".join(p for p in (str(source.get("subPath") or ""), str(ws.get("subPath") or "")) if p)
            if sub:
                binding["subPath"] = sub
            out.append({"name": str(ws.get("name")), **binding})
        return out

    def _cancel_running(self, children: Mapping[str, _Obj | None], states: Mapping[str, str]) -> None:
        for name, tr in children.items():
            if tr is None or states.get(name) != "running" or (tr.get("spec") or {}).get("status"):
                continue
            updated = copy.deepcopy(tr)
            updated["spec"]["status"] = "TaskRunCancelled"
            updated["spec"]["statusMessage"] = "TaskRun cancelled as the PipelineRun it belongs to has timed out."
            with contextlib.suppress(Conflict, NotFound):
                self.store.update(self.task_runs, updated)

    def _results(self, spec: _Obj, children: Mapping[str, _Obj | None]) -> list[_Obj]:
        produced = {(t, str(r.get("name"))): r.get("value") for t, tr in children.items()
                    for r in ((tr or {}).get("status") or {}).get("results") or []}
        out = []
        for result in spec.get("results") or []:
            value = result.get("value")
            texts = [value] if isinstance(value, str) else []
            refs = [ref for text in texts for ref in result_refs(text)]
            if not refs or any((ref.task, ref.result) not in produced for ref in refs):
                continue
            if len(refs) == 1 and texts[0].strip() == f"$(tasks.{refs[0].task}.results.{refs[0].result})":
                out.append({"name": result["name"], "value": produced[(refs[0].task, refs[0].result)]})
                continue
            strings = {k: str(v) for (t, r), v in produced.items() for k in tv.keys(f"tasks.{t}.results", r)}
            out.append({"name": result["name"], "value": tv.apply(texts[0], strings)})
        return out

    def _write(self, pr: _Obj, status: _Obj) -> None:
        if pr.get("status") == status:
            return
        with contextlib.suppress(Conflict, NotFound):
            self.store.update(self.rt, {**pr, "status": status}, subresource="status")


class _Failure(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def _graph(spec: _Obj) -> dict[str, list[str]]:
    try:
        return build(spec.get("tasks") or [])
    except DagError as e:
        raise _Failure("PipelineInvalidGraph", str(e)) from e
