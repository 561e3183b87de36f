"""The client's pure parts: kind resolution, merge patches, manifests, kn's flag placement, load numbers,
rendering and error parsing."""

from __future__ import annotations

import datetime
import json
import random
from pathlib import Path
from typing import Any

import pytest

from jupyter_knative.client import KnativeError, LoadSummary, Table
from jupyter_knative.client.describing import age, describe_text
from jupyter_knative.client.errors import from_status_body, from_transport
from jupyter_knative.client.http import Headers, Response, binary_event_headers, encode_body
from jupyter_knative.client.kinds import resolve, suggestions, unknown_kind
from jupyter_knative.client.load import percentile, summarize
from jupyter_knative.client.manifests import (
    LAST_APPLIED,
    export_documents,
    last_applied,
    parse_manifest,
    with_last_applied,
)
from jupyter_knative.client.merging import diff_patch, three_way_patch
from jupyter_knative.client.serving import (
    Deployment,
    FunctionSpec,
    render_revision_name,
    revision_template,
    updated_template,
)

from .helpers import resource

KNATIVE = [
    resource("services", "Service", "serving.knative.dev", short=("kservice", "ksvc")),
    resource("revisions", "Revision", "serving.knative.dev", short=("rev",)),
    resource("routes", "Route", "serving.knative.dev", short=("rt",)),
    resource("configurations", "Configuration", "serving.knative.dev", short=("config", "cfg")),
    resource("services", "Service", "serving.knative.dev", version="v1alpha1", preferred=False),
    resource("brokers", "Broker", "eventing.knative.dev"),
    resource("ingresses", "Ingress", "networking.internal.knative.dev", "v1alpha1", short=("kingress", "king")),
    resource("configmaps", "ConfigMap", short=("cm",)),
    resource("pods", "Pod", short=("po",)),
    resource("namespaces", "Namespace", short=("ns",), namespaced=False),
    resource("deployments", "Deployment", "apps", short=("deploy",)),
]
# what a real cluster adds: core Services, networking.k8s.io Ingresses, OpenShift Routes
CLUSTER = [*KNATIVE, resource("services", "Service", short=("svc",)),
           resource("ingresses", "Ingress", "networking.k8s.io", short=("ing",)),
           resource("routes", "Route", "route.openshift.io")]


@pytest.mark.parametrize(("word", "resources", "want"), [
    pytest.param("ksvc", KNATIVE, "services.serving.knative.dev", id="short name"),
    pytest.param("kservice", KNATIVE, "services.serving.knative.dev", id="second short name"),
    pytest.param("service", KNATIVE, "services.serving.knative.dev", id="singular"),
    pytest.param("Service", CLUSTER, "services.serving.knative.dev", id="kind beats core Service on a cluster"),
    pytest.param("services", CLUSTER, "services.serving.knative.dev", id="plural beats core Service on a cluster"),
    pytest.param("svc", CLUSTER, "services", id="svc stays core's"),
    pytest.param("services.serving.knative.dev", CLUSTER, "services.serving.knative.dev", id="resource.group"),
    pytest.param("service.serving.knative.dev", CLUSTER, "services.serving.knative.dev", id="singular.group"),
    pytest.param("services.v1.serving.knative.dev", CLUSTER, "services.serving.knative.dev",
                 id="resource.version.group"),
    pytest.param("rev", KNATIVE, "revisions.serving.knative.dev", id="rev"),
    pytest.param("revisions", KNATIVE, "revisions.serving.knative.dev", id="revisions"),
    pytest.param("Route", CLUSTER, "routes.serving.knative.dev", id="Route: Knative's before OpenShift's"),
    pytest.param("routes.route.openshift.io", CLUSTER, "routes.route.openshift.io", id="qualified OpenShift Route"),
    pytest.param("cm", KNATIVE, "configmaps", id="cm"),
    pytest.param("CONFIGMAP", KNATIVE, "configmaps", id="case-insensitive kind"),
    pytest.param("pods", KNATIVE, "pods", id="pods"),
    pytest.param("broker", KNATIVE, "brokers.eventing.knative.dev", id="broker"),
    pytest.param("ingress", KNATIVE, "ingresses.networking.internal.knative.dev", id="ingress on the plane"),
    pytest.param("ingress", CLUSTER, "ingresses.networking.k8s.io", id="ingress on a cluster"),
    pytest.param("deploy", KNATIVE, "deployments.apps", id="deploy"),
    pytest.param("cfg", KNATIVE, "configurations.serving.knative.dev", id="cfg"),
])
def test_resolve(word: str, resources: list[Any], want: str) -> None:
    found = resolve(word, resources)
    assert found is not None and found.qualified == want


