"""The serving controllers end to end on a real store, with a fake replica runtime and data plane."""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from jupyter_knative.api.kinds import registry
from jupyter_knative.apiserver.seed import seed
from jupyter_knative.controllers.replicaset import ContainerSpec, PodRef, Started, StartError
from jupyter_knative.controllers.runtime import Manager, RealClock
from jupyter_knative.controllers.serving import Serving
from jupyter_knative.dataplane.routing import RevisionKey, RouteTable
from jupyter_knative.store import Store


class FakeRuntime:
    def __init__(self) -> None:
        self.ports = itertools.count(20000)
        self.running: dict[PodRef, ContainerSpec] = {}
        self.handler: Callable[[PodRef, int, str], None] | None = None
        self.crash_images: set[str] = set()
        self.slow_stop: asyncio.Event | None = None  # when set: stop() drains until the event fires

    async def start(self, pod: PodRef, container: ContainerSpec) -> Started:
        if container.image.split("@")[0] in self.crash_images:
            raise StartError("Error", "boom: the function raised at import", exit_code=1)
        self.running[pod] = container
        return Started(pid=next(self.ports), port=next(self.ports))

    async def stop(self, pod: PodRef, grace: float) -> None:
        if self.slow_stop is not None:
            await self.slow_stop.wait()
        self.running.pop(pod, None)

    def on_exit(self, handler: Callable[[PodRef, int, str], None]) -> None:
        self.handler = handler

    def log_path(self, namespace: str, pod: str, container: str, restart: int) -> Path:
        return Path("/dev/null")


class FakeDataPlane:
    def __init__(self) -> None:
        self.table = RouteTable.build({})
        self.endpoints: dict[RevisionKey, list[tuple[str, int]]] = {}
        self.settings: dict[RevisionKey, dict[str, Any]] = {}

    def set_routes(self, table: RouteTable) -> None:
        self.table = table

    def set_revision_settings(self, key: RevisionKey, spec: dict[str, Any] | None,
                              labels: Mapping[str, str] | None = None) -> None:
        if spec is None:
            self.settings.pop(key, None)
        else:
            self.settings[key] = spec

    def set_endpoints(self, key: RevisionKey, endpoints: list[tuple[str, int]]) -> None:
        self.endpoints[key] = endpoints

    def snapshot(self) -> dict[RevisionKey, Any]:
        return {}


def resolve(image: str, namespace: str) -> tuple[str | None, str | None]:
    if "@sha256:" in image:
        return image, None
    if image.startswith("ok/") or image.startswith("crash/"):
        return image + "@sha256:" + "0" * 64, None
    return None, "failed to resolve image to digest: no such image"


SERVING: dict[int, Serving] = {}


@pytest.fixture
async def plane() -> AsyncIterator[tuple[Store, FakeRuntime, FakeDataPlane]]:
    store = Store(registry())
    seed(store)
    manager = Manager(store, RealClock())
    runtime, dataplane = FakeRuntime(), FakeDataPlane()
    SERVING[id(store)] = Serving(manager, dataplane, runtime, resolve)
    await manager.start()
    yield store, runtime, dataplane
    await manager.stop()
    SERVING.pop(id(store))
    store.close()


def kind(store: Store, group: str, kind_: str) -> Any:
    return store.registry.by_kind(group, kind_)


def ksvc(name: str, image: str = "ok/hello", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"template": {"spec": {"containers": [{"image": image}]}}, **spec}}


