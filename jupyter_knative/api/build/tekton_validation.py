"""Tekton's validating webhook (`validation.webhook.pipeline.tekton.dev`) for the common cases, pure, with
Tekton's messages and field paths (knative.dev/pkg FieldErrors):

    steps            present; each with an image; names unique DNS labels; `script` not with `command`
    params           types string/array/object, defaults of the declared type, names unique and well formed,
                     every `$(params.x)` a declared param (for a Task; a TaskRun's inline spec may also use
                     the TaskRun's params), arrays only as whole arguments
    results          names well formed, `$(results.x.path)` a declared result
    context          `$(context.taskRun.*)` / `$(context.task.*)` names Tekton knows
    workspaces       declared names unique; bindings with exactly one volume source
    TaskRun          exactly one of taskRef / taskSpec; timeout >= 0; status `TaskRunCancelled`
    Pipeline         task names unique DNS labels, one of taskRef / taskSpec, `runAfter` and result
                     references naming tasks that exist, no cycle, pipeline results from task results
    PipelineRun      exactly one of pipelineRef / pipelineSpec; timeouts
"""

from __future__ import annotations

import re
from typing import Any

from ..serving.fielderror import (
    FieldError,
    err_generic,
    err_invalid_key_name,
    err_invalid_value,
    err_missing_field,
    err_missing_one_of,
    err_multiple_one_of,
)
from ..serving.goformat import go_quote, parse_duration
from . import tekton_vars as tv
from .tekton_dag import DagError, build, result_refs, strings_in

__all__ = [
    "validate_pipeline",
    "validate_pipeline_run",
    "validate_pipeline_spec",
    "validate_task",
    "validate_task_run",
    "validate_task_spec",
]

_Obj = dict[str, Any]
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PARAM_NAME = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9.-]*$")
RESULT_NAME_FORMAT = r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
_RESULT_NAME = re.compile(RESULT_NAME_FORMAT)
_PARAM_TYPES = ("string", "array", "object")
_VOLUME_SOURCES = ("persistentvolumeclaim", "volumeclaimtemplate", "emptydir", "configmap", "secret")
_SOURCE_FIELDS = ("volumeClaimTemplate", "persistentVolumeClaim", "emptyDir", "configMap", "secret", "projected",
                  "csi")
_STEP_DNS_DETAILS = ("Task step name must be a valid DNS Label, For more info refer to "
                     "https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#names")
_TASK_DNS_DETAILS = ("Pipeline Task name must be a valid DNS Label.For more info refer to "
                     "https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#names")
_NAME_DETAILS = ("String/Array Names: \nMust only contain alphanumeric characters, hyphens (-), underscores (_), "
                 "and dots (.)\nMust begin with a letter or an underscore (_)")
_RESULT_DETAILS = ("Name must consist of alphanumeric characters, '-', '_', and must start and end with an "
                   "alphanumeric character (e.g. 'MyName',  or 'my-name',  or 'my_name', regex used for "
                   f"validation is '{RESULT_NAME_FORMAT}')")
_TASK_RUN_CONTEXT = frozenset({"name", "namespace", "uid"})
_TASK_CONTEXT = frozenset({"name", "retry-count"})


def _is_label(name: str) -> bool:
    return len(name) <= 63 and bool(_DNS_LABEL.match(name))


def _metadata(obj: _Obj) -> FieldError:
    name = str((obj.get("metadata") or {}).get("name") or "")
    if len(name) > 63:
        return err_generic("Invalid resource name: length must be no more than 63 characters", "name") \
            .via_field("metadata")
    return FieldError()


# --- steps and variables ----------------------------------------------------------------------------------

def _step_texts(step: _Obj) -> list[tuple[str, str]]:
    """(relative path, text) of every field of a step that substitution applies to."""
    out = [("name", str(step.get("name") or "")), ("image", str(step.get("image") or "")),
           ("workingDir", str(step.get("workingDir") or "")), ("script", str(step.get("script") or ""))]
    out += [(f"command[{i}]", str(c)) for i, c in enumerate(step.get("command") or [])]
    out += [(f"args[{i}]", str(a)) for i, a in enumerate(step.get("args") or [])]
    out += [(f"env[{e.get('name', '')}]", str(e.get("value") or "")) for e in step.get("env") or []]
    out.append(("onError", str(step.get("onError") or "")))
    return out


