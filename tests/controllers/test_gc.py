"""Garbage collection: background, foreground and orphan cascading, dangling references, on a real Store."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.api.registry import Registry, ResourceType
from jupyter_knative.controllers import default_controllers
from jupyter_knative.controllers.gc import GarbageCollector
from jupyter_knative.controllers.runtime import FakeClock, Manager
from jupyter_knative.store import Store

from .conftest import configmap, kind, ksvc, make_namespace, owner_ref

HOLD = "example.com/hold"


@pytest.fixture
async def plane(store: Store, clock: FakeClock) -> Any:
    manager = default_controllers(store, clock)
    await manager.start()
    yield manager
    await manager.stop()


@pytest.fixture
def cm(reg: Registry) -> ResourceType:
    return kind(reg, "", "ConfigMap")


@pytest.fixture
def svc(reg: Registry) -> ResourceType:
    return kind(reg, "serving.knative.dev", "Service")


def names(store: Store, rt: ResourceType) -> list[str]:
    return [o["metadata"]["name"] for o in store.list(rt, "default")[0]]


async def test_background(store: Store, cm: ResourceType, svc: ResourceType, clock: FakeClock,
                          plane: Manager) -> None:
    owner = store.create(svc, ksvc("hello"))
    store.create(cm, configmap("child", owners=[owner_ref(owner, controller=True)]))
    child = store.must_get(cm, "default", "child")
    store.create(cm, configmap("grandchild", owners=[owner_ref(child)]))
    store.create(cm, configmap("unrelated"))
    await clock.advance(1)
    assert names(store, cm) == ["child", "grandchild", "unrelated"]

    store.delete(svc, "default", "hello")
    await clock.advance(1)
    assert names(store, cm) == ["unrelated"]


async def test_foreground(store: Store, cm: ResourceType, svc: ResourceType, clock: FakeClock,
                          plane: Manager) -> None:
    owner = store.create(svc, ksvc("hello"))
    store.create(cm, configmap("blocking", owners=[owner_ref(owner, block=True)], finalizers=[HOLD]))
    store.create(cm, configmap("free", owners=[owner_ref(owner)]))
    await clock.advance(1)

    store.delete(svc, "default", "hello", propagation="Foreground")
    await clock.advance(1)
    held = store.must_get(svc, "default", "hello")
    assert held["metadata"]["deletionTimestamp"] and held["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert names(store, cm) == ["blocking"], "dependents go first; the blocking one waits on its finalizer"
    assert store.must_get(cm, "default", "blocking")["metadata"]["deletionTimestamp"]

    blocking = store.must_get(cm, "default", "blocking")
    blocking["metadata"]["finalizers"] = []
    store.update(cm, blocking)
    await clock.advance(1)
    assert names(store, cm) == []
    assert store.get(svc, "default", "hello") is None


async def test_foreground_is_recursive(store: Store, cm: ResourceType, svc: ResourceType, clock: FakeClock,
                                       plane: Manager) -> None:
    owner = store.create(svc, ksvc("hello"))
    store.create(cm, configmap("middle", owners=[owner_ref(owner, block=True)]))
    middle = store.must_get(cm, "default", "middle")
    store.create(cm, configmap("leaf", owners=[owner_ref(middle, block=True)], finalizers=[HOLD]))
    await clock.advance(1)

    store.delete(svc, "default", "hello", propagation="Foreground")
    await clock.advance(1)
    assert store.must_get(cm, "default", "middle")["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert store.get(svc, "default", "hello") is not None

    leaf = store.must_get(cm, "default", "leaf")
    leaf["metadata"]["finalizers"] = []
    store.update(cm, leaf)
    await clock.advance(1)
    assert names(store, cm) == [] and store.get(svc, "default", "hello") is None


async def test_foreground_waits_only_for_blocking_dependents(
        store: Store, cm: ResourceType, svc: ResourceType, clock: FakeClock, plane: Manager) -> None:
    owner = store.create(svc, ksvc("hello"))
    store.create(cm, configmap("slow", owners=[owner_ref(owner)], finalizers=[HOLD]))
    await clock.advance(1)
    store.delete(svc, "default", "hello", propagation="Foreground")
    await clock.advance(1)
    assert store.get(svc, "default", "hello") is None, "a non-blocking dependent does not hold its owner"
    assert store.must_get(cm, "default", "slow")["metadata"]["deletionTimestamp"]


async def test_orphan(store: Store, cm: ResourceType, svc: ResourceType, clock: FakeClock,
                      plane: Manager) -> None:
    owner = store.create(svc, ksvc("hello"))
    other = store.create(svc, ksvc("other"))
    store.create(cm, configmap("a", owners=[owner_ref(owner, controller=True, block=True)]))
    store.create(cm, configmap("b", owners=[owner_ref(owner), owner_ref(other)]))
    await clock.advance(1)

    store.delete(svc, "default", "hello", propagation="Orphan")
    await clock.advance(1)
    assert store.get(svc, "default", "hello") is None
    assert names(store, cm) == ["a", "b"]
    assert "ownerReferences" not in store.must_get(cm, "default", "a")["metadata"]
    assert store.must_get(cm, "default", "b")["metadata"]["ownerReferences"] == [owner_ref(other)]


async def test_owner_held_by_a_finalizer_keeps_its_dependents(
        store: Store, cm: ResourceType, svc: ResourceType, clock: FakeClock, plane: Manager) -> None:
    owner = store.create(svc, ksvc("hello", finalizers=[HOLD]))
    store.create(cm, configmap("child", owners=[owner_ref(owner)]))
    store.delete(svc, "default", "hello")
    await clock.advance(1)
    assert names(store, cm) == ["child"], "a background delete waits until the owner is really gone"
    owner = store.must_get(svc, "default", "hello")
    owner["metadata"]["finalizers"] = []
    store.update(svc, owner)
    await clock.advance(1)
    assert names(store, cm) == []


async def test_partial_owners_drop_the_dangling_reference(store: Store, cm: ResourceType, svc: ResourceType,
                                                          clock: FakeClock, plane: Manager) -> None:
    gone = store.create(svc, ksvc("gone"))
    kept = store.create(svc, ksvc("kept"))
    store.create(cm, configmap("shared", owners=[owner_ref(gone), owner_ref(kept, controller=True)]))
    await clock.advance(1)
    store.delete(svc, "default", "gone")
    await clock.advance(1)
    shared = store.must_get(cm, "default", "shared")
    assert shared["metadata"]["ownerReferences"] == [owner_ref(kept, controller=True)]


async def test_dependent_of_a_foreground_owner_with_another_owner_is_kept(
        store: Store, cm: ResourceType, svc: ResourceType, clock: FakeClock, plane: Manager) -> None:
    leaving = store.create(svc, ksvc("leaving"))
    staying = store.create(svc, ksvc("staying"))
    store.create(cm, configmap("shared", owners=[owner_ref(leaving, block=True), owner_ref(staying)]))
    await clock.advance(1)
    store.delete(svc, "default", "leaving", propagation="Foreground")
    await clock.advance(1)
    assert store.get(svc, "default", "leaving") is None
    assert store.must_get(cm, "default", "shared")["metadata"]["ownerReferences"] == [owner_ref(staying)]


@pytest.mark.parametrize("ref_change", [
    pytest.param({"uid": "00000000-0000-0000-0000-000000000000"}, id="unknown-uid"),
    pytest.param({"name": "someone-else"}, id="coordinates-mismatch"),
])
async def test_dependent_created_with_absent_owner_is_collected(
        store: Store, cm: ResourceType, svc: ResourceType, clock: FakeClock, plane: Manager,
        ref_change: dict[str, str]) -> None:
    owner = store.create(svc, ksvc("hello"))
    store.create(cm, configmap("orphaned", owners=[{**owner_ref(owner), **ref_change}]))
    await clock.advance(1)
    assert names(store, cm) == []
    assert store.get(svc, "default", "hello") is not None


async def test_owner_of_an_unknown_kind_is_not_assumed_absent(
        store: Store, cm: ResourceType, clock: FakeClock, plane: Manager) -> None:
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "1234"}
    store.create(cm, configmap("kept", owners=[ref]))
    await clock.advance(1)
    assert names(store, cm) == ["kept"]


async def test_existing_garbage_is_collected_at_start(store: Store, cm: ResourceType, svc: ResourceType,
                                                      clock: FakeClock) -> None:
    owner = store.create(svc, ksvc("hello"))
    store.create(cm, configmap("child", owners=[owner_ref(owner)]))
    store.delete(svc, "default", "hello")
    manager = default_controllers(store, clock)
    async with manager:
        await clock.advance(1)
        assert names(store, cm) == []


async def test_resync_after_gone(reg: Registry, clock: FakeClock) -> None:
    store = Store(reg, clock=clock.now, history=2)
    make_namespace(store, reg, "default")
    cm, svc = kind(reg, "", "ConfigMap"), kind(reg, "serving.knative.dev", "Service")
    manager = Manager(store, clock)
    gc = GarbageCollector(store, clock)
    gc.register(manager)
    async with manager:
        owner = store.create(svc, ksvc("hello"))
        store.create(cm, configmap("child", owners=[owner_ref(owner)]))
        await clock.advance(1)
        assert gc.resyncs == 1
        # Stop the graph builder's watch, then change more than the history holds: it must list again
        # and notice the owner vanished while it was not looking.
        for watch in list(store._watches):
            if watch.type_key is None:
                watch.close()
        store.delete(svc, "default", "hello")
        for i in range(3):
            store.create(cm, configmap(f"noise{i}"))
        await clock.advance(1)
        assert gc.resyncs == 2
        assert names(store, cm) == ["noise0", "noise1", "noise2"]
