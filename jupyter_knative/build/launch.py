"""How a step runs here: the process to start (argv, environment, working directory), or the outcome when no
process can run it. Pure except for looking executables up on PATH.

    tool image     the step's command on the host, container paths rewritten to the run's directories
    builder image  `python -m jupyter_knative.build.python_builder` with the parsed request
    builtin image  `python -m jupyter_knative.build.tools <tool>`
    other image    `<engine> run ...` with the run's directories mounted, when an engine is configured
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .builders import BuilderError, BuildRequest, artifact_name, parse_builder_step
from .images import Classified, ImageKind, classify
from .workspace import Workspace

__all__ = ["HOST_ENV", "Launch", "plan"]

# What a host step inherits from the daemon's environment: enough to find tools and speak UTF-8, nothing more
# (the daemon's own settings and credentials stay out of build steps).
HOST_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR", "PIP_INDEX_URL",
            "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX")
DEFAULT_WORKING_DIR = "/workspace"
SCRIPTS = "scripts"
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_SHELL_ALIASES = {"ash": "sh"}


@dataclass(frozen=True)
class Launch:
    """A process to start (`argv`), or an outcome decided without one (`argv` None: `exit_code`/`reason`)."""

    image_id: str
    banner: tuple[str, ...] = ()  # lines written to the log before the process's output
    argv: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    script: tuple[Path, str] | None = None  # a file to write (executable) before starting
    exit_code: int = 0
    reason: str = ""
    container_name: str = ""  # engine runs: the container to remove when the step is killed


def _failure(image_id: str, message: str, *, exit_code: int = 1, reason: str = "Error") -> Launch:
    return Launch(image_id, (message,), exit_code=exit_code, reason=reason)


def _host_env(step_env: dict[str, str], ws: Workspace, pod: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in HOST_ENV if k in os.environ}
    env.setdefault("PATH", os.defpath)
    env["HOSTNAME"] = pod
    env["HOME"] = str(ws.root / "home")
    env.update({k: ws.rewrite(v) for k, v in step_env.items()})
    return env


def _working_dir(step_dir: str | None) -> str:
    return step_dir or DEFAULT_WORKING_DIR


def _script_argv(script: str, args: list[str], path: Path) -> tuple[tuple[str, ...], str]:
    """Tekton's rule: a script without a shebang runs under `sh` with `set -e`."""
    body = script if script.startswith("#!") else "#!/bin/sh\nset -e\n" + script
    return (str(path), *args), body


def _executable(argv0: str, path: str) -> str | None:
    """The host executable for a container's argv[0]: the same absolute path if it exists, else its name on
    PATH (`/busybox/sh` → `sh`)."""
    if "/" in argv0 and os.access(argv0, os.X_OK):
        return argv0
    name = posixpath.basename(argv0)
    name = _SHELL_ALIASES.get(name, name) if shutil.which(name, path=path) is None else name
    return shutil.which(name, path=path)


def _tool(step_image: str, c: Classified, command: list[str], args: list[str], script: str | None,
          ws: Workspace, pod: str, step_name: str, step_env: dict[str, str], working_dir: str,
          engine: str | None) -> Launch:
    image_id = f"host://{step_image}"
    where = "no container engine; running" if engine is None else "running tool image"
    banner = (f'jupyter-knative: {where} "{step_image}" as a host command in {working_dir}',)
    env = _host_env(step_env, ws, pod)
    cwd = ws.host_path(working_dir)
    rargs = [ws.rewrite(a) for a in args]
    if script is not None:
        path = ws.root / SCRIPTS / step_name
        argv, body = _script_argv(ws.rewrite(script), rargs, path)
        return Launch(image_id, banner, argv, env, cwd, (path, body))
    rcommand = [ws.rewrite(a) for a in command]
    argv_list = rcommand + rargs if command else ([*c.entrypoint, *rargs] if c.entrypoint or rargs
                                                  else list(c.default_command))
    found = _executable(argv_list[0], env["PATH"])
    if found is None:
        return _failure(image_id, f'jupyter-knative: exec: "{argv_list[0]}": executable file not found in $PATH '
                                  f'(the tool image "{step_image}" runs its command on the host)',
                        exit_code=127, reason="StartError")
    return Launch(image_id, banner, (found, *argv_list[1:]), env, cwd)


