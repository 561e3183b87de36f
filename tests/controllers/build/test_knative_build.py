"""Knative Build end to end on a real store (FakeClock) with the real step runner: real processes, real git."""

from __future__ import annotations

import asyncio
import datetime
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from jupyter_knative.api.registry import Registry, ResourceType
from jupyter_knative.api.status import BadRequest
from jupyter_knative.apiserver.tables import table
from jupyter_knative.build import StepRunner
from jupyter_knative.client.describing import describe_text
from jupyter_knative.controllers.build import Builds, new_build
from jupyter_knative.controllers.runtime import FakeClock, Manager
from jupyter_knative.runtime import artifacts
from jupyter_knative.store import Store

from ..conftest import kind

GROUP = "build.knative.dev"
V1ALPHA1 = f"{GROUP}/v1alpha1"


@pytest.fixture
def runner(tmp_path: Path, clock: FakeClock) -> StepRunner:
    return StepRunner(artifacts=tmp_path / "artifacts", logs=tmp_path / "logs", engine=None, clock=clock)


@pytest.fixture
async def builds(manager: Manager, runner: StepRunner, tmp_path: Path) -> AsyncIterator[Builds]:
    b = new_build(manager, runner, workspaces=tmp_path / "workspaces")
    await manager.start()
    yield b
    await b.shutdown()


def build(name: str, *, steps: list[dict[str, Any]] | None = None, template: dict[str, Any] | None = None,
          source: dict[str, Any] | None = None, timeout: str | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = dict(spec)
    if steps is not None:
        body["steps"] = steps
    if template is not None:
        body["template"] = template
    if source is not None:
        body["source"] = source
    if timeout is not None:
        body["timeout"] = timeout
    return {"apiVersion": V1ALPHA1, "kind": "Build", "metadata": {"name": name, "namespace": "default"},
            "spec": body}


def kaniko_template(name: str = "kaniko", *, kind_: str = "BuildTemplate") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if kind_ == "BuildTemplate":
        meta["namespace"] = "default"
    return {"apiVersion": V1ALPHA1, "kind": kind_, "metadata": meta, "spec": {
        "parameters": [
            {"name": "IMAGE", "description": "The name of the image to push"},
            {"name": "DOCKERFILE", "description": "Path to the Dockerfile to build.",
             "default": "/workspace/Dockerfile"},
        ],
        "steps": [{"name": "build-and-push", "image": "gcr.io/kaniko-project/executor",
                   "args": ["--dockerfile=${DOCKERFILE}", "--destination=${IMAGE}"]}],
    }}


def create(store: Store, reg: Registry, obj: dict[str, Any]) -> dict[str, Any]:
    return store.create(kind(reg, GROUP, obj["kind"]), obj)


async def until(check: Callable[[], bool], seconds: float = 30.0) -> None:
    """Wait in real time (steps are real processes) until `check()` holds."""
    end = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < end, "condition not reached"
        await asyncio.sleep(0.02)


def get_build(store: Store, reg: Registry, name: str) -> dict[str, Any]:
    obj = store.get(kind(reg, GROUP, "Build"), "default", name)
    assert obj is not None
    return obj


def succeeded(store: Store, reg: Registry, name: str) -> dict[str, Any]:
    for cond in (get_build(store, reg, name).get("status") or {}).get("conditions") or []:
        if cond["type"] == "Succeeded":
            return dict(cond)
    return {}


def done(store: Store, reg: Registry, name: str) -> Callable[[], bool]:
    return lambda: succeeded(store, reg, name).get("status") in ("True", "False")


def pod_of(store: Store, reg: Registry, name: str) -> dict[str, Any]:
    pod_name = get_build(store, reg, name)["status"]["cluster"]["podName"]
    pod = store.get(kind(reg, "", "Pod"), "default", pod_name)
    assert pod is not None
    return pod


async def read_log(runner: StepRunner, pod: str, container: str) -> str:
    return b"".join([c async for c in runner.log_stream("default", pod, container, follow=False, tail=None)]).decode()


def git_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "func.py").write_text("def main(request):\n    return 'hello from source'\n")
    (path / "Dockerfile").write_text("FROM python:3.12\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(path)]
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "app"], check=True)
    return path


