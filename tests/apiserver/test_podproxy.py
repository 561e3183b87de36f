"""The pods' `proxy` subresource in-process: a real upstream HTTP server stands for the replica, a real
`Ingress` carries requests to it and renders its queue-proxy metrics; errors read as kube-apiserver's."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from jupyter_knative.api.kinds import registry
from jupyter_knative.apiserver.app import APIServer
from jupyter_knative.apiserver.podproxy import PodProxy, match, split_scheme_name_port
from jupyter_knative.apiserver.resources import ResourceAPI
from jupyter_knative.apiserver.seed import seed
from jupyter_knative.dataplane import Endpoint, HostRoute, Ingress, RevisionKey, RevisionSettings, RouteTable, Target
from jupyter_knative.store import Store
from jupyter_knative.widgets.feed import parse_metrics

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KEY = RevisionKey("default", "hello-00001")


@dataclass
class Backend:
    ingress: Ingress
    ports: dict[str, int] = field(default_factory=dict)

    def replica_port(self, namespace: str, pod: str) -> int | None:
        return self.ports.get(pod)

    def queue_proxy_metrics(self, namespace: str, pod: str, revision: str) -> bytes:
        return self.ingress.pod_metrics_text(RevisionKey(namespace, revision), pod)


@dataclass
class Served:
    store: Store
    backend: Backend
    api: str
    ingress: str


def _pod(name: str, revision: str | None = "hello-00001", ip: str | None = "127.0.0.1") -> dict[str, Any]:
    labels = {"serving.knative.dev/revision": revision, "serving.knative.dev/service": "hello"} if revision else {}
    pod: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {"containers": [{"name": "user-container", "image": "x",
                                 "ports": [{"name": "user-port", "containerPort": 8080}]},
                                {"name": "queue-proxy", "image": "q",
                                 "ports": [{"name": "http-usermetric", "containerPort": 9091}]}]}}
    if ip:
        pod["status"] = {"phase": "Running", "podIP": ip}
    return pod


async def _echo(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    return web.json_response({"method": request.method, "path": request.path_qs, "body": body.decode(),
                              "auth": request.headers.get("Authorization"), "host": request.headers.get("Host"),
                              "x": request.headers.get("X-Test")}, headers={"X-Replica": "yes"})


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    store = Store(registry())
    seed(store)
    pods = store.registry.by_kind("", "Pod")
    assert pods is not None
    for pod in (_pod("hello-a"), _pod("hello-b"), _pod("plain", revision=None), _pod("pending", ip=None),
                _pod("stopped")):
        status = pod.get("status")
        created = store.create(pods, pod)
        if status:  # status is written through its subresource, as the kubelet does
            store.update(pods, {**created, "status": status}, subresource="status")
    replica_app = web.Application()
    replica_app.router.add_route("*", "/{tail:.*}", _echo)
    replica = web.AppRunner(replica_app)
    await replica.setup()
    site = web.TCPSite(replica, "127.0.0.1", 0)
    await site.start()
    replica_port = replica.addresses[0][1]
    ingress = Ingress()
    await ingress.start("127.0.0.1", 0)
    ingress.set_revision(KEY, RevisionSettings(service_name="hello", configuration_name="hello"))
    ingress.set_endpoints(KEY, [Endpoint("127.0.0.1", replica_port, "hello-a")])
    ingress.set_routes(RouteTable.build({"hello.default.example.com": HostRoute((Target(KEY, 100),))}))
    backend = Backend(ingress, {"hello-a": replica_port, "hello-b": replica_port, "plain": replica_port,
                                "pending": replica_port})
    runner = web.AppRunner(APIServer(ResourceAPI(store), pods=PodProxy(store, backend)).app(TOKEN))
    await runner.setup()
    api_site = web.TCPSite(runner, "127.0.0.1", 0)
    await api_site.start()
    try:
        yield Served(store, backend, f"http://127.0.0.1:{runner.addresses[0][1]}",
                     f"http://127.0.0.1:{ingress.port}")
    finally:
        await runner.cleanup()
        ingress.close()
        await replica.cleanup()
        store.close()


def test_paths_and_names() -> None:
    assert match("/api/v1/namespaces/ns/pods/p:9091/proxy/metrics") == ("pods", "ns", "p:9091", "/metrics")
    assert match("/api/v1/namespaces/ns/pods/p/proxy") == ("pods", "ns", "p", "")
    assert match("/api/v1/namespaces/ns/pods/p/log") is None
    assert match("/api/v1/namespaces/ns/services/s/proxy/") == ("services", "ns", "s", "/")
    assert match("/api/v1/namespaces/ns/configmaps/c/proxy/") is None
    assert split_scheme_name_port("p") == ("", "p", "")
    assert split_scheme_name_port("p:8080") == ("", "p", "8080")
    assert split_scheme_name_port("https:p:8443") == ("https", "p", "8443")
    assert split_scheme_name_port("ftp:p:21") is None and split_scheme_name_port(":80") is None


async def test_requests_are_forwarded_with_query_body_and_headers(served: Served) -> None:
    async with aiohttp.ClientSession(headers=AUTH) as http:
        base = f"{served.api}/api/v1/namespaces/default/pods"
        async with http.post(f"{base}/hello-a:8080/proxy/some/where?a=1&b=x%20y", data=b"payload",
                             headers={"X-Test": "t"}) as resp:
            assert resp.status == 200 and resp.headers["X-Replica"] == "yes"
            got = await resp.json()
        assert got == {"method": "POST", "path": "/some/where?a=1&b=x%20y", "body": "payload",
                       "auth": None, "host": "127.0.0.1:8080", "x": "t"}  # the API server's token stays behind
        async with http.get(f"{base}/plain/proxy/") as resp:  # no port: the first declared one
            assert (await resp.json())["host"] == "127.0.0.1:8080"
        for method in ("PUT", "PATCH", "DELETE"):
            async with http.request(method, f"{base}/plain:8080/proxy/x") as resp:
                assert (await resp.json())["method"] == method
        async with http.head(f"{base}/plain:8080/proxy/x") as resp:
            assert resp.status == 200


async def test_errors_read_as_kube_apiservers(served: Served) -> None:
    async with aiohttp.ClientSession(headers=AUTH) as http:
        base = f"{served.api}/api/v1/namespaces/default/pods"

        async def status(method: str, url: str) -> tuple[int, dict[str, Any]]:
            async with http.request(method, url, allow_redirects=False) as resp:
                return resp.status, (await resp.json() if resp.content_type == "application/json" else {})

        code, body = await status("GET", f"{base}/nope:8080/proxy/")
        assert (code, body["reason"], body["message"]) == (404, "NotFound", 'pods "nope" not found')
        assert body["details"]["name"] == "nope" and body["details"]["kind"] == "pods"
        code, body = await status("GET", f"{base}/stopped:9091/proxy/metrics")
        assert (code, body["reason"], body["message"]) == (
            503, "ServiceUnavailable", "error trying to reach service: dial tcp 127.0.0.1:9091: connect: "
                                       "connection refused")
        code, body = await status("GET", f"{base}/pending:8080/proxy/")
        assert (code, body["reason"], body["message"]) == (400, "BadRequest", "address not allowed")
        code, body = await status("GET", f"{base}/a:b:c:d/proxy/")
        assert (code, body["message"]) == (400, 'invalid pod request "a:b:c:d"')
        code, body = await status("TRACE", f"{base}/plain/proxy/")
        assert code == 405
        async with http.get(f"{base}/plain:8080/proxy?q=1", allow_redirects=False) as resp:
            assert resp.status == 301
            assert resp.headers["Location"] == "/api/v1/namespaces/default/pods/plain:8080/proxy/?q=1"
        served.backend.ports["plain"] = _free_port()  # the process is gone, its port closed
        code, body = await status("GET", f"{base}/plain:8080/proxy/")
        assert (code, body["message"]) == (
            503, "error trying to reach service: dial tcp 127.0.0.1:8080: connect: connection refused")
    url = f"{served.api}/api/v1/namespaces/default/pods/plain/proxy/"
    async with aiohttp.ClientSession() as anonymous, anonymous.get(url) as resp:
        assert resp.status == 401


async def test_queue_proxy_port_serves_that_replicas_metrics(served: Served) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/a", "/b", "/c"):
            async with http.get(served.ingress + path, headers={"Host": "hello.default.example.com"}) as resp:
                assert resp.status == 200
        async with http.get(f"{served.api}/api/v1/namespaces/default/pods/hello-a:9091/proxy/metrics",
                            headers=AUTH) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = await resp.text()
        async with http.get(f"{served.api}/api/v1/namespaces/default/pods/hello-b:9091/proxy/metrics",
                            headers=AUTH) as resp:
            other = parse_metrics(await resp.text())
    metrics = parse_metrics(text)
    [count] = metrics["revision_request_count"]
    assert count.value == 3
    assert count.labels == {"namespace_name": "default", "service_name": "hello", "configuration_name": "hello",
                            "revision_name": "hello-00001", "pod_name": "hello-a", "container_name": "queue-proxy",
                            "response_code": "200", "response_code_class": "2xx"}
    assert [s.value for s in metrics["revision_app_request_count"]] == [3]
    assert [s.value for s in metrics["revision_request_latencies_count"]] == [3]
    buckets = metrics["revision_request_latencies_bucket"]
    assert buckets[0].labels["le"] == "5" and buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == 3
    assert "revision_queue_depth" not in metrics  # unlimited concurrency: not reported
    assert "revision_request_count" not in other  # hello-b took no request (not an endpoint of the ingress)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
