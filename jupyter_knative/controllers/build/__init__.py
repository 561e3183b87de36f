"""The build controllers and their wiring: Knative Build (`knative.py`) and, when present, Tekton
(`tekton.py`'s `add_tekton`), sharing one step runner.

    knative.py    Build → pod of steps, run in the background by the StepRunner
    resources.py  the build's pod: template applied, credential initializer, sources, steps (pure)
    status.py     the build's status from its pod (pure)
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...build import StepRunner
from ..runtime import Manager
from .knative import KnativeBuildReconciler

__all__ = ["Builds", "KnativeBuildReconciler", "new_build"]


@dataclass
class Builds:
    knative: KnativeBuildReconciler
    tekton: Any = None  # whatever `add_tekton` returned

    async def shutdown(self) -> None:
        """Stop the running builds' steps (the daemon is going down); they are marked interrupted."""
        await self.knative.shutdown()
        stop = getattr(self.tekton, "shutdown", None)
        if stop is not None:
            await stop()


def new_build(manager: Manager, runner: StepRunner, *, workspaces: Path | None = None) -> Builds:
    """Add the build controllers to `manager`. Workspaces live under `workspaces` (default: beside the
    runner's logs, `<home>/build-workspaces`)."""
    knative = KnativeBuildReconciler(manager.store, manager.clock, runner,
                                     workspaces or runner.logs.parent / "build-workspaces")
    knative.register(manager)
    tekton: Any = None
    try:
        module = importlib.import_module(f"{__name__}.tekton")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.tekton":
            raise
    else:
        add_tekton = getattr(module, "add_tekton", None)
        if add_tekton is not None:
            tekton = add_tekton(manager, runner)
    return Builds(knative, tekton)
