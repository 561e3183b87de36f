"""Store semantics: the contract every controller and the API server rely on."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from jupyter_knative.api.namespaces import admit_namespace
from jupyter_knative.api.registry import Registry, ResourceType, Version
from jupyter_knative.api.status import AlreadyExists, Conflict, Forbidden, Gone, Invalid, NotFound
from jupyter_knative.store import Store

NAMESPACE = ResourceType("", "Namespace", "namespaces", (Version("v1"),), namespaced=False, builtin=True,
                         subresources=("status", "finalize"), name_rule="label", admission=admit_namespace)
CONFIGMAP = ResourceType("", "ConfigMap", "configmaps", (Version("v1"),), builtin=True, subresources=())
SERVICE = ResourceType("serving.knative.dev", "Service", "services", (Version("v1"),))
REGISTRY = Registry([NAMESPACE, CONFIGMAP, SERVICE])


class Clock:
    def __init__(self) -> None:
        self.t = 1_790_000_000.0

    def __call__(self) -> float:
        return self.t


def service(name: str, ns: str = "default", image: str = "hello", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, **meta},
            "spec": {"template": {"spec": {"containers": [{"image": image}]}}}}


def configmap(name: str, ns: str = "default", **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


def new_store(path: Path | str = ":memory:") -> Store:
    store = Store(REGISTRY, path, clock=Clock())
    if store.entry(NAMESPACE, "", "default") is None:
        store.create(NAMESPACE, {"metadata": {"name": "default"}})
    return store


def test_create_sets_metadata_and_drops_status() -> None:
    store = new_store()
    obj = service("hello")
    obj["status"] = {"url": "http://x"}
    created = store.create(SERVICE, obj)
    meta = created["metadata"]
    assert meta["generation"] == 1 and meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) == store.resource_version
    assert "status" not in created


def test_create_twice_is_already_exists() -> None:
    store = new_store()
    store.create(SERVICE, service("hello"))
    with pytest.raises(AlreadyExists, match=r'services\.serving\.knative\.dev "hello" already exists'):
        store.create(SERVICE, service("hello"))


def test_create_in_missing_namespace() -> None:
    store = new_store()
    with pytest.raises(NotFound, match='namespaces "nope" not found'):
        store.create(SERVICE, service("hello", ns="nope"))


def test_invalid_name_is_422_with_field() -> None:
    store = new_store()
    with pytest.raises(Invalid) as err:
        store.create(SERVICE, service("Bad_Name"))
    assert err.value.details and err.value.details["causes"][0]["field"] == "metadata.name"
    assert 'Service.serving.knative.dev "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"' \
        in err.value.message


def test_generate_name() -> None:
    store = new_store()
    obj = service("")
    del obj["metadata"]["name"]
    obj["metadata"]["generateName"] = "hello-"
    created = store.create(SERVICE, obj)
    assert created["metadata"]["name"].startswith("hello-") and len(created["metadata"]["name"]) == 11


@pytest.mark.parametrize(("change", "bumps"), [
    pytest.param(lambda o: o["spec"]["template"]["spec"]["containers"][0].update(image="v2"), True, id="spec"),
    pytest.param(lambda o: o["metadata"].setdefault("labels", {}).update(a="b"), False, id="labels"),
    pytest.param(lambda o: o.update(status={"url": "x"}), False, id="status-ignored"),
])
def test_generation_bumps_only_on_spec_change(change: Any, bumps: bool) -> None:
    store = new_store()
    created = store.create(SERVICE, service("hello"))
    change(created)
    updated = store.update(SERVICE, created)
    assert updated["metadata"]["generation"] == (2 if bumps else 1)
    assert "status" not in updated


def test_noop_update_keeps_resource_version() -> None:
    store = new_store()
    created = store.create(SERVICE, service("hello"))
    rv = store.resource_version
    again = store.update(SERVICE, dict(created))
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert store.resource_version == rv


def test_stale_resource_version_conflicts() -> None:
    store = new_store()
    created = store.create(SERVICE, service("hello"))
    first = store.get(SERVICE, "default", "hello")
    assert first is not None
    first["metadata"]["labels"] = {"a": "1"}
    store.update(SERVICE, first)
    created["metadata"]["labels"] = {"a": "2"}
    with pytest.raises(Conflict, match="the object has been modified"):
        store.update(SERVICE, created)


def test_custom_resource_update_requires_resource_version_builtin_does_not() -> None:
    store = new_store()
    store.create(SERVICE, service("hello"))
    store.create(CONFIGMAP, configmap("c", a="1"))
    with pytest.raises(Invalid, match="must be specified for an update"):
        store.update(SERVICE, service("hello", image="v2"))
    updated = store.update(CONFIGMAP, configmap("c", a="2"))
    assert updated["data"] == {"a": "2"}


def test_status_subresource_changes_only_status() -> None:
    store = new_store()
    created = store.create(SERVICE, service("hello"))
    created["status"] = {"observedGeneration": 1}
    created["spec"]["template"]["spec"]["containers"][0]["image"] = "ignored"
    updated = store.update(SERVICE, created, subresource="status")
    assert updated["status"] == {"observedGeneration": 1}
    assert updated["spec"]["template"]["spec"]["containers"][0]["image"] == "hello"
    assert updated["metadata"]["generation"] == 1


def test_finalizers_hold_deletion_until_removed() -> None:
    store = new_store()
    store.create(SERVICE, service("hello", finalizers=["example.com/hold"]))
    obj, gone = store.delete(SERVICE, "default", "hello")
    assert not gone and obj["metadata"]["deletionTimestamp"]
    obj["metadata"]["finalizers"].append("example.com/more")
    with pytest.raises(Invalid, match="no new finalizers can be added"):
        store.update(SERVICE, obj)
    current = store.must_get(SERVICE, "default", "hello")
    current["metadata"]["finalizers"] = []
    store.update(SERVICE, current)
    assert store.get(SERVICE, "default", "hello") is None


@pytest.mark.parametrize(("policy", "finalizer"), [("Foreground", "foregroundDeletion"), ("Orphan", "orphan")])
def test_propagation_policies_add_finalizers(policy: str, finalizer: str) -> None:
    store = new_store()
    store.create(SERVICE, service("hello"))
    obj, gone = store.delete(SERVICE, "default", "hello", propagation=policy)
    assert not gone and obj["metadata"]["finalizers"] == [finalizer]


def test_delete_preconditions() -> None:
    store = new_store()
    store.create(SERVICE, service("hello"))
    with pytest.raises(Conflict, match="Precondition failed: UID in precondition: nope"):
        store.delete(SERVICE, "default", "hello", preconditions={"uid": "nope"})


def test_namespace_lifecycle() -> None:
    store = new_store()
    ns = store.create(NAMESPACE, {"metadata": {"name": "team"}})
    assert ns["spec"]["finalizers"] == ["kubernetes"] and ns["status"]["phase"] == "Active"
    assert ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == "team"
    ns, gone = store.delete(NAMESPACE, "", "team")
    assert not gone and ns["status"]["phase"] == "Terminating"
    with pytest.raises(Forbidden, match="because it is being terminated"):
        store.create(SERVICE, service("late", ns="team"))
    ns["spec"]["finalizers"] = []
    store.update(NAMESPACE, ns, subresource="finalize")
    assert store.get(NAMESPACE, "", "team") is None


def test_protected_namespace() -> None:
    store = new_store()
    with pytest.raises(Forbidden, match='namespace "default" is forbidden: this namespace may not be deleted'):
        store.delete(NAMESPACE, "", "default")


def test_owner_index() -> None:
    store = new_store()
    owner = store.create(SERVICE, service("owner"))
    ref = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "owner",
           "uid": owner["metadata"]["uid"], "controller": True}
    store.create(CONFIGMAP, {**configmap("dep"), "metadata": {"name": "dep", "namespace": "default",
                                                              "ownerReferences": [ref]}})
    assert [(rt.kind, n) for rt, _, n in store.dependents(owner["metadata"]["uid"])] == [("ConfigMap", "dep")]
    found = store.find_uid(owner["metadata"]["uid"])
    assert found is not None and found[2] == "owner"


async def test_watch_delivers_in_order_with_selector_transitions() -> None:
    store = new_store()
    watch = store.watch(SERVICE, "default", lambda o: (o["metadata"].get("labels") or {}).get("app") == "x")
    created = store.create(SERVICE, service("hello", labels={"app": "x"}))
    created["metadata"]["labels"] = {"app": "y"}
    moved = store.update(SERVICE, created)
    moved["metadata"]["labels"] = {"app": "x"}
    back = store.update(SERVICE, moved)
    store.delete(SERVICE, "default", "hello")
    store.create(SERVICE, service("other"))  # never matches
    events = []
    for _ in range(4):
        event = await watch.next(timeout=1)
        assert event is not None
        events.append((event.type, event.rv))
    assert [t for t, _ in events] == ["ADDED", "DELETED", "ADDED", "DELETED"]
    assert events[2][1] == int(back["metadata"]["resourceVersion"])
    assert await watch.next(timeout=0.01) is None


async def test_watch_resumes_from_resource_version_and_gone_when_compacted() -> None:
    store = Store(REGISTRY, clock=Clock(), history=3)
    store.create(NAMESPACE, {"metadata": {"name": "default"}})
    rvs = [int(store.create(CONFIGMAP, configmap(f"c{i}"))["metadata"]["resourceVersion"]) for i in range(5)]
    watch = store.watch(CONFIGMAP, None, since=rvs[2])
    got = [(await watch.next(timeout=1)) for _ in range(2)]
    assert [e.obj["metadata"]["name"] for e in got if e] == ["c3", "c4"]
    with pytest.raises(Gone, match=f"too old resource version: {rvs[0]}"):
        store.watch(CONFIGMAP, None, since=rvs[0])


def test_survives_reopen(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    store = new_store(db)
    store.create(SERVICE, service("hello"))
    store.delete(SERVICE, "default", "hello")
    store.create(CONFIGMAP, configmap("kept", a="1"))
    rv = store.resource_version
    store.close()
    reopened = new_store(db)
    assert reopened.resource_version == rv
    assert reopened.get(SERVICE, "default", "hello") is None
    assert (reopened.must_get(CONFIGMAP, "default", "kept"))["data"] == {"a": "1"}
    assert int(reopened.create(CONFIGMAP, configmap("next"))["metadata"]["resourceVersion"]) == rv + 1


def test_returned_objects_are_private_copies() -> None:
    store = new_store()
    obj = store.create(CONFIGMAP, configmap("c", a="1"))
    obj["data"]["a"] = "mutated"
    got = store.must_get(CONFIGMAP, "default", "c")
    got["data"]["a"] = "mutated"
    assert store.must_get(CONFIGMAP, "default", "c")["data"] == {"a": "1"}


async def test_watch_wait_wakes_on_write() -> None:
    store = new_store()
    watch = store.watch(CONFIGMAP, "default")
    waiter = asyncio.ensure_future(watch.next(timeout=5))
    await asyncio.sleep(0)
    store.create(CONFIGMAP, configmap("c"))
    event = await waiter
    assert event is not None and event.type == "ADDED"