def _builder_launch(step_image: str, c: Classified, command: list[str], args: list[str], ws: Workspace,
                    namespace: str, pod: str, step_env: dict[str, str], working_dir: str,
                    artifacts: Path) -> Launch:
    image_id = f"builtin://{step_image}"
    banner = f'jupyter-knative: "{step_image}" is served by the built-in Python function builder'
    try:
        request = parse_builder_step(c.flavor, command, args, step_env, working_dir)
    except BuilderError as e:
        return _failure(image_id, f"{banner}\nerror: {e}")
    if request.skip:
        return Launch(image_id, (banner, *request.notes, f"jupyter-knative: {request.skip}"))
    payload = _request_json(request, ws, namespace, artifacts)
    env = {**_host_env(step_env, ws, pod), "PYTHONPATH": _PACKAGE_ROOT, "PYTHONUNBUFFERED": "1"}
    argv = (sys.executable, "-m", "jupyter_knative.build.python_builder", payload)
    return Launch(image_id, (banner, *request.notes), argv, env, ws.host_path(working_dir))


def _request_json(request: BuildRequest, ws: Workspace, namespace: str, artifacts: Path) -> str:
    def host(path: str | None) -> str | None:
        return str(ws.host_path(path)) if path else None

    return json.dumps({
        "context": host(request.context), "store": str(artifacts), "namespace": namespace,
        "name": artifact_name(request), "destinations": list(request.destinations),
        "digest_file": host(request.digest_file), "name_with_digest_file": host(request.name_with_digest_file),
        "name_tag_with_digest_file": host(request.name_tag_with_digest_file),
        "image_refs_file": host(request.image_refs_file), "report_file": host(request.report_file),
        "print_ref": request.print_ref, "entrypoint": request.entrypoint,
    })


def _engine_launch(step_image: str, command: list[str], args: list[str], script: str | None, ws: Workspace,
                   step_name: str, step_env: dict[str, str], working_dir: str, engine: str) -> Launch:
    name = f"jupyter-knative-{uuid.uuid4().hex[:12]}"
    argv = [engine, "run", "--rm", "--name", name, "-w", working_dir]
    for container_path, host in ws.mounts.items():
        argv += ["-v", f"{host}:{container_path}"]
    for key, value in step_env.items():
        argv += ["-e", f"{key}={value}"]
    script_file: tuple[Path, str] | None = None
    if script is not None:
        path = ws.root / SCRIPTS / step_name
        _, body = _script_argv(script, args, path)
        script_file = (path, body)
        argv += ["-v", f"{path.parent}:/jupyter-knative/scripts:ro", "--entrypoint",
                 f"/jupyter-knative/scripts/{step_name}", step_image, *args]
    elif command:
        argv += ["--entrypoint", command[0], step_image, *command[1:], *args]
    else:
        argv += [step_image, *args]
    env = {k: os.environ[k] for k in ("PATH", "HOME", "DOCKER_HOST", "XDG_RUNTIME_DIR") if k in os.environ}
    return Launch(f"{engine}://{step_image}", (f'jupyter-knative: running "{step_image}" under {engine}',),
                  tuple(argv), env, ws.root, script_file, container_name=name)


def plan(*, namespace: str, pod: str, step_name: str, image: str, command: list[str], args: list[str],
         script: str | None, env: dict[str, str], working_dir: str | None, workspace: Workspace,
         artifacts: Path, engine: str | None) -> Launch:
    c = classify(image)
    wd = _working_dir(working_dir)
    if c.kind is ImageKind.TOOL:
        return _tool(image, c, command, args, script, workspace, pod, step_name, env, wd, engine)
    if c.kind is ImageKind.BUILDER:
        return _builder_launch(image, c, command, args, workspace, namespace, pod, env, wd, artifacts)
    if c.kind is ImageKind.BUILTIN:
        tool_env = {**_host_env(env, workspace, pod), "PYTHONPATH": _PACKAGE_ROOT, "PYTHONUNBUFFERED": "1"}
        argv = (sys.executable, "-m", "jupyter_knative.build.tools", c.flavor, *(workspace.rewrite(a) for a in args))
        return Launch(f"builtin://{image}", (), argv, tool_env, workspace.host_path(wd))
    if engine is not None:
        return _engine_launch(image, command, args, script, workspace, step_name, env, wd, engine)
    return _failure(f"unavailable://{image}",
                    f'jupyter-knative: cannot run image "{image}": it is not a tool image (busybox, alpine, bash, '
                    "ubuntu, debian, python, alpine/git, ...) that runs on the host, nor a builder image (kaniko, "
                    "buildpacks, ko) served by the built-in builder, and no container engine (docker or podman) "
                    "is on PATH")
