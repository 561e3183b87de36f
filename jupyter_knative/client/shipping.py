"""Shipping a function to a real cluster without Docker on the user's side: its source as an immutable ConfigMap,
mounted into a prebuilt runtime image (issue 11, 2a).

`configmap_shipping` (pure) gives the two objects to create, in this order:

- a ConfigMap `<name>-fn-<digest10>` (the digest is sha256 over source, handler and requirements, so a changed
  cell is a new ConfigMap and a new Revision, and an unchanged one is the same object) with `immutable: true`,
  holding `main.py` and, when there are any, `requirements.txt`;
- a Knative Service running `RUNTIME_IMAGE` with that ConfigMap mounted read-only at `/function` and the
  environment the runtime's entry point (`python -m jupyter_knative.runtime.serve`) reads:
  `JUPYTER_KNATIVE_FUNCTION`, `JUPYTER_KNATIVE_HANDLER` (when given) and `JUPYTER_KNATIVE_REQUIREMENTS` (when
  there are requirements, installed by the runtime at start).

The runtime image is built from `runtime/Dockerfile` in the repository. `RUNTIME_IMAGE` is a placeholder name
until the project publishes that image: push your build of it and pass its reference as `runtime_image`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .builds import FUNCTION_LABEL, source_digest
from .serving import FunctionSpec, revision_template

__all__ = ["FUNCTION_ENV", "HANDLER_ENV", "MOUNT_PATH", "REQUIREMENTS_ENV", "RUNTIME_IMAGE", "configmap_name",
           "configmap_shipping"]

RUNTIME_IMAGE = "ghcr.io/jupyter-knative/function-runtime:0.1"
"""The runtime image (runtime/Dockerfile). A placeholder reference: no registry serves it yet."""
MOUNT_PATH = "/function"
FUNCTION_ENV = "JUPYTER_KNATIVE_FUNCTION"
HANDLER_ENV = "JUPYTER_KNATIVE_HANDLER"
REQUIREMENTS_ENV = "JUPYTER_KNATIVE_REQUIREMENTS"
CONTAINER_PORT = 8080
VOLUME = "function"


def configmap_name(name: str, source: str, *, handler: str | None = None, requirements: Sequence[str] = ()) -> str:
    """`<name>-fn-<digest10>`: the ConfigMap that ships this source, handler and requirements."""
    return f"{name}-fn-{source_digest(source, handler, requirements)}"


def configmap_shipping(name: str, namespace: str, source: str, *, handler: str | None = None,
                       requirements: Sequence[str] = (),
                       runtime_image: str = RUNTIME_IMAGE) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the ConfigMap, the Knative Service) that run `source` on a cluster (pure).

    Raises `ValueError` for a name or namespace that is not a DNS label, a source that does not compile or a
    handler the source does not define (`jupyter_knative.runtime.artifacts.check_function`)."""
    from jupyter_knative.runtime.artifacts import check_function

    check_function(source, name=name, namespace=namespace, entrypoint=handler)
    requirements = [str(r) for r in requirements]
    cm_name = configmap_name(name, source, handler=handler, requirements=requirements)
    labels = {FUNCTION_LABEL: name}
    data = {"main.py": source}
    env = {FUNCTION_ENV: f"{MOUNT_PATH}/main.py"}
    if handler:
        env[HANDLER_ENV] = handler
    if requirements:
        data["requirements.txt"] = "".join(f"{line}\n" for line in requirements)
        env[REQUIREMENTS_ENV] = f"{MOUNT_PATH}/requirements.txt"
    config_map: dict[str, Any] = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": cm_name, "namespace": namespace, "labels": dict(labels)},
        "immutable": True,
        "data": data,
    }
    template = revision_template(FunctionSpec(image=runtime_image, env=env, labels=labels))
    pod = template["spec"]
    container = pod["containers"][0]
    container["ports"] = [{"containerPort": CONTAINER_PORT}]
    container["volumeMounts"] = [{"name": VOLUME, "mountPath": MOUNT_PATH, "readOnly": True}]
    pod["volumes"] = [{"name": VOLUME, "configMap": {"name": cm_name}}]
    service: dict[str, Any] = {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"template": template},
    }
    return config_map, service
