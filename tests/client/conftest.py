"""Clients on the session's plane: `client` (the embedded backend, which knows the ingress and the plane's
files), `kube` (the same plane through its kubeconfig, as any cluster is reached) and `cluster` (the plane
through a copy of its kubeconfig elsewhere: to the client, just some cluster), all in the test's namespace."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from jupyter_knative.client import Client
from jupyter_knative.home import PlaneHome

from ..conftest import Plane

T = TypeVar("T")


@pytest.fixture
def client(plane: Plane, namespace: str) -> Iterator[Client]:
    c = Client.embedded(home=PlaneHome(plane.home), namespace=namespace, start=False)
    yield c
    c.close()


@pytest.fixture
def kube(plane: Plane, namespace: str) -> Iterator[Client]:
    c = Client(kubeconfig=plane.kubeconfig, namespace=namespace)
    yield c
    c.close()


@pytest.fixture
def cluster(plane: Plane, namespace: str, tmp_path: Path) -> Iterator[Client]:
    """The plane as any cluster: a copy of its kubeconfig outside its home (so the client cannot tell it is the
    plane: no built-in builder, no plane files) and its ingress given as a user gives a port-forwarded one."""
    copy = tmp_path / "kubeconfig"
    shutil.copy(plane.kubeconfig, copy)
    c = Client(kubeconfig=copy, namespace=namespace, ingress=plane.ingress)
    assert c.home is None and c.backend == "kubernetes"
    yield c
    c.close()


@pytest.fixture
def other_namespace(plane: Plane) -> Iterator[str]:
    name = "t-" + uuid.uuid4().hex[:10]
    resp = plane.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": name}})
    assert resp.status == 201, resp.body
    yield name
    plane.request("DELETE", f"/api/v1/namespaces/{name}")


def until(check: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.1) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout}s (last: {value!r})")
        time.sleep(interval)


def names(objs: list[dict[str, Any]]) -> list[str]:
    return [o["metadata"]["name"] for o in objs]