def _unknown_variables(steps: list[_Obj], prefix: str, known: set[str] | frozenset[str]) -> FieldError:
    errs = FieldError()
    for i, step in enumerate(steps):
        for path, text in _step_texts(step):
            if any(name not in known for name in tv.references(text, prefix)):
                errs = errs.also(FieldError(f"non-existent variable in {go_quote(text)}", (path,))
                                 .via_field_index("steps", i))
    return errs


def _array_misuse(steps: list[_Obj], arrays: set[str]) -> FieldError:
    """Arrays only as a whole command/args item (Tekton: prohibited elsewhere, isolated there)."""
    errs = FieldError()
    pattern = re.compile(r"\$\(params(?:\.|\[[\"'])(?P<n>[_a-zA-Z][_a-zA-Z0-9.-]*?)(?:[\"']\])?(?:\[\*\])?\)")
    for i, step in enumerate(steps):
        for path, text in _step_texts(step):
            used = [m for m in pattern.finditer(text) if m.group("n") in arrays]
            if not used:
                continue
            if path.startswith(("command[", "args[")):
                if used[0].group(0) != text:
                    errs = errs.also(FieldError(f"variable is not properly isolated in {go_quote(text)}", (path,))
                                     .via_field_index("steps", i))
            else:
                errs = errs.also(FieldError(f"variable type invalid in {go_quote(text)}", (path,))
                                 .via_field_index("steps", i))
    return errs


def _steps(steps: list[_Obj]) -> FieldError:
    errs, names = FieldError(), set()
    for i, step in enumerate(steps):
        one = FieldError()
        if not step.get("image"):
            one = one.also(err_missing_field("Image"))
        if step.get("script") and step.get("command"):
            one = one.also(FieldError("script cannot be used with command", ("script",)))
        name = str(step.get("name") or "")
        if name:
            if name in names:
                one = one.also(err_invalid_value(name, "name"))
            if not _is_label(name):
                one = one.also(FieldError(f"invalid value {go_quote(name)}", ("name",), _STEP_DNS_DETAILS))
            names.add(name)
        on_error = str(step.get("onError") or "")
        if on_error and not on_error.startswith("$(params.") and on_error not in ("continue", "stopAndFail"):
            one = one.also(FieldError(f'invalid value: "{on_error}"', ("onError",),
                                      'Task step onError must be either "continue" or "stopAndFail"'))
        errs = errs.also(one.via_index(i))
    return errs.via_field("steps")


# --- params, results, workspaces ----------------------------------------------------------------------------

def _value_type(value: Any) -> str:
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "string"


def _param_specs(specs: list[_Obj]) -> FieldError:
    """Types and defaults (paths under `params`), then duplicates and name formats (paths from the spec)."""
    errs = FieldError()
    for p in specs:
        name, type_ = str(p.get("name") or ""), str(p.get("type") or "string")
        if type_ not in _PARAM_TYPES:
            errs = errs.also(err_invalid_value(type_, f"{name}.type").via_field("params"))
        elif "default" in p and p["default"] is not None and _value_type(p["default"]) != type_:
            errs = errs.also(FieldError(
                f'"{type_}" type does not match default value\'s type: "{_value_type(p["default"])}"',
                (f"{name}.type", f"{name}.default.type")).via_field("params"))
    names = [str(p.get("name") or "") for p in specs]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        errs = errs.also(err_generic("parameter appears more than once", "").via_field_key("params", dup))
    invalid = sorted({n for p, n in zip(specs, names, strict=True)
                      if p.get("type") != "object" and not _PARAM_NAME.match(n)})
    if invalid:
        errs = errs.also(FieldError("The format of following array and string variable names is invalid: "
                                    f"[{' '.join(invalid)}]", ("params",), _NAME_DETAILS))
    return errs


def _results(results: list[_Obj]) -> FieldError:
    errs = FieldError()
    for i, r in enumerate(results):
        name, type_ = str(r.get("name") or ""), str(r.get("type") or "")
        if not _RESULT_NAME.match(name):
            errs = errs.also(err_invalid_key_name(name, "name", _RESULT_DETAILS).via_index(i))
        elif type_ not in ("", "string", "array", "object"):
            errs = errs.also(err_invalid_value(type_, "type", "type must be string").via_index(i))
    return errs.via_field("results")


