"""Builders and waiting helpers for the Tekton controller tests (real steps on the host, a FakeClock for
deadlines)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_knative.api.registry import ResourceType
from jupyter_knative.store import Store

V1 = "tekton.dev/v1"


def rt(store: Store, kind: str, group: str = "tekton.dev") -> ResourceType:
    found = store.registry.by_kind(group, kind)
    assert found is not None
    return found


def step(name: str, script: str, image: str = "busybox", **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": image, "script": script, **extra}


def task(name: str, *steps: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": V1, "kind": "Task", "metadata": {"name": name, "namespace": "default"},
            "spec": {"steps": list(steps), **spec}}


def task_run(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": V1, "kind": "TaskRun", "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def condition(obj: dict[str, Any] | None) -> dict[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Succeeded":
            return dict(cond)
    return {}


async def until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait (real time: the steps are real processes) until `check()` holds."""
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "condition not reached in time"
        await asyncio.sleep(0.02)


def log_of(logs: Path, pod: str, container: str) -> str:
    return (logs / "default" / pod / container / "0.log").read_text()