# --- the seed's examples ----------------------------------------------------------------------------------


async def test_two_steps_run_in_order_in_a_shared_workspace(builds: Builds, store: Store, reg: Registry,
                                                            runner: StepRunner) -> None:
    create(store, reg, build("hello-build", steps=[
        {"name": "hello", "image": "ubuntu", "command": ["/bin/bash"],
         "args": ["-c", "echo 'hello' > /workspace/greeting; echo hello from step one"]},
        {"name": "world", "image": "ubuntu", "command": ["/bin/bash"], "args": ["-c", "cat /workspace/greeting"]},
    ]))
    await until(done(store, reg, "hello-build"))
    b = get_build(store, reg, "hello-build")
    assert succeeded(store, reg, "hello-build")["status"] == "True"
    st = b["status"]
    assert st["builder"] == "Cluster"
    assert st["cluster"]["namespace"] == "default"
    assert st["cluster"]["podName"].startswith("hello-build-pod-") and len(st["cluster"]["podName"]) == 22
    assert st["stepsCompleted"] == ["build-step-credential-initializer", "build-step-hello", "build-step-world"]
    assert [s["terminated"]["reason"] for s in st["stepStates"]] == ["Completed"] * 3
    assert {"exitCode", "reason", "startedAt", "finishedAt", "containerID"} <= set(st["stepStates"][1]["terminated"])
    assert st["startTime"] and st["completionTime"]
    assert b["spec"]["timeout"] == "10m0s" and b["spec"]["serviceAccountName"] == "default"  # webhook defaults
    pod = pod_of(store, reg, "hello-build")
    assert pod["status"]["phase"] == "Succeeded"
    assert [c["name"] for c in pod["spec"]["initContainers"]] == st["stepsCompleted"]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["nop"]
    assert pod["metadata"]["labels"]["build.knative.dev/buildName"] == "hello-build"
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Build"
    name = pod["metadata"]["name"]
    assert (await read_log(runner, name, "build-step-world")).splitlines()[1:] == ["hello"]
    assert "hello from step one" in await read_log(runner, name, "build-step-hello")
    assert (await read_log(runner, name, "nop")).strip() == "Build successful"


async def test_build_from_a_local_git_repo_with_a_template(builds: Builds, store: Store, reg: Registry,
                                                           runner: StepRunner, tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "app-repo")
    create(store, reg, kaniko_template())
    create(store, reg, build("app-from-source", source={"git": {"url": f"file://{repo}", "revision": "main"}},
                             template={"name": "kaniko", "arguments": [
                                 {"name": "IMAGE", "value": "docker.io/example/app-from-source:latest"}]}))
    await until(done(store, reg, "app-from-source"), 60)
    cond = succeeded(store, reg, "app-from-source")
    pod = pod_of(store, reg, "app-from-source")
    log = await read_log(runner, pod["metadata"]["name"], "build-step-build-and-push")
    assert cond["status"] == "True", (cond, log)
    assert get_build(store, reg, "app-from-source")["status"]["stepsCompleted"] == [
        "build-step-credential-initializer", "build-step-git-source-0", "build-step-build-and-push"]
    step = pod["spec"]["initContainers"][2]
    assert step["args"] == ["--dockerfile=/workspace/Dockerfile",  # the parameter's default
                            "--destination=docker.io/example/app-from-source:latest"]
    assert 'the Dockerfile "' in log and "Tagged docker.io/example/app-from-source:latest" in log
    resolved = artifacts.resolve("docker.io/example/app-from-source:latest", runner.artifacts)
    assert resolved is not None and resolved.kind == "artifact"
    git_log = await read_log(runner, pod["metadata"]["name"], "build-step-git-source-0")
    assert f'Successfully cloned "file://{repo}" @ "main"' in git_log


