"""What a step's image means on a machine without containers (pure).

    TOOL     a general-purpose image (busybox, alpine, ubuntu, python:*, alpine/git...): the step's command
             runs on the host, where the same tools are expected
    BUILDER  an image builder (kaniko, Cloud Native Buildpacks, ko): the built-in Python function builder
    BUILTIN  the build system's own helper images (credential initializer, git source, nop)
    OTHER    anything else: a container engine if there is one, else the step fails
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "KNATIVE_CREDS_INIT",
    "KNATIVE_GIT_INIT",
    "KNATIVE_NOP",
    "Classified",
    "ImageKind",
    "classify",
    "repository",
]

KNATIVE_RELEASES = "gcr.io/knative-releases/github.com/knative/build/cmd/"
KNATIVE_CREDS_INIT = KNATIVE_RELEASES + "creds-init"
KNATIVE_GIT_INIT = KNATIVE_RELEASES + "git-init"
KNATIVE_NOP = KNATIVE_RELEASES + "nop"
TEKTON_RELEASES = "gcr.io/tekton-releases/github.com/tektoncd/pipeline/cmd/"


class ImageKind(enum.Enum):
    TOOL = "tool"
    BUILDER = "builder"
    BUILTIN = "builtin"
    OTHER = "other"


@dataclass(frozen=True)
class Classified:
    kind: ImageKind
    repository: str  # normalized: no registry for Docker Hub, no `library/`, no tag or digest
    flavor: str = ""  # BUILDER: kaniko | buildpacks | ko; BUILTIN: creds-init | git-init | nop
    entrypoint: tuple[str, ...] = ()  # TOOL: the image's ENTRYPOINT, used when the step has no command
    default_command: tuple[str, ...] = ("sh",)  # TOOL: the image's CMD, used with neither command nor args


# Images whose ENTRYPOINT is a tool rather than a shell (args alone are that tool's arguments).
_ENTRYPOINTS: dict[str, tuple[str, ...]] = {
    "alpine/git": ("git",), "bitnami/git": ("git",), "gcr.io/cloud-builders/git": ("git",),
    "curlimages/curl": ("curl",), "gcr.io/cloud-builders/gsutil": ("gsutil",),
}
_DEFAULT_COMMANDS: dict[str, tuple[str, ...]] = {
    "python": ("python3",), "ubuntu": ("bash",), "debian": ("bash",), "bash": ("bash",),
    "fedora": ("bash",), "centos": ("bash",), "node": ("node",),
}
_TOOLS = frozenset({
    "busybox", "alpine", "bash", "ubuntu", "debian", "python", "alpine/git", "bitnami/git", "fedora", "centos",
    "rockylinux", "almalinux", "amazonlinux", "buildpack-deps", "node", "golang", "ruby", "perl", "curlimages/curl",
    "gcr.io/cloud-builders/git", "gcr.io/cloud-builders/gsutil", "registry.access.redhat.com/ubi8/ubi",
    "registry.access.redhat.com/ubi9/ubi", "registry.access.redhat.com/ubi8/ubi-minimal",
    "registry.access.redhat.com/ubi9/ubi-minimal", "mirror.gcr.io/library/busybox",
    "gcr.io/distroless/base", "cgr.dev/chainguard/busybox", "cgr.dev/chainguard/bash", "cgr.dev/chainguard/git",
})
_BUILDERS: tuple[tuple[str, str], ...] = (
    ("gcr.io/kaniko-project/executor", "kaniko"),
    ("gcr.io/kaniko-project/warmer", "kaniko"),
    ("martizih/kaniko", "kaniko"),
    ("gcr.io/buildpacks/builder", "buildpacks"),
    ("paketobuildpacks/builder", "buildpacks"),
    ("paketobuildpacks/builder-jammy-base", "buildpacks"),
    ("paketobuildpacks/builder-jammy-full", "buildpacks"),
    ("paketobuildpacks/builder-jammy-tiny", "buildpacks"),
    ("gcr.io/paketo-buildpacks/builder", "buildpacks"),
    ("heroku/builder", "buildpacks"),
    ("heroku/buildpacks", "buildpacks"),
    ("cnbs/sample-builder", "buildpacks"),
    ("buildpacksio/lifecycle", "buildpacks"),
    ("buildpacksio/pack", "buildpacks"),
    ("packs/cf", "buildpacks"),
    ("packs/base", "buildpacks"),
    ("ghcr.io/knative/builder-jammy-base", "buildpacks"),
    ("ghcr.io/knative/builder-jammy-tiny", "buildpacks"),
    ("ghcr.io/knative/builder-jammy-full", "buildpacks"),
    ("ko", "ko"),
    ("ghcr.io/ko-build/ko", "ko"),
    ("gcr.io/tekton-releases/dogfooding/ko", "ko"),
    ("gcr.io/ko-images/ko", "ko"),
)
_BUILTINS: dict[str, str] = {
    KNATIVE_CREDS_INIT: "creds-init", KNATIVE_GIT_INIT: "git-init", KNATIVE_NOP: "nop",
    TEKTON_RELEASES + "git-init": "git-init", TEKTON_RELEASES + "nop": "nop",
}
_HUB = ("docker.io/library/", "index.docker.io/library/", "registry-1.docker.io/library/", "docker.io/",
        "index.docker.io/", "registry-1.docker.io/", "library/")


def repository(image: str) -> str:
    """`docker.io/library/python:3.12@sha256:..` → `python`; `gcr.io/x/y:tag` → `gcr.io/x/y`."""
    name = image.strip().split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name = name[:colon]
    name = name.lower()
    for prefix in _HUB:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def classify(image: str) -> Classified:
    repo = repository(image)
    if repo in _BUILTINS:
        return Classified(ImageKind.BUILTIN, repo, _BUILTINS[repo])
    for prefix, flavor in _BUILDERS:
        if repo == prefix:
            return Classified(ImageKind.BUILDER, repo, flavor)
    if repo in _TOOLS:
        return Classified(ImageKind.TOOL, repo, entrypoint=_ENTRYPOINTS.get(repo, ()),
                          default_command=_DEFAULT_COMMANDS.get(repo, ("sh",)))
    return Classified(ImageKind.OTHER, repo)
