"""The daemon's side of replica processes: a `ZygoteClient` per image, or a `FreshSpawner` fallback.

Both have the same contract (`ReplicaSpawner`): `fork(sock, env, log_path, pod) -> pid` starts a
replica serving on an already-bound listening socket (bind it before forking: requests wait in the
kernel's backlog, so the replica is reachable the moment `fork` returns), `on_exit(callback)` learns
each replica's end as `(pid, returncode)` (negative: killed by that signal, as `subprocess` says),
`stop(grace)` ends every replica (SIGTERM, SIGKILL after `grace`) and then the spawner.

The zygote executes the function's module once, with the environment given to `start`: start one
zygote per Revision with the Revision's environment (it is immutable), and pass per-Pod variables to
`fork`, so module-level code sees what it would see in the container.

Errors: `ZygoteError(message, log_tail)` when the image cannot be served (its code fails to import,
the image is unknown, the zygote dies or does not answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from .artifacts import resolve
from .control import FrameReader, encode

__all__ = ["ExitCallback", "FreshSpawner", "ReplicaSpawner", "ZygoteClient", "ZygoteError", "spawn_fresh"]

ExitCallback = Callable[[int, int], None]
LOG_TAIL_LINES = 40


class ZygoteError(Exception):
    """The image cannot be served; `log_tail` is the end of the zygote's output (the traceback)."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.log_tail = log_tail

    def __str__(self) -> str:
        return f"{self.message}\n{self.log_tail}" if self.log_tail else self.message


class ReplicaSpawner(Protocol):
    """What the replica supervisor needs from a zygote or its fallback."""

    async def fork(self, sock: socket.socket, env: Mapping[str, str], log_path: Path, pod: str) -> int: ...

    def on_exit(self, callback: ExitCallback) -> None: ...

    async def stop(self, grace: float = 10.0) -> None: ...


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _control_path(workdir: Path) -> Path:
    name = f"zygote-{uuid.uuid4().hex[:12]}.sock"
    path = workdir / name
    if len(os.fsencode(path)) < 100:  # sun_path holds 108 bytes
        return path
    return Path(tempfile.mkdtemp(prefix="jk-")) / name


