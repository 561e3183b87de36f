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
from dataclasses import dataclass, replace
from typing import Any

from .builds import FUNCTION_LABEL, source_digest
from .serving import FUNCTION_VOLUME, FunctionSpec, revision_template

__all__ = ["FUNCTION_ENV", "HANDLER_ENV", "MOUNT_PATH", "REQUIREMENTS_ENV", "RUNTIME_IMAGE", "ConfigMapShipping",
           "configmap_name", "configmap_parts", "configmap_shipping", "function_service"]

RUNTIME_IMAGE = "ghcr.io/jupyter-knative/function-runtime:0.1"
"""The runtime image (runtime/Dockerfile). A placeholder reference: no registry serves it yet."""
MOUNT_PATH = "/function"
FUNCTION_ENV = "JUPYTER_KNATIVE_FUNCTION"
HANDLER_ENV = "JUPYTER_KNATIVE_HANDLER"
REQUIREMENTS_ENV = "JUPYTER_KNATIVE_REQUIREMENTS"
CONTAINER_PORT = 8080
VOLUME = FUNCTION_VOLUME


def configmap_name(name: str, source: str, *, handler: str | None = None, requirements: Sequence[str] = ()) -> str:
    """`<name>-fn-<digest10>`: the ConfigMap that ships this source, handler and requirements."""
    return f"{name}-fn-{source_digest(source, handler, requirements)}"


@dataclass(frozen=True)
class ConfigMapShipping:
    """What ships one function as a ConfigMap: the object, and how a revision runs it."""

    config_map: dict[str, Any]
    env: dict[str, str]
    volume: dict[str, Any]
    mount: dict[str, Any]

    def spec(self, runtime_image: str = RUNTIME_IMAGE, **flags: Any) -> FunctionSpec:
        """The function's `FunctionSpec` (kn's `flags` beside) running it in `runtime_image`."""
        return FunctionSpec(image=runtime_image, function_env=self.env, function_volume=self.volume,
                            function_mount=self.mount, **flags)


def configmap_parts(name: str, namespace: str, source: str, *, handler: str | None = None,
                    requirements: Sequence[str] = ()) -> ConfigMapShipping:
    """The ConfigMap holding `source` and the env, volume and mount that run it (pure).

    Raises `ValueError` for a name or namespace that is not a DNS label, a source that does not compile or a
    handler the source does not define (`jupyter_knative.runtime.artifacts.check_function`)."""
    from jupyter_knative.runtime.artifacts import check_function

    check_function(source, name=name, namespace=namespace, entrypoint=handler)
    requirements = [str(r) for r in requirements]
    cm_name = configmap_name(name, source, handler=handler, requirements=requirements)
    data = {"main.py": source}
    env = {FUNCTION_ENV: f"{MOUNT_PATH}/main.py"}
    if handler:
        env[HANDLER_ENV] = handler
    if requirements:
        data["requirements.txt"] = "".join(f"{line}\n" for line in requirements)
        env[REQUIREMENTS_ENV] = f"{MOUNT_PATH}/requirements.txt"
    config_map: dict[str, Any] = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": cm_name, "namespace": namespace, "labels": {FUNCTION_LABEL: name}},
        "immutable": True,
        "data": data,
    }
    return ConfigMapShipping(config_map, env, {"name": VOLUME, "configMap": {"name": cm_name}},
                             {"name": VOLUME, "mountPath": MOUNT_PATH, "readOnly": True})


def configmap_shipping(name: str, namespace: str, source: str, *, handler: str | None = None,
                       requirements: Sequence[str] = (),
                       runtime_image: str = RUNTIME_IMAGE) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the ConfigMap, the Knative Service) that run `source` on a cluster (pure); errors as `configmap_parts`."""
    parts = configmap_parts(name, namespace, source, handler=handler, requirements=requirements)
    return parts.config_map, function_service(name, namespace, parts.spec(runtime_image))


def function_service(name: str, namespace: str, spec: FunctionSpec) -> dict[str, Any]:
    """The Knative Service that runs a shipped function (pure): `spec`, labelled with the function's name on the
    Service and its revisions, the runtime's port declared."""
    labels = {**(spec.labels or {}), FUNCTION_LABEL: name}
    template = revision_template(replace(spec, labels=labels))
    template["spec"]["containers"][0]["ports"] = [{"containerPort": CONTAINER_PORT}]
    return {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"template": template},
    }