def _declared_workspaces(workspaces: list[_Obj]) -> FieldError:
    errs, names, paths = FieldError(), set(), set()
    for i, w in enumerate(workspaces):
        name = str(w.get("name") or "")
        if name in names:
            errs = errs.also(err_generic(f"workspace name {go_quote(name)} must be unique", "name").via_index(i))
        names.add(name)
        path = str(w.get("mountPath") or f"/workspace/{name}").rstrip("/") or "/"
        if path in paths:
            errs = errs.also(err_generic(f"workspace mount path {go_quote(path)} must be unique", "mountpath")
                             .via_index(i))
        paths.add(path)
    return errs.via_field("workspaces")


def _workspace_bindings(bindings: list[_Obj]) -> FieldError:
    errs, seen = FieldError(), set()
    for i, b in enumerate(bindings):
        sources = [f for f in _SOURCE_FIELDS if b.get(f) is not None]
        if len(sources) > 1:
            errs = errs.also(err_multiple_one_of(*_VOLUME_SOURCES).via_index(i))
        elif not sources:
            errs = errs.also(err_missing_one_of(*_VOLUME_SOURCES).via_index(i))
        elif b.get("configMap") is not None and not (b["configMap"] or {}).get("name"):
            errs = errs.also(err_missing_field("configmap.name").via_index(i))
        elif b.get("secret") is not None and not (b["secret"] or {}).get("secretName"):
            errs = errs.also(err_missing_field("secret.secretName").via_index(i))
        elif b.get("persistentVolumeClaim") is not None and not (b["persistentVolumeClaim"] or {}).get("claimName"):
            errs = errs.also(err_missing_field("persistentvolumeclaim.claimname").via_index(i))
        name = str(b.get("name") or "").lower()
        if name in seen:
            errs = errs.also(err_multiple_one_of("name").via_index(i))
        seen.add(name)
    return errs


def _params_unique(params: list[_Obj]) -> FieldError:
    errs, seen = FieldError(), set()
    for p in params:
        name = str(p.get("name") or "")
        if name.lower() in seen:
            errs = errs.also(err_multiple_one_of("name").via_key(name))
        seen.add(name.lower())
    return errs


# --- Task -------------------------------------------------------------------------------------------------

def validate_task_spec(spec: _Obj, extra_params: list[_Obj] | None = None, *, check_usage: bool = True) -> FieldError:
    """A TaskSpec (paths relative to it). `extra_params` are params a TaskRun passes to an inline spec, which
    its steps may use without declaring them (Tekton's propagated parameters)."""
    steps = [s for s in spec.get("steps") or [] if isinstance(s, dict)]
    specs = [p for p in spec.get("params") or [] if isinstance(p, dict)]
    errs = FieldError() if steps else err_missing_field("steps")
    errs = errs.also(_declared_workspaces(spec.get("workspaces") or []), _steps(steps), _param_specs(specs))
    known = {str(p.get("name")) for p in [*specs, *(extra_params or [])]}
    arrays = {str(p.get("name")) for p in specs if p.get("type") == "array"}
    arrays |= {str(p.get("name")) for p in extra_params or [] if isinstance(p.get("value"), list)}
    errs = errs.also(_array_misuse(steps, arrays))
    if check_usage:
        errs = errs.also(_unknown_variables(steps, "params", known))
    errs = errs.also(_unknown_variables(steps, "context.taskRun", _TASK_RUN_CONTEXT),
                     _unknown_variables(steps, "context.task", _TASK_CONTEXT))
    results = [r for r in spec.get("results") or [] if isinstance(r, dict)]
    result_names = {str(r.get("name")) for r in results}
    script_only = [{"script": s.get("script") or ""} for s in steps]
    return errs.also(_script_results(script_only, result_names), _results(results))


def _script_results(steps: list[_Obj], names: set[str]) -> FieldError:
    errs = FieldError()
    for i, step in enumerate(steps):
        text = str(step["script"])
        if any(n not in names for n in tv.references(text, "results")):
            errs = errs.also(FieldError(f"non-existent variable in {go_quote(text)}", ("script",))
                             .via_field_index("steps", i))
    return errs