async def test_cluster_build_template_and_env_override(builds: Builds, store: Store, reg: Registry,
                                                       runner: StepRunner) -> None:
    create(store, reg, {"apiVersion": V1ALPHA1, "kind": "ClusterBuildTemplate", "metadata": {"name": "greeter"},
                        "spec": {"parameters": [{"name": "WHO", "default": "world"}],
                                 "steps": [{"name": "greet", "image": "busybox", "command": ["sh", "-c"],
                                            "args": ['echo "${GREETING} ${WHO}"'],
                                            "env": [{"name": "GREETING", "value": "hello"}]}]}})
    create(store, reg, build("greet", template={"name": "greeter", "kind": "ClusterBuildTemplate",
                                                "env": [{"name": "GREETING", "value": "bonjour"}]}))
    await until(done(store, reg, "greet"))
    pod = pod_of(store, reg, "greet")
    assert succeeded(store, reg, "greet")["status"] == "True"
    assert (await read_log(runner, pod["metadata"]["name"], "build-step-greet")).splitlines()[-1] == "bonjour world"


async def test_a_failing_step_stops_the_build_with_its_exit_code(builds: Builds, store: Store,
                                                                 reg: Registry) -> None:
    create(store, reg, build("failing", steps=[
        {"name": "fail", "image": "ubuntu", "command": ["/bin/bash"], "args": ["-c", "echo broken; exit 3"]},
        {"name": "never", "image": "ubuntu", "command": ["/bin/bash"], "args": ["-c", "echo never"]},
    ]))
    await until(done(store, reg, "failing"))
    pod = pod_of(store, reg, "failing")
    cond = succeeded(store, reg, "failing")
    assert cond["status"] == "False" and "reason" not in cond  # v0.7 gives a failed step no reason
    assert cond["message"] == (f'build step "build-step-fail" exited with code 3 (image: "host://ubuntu"); for logs '
                               f"run: kubectl -n default logs {pod['metadata']['name']} -c build-step-fail")
    st = get_build(store, reg, "failing")["status"]
    assert st["stepsCompleted"] == ["build-step-credential-initializer", "build-step-fail"]
    assert st["stepStates"][1]["terminated"]["exitCode"] == 3
    assert st["stepStates"][1]["terminated"]["reason"] == "Error"
    assert st["stepStates"][2] == {"waiting": {"reason": "PodInitializing"}}
    assert pod["status"]["phase"] == "Failed"


async def test_timeout_kills_the_running_step(builds: Builds, store: Store, reg: Registry,
                                              clock: FakeClock) -> None:
    create(store, reg, build("slow", timeout="30s", steps=[
        {"name": "sleep", "image": "bash", "command": ["bash", "-c"], "args": ["echo sleeping; sleep 600"]}]))
    await until(lambda: succeeded(store, reg, "slow").get("reason") == "Pending"
                and "build-step-sleep" in str(pod_of(store, reg, "slow").get("status")))
    await asyncio.sleep(0.2)
    await clock.advance(31)
    await until(done(store, reg, "slow"), 15)
    cond = succeeded(store, reg, "slow")
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "False", "BuildTimeout", 'Build "slow" failed to finish within "30s"')
    state = get_build(store, reg, "slow")["status"]["stepStates"][1]["terminated"]
    assert state["exitCode"] in (137, 143)


async def test_remote_git_urls_fail_in_the_source_step(builds: Builds, store: Store, reg: Registry) -> None:
    create(store, reg, build("remote", source={"git": {"url": "https://github.com/example/app.git",
                                                       "revision": "main"}},
                             steps=[{"name": "ls", "image": "busybox", "args": ["ls"]}]))
    await until(done(store, reg, "remote"))
    cond = succeeded(store, reg, "remote")
    assert cond["status"] == "False" and 'build step "build-step-git-source-0" exited with code 1' in cond["message"]
    terminated = get_build(store, reg, "remote")["status"]["stepStates"][1]["terminated"]
    assert 'cannot fetch "https://github.com/example/app.git": only local repositories' in terminated["message"]