@pytest.mark.parametrize("word", ["svc", "widgets", "services.example.com", "sevrice"])
def test_unresolved(word: str) -> None:
    assert resolve(word, KNATIVE) is None


def test_unknown_kind_messages() -> None:
    svc = unknown_kind("svc", KNATIVE)
    assert str(svc) == 'the server doesn\'t have a resource type "svc"' and svc.reason == "NotFound"
    assert "ksvc" in svc.hint and "core Service" in svc.hint
    assert unknown_kind("sevrice", KNATIVE).hint == "did you mean service, services, kservice?"
    assert suggestions("revison", KNATIVE)[0] == "revision"
    assert "api-resources" in unknown_kind("zzzz", KNATIVE).hint


def test_resource_paths() -> None:
    ksvc = resolve("ksvc", KNATIVE)
    ns = resolve("ns", KNATIVE)
    assert ksvc is not None and ns is not None
    assert ksvc.path("t", "hello", "status") == "/apis/serving.knative.dev/v1/namespaces/t/services/hello/status"
    assert ns.path("t", "x") == "/api/v1/namespaces/x"  # cluster-scoped: the namespace argument is ignored
    assert ksvc.display == "service.serving.knative.dev" and ksvc.api_version == "serving.knative.dev/v1"


# --- merge patches ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("original", "modified", "current", "want"), [
    pytest.param(None, {"a": 1}, {"a": 1, "b": 2}, {}, id="nothing to do"),
    pytest.param(None, {"a": 2}, {"a": 1}, {"a": 2}, id="changed scalar"),
    pytest.param({"a": 1, "b": 2}, {"a": 1}, {"a": 1, "b": 2, "c": 3}, {"b": None}, id="dropped field deleted"),
    pytest.param({"a": 1}, {"a": 1}, {"a": 1, "c": 3}, {}, id="server-added field kept"),
    pytest.param({"m": {"x": 1, "y": 2}}, {"m": {"x": 1}}, {"m": {"x": 1, "y": 2, "z": 0}}, {"m": {"y": None}},
                 id="nested deletion"),
    pytest.param(None, {"l": [1]}, {"l": [1, 2]}, {"l": [1]}, id="lists replaced whole"),
    pytest.param({"b": 1}, {"a": 1}, {"a": 1}, {}, id="dropped and already gone"),
])
def test_three_way_patch(original: Any, modified: dict[str, Any], current: dict[str, Any], want: Any) -> None:
    assert three_way_patch(original, modified, current) == want


def test_diff_patch() -> None:
    assert diff_patch({"a": 1, "b": {"c": 1, "d": 2}}, {"a": 1, "b": {"c": 2}}) == {"b": {"c": 2, "d": None}}
    assert diff_patch({"a": [1]}, {"a": [1]}) == {}


# --- manifests ---------------------------------------------------------------------------------------------


def test_parse_multi_document_yaml() -> None:
    docs = parse_manifest("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n"
                          "apiVersion: v1\nkind: List\nitems:\n"
                          "- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n"
                          "- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n")
    assert [(d.index, d.obj["metadata"]["name"]) for d in docs] == [(1, "a"), (3, "b"), (3, "c")]


