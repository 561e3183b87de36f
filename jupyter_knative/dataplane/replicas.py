"""Running containers: the contract the replica set controller (the plane's kubelet) drives, and its
implementation — replicas as processes forked from warm zygotes.

One zygote serves each (image, environment): a Revision's pods share one, since its spec is immutable,
so the function's module-level code runs once per Revision and each replica is a fork that answers in
milliseconds. Each run of a container logs to its own file, `logs/<ns>/<pod>/<container>/<n>.log`,
kept after the replica is gone; a container that exits reports the end of that log as its
termination message, as `terminationMessagePolicy: FallbackToLogsOnError` does.

The kubelet materialises a pod's volumes under `volumes` (the runtime's, beside the zygotes' folders) and
tells the replica where they are through its environment; what belongs to one pod only (an emptyDir's
folder) travels in `ContainerSpec.pod_env`, given to the fork but kept out of the zygote's environment and
key, so a Revision's pods still share one zygote.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Protocol

from ..runtime.zygote_client import ZygoteClient, ZygoteError

log = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"
TERMINATION_LINES, TERMINATION_BYTES = 80, 2048


class PodRef(NamedTuple):
    namespace: str
    name: str
    uid: str


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    env: dict[str, str]
    restart: int  # the container's restart count: each run logs to its own file, as the kubelet keeps them
    pod_env: dict[str, str] = field(default_factory=dict)  # this pod's own variables, over `env`, fork only


@dataclass(frozen=True)
class Started:
    pid: int
    port: int


class StartError(Exception):
    """The container could not start: `reason` as the kubelet's waiting reason (ErrImagePull,
    CreateContainerError, ...) or a process that died while starting (`exit_code` set)."""

    def __init__(self, reason: str, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.exit_code = exit_code


# (pod, return code, the container's last log lines)
ExitHandler = Callable[[PodRef, int, str], None]


class ReplicaRuntime(Protocol):
    async def start(self, pod: PodRef, container: ContainerSpec) -> Started: ...

    async def stop(self, pod: PodRef, grace: float) -> None: ...

    def on_exit(self, handler: ExitHandler) -> None: ...

    def log_path(self, namespace: str, pod: str, container: str, restart: int) -> Path: ...


@dataclass
class _Replica:
    pid: int
    zygote: ZygoteClient
    log: Path
    key: str  # its zygote's
    done: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def process_usage(pid: int) -> tuple[float, int] | None:
    """(CPU seconds used so far, resident bytes) of a replica, from /proc; None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return (int(stat[11]) + int(stat[12])) / _TICKS, pages * _PAGE


def termination_message(path: Path) -> str:
    """The last lines of a container's log (80 lines, 2 KiB at most), as the kubelet takes them."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - TERMINATION_BYTES))
            data = f.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", "replace").splitlines()[-TERMINATION_LINES:]
    return "\n".join(lines).strip()


ZYGOTE_IDLE_SECONDS = 600.0
"""How long a zygote with no replica stays warm. Every changed cell is a new revision and a new zygote; old
revisions scale to zero and stay, so without this the plane's memory would grow with every edit of a session.
A revision that scales from zero after this pays a zygote start (its cold start), as a pod's image pull."""
REAP_INTERVAL = 30.0


