"""Namespace lifecycle: a terminating namespace is emptied, reports what holds it, then goes away."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.api.registry import Registry
from jupyter_knative.controllers import default_controllers
from jupyter_knative.controllers.namespace import (
    CONDITION_TYPES,
    ContentTotals,
    failing_conditions,
    update_conditions,
)
from jupyter_knative.controllers.runtime import FakeClock, Manager
from jupyter_knative.store import Store

from .conftest import configmap, kind, ksvc, make_namespace

HOLD = "example.com/hold"


def conditions(ns: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in ns["status"]["conditions"]}


@pytest.fixture
async def plane(store: Store, clock: FakeClock) -> Any:
    manager = default_controllers(store, clock)
    await manager.start()
    yield manager
    await manager.stop()


async def test_namespace_deletion_end_to_end(store: Store, reg: Registry, clock: FakeClock,
                                             plane: Manager) -> None:
    ns_rt, cm, svc = kind(reg, "", "Namespace"), kind(reg, "", "ConfigMap"), kind(reg, "serving.knative.dev",
                                                                                   "Service")
    make_namespace(store, reg, "team")
    store.create(cm, configmap("plain", "team"))
    store.create(cm, configmap("held", "team", finalizers=[HOLD]))
    store.create(svc, ksvc("hello", "team"))
    store.create(cm, configmap("elsewhere", "default"))

    store.delete(ns_rt, "", "team")
    await clock.advance(1)

    assert [o["metadata"]["name"] for o in store.list(cm, "team")[0]] == ["held"]
    assert store.list(svc, "team")[0] == []
    assert store.get(cm, "default", "elsewhere") is not None
    ns = store.must_get(ns_rt, "", "team")
    assert ns["status"]["phase"] == "Terminating" and ns["spec"]["finalizers"] == ["kubernetes"]
    assert [c["type"] for c in ns["status"]["conditions"]] == list(CONDITION_TYPES)
    assert conditions(ns) == {
        "NamespaceDeletionDiscoveryFailure": ("False", "ResourcesDiscovered",
                                              "All resources successfully discovered"),
        "NamespaceDeletionGroupVersionParsingFailure": ("False", "ParsedGroupVersions",
                                                        "All legacy kube types successfully parsed"),
        "NamespaceDeletionContentFailure": (
            "False", "ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
        "NamespaceContentRemaining": ("True", "SomeResourcesRemain",
                                      "Some resources are remaining: configmaps. has 1 resource instances"),
        "NamespaceFinalizersRemaining": ("True", "SomeFinalizersRemain",
                                         "Some content in the namespace has finalizers remaining: "
                                         "example.com/hold in 1 resource instances"),
    }
    rv = ns["metadata"]["resourceVersion"]
    await clock.advance(5)
    assert store.must_get(ns_rt, "", "team")["metadata"]["resourceVersion"] == rv, \
        "passes that change nothing write nothing"

    held = store.must_get(cm, "team", "held")
    held["metadata"]["finalizers"] = []
    store.update(cm, held)
    await clock.advance(1)
    assert store.get(ns_rt, "", "team") is None
    assert store.get(cm, "default", "elsewhere") is not None


async def test_other_namespace_finalizers_keep_it(store: Store, reg: Registry, clock: FakeClock,
                                                  plane: Manager) -> None:
    ns_rt = kind(reg, "", "Namespace")
    store.create(ns_rt, {"metadata": {"name": "shared"},
                         "spec": {"finalizers": ["kubernetes", "example.com/x"]}})
    store.delete(ns_rt, "", "shared")
    await clock.advance(1)
    ns = store.must_get(ns_rt, "", "shared")
    assert ns["spec"]["finalizers"] == ["example.com/x"]
    assert conditions(ns)["NamespaceContentRemaining"] == ("False", "ContentRemoved",
                                                          "All content successfully removed")
    ns["spec"]["finalizers"] = []
    store.update(ns_rt, ns, subresource="finalize")
    assert store.get(ns_rt, "", "shared") is None


async def test_live_namespaces_are_left_alone(store: Store, reg: Registry, clock: FakeClock,
                                              plane: Manager) -> None:
    ns_rt, cm = kind(reg, "", "Namespace"), kind(reg, "", "ConfigMap")
    make_namespace(store, reg, "live")
    store.create(cm, configmap("a", "live"))
    await clock.advance(1)
    assert store.get(cm, "live", "a") is not None
    assert "conditions" not in (store.must_get(ns_rt, "", "live").get("status") or {})


@pytest.mark.parametrize(("totals", "expected"), [
    pytest.param(ContentTotals(), {}, id="clean"),
    pytest.param(ContentTotals(remaining={"pods.": 2, "services.serving.knative.dev": 1},
                               finalizers={"b/f": 1, "a/f": 3}),
                 {"NamespaceContentRemaining": (
                     "SomeResourcesRemain", "Some resources are remaining: pods. has 2 resource instances, "
                     "services.serving.knative.dev has 1 resource instances"),
                  "NamespaceFinalizersRemaining": (
                     "SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: "
                     "a/f in 3 resource instances, b/f in 1 resource instances")},
                 id="sorted"),
    pytest.param(ContentTotals(errors=["z failed", "a failed"]),
                 {"NamespaceDeletionContentFailure": (
                     "ContentDeletionFailed", "Failed to delete all resource types, 2 remaining: a failed, "
                     "z failed")},
                 id="errors"),
])
def test_failing_conditions(totals: ContentTotals, expected: dict[str, tuple[str, str]]) -> None:
    assert failing_conditions(totals) == expected


def test_transition_time_moves_only_when_status_flips() -> None:
    remains = "NamespaceContentRemaining"
    first, changed = update_conditions([], {remains: ("SomeResourcesRemain", "m1")}, "t1")
    assert changed and len(first) == 5
    second, changed = update_conditions(first, {remains: ("SomeResourcesRemain", "m2")}, "t2")
    remaining = next(c for c in second if c["type"] == "NamespaceContentRemaining")
    assert changed and remaining["message"] == "m2" and remaining["lastTransitionTime"] == "t1"
    third, changed = update_conditions(second, {}, "t3")
    remaining = next(c for c in third if c["type"] == "NamespaceContentRemaining")
    assert changed and remaining["status"] == "False" and remaining["lastTransitionTime"] == "t3"
    _, changed = update_conditions(third, {}, "t4")
    assert not changed
