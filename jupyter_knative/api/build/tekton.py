"""Tekton's two webhooks as admission hooks for Task, TaskRun, Pipeline and PipelineRun: default
(`webhook.pipeline.tekton.dev`), then validate (`validation.webhook.pipeline.tekton.dev`), on CREATE and
UPDATE (not on status writes, and not for objects on their way out).

A refusal reads as the apiserver words a webhook's denial:
`admission webhook "validation.webhook.pipeline.tekton.dev" denied the request: validation failed: <errors>`.
Defaults come from `config-defaults` in `tekton-pipelines`, read on every request.

A run's spec is fixed once it started: Tekton refuses spec changes to a TaskRun or PipelineRun that has
started, except to cancel it (`spec.status`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..registry import AdmissionRequest
from ..serving.fielderror import FieldError
from ..serving.fielderror import denied as _denied
from ..status import BadRequest
from . import tekton_defaults as d
from . import tekton_validation as v

__all__ = [
    "DEFAULTING_WEBHOOK",
    "VALIDATING_WEBHOOK",
    "admit_pipeline",
    "admit_pipeline_run",
    "admit_task",
    "admit_task_run",
    "denied",
]

DEFAULTING_WEBHOOK = "webhook.pipeline.tekton.dev"
VALIDATING_WEBHOOK = "validation.webhook.pipeline.tekton.dev"

_Obj = dict[str, Any]
Defaulter = Callable[[_Obj, d.TektonDefaults], None]
Validator = Callable[[_Obj], FieldError]


def denied(reason: FieldError | str) -> BadRequest:
    return _denied(reason, webhook=VALIDATING_WEBHOOK)


def _started(old: _Obj | None) -> bool:
    return bool(old is not None and (old.get("status") or {}).get("startTime"))


def _immutable_once_started(req: AdmissionRequest) -> FieldError:
    """Spec changes other than cancelling a started run (Tekton's `ValidateUpdate`)."""
    old = req.old
    if req.operation != "UPDATE" or old is None or not _started(old):
        return FieldError()
    new_spec = {k: val for k, val in (req.obj.get("spec") or {}).items() if k not in ("status", "statusMessage")}
    old_spec = {k: val for k, val in (old.get("spec") or {}).items() if k not in ("status", "statusMessage")}
    if new_spec == old_spec:
        return FieldError()
    return FieldError("Once the " + str(req.obj.get("kind")) + " has started, only status and statusMessage "
                      "updates are allowed", ("spec",))


def _hook(defaulter: Defaulter, validator: Validator, *, run: bool = False) -> Callable[[AdmissionRequest], None]:
    def admit(req: AdmissionRequest) -> None:
        if req.operation not in ("CREATE", "UPDATE") or req.subresource:
            return
        if req.old is not None and (req.old.get("metadata") or {}).get("deletionTimestamp"):
            return
        defaulter(req.obj, d.load_defaults(req.config(d.SYSTEM_NAMESPACE, d.CONFIG_DEFAULTS)))
        errors = validator(req.obj)
        if run:
            errors = errors.also(_immutable_once_started(req))
        if errors.errors():
            raise denied(errors.errors())
    return admit


admit_task = _hook(d.default_task, v.validate_task)
admit_task_run = _hook(d.default_task_run, v.validate_task_run, run=True)
admit_pipeline = _hook(d.default_pipeline, v.validate_pipeline)
admit_pipeline_run = _hook(d.default_pipeline_run, v.validate_pipeline_run, run=True)