def validate_task(obj: _Obj) -> FieldError:
    return _metadata(obj).also(validate_task_spec(obj.get("spec") or {}).via_field("spec"))


def _timeout(value: Any, path: str) -> FieldError:
    if value in (None, ""):
        return FieldError()
    try:
        duration = parse_duration(str(value))
    except ValueError:
        return err_invalid_value(value, path)
    if duration.ns < 0:
        return err_invalid_value(f"{duration} should be >= 0", path)
    return FieldError()


def validate_task_run(obj: _Obj) -> FieldError:
    spec = obj.get("spec") or {}
    errs = FieldError()
    ref, inline = spec.get("taskRef"), spec.get("taskSpec")
    if ref is None and inline is None:
        errs = errs.also(err_missing_one_of("taskRef", "taskSpec"))
    if ref is not None and inline is not None:
        errs = errs.also(err_multiple_one_of("taskRef", "taskSpec"))
    if isinstance(ref, dict) and not ref.get("name") and not ref.get("resolver"):
        errs = errs.also(err_missing_field("name").via_field("taskRef"))
    params = [p for p in spec.get("params") or [] if isinstance(p, dict)]
    if isinstance(inline, dict):
        errs = errs.also(validate_task_spec(inline, params).via_field("taskSpec"))
    errs = errs.also(_params_unique(params).via_field("params"),
                     _workspace_bindings(spec.get("workspaces") or []).via_field("workspaces"))
    status = spec.get("status")
    if status and status != "TaskRunCancelled":
        errs = errs.also(err_invalid_value(f"{status} should be TaskRunCancelled", "status"))
    if int(spec.get("retries") or 0) < 0:
        errs = errs.also(err_invalid_value(f"{spec['retries']} should be >= 0", "retries"))
    errs = errs.also(_timeout(spec.get("timeout"), "timeout"))
    return _metadata(obj).also(errs.via_field("spec"))


# --- Pipeline ---------------------------------------------------------------------------------------------

def _pipeline_tasks(tasks: list[_Obj], path: str, seen: set[str]) -> FieldError:
    errs = FieldError()
    for i, task in enumerate(tasks):
        name = str(task.get("name") or "")
        one = FieldError()
        if not _is_label(name):
            one = one.also(FieldError(f"invalid value {go_quote(name)}", ("name",), _TASK_DNS_DETAILS))
        if name in seen:
            one = one.also(err_multiple_one_of("name"))
        seen.add(name)
        ref, inline = task.get("taskRef"), task.get("taskSpec")
        if ref is not None and inline is not None:
            one = one.also(err_multiple_one_of("taskRef", "taskSpec"))
        if ref is None and inline is None:
            one = one.also(err_missing_one_of("taskRef", "taskSpec"))
        if isinstance(inline, dict):
            one = one.also(validate_task_spec(inline, check_usage=False).via_field("taskSpec"))
        if isinstance(ref, dict) and not ref.get("name") and not ref.get("resolver"):
            one = one.also(err_invalid_value("taskRef must specify name", "taskRef.name"))
        errs = errs.also(one.via_index(i))
    return errs.via_field(path)


def _param_usage(tasks: list[_Obj], specs: list[_Obj], path: str) -> FieldError:
    known = {str(p.get("name")) for p in specs}
    errs = FieldError()
    for i, task in enumerate(tasks):
        for p in task.get("params") or []:
            for text in strings_in(p.get("value")):
                if any(n not in known for n in tv.references(text, "params")):
                    errs = errs.also(FieldError(f"non-existent variable in {go_quote(text)}", ("",))
                                     .via_field_key("params", str(p.get("name") or "")).via_index(i))
    return errs.via_field(path)


def _pipeline_results(results: list[_Obj], tasks: set[str], final: set[str]) -> FieldError:
    errs = FieldError()
    for i, r in enumerate(results):
        texts = strings_in(r.get("value"))
        refs = [ref for t in texts for ref in result_refs(t)]
        if not refs:
            errs = errs.also(err_invalid_value(
                "expected pipeline results to be task result expressions but no expressions were found",
                "value").via_field_index("results", i))
        elif any(ref.task not in tasks | final for ref in refs):
            errs = errs.also(err_invalid_value("referencing a nonexistent task", "value")
                             .via_field_index("results", i))
    return errs