async def until(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


def ready(obj: dict[str, Any] | None, type_: str = "Ready") -> str:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return str(c["status"])
    return ""


async def test_hello_world_becomes_ready(plane: tuple[Store, FakeRuntime, FakeDataPlane]) -> None:
    store, _, dataplane = plane
    svc_t = kind(store, "serving.knative.dev", "Service")
    store.create(svc_t, ksvc("hello"))
    svc = await until(lambda: (s := store.get(svc_t, "default", "hello")) and ready(s) == "True" and s)
    st = svc["status"]
    assert st["url"] == "http://hello.default.svc.cluster.local"
    assert st["address"] == {"url": "http://hello.default.svc.cluster.local"}
    assert st["latestCreatedRevisionName"] == st["latestReadyRevisionName"] == "hello-00001"
    assert st["traffic"] == [{"revisionName": "hello-00001", "latestRevision": True, "percent": 100}]
    rev = store.must_get(kind(store, "serving.knative.dev", "Revision"), "default", "hello-00001")
    labels = rev["metadata"]["labels"]
    assert labels["serving.knative.dev/routingState"] == "active"
    assert labels["serving.knative.dev/configurationGeneration"] == "1"
    assert rev["status"]["actualReplicas"] == 1
    assert rev["status"]["containerStatuses"][0]["imageDigest"].startswith("ok/hello@sha256:")
    route = dataplane.table.lookup("hello.default.svc.cluster.local")
    assert route is not None and route.targets[0].revision == RevisionKey("default", "hello-00001")
    assert len(dataplane.endpoints[RevisionKey("default", "hello-00001")]) == 1
    pods, _ = store.list(kind(store, "", "Pod"), "default")
    assert len(pods) == 1 and pods[0]["metadata"]["name"].startswith("hello-00001-deployment-")
    assert [c["name"] for c in pods[0]["spec"]["containers"]] == ["user-container", "queue-proxy"]


async def test_update_makes_a_second_revision_and_moves_traffic(
        plane: tuple[Store, FakeRuntime, FakeDataPlane]) -> None:
    store, _, dataplane = plane
    svc_t = kind(store, "serving.knative.dev", "Service")
    store.create(svc_t, ksvc("hello"))
    await until(lambda: ready(store.get(svc_t, "default", "hello")) == "True")
    svc = store.must_get(svc_t, "default", "hello")
    svc["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "TARGET", "value": "v2"}]
    store.update(svc_t, svc)
    done = await until(lambda: (s := store.get(svc_t, "default", "hello")) and ready(s) == "True"
                       and s["status"].get("latestReadyRevisionName") == "hello-00002" and s)
    assert done["status"]["traffic"][0]["revisionName"] == "hello-00002"
    old = store.must_get(kind(store, "serving.knative.dev", "Revision"), "default", "hello-00001")
    assert await until(lambda: (store.must_get(kind(store, "serving.knative.dev", "Revision"), "default",
                                               "hello-00001")["metadata"]["labels"]
                                ["serving.knative.dev/routingState"] == "reserve"))
    del old
    route = dataplane.table.lookup("hello.default.svc.cluster.local")
    assert route is not None and route.targets == (route.targets[0],)


async def test_split_and_tags(plane: tuple[Store, FakeRuntime, FakeDataPlane]) -> None:
    store, _, dataplane = plane
    svc_t = kind(store, "serving.knative.dev", "Service")
    store.create(svc_t, ksvc("blue"))
    await until(lambda: ready(store.get(svc_t, "default", "blue")) == "True")
    svc = store.must_get(svc_t, "default", "blue")
    svc["spec"]["template"]["spec"]["containers"][0]["image"] = "ok/green"
    svc["spec"]["traffic"] = [{"revisionName": "blue-00001", "percent": 50, "tag": "blue"},
                              {"latestRevision": True, "percent": 50, "tag": "green"}]
    store.update(svc_t, svc)
    done = await until(lambda: (s := store.get(svc_t, "default", "blue")) and ready(s) == "True"
                       and len(s["status"].get("traffic", [])) == 2 and s)
    assert done["status"]["traffic"] == [
        {"tag": "blue", "revisionName": "blue-00001", "latestRevision": False, "percent": 50,
         "url": "http://blue-blue.default.svc.cluster.local"},
        {"tag": "green", "revisionName": "blue-00002", "latestRevision": True, "percent": 50,
         "url": "http://green-blue.default.svc.cluster.local"}]
    main = dataplane.table.lookup("blue.default.svc.cluster.local")
    assert main is not None and {t.percent for t in main.targets} == {50}
    tagged = dataplane.table.lookup("green-blue.default.svc.cluster.local")
    assert tagged is not None and tagged.targets[0].revision.name == "blue-00002"


async def test_unknown_image_is_container_missing(plane: tuple[Store, FakeRuntime, FakeDataPlane]) -> None:
    store, _, _ = plane
    svc_t = kind(store, "serving.knative.dev", "Service")
    store.create(svc_t, ksvc("missing", image="example.com/nope"))
    rev_t = kind(store, "serving.knative.dev", "Revision")
    rev = await until(lambda: (r := store.get(rev_t, "default", "missing-00001")) and ready(r) == "False" and r)
    cond = next(c for c in rev["status"]["conditions"] if c["type"] == "ContainerHealthy")
    assert cond["reason"] == "ContainerMissing"
    assert cond["message"].startswith('Unable to fetch image "example.com/nope": ')
    svc = await until(lambda: (s := store.get(svc_t, "default", "missing")) and ready(s) == "False" and s)
    cfg_ready = next(c for c in svc["status"]["conditions"] if c["type"] == "ConfigurationsReady")
    assert cfg_ready["reason"] == "RevisionFailed"


async def test_crash_loop_surfaces_exit_code(plane: tuple[Store, FakeRuntime, FakeDataPlane]) -> None:
    store, runtime, _ = plane
    runtime.crash_images.add("crash/app")
    store.create(kind(store, "serving.knative.dev", "Service"), ksvc("crashy", image="crash/app"))
    rev_t = kind(store, "serving.knative.dev", "Revision")
    rev = await until(lambda: (r := store.get(rev_t, "default", "crashy-00001")) and ready(r) == "False" and r)
    cond = next(c for c in rev["status"]["conditions"] if c["type"] == "ContainerHealthy")
    assert (cond["reason"], cond["message"]) == ("ExitCode1",
                                                 "Container failed with: boom: the function raised at import")
    pods, _ = store.list(kind(store, "", "Pod"), "default")
    waiting = pods[0]["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "CrashLoopBackOff" and "back-off 10s restarting failed container=user-container" \
        in waiting["message"]


async def test_not_owned_configuration(plane: tuple[Store, FakeRuntime, FakeDataPlane]) -> None:
    store, _, _ = plane
    cfg_t = kind(store, "serving.knative.dev", "Configuration")
    store.create(cfg_t, {"apiVersion": "serving.knative.dev/v1", "kind": "Configuration",
                         "metadata": {"name": "taken", "namespace": "default"},
                         "spec": {"template": {"spec": {"containers": [{"image": "ok/x"}]}}}})
    svc_t = kind(store, "serving.knative.dev", "Service")
    store.create(svc_t, ksvc("taken"))
    svc = await until(lambda: (s := store.get(svc_t, "default", "taken")) and ready(s) == "False" and s)
    cond = next(c for c in svc["status"]["conditions"] if c["type"] == "ConfigurationsReady")
    assert (cond["reason"], cond["message"]) == ("NotOwned", 'There is an existing Configuration "taken" that we '
                                                             "do not own.")


async def test_scale_from_zero_on_activation(plane: tuple[Store, FakeRuntime, FakeDataPlane]) -> None:
    store, _, dataplane = plane
    cm_t = kind(store, "", "ConfigMap")
    autoscaler = store.must_get(cm_t, "knative-serving", "config-autoscaler")
    autoscaler["data"]["allow-zero-initial-scale"] = "true"
    store.update(cm_t, autoscaler)
    svc = ksvc("lazy")
    svc["spec"]["template"]["metadata"] = {"annotations": {"autoscaling.knative.dev/initial-scale": "0"}}
    svc_t = kind(store, "serving.knative.dev", "Service")
    store.create(svc_t, copy.deepcopy(svc))
    key = RevisionKey("default", "lazy-00001")
    await until(lambda: ready(store.get(svc_t, "default", "lazy")) == "True")
    assert not dataplane.endpoints.get(key)
    pa_t = kind(store, "autoscaling.internal.knative.dev", "PodAutoscaler")
    pa = store.must_get(pa_t, "default", "lazy-00001")
    assert pa["status"].get("desiredScale", 0) <= 0  # no decision yet (Knative keeps -1 out of the status)
    active = next(c for c in pa["status"]["conditions"] if c["type"] == "Active")
    assert (active["status"], active["reason"]) == ("False", "NoTraffic")
    SERVING[id(store)].activate(key)  # the ingress's scale-from-zero poke
    await until(lambda: dataplane.endpoints.get(key))
    await until(lambda: store.must_get(pa_t, "default", "lazy-00001")["status"]["actualScale"] == 1)


async def test_a_draining_replica_does_not_hold_up_new_ones(plane: tuple[Store, FakeRuntime, FakeDataPlane]) -> None:
    """Stopping a replica may take its whole grace period (timeoutSeconds); other pods start meanwhile."""
    store, runtime, dataplane = plane
    svc_t, pod_t = kind(store, "serving.knative.dev", "Service"), kind(store, "", "Pod")
    first = ksvc("first")
    first["spec"]["template"]["metadata"] = {"annotations": {"autoscaling.knative.dev/initial-scale": "5"}}
    store.create(svc_t, first)
    await until(lambda: ready(store.get(svc_t, "default", "first")) == "True")
    assert len(store.list(pod_t, "default")[0]) == 5  # more than the kubelet's workers
    runtime.slow_stop = asyncio.Event()
    for pod in store.list(pod_t, "default")[0]:
        store.delete(pod_t, "default", pod["metadata"]["name"])
    for name in ("second", "third", "fourth", "fifth", "sixth"):
        store.create(svc_t, ksvc(name))
    for name in ("second", "third", "fourth", "fifth", "sixth"):
        await until(lambda n=name: ready(store.get(svc_t, "default", n)) == "True")  # type: ignore[misc]
    terminating = [p for p in store.list(pod_t, "default")[0] if p["metadata"].get("deletionTimestamp")]
    assert terminating, "the deleted pod should still be draining"
    runtime.slow_stop.set()
    await until(lambda: not any(p["metadata"].get("deletionTimestamp") for p in store.list(pod_t, "default")[0]))
    del dataplane
