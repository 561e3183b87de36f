"""Pods as a ReplicaSet and the kubelet shape them (pure): names, template hashes, status transitions,
restart back-off, the Deployment's status from its pods, the container's environment, and the volumes the
kubelet sets up (ConfigMap, Secret, emptyDir) with the mount table a replica reads them through."""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import posixpath
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...api.printing import format_timestamp

FINALIZER = "jupyter-knative.dev/replica"
TEMPLATE_HASH = "pod-template-hash"
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
BACKOFF_START, BACKOFF_MAX, BACKOFF_RESET = 10.0, 300.0, 600.0
TERMINATION_MESSAGE_BYTES = 4096


def template_hash(template: dict[str, Any]) -> str:
    raw = json.dumps(template, sort_keys=True).encode()
    digest = int(hashlib.sha256(raw).hexdigest()[:16], 16)
    return "".join(_ALPHABET[(digest >> (5 * i)) % len(_ALPHABET)] for i in range(10))


def replica_set_name(deployment: dict[str, Any]) -> str:
    return f'{deployment["metadata"]["name"]}-{template_hash(deployment["spec"].get("template") or {})}'


def new_pod(deployment: dict[str, Any]) -> dict[str, Any]:
    """A pod for the deployment's current template, owned by the deployment (no ReplicaSet object)."""
    template = copy.deepcopy(deployment["spec"].get("template") or {})
    meta = template.get("metadata") or {}
    rs = replica_set_name(deployment)
    labels = {**(meta.get("labels") or {}), TEMPLATE_HASH: rs.rsplit("-", 1)[1]}
    owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment["metadata"]["name"],
             "uid": deployment["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"{rs}-" + "".join(secrets.choice(_ALPHABET) for _ in range(5)),
                     "namespace": deployment["metadata"]["namespace"], "labels": labels,
                     "annotations": dict(meta.get("annotations") or {}), "ownerReferences": [owner],
                     "finalizers": [FINALIZER]},
        "spec": template.get("spec") or {},
    }


def backoff(restarts: int) -> float:
    """The kubelet's CrashLoopBackOff: 10 s doubling to 5 min."""
    return float(min(BACKOFF_MAX, BACKOFF_START * 2.0 ** max(0, restarts - 1)))


def _condition(type_: str, status: bool, now: float) -> dict[str, Any]:
    return {"type": type_, "status": "True" if status else "False", "lastProbeTime": None,
            "lastTransitionTime": format_timestamp(now)}


def _conditions(old: list[dict[str, Any]], ready: bool, now: float) -> list[dict[str, Any]]:
    wanted = {"PodReadyToStartContainers": True, "Initialized": True, "Ready": ready, "ContainersReady": ready,
              "PodScheduled": True}
    out = []
    for type_, value in wanted.items():
        prev = next((c for c in old if c.get("type") == type_), None)
        if prev and prev.get("status") == ("True" if value else "False"):
            out.append(prev)
        else:
            out.append(_condition(type_, value, now))
    return out


def container_names(pod: dict[str, Any]) -> list[str]:
    return [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]


def status(pod: dict[str, Any], *, now: float, running: bool, ready: bool, started_at: float | None,
           restarts: int, waiting: tuple[str, str] | None, last_exit: dict[str, Any] | None,
           image_ids: dict[str, str], phase: str | None = None) -> dict[str, Any]:
    """The pod's status as the kubelet reports it. Every container of the pod shares the replica's fate
    (the queue-proxy container is the data plane's job, so it is ready when the replica is)."""
    old = pod.get("status") or {}
    statuses = []
    for i, name in enumerate(container_names(pod)):
        image = ((pod.get("spec") or {}).get("containers") or [])[i].get("image", "")
        cs: dict[str, Any] = {"name": name, "image": image, "imageID": image_ids.get(name, ""),
                              "ready": ready, "restartCount": restarts if i == 0 else 0,
                              "started": running}
        if running and started_at is not None:
            cs["state"] = {"running": {"startedAt": format_timestamp(started_at)}}
            cs["containerID"] = f"jupyter-knative://{pod['metadata']['uid']}/{name}"
        elif waiting is not None:
            cs["state"] = {"waiting": {"reason": waiting[0], "message": waiting[1]}}
        else:
            cs["state"] = {"waiting": {"reason": "ContainerCreating"}}
        if last_exit is not None and i == 0:
            cs["lastState"] = {"terminated": last_exit}
        else:
            cs["lastState"] = {}
        statuses.append(cs)
    result = {
        "phase": phase or ("Running" if running else "Pending"),
        "conditions": _conditions(old.get("conditions") or [], ready, now),
        "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
        "podIP": "127.0.0.1", "podIPs": [{"ip": "127.0.0.1"}],
        "startTime": old.get("startTime") or format_timestamp(now),
        "containerStatuses": statuses,
        "qosClass": old.get("qosClass", "BestEffort"),
    }
    return result


