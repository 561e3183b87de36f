"""Pure pieces: kmeta.ChildName, destination resolution, subscriber entries, env injection."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.controllers.eventing.names import child_name, trigger_subscription_name
from jupyter_knative.controllers.eventing.resolver import ObjectNotFound, ResolveError, resolve
from jupyter_knative.controllers.eventing.sinkbinding import go_json, inject, undo
from jupyter_knative.controllers.eventing.subscription import subscriber_delivery, with_entry


@pytest.mark.parametrize(("parent", "suffix", "want"), [
    pytest.param("asdf", "-deployment", "asdf-deployment", id="short"),
    pytest.param("f" * 63, "-deployment", "ffffffffffffffffffff105d7597f637e83cc711605ac3ea4957-deployment",
                 id="kmeta-test-long-parent"),
    pytest.param("f" * 63, "-deploy", "ffffffffffffffffffffffff105d7597f637e83cc711605ac3ea4957-deploy",
                 id="kmeta-test-shorter-suffix"),
    pytest.param("b-t-", "cafed00d-cafed00d-cafed00d-cafed00d", "b-t-cafed00d-cafed00d-cafed00d-cafed00d",
                 id="trigger-subscription-fits"),
])
def test_child_name(parent: str, suffix: str, want: str) -> None:
    assert child_name(parent, suffix) == want
    assert len(child_name(parent, suffix)) <= 63


def test_child_name_hashes_whole_name_when_suffix_leaves_no_room() -> None:
    uid = "cafed00d-cafed00d-cafed00d-cafed00d"
    name = trigger_subscription_name("broker-name", "t-name-is-a-long-name", uid)
    assert name == "broker-name-t-name-is-a-long-na2c51a527d77287c4f7d3f3b24a723584"
    assert len(name) == 63
    # distinct parents give distinct names
    assert trigger_subscription_name("broker-name", "t-name-is-a-long-name-2", uid) != name


OBJECTS: dict[tuple[str, str, str, str], dict[str, Any]] = {
    ("serving.knative.dev/v1", "Service", "default", "hello"):
        {"status": {"address": {"url": "http://hello.default.svc.cluster.local"}}},
    ("serving.knative.dev/v1", "Service", "default", "pathy"):
        {"status": {"address": {"url": "http://svc.ns.example.com/base/path"}}},
    ("eventing.knative.dev/v1", "Broker", "default", "b"): {"status": {"addresses": [
        {"name": "http", "url": "http://broker-ingress.knative-eventing.svc.cluster.local/default/b"},
        {"name": "https", "url": "https://broker-ingress.knative-eventing.svc.cluster.local/default/b"}],
        "address": {"url": "http://ignored.example.com"}}},
    ("messaging.knative.dev/v1", "InMemoryChannel", "default", "noaddr"): {"status": {}},
    ("messaging.knative.dev/v1", "InMemoryChannel", "default", "nourl"): {"status": {"address": {"name": "http"}}},
    ("messaging.knative.dev/v1", "InMemoryChannel", "default", "nohost"): {"status": {"address": {"url": "/x"}}},
    ("v1", "Service", "other", "k8s"): {"spec": {}},
}


def lookup(api_version: str, kind: str, ns: str, name: str) -> dict[str, Any]:
    obj = OBJECTS.get((api_version, kind, ns, name))
    if obj is None:
        raise ObjectNotFound(f'{kind.lower()}s "{name}" not found')
    return obj


def svc(name: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": name, **extra}


@pytest.mark.parametrize(("dest", "want"), [
    pytest.param({"uri": "http://example.com/x?y=1"}, "http://example.com/x?y=1", id="uri-only"),
    pytest.param({"ref": svc("hello")}, "http://hello.default.svc.cluster.local", id="ref-ksvc"),
    pytest.param({"ref": svc("hello", namespace="default")}, "http://hello.default.svc.cluster.local",
                 id="ref-explicit-namespace"),
    pytest.param({"ref": svc("pathy"), "uri": "/extra/path"}, "http://svc.ns.example.com/extra/path",
                 id="ref-plus-absolute-path"),
    pytest.param({"ref": svc("pathy"), "uri": "extra"}, "http://svc.ns.example.com/base/extra",
                 id="ref-plus-relative-path-replaces-last-segment"),
    pytest.param({"ref": svc("hello"), "uri": "/extra/path"}, "http://hello.default.svc.cluster.local/extra/path",
                 id="ref-without-path-plus-path"),
    pytest.param({"ref": svc("pathy"), "uri": "?q=1"}, "http://svc.ns.example.com/base/path?q=1", id="ref-plus-query"),
    pytest.param({"ref": {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "name": "b"}},
                 "http://broker-ingress.knative-eventing.svc.cluster.local/default/b", id="addresses-first-wins"),
    pytest.param({"ref": {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "name": "b", "address": "https"}},
                 "https://broker-ingress.knative-eventing.svc.cluster.local/default/b", id="address-by-name"),
    pytest.param({"ref": {"apiVersion": "v1", "kind": "Service", "name": "k8s", "namespace": "other"}},
                 "http://k8s.other.svc.cluster.local", id="k8s-service"),
    pytest.param({"ref": {"apiVersion": "v1", "kind": "Service", "name": "k8s", "namespace": "other"},
                  "CACerts": "PEM"}, "https://k8s.other.svc.cluster.local", id="k8s-service-tls"),
])
def test_resolve(dest: dict[str, Any], want: str) -> None:
    assert resolve(dest, "default", lookup) == want


@pytest.mark.parametrize(("dest", "message"), [
    pytest.param({"uri": "/relative"}, 'URI is not absolute (both scheme and host should be non-empty): "/relative"',
                 id="relative-uri-alone"),
    pytest.param({"uri": "http:///nohost"}, 'URI is not absolute (both scheme and host should be non-empty): '
                 '"http:///nohost"', id="uri-without-host"),
    pytest.param({}, "destination missing Ref and URI, expected at least one", id="empty"),
    pytest.param({"ref": svc("missing")}, 'failed to get object default/missing: services "missing" not found',
                 id="missing-target"),
    pytest.param({"ref": {"apiVersion": "messaging.knative.dev/v1", "kind": "InMemoryChannel", "name": "noaddr"}},
                 "address not set for &{Kind:InMemoryChannel Namespace:default Name:noaddr "
                 "APIVersion:messaging.knative.dev/v1 Group: Address:<nil>}", id="no-address"),
    pytest.param({"ref": {"apiVersion": "messaging.knative.dev/v1", "kind": "InMemoryChannel", "name": "nourl"}},
                 "URL missing in address of &{Kind:InMemoryChannel Namespace:default Name:nourl "
                 "APIVersion:messaging.knative.dev/v1 Group: Address:<nil>}", id="no-url"),
    pytest.param({"ref": {"apiVersion": "messaging.knative.dev/v1", "kind": "InMemoryChannel", "name": "nohost"}},
                 "hostname missing in address of &{Kind:InMemoryChannel Namespace:default Name:nohost "
                 "APIVersion:messaging.knative.dev/v1 Group: Address:<nil>}", id="no-host"),
    pytest.param({"ref": {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "name": "b", "address": "x"}},
                 "address not set for &{Kind:Broker Namespace:default Name:b APIVersion:eventing.knative.dev/v1 "
                 "Group: Address:x}", id="unknown-address-name"),
])
def test_resolve_errors(dest: dict[str, Any], message: str) -> None:
    with pytest.raises(ResolveError) as err:
        resolve(dest, "default", lookup)
    assert str(err.value) == message


def test_subscriber_delivery_prefers_subscription_and_inherits_channel_otherwise() -> None:
    channel = {"spec": {"delivery": {"retry": 3, "backoffPolicy": "linear", "backoffDelay": "PT1S",
                                     "deadLetterSink": {"uri": "http://raw"}}},
               "status": {"deadLetterSinkUri": "http://channel-dls.example.com"}}
    own = subscriber_delivery({"retry": 1, "deadLetterSink": {"ref": {"kind": "Service"}}}, "http://dls", channel)
    assert own == {"retry": 1, "deadLetterSink": {"uri": "http://dls"}}
    inherited = subscriber_delivery(None, None, channel)
    assert inherited == {"retry": 3, "backoffPolicy": "linear", "backoffDelay": "PT1S",
                         "deadLetterSink": {"uri": "http://channel-dls.example.com"}}
    assert subscriber_delivery(None, None, {}) is None


def test_with_entry_replaces_adds_and_removes() -> None:
    a, b = {"uid": "a", "generation": 1}, {"uid": "b", "generation": 1}
    assert with_entry([a, b], {"uid": "a", "generation": 2}, "a") == [{"uid": "a", "generation": 2}, b]
    assert with_entry([a], b, "b") == [a, b]
    assert with_entry([a, b], None, "a") == [b]


def test_inject_and_undo_env() -> None:
    dep: dict[str, Any] = {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "env": [{"name": "KEEP", "value": "1"}, {"name": "K_SINK", "value": "old"}]}],
        "initContainers": [{"name": "i"}]}}}}
    env = {"K_SINK": "http://sink", "K_CE_OVERRIDES": go_json({"extensions": {"b": "2", "a": "<1>"}})}
    assert inject(dep, env)
    containers = dep["spec"]["template"]["spec"]["containers"]
    assert containers[0]["env"] == [{"name": "KEEP", "value": "1"}, {"name": "K_SINK", "value": "http://sink"},
                                    {"name": "K_CE_OVERRIDES",
                                     "value": '{"extensions":{"a":"\\u003c1\\u003e","b":"2"}}'}]
    assert dep["spec"]["template"]["spec"]["initContainers"][0]["env"][0] == {"name": "K_SINK",
                                                                             "value": "http://sink"}
    assert not inject(dep, env)
    assert undo(dep)
    assert containers[0]["env"] == [{"name": "KEEP", "value": "1"}]
    assert "env" not in dep["spec"]["template"]["spec"]["initContainers"][0]
    assert not undo(dep)
