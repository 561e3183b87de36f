"""The embedded control plane's home directory: where every layer finds the daemon's files.

Everything lives under `$JUPYTER_KNATIVE_HOME` (default `~/.jupyter-knative`): the SQLite store, the
TLS material and bearer token, the kubeconfig for kubectl, the daemon's endpoints (`daemon.json`), its
log, and the lock the daemon holds for its whole life. This module imports nothing from the package,
so the CLI, the kernel side and the daemon can all use it.

Liveness is decided by the lock, not by `daemon.json`: after a `kill -9` the state file remains but the
kernel has released the lock, so `daemon_running` reads false.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_HOME", "HOME_ENV", "DaemonState", "PlaneHome", "daemon_running", "write_atomic"]

HOME_ENV = "JUPYTER_KNATIVE_HOME"
DEFAULT_HOME = "~/.jupyter-knative"


@dataclass(frozen=True)
class DaemonState:
    """What a serving daemon publishes in `daemon.json`."""

    pid: int
    api: str  # https://127.0.0.1:PORT, the Kubernetes API
    ingress: str  # http://127.0.0.1:PORT, the data plane
    kubeconfig: str  # absolute path of the kubeconfig the daemon wrote
    started: float  # wall-clock seconds since the epoch
    version: str  # jupyter-knative version of the daemon

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> DaemonState:
        """Parse and type-check; raises `ValueError` naming the first bad field."""
        if not isinstance(d, Mapping):
            raise ValueError(f"daemon state = {type(d).__name__}, must be a JSON object")
        return cls(
            pid=_field(d, "pid", int),
            api=_field(d, "api", str),
            ingress=_field(d, "ingress", str),
            kubeconfig=_field(d, "kubeconfig", str),
            started=float(_field(d, "started", (int, float))),
            version=_field(d, "version", str),
        )


def _field(d: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in d:
        raise ValueError(f"daemon state: {key} is missing")
    value = d[key]
    # bool is an int subclass; `"pid": true` is corruption, not pid 1
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"daemon state: {key} = {value!r}, must be of type {_kind_name(kind)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


@dataclass(frozen=True)
class PlaneHome:
    """The on-disk layout under one root directory."""

    root: Path

    @classmethod
    def default(cls) -> PlaneHome:
        """`$JUPYTER_KNATIVE_HOME` if set and non-empty, else `~/.jupyter-knative`; made absolute."""
        configured = os.environ.get(HOME_ENV) or DEFAULT_HOME
        return cls(Path(configured).expanduser().absolute())

    def ensure(self) -> None:
        """Create the root (mode 0700: it holds the token and the CA key)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkdir's mode is filtered by the umask and ignored for an existing directory
        if self.root.stat().st_uid == os.getuid():
            self.root.chmod(0o700)

    @property
    def db(self) -> Path:
        return self.root / "store.db"

    @property
    def eventing_db(self) -> Path:
        """The eventing data plane's queues: events accepted and not yet delivered."""
        return self.root / "eventing.db"

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    @property
    def token_file(self) -> Path:
        return self.root / "token"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def state_file(self) -> Path:
        return self.root / "daemon.json"

    @property
    def settings_file(self) -> Path:
        return self.root / "plane.json"

    @property
    def log_file(self) -> Path:
        return self.root / "daemon.log"

    @property
    def artifacts(self) -> Path:
        """Content-addressed function artifacts (`dev.local/...@sha256:` images)."""
        return self.root / "artifacts"

    @property
    def container_logs(self) -> Path:
        """Containers' logs, one file per run, kept after their replicas are gone."""
        return self.root / "logs"

    @property
    def run_dir(self) -> Path:
        """Sockets and scratch space of the running daemon's zygotes."""
        return self.root / "run"

    @property
    def lock_file(self) -> Path:
        return self.root / "daemon.lock"

    def read_state(self) -> DaemonState | None:
        """The published state, or None when `daemon.json` is missing or corrupt."""
        try:
            raw = self.state_file.read_bytes()
            return DaemonState.from_json(json.loads(raw))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except ValueError:  # also JSONDecodeError and UnicodeDecodeError
            return None

    def write_state(self, state: DaemonState) -> None:
        write_atomic(self.state_file, _dump(state.to_json()))

    def clear_state(self) -> None:
        self.state_file.unlink(missing_ok=True)

    def read_settings(self) -> dict[str, Any]:
        """`plane.json`, or {} when missing. A corrupt file is an error: the user may have edited it."""
        try:
            raw = self.settings_file.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            settings = json.loads(raw)
        except ValueError as e:
            raise ValueError(f"{self.settings_file}: not valid JSON: {e}") from e
        if not isinstance(settings, dict):
            kind = type(settings).__name__
            raise ValueError(f"{self.settings_file}: top level = {kind}, must be an object")
        return settings

    def write_settings(self, settings: Mapping[str, Any]) -> None:
        write_atomic(self.settings_file, _dump(dict(settings)))


def _dump(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data` so readers see the old or the new content, never a torn one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def daemon_running(home: PlaneHome) -> bool:
    """True iff some open file (the daemon's) holds the exclusive flock on `home.lock_file`.

    The probe takes a *shared* lock, non-blocking, and drops it at once: it fails only against the
    daemon's exclusive lock, so concurrent probes (the CLI, the kernel, the server extension) never see
    each other as a running daemon. Locks belong to open files, so this also answers true when the
    daemon asks about itself.
    """
    try:
        fd = os.open(home.lock_file, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
