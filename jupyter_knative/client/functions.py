"""How a function cell becomes something a revision runs, per backend (issue 11's shipping modes).

- `plane`: the embedded plane's built-in builder (a TaskRun the plane serves; `client.builds`). The default when
  the server is a jupyter-knative plane.
- `configmap`: the source as an immutable ConfigMap mounted into the runtime image (`client.shipping`). The
  default on a cluster when no registry is named: nothing to build, nothing to push.
- `oci`: an image assembled here (base + runtime + function layers, as `ko` does) and pushed to the registry the
  user names, run by digest (`client.oci`). The default on a cluster when a registry is named.
- `tekton`: an in-cluster kaniko TaskRun that builds on the runtime image and pushes to the registry
  (`client.builds` with a `ClusterTarget`); needs Tekton Pipelines on the cluster.

`choose_ship` is the pure rule; `Shipper.ship` does it and returns the `FunctionSpec` parts that say what runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .builds import Builds, ClusterTarget
from .errors import KnativeError
from .objects import Objects
from .shipping import RUNTIME_IMAGE, configmap_parts

__all__ = ["SHIP_MODES", "ShipOptions", "Shipped", "Shipper", "choose_ship"]

SHIP_MODES = ("plane", "configmap", "oci", "tekton")


@dataclass(frozen=True)
class ShipOptions:
    """Where functions go on a cluster: a backend's defaults, overridden per deploy."""

    ship: str | None = None
    registry: str | None = None
    runtime_image: str | None = None
    base_image: str | None = None
    service_account: str | None = None
    insecure_registry: bool | None = None

    def over(self, other: ShipOptions) -> ShipOptions:
        """These options with `other`'s set fields winning."""
        return ShipOptions(**{k: (v if v is not None else getattr(self, k)) for k, v in vars(other).items()})


@dataclass(frozen=True)
class Shipped:
    """What the revision runs: the image, and (ConfigMap shipping) the runtime's env, volume and mount."""

    mode: str
    image: str
    env: dict[str, str] = field(default_factory=dict)
    volume: dict[str, Any] | None = None
    mount: dict[str, Any] | None = None


def choose_ship(requested: str | None, *, plane: bool, registry: str | None) -> str:
    """The shipping mode for a deploy (pure). Raises `KnativeError` for an unknown mode or one that needs a
    registry without one, or `plane` on a server that is not a plane."""
    if requested is None:
        return "plane" if plane else ("oci" if registry else "configmap")
    if requested not in SHIP_MODES:
        raise KnativeError(f"ship = {requested!r}: must be one of {', '.join(SHIP_MODES)}", reason="Invalid")
    if requested in ("oci", "tekton") and not registry:
        raise KnativeError(f"ship = {requested!r} pushes an image: name the registry", reason="Invalid",
                           hint="registry='ghcr.io/<you>' (or --registry on the magic); the cluster's nodes must "
                                "be able to pull from it")
    if requested == "plane" and not plane:
        raise KnativeError("ship = 'plane' uses the embedded plane's built-in builder; this server is not a "
                           "jupyter-knative plane", reason="Invalid",
                           hint="ship='configmap' (no registry needed), 'oci' or 'tekton' (with a registry)")
    return requested


class Shipper:
    def __init__(self, objects: Objects, builds: Builds, require: Callable[[str], None]) -> None:
        self.objects = objects
        self.builds = builds
        self.require = require

    def ship(self, mode: str, name: str, source: str, *, namespace: str, handler: str | None,
             requirements: Sequence[str], options: ShipOptions,
             progress: Callable[[str], None] | None) -> Shipped:
        if mode == "plane":
            image = self.builds.build_function(name, source, namespace=namespace, handler=handler,
                                               requirements=requirements, log=progress)
            return Shipped(mode, image)
        runtime_image = options.runtime_image or RUNTIME_IMAGE
        if mode == "configmap":
            return self._configmap(name, source, namespace, handler, requirements, runtime_image, progress)
        assert options.registry is not None
        if mode == "tekton":
            self.require("tekton")
            target = ClusterTarget(options.registry, runtime_image, options.service_account)
            image = self.builds.build_function(name, source, namespace=namespace, handler=handler,
                                               requirements=requirements, target=target, log=progress)
            return Shipped(mode, image)
        from .oci import DEFAULT_BASE, oci_shipping

        image, _ = oci_shipping(name, namespace, source, handler=handler, requirements=requirements,
                                registry=options.registry, base_image=options.base_image or DEFAULT_BASE,
                                insecure=options.insecure_registry, progress=progress)
        return Shipped(mode, image)

    def _configmap(self, name: str, source: str, namespace: str, handler: str | None, requirements: Sequence[str],
                   runtime_image: str, progress: Callable[[str], None] | None) -> Shipped:
        try:
            parts = configmap_parts(name, namespace, source, handler=handler, requirements=requirements)
        except ValueError as e:
            raise KnativeError(str(e), reason="Invalid", hint="fix the cell and run it again") from None
        cm_name = parts.config_map["metadata"]["name"]
        if self.objects.find(self.objects.info("configmaps"), cm_name, namespace) is None:
            try:
                self.objects.create("configmaps", parts.config_map, namespace)
            except KnativeError as e:
                if e.reason != "AlreadyExists":
                    raise
            if progress is not None:
                progress(f"Shipped '{name}' as ConfigMap {cm_name} (immutable), mounted into {runtime_image}")
        elif progress is not None:
            progress(f"Reusing ConfigMap {cm_name}")
        return Shipped("configmap", runtime_image, parts.env, parts.volume, parts.mount)
