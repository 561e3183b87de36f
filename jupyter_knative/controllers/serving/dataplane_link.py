"""The serving controllers' view of the ingress (the `DataPlane` they drive)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...dataplane import Endpoint, Ingress, RevisionKey, RevisionSettings, RevisionStats, RouteTable

LOOPBACK = "127.0.0.1"


class IngressLink:
    def __init__(self, ingress: Ingress) -> None:
        self.ingress = ingress

    def set_routes(self, table: RouteTable) -> None:
        self.ingress.set_routes(table)

    def set_revision_settings(self, key: RevisionKey, spec: dict[str, Any] | None,
                              labels: Mapping[str, str] | None = None) -> None:
        if spec is None:
            self.ingress.remove_revision(key)
            return
        labels = labels or {}
        self.ingress.set_revision(key, RevisionSettings(
            container_concurrency=int(spec.get("containerConcurrency") or 0),
            timeout_seconds=float(spec.get("timeoutSeconds") or 300),
            response_start_timeout_seconds=_optional(spec.get("responseStartTimeoutSeconds")),
            idle_timeout_seconds=_optional(spec.get("idleTimeoutSeconds")),
            service_name=labels.get("serving.knative.dev/service", ""),
            configuration_name=labels.get("serving.knative.dev/configuration", "")))

    def set_endpoints(self, key: RevisionKey, endpoints: list[tuple[str, int]]) -> None:
        self.ingress.set_endpoints(key, [Endpoint(LOOPBACK, port, name) for name, port in endpoints])

    def snapshot(self) -> dict[RevisionKey, RevisionStats]:
        return self.ingress.snapshot()


def _optional(value: Any) -> float | None:
    return float(value) if value else None
