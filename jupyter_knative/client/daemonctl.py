"""Starting, watching and stopping the daemon from the outside: through its files, signals and HTTPS.

The daemon's contract: it holds an exclusive flock on `daemon.lock` for its whole life, publishes
`daemon.json` once it serves, answers `GET /readyz`, stops everything it started on SIGTERM, and exits
with code 3 when another daemon holds the lock. Nothing here imports the daemon.

    DaemonError            up/down failed; carries the daemon log's last lines
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_knative.client.probe import ProbeResult, probe_ready
from jupyter_knative.credentials import load_credentials
from jupyter_knative.home import HOME_ENV, DaemonState, PlaneHome, daemon_running

__all__ = [
    "DAEMON_MODULE",
    "EXIT_LOCKED",
    "Clock",
    "DaemonControl",
    "DaemonError",
    "DownResult",
    "Status",
    "UpResult",
    "daemon_argv",
]

DAEMON_MODULE = "jupyter_knative.apiserver"
EXIT_LOCKED = 3  # the daemon's exit code when another daemon holds the lock
LOG_TAIL_LINES = 20
LOG_ROTATE_BYTES = 10 * 1024 * 1024
_POLL = 0.1  # seconds between looks at the daemon's files
_PROBE_TIMEOUT = 2.0
_TERM_GRACE = 5.0  # after SIGTERM to a daemon we started that never got ready
_KILL_GRACE = 5.0  # after SIGKILL, for the kernel to release the lock


@dataclass(frozen=True)
class Clock:
    """How waiting passes time; tests substitute a virtual one."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


class DaemonError(Exception):
    """`up` or `down` could not do what was asked."""

    def __init__(self, message: str, log_file: Path | None = None, log_tail: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.log_file = log_file
        self.log_tail = tuple(log_tail)


class _LostRace(Exception):
    """The daemon we started found the lock held: by another daemon (started outside this CLI), or
    for an instant by a liveness probe."""


@dataclass(frozen=True)
class Status:
    running: bool
    pid: int | None
    api: str | None
    ingress: str | None
    kubeconfig: str
    home: str
    version: str | None
    ready: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "pid": self.pid,
            "api": self.api,
            "ingress": self.ingress,
            "kubeconfig": self.kubeconfig,
            "home": self.home,
            "version": self.version,
            "ready": self.ready,
        }


@dataclass(frozen=True)
class UpResult:
    status: Status
    started: bool  # False: a daemon was already running


@dataclass(frozen=True)
class DownResult:
    was_running: bool
    pid: int | None = None
    killed: bool = False  # it ignored SIGTERM and its process group got SIGKILL
    leftovers_killed: bool = False  # it exited but left processes in its group behind


def daemon_argv(home: PlaneHome) -> list[str]:
    return [sys.executable, "-m", DAEMON_MODULE, "--home", str(home.root)]


@dataclass(frozen=True)
class _Spawned:
    proc: subprocess.Popen[bytes]
    log_offset: int  # where this start's output begins in the log