def terminated(exit_code: int, message: str, started_at: float | None, now: float) -> dict[str, Any]:
    state: dict[str, Any] = {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error",
                             "finishedAt": format_timestamp(now)}
    if exit_code < 0:
        state["exitCode"], state["signal"] = 128 - exit_code, -exit_code
    if message:
        state["message"] = message[-TERMINATION_MESSAGE_BYTES:]
    if started_at is not None:
        state["startedAt"] = format_timestamp(started_at)
    return state


def deployment_status(deployment: dict[str, Any], pods: list[dict[str, Any]], now: float,
                      progress_started: float | None) -> dict[str, Any]:
    """Deployment status from its pods, with the Available and Progressing conditions."""
    spec = deployment.get("spec") or {}
    want = int(spec.get("replicas", 1))
    current_hash = replica_set_name(deployment).rsplit("-", 1)[1]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    ready = [p for p in live if _pod_ready(p)]
    updated = [p for p in live if (p["metadata"].get("labels") or {}).get(TEMPLATE_HASH) == current_hash]
    old = deployment.get("status") or {}
    rs = replica_set_name(deployment)
    available = len(ready) >= want
    conds = []
    prev = {c.get("type"): c for c in old.get("conditions") or []}
    avail = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.") if available else \
        ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    deadline = int(spec.get("progressDeadlineSeconds", 600))
    if len(ready) >= want and len(updated) >= want:
        prog = ("True", "NewReplicaSetAvailable", f'ReplicaSet "{rs}" has successfully progressed.')
    elif progress_started is not None and now - progress_started > deadline:
        prog = ("False", "ProgressDeadlineExceeded", f'ReplicaSet "{rs}" has timed out progressing.')
    else:
        prog = ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs}" is progressing.')
    for type_, (st, reason, message) in (("Available", avail), ("Progressing", prog)):
        p = prev.get(type_) or {}
        same = p.get("status") == st
        conds.append({"type": type_, "status": st, "reason": reason, "message": message,
                      "lastUpdateTime": p.get("lastUpdateTime") if same and p.get("reason") == reason
                      else format_timestamp(now),
                      "lastTransitionTime": p.get("lastTransitionTime") if same else format_timestamp(now)})
    status: dict[str, Any] = {"observedGeneration": deployment["metadata"].get("generation", 1),
                              "replicas": len(live), "updatedReplicas": len(updated),
                              "readyReplicas": len(ready), "availableReplicas": len(ready),
                              "conditions": conds}
    if len(live) - len(ready) > 0:
        status["unavailableReplicas"] = len(live) - len(ready)
    return {k: v for k, v in status.items() if v != 0 or k == "observedGeneration"}


def _pod_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def pod_ready(pod: dict[str, Any]) -> bool:
    return _pod_ready(pod)


ARGS_ENV = "JUPYTER_KNATIVE_ARGS"
"""Where a replica finds its container's `args` (JSON list): processes forked from a zygote have no argv."""

_FIELD_PATHS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "metadata.name": lambda pod: pod["metadata"].get("name", ""),
    "metadata.namespace": lambda pod: pod["metadata"].get("namespace", ""),
    "metadata.uid": lambda pod: pod["metadata"].get("uid", ""),
    "spec.nodeName": lambda pod: (pod.get("spec") or {}).get("nodeName", "jupyter-knative"),
    "spec.serviceAccountName": lambda pod: (pod.get("spec") or {}).get("serviceAccountName", "default"),
    "status.podIP": lambda pod: "127.0.0.1",
    "status.hostIP": lambda pod: "127.0.0.1",
}