@pytest.mark.parametrize(("manifest", "message"), [
    pytest.param("a: 1\n---\nkind: [\n", "invalid YAML in document 2, line 4, column 1: expected the node content",
                 id="broken YAML"),
    pytest.param("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  bad: : x\n",
                 "invalid YAML in document 1, line 6", id="broken YAML after a leading separator"),
    pytest.param("apiVersion: v1\nmetadata: {name: a}\n", "document 1: kind = None, must be a non-empty string",
                 id="no kind"),
    pytest.param("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
                 "document 1 (ConfigMap): metadata.name is missing, must name the object", id="no name"),
    pytest.param("- 1\n- 2\n", "document 1: a list, must be a mapping with apiVersion, kind and metadata",
                 id="not a mapping"),
    pytest.param("# nothing\n", "the manifest holds no objects", id="empty"),
])
def test_parse_refuses(manifest: str, message: str) -> None:
    with pytest.raises(KnativeError) as err:
        parse_manifest(manifest)
    assert str(err.value).startswith(message)


def test_last_applied_round_trip() -> None:
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}, "data": {"k": "v"}}
    stored = with_last_applied(doc)
    text = stored["metadata"]["annotations"][LAST_APPLIED]
    assert text.endswith("\n") and json.loads(text) == {**doc, "metadata": {**doc["metadata"], "annotations": {}}}
    assert last_applied(stored) == json.loads(text)
    assert last_applied({"metadata": {}}) is None


def test_export_keeps_the_users_objects_only() -> None:
    svc = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
           "metadata": {"name": "hello", "namespace": "n", "uid": "u", "resourceVersion": "9", "generation": 2,
                        "creationTimestamp": "t",
                        "annotations": {LAST_APPLIED: "{}", "serving.knative.dev/creator": "x", "keep": "me"}},
           "spec": {"template": {}}, "status": {"url": "http://x"}}
    route = {"kind": "Route", "metadata": {"name": "hello", "ownerReferences": [{"kind": "Service"}]}}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}}
    docs = export_documents([("serving.knative.dev", svc), ("serving.knative.dev", route), ("", cm), ("", sa),
                             ("", event)])
    assert docs == [cm, {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
                         "metadata": {"name": "hello", "annotations": {"keep": "me"}}, "spec": {"template": {}}}]


# --- kn's flags on a Service ------------------------------------------------------------------------------


def test_flags_land_where_kn_puts_them() -> None:
    spec = FunctionSpec(image="img", env={"A": "1"}, scale_min=1, scale_max=5, scale_init=2, scale_target=10,
                        scale_metric="rps", scale_window="6s", concurrency_limit=4, timeout=30,
                        annotations={"team": "x"}, labels={"app": "y"})
    assert revision_template(spec, "svc-v1") == {
        "metadata": {"name": "svc-v1", "labels": {"app": "y"},
                     "annotations": {"team": "x", "autoscaling.knative.dev/min-scale": "1",
                                     "autoscaling.knative.dev/max-scale": "5",
                                     "autoscaling.knative.dev/initial-scale": "2",
                                     "autoscaling.knative.dev/target": "10", "autoscaling.knative.dev/metric": "rps",
                                     "autoscaling.knative.dev/window": "6s"}},
        "spec": {"containers": [{"image": "img", "env": [{"name": "A", "value": "1"}]}], "containerConcurrency": 4,
                 "timeoutSeconds": 30},
    }


def test_update_keeps_what_no_flag_names() -> None:
    current = {"metadata": {"name": "svc-old", "annotations": {"autoscaling.knative.dev/min-scale": "1"}},
               "spec": {"containers": [{"image": "old", "name": "user-container",
                                        "env": [{"name": "A", "value": "1"}]}],
                        "containerConcurrency": 3, "enableServiceLinks": False}}
    updated = updated_template(current, FunctionSpec(image="new", env={"B": "2"}, scale_max=2), None)
    assert updated == {"metadata": {"annotations": {"autoscaling.knative.dev/min-scale": "1",
                                                    "autoscaling.knative.dev/max-scale": "2"}},
                       "spec": {"containers": [{"image": "new", "name": "user-container",
                                                "env": [{"name": "B", "value": "2"}]}],
                                "containerConcurrency": 3, "enableServiceLinks": False}}
    assert current["spec"]["containers"][0]["image"] == "old"  # not modified in place


