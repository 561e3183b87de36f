"""Deployments → Pods → replica processes: what a ReplicaSet controller and the kubelet do in a cluster.

Pods carry a finalizer so that deleting one (scale-down, the revision going away, `kubectl delete pod`)
stops its process first: the pod shows Terminating until the replica has drained and exited. A replica
that exits is restarted with CrashLoopBackOff back-off, and its pod says why.

Volumes, as the kubelet mounts them before it starts a container: ConfigMap and Secret volumes (`items`,
`optional` and `subPath` honoured; `defaultMode` not) are written to folders of the runtime's `volumes`
(see `volumes.VolumeHost`), emptyDirs are fresh folders, other types are not set up. The replica learns
where its mount paths are from `JUPYTER_KNATIVE_MOUNTS` (`pods.MOUNTS_ENV`). A missing ConfigMap or Secret
that is not optional leaves the pod ContainerCreating with a `FailedMount` warning, retried with the
kubelet's volume back-off, and at once when that object is created.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...api.registry import ResourceType
from ...api.status import Conflict, NotFound
from ...build.pods import is_step_pod
from ...dataplane.replicas import ContainerSpec, PodRef, ReplicaRuntime, StartError, process_usage
from ...dataplane.routing import RevisionKey
from ...store import Store
from ..runtime import (
    Clock,
    Controller,
    EventRecorder,
    Manager,
    ObjectKey,
    Result,
    watch_mapped,
    watch_objects,
    watch_owned,
)
from . import pods
from .volumes import VolumeHost

log = logging.getLogger(__name__)
REVISION_LABEL = "serving.knative.dev/revision"
COMPONENT = "kubelet"

# image, namespace -> (digest, None) | (None, why not)
ImageResolver = Callable[[str, str], tuple[str | None, str | None]]
# revision -> [(pod name, port)] of its ready replicas
EndpointsSink = Callable[[RevisionKey, list[tuple[str, int]]], None]


@dataclass
class Replica:
    """The kubelet's memory of one pod's container."""

    uid: str
    revision: str = ""
    pid: int | None = None
    port: int | None = None
    started_at: float | None = None
    restarts: int = 0
    backoff_until: float = 0.0
    last_exit: dict[str, Any] | None = None
    waiting: tuple[str, str] | None = None
    starting: bool = False
    image_ids: dict[str, str] = field(default_factory=dict)
    finished: str = ""  # Succeeded or Failed for pods that are not restarted
    stopping: asyncio.Task[None] | None = None  # draining after SIGTERM (up to the grace period)
    mount_failures: int = 0  # failed volume set-ups in a row (the kubelet's volume back-off)


class ReplicaSetController:
    def __init__(self, store: Store, clock: Clock, runtime: ReplicaRuntime, resolve_image: ImageResolver,
                 publish_endpoints: EndpointsSink) -> None:
        self.store = store
        self.clock = clock
        self.runtime = runtime
        self.resolve_image = resolve_image
        self.publish_endpoints = publish_endpoints
        self.recorder = EventRecorder(store, COMPONENT, clock)
        reg = store.registry
        self.deployments: ResourceType = _required(reg.by_kind("apps", "Deployment"))
        self.pods: ResourceType = _required(reg.by_kind("", "Pod"))
        self.replicas: dict[ObjectKey, Replica] = {}
        root = getattr(runtime, "volumes", None)  # where the runtime wants pods' volumes (None: not set up)
        self.volumes = VolumeHost(root) if isinstance(root, Path) else None
        if self.volumes is not None:
            self.volumes.reset()
        self._mount_waits: dict[ObjectKey, tuple[str, str]] = {}  # pod -> the missing (kind, name) it waits for
        self._progress: dict[ObjectKey, float] = {}
        self._stopping: set[asyncio.Task[None]] = set()
        self.deployment_controller: Controller[ObjectKey] = Controller(
            "replicaset-controller", self.reconcile_deployment, workers=1, clock=clock)
        self.pod_controller: Controller[ObjectKey] = Controller("kubelet", self.reconcile_pod, workers=4, clock=clock)
        runtime.on_exit(self._exited)

    def register(self, manager: Manager) -> None:
        dep_informer = manager.informer(self.deployments)
        pod_informer = manager.informer(self.pods)
        watch_objects(self.deployment_controller, dep_informer)
        watch_owned(self.deployment_controller, pod_informer, "apps", "Deployment")
        watch_objects(self.pod_controller, pod_informer)
        for kind, source in ((pods.CONFIG_MAP, "ConfigMap"), (pods.SECRET, "Secret")):
            rt = self.store.registry.by_kind("", source)
            if rt is not None:
                watch_mapped(self.pod_controller, manager.informer(rt), self._waiting_for(kind))
        manager.add(self.deployment_controller)
        manager.add(self.pod_controller)

    async def shutdown(self, grace: float = 5.0) -> None:
        """Stop every replica (the daemon is going down; pods stay, to be restarted by the next `up`)."""
        for key, replica in list(self.replicas.items()):
            if replica.pid is not None:
                await self.runtime.stop(PodRef(key.namespace, key.name, replica.uid), grace)

    # --- deployments ---------------------------------------------------------------------------------

    def _owned_pods(self, dep: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for rt, ns, name in self.store.dependents(dep["metadata"]["uid"]):
            if rt.key == self.pods.key:
                pod = self.store.get(rt, ns, name)
                if pod is not None:
                    out.append(pod)
        return out

    async def reconcile_deployment(self, key: ObjectKey) -> Result | None:
        dep = self.store.get(self.deployments, key.namespace, key.name)
        if dep is None or dep["metadata"].get("deletionTimestamp"):
            self._progress.pop(key, None)
            return None
        owned = self._owned_pods(dep)
        live = [p for p in owned if not p["metadata"].get("deletionTimestamp")]
        current = pods.replica_set_name(dep).rsplit("-", 1)[1]
        new = [p for p in live if (p["metadata"].get("labels") or {}).get(pods.TEMPLATE_HASH) == current]
        old = [p for p in live if p not in new]
        want = int((dep.get("spec") or {}).get("replicas", 1))
        for _ in range(want - len(new)):
            self.store.create(self.pods, pods.new_pod(dep))
        if len(new) > want:
            extra = sorted(new, key=lambda p: (pods.pod_ready(p), p["metadata"]["creationTimestamp"]))
            for pod in extra[: len(new) - want]:
                self._delete_pod(pod)
        if old and sum(1 for p in new if pods.pod_ready(p)) >= want:
            for pod in old:
                self._delete_pod(pod)
        now = self.clock.now()
        settled = sum(1 for p in new if pods.pod_ready(p)) >= want and not old
        if settled:
            self._progress.pop(key, None)
        else:
            self._progress.setdefault(key, now)
        status = pods.deployment_status(dep, self._owned_pods(dep), now, self._progress.get(key))
        if dep.get("status") != status:
            try:
                self.store.update(self.deployments, {**dep, "status": status}, subresource="status")
            except (Conflict, NotFound):
                return Result(requeue=True)
        return None if settled else Result(requeue_after=5.0)

    def _delete_pod(self, pod: dict[str, Any]) -> None:
        with contextlib.suppress(NotFound):
            self.store.delete(self.pods, pod["metadata"]["namespace"], pod["metadata"]["name"])

    # --- pods ------------------------------------------------------------------------------------------

    async def reconcile_pod(self, key: ObjectKey) -> Result | None:
        pod = self.store.get(self.pods, key.namespace, key.name)
        replica = self.replicas.get(key)
        if pod is None:
            self._mount_waits.pop(key, None)
            if replica is not None:
                self.replicas.pop(key, None)
                self._terminate(key, replica, 0.0)  # looks at the pod again once stopped: released then
            elif self.volumes is not None:
                self.volumes.release(key)
            return None
        if is_step_pod(pod):  # a build's pod: its steps run in the build executor, not as a replica
            return None
        if replica is None or replica.uid != pod["metadata"]["uid"]:
            restarts = _restart_count(pod)
            replica = self.replicas[key] = Replica(
                pod["metadata"]["uid"], (pod["metadata"].get("labels") or {}).get(REVISION_LABEL, ""),
                restarts=restarts)
        if pod["metadata"].get("deletionTimestamp"):
            if replica.stopping is not None and not replica.stopping.done():
                return None  # still draining: its end enqueues the pod again
            if replica.pid is not None:
                grace = float((pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
                self._terminate(key, replica, grace)
                return None
            self.replicas.pop(key, None)
            self._mount_waits.pop(key, None)
            if self.volumes is not None:
                self.volumes.release(key)
            self._remove_finalizer(key)
            return None
        if replica.pid is not None or replica.starting or replica.finished:
            self._write_status(key, replica)
            return None
        now = self.clock.now()
        if replica.backoff_until > now:
            self._write_status(key, replica)
            return Result(requeue_after=replica.backoff_until - now)
        return await self._start(key, pod, replica)

    def _config_object(self, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
        """A ConfigMap (kind `configmap`) or Secret (`secret`), or None."""
        rt = self.store.registry.by_kind("", "ConfigMap" if kind == pods.CONFIG_MAP else "Secret")
        return self.store.get(rt, namespace, name) if rt is not None and name else None

    def _waiting_for(self, kind: str) -> Callable[[dict[str, Any]], list[ObjectKey]]:
        """Maps a ConfigMap or Secret (`kind`) to the pods whose mounts wait for it."""
        def pods_waiting(obj: dict[str, Any]) -> list[ObjectKey]:
            meta = obj.get("metadata") or {}
            wanted = (kind, meta.get("name", ""))
            return [key for key, waits in self._mount_waits.items()
                    if waits == wanted and key.namespace == meta.get("namespace")]
        return pods_waiting

    def _env_source(self, namespace: str, kind: str, name: str, item: str) -> str | None:
        """A ConfigMap's or Secret's key, for `valueFrom` env (None when either is missing)."""
        obj = self._config_object(namespace, kind, name)
        if obj is None:
            return None
        if kind == "configmap":
            value = (obj.get("data") or {}).get(item)
            return None if value is None else str(value)
        raw = (obj.get("data") or {}).get(item)
        return None if raw is None else base64.b64decode(raw).decode("utf-8", "replace")

    async def _start(self, key: ObjectKey, pod: dict[str, Any], replica: Replica) -> Result | None:
        containers = (pod.get("spec") or {}).get("containers") or []
        if not containers:
            return None
        container = containers[0]
        try:
            mounts = self._mount(key, pod, replica, container)
        except pods.MountError as e:
            return self._mount_failed(key, pod, replica, e)
        image = container.get("image", "")
        digest, error = self.resolve_image(image, key.namespace)
        if digest is None:
            replica.waiting = ("ErrImagePull" if not replica.waiting else "ImagePullBackOff",
                               error or f'failed to pull image "{image}"')
            replica.backoff_until = self.clock.now() + pods.backoff(1)
            self._write_status(key, replica)
            self.recorder.event(pod, "Warning", "Failed", f'Failed to pull image "{image}": {error}')
            return Result(requeue_after=pods.backoff(1))
        replica.image_ids = {c.get("name", ""): c.get("image", "") for c in containers[1:]}
        replica.image_ids[container.get("name", "")] = digest
        env = pods.container_env(pod, container, lambda kind, name, item: self._env_source(key.namespace, kind, name,
                                                                                           item))
        env.setdefault("HOSTNAME", key.name)
        shared, table = mounts
        pod_env: dict[str, str] = {}
        if shared:
            env[pods.MOUNTS_ENV] = json.dumps(shared, sort_keys=True)
        if table != shared:
            pod_env[pods.MOUNTS_ENV] = json.dumps(table, sort_keys=True)
        replica.starting = True
        ref = PodRef(key.namespace, key.name, replica.uid)
        try:
            started = await self.runtime.start(ref, ContainerSpec(container.get("name", ""), image, env,
                                                                  replica.restarts, pod_env))
        except StartError as e:
            replica.starting = False
            if e.exit_code is None:
                replica.waiting = (e.reason, e.message)
                replica.backoff_until = self.clock.now() + pods.backoff(max(1, replica.restarts))
                self._write_status(key, replica)
                return Result(requeue_after=pods.backoff(max(1, replica.restarts)))
            self._record_exit(key, replica, e.exit_code, e.message)
            return Result(requeue_after=max(0.0, replica.backoff_until - self.clock.now()))
        replica.starting = False
        if key not in self.replicas or self.replicas[key] is not replica:  # deleted while starting
            await self.runtime.stop(ref, 0.0)
            return None
        replica.pid, replica.port, replica.started_at = started.pid, started.port, self.clock.now()
        replica.waiting = None
        if replica.restarts == 0 or replica.last_exit is None:
            self.recorder.event(pod, "Normal", "Started", f"Started container {container.get('name', '')}")
        self._write_status(key, replica)
        self._publish(key.namespace, replica.revision)
        return None

    def _mount(self, key: ObjectKey, pod: dict[str, Any], replica: Replica, container: dict[str, Any]
               ) -> tuple[dict[str, str], dict[str, str]]:
        """Set the pod's volumes up; (the shared mount table, the pod's whole table). Raises `MountError`."""
        volumes = pods.plan_volumes(pod, lambda kind, name: self._config_object(key.namespace, kind, name))
        self._mount_waits.pop(key, None)
        if self.volumes is None or not volumes:
            replica.mount_failures = 0
            return {}, {}
        try:
            hosts = self.volumes.setup(key, replica.uid, volumes)
        except OSError as exc:
            raise pods.MountError(next(iter(volumes)).name, str(exc)) from None
        replica.mount_failures = 0
        return pods.mount_tables(pods.container_mounts(container), volumes, hosts)

    def _mount_failed(self, key: ObjectKey, pod: dict[str, Any], replica: Replica, error: pods.MountError
                      ) -> Result:
        """The kubelet's answer to a volume it cannot set up: the pod stays ContainerCreating, a FailedMount
        warning says why, and the set-up is retried (sooner when the missing object appears)."""
        if error.waiting_on is not None:
            self._mount_waits[key] = error.waiting_on
        replica.mount_failures += 1
        replica.waiting = None
        self._write_status(key, replica)
        self.recorder.event(pod, "Warning", "FailedMount", error.message)
        return Result(requeue_after=pods.volume_backoff(replica.mount_failures))

    def _terminate(self, key: ObjectKey, replica: Replica, grace: float) -> None:
        """Stop the replica in the background — it may drain for its whole grace period (a revision's
        timeoutSeconds) and must not hold a worker meanwhile — then look at the pod again."""
        pid = replica.pid
        replica.pid = None
        self._publish(key.namespace, replica.revision)

        async def stop() -> None:
            try:
                if pid is not None:
                    await self.runtime.stop(PodRef(key.namespace, key.name, replica.uid), grace)
            finally:
                self.pod_controller.enqueue(key)
        task = replica.stopping = asyncio.ensure_future(stop())
        self._stopping.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._stopping.discard)

    def _remove_finalizer(self, key: ObjectKey) -> None:
        pod = self.store.get(self.pods, key.namespace, key.name)
        if pod is None or pods.FINALIZER not in (pod["metadata"].get("finalizers") or []):
            return
        pod["metadata"]["finalizers"] = [f for f in pod["metadata"]["finalizers"] if f != pods.FINALIZER]
        try:
            self.store.update(self.pods, pod)
        except (Conflict, NotFound):
            self.pod_controller.enqueue(key)

    def _exited(self, ref: PodRef, returncode: int, last_lines: str) -> None:
        key = ObjectKey(ref.namespace, ref.name)
        replica = self.replicas.get(key)
        if replica is None or replica.uid != ref.uid or replica.pid is None:
            return
        replica.pid = None
        self._publish(ref.namespace, replica.revision)
        self._record_exit(key, replica, returncode, last_lines)
        self.pod_controller.enqueue(key)

    def _record_exit(self, key: ObjectKey, replica: Replica, code: int, message: str) -> None:
        now = self.clock.now()
        ran = now - (replica.started_at or now)
        replica.last_exit = pods.terminated(code, message, replica.started_at, now)
        pod = self.store.get(self.pods, key.namespace, key.name)
        policy = ((pod or {}).get("spec") or {}).get("restartPolicy", "Always")
        if policy == "Never" or (policy == "OnFailure" and code == 0):
            replica.finished = "Succeeded" if code == 0 else "Failed"
            self._write_status(key, replica)
            return
        if ran > pods.BACKOFF_RESET:
            replica.backoff_until = now
        replica.restarts += 1
        delay = pods.backoff(replica.restarts)
        replica.backoff_until = now + delay
        name = ((pod or {}).get("spec") or {}).get("containers", [{}])[0].get("name", "")
        replica.waiting = ("CrashLoopBackOff", f"back-off {int(delay)}s restarting failed container={name} "
                                               f"pod={key.name}_{key.namespace}({replica.uid})")
        self._write_status(key, replica)
        if pod is not None:
            self.recorder.event(pod, "Warning", "BackOff", "Back-off restarting failed container "
                                                           f"{name} in pod {key.name}_{key.namespace}({replica.uid})")

    def _write_status(self, key: ObjectKey, replica: Replica) -> None:
        pod = self.store.get(self.pods, key.namespace, key.name)
        if pod is None:
            return
        running = replica.pid is not None
        status = pods.status(pod, now=self.clock.now(), running=running, ready=running,
                             started_at=replica.started_at, restarts=replica.restarts, waiting=replica.waiting,
                             last_exit=replica.last_exit, image_ids=replica.image_ids,
                             phase=replica.finished or None)
        if pod.get("status") == status:
            return
        try:
            self.store.update(self.pods, {**pod, "status": status}, subresource="status")
        except (Conflict, NotFound):
            self.pod_controller.enqueue(key)
            return
        for ref in pod["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == "Deployment":
                self.deployment_controller.enqueue(ObjectKey(key.namespace, ref["name"]))

    def usage(self) -> dict[RevisionKey, list[tuple[int, float, int]]]:
        """Per revision, each running replica's (pid, CPU seconds used so far, resident bytes)."""
        out: dict[RevisionKey, list[tuple[int, float, int]]] = {}
        for key, r in self.replicas.items():
            if r.pid is None or not r.revision:
                continue
            measured = process_usage(r.pid)
            if measured is not None:
                out.setdefault(RevisionKey(key.namespace, r.revision), []).append((r.pid, *measured))
        return out

    def _publish(self, namespace: str, revision: str) -> None:
        if not revision:
            return
        endpoints = sorted((key.name, r.port) for key, r in self.replicas.items()
                           if key.namespace == namespace and r.revision == revision and r.pid is not None
                           and r.port is not None)
        self.publish_endpoints(RevisionKey(namespace, revision), endpoints)


def _restart_count(pod: dict[str, Any]) -> int:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        return int(cs.get("restartCount", 0))
    return 0


def _required(rt: ResourceType | None) -> ResourceType:
    if rt is None:
        raise LookupError("Deployment and Pod types must be registered")
    return rt
