"""What the replica set controller needs from whatever runs containers (the data plane's replica
runtime in the daemon; a fake in tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol


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
