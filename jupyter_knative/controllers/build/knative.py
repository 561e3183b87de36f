"""Knative Build's reconciler (build.knative.dev/v1alpha1): Build → a pod of steps run by the step runner.

As knative/build's: a new Build gets `status.cluster.podName` first, is validated (its template exists, the
arguments fit the template's parameters, the service account and its secrets exist, its sources can become
steps; failures end in `BuildValidationFailed`), then gets its pod; from then on its status is read from the
pod (`status.from_pod`). What kubelets do in a cluster happens here in a background task per build: the
steps run one after another through the `StepRunner`, each writing the pod's status as it starts and ends.
Long work never holds a reconcile worker.

The build's deadline (`timeout`, 10m by default) is the step runner's: the running step's process group is
killed and the pod fails with reason `DeadlineExceeded`, the build with `BuildTimeout`. `spec.status:
BuildCancelled` stops the steps the same way (`BuildCancelled`). The pod is kept when a build ends, so its
steps' logs stay readable (`kubectl logs <pod> -c build-step-<name>`); the workspace is removed.

A daemon restart interrupts running builds: their processes are gone with the daemon, so a build found
running without a run in this process fails with reason `BuildInterrupted` (re-running steps that may
have pushed images or written elsewhere is not safe to do behind the user's back).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...api.build.knative import DEFAULT_SERVICE_ACCOUNT, timeout_seconds, validate_arguments
from ...api.printing import format_timestamp
from ...api.registry import ResourceType
from ...api.serving.goformat import Duration
from ...api.status import Conflict, NotFound
from ...build import Step, StepResult, StepRunner, Workspace, pod_status, step_pod
from ...store import Store
from ..replicaset.pods import ARGS_ENV, container_env
from ..runtime import Clock, Controller, EventRecorder, Manager, ObjectKey, Result, watch_objects, watch_owned
from . import resources, status
from .resources import InvalidBuild

log = logging.getLogger(__name__)

GROUP = "build.knative.dev"
COMPONENT = "build-controller"
CANCELLED = "BuildCancelled"
_DOCKER_HUB_TYPO = "index.docker.io"

_Obj = dict[str, Any]


@dataclass
class _Run:
    pod: str
    root: Path
    task: asyncio.Task[None] | None = None
    results: dict[str, StepResult] = field(default_factory=dict)


def _required(rt: ResourceType | None, what: str) -> ResourceType:
    if rt is None:
        raise LookupError(f"{what} must be registered")
    return rt


class KnativeBuildReconciler:
    def __init__(self, store: Store, clock: Clock, runner: StepRunner, workspaces: Path) -> None:
        self.store = store
        self.clock = clock
        self.runner = runner
        self.workspaces = Path(workspaces)
        reg = store.registry
        self.builds = _required(reg.by_kind(GROUP, "Build"), "Build")
        self.templates = _required(reg.by_kind(GROUP, "BuildTemplate"), "BuildTemplate")
        self.cluster_templates = _required(reg.by_kind(GROUP, "ClusterBuildTemplate"), "ClusterBuildTemplate")
        self.pods = _required(reg.by_kind("", "Pod"), "Pod")
        self.service_accounts = reg.by_kind("", "ServiceAccount")
        self.secrets = reg.by_kind("", "Secret")
        self.configmaps = reg.by_kind("", "ConfigMap")
        self.recorder = EventRecorder(store, COMPONENT, clock)
        self.controller: Controller[ObjectKey] = Controller(COMPONENT, self.reconcile, workers=2, clock=clock)
        self._runs: dict[ObjectKey, _Run] = {}
        self._shutting_down = False

    def register(self, manager: Manager) -> None:
        watch_objects(self.controller, manager.informer(self.builds))
        watch_owned(self.controller, manager.informer(self.pods), GROUP, "Build")
        manager.add(self.controller)

    async def shutdown(self) -> None:
        """Stop every running build's steps (the daemon is going down)."""
        self._shutting_down = True
        tasks = [run.task for run in self._runs.values() if run.task is not None and not run.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def running(self, namespace: str, name: str) -> bool:
        run = self._runs.get(ObjectKey(namespace, name))
        return run is not None and run.task is not None and not run.task.done()

    # --- reconcile --------------------------------------------------------------------------------------

    async def reconcile(self, key: ObjectKey) -> Result | None:
        build = self.store.get(self.builds, key.namespace, key.name)
        if build is None or build["metadata"].get("deletionTimestamp"):
            self._stop(key)
            return None
        if status.is_done(build):
            run = self._runs.get(key)
            if run is not None and (run.task is None or run.task.done()):
                del self._runs[key]
            return None
        if (build.get("spec") or {}).get("status") == CANCELLED:
            return await self._cancel(key, build)
        pod_name = ((build.get("status") or {}).get("cluster") or {}).get("podName") or ""
        if not pod_name:
            return await self._begin(key, build)
        pod = self.store.get(self.pods, key.namespace, pod_name)
        run = self._runs.get(key)
        if pod is None:
            if run is not None:
                self._stop(key)
                self._write(build, status.failed(build, "BuildExecuteFailed", f'pod "{pod_name}" was deleted',
                                                 now=self.clock.now(), pod_name=pod_name))
                return None
            return await self._launch(key, build, pod_name)  # the status was written, the pod not yet made
        if run is None:
            return self._interrupted(key, build, pod)
        self._write(build, status.from_pod(build, pod, timeout=self._timeout_text(build), now=self.clock.now()))
        return None

    def _timeout_text(self, build: Mapping[str, Any]) -> str:
        return str(Duration.seconds(timeout_seconds(build)))

    def _write(self, build: _Obj, new_status: _Obj) -> None:
        if build.get("status") == new_status:
            return
        try:
            self.store.update(self.builds, {**build, "status": new_status}, subresource="status")
        except NotFound:
            return

    async def _begin(self, key: ObjectKey, build: _Obj) -> Result | None:
        pod_name = resources.pod_name(key.name)
        placeholder = {"builder": status.CLUSTER, "cluster": {"namespace": key.namespace, "podName": pod_name},
                       "startTime": format_timestamp(self.clock.now()), "stepsCompleted": []}
        build = self.store.update(self.builds, {**build, "status": placeholder}, subresource="status")
        return await self._launch(key, build, pod_name)

    async def _launch(self, key: ObjectKey, build: _Obj, pod_name: str) -> Result | None:
        try:
            plan = self._plan(build)
        except InvalidBuild as e:
            self._write(build, status.failed(build, "BuildValidationFailed", str(e), now=self.clock.now()))
            self.recorder.event(build, "Warning", "BuildValidationFailed", str(e))
            return None
        pod = step_pod(name=pod_name, namespace=key.namespace, owner=build, init_containers=plan.init_containers,
                       containers=[resources.nop_container()],
                       labels={**(build["metadata"].get("labels") or {}), resources.BUILD_NAME_LABEL: key.name},
                       annotations={**(build["metadata"].get("annotations") or {}),
                                    "sidecar.istio.io/inject": "false"},
                       service_account=(build.get("spec") or {}).get("serviceAccountName") or "",
                       volumes=plan.volumes)
        try:
            pod = self.store.create(self.pods, pod)
        except Exception as e:
            self._write(build, status.failed(build, "BuildExecuteFailed", str(e), now=self.clock.now(),
                                             pod_name=pod_name))
            return None
        self._start(key, pod, plan, deadline=self.clock.now() + timeout_seconds(build))
        self._write(build, status.from_pod(build, pod, timeout=self._timeout_text(build), now=self.clock.now()))
        return None

    # --- validation and the pod ---------------------------------------------------------------------

    def _template(self, build: Mapping[str, Any]) -> _Obj | None:
        ref = (build.get("spec") or {}).get("template")
        if not ref:
            return None
        ns = (build.get("metadata") or {}).get("namespace", "")
        if ref.get("kind") == "ClusterBuildTemplate":
            found = self.store.get(self.cluster_templates, "", ref.get("name", ""))
            where = f'clusterbuildtemplates.build.knative.dev "{ref.get("name")}" not found'
        else:
            found = self.store.get(self.templates, ns, ref.get("name", ""))
            where = f'buildtemplates.build.knative.dev "{ref.get("name")}" not found'
        if found is None:
            raise InvalidBuild(where)
        return found

    def _creds_args(self, build: Mapping[str, Any]) -> list[str]:
        """The credential initializer's arguments from the service account's annotated secrets."""
        ns = (build.get("metadata") or {}).get("namespace", "")
        name = (build.get("spec") or {}).get("serviceAccountName") or DEFAULT_SERVICE_ACCOUNT
        sa = self.store.get(self.service_accounts, ns, name) if self.service_accounts else None
        if sa is None:
            if name == DEFAULT_SERVICE_ACCOUNT:
                return []  # every namespace has one in a cluster; here it may not be written down
            raise InvalidBuild(f'serviceaccounts "{name}" not found')
        args: list[str] = []
        for ref in sa.get("secrets") or []:
            secret = self.store.get(self.secrets, ns, ref.get("name", "")) if self.secrets else None
            if secret is None:
                raise InvalidBuild(f'secrets "{ref.get("name")}" not found')
            args += _secret_args(secret)
        return args

    def _plan(self, build: _Obj) -> resources.PodPlan:
        template = self._template(build)
        if template is not None:
            problem = validate_arguments(build, template)
            if problem is not None:
                raise InvalidBuild(f"{problem[0]}: {problem[1]}")
        creds = self._creds_args(build)
        return resources.plan_pod(build, resources.apply_template(build, template), template, creds)

    # --- running ---------------------------------------------------------------------------------------

    def _start(self, key: ObjectKey, pod: _Obj, plan: resources.PodPlan, deadline: float) -> None:
        run = self._runs[key] = _Run(pod["metadata"]["name"], self.workspaces / key.namespace / pod["metadata"]["name"])
        run.task = asyncio.get_running_loop().create_task(self._execute(key, run, pod, plan, deadline),
                                                          name=f"build {key}")

    def _workspace(self, run: _Run, container: Mapping[str, Any], source: bool, sub_path: str) -> Workspace:
        ws = Workspace(run.root)
        workspace = run.root / "workspace"
        ws.mount(resources.WORKSPACE, workspace if source or not sub_path else workspace / sub_path)
        ws.mount(resources.HOME, run.root / "home")
        for mount in container.get("volumeMounts") or []:
            if mount.get("mountPath", "").startswith("/"):
                ws.mount(mount["mountPath"], run.root / "volumes" / mount.get("name", "") / mount.get("subPath", ""))
        return ws

    def _step(self, pod: _Obj, container: Mapping[str, Any]) -> Step:
        ns = pod["metadata"]["namespace"]
        env = container_env(pod, dict(container), lambda kind, name, item: self._env_source(ns, kind, name, item))
        env.pop(ARGS_ENV, None)
        return Step(container.get("name", ""), container.get("image", ""), list(container.get("command") or []),
                    list(container.get("args") or []), None, env, container.get("workingDir"))

    def _env_source(self, namespace: str, kind: str, name: str, item: str) -> str | None:
        rt = self.configmaps if kind == "configmap" else self.secrets
        obj = self.store.get(rt, namespace, name) if rt is not None else None
        raw = (obj or {}).get("data", {}).get(item) if obj else None
        if raw is None:
            return None
        return str(raw) if kind == "configmap" else base64.b64decode(raw).decode("utf-8", "replace")

    async def _execute(self, key: ObjectKey, run: _Run, pod: _Obj, plan: resources.PodPlan, deadline: float) -> None:
        containers = [*plan.init_containers, resources.nop_container()]
        timed_out = False
        try:
            for i, container in enumerate(containers):
                step = self._step(pod, container)
                ws = self._workspace(run, container, i < plan.sources, plan.sub_path)
                self._pod_status(key, run, running={step.name: self.clock.now()})
                result = await self.runner.run(key.namespace, run.pod, step, ws, deadline=deadline)
                run.results[step.name] = result
                if not result.succeeded:
                    timed_out = result.timed_out
                    break
            if timed_out:
                self._pod_status(key, run, failed=True, reason=status.TIMED_OUT_REASON,
                                 message=f'Build "{key.name}" failed to finish within its timeout')
            else:
                self._pod_status(key, run)
        except asyncio.CancelledError:
            if self._shutting_down:
                self._pod_status(key, run, failed=True, reason=status.INTERRUPTED_REASON,
                                 message=_interrupted_message(key.name))
            else:
                self._pod_status(key, run, failed=True, reason=CANCELLED, message="the build's steps were stopped")
            raise
        except Exception as e:
            log.exception("build %s: running its steps failed", key)
            self._pod_status(key, run, failed=True, reason="Error", message=f"running the steps failed: {e}")
        finally:
            await asyncio.to_thread(shutil.rmtree, run.root, True)

    def _pod_status(self, key: ObjectKey, run: _Run, *, running: Mapping[str, float] | None = None,
                    failed: bool = False, reason: str = "", message: str = "") -> None:
        for _ in range(5):
            pod = self.store.get(self.pods, key.namespace, run.pod)
            if pod is None:
                return
            new = pod_status(pod, results=run.results, running=running or {}, now=self.clock.now(), failed=failed,
                             reason=reason, message=message)
            if pod.get("status") == new:
                return
            try:
                self.store.update(self.pods, {**pod, "status": new}, subresource="status")
                return
            except Conflict:
                continue
            except NotFound:
                return

    def _stop(self, key: ObjectKey) -> None:
        run = self._runs.pop(key, None)
        if run is not None and run.task is not None and not run.task.done():
            run.task.cancel()

    async def _cancel(self, key: ObjectKey, build: _Obj) -> Result | None:
        run = self._runs.pop(key, None)
        if run is not None and run.task is not None and not run.task.done():
            run.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run.task
        pod_name = ((build.get("status") or {}).get("cluster") or {}).get("podName") or ""
        self._write(build, status.failed(build, CANCELLED, f'Build "{key.name}" was cancelled', now=self.clock.now(),
                                         pod_name=pod_name))
        return None

    def _interrupted(self, key: ObjectKey, build: _Obj, pod: _Obj) -> Result | None:
        """The build was running when the daemon stopped: its steps died with it."""
        new = {**pod.get("status", {}), "phase": "Failed", "reason": status.INTERRUPTED_REASON,
               "message": _interrupted_message(key.name)}
        with contextlib.suppress(Conflict, NotFound):
            pod = self.store.update(self.pods, {**pod, "status": new}, subresource="status")
        self._write(build, status.from_pod(build, pod, timeout=self._timeout_text(build), now=self.clock.now()))
        return None


def _interrupted_message(name: str) -> str:
    return (f'the jupyter-knative daemon stopped while build "{name}" was running, and its steps with it '
            "(create the Build again to run it again)")


def _secret_args(secret: Mapping[str, Any]) -> list[str]:
    """knative/build's credential builders: `build.knative.dev/git-*` and `docker-*` annotations of
    `kubernetes.io/basic-auth` and `kubernetes.io/ssh-auth` secrets."""
    meta = secret.get("metadata") or {}
    name, kind = meta.get("name", ""), secret.get("type", "")
    args = []
    for annotation, target in sorted((meta.get("annotations") or {}).items()):
        if annotation.startswith("build.knative.dev/docker-") and target == _DOCKER_HUB_TYPO:
            raise InvalidBuild(f'BadSecretAnnotation: Secret "{name}" has incorrect annotation "{annotation}" / '
                               f'"{target}", value should be "https://index.docker.io/v1/"')
        for family in ("git", "docker"):
            if not annotation.startswith(f"build.knative.dev/{family}-"):
                continue
            if kind == "kubernetes.io/basic-auth":
                args.append(f"-basic-{family}={name}={target}")
            elif kind == "kubernetes.io/ssh-auth" and family == "git":
                args.append(f"-ssh-git={name}={target}")
    return args
