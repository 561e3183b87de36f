"""What a Kubernetes API server offers of Knative and Tekton: the features the backend needs, read from its API
groups (pure), with the message to show when one is missing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FEATURES", "Capability", "Feature", "capabilities", "missing_message"]


@dataclass(frozen=True)
class Feature:
    name: str
    title: str
    groups: tuple[tuple[str, str], ...]  # (API group, the version the project speaks)
    install: str


FEATURES: tuple[Feature, ...] = (
    Feature("serving", "Knative Serving", (("serving.knative.dev", "v1"),),
            "https://knative.dev/docs/install/yaml-install/serving/install-serving-with-yaml/"),
    Feature("eventing", "Knative Eventing", (("eventing.knative.dev", "v1"), ("messaging.knative.dev", "v1"),
                                              ("sources.knative.dev", "v1"), ("flows.knative.dev", "v1")),
            "https://knative.dev/docs/install/yaml-install/eventing/install-eventing-with-yaml/"),
    Feature("tekton", "Tekton Pipelines", (("tekton.dev", "v1"),),
            "https://tekton.dev/docs/installation/pipelines/"),
    Feature("build", "Knative Build (retired upstream; the embedded plane serves it)",
            (("build.knative.dev", "v1alpha1"),), "https://github.com/knative/build (archived)"),
)


@dataclass(frozen=True)
class Capability:
    feature: Feature
    present: bool
    versions: Mapping[str, tuple[str, ...]]  # group -> versions the server serves
    missing: tuple[str, ...]  # "group/version" the project needs and the server lacks

    def to_json(self) -> dict[str, Any]:
        return {"present": self.present, "versions": {g: list(v) for g, v in self.versions.items()},
                "missing": list(self.missing)}


def capabilities(groups: Iterable[Mapping[str, Any]]) -> dict[str, Capability]:
    """From the `groups` of `GET /apis` (an APIGroupList), each feature's presence."""
    served: dict[str, tuple[str, ...]] = {}
    for group in groups:
        name = str(group.get("name") or "")
        served[name] = tuple(str(v.get("version")) for v in group.get("versions") or [] if v.get("version"))
    out: dict[str, Capability] = {}
    for feature in FEATURES:
        versions = {g: served.get(g, ()) for g, _ in feature.groups}
        missing = tuple(f"{g}/{v}" for g, v in feature.groups if v not in served.get(g, ()))
        out[feature.name] = Capability(feature, not missing, versions, missing)
    return out


def missing_message(capability: Capability, server: str) -> str:
    feature = capability.feature
    return (f"{feature.title} is not installed on {server}: the API server does not serve "
            f"{', '.join(capability.missing)}")
