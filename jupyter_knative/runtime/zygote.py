"""The zygote: one warm, single-threaded process per image that forks replicas in milliseconds.

    python -m jupyter_knative.runtime.zygote --control SOCKET --image REF --store DIR

It imports the runtime (uvloop, httptools), executes the function's module once (or builds the
sample), with the artifact's dependency set on `sys.path` so its top-level imports (numpy, pandas...)
happen here, before any fork, and not in each replica (for the function runtime image, the module its
environment names, read through `JUPYTER_KNATIVE_MOUNTS` from the ConfigMap folder the kubelet wrote: that
environment is the Revision's, so the design holds, one zygote per Revision); it freezes the heap for
the garbage collector (`gc.freeze()`: children then share those pages instead of copying them when a
collection touches them), connects to the daemon's control socket and says `ready` (or `error` with the
traceback, and exits 1). Then it forks a replica per `fork` request (see `control` for the frames), reaps them and
reports each exit.

Process decisions:

- Replicas stay in the daemon's process group and session (no `setsid()`): a signal to the group
  (Ctrl-C on a foreground daemon, `kill -- -PGID`) reaches every replica, and nothing outlives the
  plane by accident. They ignore SIGINT themselves: the daemon decides when a replica stops.
- A replica dies with its zygote (`PR_SET_PDEATHSIG` = SIGKILL, Linux), and the zygote with the
  daemon: when the control socket closes, it SIGKILLs its replicas, reaps them and exits.
- A replica keeps only stdio (its Pod log, opened O_APPEND, line-buffered) and its listening socket.
  Every other inherited descriptor is replaced by /dev/null rather than closed: the file is released
  (a lock the daemon holds is not kept alive by a replica) while objects the user's module opened at
  import keep a harmless descriptor, and their eventual `close()` cannot close a descriptor number the
  replica reused for something else.
- The child reseeds `random` (the stdlib also does, at fork) and numpy's global generator if loaded,
  applies the Pod's environment over the zygote's, and creates its event loop after the fork.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import errno
import gc
import io
import os
import random
import selectors
import signal
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from .control import MAX_FDS, FrameReader, encode, fds_of

__all__ = ["Zygote", "main"]

PR_SET_PDEATHSIG = 1


class Zygote:
    """The fork server loop, after the application is loaded."""

    def __init__(self, control: socket.socket, app: Any) -> None:
        self.control = control
        self.app = app
        self.reader = FrameReader()
        self.children: dict[int, str] = {}
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        self.stopping_until: float | None = None
        self.terminated = False
        self.pid = os.getpid()
        self.prctl = _prctl()

    def send(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # the daemon is gone; EOF on the next read ends us
            self.control.sendall(encode(message))

    def run(self) -> int:
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # a handler, so the wakeup fd is written
        signal.signal(signal.SIGTERM, self._on_sigterm)
        self.selector.register(self.control, selectors.EVENT_READ, "control")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "wake")
        while True:
            timeout = None if self.stopping_until is None else max(0.0, self.stopping_until - time.monotonic())
            for key, _ in self.selector.select(timeout):
                if key.data == "wake":
                    self._drain_wakeups()
                elif not self._read_control():
                    return self._orphaned()
            self._reap()
            if self.terminated and self.stopping_until is None:
                self._begin_stop(10.0)
            if self.stopping_until is not None:
                if not self.children:
                    self.send({"type": "stopped"})
                    return 0
                if time.monotonic() >= self.stopping_until:
                    self._signal_all(signal.SIGKILL)
                    self.stopping_until = time.monotonic() + 5.0  # reap what SIGKILL leaves

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        self.terminated = True

    def _drain_wakeups(self) -> None:
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass

    def _read_control(self) -> bool:
        """Handle what arrived; False when the daemon closed the connection."""
        try:
            data, ancdata, _, _ = self.control.recvmsg(65536, socket.CMSG_SPACE(MAX_FDS * 4))
        except InterruptedError:
            return True
        except OSError:
            return False
        fds = fds_of(ancdata)
        if not data:
            for fd in fds:
                os.close(fd)
            return False
        for message in self.reader.feed(data, fds):
            self._handle(message)
        return True

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "fork":
            fd = self.reader.take_fd()
            if fd is None:
                self.send({"type": "fork_failed", "id": message.get("id"), "message": "no listening socket came"})
                return
            self._fork(message, fd)
        elif kind == "stop":
            self._begin_stop(float(message.get("grace", 10.0)))

    def _begin_stop(self, grace: float) -> None:
        if self.stopping_until is None:
            self._signal_all(signal.SIGTERM)
            self.stopping_until = time.monotonic() + grace

    def _signal_all(self, signum: int) -> None:
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def _fork(self, message: dict[str, Any], fd: int) -> None:
        if self.stopping_until is not None:
            os.close(fd)
            self.send({"type": "fork_failed", "id": message.get("id"), "message": "the zygote is stopping"})
            return
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(fd)
            self.send({"type": "fork_failed", "id": message.get("id"), "message": f"fork: {exc}"})
            return
        if pid == 0:
            status = 1
            try:
                status = self._child(message, fd)
            except BaseException:
                traceback.print_exc()
            finally:
                from .replica import exit_now

                exit_now(status)
        os.close(fd)
        self.children[pid] = str(message.get("pod", ""))
        self.send({"type": "forked", "id": message.get("id"), "pid": pid})

    def _child(self, message: dict[str, Any], listen_fd: int) -> int:
        _die_with_parent(self.prctl, self.pid)
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _redirect_stdio(str(message["log"]))
        self.selector.close()
        self.control.close()
        os.close(self.wake_r)
        os.close(self.wake_w)
        _neutralise_fds(keep={0, 1, 2, listen_fd})
        env = {str(k): str(v) for k, v in (message.get("env") or {}).items()}
        os.environ.update(env)
        if message.get("pod") and "HOSTNAME" not in env:
            os.environ["HOSTNAME"] = str(message["pod"])
        _reseed()
        from .replica import serve

        return serve(self.app, socket.socket(fileno=listen_fd))

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.pop(pid, None)
            self.send({"type": "exit", "pid": pid, "returncode": os.waitstatus_to_exitcode(status)})

    def _orphaned(self) -> int:
        """The daemon is gone: take every replica down with us."""
        self._signal_all(signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while self.children and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.005)
        return 0


def _prctl() -> Any:
    """libc's prctl, looked up before any fork (the lookup is not free)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _die_with_parent(prctl: Any, parent: int) -> None:
    """SIGKILL this process when the zygote dies (Linux); if it already has, leave now."""
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _redirect_stdio(log_path: str) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    # Keep the stream objects (logging handlers made at import hold them), make them line-buffered.
    sys.stdout = _line_buffered(sys.stdout, 1)
    sys.stderr = _line_buffered(sys.stderr, 2)


