"""The services' `proxy` subresource in-process: a real HTTP server stands for the plane's ingress; the seeded
`broker-ingress` Service and user Services are proxied to it with their cluster-local Host; errors read as
kube-apiserver's. Also the core Service kind itself (defaults, cluster IP, printer) and the seed."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from jupyter_knative.api.kinds import core, registry
from jupyter_knative.api.status import StatusError
from jupyter_knative.apiserver.app import APIServer
from jupyter_knative.apiserver.podproxy import ServiceProxy
from jupyter_knative.apiserver.resources import ResourceAPI
from jupyter_knative.apiserver.seed import seed
from jupyter_knative.store import Store

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BROKER_INGRESS = "/api/v1/namespaces/knative-eventing/services/broker-ingress"


@dataclass
class Served:
    store: Store
    api: str
    ingress: list[tuple[str, int] | None]


async def _echo(request: web.Request) -> web.StreamResponse:
    if request.path == "/stream":  # a chunked answer, written piece by piece
        resp = web.StreamResponse(headers={"X-Upstream": "stream"})
        await resp.prepare(request)
        for i in range(50):
            await resp.write(b"%04d" % i * 256)
        await resp.write_eof()
        return resp
    body = await request.read()
    return web.json_response({"method": request.method, "path": request.path_qs, "size": len(body),
                              "body": body[:64].decode(), "auth": request.headers.get("Authorization"),
                              "host": request.headers.get("Host"), "ce": request.headers.get("Ce-Type")},
                             status=202 if request.method == "POST" else 200, headers={"X-Upstream": "yes"})


def _service(name: str, ports: list[dict[str, Any]], namespace: str = "default") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"app": name}, "ports": ports}}


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    store = Store(registry())
    seed(store)
    services = store.registry.by_kind("", "Service")
    assert services is not None
    store.create(services, _service("single", [{"port": 8080}]))
    upstream = web.Application(client_max_size=16 * 1024 * 1024)
    upstream.router.add_route("*", "/{tail:.*}", _echo)
    upstream_runner = web.AppRunner(upstream)
    await upstream_runner.setup()
    await web.TCPSite(upstream_runner, "127.0.0.1", 0).start()
    ingress: list[tuple[str, int] | None] = [("127.0.0.1", upstream_runner.addresses[0][1])]
    server = APIServer(ResourceAPI(store), services=ServiceProxy(store, lambda: ingress[0]))
    runner = web.AppRunner(server.app(TOKEN))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield Served(store, f"http://127.0.0.1:{runner.addresses[0][1]}", ingress)
    finally:
        await runner.cleanup()
        await upstream_runner.cleanup()
        store.close()


async def test_requests_reach_the_ingress_with_the_services_cluster_local_host(served: Served) -> None:
    async with aiohttp.ClientSession(headers=AUTH) as http:
        async with http.post(f"{served.api}{BROKER_INGRESS}:80/proxy/ns/default?a=1&b=x%20y", data=b"payload",
                             headers={"Ce-Type": "greeting"}) as resp:
            assert resp.status == 202 and resp.headers["X-Upstream"] == "yes"
            got = await resp.json()
        assert got == {"method": "POST", "path": "/ns/default?a=1&b=x%20y", "size": 7, "body": "payload",
                       "auth": None,  # the API server's token stays behind
                       "host": "broker-ingress.knative-eventing.svc.cluster.local", "ce": "greeting"}
        async with http.get(f"{served.api}{BROKER_INGRESS}:http/proxy/by-name") as resp:  # a port by its name
            assert resp.status == 200 and (await resp.json())["path"] == "/by-name"
        async with http.get(f"{served.api}{BROKER_INGRESS.replace('knative-eventing', 'default')}/proxy/") as resp:
            assert resp.status == 404  # (another namespace's)
        async with http.get(f"{served.api}/api/v1/namespaces/default/services/single/proxy/x") as resp:
            got = await resp.json()  # one unnamed port: no port needed
            assert (resp.status, got["host"], got["path"]) == (200, "single.default.svc.cluster.local", "/x")
        for method in ("PUT", "PATCH", "DELETE", "OPTIONS"):
            async with http.request(method, f"{served.api}{BROKER_INGRESS}:80/proxy/m") as resp:
                assert (await resp.json())["method"] == method
        async with http.head(f"{served.api}{BROKER_INGRESS}:80/proxy/m") as resp:
            assert resp.status == 200 and await resp.read() == b""


async def test_bodies_stream_both_ways(served: Served) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"x" * 65536

    async with aiohttp.ClientSession(headers=AUTH) as http:
        async with http.post(f"{served.api}{BROKER_INGRESS}:80/proxy/upload", data=chunks()) as resp:
            assert (await resp.json())["size"] == 64 * 65536
        async with http.get(f"{served.api}{BROKER_INGRESS}:80/proxy/stream") as resp:
            assert resp.status == 200 and resp.headers["X-Upstream"] == "stream"
            assert "Content-Length" not in resp.headers
            assert await resp.read() == b"".join(b"%04d" % i * 256 for i in range(50))


async def test_errors_read_as_kube_apiservers(served: Served) -> None:
    async with aiohttp.ClientSession(headers=AUTH) as http:

        async def status(method: str, path: str) -> tuple[int, dict[str, Any]]:
            async with http.request(method, served.api + path, allow_redirects=False) as resp:
                return resp.status, (await resp.json() if resp.content_type == "application/json" else {})

        code, body = await status("POST", "/api/v1/namespaces/knative-eventing/services/nope:80/proxy/x")
        assert (code, body["reason"], body["message"]) == (404, "NotFound", 'services "nope" not found')
        assert (body["details"]["name"], body["details"]["kind"]) == ("nope", "services")
        code, body = await status("POST", f"{BROKER_INGRESS}:81/proxy/ns/default")
        assert (code, body["reason"], body["message"]) == (
            503, "ServiceUnavailable", 'no service port 81 found for service "broker-ingress"')
        code, body = await status("POST", f"{BROKER_INGRESS}:grpc/proxy/ns/default")
        assert (code, body["message"]) == (503, 'no endpoints available for service "broker-ingress:grpc"')
        code, body = await status("POST", f"{BROKER_INGRESS}/proxy/ns/default")  # its one port has a name
        assert (code, body["message"]) == (503, 'no endpoints available for service "broker-ingress"')
        code, body = await status("GET", "/api/v1/namespaces/default/services/a:b:c:d/proxy/")
        assert (code, body["reason"], body["message"]) == (400, "BadRequest", 'invalid service request "a:b:c:d"')
        code, _ = await status("TRACE", f"{BROKER_INGRESS}:80/proxy/")
        assert code == 405
        async with http.get(f"{served.api}{BROKER_INGRESS}:80/proxy?q=1", allow_redirects=False) as resp:
            assert resp.status == 301 and resp.headers["Location"] == f"{BROKER_INGRESS}:80/proxy/?q=1"
        closed = _free_port()
        served.ingress[0] = ("127.0.0.1", closed)  # the ingress is gone, its port closed
        code, body = await status("POST", f"{BROKER_INGRESS}:80/proxy/ns/default")
        assert (code, body["message"]) == (
            503, f"error trying to reach service: dial tcp 127.0.0.1:{closed}: connect: connection refused")
        served.ingress[0] = None  # not listening yet
        code, body = await status("POST", f"{BROKER_INGRESS}:80/proxy/ns/default")
        assert code == 503
    async with aiohttp.ClientSession() as anonymous, anonymous.post(
            f"{served.api}{BROKER_INGRESS}:80/proxy/ns/default") as resp:
        assert resp.status == 401


def test_seed_adds_broker_ingress_as_knative_defines_it_and_only_once(tmp_path: Path) -> None:
    older = Store(registry(), tmp_path / "plane.db")  # a home seeded before Services were
    namespaces = older.registry.by_kind("", "Namespace")
    assert namespaces is not None
    for name in ("default", "knative-eventing"):
        older.create(namespaces, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    older.close()
    store = Store(registry(), tmp_path / "plane.db")
    services = store.registry.by_kind("", "Service")
    assert services is not None and store.get(services, "knative-eventing", "broker-ingress") is None
    seed(store)
    svc = store.get(services, "knative-eventing", "broker-ingress")
    assert svc is not None
    assert svc["metadata"]["labels"] == {
        "eventing.knative.dev/brokerRole": "ingress", "app.kubernetes.io/component": "broker-ingress",
        "app.kubernetes.io/name": "knative-eventing", "app.kubernetes.io/version": "1.18.0"}
    spec = svc["spec"]
    assert spec["type"] == "ClusterIP" and spec["selector"] == {"eventing.knative.dev/brokerRole": "ingress"}
    assert spec["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    assert spec["clusterIPs"] == [spec["clusterIP"]] and spec["clusterIP"].startswith("10.96.")
    seed(store)
    again = store.get(services, "knative-eventing", "broker-ingress")
    assert again is not None and again["metadata"]["resourceVersion"] == svc["metadata"]["resourceVersion"]
    store.close()


def test_service_defaults_and_cluster_ip() -> None:
    store = Store(registry())
    seed(store)
    services = store.registry.by_kind("", "Service")
    assert services is not None
    created = store.create(services, _service("web", [{"name": "http", "port": 80}]))
    spec = created["spec"]
    assert spec["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}]
    assert (spec["sessionAffinity"], spec["internalTrafficPolicy"], spec["ipFamilyPolicy"]) == (
        "None", "Cluster", "SingleStack")
    replaced = {**created, "spec": {"ports": [{"port": 81}], "selector": {"app": "web"}}}
    updated = store.update(services, replaced)  # a PUT without the cluster IP keeps it
    assert updated["spec"]["clusterIP"] == spec["clusterIP"]
    with pytest.raises(StatusError) as err:
        store.update(services, {**updated, "spec": {**updated["spec"], "clusterIP": "10.96.9.9",
                                                    "clusterIPs": ["10.96.9.9"]}})
    assert err.value.code == 422 and "may not change once set" in str(err.value.to_status()["message"])
    with pytest.raises(StatusError) as err:
        store.create(services, _service("portless", []))
    assert "spec.ports: Required value" in str(err.value.to_status()["message"])
    headless = store.create(services, {**_service("headless", []), "spec": {"clusterIP": "None"}})
    assert headless["spec"]["clusterIP"] == "None"
    store.close()


@pytest.mark.parametrize(("spec", "status", "cells"), [
    pytest.param({"type": "ClusterIP", "clusterIPs": ["10.96.0.20"], "selector": {"b": "2", "a": "1"},
                  "ports": [{"port": 80, "protocol": "TCP"}, {"port": 9092, "protocol": "TCP"}]}, {},
                 ["ClusterIP", "10.96.0.20", "<none>", "80/TCP,9092/TCP", "3m", "a=1,b=2"], id="cluster-ip"),
    pytest.param({"type": "NodePort", "clusterIPs": ["10.96.0.3"], "externalIPs": ["1.2.3.4"],
                  "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}, {},
                 ["NodePort", "10.96.0.3", "1.2.3.4", "80:30080/TCP", "3m", "<none>"], id="node-port"),
    pytest.param({"type": "LoadBalancer", "clusterIPs": ["10.96.0.4"], "ports": [{"port": 443, "protocol": "TCP"}]},
                 {}, ["LoadBalancer", "10.96.0.4", "<pending>", "443/TCP", "3m", "<none>"], id="lb-pending"),
    pytest.param({"type": "LoadBalancer", "clusterIPs": ["10.96.0.4"], "ports": [{"port": 80, "protocol": "TCP"}]},
                 {"loadBalancer": {"ingress": [{"ip": "172.18.0.5"}]}},
                 ["LoadBalancer", "10.96.0.4", "172.18.0.5", "80/TCP", "3m", "<none>"], id="lb"),
    pytest.param({"type": "ExternalName", "externalName": "kourier-internal.kourier-system.svc.cluster.local"},
                 {}, ["ExternalName", "<none>", "kourier-internal.kourier-system.svc.cluster.local", "<none>", "3m",
                      "<none>"], id="external-name"),
])
def test_service_rows(spec: dict[str, Any], status: dict[str, Any], cells: list[str]) -> None:
    assert core.SERVICE.row_printer is not None
    columns, print_row = core.SERVICE.row_printer
    assert [c.name for c in columns] == ["Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"]
    obj = {"metadata": {"name": "s", "creationTimestamp": "2026-01-01T11:57:00Z"}, "spec": spec, "status": status}
    assert print_row(obj, datetime(2026, 1, 1, 12, tzinfo=UTC).timestamp()) == cells


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
