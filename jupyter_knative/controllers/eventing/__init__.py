"""Knative Eventing's controllers on the embedded plane, and their wiring.

    Broker → trigger channel `<broker>-kne-trigger`, ingress address      (broker.py)
    Trigger → Subscription on the broker's channel                         (trigger.py)
    Channel → backing channel; InMemoryChannel → address, subscribers      (channel.py)
    Subscription → entry in the channel's spec.subscribers                 (subscription.py)
    PingSource, ApiServerSource → sink URI, handed to the data plane       (pingsource.py, apiserversource.py)
    SinkBinding → K_SINK / K_CE_OVERRIDES in the subject's pod template    (sinkbinding.py)
    ContainerSource → SinkBinding + Deployment                             (containersource.py)
    Sequence, Parallel → channels + subscriptions                          (sequence.py, parallel.py)
    EventType → Ready when its reference exists                            (eventtype.py)

Destinations resolve through `resolver.py`; what a reconcile read is tracked (`tracker.py`), so a change to
a sink, broker, channel or dependency reconciles its dependents again. After each reconcile the Broker,
Trigger, InMemoryChannel, PingSource and ApiServerSource are handed to the `EventingDataPlane` (`link.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..runtime import Controller, Manager, ObjectKey, watch_mapped, watch_objects
from .apiserversource import ApiServerSourceReconciler
from .base import KindReconciler
from .broker import BrokerReconciler
from .channel import ChannelReconciler, InMemoryChannelReconciler
from .containersource import ContainerSourceReconciler
from .context import EVENTING, MESSAGING, SERVING, SOURCES, Context
from .eventtype import EventTypeReconciler
from .link import EventingDataPlane, NullDataPlane
from .parallel import ParallelReconciler
from .pingsource import PingSourceReconciler
from .resolver import ResolveError, resolve
from .sequence import SequenceReconciler
from .sinkbinding import SinkBindingReconciler, subject_matches
from .subscription import SubscriptionReconciler
from .trigger import TriggerReconciler

RECONCILERS: tuple[type[KindReconciler], ...] = (
    BrokerReconciler, TriggerReconciler, InMemoryChannelReconciler, ChannelReconciler, SubscriptionReconciler,
    PingSourceReconciler, ApiServerSourceReconciler, SinkBindingReconciler, ContainerSourceReconciler,
    SequenceReconciler, ParallelReconciler, EventTypeReconciler,
)
# Kinds whose changes may matter to a dependent (sinks, dependencies, children, configuration).
TRACKED = (
    (SERVING, "Service"), (SERVING, "Route"), ("", "Service"), ("", "ConfigMap"), ("apps", "Deployment"),
)


class Eventing:
    """The eventing controllers, added to a manager, telling `plane` about the objects it serves."""

    def __init__(self, manager: Manager, plane: EventingDataPlane | None = None) -> None:
        self.manager = manager
        self.plane: EventingDataPlane = plane or NullDataPlane()
        self.ctx = Context(manager.store, manager.clock, self.plane)
        self.controllers: dict[str, Controller[ObjectKey]] = {}
        self.reconcilers: dict[str, KindReconciler] = {}
        for cls in RECONCILERS:
            self._add(cls(self.ctx))
        self._watch()

    def _add(self, reconciler: KindReconciler) -> None:
        controller: Controller[ObjectKey] = Controller(reconciler.controller, reconciler.reconcile, workers=2,
                                                       clock=self.manager.clock)
        self.manager.add(controller)
        self.controllers[reconciler.kind] = controller
        self.reconcilers[reconciler.kind] = reconciler
        self.ctx.tracker.register(reconciler.controller, controller.enqueue)

    def controller(self, kind: str) -> Controller[ObjectKey]:
        return self.controllers[kind]

    def _watch(self) -> None:
        m = self.manager
        for kind, reconciler in self.reconcilers.items():
            informer = m.informer(reconciler.rt)
            watch_objects(self.controllers[kind], informer)
            self.ctx.tracker.watch(informer)
        for group, kind in TRACKED:
            rt = m.store.registry.by_kind(group, kind)
            if rt is not None:
                self.ctx.tracker.watch(m.informer(rt))
        bindings = self.controllers["SinkBinding"]
        for group, kind in (("apps", "Deployment"), (SERVING, "Service")):
            rt = m.store.registry.by_kind(group, kind)
            if rt is not None:
                watch_mapped(bindings, m.informer(rt), self._bindings_of)

    def _bindings_of(self, subject: dict[str, Any]) -> Iterable[ObjectKey]:
        """SinkBindings whose subject (by name or selector) is this object."""
        rt = self.reconcilers["SinkBinding"].rt
        ns = subject["metadata"].get("namespace") or ""
        entries, _ = self.ctx.store.entries(rt, ns)
        return [ObjectKey.of(e.obj) for e in entries if subject_matches(e.obj, subject)]


def new_eventing(manager: Manager, plane: EventingDataPlane | None = None) -> Eventing:
    return Eventing(manager, plane)


__all__ = ["EVENTING", "MESSAGING", "SOURCES", "Eventing", "EventingDataPlane", "NullDataPlane", "ResolveError",
           "new_eventing", "resolve"]
