"""A Knative Build's pod, as knative/build's reconciler made it (pure): the template applied (`${PARAM}`
replaced by arguments and parameter defaults, the template's `env` overriding the steps'), the credential
initializer and the source steps first, every step named `build-step-<name>` (`build-step-unnamed-<i>`
without a name), working in `/workspace` with `HOME=/builder/home`, and a `nop` container last.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...build import KNATIVE_CREDS_INIT, KNATIVE_GIT_INIT, KNATIVE_NOP

STEP_PREFIX = "build-step-"
UNNAMED_PREFIX = "build-step-unnamed-"
CREDS_INIT = STEP_PREFIX + "credential-initializer"
BUILD_NAME_LABEL = "build.knative.dev/buildName"
WORKSPACE = "/workspace"
HOME = "/builder/home"
IMPLICIT_ENV = ({"name": "HOME", "value": HOME},)
NOP = "nop"

_Obj = dict[str, Any]


class InvalidBuild(ValueError):
    """The build cannot become a pod; `str()` is the condition's message."""


@dataclass(frozen=True)
class SourceStep:
    container: _Obj
    target_path: str = ""


@dataclass
class PodPlan:
    init_containers: list[_Obj] = field(default_factory=list)
    sub_path: str = ""  # the source's subPath: what steps (not sources) see as /workspace
    sources: int = 0  # how many init containers before the build's own steps (creds + sources)
    volumes: list[_Obj] = field(default_factory=list)


def pod_name(build_name: str) -> str:
    """`<build>-pod-<6 hex>`: a fresh suffix, so a build deleted and created again gets another pod."""
    return f"{build_name}-pod-{secrets.token_hex(3)}"


def replacements(build: Mapping[str, Any], template: Mapping[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for param in ((template or {}).get("spec") or {}).get("parameters") or []:
        if "default" in param:
            out[str(param.get("name"))] = str(param["default"])
    for arg in ((build.get("spec") or {}).get("template") or {}).get("arguments") or []:
        out[str(arg.get("name"))] = str(arg.get("value", ""))
    return out


def _substitute(text: str, values: Mapping[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text


def _env_override(env: Sequence[_Obj], override: Sequence[_Obj]) -> list[_Obj]:
    names = {e.get("name") for e in override}
    return [e for e in env if e.get("name") not in names] + [dict(e) for e in override]


def apply_template(build: Mapping[str, Any], template: Mapping[str, Any] | None) -> list[_Obj]:
    """The build's steps: its own, or the template's with parameters replaced."""
    spec = build.get("spec") or {}
    if template is None:
        return copy.deepcopy(list(spec.get("steps") or []))
    values = replacements(build, template)
    steps = copy.deepcopy(list((template.get("spec") or {}).get("steps") or []))
    for step in steps:
        for key in ("name", "image", "workingDir"):
            if key in step:
                step[key] = _substitute(str(step[key]), values)
        for key in ("args", "command"):
            step[key] = [_substitute(str(a), values) for a in step.get(key) or []]
            if not step[key]:
                del step[key]
        for env in step.get("env") or []:
            if "value" in env:
                env["value"] = _substitute(str(env["value"]), values)
        for mount in step.get("volumeMounts") or []:
            for key in ("name", "mountPath", "subPath"):
                if key in mount:
                    mount[key] = _substitute(str(mount[key]), values)
    override = [{**e, "value": _substitute(str(e.get("value", "")), values)} if "value" in e else dict(e)
                for e in (spec.get("template") or {}).get("env") or []]
    if override:
        for step in steps:
            step["env"] = _env_override(step.get("env") or [], override)
    return steps


def _git_container(source: Mapping[str, Any], index: int) -> _Obj:
    git = source.get("git") or {}
    if not git.get("url"):
        raise InvalidBuild("missing field(s): b.spec.source.git.url")
    if not git.get("revision"):
        raise InvalidBuild("missing field(s): b.spec.source.git.revision")
    args = ["-url", str(git["url"]), "-revision", str(git["revision"])]
    if source.get("targetPath"):
        args += ["-path", str(source["targetPath"])]
    return {"name": f"{STEP_PREFIX}git-source-{source.get('name') or index}", "image": KNATIVE_GIT_INIT,
            "args": args, "env": list(IMPLICIT_ENV), "workingDir": WORKSPACE}


def _gcs_container(source: Mapping[str, Any], index: int) -> _Obj:
    gcs = source.get("gcs") or {}
    if not gcs.get("location"):
        raise InvalidBuild("missing field(s): b.spec.source.gcs.location")
    args = ["--type", str(gcs.get("type", "")), "--location", str(gcs["location"])]
    if source.get("targetPath"):
        args += ["--dest_dir", f"{WORKSPACE}/{source['targetPath']}"]
    return {"name": f"{STEP_PREFIX}gcs-source-{source.get('name') or index}",
            "image": "gcr.io/cloud-builders/gcs-fetcher:latest", "args": args, "env": list(IMPLICIT_ENV),
            "workingDir": WORKSPACE}


def creds_container(args: Sequence[str]) -> _Obj:
    out: _Obj = {"name": CREDS_INIT, "image": KNATIVE_CREDS_INIT, "env": list(IMPLICIT_ENV), "workingDir": WORKSPACE}
    if args:
        out["args"] = list(args)
    return out


def plan_pod(build: Mapping[str, Any], steps: Sequence[_Obj], template: Mapping[str, Any] | None,
             creds_args: Sequence[str]) -> PodPlan:
    """The init containers (credential initializer, sources, steps) and volumes of the build's pod."""
    spec = build.get("spec") or {}
    plan = PodPlan([creds_container(creds_args)])
    sources = ([spec["source"]] if spec.get("source") else []) + list(spec.get("sources") or [])
    steps = list(steps)
    for i, source in enumerate(sources):
        if source.get("git"):
            plan.init_containers.append(_git_container(source, i))
        elif source.get("gcs"):
            plan.init_containers.append(_gcs_container(source, i))
        elif source.get("custom"):
            custom = copy.deepcopy(dict(source["custom"]))
            if custom.get("name"):
                raise InvalidBuild("missing field(s): b.spec.source.name")
            custom["name"] = "custom-source" + (f"-{source['name']}" if source.get("name") else "")
            steps.insert(0, custom)
        plan.sub_path = source.get("subPath") or plan.sub_path
    plan.sources = len(plan.init_containers)
    for i, step in enumerate(steps):
        container = copy.deepcopy(dict(step))
        container["env"] = [*IMPLICIT_ENV, *(container.get("env") or [])]
        container.setdefault("workingDir", WORKSPACE)
        container["name"] = f"{STEP_PREFIX}{step['name']}" if step.get("name") else f"{UNNAMED_PREFIX}{i}"
        plan.init_containers.append(container)
    plan.volumes = [*(spec.get("volumes") or []), *(((template or {}).get("spec") or {}).get("volumes") or [])]
    return plan


def nop_container() -> _Obj:
    return {"name": NOP, "image": KNATIVE_NOP}