@pytest.mark.parametrize(("template", "want"), [
    pytest.param("{{.Service}}-v-{{.Generation}}", "foo-v-4", id="service and generation"),
    pytest.param("foo-asdf", "foo-asdf", id="literal"),
    pytest.param("andrew", "foo-andrew", id="prefixed with the service"),
    pytest.param("{{ .Service }}-{{.Random 5}}", "foo-", id="random consonants"),
    pytest.param("", "", id="empty: the server names it"),
])
def test_revision_name_templates(template: str, want: str) -> None:
    name = render_revision_name(template, "foo", 4, random.Random(1))
    assert name.startswith(want)
    if "Random" in template:
        assert len(name) == len("foo-") + 5 and set(name[4:]) <= set("bcdfghjklmnpqrstvwxz")


def test_revision_name_bad_field() -> None:
    with pytest.raises(KnativeError) as err:
        render_revision_name("{{.Bad}}", "foo", 1)
    assert "can't evaluate field .Bad" in str(err.value)


def test_deployment_text_is_kns() -> None:
    d = Deployment("hello", "ns", "http://hello.ns.svc.cluster.local", "hello-00001", True, "created", 0.5)
    assert str(d) == ("Service 'hello' created to latest revision 'hello-00001' is available at URL:\n"
                      "http://hello.ns.svc.cluster.local")
    d.action, d.created = "unchanged", False
    assert str(d) == ("Service 'hello' with latest revision 'hello-00001' (unchanged) is available at URL:\n"
                      "http://hello.ns.svc.cluster.local")
    assert str(Deployment("x", "ns", None, None, True, "created", None)) == "Service 'x' created in namespace 'ns'."


# --- load numbers ----------------------------------------------------------------------------------------


def test_percentiles_and_summary() -> None:
    assert percentile([], 50) is None
    values = [float(i) for i in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 90), percentile(values, 99)) == (50.0, 90.0, 99.0)
    s = summarize([0.1, 0.2, 0.3, 0.4], {200: 3, 503: 1}, {"ClientConnectorError": 1}, 2.0, concurrency=2,
                  target="http://x/")
    assert (s.requests, s.errors, s.rps, s.p50, s.max) == (5, 2, 2.5, 0.2, 0.4)
    assert "[503] 1 responses" in str(s) and "Requests/sec: 2.50" in str(s)


# --- rendering ---------------------------------------------------------------------------------------------


def test_html_escapes_everything() -> None:
    evil = "<script>alert(1)</script>"
    table = Table(["Name", "URL"], [[evil, "http://x/?a=1&b=2"]], kind=evil)
    out = table._repr_html_()
    assert "<script>" not in out and "&lt;script&gt;" in out and "&amp;b=2" in out
    d = Deployment(evil, "ns", f"http://{evil}", evil, True, "created", 1.0, traffic=[{"revisionName": evil,
                                                                                       "percent": 100}])
    assert "<script>" not in d._repr_html_()
    r = Response(500, Headers([("X-Evil", evil)]), evil.encode(), url=evil, reason=evil)
    assert "<script>" not in r._repr_html_()
    summary = LoadSummary(1, 0, 1.0, 0.1, 0.1, 0.1, 0.1, {200: 1}, 1.0, 1, target=evil)
    assert "<script>" not in summary._repr_html_()


def test_table_text_is_kubectls() -> None:
    table = Table(["Name", "URL", "Ready", "Reason"], [["hello", "http://h", "True", None], ["b", "http://bb", "False",
                                                                                            "RevisionFailed"]])
    assert str(table).splitlines() == ["NAME    URL         READY   REASON", "hello   http://h    True",
                                       "b       http://bb   False   RevisionFailed"]
    assert str(Table(["Name"], [], namespace="t")) == "No resources found in t namespace."


