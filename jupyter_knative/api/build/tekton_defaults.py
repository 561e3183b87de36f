"""Tekton's defaulting webhook (`webhook.pipeline.tekton.dev`) for the common fields, pure.

    param specs      type from the default's shape (array, object) else `string`; object properties `string`
    results          type `string` (object when properties are given)
    taskRef          kind `Task` when a name is given
    TaskRun          timeout from `config-defaults` (`default-timeout-minutes`, 60), serviceAccountName
                     `default-service-account` (`default`), the managed-by label
    PipelineRun      timeouts.pipeline and taskRunTemplate.serviceAccountName likewise

`config-defaults` lives in `tekton-pipelines`; without it Tekton's built-in defaults apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..serving.goformat import Duration

__all__ = [
    "MANAGED_BY",
    "TektonDefaults",
    "default_pipeline",
    "default_pipeline_run",
    "default_pipeline_spec",
    "default_task",
    "default_task_run",
    "default_task_spec",
    "load_defaults",
]

SYSTEM_NAMESPACE = "tekton-pipelines"
CONFIG_DEFAULTS = "config-defaults"
MANAGED_BY = "app.kubernetes.io/managed-by"
_Obj = dict[str, Any]


@dataclass(frozen=True)
class TektonDefaults:
    timeout_minutes: float = 60
    service_account: str = "default"
    managed_by: str = "tekton-pipelines"

    @property
    def timeout(self) -> str:
        """The default timeout as Tekton writes it (a Go duration: `1h0m0s`)."""
        return str(Duration.seconds(self.timeout_minutes * 60))


def load_defaults(data: Mapping[str, str] | None) -> TektonDefaults:
    """`config-defaults` data (missing or unparsable keys keep Tekton's built-in values)."""
    data = data or {}
    base = TektonDefaults()
    try:
        minutes = float(data.get("default-timeout-minutes") or base.timeout_minutes)
    except ValueError:
        minutes = base.timeout_minutes
    return TektonDefaults(minutes, data.get("default-service-account") or base.service_account,
                          data.get("default-managed-by-label-value") or base.managed_by)


def _param_type(default: Any, properties: Any) -> str:
    if isinstance(default, list):
        return "array"
    if isinstance(default, dict) or properties:
        return "object"
    return "string"


def default_param_specs(specs: list[_Obj] | None) -> None:
    for spec in specs or []:
        if not spec.get("type"):
            spec["type"] = _param_type(spec.get("default"), spec.get("properties"))
        for prop in (spec.get("properties") or {}).values():
            if isinstance(prop, dict) and not prop.get("type"):
                prop["type"] = "string"


def _default_results(results: list[_Obj] | None) -> None:
    for result in results or []:
        if not result.get("type"):
            result["type"] = "object" if result.get("properties") else "string"


def default_task_spec(spec: _Obj | None) -> None:
    if not isinstance(spec, dict):
        return
    default_param_specs(spec.get("params"))
    _default_results(spec.get("results"))


def _default_ref(ref: _Obj | None) -> None:
    if isinstance(ref, dict) and ref.get("name") and not ref.get("kind"):
        ref["kind"] = "Task"


def default_pipeline_spec(spec: _Obj | None) -> None:
    if not isinstance(spec, dict):
        return
    default_param_specs(spec.get("params"))
    for result in spec.get("results") or []:
        if not result.get("type"):
            value = result.get("value")
            result["type"] = "array" if isinstance(value, list) else "object" if isinstance(value, dict) \
                else "string"
    for task in [*(spec.get("tasks") or []), *(spec.get("finally") or [])]:
        _default_ref(task.get("taskRef"))
        default_task_spec(task.get("taskSpec"))


def _label(obj: _Obj, cfg: TektonDefaults) -> None:
    labels = obj.setdefault("metadata", {}).setdefault("labels", {})
    labels.setdefault(MANAGED_BY, cfg.managed_by)


def default_task(obj: _Obj, cfg: TektonDefaults) -> None:
    default_task_spec(obj.get("spec"))


def default_pipeline(obj: _Obj, cfg: TektonDefaults) -> None:
    default_pipeline_spec(obj.get("spec"))


def default_task_run(obj: _Obj, cfg: TektonDefaults) -> None:
    spec = obj.setdefault("spec", {})
    _label(obj, cfg)
    if not spec.get("timeout"):
        spec["timeout"] = cfg.timeout
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = cfg.service_account
    _default_ref(spec.get("taskRef"))
    default_task_spec(spec.get("taskSpec"))


def default_pipeline_run(obj: _Obj, cfg: TektonDefaults) -> None:
    spec = obj.setdefault("spec", {})
    _label(obj, cfg)
    timeouts = spec.setdefault("timeouts", {})
    if not timeouts.get("pipeline"):
        timeouts["pipeline"] = cfg.timeout
    template = spec.setdefault("taskRunTemplate", {})
    if not template.get("serviceAccountName"):
        template["serviceAccountName"] = cfg.service_account
    default_pipeline_spec(spec.get("pipelineSpec"))