@pytest.mark.parametrize(("template", "arguments", "message"), [
    pytest.param(None, [{"name": "IMAGE", "value": "x"}], 'buildtemplates.build.knative.dev "kaniko" not found',
                 id="template-missing"),
    pytest.param("kaniko", [], "UnsatisfiedParameter: build does not specify these required parameters: "
                               "[{IMAGE The name of the image to push}]", id="required-parameter"),
    pytest.param("kaniko", [{"name": "IMAGE", "value": "x"}, {"name": "COLOUR", "value": "red"}],
                 'UndeclaredArgument: build specifies arguments that BuildTemplate "kaniko" does not declare as '
                 "parameters: [COLOUR]", id="undeclared-argument"),
])
async def test_validation_failures(builds: Builds, store: Store, reg: Registry, template: str | None,
                                   arguments: list[dict[str, str]], message: str) -> None:
    if template:
        create(store, reg, kaniko_template(template))
    create(store, reg, build("invalid", template={"name": "kaniko", "arguments": arguments}))
    await until(done(store, reg, "invalid"))
    cond = succeeded(store, reg, "invalid")
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "BuildValidationFailed", message)
    assert get_build(store, reg, "invalid")["status"]["cluster"] == {"podName": ""}


async def test_missing_service_account_fails_validation(builds: Builds, store: Store, reg: Registry) -> None:
    create(store, reg, build("sa", serviceAccountName="builder", steps=[{"image": "busybox", "args": ["true"]}]))
    await until(done(store, reg, "sa"))
    assert succeeded(store, reg, "sa")["message"] == 'serviceaccounts "builder" not found'


async def test_unnamed_steps_and_an_unknown_image(builds: Builds, store: Store, reg: Registry) -> None:
    create(store, reg, build("odd", steps=[{"image": "busybox", "args": ["true"]},
                                           {"image": "gcr.io/example/compiler", "args": ["make"]}]))
    await until(done(store, reg, "odd"))
    st = get_build(store, reg, "odd")["status"]
    assert st["stepsCompleted"] == ["build-step-credential-initializer", "build-step-unnamed-0",
                                    "build-step-unnamed-1"]
    assert "no container engine (docker or podman) is on PATH" in st["stepStates"][2]["terminated"]["message"]


async def test_cancelling_stops_the_steps(builds: Builds, store: Store, reg: Registry) -> None:
    create(store, reg, build("cancel-me", steps=[{"name": "sleep", "image": "bash", "command": ["sleep", "600"]}]))
    await until(lambda: builds.knative.running("default", "cancel-me"))
    b = get_build(store, reg, "cancel-me")
    b["spec"]["status"] = "BuildCancelled"
    store.update(kind(reg, GROUP, "Build"), b)
    await until(done(store, reg, "cancel-me"))
    cond = succeeded(store, reg, "cancel-me")
    assert (cond["reason"], cond["message"]) == ("BuildCancelled", 'Build "cancel-me" was cancelled')
    await until(lambda: not builds.knative.running("default", "cancel-me"))


async def test_a_restart_marks_a_running_build_interrupted(store: Store, reg: Registry, clock: FakeClock,
                                                           runner: StepRunner, tmp_path: Path) -> None:
    first = Manager(store, clock)
    builds = new_build(first, runner, workspaces=tmp_path / "ws")
    await first.start()
    create(store, reg, build("long", steps=[{"name": "sleep", "image": "bash", "command": ["sleep", "600"]}]))
    await until(lambda: builds.knative.running("default", "long"))
    await builds.shutdown()
    await first.stop()
    second = Manager(store, clock)
    again = new_build(second, runner, workspaces=tmp_path / "ws")
    await second.start()
    try:
        await until(done(store, reg, "long"))
        cond = succeeded(store, reg, "long")
        assert cond["reason"] == "BuildInterrupted" and "daemon stopped" in cond["message"]
        assert pod_of(store, reg, "long")["status"]["phase"] == "Failed"
    finally:
        await again.shutdown()
        await second.stop()