def _workspace_usage(tasks: list[_Obj], declared: set[str], path: str) -> FieldError:
    errs = FieldError()
    for i, task in enumerate(tasks):
        for j, ws in enumerate(task.get("workspaces") or []):
            wanted = str(ws.get("workspace") or ws.get("name") or "")
            if wanted not in declared:
                message = f"pipeline task {go_quote(str(task.get('name')))} expects workspace with name " \
                          f"{go_quote(wanted)} but none exists in pipeline spec"
                errs = errs.also(err_invalid_value(message, "").via_field_index("workspaces", j).via_index(i))
    return errs.via_field(path)


def validate_pipeline_spec(spec: _Obj, *, check_usage: bool = True) -> FieldError:
    tasks = [t for t in spec.get("tasks") or [] if isinstance(t, dict)]
    final = [t for t in spec.get("finally") or [] if isinstance(t, dict)]
    specs = [p for p in spec.get("params") or [] if isinstance(p, dict)]
    if not any(spec.get(k) for k in ("description", "params", "resources", "tasks", "workspaces", "finally")):
        return err_generic("expected at least one, got none", "description", "params", "resources", "tasks",
                           "workspaces")
    seen: set[str] = set()
    errs = _pipeline_tasks(tasks, "tasks", seen).also(_pipeline_tasks(final, "finally", seen))
    try:
        build(tasks)
    except DagError as e:
        errs = errs.also(err_invalid_value(str(e), "tasks"))
    errs = errs.also(_param_specs(specs).via_field("tasks"))
    if check_usage:
        errs = errs.also(_param_usage(tasks, specs, "tasks"), _param_usage(final, specs, "finally"))
        declared = {str(w.get("name")) for w in spec.get("workspaces") or []}
        errs = errs.also(_workspace_usage(tasks, declared, "tasks"), _workspace_usage(final, declared, "finally"))
    names = {str(t.get("name")) for t in tasks}
    errs = errs.also(_pipeline_results(spec.get("results") or [], names, {str(t.get("name")) for t in final}))
    if final and not tasks:
        errs = errs.also(err_invalid_value(f"spec.tasks is empty but spec.finally has {len(final)} tasks",
                                           "finally"))
    for i, f in enumerate(final):
        if f.get("runAfter"):
            errs = errs.also(err_invalid_value(
                f"no runAfter allowed under spec.finally, final task {f.get('name')} has runAfter specified", "")
                .via_field_index("finally", i))
    return errs


def validate_pipeline(obj: _Obj) -> FieldError:
    return _metadata(obj).also(validate_pipeline_spec(obj.get("spec") or {}).via_field("spec"))


def validate_pipeline_run(obj: _Obj) -> FieldError:
    spec = obj.get("spec") or {}
    errs = FieldError()
    ref, inline = spec.get("pipelineRef"), spec.get("pipelineSpec")
    if ref is None and inline is None:
        errs = errs.also(err_missing_one_of("pipelineRef", "pipelineSpec"))
    if ref is not None and inline is not None:
        errs = errs.also(err_multiple_one_of("pipelineRef", "pipelineSpec"))
    if isinstance(ref, dict) and not ref.get("name") and not ref.get("resolver"):
        errs = errs.also(err_missing_field("name").via_field("pipelineRef"))
    if isinstance(inline, dict):
        errs = errs.also(validate_pipeline_spec(inline, check_usage=False).via_field("pipelineSpec"))
    params = [p for p in spec.get("params") or [] if isinstance(p, dict)]
    errs = errs.also(_params_unique(params).via_field("params"),
                     _workspace_bindings(spec.get("workspaces") or []).via_field("workspaces"))
    status = spec.get("status")
    if status and status not in ("Cancelled", "CancelledRunFinally", "StoppedRunFinally", "PipelineRunPending"):
        errs = errs.also(err_invalid_value(
            f"{status} should be Cancelled, CancelledRunFinally, StoppedRunFinally or PipelineRunPending",
            "status"))
    for field in ("pipeline", "tasks", "finally"):
        errs = errs.also(_timeout((spec.get("timeouts") or {}).get(field), f"timeouts.{field}"))
    return _metadata(obj).also(errs.via_field("spec"))