def _line_buffered(stream: Any, fd: int) -> Any:
    if isinstance(stream, io.TextIOWrapper):
        with contextlib.suppress(OSError, ValueError):
            if stream.fileno() == fd:
                stream.reconfigure(line_buffering=True, errors="backslashreplace")
                return stream
    return io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8", errors="backslashreplace",
                            line_buffering=True)


def _open_fds() -> list[int]:
    try:
        return sorted(int(name) for name in os.listdir("/proc/self/fd"))
    except OSError:  # not Linux: probe the usual range
        return [fd for fd in range(3, 1024) if _is_open(fd)]


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError as exc:
        return exc.errno != errno.EBADF
    return True


def _neutralise_fds(keep: set[int]) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in _open_fds():
        if fd in keep or fd == null or not _is_open(fd):
            continue
        os.dup2(null, fd, inheritable=False)
    os.close(null)


def _reseed() -> None:
    random.seed()
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        with contextlib.suppress(Exception):  # best effort: an odd numpy is not worth a dead replica
            numpy_random.seed()


def _load(image: str, store: Path) -> tuple[Any, str, str]:
    import httptools  # noqa: F401 - warmed here so a replica never imports it

    from .replica import load_image, loop_factory

    loop_factory()  # imports uvloop
    loaded = load_image(image, store)
    if loaded.kind in ("cloudevent", "kn-func"):
        import cloudevents.http  # noqa: F401 - the replica parses events with it

    return loaded.app, loaded.kind, loaded.target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_knative.runtime.zygote")
    parser.add_argument("--control", required=True, help="the daemon's Unix socket")
    parser.add_argument("--image", required=True)
    parser.add_argument("--store", required=True, type=Path)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    control.connect(args.control)
    try:
        app, kind, target = _load(args.image, args.store)
    except BaseException as exc:
        tb = traceback.format_exc()
        sys.stderr.write(tb)
        sys.stderr.flush()
        control.sendall(encode({"type": "error", "message": f"{type(exc).__name__}: {exc}", "traceback": tb}))
        return 1
    if threading.active_count() > 1:
        print(f"warning: the function's imports started {threading.active_count() - 1} thread(s); forking a "
              f"multi-threaded process can deadlock a replica", file=sys.stderr, flush=True)
    gc.collect()
    gc.freeze()
    control.sendall(encode({"type": "ready", "pid": os.getpid(), "kind": kind, "target": target}))
    return Zygote(control, app).run()


if __name__ == "__main__":
    from .replica import exit_now

    exit_now(main())