def field_ref(pod: dict[str, Any], path: str) -> str:
    """The downward API's value for `fieldRef.fieldPath` (labels and annotations by key included)."""
    for prefix, section in (("metadata.labels[", "labels"), ("metadata.annotations[", "annotations")):
        if path.startswith(prefix) and path.endswith("]"):
            key = path[len(prefix):-1].strip("'\"")
            return str((pod["metadata"].get(section) or {}).get(key, ""))
    getter = _FIELD_PATHS.get(path)
    return str(getter(pod)) if getter else ""


def container_env(pod: dict[str, Any], container: dict[str, Any],
                  lookup: Callable[[str, str, str], str | None]) -> dict[str, str]:
    """The container's environment as the kubelet builds it: `value`, the downward API (`fieldRef`), and
    `configMapKeyRef` / `secretKeyRef` through `lookup(kind, name, key)` (kind `configmap` or `secret`);
    `args` ride along in `JUPYTER_KNATIVE_ARGS`."""
    env: dict[str, str] = {}
    for item in container.get("env") or []:
        name = item.get("name")
        if not name:
            continue
        source = item.get("valueFrom") or {}
        if "value" in item or not source:
            env[name] = str(item.get("value", ""))
        elif "fieldRef" in source:
            env[name] = field_ref(pod, (source["fieldRef"] or {}).get("fieldPath", ""))
        else:
            for kind, ref_key in (("configmap", "configMapKeyRef"), ("secret", "secretKeyRef")):
                ref = source.get(ref_key)
                if ref:
                    value = lookup(kind, ref.get("name", ""), ref.get("key", ""))
                    if value is not None:
                        env[name] = value
    if container.get("args"):
        env[ARGS_ENV] = json.dumps([str(a) for a in container["args"]])
    return env


# --- volumes ---------------------------------------------------------------------------------------------

MOUNTS_ENV = "JUPYTER_KNATIVE_MOUNTS"
"""Where a replica finds its container's mounts: JSON `{"<mountPath>": "<host path>"}` (the runtime reads the
paths its environment names through it; processes have no mount namespace of their own here)."""
CONFIG_MAP, SECRET = "configmap", "secret"

