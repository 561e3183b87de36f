"""Controller tests run on a FakeClock over a real in-memory Store: no sleeps, no sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from jupyter_knative.api.kinds import registry
from jupyter_knative.api.registry import Registry, ResourceType
from jupyter_knative.controllers.runtime import FakeClock, Manager
from jupyter_knative.store import Store

START = 1_800_000_000.0  # 2027-01-15T08:00:00Z


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def reg() -> Registry:
    return registry()


@pytest.fixture
def store(reg: Registry, clock: FakeClock) -> Iterator[Store]:
    s = Store(reg, clock=clock.now)
    make_namespace(s, reg, "default")
    yield s
    s.close()


@pytest.fixture
async def manager(store: Store, clock: FakeClock) -> AsyncIterator[Manager]:
    m = Manager(store, clock)
    yield m
    await m.stop()


def make_namespace(store: Store, reg: Registry, name: str) -> dict[str, Any]:
    """Create a namespace carrying the `kubernetes` finalizer, as the apiserver's admission sets it."""
    return store.create(kind(reg, "", "Namespace"), {"metadata": {"name": name},
                                                      "spec": {"finalizers": ["kubernetes"]}})


def kind(reg: Registry, group: str, name: str) -> ResourceType:
    rt = reg.by_kind(group, name)
    assert rt is not None, f"{group}/{name} not registered"
    return rt


async def eventually(check: Callable[[], bool], *, turns: int = 2000) -> None:
    """Let the loop turn until `check()` holds (no real time passes)."""
    for _ in range(turns):
        if check():
            return
        await asyncio.sleep(0)
    assert check(), "condition not reached"


# --- builders -------------------------------------------------------------------------------------


def configmap(name: str, ns: str = "default", *, finalizers: list[str] | None = None,
              owners: list[dict[str, Any]] | None = None,
              data: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if finalizers:
        meta["finalizers"] = finalizers
    if owners:
        meta["ownerReferences"] = owners
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {}}


def ksvc(name: str, ns: str = "default", *, finalizers: list[str] | None = None,
         owners: list[dict[str, Any]] | None = None,
         image: str = "ghcr.io/knative/helloworld-go") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if finalizers:
        meta["finalizers"] = finalizers
    if owners:
        meta["ownerReferences"] = owners
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": meta,
            "spec": {"template": {"spec": {"containers": [{"image": image}]}}}}


def owner_ref(owner: dict[str, Any], *, controller: bool = False, block: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                           "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}
    if controller:
        ref["controller"] = True
    if block:
        ref["blockOwnerDeletion"] = True
    return ref
