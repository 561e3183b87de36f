"""Level-triggered controllers over the store, on the shared runtime in `controllers.runtime`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .gc import EventTTL, new_garbage_collector
from .namespace import new_controller as new_namespace_controller
from .runtime import Clock, Manager, RealClock

if TYPE_CHECKING:
    from ..store import Store


def default_controllers(store: Store, clock: Clock | None = None) -> Manager:
    """A manager with the namespace lifecycle controller, the garbage collector and the event TTL added
    (not started)."""
    manager = Manager(store, clock or RealClock())
    if store.registry.by_key("core/namespaces") is not None:
        manager.add(new_namespace_controller(manager))
    new_garbage_collector(manager)
    EventTTL(store, manager.clock).register(manager)
    return manager


__all__ = ["default_controllers"]
