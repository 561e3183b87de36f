"""Discovery documents: aggregated (v2) and legacy, built once from the registry."""

from __future__ import annotations

from typing import Any

import orjson

from .._version import __version__
from ..api.registry import Registry, ResourceType, Version
from .scale import SCALE_KIND

KUBE_VERSION = (1, 37, 0)

_SUBRESOURCE_VERBS = {"status": ["get", "patch", "update"], "scale": ["get", "patch", "update"],
                      "finalize": ["update"], "log": ["get"]}


def version_info() -> dict[str, Any]:
    major, minor, patch = KUBE_VERSION
    return {"major": str(major), "minor": str(minor),
            "gitVersion": f"v{major}.{minor}.{patch}+jupyter-knative.{__version__}",
            "gitCommit": "", "gitTreeState": "clean", "buildDate": "", "goVersion": "",
            "compiler": "cpython", "platform": "linux/amd64",
            "emulationMajor": str(major), "emulationMinor": str(minor)}


def _gvk(rt: ResourceType, v: Version) -> dict[str, str]:
    return {"group": rt.group, "version": v.name, "kind": rt.kind}


def _aggregated_resource(rt: ResourceType, v: Version) -> dict[str, Any]:
    res: dict[str, Any] = {"resource": rt.plural, "responseKind": _gvk(rt, v),
                           "scope": "Namespaced" if rt.namespaced else "Cluster",
                           "singularResource": rt.singular_name, "verbs": list(rt.verbs)}
    if rt.short_names:
        res["shortNames"] = list(rt.short_names)
    if rt.categories:
        res["categories"] = list(rt.categories)
    if rt.subresources:
        res["subresources"] = [{"subresource": s, "responseKind": SCALE_KIND if s == "scale" else _gvk(rt, v),
                                "verbs": _SUBRESOURCE_VERBS[s]} for s in rt.subresources]
    return res


def _legacy_resources(rt: ResourceType, v: Version) -> list[dict[str, Any]]:
    res: dict[str, Any] = {"name": rt.plural, "singularName": rt.singular_name, "namespaced": rt.namespaced,
                           "kind": rt.kind, "verbs": list(rt.verbs)}
    if rt.group:
        res["group"], res["version"] = rt.group, v.name
    if rt.short_names:
        res["shortNames"] = list(rt.short_names)
    if rt.categories:
        res["categories"] = list(rt.categories)
    subs: list[dict[str, Any]] = [
        {"name": f"{rt.plural}/{s}", "singularName": "", "namespaced": rt.namespaced, "kind": rt.kind,
         "verbs": _SUBRESOURCE_VERBS[s], **(SCALE_KIND if s == "scale" else {})} for s in rt.subresources]
    return [res, *subs]


class Discovery:
    """Pre-rendered discovery bodies; the registry is fixed for the daemon's life."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        groups = registry.groups()
        core = [g for g in groups if g[0] == ""]
        named = [g for g in groups if g[0] != ""]
        self.api_aggregated = orjson.dumps(self._aggregated(core))
        self.apis_aggregated = orjson.dumps(self._aggregated(named))
        self.api_legacy = orjson.dumps({"kind": "APIVersions", "versions": [v for _, vs in core for v in vs],
                                        "serverAddressByClientCIDRs": None})
        self.apis_legacy = orjson.dumps({"kind": "APIGroupList", "apiVersion": "v1",
                                         "groups": [self._group(g, vs) for g, vs in named]})
        self._groups = {g: orjson.dumps(self._group(g, vs)) for g, vs in named}
        self._resource_lists = {(g, v): orjson.dumps(self._resource_list(g, v)) for g, vs in groups for v in vs}
        self.version = orjson.dumps(version_info())

    def group(self, name: str) -> bytes | None:
        return self._groups.get(name)

    def resource_list(self, group: str, version: str) -> bytes | None:
        return self._resource_lists.get((group, version))

    def _aggregated(self, groups: list[tuple[str, list[str]]]) -> dict[str, Any]:
        items = []
        for group, versions in groups:
            items.append({"metadata": {"name": group}, "versions": [
                {"version": v, "freshness": "Current",
                 "resources": [_aggregated_resource(rt, ver) for rt, ver in self.registry.in_group_version(group, v)]}
                for v in versions]})
        return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
                "items": items}

    @staticmethod
    def _group(group: str, versions: list[str]) -> dict[str, Any]:
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": gvs, "preferredVersion": gvs[0]}

    def _resource_list(self, group: str, version: str) -> dict[str, Any]:
        resources = [r for rt, v in self.registry.in_group_version(group, version) for r in _legacy_resources(rt, v)]
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": resources}
