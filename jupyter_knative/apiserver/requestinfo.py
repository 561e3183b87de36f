"""Parse a Kubernetes API path into what it addresses (as the apiserver's RequestInfoFactory does)."""

from __future__ import annotations

from dataclasses import dataclass

# Subresources of the namespace object itself, not namespaced collections.
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True)
class RequestInfo:
    group: str
    version: str
    namespace: str | None = None  # None: not namespaced in the path (cluster-scoped or all namespaces)
    resource: str = ""
    name: str = ""
    subresource: str = ""

    @property
    def is_collection(self) -> bool:
        return bool(self.resource) and not self.name


def parse_api_path(path: str) -> RequestInfo | None:
    """`/apis/g/v/namespaces/ns/res/name/sub` and `/api/v1/...` forms; None for other paths."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return RequestInfo(group, version)
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    return RequestInfo(group, version, namespace, resource, name, sub)
