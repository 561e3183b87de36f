"""Every kind the plane serves, in discovery order, and the registry built from them.

    core.py        core/v1 and apps/v1 built-ins, with kube-apiserver's printers
    serving.py     serving.knative.dev and Serving's internal groups
    eventing.py    eventing, messaging, sources and flows
    build.py       build.knative.dev (seed-era Build) and tekton.dev Task/TaskRun
    meta.py        schemas the kinds share
    configmaps.py  the ConfigMaps Knative installs, seeded once
"""

from __future__ import annotations

from ..registry import Registry, ResourceType
from .build import BUILD_TYPES, TEKTON_TYPES
from .configmaps import default_configmaps
from .core import CORE_TYPES
from .eventing import EVENTING_TYPES, FLOW_TYPES, MESSAGING_TYPES, SOURCE_TYPES
from .serving import INTERNAL_TYPES, SERVING_TYPES

ALL_TYPES: tuple[ResourceType, ...] = (
    *CORE_TYPES,
    *SERVING_TYPES,
    *INTERNAL_TYPES,
    *EVENTING_TYPES,
    *MESSAGING_TYPES,
    *SOURCE_TYPES,
    *FLOW_TYPES,
    *BUILD_TYPES,
    *TEKTON_TYPES,
)


def registry() -> Registry:
    return Registry(ALL_TYPES)


__all__ = ["ALL_TYPES", "default_configmaps", "registry"]