def test_describe_text() -> None:
    now = datetime.datetime(2026, 1, 1, 0, 10, tzinfo=datetime.UTC)
    obj = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
           "metadata": {"name": "hello", "namespace": "n", "creationTimestamp": "2026-01-01T00:00:00Z",
                        "annotations": {LAST_APPLIED: "{}"}},
           "spec": {"template": {"spec": {"containerConcurrency": 0}}},
           "status": {"url": "http://hello", "conditions": [
               {"type": "Ready", "status": "False", "reason": "RevisionFailed", "message": "boom",
                "lastTransitionTime": "2026-01-01T00:09:00Z"}]}}
    events = [{"type": "Normal", "reason": "Created", "message": "Created Route", "source": {"component": "svc"},
               "lastTimestamp": "2026-01-01T00:00:05Z"}]
    text = describe_text(obj, events, now=now)
    assert "Name:         hello" in text and LAST_APPLIED not in text
    assert "Container Concurrency:  0" in text and "Url:  http://hello" in text
    assert "Ready  60s  False   RevisionFailed  boom" in text
    assert "Normal  Created  9m55s  svc   Created Route" in text
    assert describe_text(obj, [], now=now).endswith("Events:        <none>")
    assert age("2026-01-01T00:00:00Z", datetime.datetime(2026, 1, 3, tzinfo=datetime.UTC)) == "2d"


# --- HTTP pieces and errors -------------------------------------------------------------------------------


def test_bodies_and_cloudevent_headers() -> None:
    assert encode_body(None, {"a": 1}) == (b'{"a":1}', "application/json")
    assert encode_body("hi", None) == (b"hi", "text/plain; charset=utf-8")
    assert encode_body(b"\x00", None) == (b"\x00", "application/octet-stream")
    assert encode_body({"a": 1}, None) == (b'{"a":1}', "application/json")
    headers = binary_event_headers("dev.example", id="1", extensions={"traceid": "t"})
    assert {k: headers[k] for k in ("ce-specversion", "ce-id", "ce-type", "ce-traceid")} == {
        "ce-specversion": "1.0", "ce-id": "1", "ce-type": "dev.example", "ce-traceid": "t"}
    with pytest.raises(KnativeError):
        binary_event_headers("t", extensions={"Bad-Name": "x"})
    r = Response(200, Headers([("Content-Type", "application/json; charset=utf-8"), ("Ce-Type", "reply")]), b'{"x": 1}')
    assert r.ok and r.json() == {"x": 1} and r.headers["content-type"].startswith("application/json")
    assert r.cloudevent == {"type": "reply"} and repr(r) == "<Response [200]>"


def test_status_bodies_become_errors() -> None:
    body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Invalid", "code": 422,
                       "message": 'Service "x" is invalid',
                       "details": {"causes": [{"field": "spec.template", "message": "bad"}]}})
    err = from_status_body(422, "Unprocessable Entity", body.encode())
    assert (err.reason, err.code, str(err)) == ("Invalid", 422, 'Service "x" is invalid (spec.template: bad)')
    assert err.status is not None and err.status["code"] == 422
    plain = from_status_body(502, "Bad Gateway", b"upstream down")
    assert (plain.reason, str(plain)) == ("BadGateway", "502 Bad Gateway: upstream down")


def test_refused_connections() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    down = from_transport(refused, server="https://127.0.0.1:1", plane=True)
    assert down.reason == "PlaneDown" and down.hint == "run %knative up (or jupyter knative up)"
    assert from_transport(refused, server="https://k8s", plane=False).reason == "Unreachable"
    assert from_transport(TimeoutError(), server="https://k8s", plane=False).reason == "Timeout"


def test_gone_pod_logs_skip_an_earlier_revision_of_the_same_name(tmp_path: Path) -> None:
    import os

    from jupyter_knative.client.logs import gone_pod_logs

    for pod, text, mtime in (("hello-00001-deployment-old", "before\n", 1000.0),
                             ("hello-00001-deployment-new", "after\n", 2000.0)):
        log = tmp_path / "ns" / pod / "user-container" / "0.log"
        log.parent.mkdir(parents=True)
        log.write_text(text)
        os.utime(log, (mtime, mtime))
    assert [p for p, _ in gone_pod_logs(tmp_path, "ns", "hello-00001", set())] == [
        "hello-00001-deployment-old", "hello-00001-deployment-new"]
    assert gone_pod_logs(tmp_path, "ns", "hello-00001", set(), since=1500.0) == [
        ("hello-00001-deployment-new", "after\n")]