class ZygoteRuntime:
    """`ReplicaRuntime` with one warm zygote per (image, environment) and a fork per replica; a zygote that has
    had no replica for `idle_seconds` is stopped (`reap`, every `REAP_INTERVAL` s while the loop runs)."""

    def __init__(self, *, artifacts: Path, logs: Path, workdir: Path, volumes: Path | None = None,
                 idle_seconds: float = ZYGOTE_IDLE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.artifacts = artifacts
        self.logs = logs
        self.workdir = workdir
        self.volumes = volumes if volumes is not None else workdir / "volumes"
        """Where the kubelet materialises pods' volumes (no zygote key is spelled `volumes`)."""
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._zygotes: dict[str, ZygoteClient] = {}
        self._starting: dict[str, asyncio.Task[ZygoteClient]] = {}
        self._replicas: dict[PodRef, _Replica] = {}
        self._forking: dict[str, int] = {}  # zygote key -> forks under way (never reaped meanwhile)
        self._idle_since: dict[str, float] = {}  # zygote key -> when its last replica ended
        self._reaper: asyncio.Task[None] | None = None
        self._handler: ExitHandler | None = None

    def on_exit(self, handler: ExitHandler) -> None:
        self._handler = handler

    def log_path(self, namespace: str, pod: str, container: str, restart: int) -> Path:
        return self.logs / namespace / pod / container / f"{restart}.log"

    @staticmethod
    def _key(container: ContainerSpec) -> str:
        env = sorted((k, v) for k, v in container.env.items() if k != "HOSTNAME")
        return hashlib.sha256(repr((container.image, env)).encode()).hexdigest()[:16]

    async def _zygote(self, container: ContainerSpec) -> ZygoteClient:
        key = self._key(container)
        zygote = self._zygotes.get(key)
        if zygote is not None:
            return zygote
        task = self._starting.get(key)
        if task is None:
            env = {k: v for k, v in container.env.items() if k != "HOSTNAME"}
            task = asyncio.ensure_future(ZygoteClient.start(container.image, store=self.artifacts,
                                                            workdir=self.workdir / key, env=env))
            self._starting[key] = task
        try:
            zygote = await asyncio.shield(task)
        finally:
            if task.done():
                self._starting.pop(key, None)
        if key not in self._zygotes:
            self._zygotes[key] = zygote
            zygote.on_exit(lambda pid, code: self._exited(zygote, pid, code))
        return self._zygotes[key]

    async def start(self, pod: PodRef, container: ContainerSpec) -> Started:
        key = self._key(container)
        self._forking[key] = self._forking.get(key, 0) + 1
        try:
            return await self._start(pod, container, key)
        finally:
            self._forking[key] -= 1
            if not self._forking[key]:
                del self._forking[key]
            self._mark_idle(key)

    async def _start(self, pod: PodRef, container: ContainerSpec, key: str) -> Started:
        if self._reaper is None and self.idle_seconds > 0:
            self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())
        try:
            zygote = await self._zygote(container)
        except ZygoteError as e:
            raise StartError("Error", (e.log_tail or e.message).strip(), exit_code=1) from None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, 0))
        sock.listen(1024)
        port = sock.getsockname()[1]
        path = self.log_path(pod.namespace, pod.name, container.name, container.restart)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            pid = await zygote.fork(sock, {**container.env, **container.pod_env}, path, pod.name)
        except ZygoteError as e:
            raise StartError("Error", str(e), exit_code=1) from None
        finally:
            sock.close()  # the replica holds its own copy
        self._replicas[pod] = _Replica(pid, zygote, path, key)
        return Started(pid, port)

    def _exited(self, zygote: ZygoteClient, pid: int, code: int) -> None:
        for pod, replica in list(self._replicas.items()):
            if replica.pid == pid and replica.zygote is zygote:
                del self._replicas[pod]
                self._mark_idle(replica.key)
                if not replica.done.done():
                    replica.done.set_result(code)
                if self._handler is not None:
                    self._handler(pod, code, termination_message(replica.log))
                return

    # --- idle zygotes ---------------------------------------------------------------------------------

    def _in_use(self, key: str) -> bool:
        return key in self._forking or key in self._starting or any(r.key == key for r in self._replicas.values())

    def _mark_idle(self, key: str) -> None:
        if key in self._zygotes and not self._in_use(key):
            self._idle_since.setdefault(key, self._clock())
        else:
            self._idle_since.pop(key, None)

    async def reap(self) -> list[str]:
        """Stop the zygotes idle for `idle_seconds` or more; their keys."""
        now = self._clock()
        idle = [k for k, since in self._idle_since.items()
                if now - since >= self.idle_seconds and k in self._zygotes and not self._in_use(k)]
        stopping = [self._zygotes.pop(k) for k in idle]
        for key in idle:
            self._idle_since.pop(key, None)
        await asyncio.gather(*(z.stop(5.0) for z in stopping), return_exceptions=True)
        return idle

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(REAP_INTERVAL)
            await self.reap()

    async def stop(self, pod: PodRef, grace: float) -> None:
        """SIGTERM (the replica drains), then SIGKILL after `grace` seconds."""
        replica = self._replicas.get(pod)
        if replica is None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(replica.pid, sig)
            try:
                await asyncio.wait_for(asyncio.shield(replica.done), wait)
                return
            except TimeoutError:
                continue
        self._replicas.pop(pod, None)
        self._mark_idle(replica.key)

    def running(self, namespace: str, pod: str) -> bool:
        return any(p.namespace == namespace and p.name == pod for p in self._replicas)

    async def close(self, grace: float = 5.0) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        for task in self._starting.values():
            task.cancel()
        zygotes = list(self._zygotes.values())
        self._zygotes.clear()
        await asyncio.gather(*(z.stop(grace) for z in zygotes), return_exceptions=True)
        self._replicas.clear()

    # --- logs -----------------------------------------------------------------------------------------

    def runs(self, namespace: str, pod: str, container: str) -> list[Path]:
        directory = self.logs / namespace / pod / container
        try:
            files = [p for p in directory.iterdir() if p.suffix == ".log" and p.stem.isdigit()]
        except OSError:
            return []
        return sorted(files, key=lambda p: int(p.stem))

    async def log_stream(self, namespace: str, pod: str, container: str, follow: bool,
                         tail: int | None, previous: bool = False) -> AsyncIterator[bytes]:
        """A container's log (`kubectl logs`), following it while the replica runs when asked."""
        runs = self.runs(namespace, pod, container)
        if previous:
            runs = runs[:-1]
        if not runs:
            return
        path = runs[-1]
        data = path.read_bytes()
        if tail is not None:
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-tail:]) if tail > 0 else b""
            offset = path.stat().st_size
        else:
            offset = len(data)
        if data:
            yield data
        while follow and not previous:
            await asyncio.sleep(0.2)
            with path.open("rb") as f:
                f.seek(offset)
                chunk = f.read()
            if chunk:
                offset += len(chunk)
                yield chunk
            elif not self.running(namespace, pod) or self.runs(namespace, pod, container)[-1:] != [path]:
                return