# (kind: CONFIG_MAP or SECRET, name) -> the object, or None when there is none
ObjectLookup = Callable[[str, str], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Volume:
    """A pod volume the kubelet materialises: a ConfigMap's or Secret's files (relative path -> bytes), the
    same for every pod that sees the same content (`shared`), or an emptyDir, the pod's own (no files)."""

    name: str
    files: Mapping[str, bytes]
    shared: bool

    def digest(self) -> str:
        """SHA-256 of the files (their paths and bytes): two volumes with one digest are one folder."""
        h = hashlib.sha256()
        for path in sorted(self.files):
            data = self.files[path]
            h.update(f"{len(path)}:{path}:{len(data)}:".encode())
            h.update(data)
        return h.hexdigest()


@dataclass(frozen=True)
class Mount:
    """One of the container's `volumeMounts`: `path` (normalised) shows `sub_path` of `volume`."""

    path: str
    volume: str
    sub_path: str = ""


class MountError(Exception):
    """A volume cannot be set up; `message` is the kubelet's (`MountVolume.SetUp failed for volume "v" : ...`),
    `waiting_on` the (kind, name) of the missing ConfigMap or Secret whose creation may fix it."""

    def __init__(self, volume: str, cause: str, waiting_on: tuple[str, str] | None = None) -> None:
        self.message = f'MountVolume.SetUp failed for volume "{volume}" : {cause}'
        super().__init__(self.message)
        self.volume = volume
        self.waiting_on = waiting_on


def _decode(value: Any) -> bytes:
    try:
        return base64.b64decode(str(value), validate=False)
    except (ValueError, binascii.Error):
        return b""


def object_files(kind: str, obj: Mapping[str, Any]) -> dict[str, bytes]:
    """A ConfigMap's keys (`data` as UTF-8, `binaryData` decoded) or a Secret's (`data`, decoded) as file
    contents."""
    if kind == CONFIG_MAP:
        files = {str(k): str(v).encode("utf-8") for k, v in (obj.get("data") or {}).items()}
        files.update({str(k): _decode(v) for k, v in (obj.get("binaryData") or {}).items()})
        return files
    return {str(k): _decode(v) for k, v in (obj.get("data") or {}).items()}


def _safe_path(path: str) -> bool:
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and ".." not in parts and all(parts)


def project(kind: str, volume: str, files: Mapping[str, bytes], items: list[Any] | None,
            optional: bool) -> dict[str, bytes]:
    """The files a volume shows: every key at its own name, or only `items` (key -> path); a key `items`
    names that the object lacks fails the mount unless the volume is optional, as the kubelet's payload."""
    if not items:
        return {k: v for k, v in files.items() if _safe_path(k)}
    out: dict[str, bytes] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        key = str(item.get("key") or "")
        path = str(item.get("path") or key)
        if key not in files:
            if optional:
                continue
            cause = (f"configmap references non-existent config key: {key}" if kind == CONFIG_MAP
                     else f"references non-existent secret key: {key}")
            raise MountError(volume, cause)
        if _safe_path(path):
            out[path] = files[key]
    return out


def plan_volumes(pod: Mapping[str, Any], lookup: ObjectLookup) -> list[Volume]:
    """The pod's ConfigMap, Secret and emptyDir volumes with what they hold (other types are not set up).
    Raises `MountError` for a ConfigMap or Secret that is missing (and not optional) or lacks a key `items`
    names, with the kubelet's message."""
    out: list[Volume] = []
    for raw in (pod.get("spec") or {}).get("volumes") or []:
        if not isinstance(raw, dict) or not raw.get("name"):
            continue
        name = str(raw["name"])
        if raw.get("emptyDir") is not None:
            out.append(Volume(name, {}, shared=False))
            continue
        for kind, field_name, ref in ((CONFIG_MAP, "configMap", "name"), (SECRET, "secret", "secretName")):
            source = raw.get(field_name)
            if not isinstance(source, dict):
                continue
            target = str(source.get(ref) or "")
            optional = bool(source.get("optional"))
            obj = lookup(kind, target)
            if obj is None:
                if not optional:
                    raise MountError(name, f'{kind} "{target}" not found', (kind, target))
                files: dict[str, bytes] = {}
            else:
                files = project(kind, name, object_files(kind, obj), source.get("items"), optional)
            out.append(Volume(name, files, shared=True))
            break
    return out


def container_mounts(container: Mapping[str, Any]) -> list[Mount]:
    """The container's `volumeMounts` (mount path normalised, `subPath` kept)."""
    out = []
    for raw in container.get("volumeMounts") or []:
        if isinstance(raw, dict) and raw.get("name") and str(raw.get("mountPath") or "").startswith("/"):
            out.append(Mount(posixpath.normpath(str(raw["mountPath"])), str(raw["name"]),
                             str(raw.get("subPath") or "").strip("/")))
    return out


def mount_tables(mounts: list[Mount], volumes: list[Volume], hosts: Mapping[str, str]
                 ) -> tuple[dict[str, str], dict[str, str]]:
    """(the mounts every pod of the template shares: ConfigMaps and Secrets, the pod's whole table) as
    {mount path: host path}; `hosts` says where each volume was materialised. Mounts of volumes that were
    not (unsupported types) are left out."""
    shared_volumes = {v.name for v in volumes if v.shared}
    shared: dict[str, str] = {}
    table: dict[str, str] = {}
    for mount in mounts:
        host = hosts.get(mount.volume)
        if host is None:
            continue
        path = posixpath.join(host, mount.sub_path) if mount.sub_path else host
        table[mount.path] = path
        if mount.volume in shared_volumes:
            shared[mount.path] = path
    return shared, table


def volume_backoff(failures: int) -> float:
    """The kubelet's retry of a failed volume operation: 0.5 s doubling to 2 min 2 s."""
    return float(min(122.0, 0.5 * 2.0 ** max(0, failures - 1)))
