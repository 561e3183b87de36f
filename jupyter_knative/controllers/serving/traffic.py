"""Route traffic resolution (pure): spec targets → revisions, the AllTrafficAssigned verdict, status
entries and host names — knative/serving's `route/traffic` package, restated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import names
from .config import DEFAULT_DOMAIN, ServingConfig


@dataclass(frozen=True)
class RevisionInfo:
    name: str
    ready: bool
    failed: bool
    service: str = ""  # serving.knative.dev/service label


@dataclass(frozen=True)
class ConfigInfo:
    name: str
    latest_ready: str
    failed: bool  # Ready False


@dataclass(frozen=True)
class Resolved:
    revision: str
    percent: int
    tag: str = ""
    latest: bool = False


@dataclass(frozen=True)
class TrafficError:
    status: str  # False or Unknown
    reason: str
    message: str


def resolve(traffic: Sequence[Mapping[str, Any]], configs: Mapping[str, ConfigInfo],
            revisions: Mapping[str, RevisionInfo], owner_service: str = "",
            ) -> tuple[list[Resolved], TrafficError | None]:
    """Each spec entry as a revision; the first failure wins over the first pending target."""
    resolved: list[Resolved] = []
    failure: TrafficError | None = None
    pending: TrafficError | None = None
    for entry in traffic:
        target, err = _resolve_one(entry, configs, revisions, owner_service)
        if err is not None:
            if err.status == "False":
                failure = failure or err
            else:
                pending = pending or err
            continue
        if target is not None:
            resolved.append(target)
    return resolved, failure or pending


def _resolve_one(entry: Mapping[str, Any], configs: Mapping[str, ConfigInfo],
                 revisions: Mapping[str, RevisionInfo], owner: str) -> tuple[Resolved | None, TrafficError | None]:
    percent, tag = int(entry.get("percent") or 0), entry.get("tag") or ""
    if entry.get("configurationName"):
        name = entry["configurationName"]
        config = configs.get(name)
        if config is None:
            return None, TrafficError("False", "ConfigurationMissing",
                                      f'Configuration "{name}" referenced in traffic not found.')
        if not config.latest_ready:
            if config.failed:
                return None, TrafficError("False", "RevisionMissing",
                                          f'Configuration "{name}" does not have any ready Revision.')
            return None, TrafficError("Unknown", "RevisionMissing",
                                      f'Configuration "{name}" is waiting for a Revision to become ready.')
        return Resolved(config.latest_ready, percent, tag, True), None
    name = entry.get("revisionName") or ""
    rev = revisions.get(name)
    if rev is None:
        return None, TrafficError("False", "RevisionMissing", f'Revision "{name}" referenced in traffic not found.')
    if owner and rev.service != owner:
        message = (f'Revision "{name}" belongs to Service "{rev.service}", not Service "{owner}".' if rev.service
                   else f'Revision "{name}" does not belong to Service "{owner}".')
        return None, TrafficError("False", "RevisionNotOwned", message)
    if rev.failed:
        return None, TrafficError("False", "RevisionMissing", f'Revision "{name}" failed to become ready.')
    if not rev.ready:
        return None, TrafficError("Unknown", "RevisionMissing", f'Revision "{name}" is not yet ready.')
    return Resolved(name, percent, tag, False), None


# --- hosts and URLs -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RouteHosts:
    """Where a route answers: its URL host, tag hosts, and the cluster-local names."""

    name: str
    namespace: str
    domain: str
    config: ServingConfig

    @property
    def cluster_local(self) -> bool:
        return self.domain == DEFAULT_DOMAIN

    def _name(self, tag: str) -> str:
        if not tag:
            return self.name
        return names.render_template(self.config.tag_template, {"Tag": tag, "Name": self.name})

    def host(self, tag: str = "") -> str:
        return names.render_template(self.config.domain_template,
                                     {"Name": self._name(tag), "Namespace": self.namespace, "Domain": self.domain})

    def local_hosts(self, tag: str = "") -> list[str]:
        name = self._name(tag)
        return [f"{name}.{self.namespace}", f"{name}.{self.namespace}.svc",
                names.cluster_local_host(name, self.namespace)]

    def url(self, tag: str = "") -> str:
        return "http://" + self.host(tag)


def status_traffic(resolved: Sequence[Resolved], hosts: RouteHosts) -> list[dict[str, Any]]:
    """`status.traffic`: one entry per spec entry, identical (revision, tag, latest) ones merged."""
    merged: dict[tuple[str, str, bool], dict[str, Any]] = {}
    for t in resolved:
        key = (t.revision, t.tag, t.latest)
        if key in merged:
            merged[key]["percent"] += t.percent
            continue
        entry: dict[str, Any] = {}
        if t.tag:
            entry["tag"] = t.tag
        entry.update({"revisionName": t.revision, "latestRevision": t.latest, "percent": t.percent})
        if t.tag:
            entry["url"] = hosts.url(t.tag)
        merged[key] = entry
    return list(merged.values())


def splits(resolved: Sequence[Resolved]) -> dict[str, int]:
    """Percent per revision for the route's main host (tags included, as Knative does)."""
    out: dict[str, int] = {}
    for t in resolved:
        out[t.revision] = out.get(t.revision, 0) + t.percent
    return out


def tag_targets(resolved: Sequence[Resolved]) -> dict[str, str]:
    return {t.tag: t.revision for t in resolved if t.tag}
