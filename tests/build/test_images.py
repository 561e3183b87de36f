"""Image classification and builder command lines (pure)."""

from __future__ import annotations

import pytest

from jupyter_knative.build.builders import BuilderError, BuildRequest, artifact_name, parse_builder_step
from jupyter_knative.build.images import KNATIVE_GIT_INIT, ImageKind, classify, repository


@pytest.mark.parametrize(("image", "repo"), [
    pytest.param("ubuntu", "ubuntu", id="short"),
    pytest.param("docker.io/library/python:3.12-slim", "python", id="hub-library-tag"),
    pytest.param("alpine/git@sha256:" + "a" * 64, "alpine/git", id="digest"),
    pytest.param("gcr.io/kaniko-project/executor:v1.23.2", "gcr.io/kaniko-project/executor", id="registry"),
    pytest.param("localhost:5000/app", "localhost:5000/app", id="registry-port"),
])
def test_repository(image: str, repo: str) -> None:
    assert repository(image) == repo


@pytest.mark.parametrize(("image", "kind", "flavor"), [
    pytest.param("ubuntu", ImageKind.TOOL, "", id="ubuntu"),
    pytest.param("busybox:1.36", ImageKind.TOOL, "", id="busybox"),
    pytest.param("python:3.12", ImageKind.TOOL, "", id="python"),
    pytest.param("alpine/git:latest", ImageKind.TOOL, "", id="alpine-git"),
    pytest.param("gcr.io/kaniko-project/executor:debug", ImageKind.BUILDER, "kaniko", id="kaniko"),
    pytest.param("paketobuildpacks/builder-jammy-base", ImageKind.BUILDER, "buildpacks", id="paketo"),
    pytest.param("ghcr.io/ko-build/ko", ImageKind.BUILDER, "ko", id="ko"),
    pytest.param(KNATIVE_GIT_INIT + "@sha256:" + "b" * 64, ImageKind.BUILTIN, "git-init", id="git-init"),
    pytest.param("gcr.io/example/compiler", ImageKind.OTHER, "", id="other"),
])
def test_classify(image: str, kind: ImageKind, flavor: str) -> None:
    c = classify(image)
    assert (c.kind, c.flavor) == (kind, flavor)


def test_alpine_git_runs_git_with_args_alone() -> None:
    assert classify("alpine/git").entrypoint == ("git",)


@pytest.mark.parametrize(("args", "context", "destinations", "digest"), [
    pytest.param(["--dockerfile=/workspace/Dockerfile", "--destination=docker.io/example/app:latest"],
                 "/workspace", ("docker.io/example/app:latest",), None, id="default-context"),
    pytest.param(["--context=dir:///workspace/src", "-d", "a/b", "--destination", "a/c",
                  "--digest-file=/tekton/results/IMAGE_DIGEST"],
                 "/workspace/src", ("a/b", "a/c"), "/tekton/results/IMAGE_DIGEST", id="dir-url-and-spaced-flags"),
    pytest.param(["-c", "src", "--context-sub-path=app", "--no-push"], "/workspace/src/app", (), None,
                 id="relative-context-and-sub-path"),
])
def test_kaniko(args: list[str], context: str, destinations: tuple[str, ...], digest: str | None) -> None:
    r = parse_builder_step("kaniko", ["/kaniko/executor"], args, {}, "/workspace")
    assert (r.context, r.destinations, r.digest_file) == (context, destinations, digest)


def test_kaniko_notes_the_dockerfile_is_not_run() -> None:
    r = parse_builder_step("kaniko", [], ["--dockerfile=/workspace/Dockerfile"], {}, "/workspace")
    assert "Dockerfile" in r.notes[0] and "not run" in r.notes[0]


def test_kaniko_refuses_remote_contexts() -> None:
    with pytest.raises(BuilderError, match=r"gs://bucket/ctx\.tgz"):
        parse_builder_step("kaniko", [], ["--context=gs://bucket/ctx.tgz"], {}, "/workspace")


def test_buildpacks_creator_and_idle_phases() -> None:
    r = parse_builder_step("buildpacks", ["/cnb/lifecycle/creator"],
                           ["-app=/workspace/source", "-report=/layers/report.toml", "-skip-restore",
                            "example.com/app"], {}, "/workspace")
    assert (r.context, r.destinations, r.report_file, r.skip) == (
        "/workspace/source", ("example.com/app",), "/layers/report.toml", "")
    idle = parse_builder_step("buildpacks", ["/lifecycle/detector"], ["-app=/workspace"], {}, "/workspace")
    assert "detector" in idle.skip


def test_ko_names_the_image_from_its_repo() -> None:
    r = parse_builder_step("ko", ["ko"], ["build", "./cmd/app", "--tags=v1,latest"],
                           {"KO_DOCKER_REPO": "example.com/me"}, "/workspace")
    assert r.destinations == ("example.com/me/app:v1", "example.com/me/app:latest")
    assert r.context == "/workspace/cmd/app" and r.print_ref
    with pytest.raises(BuilderError, match="KO_DOCKER_REPO"):
        parse_builder_step("ko", [], ["build", "."], {}, "/workspace")


@pytest.mark.parametrize(("request_", "name"), [
    pytest.param(BuildRequest("kaniko", "/workspace", ("docker.io/example/app-from-source:latest",)),
                 "app-from-source", id="destination"),
    pytest.param(BuildRequest("kaniko", "/workspace/My_App"), "my-app", id="context-folder"),
    pytest.param(BuildRequest("kaniko", "/"), "build", id="fallback"),
])
def test_artifact_name(request_: BuildRequest, name: str) -> None:
    assert artifact_name(request_) == name