class ZygoteClient:
    """A running zygote for one image, and the replicas it forked."""

    def __init__(self, image: str, process: asyncio.subprocess.Process, control: socket.socket, log: Path,
                 ready: dict[str, Any]) -> None:
        self.image = image
        self.process = process
        self.pid = process.pid
        self.kind = str(ready.get("kind", ""))
        self.target = str(ready.get("target", ""))
        self.log = log
        self.replicas: set[int] = set()
        self._control = control
        self._reader = FrameReader()
        self._callbacks: list[ExitCallback] = []
        self._pending: dict[int, asyncio.Future[int]] = {}
        self._next_id = 0
        self._send_lock = asyncio.Lock()
        self._stopped = asyncio.Event()
        self._listener = asyncio.get_running_loop().create_task(self._listen())

    @classmethod
    async def start(cls, image: str, *, store: Path, workdir: Path, env: Mapping[str, str] | None = None,
                    timeout: float = 60.0) -> ZygoteClient:
        """Start a zygote for `image` and wait until it is ready. Raises `ZygoteError`."""
        workdir.mkdir(parents=True, exist_ok=True)
        if resolve(image, store) is None:
            raise ZygoteError(f"image {image!r} is neither a function packaged in {store}, a built-in sample nor "
                              f"the function runtime image")
        path = _control_path(workdir)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        listener.listen(1)
        listener.setblocking(False)
        log = workdir / "zygote.log"
        try:
            with open(log, "ab") as out:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "jupyter_knative.runtime.zygote", "--control", str(path), "--image", image,
                    "--store", str(store), stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=str(workdir),
                    env={**os.environ, **(env or {})})
            try:
                control, ready = await asyncio.wait_for(cls._handshake(listener, process, log), timeout)
            except TimeoutError:
                process.kill()
                await process.wait()
                raise ZygoteError(f"the zygote for {image} was not ready within {timeout:g}s", _tail(log)) from None
            except BaseException:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
                raise
        finally:
            listener.close()
            with contextlib.suppress(OSError):
                path.unlink()
        return cls(image, process, control, log, ready)

    @staticmethod
    async def _handshake(listener: socket.socket, process: asyncio.subprocess.Process, log: Path
                         ) -> tuple[socket.socket, dict[str, Any]]:
        loop = asyncio.get_running_loop()
        accept = asyncio.ensure_future(loop.sock_accept(listener))
        exited = asyncio.ensure_future(process.wait())
        done, _ = await asyncio.wait({accept, exited}, return_when=asyncio.FIRST_COMPLETED)
        if accept not in done:
            accept.cancel()
            raise ZygoteError(f"the zygote exited with status {process.returncode} before connecting", _tail(log))
        exited.cancel()
        control, _ = accept.result()
        control.setblocking(False)
        reader = FrameReader()
        while True:
            data = await loop.sock_recv(control, 65536)
            if not data:
                control.close()
                raise ZygoteError("the zygote closed its control connection before it was ready", _tail(log))
            for message in reader.feed(data):
                if message.get("type") == "ready":
                    return control, message
                if message.get("type") == "error":
                    control.close()
                    raise ZygoteError(f"the function failed to load: {message.get('message', '')}",
                                      str(message.get("traceback", "")).rstrip())

    # the contract

    def on_exit(self, callback: ExitCallback) -> None:
        self._callbacks.append(callback)

    async def fork(self, sock: socket.socket, env: Mapping[str, str], log_path: Path, pod: str) -> int:
        """Fork a replica serving on `sock` (bound; the caller keeps its copy). Returns its pid."""
        if self._stopped.is_set() or self.process.returncode is not None:
            raise ZygoteError(f"the zygote for {self.image} is not running")
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message = {"type": "fork", "id": request_id, "env": dict(env), "log": str(log_path), "pod": pod}
        try:
            try:
                await self._send(encode(message), [sock.fileno()])
            except OSError as exc:
                raise ZygoteError(f"the zygote for {self.image} is not reachable: {exc}", _tail(self.log)) from exc
            return await future
        finally:
            self._pending.pop(request_id, None)

    async def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the replicas, SIGKILL what is left after `grace`, then end the zygote."""
        if self.process.returncode is None:
            with contextlib.suppress(OSError):
                await self._send(encode({"type": "stop", "grace": grace}), [])
            try:
                await asyncio.wait_for(self.process.wait(), grace + 5.0)
            except TimeoutError:
                self._kill_everything()
                await self.process.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._listener), 2.0)
        self._close()

    async def wait(self) -> int:
        """Wait for the zygote to exit; its exit status."""
        return await self.process.wait()

    async def __aenter__(self) -> ZygoteClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop(0.0 if exc[0] is not None else 10.0)

    # internals

    async def _send(self, frame: bytes, fds: list[int]) -> None:
        loop = asyncio.get_running_loop()
        async with self._send_lock:
            while True:
                try:
                    sent = socket.send_fds(self._control, [frame], fds) if fds else self._control.send(frame)
                    break
                except BlockingIOError:
                    ready = loop.create_future()
                    loop.add_writer(self._control, ready.set_result, None)
                    try:
                        await ready
                    finally:
                        loop.remove_writer(self._control)
            if sent < len(frame):
                await loop.sock_sendall(self._control, frame[sent:])

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await loop.sock_recv(self._control, 65536)
                if not data:
                    break
                for message in self._reader.feed(data):
                    self._dispatch(message)
        except (OSError, ValueError):
            pass
        finally:
            self._lost()

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "forked":
            pid = int(message["pid"])
            self.replicas.add(pid)
            future = self._pending.get(int(message["id"]))
            if future is not None and not future.done():
                future.set_result(pid)
        elif kind == "fork_failed":
            future = self._pending.get(int(message["id"]))
            if future is not None and not future.done():
                future.set_exception(ZygoteError(f"fork failed: {message.get('message', '')}"))
        elif kind == "exit":
            self._exited(int(message["pid"]), int(message["returncode"]))
        elif kind == "stopped":
            self._stopped.set()

    def _exited(self, pid: int, returncode: int) -> None:
        self.replicas.discard(pid)
        for callback in list(self._callbacks):
            try:
                callback(pid, returncode)
            except Exception:
                import traceback

                traceback.print_exc()

    def _lost(self) -> None:
        """The control connection ended: the zygote is gone, and its replicas with it. The zygote kills
        them when it sees the daemon go; if it was itself killed, PR_SET_PDEATHSIG does (we cannot
        signal them safely now: nobody reaps them for us, so their pids may already be reused)."""
        self._stopped.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ZygoteError(f"the zygote for {self.image} exited", _tail(self.log)))
        for pid in list(self.replicas):
            self._exited(pid, -signal.SIGKILL)

    def _kill_everything(self) -> None:
        for pid in list(self.replicas):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    def _close(self) -> None:
        with contextlib.suppress(OSError):
            self._control.close()


class FreshSpawner:
    """The fallback: every replica is a fresh interpreter (`python -m jupyter_knative.runtime.replica`)."""

    def __init__(self, image: str, store: Path, workdir: Path, env: Mapping[str, str]) -> None:
        self.image = image
        self.store = store
        self.workdir = workdir
        self.env = dict(env)
        self.replicas: dict[int, asyncio.subprocess.Process] = {}
        self._callbacks: list[ExitCallback] = []
        self._watchers: set[asyncio.Task[None]] = set()

    @classmethod
    async def start(cls, image: str, *, store: Path, workdir: Path, env: Mapping[str, str] | None = None,
                    timeout: float = 60.0) -> FreshSpawner:
        if resolve(image, store) is None:
            raise ZygoteError(f"image {image!r} is neither a function packaged in {store}, a built-in sample nor "
                              f"the function runtime image")
        workdir.mkdir(parents=True, exist_ok=True)
        return cls(image, store, workdir, {**os.environ, **(env or {})})

    def on_exit(self, callback: ExitCallback) -> None:
        self._callbacks.append(callback)

    async def fork(self, sock: socket.socket, env: Mapping[str, str], log_path: Path, pod: str) -> int:
        fd = sock.fileno()
        full_env = {**self.env, **env}
        if pod and "HOSTNAME" not in env:
            full_env["HOSTNAME"] = pod
        with open(log_path, "ab") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "jupyter_knative.runtime.replica", "--image", self.image, "--store",
                str(self.store), "--fd", str(fd), "--pod", pod, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                pass_fds=(fd,), env=full_env, cwd=str(self.workdir))
        self.replicas[process.pid] = process
        watcher = asyncio.get_running_loop().create_task(self._watch(process))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        return process.pid

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        returncode = await process.wait()
        self.replicas.pop(process.pid, None)
        for callback in list(self._callbacks):
            try:
                callback(process.pid, returncode)
            except Exception:
                import traceback

                traceback.print_exc()

    async def stop(self, grace: float = 10.0) -> None:
        for process in list(self.replicas.values()):
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        if self._watchers:
            _, pending = await asyncio.wait(set(self._watchers), timeout=grace)
            if pending:
                for process in list(self.replicas.values()):
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                await asyncio.wait(pending)


async def spawn_fresh(image: str, *, store: Path, workdir: Path, env: Mapping[str, str] | None = None
                      ) -> FreshSpawner:
    """The fresh-interpreter fallback, with `ZygoteClient`'s contract."""
    return await FreshSpawner.start(image, store=store, workdir=workdir, env=env)
