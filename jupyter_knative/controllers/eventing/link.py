"""What the eventing controllers tell the eventing data plane: the current object, or None once it is gone.

The data plane reads only the fields Knative's dispatchers read (see the plan); the controllers call these
after every reconcile, so the plane is level-triggered too: a repeated call with the same object is a no-op
for it.
"""

from __future__ import annotations

from typing import Any, Protocol


class EventingDataPlane(Protocol):
    def set_broker(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None: ...

    def set_trigger(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None: ...

    def set_channel(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None: ...  # InMemoryChannel

    def set_ping_source(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None: ...

    def set_apiserver_source(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None: ...


class NullDataPlane:
    """The plane used when none is attached: the controllers still reconcile, nothing carries events."""

    def set_broker(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        pass

    def set_trigger(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        pass

    def set_channel(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        pass

    def set_ping_source(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        pass

    def set_apiserver_source(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        pass
