"""Workspace: container paths mapped to a run's host directories, and rewritten inside text."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_knative.build import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = Workspace(tmp_path)
    w.mount("/workspace", tmp_path / "ws")
    w.mount("/builder/home", tmp_path / "home")
    w.mount("/tekton/results", tmp_path / "results")
    w.mount("/tekton", tmp_path / "tekton")
    return w


@pytest.mark.parametrize(("container", "host"), [
    pytest.param("/workspace", "ws", id="mount-itself"),
    pytest.param("/workspace/src/app.py", "ws/src/app.py", id="below"),
    pytest.param("/workspace/../workspace/x", "ws/x", id="normalized"),
    pytest.param("/tekton/results/IMAGE_DIGEST", "results/IMAGE_DIGEST", id="deepest-mount-wins"),
    pytest.param("/tekton/home", "tekton/home", id="shallower-mount"),
    pytest.param("/dev/termination-log", "rootfs/dev/termination-log", id="unmounted-private-root"),
    pytest.param("/workspaces/x", "rootfs/workspaces/x", id="prefix-not-a-path-boundary"),
])
def test_host_path(ws: Workspace, tmp_path: Path, container: str, host: str) -> None:
    assert ws.host_path(container) == tmp_path / host


def test_host_path_needs_an_absolute_path(ws: Workspace) -> None:
    with pytest.raises(ValueError, match="must be absolute"):
        ws.host_path("workspace")


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("/workspace", "{ws}", id="alone"),
    pytest.param("cd /workspace/src && ls", "cd {ws}/src && ls", id="in-a-command"),
    pytest.param("--context=/workspace/app", "--context={ws}/app", id="flag-value"),
    pytest.param("dir:///workspace/app", "dir://{ws}/app", id="url"),
    pytest.param("HOME=/builder/home", "HOME={home}", id="env"),
    pytest.param("/tekton/results/X /tekton/x", "{results}/X {tekton}/x", id="longest-first"),
    pytest.param("/foo/workspace /workspaces ~/workspace", "/foo/workspace /workspaces ~/workspace",
                 id="not-inside-other-paths"),
    pytest.param("echo '/workspace'", "echo '{ws}'", id="quoted"),
])
def test_rewrite(ws: Workspace, tmp_path: Path, text: str, expected: str) -> None:
    hosts = {"ws": tmp_path / "ws", "home": tmp_path / "home", "results": tmp_path / "results",
             "tekton": tmp_path / "tekton"}
    assert ws.rewrite(text) == expected.format(**hosts)


def test_rewrite_without_mounts_is_identity(tmp_path: Path) -> None:
    assert Workspace(tmp_path).rewrite("/workspace/x") == "/workspace/x"


def test_cannot_mount_the_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Workspace(tmp_path).mount("/", tmp_path)