async def test_deleting_a_build_stops_its_steps(builds: Builds, store: Store, reg: Registry) -> None:
    create(store, reg, build("gone", steps=[{"name": "sleep", "image": "bash", "command": ["sleep", "600"]}]))
    await until(lambda: builds.knative.running("default", "gone"))
    store.delete(kind(reg, GROUP, "Build"), "default", "gone")
    await until(lambda: not builds.knative.running("default", "gone"))


# --- admission -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("obj", "message"), [
    pytest.param(build("b"), "expected exactly one, got neither: spec.steps, spec.template", id="neither"),
    pytest.param(build("b", steps=[{"image": "busybox"}], template={"name": "t"}),
                 "expected exactly one, got both: spec.steps, spec.template", id="both"),
    pytest.param(build("b", template={"name": "t", "kind": "Task"}), "invalid value: Task: spec.template.kind",
                 id="template-kind"),
    pytest.param(build("b", template={"kind": "BuildTemplate"}), "missing field(s): spec.template.name",
                 id="template-name"),
    pytest.param(build("b", steps=[{"image": "busybox"}], timeout="25h"),
                 "invalid value: 25h0m0s should be < 24h: spec.timeout", id="timeout-max"),
    pytest.param(build("b", steps=[{"image": "busybox"}], timeout="-1s"),
                 "invalid value: -1s should be > 0: spec.timeout", id="timeout-negative"),
    pytest.param(build("b", steps=[{"name": "x"}]), "missing field(s): spec.Image", id="step-image"),
    pytest.param(build("b", steps=[{"name": "x", "image": "a"}, {"name": "x", "image": "b"}]),
                 "expected exactly one, got both: spec.stepName", id="step-names"),
])
def test_the_webhook_refuses_invalid_builds(store: Store, reg: Registry, obj: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as e:
        create(store, reg, obj)
    assert str(e.value.message) == ('admission webhook "webhook.build.knative.dev" denied the request: '
                                    f"mutation failed: {message}")


def test_the_webhook_defaults_and_checks_templates(store: Store, reg: Registry) -> None:
    created = create(store, reg, build("b", steps=[{"image": "busybox"}], timeout="1h"))
    assert created["spec"]["timeout"] == "1h" and created["spec"]["serviceAccountName"] == "default"
    template = kaniko_template()
    template["spec"]["parameters"].append({"name": "IMAGE"})
    with pytest.raises(BadRequest, match='invalid key name "ParamName"'):
        create(store, reg, template)
    stored = create(store, reg, kaniko_template())
    assert stored["spec"]["parameters"][1]["default"] == "/workspace/Dockerfile"


async def test_get_and_describe_show_what_the_seed_shows(builds: Builds, store: Store, reg: Registry,
                                                        clock: FakeClock) -> None:
    create(store, reg, build("shown", steps=[{"name": "hello", "image": "ubuntu", "command": ["echo", "hi"]}]))
    await until(done(store, reg, "shown"))
    rt: ResourceType = kind(reg, GROUP, "Build")
    t = table(rt, rt.preferred, [get_build(store, reg, "shown")], clock.now())
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Succeeded", "Reason", "StartTime",
                                                          "CompletionTime"]
    assert t["rows"][0]["cells"][:3] == ["shown", "True", None]  # kubectl prints <none>
    text = describe_text(get_build(store, reg, "shown"), [], now=datetime.datetime.fromtimestamp(clock.now(), UTC))
    pod = pod_of(store, reg, "shown")["metadata"]["name"]
    for line in ("Builder:  Cluster", f"Pod Name:  {pod}", "Steps Completed:", "build-step-credential-initializer",
                 "build-step-hello", "Step States:", "Terminated:", "Exit Code:  0", "Reason:  Completed",
                 "Succeeded"):
        assert line in text, text
