"""StepRunner with real processes: host tool steps, scripts, env, deadlines, the built-in builder, logs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import pytest

from jupyter_knative.build import Step, StepRunner, Workspace
from jupyter_knative.runtime import artifacts


@pytest.fixture
def runner(tmp_path: Path) -> StepRunner:
    return StepRunner(artifacts=tmp_path / "artifacts", logs=tmp_path / "logs", engine=None)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = Workspace(tmp_path / "run")
    w.mount("/workspace", tmp_path / "run" / "workspace")
    w.mount("/builder/home", tmp_path / "run" / "home")
    return w


def log_of(runner: StepRunner, step: str, pod: str = "p") -> str:
    return runner.log_path("default", pod, step).read_text()


async def test_host_command_with_exit_code_and_log(runner: StepRunner, ws: Workspace) -> None:
    step = Step("build-step-fail", "ubuntu", command=["/bin/bash"], args=["-c", "echo hello; echo oops >&2; exit 3"])
    result = await runner.run("default", "p", step, ws)
    assert (result.exit_code, result.reason, result.timed_out) == (3, "Error", False)
    assert result.image_id == "host://ubuntu"
    lines = log_of(runner, "build-step-fail").splitlines()
    assert lines[0] == 'jupyter-knative: no container engine; running "ubuntu" as a host command in /workspace'
    assert lines[1:] == ["hello", "oops"]
    assert "oops" in result.message  # the end of the log, as a termination message
    assert result.finished_at >= result.started_at


async def test_workspace_paths_are_rewritten_and_shared_between_steps(runner: StepRunner, ws: Workspace,
                                                                      tmp_path: Path) -> None:
    write = Step("build-step-write", "busybox", command=["sh", "-c"], args=["echo built > /workspace/out.txt"],
                 env={"HOME": "/builder/home"})
    read = Step("build-step-read", "alpine", args=["cat", "/workspace/out.txt"], working_dir="/workspace")
    assert (await runner.run("default", "p", write, ws)).exit_code == 0
    result = await runner.run("default", "p", read, ws)
    assert (result.exit_code, result.reason, result.message) == (0, "Completed", "")
    assert (tmp_path / "run" / "workspace" / "out.txt").read_text() == "built\n"
    assert log_of(runner, "build-step-read").splitlines()[-1] == "built"


async def test_env_and_working_dir(runner: StepRunner, ws: Workspace, tmp_path: Path) -> None:
    step = Step("build-step-env", "bash", command=["bash", "-c", 'echo "$GREETING $HOME $(pwd)"'],
                env={"GREETING": "hi", "HOME": "/builder/home"}, working_dir="/workspace/sub")
    assert (await runner.run("default", "p", step, ws)).exit_code == 0
    home, sub = tmp_path / "run" / "home", tmp_path / "run" / "workspace" / "sub"
    assert log_of(runner, "build-step-env").splitlines()[-1] == f"hi {home} {sub}"


async def test_the_daemon_environment_does_not_leak_into_steps(runner: StepRunner, ws: Workspace,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_KNATIVE_SECRET_TOKEN", "s3cr3t")
    step = Step("build-step-env", "ubuntu", command=["env"])
    await runner.run("default", "p", step, ws)
    assert "s3cr3t" not in log_of(runner, "build-step-env")


@pytest.mark.parametrize(("script", "expected_code", "last_line"), [
    pytest.param("echo one\nfalse\necho never", 1, "one", id="no-shebang-runs-sh-with-set-e"),
    pytest.param("#!/usr/bin/env python3\nimport sys\nprint('py', sys.argv[1:])\n", 0, "py ['a1']",
                 id="shebang"),
    pytest.param("cat /workspace/missing", 1, "No such file or directory", id="workspace-in-script"),
])
async def test_scripts(runner: StepRunner, ws: Workspace, script: str, expected_code: int, last_line: str) -> None:
    result = await runner.run("default", "p", Step("s", "python:3.12", args=["a1"], script=script), ws)
    assert result.exit_code == expected_code
    assert last_line in log_of(runner, "s").splitlines()[-1]


async def test_missing_executable_is_a_start_error(runner: StepRunner, ws: Workspace) -> None:
    result = await runner.run("default", "p", Step("s", "alpine", command=["no-such-tool-xyz"]), ws)
    assert (result.exit_code, result.reason) == (127, "StartError")
    assert 'exec: "no-such-tool-xyz": executable file not found in $PATH' in log_of(runner, "s")


async def test_unknown_image_without_engine_fails_clearly(runner: StepRunner, ws: Workspace) -> None:
    result = await runner.run("default", "p", Step("s", "gcr.io/example/compiler:1", args=["make"]), ws)
    assert (result.exit_code, result.reason) == (1, "Error")
    assert 'cannot run image "gcr.io/example/compiler:1"' in result.message
    assert "no container engine (docker or podman) is on PATH" in log_of(runner, "s")


async def test_deadline_kills_the_whole_process_group(runner: StepRunner, ws: Workspace, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    step = Step("slow", "bash", script=f"sleep 300 &\necho $! > {pidfile}\necho started\nwait\n")
    begun = time.monotonic()
    result = await runner.run("default", "p", step, ws, deadline=time.time() + 1.0)
    assert time.monotonic() - begun < 10
    assert result.timed_out and result.reason == "DeadlineExceeded" and not result.succeeded
    assert result.exit_code in (128 + 15, 128 + 9)
    child = int(pidfile.read_text())
    for _ in range(50):
        if not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the step's background child survived the deadline")


async def test_cancelling_a_run_kills_the_step(runner: StepRunner, ws: Workspace) -> None:
    task = asyncio.ensure_future(runner.run("default", "p", Step("s", "bash", args=["-c", "sleep 300"],
                                                                 command=["bash"]), ws))
    for _ in range(100):
        if runner.running("default", "p"):
            break
        await asyncio.sleep(0.02)
    assert runner.running("default", "p")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not runner.running("default", "p")


def make_function_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "func.py").write_text("def main(request):\n    return 'hello from source'\n")


async def test_kaniko_step_builds_and_tags_an_image(runner: StepRunner, ws: Workspace, tmp_path: Path) -> None:
    make_function_folder(tmp_path / "run" / "workspace" / "app")
    ws.mount("/tekton/results", tmp_path / "run" / "results")
    step = Step("build-step-build-and-push", "gcr.io/kaniko-project/executor",
                args=["--dockerfile=/workspace/app/Dockerfile", "--context=/workspace/app",
                      "--destination=docker.io/example/app-from-source:latest",
                      "--digest-file=/tekton/results/IMAGE_DIGEST",
                      "--image-name-with-digest-file=/dev/termination-log"])
    result = await runner.run("default", "p", step, ws)
    log = log_of(runner, "build-step-build-and-push")
    assert result.exit_code == 0, log
    assert log.splitlines()[0] == ('jupyter-knative: "gcr.io/kaniko-project/executor" is served by the built-in '
                                   "Python function builder")
    resolved = artifacts.resolve("docker.io/example/app-from-source:latest", tmp_path / "artifacts")
    assert resolved is not None and resolved.kind == "artifact"
    digest = (tmp_path / "run" / "results" / "IMAGE_DIGEST").read_text()
    assert digest == resolved.digest and "Tagged docker.io/example/app-from-source:latest -> " in log
    named = (tmp_path / "run" / "rootfs" / "dev" / "termination-log").read_text()
    assert named == f"docker.io/example/app-from-source@{digest}"


async def test_builder_step_without_a_function_fails_clearly(runner: StepRunner, ws: Workspace,
                                                             tmp_path: Path) -> None:
    (tmp_path / "run" / "workspace").mkdir(parents=True)
    (tmp_path / "run" / "workspace" / "README").write_text("nothing here")
    step = Step("b", "gcr.io/kaniko-project/executor", args=["--destination=example.com/x"])
    result = await runner.run("default", "p", step, ws)
    assert result.exit_code == 1
    assert "has no function" in result.message and "README" in result.message


async def test_git_init_clones_a_local_repository(runner: StepRunner, ws: Workspace, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_function_folder(repo)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "first"], check=True)
    from jupyter_knative.build import KNATIVE_GIT_INIT
    step = Step("build-step-git-source-0", KNATIVE_GIT_INIT, args=["-url", f"file://{repo}", "-revision", "main"],
                working_dir="/workspace")
    result = await runner.run("default", "p", step, ws)
    assert result.exit_code == 0, log_of(runner, "build-step-git-source-0")
    assert (tmp_path / "run" / "workspace" / "func.py").is_file()
    remote = Step("build-step-git-source-1", KNATIVE_GIT_INIT,
                  args=["-url", "https://github.com/example/app.git", "-revision", "main"])
    failed = await runner.run("default", "p", remote, ws)
    assert failed.exit_code == 1
    assert 'cannot fetch "https://github.com/example/app.git": only local repositories' in failed.message


async def test_log_stream_tails_and_follows_a_running_step(runner: StepRunner, ws: Workspace) -> None:
    step = Step("s", "bash", script="echo a\necho b\nsleep 0.6\necho c\n")
    task = asyncio.ensure_future(runner.run("default", "p", step, ws))
    for _ in range(200):
        if runner.log_path("default", "p", "s").is_file() and "b" in log_of(runner, "s"):
            break
        await asyncio.sleep(0.02)
    chunks = [c async for c in runner.log_stream("default", "p", "s", follow=True, tail=1)]
    await task
    assert b"".join(chunks) == b"b\nc\n"
    whole = b"".join([c async for c in runner.log_stream("default", "p", "s", follow=False, tail=None)])
    assert whole.decode().splitlines()[1:] == ["a", "b", "c"]
    assert [c async for c in runner.log_stream("default", "p", "s", follow=False, tail=None, previous=True)] == []
    assert [c async for c in runner.log_stream("default", "p", "nope", follow=True, tail=None)] == []


async def test_engine_is_one_on_path_that_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    (fake / "podman").write_text("#!/bin/sh\n[ \"$1\" = info ] && exit 0\nexit 2\n")
    for tool in ("docker", "podman"):
        (fake / tool).chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    assert await StepRunner(artifacts=tmp_path, logs=tmp_path).engine() == "podman"  # docker has no daemon
    (fake / "podman").unlink()
    assert await StepRunner(artifacts=tmp_path, logs=tmp_path).engine() is None
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert await StepRunner(artifacts=tmp_path, logs=tmp_path).engine() is None
    assert os.environ["PATH"]


async def test_other_images_run_under_the_container_engine(tmp_path: Path, ws: Workspace) -> None:
    """A stand-in engine on PATH records how it was called: the run's directories are mounted at their
    container paths, the step's env and working directory passed, the command as the entrypoint."""
    engine = tmp_path / "bin" / "docker"
    engine.parent.mkdir()
    engine.write_text('#!/bin/sh\nfor a in "$@"; do echo "arg:$a"; done\n')
    engine.chmod(0o755)
    runner = StepRunner(artifacts=tmp_path / "artifacts", logs=tmp_path / "logs", engine=str(engine))
    step = Step("s", "gcr.io/example/compiler:1", command=["make"], args=["all"], env={"MODE": "fast"})
    result = await runner.run("default", "p", step, ws)
    assert (result.exit_code, result.image_id) == (0, f"{engine}://gcr.io/example/compiler:1")
    lines = log_of(runner, "s").splitlines()
    assert lines[0] == f'jupyter-knative: running "gcr.io/example/compiler:1" under {engine}'
    args = [line.removeprefix("arg:") for line in lines[1:]]
    assert args[:2] == ["run", "--rm"]
    assert f"{tmp_path / 'run' / 'workspace'}:/workspace" in args and "MODE=fast" in args
    assert args[args.index("-w") + 1] == "/workspace"
    assert args[-4:] == ["--entrypoint", "make", "gcr.io/example/compiler:1", "all"]
