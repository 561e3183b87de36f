"""Knative Serving's controllers on the embedded plane, and their wiring.

    Service → Configuration + Route      (service.py)
    Configuration → Revision             (configuration.py)
    Revision → Deployment + PA + Image   (revision.py)
    Route → Ingress, routing state       (route.py)
    Ingress → the data plane's routes    (kingress.py)
    PodAutoscaler → Deployment replicas  (podautoscaler.py)
    Deployment → Pods → replicas         (../replicaset)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ...dataplane.metrics import RevisionStats
from ...dataplane.routing import RevisionKey, RouteTable
from ..replicaset import ReplicaRuntime, ReplicaSetController
from ..replicaset.controller import ImageResolver
from ..runtime import Controller, Manager, ObjectKey, watch_mapped, watch_objects, watch_owned
from . import resources
from .configuration import ConfigurationReconciler
from .context import Context
from .kingress import IngressReconciler
from .kpa import KPA
from .revision import RevisionReconciler
from .route import RouteReconciler, _routes
from .service import ServiceReconciler

SERVING = "serving.knative.dev"


class DataPlane(Protocol):
    """What the controllers tell the data plane (the ingress satisfies it)."""

    def set_routes(self, table: RouteTable) -> None: ...

    def set_revision_settings(self, key: RevisionKey, spec: dict[str, Any] | None,
                              labels: Mapping[str, str] | None = None) -> None: ...

    def set_endpoints(self, key: RevisionKey, endpoints: list[tuple[str, int]]) -> None: ...

    def snapshot(self) -> dict[RevisionKey, RevisionStats]: ...


class Serving:
    """The serving controllers, added to a manager; `activate` is the data plane's scale-from-zero poke."""

    def __init__(self, manager: Manager, dataplane: DataPlane, runtime: ReplicaRuntime,
                 resolve_image: ImageResolver) -> None:
        self.manager = manager
        self.ctx = ctx = Context.create(manager.store, manager.clock)
        self.dataplane = dataplane

        def controller(name: str, reconcile: Any, workers: int = 2) -> Controller[ObjectKey]:
            c: Controller[ObjectKey] = Controller(name, reconcile, workers=workers, clock=manager.clock)
            manager.add(c)
            return c

        self.services = controller("service-controller", ServiceReconciler(ctx).reconcile)
        self.configurations = controller("configuration-controller", ConfigurationReconciler(ctx).reconcile)
        self.revision_reconciler = RevisionReconciler(ctx, resolve_image, self._revision_settings)
        self.revisions = controller("revision-controller", self.revision_reconciler.reconcile, workers=4)
        self.routes = controller("route-controller", RouteReconciler(ctx).reconcile)
        self.ingresses = controller("ingress-controller", IngressReconciler(ctx, dataplane.set_routes).reconcile)
        self.replicasets = ReplicaSetController(manager.store, manager.clock, runtime, resolve_image,
                                                dataplane.set_endpoints)
        self.kpa = KPA(ctx, dataplane.snapshot, self._enqueue_autoscaler, self.replicasets.usage)
        self.autoscalers = controller("podautoscaler-controller", self.kpa.reconcile, workers=4)
        manager.add_runnable("autoscaler", self.kpa.run)
        self.replicasets.register(manager)
        self._watch()

    def _enqueue_autoscaler(self, key: ObjectKey) -> None:
        self.autoscalers.enqueue(key)

    def activate(self, key: RevisionKey) -> None:
        """The ingress's scale-from-zero poke for a revision with requests waiting."""
        self.kpa.poke(ObjectKey(key.namespace, key.name))

    def _revision_settings(self, key: RevisionKey, spec: dict[str, Any] | None,
                           labels: Mapping[str, str] | None = None) -> None:
        self.dataplane.set_revision_settings(key, spec, labels)

    def _watch(self) -> None:
        m, t = self.manager, self.ctx.types
        svc, cfg, rev, route = (m.informer(t.service), m.informer(t.configuration), m.informer(t.revision),
                                m.informer(t.route))
        watch_objects(self.services, svc)
        watch_owned(self.services, cfg, SERVING, "Service")
        watch_owned(self.services, route, SERVING, "Service")
        watch_objects(self.configurations, cfg)
        watch_owned(self.configurations, rev, SERVING, "Configuration")
        watch_objects(self.revisions, rev)
        for child in (t.deployment, t.podautoscaler, t.image):
            watch_owned(self.revisions, m.informer(child), *_group_kind("Revision"))
        watch_mapped(self.revisions, m.informer(t.pod), _pod_revision)
        watch_objects(self.routes, route)
        watch_owned(self.routes, m.informer(t.ingress), SERVING, "Route")
        watch_mapped(self.routes, cfg, lambda o: self._routes_of(o, route))
        watch_mapped(self.routes, rev, lambda o: self._routes_of(o, route))
        watch_objects(self.ingresses, m.informer(t.ingress))
        watch_objects(self.autoscalers, m.informer(t.podautoscaler))
        watch_mapped(self.autoscalers, m.informer(t.podautoscaler), self._track)
        watch_mapped(self.autoscalers, m.informer(t.deployment), _deployment_revision)
        watch_mapped(self.revisions, m.informer(t.configmap, "knative-serving"), self._config_changed)

    def _track(self, pa: dict[str, Any]) -> Iterable[ObjectKey]:
        self.kpa.track(ObjectKey.of(pa))
        return []

    def _routes_of(self, obj: dict[str, Any], informer: Any) -> Iterable[ObjectKey]:
        """Routes that may route to this configuration or revision: those naming it, and its service's."""
        meta = obj["metadata"]
        ns, name = meta["namespace"], meta["name"]
        keys = {ObjectKey(ns, r) for r in _routes(obj)}
        service = (meta.get("labels") or {}).get(resources.SERVICE_LABEL)
        if service:
            keys.add(ObjectKey(ns, service))
        for r in informer.list(ns):
            if any(e.get("configurationName") == name or e.get("revisionName") == name
                   for e in (r.get("spec") or {}).get("traffic") or []):
                keys.add(ObjectKey(ns, r["metadata"]["name"]))
        return keys

    def _config_changed(self, _cm: dict[str, Any]) -> Iterable[ObjectKey]:
        """knative-serving's ConfigMaps changed: re-read them, then re-reconcile what depends on them."""
        self.ctx.config_changed()
        t = self.ctx.types
        for rt, controller in ((t.route, self.routes), (t.podautoscaler, self.autoscalers)):
            entries, _ = self.ctx.store.entries(rt)
            for e in entries:
                controller.enqueue(ObjectKey.of(e.obj))
        entries, _ = self.ctx.store.entries(t.revision)
        return [ObjectKey.of(e.obj) for e in entries]


def _group_kind(kind: str) -> tuple[str, str]:
    return SERVING, kind


def _pod_revision(pod: dict[str, Any]) -> Iterable[ObjectKey]:
    rev = (pod["metadata"].get("labels") or {}).get(resources.REVISION_LABEL)
    return [ObjectKey(pod["metadata"]["namespace"], rev)] if rev else []


def _deployment_revision(dep: dict[str, Any]) -> Iterable[ObjectKey]:
    return _pod_revision(dep)


__all__ = ["DataPlane", "ImageResolver", "Serving"]
