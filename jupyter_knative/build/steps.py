"""The step executor shared by Knative Build and Tekton: one step at a time, as a process, with its log.

`StepRunner.run` starts the step's process (see `launch.py` for what runs an image), writes everything it
prints to `<logs>/<ns>/<pod>/<step>/0.log` (the layout `kubectl logs` reads for replicas too), and waits for
it — or for the deadline, when it kills the step's whole process group (SIGTERM, then SIGKILL after a short
grace). Each step runs in a session of its own, so whatever it forks goes down with it; once the step's
main process exits, stragglers left in its group are killed too, as a container's are.

Outcomes as a container's terminated state: exit code 0 → reason `Completed`; non-zero → `Error`; a step
that could not start → `StartError` (127); killed at the deadline → reason `DeadlineExceeded` with
`timed_out` set (the exit code is the signal's, 128 + n).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from ..dataplane.replicas import termination_message
from .images import ImageKind, classify
from .launch import Launch, plan
from .workspace import Workspace

__all__ = ["AUTO", "Clock", "Step", "StepResult", "StepRunner", "detect_engine"]

AUTO = "auto"
KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL at a deadline
LOG_POLL = 0.2


class Clock(Protocol):
    """What the runner needs of a clock (`controllers.runtime.RealClock`/`FakeClock` fit)."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class _RealClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


@dataclass(frozen=True)
class Step:
    name: str  # the container's name (`build-step-compile`), also the log's folder
    image: str
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    script: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None


@dataclass
class StepResult:
    name: str
    exit_code: int
    reason: str  # Completed | Error | StartError | DeadlineExceeded
    message: str  # on failure: the end of the step's log (as terminationMessagePolicy FallbackToLogsOnError)
    started_at: float
    finished_at: float
    image_id: str
    timed_out: bool = False

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def detect_engine() -> str | None:
    """`docker` or `podman` when one is on PATH and answers (a client without a running daemon is no engine)."""
    for engine in ("docker", "podman"):
        path = shutil.which(engine)
        if not path:
            continue
        try:
            probe = subprocess.run([path, "info"], capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return engine
    return None


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class StepRunner:
    def __init__(self, *, artifacts: Path, logs: Path, engine: str | None = AUTO, clock: Clock | None = None) -> None:
        self.artifacts = Path(artifacts)
        self.logs = Path(logs)
        self._engine: str | None = engine
        self.clock: Clock = clock or _RealClock()
        self._running: set[tuple[str, str, str]] = set()

    async def engine(self) -> str | None:
        """The container engine for images that are neither host tools nor builders (found on first need,
        off the event loop: asking a daemon may take seconds)."""
        if self._engine == AUTO:
            self._engine = await asyncio.to_thread(detect_engine)
        return self._engine

    # --- running ----------------------------------------------------------------------------------------

    def log_path(self, namespace: str, pod: str, container: str) -> Path:
        return self.logs / namespace / pod / container / "0.log"

    def running(self, namespace: str, pod: str) -> bool:
        return any(ns == namespace and p == pod for ns, p, _ in self._running)

    async def run(self, namespace: str, pod: str, step: Step, workspace: Workspace, *,
                  deadline: float | None = None) -> StepResult:
        """Run one step to its end (or its deadline, a `clock.now()` time) and say how it ended."""
        key = (namespace, pod, step.name)
        path = self.log_path(namespace, pod, step.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        started = self.clock.now()
        self._running.add(key)
        try:
            launch = plan(namespace=namespace, pod=pod, step_name=step.name, image=step.image,
                          command=list(step.command), args=list(step.args), script=step.script, env=dict(step.env),
                          working_dir=step.working_dir, workspace=workspace, artifacts=self.artifacts,
                          engine=await self.engine() if classify(step.image).kind is ImageKind.OTHER else None)
            with path.open("wb") as log:
                for line in launch.banner:
                    log.write(line.encode() + b"\n")
                log.flush()
                if launch.argv is None:
                    code, timed_out = launch.exit_code, False
                else:
                    code, timed_out = await self._execute(launch, log, deadline)
        finally:
            self._running.discard(key)
        return self._result(step.name, launch, code, timed_out, started, path)

    def _result(self, name: str, launch: Launch, code: int, timed_out: bool, started: float,
                path: Path) -> StepResult:
        if timed_out:
            reason = "DeadlineExceeded"
        elif code == 0:
            reason = "Completed"
        else:
            reason = launch.reason or "Error"
        message = "" if code == 0 and not timed_out else termination_message(path)
        return StepResult(name, code, reason, message, started, self.clock.now(), launch.image_id, timed_out)

    async def _execute(self, launch: Launch, log: BinaryIO, deadline: float | None) -> tuple[int, bool]:
        assert launch.argv is not None
        if launch.cwd is not None:
            launch.cwd.mkdir(parents=True, exist_ok=True)
        if launch.script is not None:
            script_path, body = launch.script
            script_path.parent.mkdir(parents=True, exist_ok=True)
            script_path.write_text(body)
            script_path.chmod(0o755)
        try:
            proc = await asyncio.create_subprocess_exec(
                *launch.argv, cwd=launch.cwd, env=launch.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        except OSError as e:
            log.write(f"jupyter-knative: cannot start {launch.argv[0]}: {e}\n".encode())
            return 128, False
        try:
            timed_out = not await self._wait(proc, deadline)
        except asyncio.CancelledError:
            await self._kill(proc, launch)
            raise
        if timed_out:
            await self._kill(proc, launch)
        _kill_group(proc.pid, signal.SIGKILL)  # stragglers the step left behind
        code = proc.returncode if proc.returncode is not None else -signal.SIGKILL
        return (128 - code if code < 0 else code), timed_out

    async def _wait(self, proc: asyncio.subprocess.Process, deadline: float | None) -> bool:
        """True when the process ended by itself, False at the deadline."""
        waiting = asyncio.ensure_future(proc.wait())
        if deadline is None:
            await waiting
            return True
        timer = asyncio.ensure_future(self.clock.sleep(deadline - self.clock.now()))
        try:
            await asyncio.wait({waiting, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not waiting.done():
                waiting.cancel()
        return proc.returncode is not None

    async def _kill(self, proc: asyncio.subprocess.Process, launch: Launch) -> None:
        _kill_group(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), KILL_GRACE)
        except TimeoutError:
            _kill_group(proc.pid, signal.SIGKILL)
            await proc.wait()
        if launch.container_name and launch.argv:
            remover = await asyncio.create_subprocess_exec(
                launch.argv[0], "rm", "-f", launch.container_name, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            await remover.wait()

    # --- logs -------------------------------------------------------------------------------------------

    async def log_stream(self, namespace: str, pod: str, container: str, follow: bool, tail: int | None,
                         previous: bool = False) -> AsyncIterator[bytes]:
        """A step's log (`kubectl logs <pod> -c <step>`), following it while the step runs when asked. Steps
        run once, so there is no previous run to show."""
        path = self.log_path(namespace, pod, container)
        if previous or not path.is_file():
            return
        data = path.read_bytes()
        offset = len(data)
        if tail is not None:
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-tail:]) if tail > 0 else b""
        if data:
            yield data
        key = (namespace, pod, container)
        while follow:
            ended = key not in self._running
            with path.open("rb") as f:
                f.seek(offset)
                chunk = f.read()
            if chunk:
                offset += len(chunk)
                yield chunk
            elif ended:
                return
            else:
                await asyncio.sleep(LOG_POLL)
