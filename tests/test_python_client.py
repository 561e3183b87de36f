"""The official `kubernetes` Python client against the embedded plane."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from .conftest import Plane

GROUP, VERSION, PLURAL = "serving.knative.dev", "v1", "services"


@pytest.fixture
def api(plane: Plane) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(plane.kubeconfig))
    yield api_client
    api_client.close()


def ksvc(name: str, image: str = "ghcr.io/knative/helloworld-go") -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Service", "metadata": {"name": name},
            "spec": {"template": {"spec": {"containers": [{"image": image}]}}}}


def replace_with_retry(co: client.CustomObjectsApi, namespace: str, name: str,
                       change: Any) -> dict[str, Any]:
    """Read, change, replace; again on 409 (the controllers write status concurrently), as client-go's
    RetryOnConflict does."""
    for _ in range(10):
        obj = co.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        change(obj)
        try:
            return co.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, obj)  # type: ignore[no-any-return]
        except ApiException as e:
            if e.status != 409:
                raise
    raise AssertionError("conflicts did not stop")


def test_custom_objects_crud(api: client.ApiClient, namespace: str) -> None:
    co = client.CustomObjectsApi(api)
    created = co.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, ksvc("hello"))
    assert created["metadata"]["generation"] == 1
    got = co.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "hello")
    assert got["metadata"]["uid"] == created["metadata"]["uid"]
    listed = co.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    assert [i["metadata"]["name"] for i in listed["items"]] == ["hello"]
    replaced = replace_with_retry(co, namespace, "hello", lambda obj: obj["spec"]["template"]["spec"]
                                  ["containers"][0].update(image="ghcr.io/knative/helloworld-go:v2"))
    assert replaced["metadata"]["generation"] == 2
    patched = co.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "hello",
                                                {"metadata": {"labels": {"a": "b"}}})
    assert patched["metadata"]["labels"] == {"a": "b"} and patched["metadata"]["generation"] == 2
    status = co.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, PLURAL, "hello",
                                                      {"status": {"observedGeneration": 2}})
    assert status["status"]["observedGeneration"] == 2
    co.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "hello")
    with pytest.raises(ApiException) as err:
        co.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "hello")
    assert err.value.status == 404


def test_conflict_on_stale_resource_version(api: client.ApiClient, namespace: str) -> None:
    co = client.CustomObjectsApi(api)
    first = co.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, ksvc("hello"))
    co.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "hello",
                                      {"metadata": {"labels": {"v": "2"}}})
    first["metadata"]["labels"] = {"v": "stale"}
    with pytest.raises(ApiException) as err:
        co.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "hello", first)
    assert err.value.status == 409
    assert "the object has been modified" in err.value.body


def test_core_configmaps(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c"), data={"a": "1"})
    core.create_namespaced_config_map(namespace, cm)
    core.patch_namespaced_config_map("c", namespace, {"data": {"b": "2"}})
    got = core.read_namespaced_config_map("c", namespace)
    assert got.data == {"a": "1", "b": "2"}
    core.delete_namespaced_config_map("c", namespace)
    assert core.list_namespaced_config_map(namespace).items == []
    nss = [n.metadata.name for n in core.list_namespace().items]
    assert {"default", "knative-serving", "knative-eventing"} <= set(nss)


def test_watch_stream(api: client.ApiClient, namespace: str) -> None:
    co = client.CustomObjectsApi(api)
    seen: list[tuple[str, str]] = []
    ready = threading.Event()
    w = watch.Watch()
    start = co.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["metadata"]["resourceVersion"]

    def consume() -> None:
        ready.set()
        for event in w.stream(co.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL,
                              resource_version=start, timeout_seconds=10):
            seen.append((event["type"], event["object"]["metadata"]["name"]))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    ready.wait()
    co.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, ksvc("w"))
    co.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w", {"metadata": {"labels": {"a": "b"}}})
    co.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w")
    thread.join(timeout=20)
    assert not thread.is_alive()
    # the service controller's status updates arrive as MODIFIED events too
    assert seen[0] == ("ADDED", "w") and seen[-1] == ("DELETED", "w")
    assert ("MODIFIED", "w") in seen[1:-1] and set(seen[1:-1]) == {("MODIFIED", "w")}


def test_watch_resumes_from_resource_version(api: client.ApiClient, namespace: str) -> None:
    co = client.CustomObjectsApi(api)
    listing = co.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    rv = listing["metadata"]["resourceVersion"]
    co.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, ksvc("later"))
    w = watch.Watch()
    events = []
    for event in w.stream(co.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL,
                          resource_version=rv, timeout_seconds=2):
        events.append((event["type"], event["object"]["metadata"]["name"]))
        w.stop()
    assert events == [("ADDED", "later")]


def test_label_selector_and_pagination(api: client.ApiClient, namespace: str) -> None:
    co = client.CustomObjectsApi(api)
    for i in range(5):
        body = ksvc(f"s{i}")
        body["metadata"]["labels"] = {"parity": "even" if i % 2 == 0 else "odd"}
        co.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    evens = co.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, label_selector="parity=even")
    assert [i["metadata"]["name"] for i in evens["items"]] == ["s0", "s2", "s4"]
    page = co.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, limit=2)
    names = [i["metadata"]["name"] for i in page["items"]]
    while page["metadata"].get("continue"):
        page = co.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, limit=2,
                                                _continue=page["metadata"]["continue"])
        names += [i["metadata"]["name"] for i in page["items"]]
    assert names == ["s0", "s1", "s2", "s3", "s4"]


def test_dynamic_client_discovery(api: client.ApiClient, namespace: str) -> None:
    from kubernetes.dynamic import DynamicClient
    dyn = DynamicClient(api)
    services = dyn.resources.get(api_version="serving.knative.dev/v1", kind="Service")
    services.create(body=ksvc("dyn"), namespace=namespace)
    assert [i.metadata.name for i in services.get(namespace=namespace).items] == ["dyn"]


def test_server_side_apply(api: client.ApiClient, namespace: str) -> None:
    co = client.CustomObjectsApi(api)
    resp = co.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "ssa", ksvc("ssa"),
                                             field_manager="notebook", force=True, _preload_content=False,
                                             _content_type="application/apply-patch+yaml")
    assert resp.status == 201  # created, as the apiserver answers (the client only decodes a 200 here)
    applied = co.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "ssa")
    assert [e["manager"] for e in applied["metadata"]["managedFields"]] == ["notebook"]
    with pytest.raises(ApiException) as err:
        co.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "ssa", ksvc("ssa", "other"),
                                          field_manager="rival", _content_type="application/apply-patch+yaml")
    assert err.value.status == 409
