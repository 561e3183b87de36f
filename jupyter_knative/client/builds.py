"""A function cell's build, as a Tekton TaskRun: what `%%knative service` and `deploy_function` run.

The source (and its requirements) goes to the plane as a ConfigMap; a TaskRun mounts it as the workspace
`source` and runs one step with the Kaniko executor image, which the embedded plane serves with its built-in
Python-function builder. The step writes the image it produced to the results `IMAGE_DIGEST` and `IMAGE_URL`,
and the Service then runs `IMAGE_URL`. Both objects are named after the function and a hash of what is built, so
building an unchanged cell again finds the finished TaskRun and reuses its image; every build stays visible
with `kubectl get taskruns` and its log with `kubectl logs <taskrun>-pod -c step-build`.

On a real cluster with Tekton (`ship="tekton"`), the same TaskRun carries a `ClusterTarget`: a Dockerfile
(`function_dockerfile`: the runtime image plus the function) rides in the ConfigMap and kaniko pushes the image to
the user's registry; the embedded plane runs that TaskRun too (it packages the context and notes that the
Dockerfile is not run), which is how the cluster path is tested here.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import KnativeError
from .objects import Objects

__all__ = ["BUILDER_IMAGE", "Builds", "ClusterTarget", "build_objects", "function_dockerfile", "source_digest"]

BUILDER_IMAGE = "gcr.io/kaniko-project/executor:latest"
FUNCTION_LABEL = "jupyter-knative.dev/function"
STEP = "build"


def source_digest(source: str, handler: str | None, requirements: Sequence[str],
                  target: Mapping[str, str] | None = None) -> str:
    """What names a build of a cell (and its shipped ConfigMap): 10 hex of sha256 over what is built (and, for a
    cluster build, where it goes and from what)."""
    what: dict[str, Any] = {"source": source, "handler": handler or "", "requirements": list(requirements)}
    if target:
        what["target"] = dict(target)
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class ClusterTarget:
    """Where an in-cluster build pushes (`registry`, e.g. `ghcr.io/me` or `registry.local:5000/team`), the image
    it builds on, and the ServiceAccount whose secrets carry the registry's credentials (Tekton hands them to the
    step as ~/.docker/config.json)."""

    registry: str
    runtime_image: str
    service_account: str | None = None

    def destination(self, namespace: str, name: str, digest: str) -> str:
        return f"{self.registry.rstrip('/')}/{namespace}/{name}:{digest}"


def function_dockerfile(runtime_image: str, *, requirements: bool) -> str:
    """The Dockerfile of a function image on a cluster: the runtime image with the function (and its
    requirements, pip-installed at build time) added; `ENTRYPOINT` (a build arg) names the handler."""
    lines = [f"FROM {runtime_image}", "ARG ENTRYPOINT=", "COPY main.py /function/main.py"]
    if requirements:
        lines += ["COPY requirements.txt /function/requirements.txt", "USER root",
                  "RUN pip install --no-cache-dir --target /function/packages -r /function/requirements.txt",
                  "USER 65532:65532"]
    lines += ["ENV JUPYTER_KNATIVE_FUNCTION=/function/main.py JUPYTER_KNATIVE_PACKAGES=/function/packages "
              "JUPYTER_KNATIVE_HANDLER=${ENTRYPOINT}"]
    return "\n".join(lines) + "\n"


def build_objects(name: str, namespace: str, source: str, *, handler: str | None = None,
                  requirements: Sequence[str] = (),
                  target: ClusterTarget | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ConfigMap holding the source and the TaskRun that builds it (pure). Without `target` the image goes
    to the embedded plane (`dev.local/...`); with one, a Dockerfile rides along and kaniko pushes to its
    registry."""
    target_key = None if target is None else {"registry": target.registry, "runtime": target.runtime_image}
    digest = source_digest(source, handler, requirements, target_key)
    run = f"{name}-build-{digest}"
    labels = {FUNCTION_LABEL: name}
    files = {"main.py": source}
    if requirements:
        files["requirements.txt"] = "".join(f"{line}\n" for line in requirements)
    source_name = f"{name}-source-{digest}"
    destination = f"dev.local/{namespace}/{name}"
    args = ["--context=$(workspaces.source.path)"]
    if target is not None:
        files["Dockerfile"] = function_dockerfile(target.runtime_image, requirements=bool(requirements))
        destination = target.destination(namespace, name, digest)
        args.append("--dockerfile=$(workspaces.source.path)/Dockerfile")
    config_map: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": source_name, "namespace": namespace, "labels": labels},
                                  "data": files}
    args += [f"--destination={destination}", "--digest-file=$(results.IMAGE_DIGEST.path)",
             "--image-name-with-digest-file=$(results.IMAGE_URL.path)"]
    if handler:
        args.append(f"--build-arg=ENTRYPOINT={handler}")
    spec: dict[str, Any] = {
        "workspaces": [{"name": "source", "configMap": {"name": source_name}}],
        "taskSpec": {
            "workspaces": [{"name": "source", "description": "the function's source"}],
            "results": [{"name": "IMAGE_DIGEST", "description": "the image's digest"},
                        {"name": "IMAGE_URL", "description": "the image, by digest"}],
            "steps": [{"name": STEP, "image": BUILDER_IMAGE, "args": args}],
        },
    }
    if target is not None and target.service_account:
        spec["serviceAccountName"] = target.service_account
    task_run = {"apiVersion": "tekton.dev/v1", "kind": "TaskRun",
                "metadata": {"name": run, "namespace": namespace, "labels": labels}, "spec": spec}
    return config_map, task_run