@dataclass
class DaemonControl:
    home: PlaneHome
    argv: list[str] | None = None  # the daemon command; None: `python -m jupyter_knative.apiserver`
    clock: Clock = field(default_factory=Clock)
    on_lock_wait: Callable[[], None] = lambda: None  # told when another CLI command holds cli.lock

    # -- status -------------------------------------------------------------------------------------

    def status(self, probe_timeout: float = _PROBE_TIMEOUT) -> Status:
        running = daemon_running(self.home)
        state = self._current_state() if running else None
        ready = bool(state and self._probe(state, probe_timeout))
        pid = state.pid if state else (_lock_holder_pid(self.home) if running else None)
        return self._status(running, pid, state, ready)

    def _status(self, running: bool, pid: int | None, state: DaemonState | None, ready: bool) -> Status:
        return Status(
            running=running,
            pid=pid,
            api=state.api if state else None,
            ingress=state.ingress if state else None,
            kubeconfig=str(self.home.kubeconfig),
            home=str(self.home.root),
            version=state.version if state else None,
            ready=ready,
        )

    def _current_state(self) -> DaemonState | None:
        """daemon.json if it belongs to the daemon holding the lock (a new daemon may not have written
        its own yet, leaving a dead one's behind)."""
        state = self.home.read_state()
        holder = _lock_holder_pid(self.home)
        if state is None or (holder is not None and holder != state.pid):
            return None
        return state if _alive(state.pid) else None

    def _probe(self, state: DaemonState, timeout: float) -> ProbeResult:
        creds = load_credentials(self.home)
        if creds is None:
            return ProbeResult(False, f"no token or CA certificate under {self.home.root}")
        return probe_ready(state.api, creds, timeout)

    # -- up -----------------------------------------------------------------------------------------

    def up(self, timeout: float = 60.0) -> UpResult:
        """Start the daemon unless one runs; return once its API answers `/readyz`."""
        deadline = self.clock.monotonic() + timeout
        self.home.ensure()
        with self._cli_lock():
            if not daemon_running(self.home):
                self.home.clear_state()  # a killed daemon's leftovers
                # twice: a probe holding the lock for an instant can make a starting daemon give up
                for retry in (True, False):
                    try:
                        return UpResult(self._await_started(self._spawn(), deadline, timeout, retry), True)
                    except _LostRace:
                        if daemon_running(self.home):
                            break
            return UpResult(self._await_running(deadline, timeout), started=False)

    def _spawn(self) -> _Spawned:
        argv = self.argv or daemon_argv(self.home)
        self._rotate_log()
        fd = os.open(self.home.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        with open(fd, "ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S%z")
            log.write(f"--- {stamp} jupyter knative up: {' '.join(argv)}\n".encode())
            log.flush()
            offset = log.tell()
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the terminal; killpg reaches all it started
                close_fds=True,
                cwd=self.home.root,
                env=self._child_env(),
            )
        return _Spawned(proc, offset)

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env[HOME_ENV] = str(self.home.root)
        env["PYTHONUNBUFFERED"] = "1"  # the log shows what happened up to a crash
        source_root = _source_root()
        if source_root is not None:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH")) if p)
        return env

    def _rotate_log(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            if self.home.log_file.stat().st_size > LOG_ROTATE_BYTES:
                os.replace(self.home.log_file, self.home.log_file.with_name(self.home.log_file.name + ".1"))

    def _await_started(self, spawned: _Spawned, deadline: float, timeout: float, retry: bool) -> Status:
        proc = spawned.proc
        detail = "it has not written daemon.json yet"
        while True:
            code = proc.poll()
            if code is not None:
                if code == EXIT_LOCKED and (retry or daemon_running(self.home)):
                    raise _LostRace
                message = f"the daemon {_describe_exit(code)} before it was ready"
                raise self._error(message, spawned.log_offset)
            state = self.home.read_state()
            if state is not None and state.pid == proc.pid:
                probe = self._probe(state, self._probe_budget(deadline))
                if probe:
                    return self._status(True, state.pid, state, ready=True)
                detail = f"{state.api}/readyz: {probe.detail}"
            if self.clock.monotonic() >= deadline:
                self._abort(proc)
                raise self._error(
                    f"the daemon was not ready within {timeout:g} s ({detail}); it was stopped",
                    spawned.log_offset,
                )
            self.clock.sleep(_POLL)

    def _await_running(self, deadline: float, timeout: float) -> Status:
        """Wait for a daemon this command did not start to become ready; never stop it."""
        detail = "it has not written daemon.json yet"
        while True:
            if not daemon_running(self.home):
                raise self._error("the running daemon stopped while waiting for it to become ready")
            state = self._current_state()
            if state is not None:
                probe = self._probe(state, self._probe_budget(deadline))
                if probe:
                    return self._status(True, state.pid, state, ready=True)
                detail = f"{state.api}/readyz: {probe.detail}"
            if self.clock.monotonic() >= deadline:
                raise self._error(
                    f"jupyter-knative is running but was not ready within {timeout:g} s ({detail}); "
                    "`jupyter knative down` stops it"
                )
            self.clock.sleep(_POLL)

    def _probe_budget(self, deadline: float) -> float:
        return min(_PROBE_TIMEOUT, max(0.2, deadline - self.clock.monotonic()))

    def _abort(self, proc: subprocess.Popen[bytes]) -> None:
        """Stop a daemon we started that never became ready: `up` fails with nothing left running."""
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(_TERM_GRACE)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self._kill_leftovers(proc.pid)
        self.home.clear_state()

    # -- down ---------------------------------------------------------------------------------------

    def down(self, timeout: float = 20.0) -> DownResult:
        """SIGTERM the daemon and wait for its lock to go; SIGKILL its process group if it lingers."""
        if not self.home.root.is_dir():
            return DownResult(was_running=False)
        with self._cli_lock():
            if not daemon_running(self.home):
                self.home.clear_state()
                return DownResult(was_running=False)
            pid = self._daemon_pid()
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            killed = not self._await_stopped(self.clock.monotonic() + timeout)
            if killed:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                if not self._await_stopped(self.clock.monotonic() + _KILL_GRACE):
                    lock = self.home.lock_file
                    raise self._error(f"the daemon (pid {pid}) still holds {lock} after SIGKILL")
            leftovers = self._kill_leftovers(pid)
            self.home.clear_state()
            return DownResult(was_running=True, pid=pid, killed=killed, leftovers_killed=leftovers)

    def _daemon_pid(self) -> int:
        state = self.home.read_state()
        holder = _lock_holder_pid(self.home)
        pid = holder if holder is not None else (state.pid if state else None)
        if pid is None:
            raise self._error(
                f"jupyter-knative is running (lock held on {self.home.lock_file}) but {self.home.state_file} "
                "does not say which process it is; is it still starting?"
            )
        if not _is_session_leader(pid):
            raise self._error(
                f"jupyter-knative is running (lock held on {self.home.lock_file}) but the pid on record, "
                f"{pid}, is not the daemon; refusing to signal it"
            )
        return pid

    def _await_stopped(self, deadline: float) -> bool:
        while daemon_running(self.home):
            if self.clock.monotonic() >= deadline:
                return False
            self.clock.sleep(_POLL)
        return True

    def _kill_leftovers(self, pgid: int) -> bool:
        """The daemon is gone; anything still in its process group is something it failed to stop."""
        deadline = self.clock.monotonic() + 2.0
        while True:
            _reap(pgid)
            if not _group_exists(pgid):
                return False
            if self.clock.monotonic() >= deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                self._await_group_gone(pgid, _KILL_GRACE)
                return True
            self.clock.sleep(_POLL)

    def _await_group_gone(self, pgid: int, timeout: float) -> None:
        """SIGKILL is delivered asynchronously: wait until the kernel has taken the processes away."""
        deadline = self.clock.monotonic() + timeout
        while _group_exists(pgid) and self.clock.monotonic() < deadline:
            _reap(pgid)
            self.clock.sleep(0.01)

    # -- shared -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _cli_lock(self) -> Iterator[None]:
        """Serialize up/down: two `up`s at once start one daemon."""
        fd = os.open(self.home.root / "cli.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.on_lock_wait()
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _error(self, message: str, log_offset: int = 0) -> DaemonError:
        return DaemonError(message, self.home.log_file, _log_tail(self.home.log_file, log_offset))


def _describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
        return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _log_tail(path: Path, offset: int, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last `lines` lines written to `path` from byte `offset` on."""
    window = 64 * 1024
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            start = max(offset, size - window)
            f.seek(start)
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    tail = text.splitlines()
    if start > offset and tail:
        tail = tail[1:]  # began mid-line
    return tail[-lines:]


def _lock_holder_pid(home: PlaneHome) -> int | None:
    """The pid the daemon may have written into its lock file (the usual pidfile convention)."""
    try:
        text = home.lock_file.read_text().strip()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() and int(text) > 1 else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_session_leader(pid: int) -> bool:
    """The daemon is started in a session of its own; a recycled pid almost never is one."""
    if pid <= 1 or pid == os.getpid():
        return False
    try:
        return os.getsid(pid) == pid
    except (ProcessLookupError, PermissionError):
        return False


def _group_exists(pgid: int) -> bool:
    """Whether a live (not zombie) process remains in the group. Zombies count for `killpg(pgid, 0)`
    and linger where PID 1 does not reap orphans (some containers), so Linux reads /proc instead."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for stat_file in proc.glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
            fields = stat_file.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited meanwhile
        if len(fields) > 2 and fields[0] != "Z" and fields[2] == str(pgid):
            return True
    return False


def _reap(pid: int) -> None:
    """Collect the exit status if the daemon was our own child (an `up` in this same process): its
    zombie would otherwise keep the process group alive."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _source_root() -> str | None:
    """The directory holding the `jupyter_knative` package when it is not installed in site-packages
    (a source checkout): the daemon runs in another directory and must still import it."""
    import site

    root = Path(__file__).resolve().parents[2]
    installed = [*site.getsitepackages(), site.getusersitepackages()]
    if any(Path(p).resolve() == root for p in installed if p):
        return None
    return str(root)
