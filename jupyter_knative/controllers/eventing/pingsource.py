"""PingSource → its sink URI and CloudEvent attributes; the schedule itself runs in the data plane."""

from __future__ import annotations

from typing import Any

from ...api.conditions import ConditionManager, ConditionSet
from ..runtime import ObjectKey
from .base import OIDC_DISABLED, KindReconciler
from .context import SOURCES, Scope
from .sink import resolve_sink

CONDITIONS = ConditionSet("Ready", ("SinkProvided", "Deployed", "OIDCIdentityCreated"))
PING_EVENT_TYPE = "dev.knative.sources.ping"


def ping_source_uri(namespace: str, name: str) -> str:
    return f"/apis/v1/namespaces/{namespace}/pingsources/{name}"


class PingSourceReconciler(KindReconciler):
    group, kind, controller = SOURCES, "PingSource", "pingsource-controller"
    conditions = CONDITIONS

    def reconcile_kind(self, scope: Scope, source: dict[str, Any], status: dict[str, Any],
                       cm: ConditionManager) -> bool | None:
        ns, name = source["metadata"]["namespace"], source["metadata"]["name"]
        cm.mark_true("OIDCIdentityCreated", OIDC_DISABLED)
        status["ceAttributes"] = [{"type": PING_EVENT_TYPE, "source": ping_source_uri(ns, name)}]
        if resolve_sink(scope, source, status, cm, self.recorder) is None:
            return None
        # The adapter is the daemon's data plane, which gets the source right after this status is written.
        cm.mark_true("Deployed")
        return None

    def gone(self, key: ObjectKey) -> None:
        self.ctx.plane.set_ping_source(key.namespace, key.name, None)

    def reconciled(self, obj: dict[str, Any]) -> None:
        self.ctx.plane.set_ping_source(obj["metadata"]["namespace"], obj["metadata"]["name"], obj)
