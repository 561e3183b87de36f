"""What an image builder step asks for, read from its command line (pure).

kaniko (`--context`, `--destination`, `--digest-file`, `--image-name-with-digest-file`, ...), the Cloud
Native Buildpacks lifecycle (`/cnb/lifecycle/creator -app=DIR IMAGE`, `exporter`, `pack build IMAGE --path
DIR`) and ko (`ko build|publish PATH` with `KO_DOCKER_REPO`) all come down to the same request here: package
a folder as a Python function, tag it with the destination names and report its digest where asked. Paths in
a request are container paths; the runner maps them to the host.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .images import repository

__all__ = ["BuildRequest", "BuilderError", "artifact_name", "parse_builder_step"]

DEFAULT_CONTEXT = "/workspace"

_KANIKO_VALUE_FLAGS = {
    "-f": "dockerfile", "--dockerfile": "dockerfile", "-c": "context", "--context": "context",
    "-d": "destination", "--destination": "destination", "--digest-file": "digest-file",
    "--image-name-with-digest-file": "image-name-with-digest-file",
    "--image-name-tag-with-digest-file": "image-name-tag-with-digest-file",
    "--context-sub-path": "context-sub-path", "--build-arg": "build-arg", "--cache-dir": "", "--cache-repo": "",
    "--target": "", "--tar-path": "", "--label": "", "--verbosity": "", "-v": "", "--snapshot-mode": "",
    "--registry-mirror": "", "--insecure-registry": "", "--skip-tls-verify-registry": "", "--oci-layout-path": "",
    "--custom-platform": "", "--log-format": "", "--kaniko-dir": "", "--ignore-path": "", "--cache-ttl": "",
}
_LIFECYCLE_VALUE_FLAGS = {
    "app", "cache-dir", "cache-image", "layers", "platform", "report", "run-image", "previous-image", "uid", "gid",
    "process-type", "log-level", "launch-cache", "analyzed", "group", "plan", "order", "project-metadata",
    "buildpacks", "tag", "run", "extensions", "generated", "launcher", "daemon-target", "insecure-registry",
}
_LIFECYCLE_PHASES_WITHOUT_IMAGE = {"detector", "analyzer", "restorer", "builder", "extender", "rebaser", "cacher"}
_KO_VALUE_FLAGS = {"--image-refs", "-t", "--tags", "--platform", "--image-label", "--sbom", "--sbom-dir",
                   "--tag-only", "-L", "--image-user", "--image-annotation"}
_LABEL = re.compile(r"[^a-z0-9-]+")


class BuilderError(ValueError):
    """The step asks for something the built-in builder cannot do; the message says what and why."""


@dataclass(frozen=True)
class BuildRequest:
    flavor: str
    context: str  # container path of the folder to package
    destinations: tuple[str, ...] = ()
    digest_file: str | None = None  # receives `sha256:<hex>`
    name_with_digest_file: str | None = None  # receives `<destination>@sha256:<hex>`
    name_tag_with_digest_file: str | None = None  # receives `<destination with tag>@sha256:<hex>`
    image_refs_file: str | None = None  # ko: one `<image>@sha256:<hex>` line per built path
    report_file: str | None = None  # lifecycle: report.toml with the image's tags and digest
    print_ref: bool = False  # ko: the reference on stdout
    entrypoint: str | None = None  # kaniko `--build-arg ENTRYPOINT=<function>`: which function to serve
    skip: str = ""  # a phase with nothing to do here: why
    notes: tuple[str, ...] = field(default=())  # lines for the step's log (ignored inputs)


def _split_flag(arg: str) -> tuple[str, str | None]:
    name, eq, value = arg.partition("=")
    return (name, value) if eq else (arg, None)


def _resolve(path: str, working_dir: str) -> str:
    return posixpath.normpath(posixpath.join(working_dir, path))


def _last(values: Mapping[str, list[str]], key: str) -> str | None:
    found = values.get(key)
    return found[-1] if found else None


def _kaniko(args: Sequence[str], working_dir: str) -> BuildRequest:
    values: dict[str, list[str]] = {}
    i = 0
    while i < len(args):
        name, value = _split_flag(args[i])
        key = _KANIKO_VALUE_FLAGS.get(name)
        if key is not None and value is None and i + 1 < len(args):
            i += 1
            value = args[i]
        if key and value is not None:
            values.setdefault(key, []).append(value)
        i += 1
    context = (values.get("context") or [DEFAULT_CONTEXT])[-1]
    for scheme in ("dir://",):
        if context.startswith(scheme):
            context = context[len(scheme):]
    if re.match(r"^[a-z0-9]+://", context):
        raise BuilderError(f'kaniko context "{context}" is not supported here: the built-in builder packages a '
                           "folder of the workspace (dir:///workspace/... or a path)")
    context = _resolve(context, working_dir)
    for sub in values.get("context-sub-path") or []:
        context = _resolve(sub, context)
    notes = tuple(f'jupyter-knative: the Dockerfile "{d}" is not run; the context folder is packaged as a Python '
                  "function" for d in values.get("dockerfile") or [])
    build_args = dict(arg.partition("=")[::2] for arg in values.get("build-arg") or [])
    return BuildRequest("kaniko", context, tuple(values.get("destination") or ()),
                        entrypoint=build_args.get("ENTRYPOINT") or None,
                        digest_file=_last(values, "digest-file"),
                        name_with_digest_file=_last(values, "image-name-with-digest-file"),
                        name_tag_with_digest_file=_last(values, "image-name-tag-with-digest-file"),
                        notes=notes)


def _lifecycle(phase: str, args: Sequence[str], working_dir: str, env: Mapping[str, str]) -> BuildRequest:
    """`/cnb/lifecycle/<phase> -flag=value ... IMAGE...` and `pack build IMAGE --path DIR`."""
    flags: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-") and len(arg) > 1:
            name, value = _split_flag(arg.lstrip("-"))
            if name == "path":
                name = "app"
            if value is None and name in _LIFECYCLE_VALUE_FLAGS | {"path", "builder"} and i + 1 < len(args):
                i += 1
                value = args[i]
            flags[name] = value if value is not None else "true"
        else:
            positional.append(arg)
        i += 1
    if phase == "pack":
        positional = positional[1:] if positional[:1] == ["build"] else positional
    app = flags.get("app") or env.get("CNB_APP_DIR") or DEFAULT_CONTEXT
    request = BuildRequest("buildpacks", _resolve(app, working_dir), tuple(positional),
                           report_file=flags.get("report"))
    if phase in _LIFECYCLE_PHASES_WITHOUT_IMAGE:
        return BuildRequest("buildpacks", request.context, skip=f'the lifecycle phase "{phase}" has nothing to do: '
                                                                  "the exporter (or creator) step builds the image")
    if not positional and "tag" in flags:
        return BuildRequest("buildpacks", request.context, (flags["tag"],), report_file=flags.get("report"))
    return request


def _ko(args: Sequence[str], working_dir: str, env: Mapping[str, str]) -> BuildRequest:
    command, rest = (args[0], list(args[1:])) if args else ("build", [])
    if command not in ("build", "publish"):
        raise BuilderError(f'"ko {command}" is not supported here: the built-in builder runs "ko build" and '
                           '"ko publish"')
    flags: dict[str, str] = {}
    paths: list[str] = []
    i = 0
    while i < len(rest):
        name, value = _split_flag(rest[i])
        if name.startswith("-"):
            if value is None and name in _KO_VALUE_FLAGS and i + 1 < len(rest):
                i += 1
                value = rest[i]
            flags[name.lstrip("-")] = value if value is not None else "true"
        else:
            paths.append(name)
        i += 1
    repo = env.get("KO_DOCKER_REPO", "")
    if not repo:
        raise BuilderError("KO_DOCKER_REPO is not set: ko needs it to name the image it builds")
    path = paths[0] if paths else "."
    context = _resolve(path.removeprefix("ko://"), working_dir)
    bare = flags.get("bare") == "true" or flags.get("B") == "false"
    destination = repo if bare else f"{repo.rstrip('/')}/{posixpath.basename(context) or 'app'}"
    tags = [t for t in (flags.get("tags") or flags.get("t") or "latest").split(",") if t]
    return BuildRequest("ko", context, tuple(f"{destination}:{t}" for t in tags),
                        image_refs_file=flags.get("image-refs"), print_ref=True)


def parse_builder_step(flavor: str, command: Sequence[str], args: Sequence[str], env: Mapping[str, str],
                       working_dir: str) -> BuildRequest:
    """The request a builder step makes (container paths), or BuilderError."""
    argv = [*command, *args]
    if flavor == "kaniko":
        rest = argv[1:] if argv[:1] and not argv[0].startswith("-") else argv
        return _kaniko(rest, working_dir)
    if flavor == "ko":
        rest = argv[1:] if argv[:1] and posixpath.basename(argv[0]) == "ko" else argv
        return _ko(rest, working_dir, env)
    phase = "creator"
    if argv and not argv[0].startswith("-"):
        base = posixpath.basename(argv[0])
        if base in _LIFECYCLE_PHASES_WITHOUT_IMAGE | {"creator", "exporter", "pack"}:
            phase, argv = base, argv[1:]
    return _lifecycle(phase, argv, working_dir, env)


def artifact_name(request: BuildRequest) -> str:
    """A DNS label naming the artifact: the destination's last path segment, else the context folder's name."""
    for candidate in (*(repository(d).rsplit("/", 1)[-1] for d in request.destinations),
                      posixpath.basename(request.context.rstrip("/"))):
        label = _LABEL.sub("-", candidate.lower()).strip("-")[:63].strip("-")
        if label and label[0].isalpha():
            return label
    return "build"
