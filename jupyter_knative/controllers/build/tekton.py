"""The TaskRun controller: runs a TaskRun's steps one after another with the step runner, shows them as a Pod
(`<taskrun>-pod`, one `step-<name>` container per step) and writes the TaskRun's status as Tekton does.

A reconcile is level-based: it reads the TaskRun and the run in progress (kept in memory, by uid) and writes
the status they amount to. Starting a run resolves the task (taskRef or taskSpec), lays out the run's
directories (`/workspace`, `/tekton/results`, bound workspaces: emptyDir, ConfigMap and Secret keys as files,
a PersistentVolumeClaim as a directory shared by every run that names the claim) and starts the steps in the
background; each step's end queues the TaskRun again. The deadline is `startTime + spec.timeout`: the runner
kills the step running then, and the rest never start. A TaskRun that was running when the plane stopped runs
again from its first step (a new pod, as Tekton makes one when the old is gone), within its original deadline.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...api.printing import format_timestamp, parse_timestamp
from ...api.registry import ResourceType
from ...api.serving.goformat import Duration, parse_duration
from ...api.status import Conflict, NotFound, StatusError
from ...build.pods import container, pod_status, step_pod
from ...build.steps import StepResult, StepRunner
from ...build.workspace import Workspace
from ...store import Store
from ..runtime import Controller, Manager, ObjectKey, Result, watch_objects, watch_owned
from . import tekton_status as st
from .tekton_spec import RESULTS_DIR, STEPS_DIR, ResolveError, TaskPlan, plan_task_run

if TYPE_CHECKING:
    from .pipelines import PipelineRunController

__all__ = ["TEKTON", "TaskRunController", "Tekton", "add_tekton", "pod_name"]

log = logging.getLogger(__name__)

TEKTON = "tekton.dev"
MANAGED_BY = "app.kubernetes.io/managed-by"
_Obj = dict[str, Any]


def pod_name(task_run: str) -> str:
    return f"{task_run}-pod"


def _type(store: Store, group: str, kind: str) -> ResourceType:
    rt = store.registry.by_kind(group, kind)
    if rt is None:
        raise LookupError(f"{kind}.{group} is not registered")
    return rt


@dataclass
class _Run:
    uid: str
    pod: str
    plan: TaskPlan
    workspace: Workspace
    deadline: float | None
    results: dict[str, StepResult] = field(default_factory=dict)
    running: dict[str, float] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)
    written: dict[str, str] = field(default_factory=dict)
    timed_out: bool = False
    finished: bool = False
    error: str = ""
    task: asyncio.Task[None] | None = None


class TaskRunController:
    def __init__(self, manager: Manager, runner: StepRunner, work: Path) -> None:
        self.store, self.clock, self.runner, self.work = manager.store, manager.clock, runner, Path(work)
        self.rt = _type(self.store, TEKTON, "TaskRun")
        self.tasks = _type(self.store, TEKTON, "Task")
        self.pods = _type(self.store, "", "Pod")
        self.runs: dict[ObjectKey, _Run] = {}
        self.controller: Controller[ObjectKey] = Controller("taskrun-controller", self.reconcile, workers=2,
                                                            clock=self.clock)
        manager.add(self.controller)
        watch_objects(self.controller, manager.informer(self.rt))
        watch_owned(self.controller, manager.informer(self.pods), TEKTON, "TaskRun")

    # --- reconcile ----------------------------------------------------------------------------------------

    async def reconcile(self, key: ObjectKey) -> Result | None:
        tr = self.store.get(self.rt, key.namespace, key.name)
        run = self.runs.get(key)
        if tr is None or tr["metadata"].get("deletionTimestamp") or (run and run.uid != tr["metadata"]["uid"]):
            await self._stop(key)
            run = None
            if tr is None or tr["metadata"].get("deletionTimestamp"):
                return None
        status = copy.deepcopy(tr.get("status") or {})
        if _done(status):
            await self._stop(key)
            return None
        now = self.clock.now()
        if (tr.get("spec") or {}).get("status") == "TaskRunCancelled":
            await self._stop(key)
            self._cancelled(tr, status, run, now)
            return None
        if run is None:
            started = self._start(key, tr, status, now)
            if started is None:
                return None
            run = started
        self._write(tr, status, run, now)
        if run.finished:
            self.runs.pop(key, None)
        return None

    def _start(self, key: ObjectKey, tr: _Obj, status: _Obj, now: float) -> _Run | None:
        status.setdefault("podName", pod_name(key.name))
        status.setdefault("startTime", format_timestamp(now))
        try:
            spec, task_name = self._task_spec(tr)
            plan = plan_task_run(tr, spec, task_name)
        except ResolveError as e:
            st.set_condition(status, "False", e.reason, e.message, now)
            status["completionTime"] = format_timestamp(now)
            self._update_status(tr, status)
            return None
        timeout = parse_duration(str((tr.get("spec") or {}).get("timeout") or "1h")).ns / 1e9
        start = parse_timestamp(status["startTime"])
        deadline = start + timeout if timeout > 0 else None
        root = self.work / key.namespace / f'{key.name}-{tr["metadata"]["uid"][:8]}'
        run = _Run(tr["metadata"]["uid"], status["podName"], plan, Workspace(root), deadline)
        self.runs[key] = run
        self._ensure_pod(tr, run)
        run.task = asyncio.get_running_loop().create_task(self._execute(key, tr, run), name=f"taskrun-{key}")
        return run

    def _task_spec(self, tr: _Obj) -> tuple[_Obj, str]:
        spec = tr.get("spec") or {}
        if spec.get("taskSpec") is not None:
            return copy.deepcopy(spec["taskSpec"]), ""
        ref = spec.get("taskRef") or {}
        name = str(ref.get("name") or "")
        task = self.store.get(self.tasks, tr["metadata"]["namespace"], name) if name else None
        if task is None:
            raise ResolveError("CouldntGetTask", f'Error retrieving task for taskrun "{tr["metadata"]["name"]}": '
                                                 f'tasks.tekton.dev "{name}" not found')
        return copy.deepcopy(task.get("spec") or {}), name

    async def stop(self, key: ObjectKey) -> None:
        """Stop the run of `key` (its step is killed); nothing is written."""
        await self._stop(key)

    async def _stop(self, key: ObjectKey) -> None:
        run = self.runs.pop(key, None)
        if run is not None and run.task is not None and not run.task.done():
            run.task.cancel()
            await asyncio.gather(run.task, return_exceptions=True)

    # --- status -------------------------------------------------------------------------------------------

    def _write(self, tr: _Obj, status: _Obj, run: _Run, now: float) -> None:
        name = tr["metadata"]["name"]
        timeout = str(Duration(parse_duration(str(tr["spec"].get("timeout") or "1h")).ns))
        timeout_message = f'TaskRun "{name}" failed to finish within "{timeout}"'
        pod = self.store.get(self.pods, tr["metadata"]["namespace"], run.pod)
        pod_uid = str(((pod or {}).get("metadata") or {}).get("uid", ""))
        status["podName"] = run.pod
        status["steps"] = st.step_states(run.plan.steps, run.results, run.running, run.skipped, pod_uid,
                                         (st.TIMED_OUT, timeout_message) if run.timed_out else None)
        status["taskSpec"] = run.plan.spec
        if not run.finished:
            started = bool(run.running or run.results)
            st.set_condition(status, "Unknown", st.RUNNING if started else st.PENDING,
                             st.RUNNING_MESSAGE if started else "Pending", now)
        elif run.timed_out:
            st.set_condition(status, "False", st.TIMED_OUT, timeout_message, now)
        elif run.error:
            st.set_condition(status, "False", st.FAILED, run.error, now)
        elif any(not r.succeeded for c, r in run.results.items() if not _continues(run, c)):
            st.set_condition(status, "False", st.FAILED,
                             st.failure_message(run.plan.steps, run.results, run.skipped), now)
        else:
            st.set_condition(status, "True", st.SUCCEEDED, st.SUCCEEDED_MESSAGE, now)
        if run.finished:
            status["completionTime"] = format_timestamp(now)
            entries = st.result_entries(run.plan.results, run.written)
            if entries:
                status["results"] = entries
        self._update_status(tr, status)
        self._pod_status(tr, run, now, timeout_message)

    def _cancelled(self, tr: _Obj, status: _Obj, run: _Run | None, now: float) -> None:
        message = f'TaskRun "{tr["metadata"]["name"]}" was cancelled. {tr["spec"].get("statusMessage") or ""}'
        st.set_condition(status, "False", st.CANCELLED, message.rstrip() + (" " if message.endswith(" ") else ""),
                         now)
        status["completionTime"] = format_timestamp(now)
        self._update_status(tr, status)

    def _update_status(self, tr: _Obj, status: _Obj) -> None:
        if tr.get("status") == status:
            return
        with contextlib.suppress(Conflict, NotFound):
            self.store.update(self.rt, {**tr, "status": status}, subresource="status")

    # --- the pod ------------------------------------------------------------------------------------------

    def _ensure_pod(self, tr: _Obj, run: _Run) -> None:
        ns = tr["metadata"]["namespace"]
        existing = self.store.get(self.pods, ns, run.pod)
        if existing is not None:
            owners = existing["metadata"].get("ownerReferences") or []
            if any(o.get("uid") == run.uid for o in owners):
                return
            with contextlib.suppress(NotFound):
                self.store.delete(self.pods, ns, run.pod)
        labels = {**(tr["metadata"].get("labels") or {}), "tekton.dev/taskRun": tr["metadata"]["name"],
                  "tekton.dev/taskRunUID": run.uid, MANAGED_BY: "tekton-pipelines"}
        if run.plan.task_name:
            labels["tekton.dev/task"] = run.plan.task_name
        pod = step_pod(name=run.pod, namespace=ns, owner=tr, init_containers=[],
                       containers=[container(p.step) for p in run.plan.steps], labels=labels,
                       service_account=str(tr["spec"].get("serviceAccountName") or ""))
        try:
            self.store.create(self.pods, pod)
        except StatusError as e:
            log.warning("taskrun %s: cannot create pod %s: %s", tr["metadata"]["name"], run.pod, e)

    def _pod_status(self, tr: _Obj, run: _Run, now: float, timeout_message: str) -> None:
        pod = self.store.get(self.pods, tr["metadata"]["namespace"], run.pod)
        if pod is None:
            return
        status = pod_status(pod, results=run.results, running=run.running, now=now, failed=run.timed_out,
                            reason=st.TIMED_OUT if run.timed_out else "",
                            message=timeout_message if run.timed_out else "")
        if pod.get("status") == status:
            return
        with contextlib.suppress(Conflict, NotFound):
            self.store.update(self.pods, {**pod, "status": status}, subresource="status")

    # --- running ------------------------------------------------------------------------------------------

    async def _execute(self, key: ObjectKey, tr: _Obj, run: _Run) -> None:
        try:
            self._prepare(tr, run)
            stop = False
            for plan in run.plan.steps:
                name = plan.step.name
                if stop or (run.deadline is not None and self.clock.now() >= run.deadline):
                    now = self.clock.now()
                    run.results[name] = StepResult(name, 1, "Error", "", now, now, "")
                    run.skipped.add(name)
                    run.timed_out = run.timed_out or (run.deadline is not None and now >= run.deadline)
                    continue
                run.running[name] = self.clock.now()
                self.controller.enqueue(key)
                result = await self.runner.run(key.namespace, run.pod, plan.step, run.workspace,
                                               deadline=run.deadline)
                run.running.pop(name, None)
                run.results[name] = result
                _write_text(run.workspace.host_path(f"{STEPS_DIR}/{name}/exitCode"), str(result.exit_code))
                run.timed_out = run.timed_out or result.timed_out
                stop = result.timed_out or (not result.succeeded and plan.on_error != "continue")
                self.controller.enqueue(key)
            run.written = _read_results(run)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a run that cannot go on fails, with the reason in its status
            log.exception("taskrun %s failed", key)
            run.error = f"the run failed: {e}"
        finally:
            run.running.clear()
            run.finished = True
            self.controller.enqueue(key)

    def _prepare(self, tr: _Obj, run: _Run) -> None:
        ws, root = run.workspace, run.workspace.root
        if root.exists():
            shutil.rmtree(root)
        for path, sub in (("/workspace", "workspace"), (RESULTS_DIR, "results"), ("/tekton/home", "home"),
                          (STEPS_DIR, "steps"), ("/tekton/creds", "creds")):
            (root / sub).mkdir(parents=True, exist_ok=True)
            ws.mount(path, root / sub)
        for plan in run.plan.workspaces:
            if not plan.binding:
                continue
            host = self._workspace_dir(tr, root, plan.name, plan.binding)
            sub_path = str(plan.binding.get("subPath") or "")
            host = host / sub_path if sub_path else host
            host.mkdir(parents=True, exist_ok=True)
            ws.mount(plan.mount_path, host)

    def _workspace_dir(self, tr: _Obj, root: Path, name: str, binding: _Obj) -> Path:
        ns = tr["metadata"]["namespace"]
        claim = (binding.get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            return Path(self.work / "claims" / ns / str(claim))
        host = root / "workspaces" / name
        host.mkdir(parents=True, exist_ok=True)
        if binding.get("configMap") is not None:
            source = self.store.get(_type(self.store, "", "ConfigMap"), ns, str(binding["configMap"].get("name")))
            _write_keys(host, (source or {}).get("data") or {}, binding["configMap"].get("items"))
        elif binding.get("secret") is not None:
            source = self.store.get(_type(self.store, "", "Secret"), ns, str(binding["secret"].get("secretName")))
            data = {k: base64.b64decode(v).decode("utf-8", "replace")
                    for k, v in ((source or {}).get("data") or {}).items()}
            data.update((source or {}).get("stringData") or {})
            _write_keys(host, data, binding["secret"].get("items"))
        return host


def _continues(run: _Run, container_name: str) -> bool:
    return any(p.step.name == container_name and p.on_error == "continue" for p in run.plan.steps) \
        and container_name not in run.skipped


def _done(status: _Obj) -> bool:
    return any(c.get("type") == "Succeeded" and c.get("status") in ("True", "False")
               for c in status.get("conditions") or [])


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _write_keys(host: Path, data: dict[str, Any], items: list[_Obj] | None) -> None:
    """A ConfigMap's or Secret's keys as files (only the `items` listed, at their paths, when given)."""
    mapping = {str(i.get("key")): str(i.get("path") or i.get("key")) for i in items or []} \
        or {k: k for k in data}
    for key, path in mapping.items():
        if key in data:
            _write_text(host / path, str(data[key]))


def _read_results(run: _Run) -> dict[str, str]:
    folder = run.workspace.host_path(RESULTS_DIR)
    out = {}
    for spec in run.plan.results:
        path = folder / str(spec.get("name"))
        if path.is_file():
            out[str(spec.get("name"))] = path.read_text(errors="replace")
    return out


@dataclass
class Tekton:
    """The Tekton controllers added to a manager."""

    task_runs: TaskRunController
    pipeline_runs: PipelineRunController

    async def shutdown(self) -> None:
        """Stop the steps running now (the plane is going down); their TaskRuns run again after a restart."""
        for key in list(self.task_runs.runs):
            await self.task_runs.stop(key)


def add_tekton(manager: Manager, runner: StepRunner, work: Path | None = None) -> Tekton:
    """The Tekton controllers (TaskRun, PipelineRun) on `manager`, running steps with `runner`; each run's
    directories go under `work` (default: beside the runner's logs, `<home>/tekton-runs`)."""
    from .pipelines import PipelineRunController

    task_runs = TaskRunController(manager, runner, work or runner.logs.parent / "tekton-runs")
    return Tekton(task_runs, PipelineRunController(manager))