class Builds:
    def __init__(self, objects: Objects) -> None:
        self.objects = objects

    def build_function(self, name: str, source: str, *, namespace: str, handler: str | None = None,
                       requirements: Sequence[str] = (), target: ClusterTarget | None = None,
                       timeout: float = 600, log: Callable[[str], None] | None = None) -> str:
        """The image reference of the built function (reusing an earlier build of the same input)."""
        from jupyter_knative.runtime.artifacts import check_function

        try:  # mistakes in the cell are told at once, before any build
            check_function(source, name=name, namespace=namespace, entrypoint=handler)
        except ValueError as e:
            raise KnativeError(str(e), reason="Invalid", hint="fix the cell and run it again") from None
        config_map, task_run = build_objects(name, namespace, source, handler=handler, requirements=requirements,
                                             target=target)
        run = task_run["metadata"]["name"]
        existing = self.objects.find(self.objects.info("taskruns.tekton.dev"), run, namespace)
        if existing is not None and _succeeded(existing) == "True":
            if log is not None:
                log(f"Reusing the build of '{name}' (taskrun {run})")
            return _image(existing, run)
        if existing is not None and _succeeded(existing) == "False":  # a failed build: try again
            self.objects.delete("taskruns.tekton.dev", run, namespace, wait=True)
            existing = None
        if self.objects.find(self.objects.info("configmaps"), config_map["metadata"]["name"], namespace) is None:
            self.objects.create("configmaps", config_map, namespace)
        if existing is None:
            self.objects.create("taskruns.tekton.dev", task_run, namespace)
        echo = _Echo(log) if log is not None else None
        if echo is not None:
            echo.log(f"Building '{name}' in namespace '{namespace}' (taskrun {run}):")
            threading.Thread(target=self._stream_log, args=(run, namespace, echo), daemon=True,
                             name=f"knative-build-log-{run}").start()
        try:
            finished = self.objects.wait("taskruns.tekton.dev", run, condition="Succeeded", timeout=timeout,
                                         namespace=namespace)
        except KnativeError as e:
            if echo is not None:
                echo.finish(self._log_text(run, namespace))
            tail = self._log_tail(run, namespace)
            raise KnativeError(f"building '{name}' failed: {e}" + (f"\n{tail}" if tail else ""),
                               reason="BuildFailed",
                               hint=f"kubectl logs {run}-pod -c step-{STEP} -n {namespace}") from None
        if echo is not None:  # what the stream has not shown yet, at once (no waiting for it to catch up)
            echo.finish(self._log_text(run, namespace))
        return _image(finished, run)

    def _log_path(self, run: str, namespace: str) -> str:
        return f"/api/v1/namespaces/{namespace}/pods/{run}-pod/log"

    def _stream_log(self, run: str, namespace: str, echo: _Echo) -> None:
        """The step's log lines as they come; waits for the pod to exist, stops when the build is over."""
        while not echo.done:
            try:
                for i, raw in enumerate(self.objects.conn.stream_lines(
                        self._log_path(run, namespace), query=[("container", f"step-{STEP}"), ("follow", "true")])):
                    if not echo.line(i, raw.decode("utf-8", "replace")):
                        return
            except KnativeError:
                pass  # not started yet, or gone: look again
            time.sleep(0.05)

    def _log_text(self, run: str, namespace: str) -> list[str]:
        try:
            text = self.objects.conn.request_raw("GET", self._log_path(run, namespace),
                                                 query=[("container", f"step-{STEP}")], accept="*/*")
        except KnativeError:
            return []
        return text.decode("utf-8", "replace").splitlines()

    def _log_tail(self, run: str, namespace: str, lines: int = 20) -> str:
        try:
            text = self.objects.conn.request_raw("GET", self._log_path(run, namespace),
                                                 query=[("container", f"step-{STEP}"), ("tailLines", str(lines))],
                                                 accept="*/*")
        except KnativeError:
            return ""
        return text.decode("utf-8", "replace").rstrip()


class _Echo:
    """Build log lines to the caller exactly once, from the live stream or, at the end, from the whole log."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.sent = 0
        self.done = False
        self.lock = threading.Lock()

    def line(self, index: int, text: str) -> bool:
        """Show line `index` unless already shown; False once the build is over (stop streaming)."""
        with self.lock:
            if self.done:
                return False
            if index >= self.sent:
                self.log(text)
                self.sent = index + 1
            return True

    def finish(self, lines: Sequence[str]) -> None:
        with self.lock:
            for text in lines[self.sent:]:
                self.log(text)
            self.sent = max(self.sent, len(lines))
            self.done = True


def _succeeded(obj: dict[str, Any]) -> str:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Succeeded":
            return str(cond.get("status"))
    return "Unknown"


def _image(task_run: dict[str, Any], run: str) -> str:
    results = {r.get("name"): r.get("value") for r in (task_run.get("status") or {}).get("results") or []}
    image = str(results.get("IMAGE_URL") or "").strip()
    if not image:
        raise KnativeError(f"build {run} succeeded but wrote no IMAGE_URL result", reason="BuildFailed",
                           hint=f"kubectl describe taskrun {run}")
    return image
