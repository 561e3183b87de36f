"""ApiServerSource → its sink URI, the namespaces it watches and its CloudEvent attributes; the watching
runs in the data plane, on the store's own watch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...api.conditions import ConditionManager, ConditionSet
from ..runtime import ObjectKey
from .base import OIDC_DISABLED, KindReconciler
from .context import SOURCES, Scope
from .sink import resolve_sink

CONDITIONS = ConditionSet("Ready", ("SinkProvided", "Deployed", "SufficientPermissions", "OIDCIdentityCreated"))
DEFAULT_APISERVER_URL = "https://kubernetes.default.svc"
REFERENCE_MODE = "Reference"


def event_types(mode: str | None) -> list[str]:
    """In the order Knative lists them: add, delete, update."""
    kind = "resource" if mode == "Resource" else "ref"
    return [f"dev.knative.apiserver.{kind}.{verb}" for verb in ("add", "delete", "update")]


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels, matchExpressions In/NotIn/Exists/DoesNotExist); `{}` matches all."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        ok = {"In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}.get(op, False)
        if not ok:
            return False
    return True


class ApiServerSourceReconciler(KindReconciler):
    group, kind, controller = SOURCES, "ApiServerSource", "apiserversource-controller"
    conditions = CONDITIONS
    apiserver_url = DEFAULT_APISERVER_URL

    def reconcile_kind(self, scope: Scope, source: dict[str, Any], status: dict[str, Any],
                       cm: ConditionManager) -> bool | None:
        spec = source.get("spec") or {}
        cm.mark_true("OIDCIdentityCreated", OIDC_DISABLED)
        if resolve_sink(scope, source, status, cm, self.recorder) is None:
            return None
        status["namespaces"] = self._namespaces(source)
        cm.mark_true("SufficientPermissions")
        status["ceAttributes"] = [{"type": t, "source": self.apiserver_url} for t in event_types(spec.get("mode"))]
        cm.mark_true("Deployed")
        return None

    def _namespaces(self, source: dict[str, Any]) -> list[str]:
        selector = (source.get("spec") or {}).get("namespaceSelector")
        if selector is None:
            return [source["metadata"]["namespace"]]
        entries, _ = self.ctx.store.entries(self.ctx.type("", "Namespace"))
        return sorted(e.obj["metadata"]["name"] for e in entries
                      if selector_matches(selector, e.obj["metadata"].get("labels") or {}))

    def gone(self, key: ObjectKey) -> None:
        self.ctx.plane.set_apiserver_source(key.namespace, key.name, None)

    def reconciled(self, obj: dict[str, Any]) -> None:
        self.ctx.plane.set_apiserver_source(obj["metadata"]["namespace"], obj["metadata"]["name"], obj)
