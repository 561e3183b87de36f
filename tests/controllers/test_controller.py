"""The reconcile loop's outcomes, the wiring helpers and the manager, on a FakeClock."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from jupyter_knative.api.registry import Registry
from jupyter_knative.controllers.runtime import (
    Controller,
    FakeClock,
    Manager,
    ObjectKey,
    PermanentError,
    Result,
    controller_of,
    settle,
    watch_mapped,
    watch_objects,
    watch_owned,
)
from jupyter_knative.store import Store

from .conftest import configmap, eventually, kind, ksvc, owner_ref

KEY = ObjectKey("default", "a")


class Script:
    """A reconcile that plays back outcomes and records when it ran."""

    def __init__(self, clock: FakeClock, *outcomes: Any) -> None:
        self.clock = clock
        self.outcomes = list(outcomes)
        self.calls: list[tuple[ObjectKey, float]] = []

    async def __call__(self, key: ObjectKey) -> Result | None:
        self.calls.append((key, round(self.clock.monotonic(), 6)))
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    @property
    def times(self) -> list[float]:
        return [t for _, t in self.calls]


async def run(clock: FakeClock, script: Script, seconds: float) -> Controller[ObjectKey]:
    controller: Controller[ObjectKey] = Controller("test", script, clock=clock)
    controller.start()
    controller.enqueue(KEY)
    await clock.advance(seconds)
    await controller.stop()
    return controller


@pytest.mark.parametrize(("outcomes", "times"), [
    pytest.param([None], [0], id="done"),
    pytest.param([Result()], [0], id="empty-result"),
    pytest.param([RuntimeError("x"), RuntimeError("x"), RuntimeError("x"), None], [0, 0.005, 0.015, 0.035],
                 id="error-backoff-5-10-20ms"),
    pytest.param([PermanentError("bad spec")], [0], id="permanent-error-not-retried"),
    pytest.param([Result(requeue_after=0.3), Result(requeue_after=0.3), None], [0, 0.3, 0.6],
                 id="requeue-after"),
    pytest.param([Result(requeue=True), Result(requeue=True), None], [0, 0.005, 0.015],
                 id="requeue-backs-off"),
    pytest.param([RuntimeError("x"), Result(requeue_after=1), RuntimeError("x")], [0, 0.005, 1.005, 1.01],
                 id="requeue-after-forgets-backoff"),
])
async def test_outcomes(clock: FakeClock, outcomes: list[Any], times: list[float],
                        caplog: pytest.LogCaptureFixture) -> None:
    script = Script(clock, *outcomes)
    with caplog.at_level(logging.ERROR):
        await run(clock, script, 2)
    assert script.times == pytest.approx(times)


async def test_errors_are_logged(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    script = Script(clock, RuntimeError("transient"), PermanentError("terminal"))
    with caplog.at_level(logging.ERROR):
        controller = await run(clock, script, 1)
    messages = [r.getMessage() for r in caplog.records]
    assert any("failed, retrying with backoff" in m for m in messages)
    assert any("failed permanently, not retrying: terminal" in m for m in messages)
    assert controller.queue.num_requeues(KEY) == 0, "a permanent error forgets the backoff"


async def test_process_next_drives_one_key(clock: FakeClock) -> None:
    script = Script(clock, RuntimeError("x"))
    controller: Controller[ObjectKey] = Controller("manual", script, clock=clock)
    controller.enqueue(KEY)
    assert await controller.process_next() == KEY
    assert controller.queue.waiting() == {KEY: pytest.approx(0.005)}
    assert controller.queue.num_requeues(KEY) == 1
    await controller.stop()


async def test_key_is_never_reconciled_concurrently(clock: FakeClock) -> None:
    running: set[ObjectKey] = set()
    overlaps: list[ObjectKey] = []
    calls: list[ObjectKey] = []

    async def slow(key: ObjectKey) -> None:
        if key in running:
            overlaps.append(key)
        running.add(key)
        calls.append(key)
        await clock.sleep(1)
        running.discard(key)

    controller: Controller[ObjectKey] = Controller("slow", slow, workers=4, clock=clock)
    controller.start()
    controller.enqueue(KEY)
    await settle()
    controller.enqueue(KEY)  # while it is being processed
    controller.enqueue(ObjectKey("default", "b"))
    await clock.advance(3)
    await controller.stop()
    assert not overlaps
    assert calls == [KEY, ObjectKey("default", "b"), KEY]


def test_workers_must_be_positive(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="workers = 0"):
        Controller("bad", Script(clock), workers=0)


@pytest.mark.parametrize(("refs", "group", "kind_", "expected"), [
    pytest.param([], None, None, None, id="no-refs"),
    pytest.param([{"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "1"}], None, None, None,
                 id="not-a-controller"),
    pytest.param([{"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "s", "uid": "1",
                   "controller": True}], "serving.knative.dev", "Service", "s", id="match"),
    pytest.param([{"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "s", "uid": "1",
                   "controller": True}], "serving.knative.dev", "Route", None, id="other-kind"),
    pytest.param([{"apiVersion": "v1", "kind": "ConfigMap", "name": "c", "uid": "2", "controller": True}],
                 "", "ConfigMap", "c", id="core-group"),
])
def test_controller_of(refs: list[dict[str, Any]], group: str | None, kind_: str | None,
                       expected: str | None) -> None:
    ref = controller_of({"metadata": {"ownerReferences": refs}}, group, kind_)
    assert (ref or {}).get("name") == expected


async def test_manager_wires_informers_to_controllers(store: Store, reg: Registry, clock: FakeClock,
                                                      manager: Manager) -> None:
    cm, svc = kind(reg, "", "ConfigMap"), kind(reg, "serving.knative.dev", "Service")
    owner = store.create(svc, ksvc("hello"))
    store.create(cm, configmap("pre-existing"))
    seen: dict[str, list[ObjectKey]] = {"objects": [], "owners": [], "mapped": []}

    def recorder(name: str) -> Any:
        async def reconcile(key: ObjectKey) -> None:
            seen[name].append(key)
        return reconcile

    by_object: Controller[ObjectKey] = Controller("objects", recorder("objects"), clock=clock)
    by_owner: Controller[ObjectKey] = Controller("owners", recorder("owners"), clock=clock)
    mapped: Controller[ObjectKey] = Controller("mapped", recorder("mapped"), clock=clock)
    informer = manager.informer(cm)
    assert manager.informer(cm) is informer, "informers are shared per type"
    watch_objects(by_object, informer)
    watch_owned(by_owner, informer, "serving.knative.dev", "Service")
    watch_mapped(mapped, informer, lambda obj: [ObjectKey("elsewhere", obj["metadata"]["name"].upper())])
    for c in (by_object, by_owner, mapped):
        manager.add(c)
    await manager.start()
    await eventually(lambda: seen["objects"] == [ObjectKey("default", "pre-existing")])

    store.create(cm, configmap("child", owners=[owner_ref(owner, controller=True)]))
    await eventually(lambda: len(seen["objects"]) == 2 and len(seen["owners"]) == 1)
    assert seen["owners"] == [ObjectKey("default", "hello")]
    assert seen["mapped"] == [ObjectKey("elsewhere", "PRE-EXISTING"), ObjectKey("elsewhere", "CHILD")]


async def test_manager_stop_leaves_no_tasks(store: Store, reg: Registry, clock: FakeClock) -> None:
    manager = Manager(store, clock)
    script = Script(clock, RuntimeError("x"))
    controller: Controller[ObjectKey] = Controller("c", script, workers=3, clock=clock)
    watch_objects(controller, manager.informer(kind(reg, "", "ConfigMap")))
    manager.add(controller)

    async def forever() -> None:
        while True:
            await clock.sleep(10)

    manager.add_runnable("forever", forever)
    before = asyncio.all_tasks()
    async with manager:
        store.create(kind(reg, "", "ConfigMap"), configmap("a"))
        await clock.advance(0.001)
        assert controller.queue.waiting(), "the failed key waits for its retry"
        assert len(asyncio.all_tasks()) > len(before)
    assert asyncio.all_tasks() == before
    assert not manager.started and not controller.running


async def test_manager_start_fails_when_an_informer_cannot_list(store: Store, reg: Registry,
                                                                clock: FakeClock) -> None:
    manager = Manager(store, clock)
    informer = manager.informer(kind(reg, "", "ConfigMap"))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("store unavailable")

    informer.store = type("Broken", (), {"entries": staticmethod(broken)})()
    with pytest.raises(RuntimeError, match="store unavailable"):
        await manager.start()
    await manager.stop()


async def test_controller_added_after_start_runs(store: Store, reg: Registry, clock: FakeClock,
                                                 manager: Manager) -> None:
    await manager.start()
    seen: list[ObjectKey] = []

    async def reconcile(key: ObjectKey) -> None:
        seen.append(key)

    controller: Controller[ObjectKey] = Controller("late", reconcile, clock=clock)
    store.create(kind(reg, "", "ConfigMap"), configmap("a"))
    watch_objects(controller, manager.informer(kind(reg, "", "ConfigMap")))
    manager.add(controller)
    await eventually(lambda: seen == [ObjectKey("default", "a")])
