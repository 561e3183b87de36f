"""Informer: initial list, watch events to handlers, and relist after `410 Gone`."""

from __future__ import annotations

from typing import Any

from jupyter_knative.api.registry import Registry
from jupyter_knative.controllers.runtime import FakeClock, Informer, settle
from jupyter_knative.store import Store

from .conftest import configmap, eventually, kind, make_namespace


class Recorder:
    def __init__(self, informer: Informer) -> None:
        self.events: list[tuple[str, str, str | None]] = []
        informer.add_handler(self.add, self.update, self.delete)

    def add(self, obj: dict[str, Any]) -> None:
        self.events.append(("add", obj["metadata"]["name"], obj.get("data", {}).get("v")))

    def update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.events.append(("update", new["metadata"]["name"], new.get("data", {}).get("v")))

    def delete(self, obj: dict[str, Any]) -> None:
        self.events.append(("delete", obj["metadata"]["name"], None))


async def test_initial_list_then_watch(store: Store, reg: Registry, clock: FakeClock) -> None:
    cm = kind(reg, "", "ConfigMap")
    store.create(cm, configmap("one", data={"v": "1"}))
    informer = Informer(store, cm, clock=clock)
    seen = Recorder(informer)
    informer.start()
    await informer.wait_synced()
    assert informer.has_synced and seen.events == [("add", "one", "1")]
    assert (informer.get("default", "one") or {})["data"] == {"v": "1"}

    store.create(cm, configmap("two", data={"v": "2"}))
    obj = store.must_get(cm, "default", "one")
    obj["data"] = {"v": "1b"}
    store.update(cm, obj)
    store.delete(cm, "default", "two")
    await eventually(lambda: len(seen.events) == 4)
    assert seen.events[1:] == [("add", "two", "2"), ("update", "one", "1b"), ("delete", "two", None)]
    assert [o["metadata"]["name"] for o in informer.list()] == ["one"]
    assert informer.get("default", "two") is None
    await informer.stop()


async def test_namespace_scoped(store: Store, reg: Registry, clock: FakeClock) -> None:
    cm = kind(reg, "", "ConfigMap")
    make_namespace(store, reg, "other")
    informer = Informer(store, cm, "other", clock=clock)
    seen = Recorder(informer)
    informer.start()
    await informer.wait_synced()
    store.create(cm, configmap("a", "default"))
    store.create(cm, configmap("b", "other"))
    await eventually(lambda: len(seen.events) == 1)
    await settle()
    assert seen.events == [("add", "b", None)]
    assert informer.list("other") == informer.list() and len(informer) == 1
    await informer.stop()


async def test_handler_added_after_sync_sees_the_cache(store: Store, reg: Registry, clock: FakeClock) -> None:
    cm = kind(reg, "", "ConfigMap")
    store.create(cm, configmap("a"))
    informer = Informer(store, cm, clock=clock)
    informer.start()
    await informer.wait_synced()
    late = Recorder(informer)
    assert late.events == [("add", "a", None)]
    await informer.stop()


async def test_failing_handler_does_not_stop_the_informer(store: Store, reg: Registry,
                                                          clock: FakeClock) -> None:
    cm = kind(reg, "", "ConfigMap")
    informer = Informer(store, cm, clock=clock)

    def boom(obj: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    informer.add_handler(on_add=boom)
    seen = Recorder(informer)
    informer.start()
    await informer.wait_synced()
    store.create(cm, configmap("a"))
    await eventually(lambda: seen.events == [("add", "a", None)])
    await informer.stop()


async def test_relist_after_gone_synthesizes_deletes_and_updates(reg: Registry, clock: FakeClock) -> None:
    store = Store(reg, clock=clock.now, history=3)
    make_namespace(store, reg, "default")
    cm = kind(reg, "", "ConfigMap")
    for name in ("keep", "change", "drop"):
        store.create(cm, configmap(name, data={"v": "0"}))
    informer = Informer(store, cm, clock=clock)
    seen = Recorder(informer)
    informer.start()
    await informer.wait_synced()
    assert informer.relists == 1

    # The watch ends and, before the informer watches again, more changes than the history holds
    # happen: watching from its last resourceVersion is `410 Gone`, so it must list again.
    watch = informer._watch
    assert watch is not None
    last_seen = store.resource_version
    watch.close()
    obj = store.must_get(cm, "default", "change")
    obj["data"] = {"v": "1"}
    store.update(cm, obj)
    store.delete(cm, "default", "drop")
    for i in range(4):
        store.create(cm, configmap(f"new{i}"))
    store.delete(cm, "default", "new3")
    assert store.compacted > last_seen

    await eventually(lambda: informer.relists == 2)
    await settle()
    assert seen.events[3:] == [
        ("delete", "drop", None),
        ("update", "change", "1"),
        ("add", "new0", None), ("add", "new1", None), ("add", "new2", None),
    ]
    assert sorted(o["metadata"]["name"] for o in informer.list()) == ["change", "keep", "new0", "new1",
                                                                      "new2"]
    await informer.stop()


async def test_rewatch_without_gone_replays_history(store: Store, reg: Registry, clock: FakeClock) -> None:
    cm = kind(reg, "", "ConfigMap")
    informer = Informer(store, cm, clock=clock)
    seen = Recorder(informer)
    informer.start()
    await informer.wait_synced()
    watch = informer._watch
    assert watch is not None
    watch.close()
    store.create(cm, configmap("a"))
    await eventually(lambda: seen.events == [("add", "a", None)])
    assert informer.relists == 1, "the missed change came from the store's history, no relist needed"
    await informer.stop()
