"""What every serving reconciler shares: the store, resolved types, the clock, events, configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...api.registry import Registry, ResourceType
from ...store import Store
from ..runtime import Clock, EventRecorder
from . import config as serving_config


def _type(reg: Registry, group: str, kind: str) -> ResourceType:
    rt = reg.by_kind(group, kind)
    if rt is None:
        raise LookupError(f"{kind}.{group} is not registered")
    return rt


@dataclass(frozen=True)
class Types:
    service: ResourceType
    configuration: ResourceType
    revision: ResourceType
    route: ResourceType
    podautoscaler: ResourceType
    ingress: ResourceType
    image: ResourceType
    deployment: ResourceType
    pod: ResourceType
    configmap: ResourceType

    @classmethod
    def of(cls, reg: Registry) -> Types:
        s = "serving.knative.dev"
        return cls(service=_type(reg, s, "Service"), configuration=_type(reg, s, "Configuration"),
                   revision=_type(reg, s, "Revision"), route=_type(reg, s, "Route"),
                   podautoscaler=_type(reg, "autoscaling.internal.knative.dev", "PodAutoscaler"),
                   ingress=_type(reg, "networking.internal.knative.dev", "Ingress"),
                   image=_type(reg, "caching.internal.knative.dev", "Image"),
                   deployment=_type(reg, "apps", "Deployment"), pod=_type(reg, "", "Pod"),
                   configmap=_type(reg, "", "ConfigMap"))


@dataclass
class Context:
    store: Store
    clock: Clock
    types: Types
    _config: serving_config.ServingConfig | None = field(default=None, repr=False)

    @classmethod
    def create(cls, store: Store, clock: Clock) -> Context:
        return cls(store, clock, Types.of(store.registry))

    def recorder(self, component: str) -> EventRecorder:
        return EventRecorder(self.store, component, self.clock)

    @property
    def config(self) -> serving_config.ServingConfig:
        """knative-serving's ConfigMaps, parsed once and re-read after any of them changes."""
        if self._config is None:
            self._config = serving_config.load(self.store.config)
        return self._config

    def config_changed(self) -> None:
        self._config = None

    def now(self) -> float:
        return self.clock.now()

    def list_labelled(self, rt: ResourceType, namespace: str, key: str, value: str) -> list[dict[str, Any]]:
        entries, _ = self.store.entries(rt, namespace, lambda o: (o["metadata"].get("labels") or {}).get(key) == value)
        return [e.obj for e in entries]
