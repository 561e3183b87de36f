"""Wiring: the namespace informer feeds the namespace lifecycle controller."""

from __future__ import annotations

from ..runtime import Controller, Manager, ObjectKey, watch_objects
from .reconciler import NAMESPACES, NamespaceReconciler

CONTROLLER_NAME = "namespace-controller"


def new_controller(manager: Manager, *, requeue_after: float = 0.25,
                   workers: int = 1) -> Controller[ObjectKey]:
    """The namespace controller, watching namespaces through the manager's shared informer."""
    reconciler = NamespaceReconciler(manager.store, manager.clock, requeue_after=requeue_after)
    controller: Controller[ObjectKey] = Controller(CONTROLLER_NAME, reconciler.reconcile, workers=workers,
                                                   clock=manager.clock)
    rt = manager.store.registry.by_key(NAMESPACES)
    if rt is None:
        raise LookupError("no Namespace type registered")
    watch_objects(controller, manager.informer(rt))
    return controller
