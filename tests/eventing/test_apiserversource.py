"""ApiServerSource over a real store: which changes become events, and what the events look like."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from jupyter_knative.api.kinds import registry
from jupyter_knative.api.registry import ResourceType
from jupyter_knative.eventing.apiserversource import ApiServerSourceAdapter, controlled_by, subject_of
from jupyter_knative.eventing.cloudevent import CloudEvent
from jupyter_knative.store import Store

SINK = "http://display.default.svc.cluster.local/"
API = "https://10.96.0.1:443"
NOW = 1_800_000_000.0


class Sink:
    def __init__(self, status: int = 202) -> None:
        self.status = status
        self.events: list[CloudEvent] = []
        self.urls: list[str] = []

    async def __call__(self, url: str, event: CloudEvent) -> int:
        self.urls.append(url)
        self.events.append(event)
        return self.status

    @property
    def summary(self) -> list[tuple[str, str]]:
        return [(e.attributes["type"], e.attributes["subject"]) for e in self.events]


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store(registry(), clock=lambda: NOW)
    for name, labels in (("default", {}), ("dev", {"env": "dev"}), ("prod", {"env": "prod"})):
        s.create(kind(s, "", "Namespace"), {"metadata": {"name": name, "labels": labels}})
    yield s
    s.close()


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
async def adapter(store: Store, sink: Sink) -> AsyncIterator[ApiServerSourceAdapter]:
    a = ApiServerSourceAdapter(store, sink, api_url=API, clock=lambda: NOW)
    await a.start()
    yield a
    await a.stop()


def kind(store: Store, group: str, name: str) -> ResourceType:
    rt = store.registry.by_kind(group, name)
    assert rt is not None
    return rt


def source(*resources: dict[str, Any], mode: str | None = None, owner: dict[str, str] | None = None,
           namespace_selector: dict[str, Any] | None = None, extensions: dict[str, str] | None = None,
           filters: list[dict[str, Any]] | None = None, sink: str | None = SINK) -> dict[str, Any]:
    spec: dict[str, Any] = {"resources": list(resources or [{"apiVersion": "v1", "kind": "ConfigMap"}]),
                            "serviceAccountName": "default"}
    for key, value in (("mode", mode), ("owner", owner), ("namespaceSelector", namespace_selector),
                       ("filters", filters)):
        if value is not None:
            spec[key] = value
    if extensions is not None:
        spec["ceOverrides"] = {"extensions": extensions}
    return {"apiVersion": "sources.knative.dev/v1", "kind": "ApiServerSource",
            "metadata": {"name": "src", "namespace": "default", "uid": "u1", "generation": 1},
            "spec": spec, "status": {"sinkUri": sink} if sink else {}}


def configmap(store: Store, name: str, namespace: str = "default", *, labels: dict[str, str] | None = None,
              data: dict[str, str] | None = None, owners: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owners:
        meta["ownerReferences"] = owners
    return store.create(kind(store, "", "ConfigMap"), {"metadata": meta, "data": data or {"k": "v"}})


def update(store: Store, obj: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    rt = kind(store, "", "ConfigMap")
    current = store.must_get(rt, obj["metadata"]["namespace"], obj["metadata"]["name"])
    change(current)
    return store.update(rt, current)


def delete(store: Store, obj: dict[str, Any]) -> None:
    store.delete(kind(store, "", "ConfigMap"), obj["metadata"]["namespace"], obj["metadata"]["name"])


async def settle(sink: Sink, count: int) -> None:
    for _ in range(200):
        if len(sink.events) >= count:
            break
        await asyncio.sleep(0)
    for _ in range(20):  # and a few more turns, to catch events that should not be there
        await asyncio.sleep(0)


def subject(name: str, namespace: str = "default", plural: str = "configmaps") -> str:
    return f"/apis/v1/namespaces/{namespace}/{plural}/{name}"


# --- modes -----------------------------------------------------------------------------------------------

async def test_reference_mode_sends_object_references(store: Store, sink: Sink,
                                                      adapter: ApiServerSourceAdapter) -> None:
    adapter.set_source("default", "src", source())
    cm = configmap(store, "cm1")
    update(store, cm, lambda o: o["data"].update(k="w"))
    delete(store, cm)
    await settle(sink, 3)
    assert sink.summary == [("dev.knative.apiserver.ref.add", subject("cm1")),
                            ("dev.knative.apiserver.ref.update", subject("cm1")),
                            ("dev.knative.apiserver.ref.delete", subject("cm1"))]
    first = sink.events[0]
    assert {k: v for k, v in first.attributes.items() if k != "id"} == {
        "specversion": "1.0", "type": "dev.knative.apiserver.ref.add", "source": API, "subject": subject("cm1"),
        "time": "2027-01-15T08:00:00Z", "datacontenttype": "application/json", "kind": "ConfigMap", "name": "cm1",
        "namespace": "default", "apiversion": "v1"}
    assert first.data == b'{"kind":"ConfigMap","namespace":"default","name":"cm1","apiVersion":"v1"}'
    assert len({e.attributes["id"] for e in sink.events}) == 3
    assert set(sink.urls) == {SINK}


async def test_resource_mode_sends_the_whole_object(store: Store, sink: Sink, adapter: ApiServerSourceAdapter) -> None:
    adapter.set_source("default", "src", source(mode="Resource"))
    cm = configmap(store, "cm1")
    updated = update(store, cm, lambda o: o["data"].update(k="<new>"))
    delete(store, cm)
    await settle(sink, 3)
    assert [e.attributes["type"] for e in sink.events] == [
        "dev.knative.apiserver.resource.add", "dev.knative.apiserver.resource.update",
        "dev.knative.apiserver.resource.delete"]
    assert json.loads(sink.events[0].data or b"") == store_copy(cm)
    assert json.loads(sink.events[1].data or b"")["data"] == {"k": "<new>"}  # the new object
    assert json.loads(sink.events[1].data or b"")["metadata"]["resourceVersion"] == updated["metadata"][
        "resourceVersion"]
    assert b"\\u003cnew\\u003e" in (sink.events[1].data or b"")  # Go's json.Marshal escapes HTML characters
    assert list(json.loads(sink.events[2].data or b"")) == sorted(json.loads(sink.events[2].data or b""))


def store_copy(obj: dict[str, Any]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(obj))
    return copy


async def test_objects_that_exist_at_start_send_nothing(store: Store, sink: Sink,
                                                        adapter: ApiServerSourceAdapter) -> None:
    old = configmap(store, "old")
    adapter.set_source("default", "src", source())
    configmap(store, "new")
    await settle(sink, 1)
    assert sink.summary == [("dev.knative.apiserver.ref.add", subject("new"))]
    update(store, old, lambda o: o["data"].update(k="x"))
    await settle(sink, 2)
    assert sink.summary[1] == ("dev.knative.apiserver.ref.update", subject("old"))


async def test_emit_existing_sends_adds_for_them(store: Store, sink: Sink) -> None:
    configmap(store, "old")
    adapter = ApiServerSourceAdapter(store, sink, api_url=API, emit_existing=True)
    adapter.set_source("default", "src", source())
    await adapter.start()
    await settle(sink, 1)
    assert sink.summary == [("dev.knative.apiserver.ref.add", subject("old"))]
    await adapter.stop()


async def test_other_kinds_and_core_subjects(store: Store, sink: Sink, adapter: ApiServerSourceAdapter) -> None:
    adapter.set_source("default", "src", source({"apiVersion": "v1", "kind": "Secret"}))
    configmap(store, "cm1")
    store.create(kind(store, "", "Secret"), {"metadata": {"name": "s1", "namespace": "default"}, "data": {}})
    await settle(sink, 1)
    assert sink.summary == [("dev.knative.apiserver.ref.add", subject("s1", plural="secrets"))]


def test_subjects_follow_knatives_self_link_hack() -> None:
    assert subject_of("apps/v1", "deployments", "ns", "d") == "/apis/apps/v1/namespaces/ns/deployments/d"
    assert subject_of("v1", "pods", "ns", "p") == "/apis/v1/namespaces/ns/pods/p"
    assert subject_of("serving.knative.dev", "services", "ns", "s") == (
        "/apis/serving.knative.dev/versionUnknown/namespaces/ns/services/s")


# --- selectors and namespaces ----------------------------------------------------------------------------

async def test_label_selector_entering_and_leaving(store: Store, sink: Sink, adapter: ApiServerSourceAdapter) -> None:
    adapter.set_source("default", "src", source({"apiVersion": "v1", "kind": "ConfigMap",
                                                 "selector": {"matchLabels": {"app": "web"}}}))
    cm = configmap(store, "cm1")
    configmap(store, "cm2", labels={"app": "web"})
    update(store, cm, lambda o: o["metadata"]["labels"].update(app="web"))
    update(store, cm, lambda o: o["metadata"]["labels"].update(app="db"))
    await settle(sink, 3)
    assert sink.summary == [("dev.knative.apiserver.ref.add", subject("cm2")),
                            ("dev.knative.apiserver.ref.add", subject("cm1")),
                            ("dev.knative.apiserver.ref.delete", subject("cm1"))]


async def test_match_expressions(store: Store, sink: Sink, adapter: ApiServerSourceAdapter) -> None:
    adapter.set_source("default", "src", source({"apiVersion": "v1", "kind": "ConfigMap", "selector": {
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}}))
    configmap(store, "x", labels={"tier": "c"})
    configmap(store, "y", labels={"tier": "b"})
    await settle(sink, 1)
    assert sink.summary == [("dev.knative.apiserver.ref.add", subject("y"))]


async def test_only_the_sources_namespace_by_default(store: Store, sink: Sink,
                                                     adapter: ApiServerSourceAdapter) -> None:
    adapter.set_source("default", "src", source())
    configmap(store, "elsewhere", "dev")
    configmap(store, "here")
    await settle(sink, 1)
    assert sink.summary == [("dev.knative.apiserver.ref.add", subject("here"))]
    assert adapter.namespaces("default", "src") == ["default"]


async def test_namespace_selector(store: Store, sink: Sink, adapter: ApiServerSourceAdapter) -> None:
    adapter.set_source("default", "src", source(namespace_selector={"matchLabels": {"env": "dev"}}))
    for ns in ("default", "dev", "prod"):
        configmap(store, "cm", ns)
    await settle(sink, 1)
    assert sink.summary == [("dev.knative.apiserver.ref.add", subject("cm", "dev"))]
    assert adapter.namespaces("default", "src") == ["dev"]
    store.create(kind(store, "", "Namespace"), {"metadata": {"name": "dev2", "labels": {"env": "dev"}}})
    configmap(store, "cm", "dev2")
    await settle(sink, 2)
    assert sink.summary[1] == ("dev.knative.apiserver.ref.add", subject("cm", "dev2"))
    assert adapter.namespaces("default", "src") == ["dev", "dev2"]


async def test_an_empty_namespace_selector_means_every_namespace(store: Store, sink: Sink,
                                                                  adapter: ApiServerSourceAdapter) -> None:
    adapter.set_source("default", "src", source(namespace_selector={}))
    for ns in ("prod", "dev"):
        configmap(store, "cm", ns)
    await settle(sink, 2)
    assert sorted(e.attributes["namespace"] for e in sink.events) == ["dev", "prod"]
    assert adapter.namespaces("default", "src") == ["default", "dev", "prod"]


# --- owner filter, spec.filters, overrides ---------------------------------------------------------------

def owner_ref(kind_: str = "ReplicaSet", api_version: str = "apps/v1", controller: bool | None = True
              ) -> dict[str, Any]:
    ref: dict[str, Any] = {"apiVersion": api_version, "kind": kind_, "name": "owner", "uid": "owner-uid"}
    if controller is not None:
        ref["controller"] = controller
    return ref


@pytest.mark.parametrize(("owner", "refs", "sent"), [
    pytest.param({"apiVersion": "apps/v1", "kind": "ReplicaSet"}, [owner_ref()], True, id="controller-matches"),
    pytest.param({"apiVersion": "apps/v1", "kind": "ReplicaSet"}, [], False, id="no-owner"),
    pytest.param({"apiVersion": "apps/v1", "kind": "ReplicaSet"}, [owner_ref(controller=None)], False,
                 id="owner-not-controller"),
    pytest.param({"apiVersion": "apps/v1", "kind": "ReplicaSet"}, [owner_ref("Deployment")], False, id="other-kind"),
    pytest.param({"apiVersion": "apps/v1", "kind": "ReplicaSet"}, [owner_ref(api_version="apps/v1beta2")], False,
                 id="other-version"),
    pytest.param({"kind": "ReplicaSet"}, [owner_ref(api_version="apps/v1beta2")], True, id="kind-only"),
    pytest.param({"apiVersion": "apps/v1"}, [owner_ref("Deployment")], True, id="api-version-only"),
])
async def test_owner_filter(store: Store, sink: Sink, adapter: ApiServerSourceAdapter, owner: dict[str, str],
                            refs: list[dict[str, Any]], sent: bool) -> None:
    adapter.set_source("default", "src", source(owner=owner))
    configmap(store, "cm1", owners=refs)
    await settle(sink, 1)
    assert len(sink.events) == (1 if sent else 0)


def test_controlled_by_uses_the_controller_reference_only() -> None:
    obj = {"metadata": {"ownerReferences": [owner_ref("Deployment", controller=False), owner_ref()]}}
    assert controlled_by(obj, ("apps/v1", "ReplicaSet"))
    assert not controlled_by(obj, ("apps/v1", "Deployment"))


async def test_spec_filters_drop_failing_events(store: Store, sink: Sink, adapter: ApiServerSourceAdapter) -> None:
    adapter.set_source("default", "src", source(filters=[{"exact": {"type": "dev.knative.apiserver.ref.delete"}}]))
    cm = configmap(store, "cm1")
    delete(store, cm)
    await settle(sink, 1)
    assert sink.summary == [("dev.knative.apiserver.ref.delete", subject("cm1"))]


async def test_ce_overrides_are_applied_last(store: Store, sink: Sink, adapter: ApiServerSourceAdapter) -> None:
    adapter.set_source("default", "src", source(extensions={"team": "blue", "Kind": "Custom", "type": "nope"}))
    configmap(store, "cm1")
    await settle(sink, 1)
    attributes = sink.events[0].attributes
    assert (attributes["team"], attributes["kind"], attributes["type"]) == (
        "blue", "Custom", "dev.knative.apiserver.ref.add")


# --- the source's life -----------------------------------------------------------------------------------

async def test_removing_the_source_stops_its_events(store: Store, sink: Sink,
                                                    adapter: ApiServerSourceAdapter) -> None:
    adapter.set_source("default", "src", source())
    configmap(store, "a")
    await settle(sink, 1)
    adapter.set_source("default", "src", None)
    configmap(store, "b")
    await settle(sink, 2)
    assert sink.summary == [("dev.knative.apiserver.ref.add", subject("a"))]
    assert store.watch_count == 0


async def test_an_update_rewatches_with_the_new_spec(store: Store, sink: Sink,
                                                     adapter: ApiServerSourceAdapter) -> None:
    adapter.set_source("default", "src", source())
    configmap(store, "a")
    await settle(sink, 1)
    adapter.set_source("default", "src", source(mode="Resource", sink="http://other/"))
    configmap(store, "b")
    await settle(sink, 2)
    assert [e.attributes["type"] for e in sink.events] == ["dev.knative.apiserver.ref.add",
                                                           "dev.knative.apiserver.resource.add"]
    assert sink.urls == [SINK, "http://other/"]
    assert store.watch_count == 1


async def test_a_status_only_update_keeps_the_watches(store: Store, sink: Sink,
                                                      adapter: ApiServerSourceAdapter) -> None:
    adapter.set_source("default", "src", source())
    before = adapter._running[("default", "src")]
    again = source()
    again["status"]["namespaces"] = ["default"]
    adapter.set_source("default", "src", again)
    assert adapter._running[("default", "src")] is before


async def test_no_sink_no_watch(store: Store, sink: Sink, adapter: ApiServerSourceAdapter) -> None:
    adapter.set_source("default", "src", source(sink=None))
    configmap(store, "a")
    await settle(sink, 1)
    assert sink.events == []
    assert store.watch_count == 0


async def test_unknown_kinds_are_skipped(store: Store, sink: Sink, adapter: ApiServerSourceAdapter,
                                         caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        adapter.set_source("default", "src", source({"apiVersion": "example.com/v1", "kind": "Widget"},
                                                    {"apiVersion": "v2", "kind": "ConfigMap"},
                                                    {"apiVersion": "v1", "kind": "ConfigMap"}))
    configmap(store, "a")
    await settle(sink, 1)
    assert sink.summary == [("dev.knative.apiserver.ref.add", subject("a"))]
    assert "example.com/v1 Widget is not served here" in caplog.text
    assert "v2 ConfigMap is not served here" in caplog.text


async def test_send_failures_do_not_stop_the_watch(store: Store) -> None:
    calls: list[str] = []

    async def flaky(url: str, event: CloudEvent) -> int:
        calls.append(event.attributes["name"])
        if len(calls) == 1:
            raise ConnectionRefusedError("refused")
        return 500 if len(calls) == 2 else 202

    adapter = ApiServerSourceAdapter(store, flaky, api_url=API)
    adapter.set_source("default", "src", source())
    await adapter.start()
    for name in ("a", "b", "c"):
        configmap(store, name)
    for _ in range(100):
        await asyncio.sleep(0)
    assert calls == ["a", "b", "c"]  # each sent once, in order
    await adapter.stop()


async def test_sources_set_before_start_watch_from_start(store: Store, sink: Sink) -> None:
    adapter = ApiServerSourceAdapter(store, sink, api_url=API)
    adapter.set_source("default", "src", source())
    configmap(store, "before")
    await adapter.start()
    configmap(store, "after")
    await settle(sink, 1)
    assert sink.summary == [("dev.knative.apiserver.ref.add", subject("after"))]
    await adapter.stop()
    assert store.watch_count == 0
