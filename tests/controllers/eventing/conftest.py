"""Eventing controllers on a FakeClock over a real, seeded Store, with a data plane that records calls."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from jupyter_knative.api.kinds import registry
from jupyter_knative.api.registry import ResourceType
from jupyter_knative.apiserver.seed import seed
from jupyter_knative.controllers.eventing import Eventing, new_eventing
from jupyter_knative.controllers.runtime import FakeClock, Manager
from jupyter_knative.store import Store
from tests.controllers.conftest import START, eventually

EVENTING_V1 = "eventing.knative.dev/v1"
MESSAGING_V1 = "messaging.knative.dev/v1"
SOURCES_V1 = "sources.knative.dev/v1"
FLOWS_V1 = "flows.knative.dev/v1"


@dataclass
class RecordingPlane:
    """The latest object handed over per (kind, namespace, name), and every call in order."""

    objects: dict[tuple[str, str, str], dict[str, Any] | None] = field(default_factory=dict)
    calls: list[tuple[str, str, str, bool]] = field(default_factory=list)

    def _set(self, kind: str, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        self.objects[(kind, namespace, name)] = obj
        self.calls.append((kind, namespace, name, obj is not None))

    def set_broker(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        self._set("Broker", namespace, name, obj)

    def set_trigger(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        self._set("Trigger", namespace, name, obj)

    def set_channel(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        self._set("InMemoryChannel", namespace, name, obj)

    def set_ping_source(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        self._set("PingSource", namespace, name, obj)

    def set_apiserver_source(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        self._set("ApiServerSource", namespace, name, obj)


@dataclass
class Env:
    store: Store
    clock: FakeClock
    plane: RecordingPlane
    eventing: Eventing

    def rt(self, api_version: str, kind: str) -> ResourceType:
        rt = self.store.registry.by_kind(api_version.rpartition("/")[0], kind)
        assert rt is not None
        return rt

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        obj.setdefault("metadata", {}).setdefault("namespace", "default")
        return self.store.create(self.rt(obj["apiVersion"], obj["kind"]), obj)

    def get(self, api_version: str, kind: str, name: str, ns: str = "default") -> dict[str, Any] | None:
        return self.store.get(self.rt(api_version, kind), ns, name)

    def must(self, api_version: str, kind: str, name: str, ns: str = "default") -> dict[str, Any]:
        obj = self.get(api_version, kind, name, ns)
        assert obj is not None, f"{kind} {ns}/{name} does not exist"
        return obj

    def update(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self.store.update(self.rt(obj["apiVersion"], obj["kind"]), obj)

    def delete(self, api_version: str, kind: str, name: str, ns: str = "default") -> None:
        self.store.delete(self.rt(api_version, kind), ns, name)

    def handed(self, kind: str, name: str, ns: str = "default") -> dict[str, Any]:
        """The object last handed to the data plane (it must not have been withdrawn)."""
        obj = self.plane.objects.get((kind, ns, name))
        assert obj is not None, f"{kind} {ns}/{name} is not in the data plane"
        return obj

    async def until(self, check: Callable[[], Any]) -> None:
        await eventually(lambda: bool(check()), turns=5000)

    async def settle(self) -> None:
        await self.clock.advance(0)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    clock = FakeClock(START)
    store = Store(registry(), clock=clock.now)
    seed(store)
    manager = Manager(store, clock)
    plane = RecordingPlane()
    eventing = new_eventing(manager, plane)
    await manager.start()
    yield Env(store, clock, plane, eventing)
    await manager.stop()
    store.close()


# --- builders -------------------------------------------------------------------------------------


def cond(obj: dict[str, Any] | None, type_: str = "Ready") -> dict[str, Any]:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return dict(c)
    return {}


def status_of(obj: dict[str, Any] | None, type_: str = "Ready") -> str:
    return str(cond(obj, type_).get("status", ""))


def broker(name: str = "default", *, delivery: dict[str, Any] | None = None,
           cls: str = "MTChannelBasedBroker") -> dict[str, Any]:
    spec: dict[str, Any] = {"config": {"apiVersion": "v1", "kind": "ConfigMap", "name": "config-br-default-channel",
                                       "namespace": "knative-eventing"}}
    if delivery is not None:
        spec["delivery"] = delivery
    return {"apiVersion": EVENTING_V1, "kind": "Broker",
            "metadata": {"name": name, "annotations": {"eventing.knative.dev/broker.class": cls}}, "spec": spec}


def trigger(name: str, broker_name: str = "default", *, subscriber: dict[str, Any] | None = None,
            delivery: dict[str, Any] | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"broker": broker_name, "subscriber": subscriber or {"uri": "http://sink.example.com"}}
    if delivery is not None:
        spec["delivery"] = delivery
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": EVENTING_V1, "kind": "Trigger", "metadata": meta, "spec": spec}


def imc(name: str, *, delivery: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiVersion": MESSAGING_V1, "kind": "InMemoryChannel", "metadata": {"name": name},
            "spec": {"delivery": delivery} if delivery else {}}


def subscription(name: str, channel: str, *, kind: str = "InMemoryChannel", subscriber: dict[str, Any] | None = None,
                 reply: dict[str, Any] | None = None, delivery: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"channel": {"apiVersion": MESSAGING_V1, "kind": kind, "name": channel},
                            "subscriber": subscriber or {"uri": "http://sub.example.com"}}
    if reply:
        spec["reply"] = reply
    if delivery:
        spec["delivery"] = delivery
    return {"apiVersion": MESSAGING_V1, "kind": "Subscription", "metadata": {"name": name}, "spec": spec}


def ksvc(name: str, *, url: str | None = None) -> dict[str, Any]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"template": {"spec": {"containers": [{"image": "ghcr.io/knative/helloworld-go"}]}}}}


def ref(api_version: str, kind: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"ref": {"apiVersion": api_version, "kind": kind, "name": name, **extra}}
