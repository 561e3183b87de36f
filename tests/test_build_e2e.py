"""Knative Build as the seed-era docs show it, on a real plane through kubectl: a hello Build, a BuildTemplate with
parameters building a function from a (local) git repository into an image a Service then runs, a failing step and a
timeout."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .conftest import Plane
from .test_serving_e2e import apply, call, get, until, wait_ready

HELLO_BUILD = """apiVersion: build.knative.dev/v1alpha1
kind: Build
metadata:
  name: hello-build
spec:
  steps:
  - name: hello
    image: busybox
    args: ['echo', 'hello', 'build']
"""

KANIKO_TEMPLATE = """apiVersion: build.knative.dev/v1alpha1
kind: BuildTemplate
metadata:
  name: kaniko
spec:
  parameters:
  - name: IMAGE
    description: The name of the image to push
  - name: DOCKERFILE
    description: Path to the Dockerfile to build.
    default: /workspace/Dockerfile
  steps:
  - name: build-and-push
    image: gcr.io/kaniko-project/executor
    args:
    - --dockerfile=${DOCKERFILE}
    - --destination=${IMAGE}
"""


def succeeded(plane: Plane, ns: str, ref: str, timeout: int = 60) -> dict:  # type: ignore[type-arg]
    proc = plane.kubectl("wait", ref, "-n", ns, "--for=condition=Succeeded", f"--timeout={timeout}s",
                         timeout=timeout + 10, check=False)
    assert proc.returncode == 0, f"{ref}: {proc.stderr}\n{json.dumps(get(plane, ns, ref).get('status'), indent=1)}"
    return get(plane, ns, ref)


def test_hello_build_as_the_docs_show_it(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, HELLO_BUILD)
    build = succeeded(plane, namespace, "build/hello-build")
    status = build["status"]
    assert status["builder"] == "Cluster" and status["cluster"]["namespace"] == namespace
    assert status["stepsCompleted"] == ["build-step-credential-initializer", "build-step-hello"]
    assert [s["terminated"]["reason"] for s in status["stepStates"]] == ["Completed", "Completed"]
    table = plane.kubectl("get", "build", "hello-build", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "SUCCEEDED", "REASON", "STARTTIME", "COMPLETIONTIME"]
    assert table[1].split()[:2] == ["hello-build", "True"]
    described = plane.kubectl("describe", "build", "hello-build", "-n", namespace).stdout
    for text in ("Builder:", "Cluster", "Pod Name:", "Step States:", "Exit Code:", "Steps Completed:",
                 "build-step-credential-initializer", "build-step-hello", "Succeeded"):
        assert text in described, text
    pod = status["cluster"]["podName"]
    logs = plane.kubectl("logs", pod, "-n", namespace, "--container", "build-step-hello").stdout
    assert "hello build" in logs


def test_template_build_from_git_then_a_service_runs_the_image(plane: Plane, namespace: str,
                                                              tmp_path: Path) -> None:
    repo = tmp_path / "simple-app"
    repo.mkdir()
    (repo / "func.py").write_text("def main(request):\n    return 'Hello from source!'\n")
    (repo / "Dockerfile").write_text("FROM python:3.11-slim\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(repo)]
    subprocess.run([*git, "init", "-q", "-b", "master"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "app"], check=True)
    apply(plane, namespace, KANIKO_TEMPLATE)
    params = plane.kubectl("describe", "buildtemplate", "kaniko", "-n", namespace).stdout
    assert "The name of the image to push" in params and "/workspace/Dockerfile" in params
    image = "docker.io/example/app-from-source:latest"
    apply(plane, namespace, f"""apiVersion: build.knative.dev/v1alpha1
kind: Build
metadata:
  name: app-from-source
spec:
  source:
    git:
      url: file://{repo}
      revision: master
  template:
    name: kaniko
    arguments:
    - name: IMAGE
      value: {image}
""")
    build = succeeded(plane, namespace, "build/app-from-source")
    assert build["status"]["stepsCompleted"] == [
        "build-step-credential-initializer", "build-step-git-source-0", "build-step-build-and-push"]
    apply(plane, namespace, f"""apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: app-from-source
spec:
  template:
    spec:
      containers:
      - image: {image}
""")
    wait_ready(plane, namespace, "ksvc/app-from-source")
    status, body = call(plane, f"app-from-source.{namespace}.svc.cluster.local")
    assert (status, body) == (200, b"Hello from source!")
    revision = get(plane, namespace, "ksvc/app-from-source")["status"]["latestReadyRevisionName"]
    digest = get(plane, namespace, f"revision/{revision}")["status"]["containerStatuses"][0]["imageDigest"]
    assert digest.startswith("dev.local/") and "@sha256:" in digest


def test_a_failing_step_stops_the_build_and_a_timeout_fires(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, """apiVersion: build.knative.dev/v1alpha1
kind: Build
metadata:
  name: fails
spec:
  steps:
  - name: first
    image: busybox
    args: ['sh', '-c', 'echo about to fail; exit 3']
  - name: never
    image: busybox
    args: ['echo', 'unreachable']
---
apiVersion: build.knative.dev/v1alpha1
kind: Build
metadata:
  name: slow
spec:
  timeout: 2s
  steps:
  - name: sleep
    image: busybox
    args: ['sleep', '60']
""")

    def state(name: str) -> dict | None:  # type: ignore[type-arg]
        conds = get(plane, namespace, f"build/{name}").get("status", {}).get("conditions", [])
        done = [c for c in conds if c["type"] == "Succeeded" and c["status"] != "Unknown"]
        return done[0] if done else None

    failed = until(lambda: state("fails"), timeout=30)
    assert failed["status"] == "False"
    assert 'build step "build-step-first" exited with code 3' in failed["message"]
    steps = get(plane, namespace, "build/fails")["status"]["stepStates"]
    assert any(s.get("terminated", {}).get("exitCode") == 3 for s in steps)
    timed_out = until(lambda: state("slow"), timeout=30)
    assert (timed_out["status"], timed_out["reason"]) == ("False", "BuildTimeout")
