"""Pure pieces of the serving controllers: names, traffic resolution, domains, condition sets."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.api.conditions import ConditionSet
from jupyter_knative.controllers.serving import names, traffic
from jupyter_knative.controllers.serving.config import DomainRule, ServingConfig, parse_domains


@pytest.mark.parametrize(("parent", "suffix", "expected"), [
    pytest.param("hello", "-00001", "hello-00001", id="short"),
    pytest.param("a" * 57, "-00001", "a" * 57 + "-00001", id="exactly-63"),
    pytest.param("a" * 58, "-00001", "a" * 25 + "c9ba2a3ba4b9a1e9d38a5a32c7e28d1e" + "-00001", id="hashed"),
])
def test_child_name(parent: str, suffix: str, expected: str) -> None:
    import hashlib
    if len(parent) + len(suffix) > 63:
        expected = parent[:31 - len(suffix)] + hashlib.md5(parent.encode()).hexdigest() + suffix
    got = names.child_name(parent, suffix)
    assert got == expected and len(got) <= 63


def test_revision_name_pads_generation() -> None:
    assert names.revision("hello", 2) == "hello-00002"
    assert names.deployment("hello-00002") == "hello-00002-deployment"


CFG = {"hello": traffic.ConfigInfo("hello", "hello-00002", False),
       "waiting": traffic.ConfigInfo("waiting", "", False),
       "broken": traffic.ConfigInfo("broken", "", True)}
REVS = {"hello-00001": traffic.RevisionInfo("hello-00001", True, False, "hello"),
        "hello-00002": traffic.RevisionInfo("hello-00002", True, False, "hello"),
        "pending-00001": traffic.RevisionInfo("pending-00001", False, False, "hello"),
        "failed-00001": traffic.RevisionInfo("failed-00001", False, True, "hello"),
        "other-00001": traffic.RevisionInfo("other-00001", True, False, "other")}


@pytest.mark.parametrize(("spec", "owner", "error"), [
    pytest.param([{"configurationName": "nope", "percent": 100}], "", ("False", "ConfigurationMissing",
                 'Configuration "nope" referenced in traffic not found.'), id="config-missing"),
    pytest.param([{"configurationName": "waiting", "percent": 100}], "", ("Unknown", "RevisionMissing",
                 'Configuration "waiting" is waiting for a Revision to become ready.'), id="config-waiting"),
    pytest.param([{"configurationName": "broken", "percent": 100}], "", ("False", "RevisionMissing",
                 'Configuration "broken" does not have any ready Revision.'), id="config-failed"),
    pytest.param([{"revisionName": "nope", "percent": 100}], "", ("False", "RevisionMissing",
                 'Revision "nope" referenced in traffic not found.'), id="revision-missing"),
    pytest.param([{"revisionName": "pending-00001", "percent": 100}], "", ("Unknown", "RevisionMissing",
                 'Revision "pending-00001" is not yet ready.'), id="revision-pending"),
    pytest.param([{"revisionName": "failed-00001", "percent": 100}], "", ("False", "RevisionMissing",
                 'Revision "failed-00001" failed to become ready.'), id="revision-failed"),
    pytest.param([{"revisionName": "other-00001", "percent": 100}], "hello", ("False", "RevisionNotOwned",
                 'Revision "other-00001" belongs to Service "other", not Service "hello".'), id="not-owned"),
    pytest.param([{"revisionName": "pending-00001", "percent": 50}, {"revisionName": "nope", "percent": 50}], "",
                 ("False", "RevisionMissing", 'Revision "nope" referenced in traffic not found.'),
                 id="failure-beats-pending"),
])
def test_resolve_errors(spec: list[dict[str, Any]], owner: str, error: tuple[str, str, str]) -> None:
    _, err = traffic.resolve(spec, CFG, REVS, owner)
    assert err is not None and (err.status, err.reason, err.message) == error


def test_resolve_split_with_tags_and_status() -> None:
    spec = [{"configurationName": "hello", "percent": 50, "tag": "latest"},
            {"revisionName": "hello-00001", "percent": 50, "tag": "old"}]
    resolved, err = traffic.resolve(spec, CFG, REVS, "hello")
    assert err is None
    hosts = traffic.RouteHosts("hello", "default", "example.com", ServingConfig())
    assert traffic.status_traffic(resolved, hosts) == [
        {"tag": "latest", "revisionName": "hello-00002", "latestRevision": True, "percent": 50,
         "url": "http://latest-hello.default.example.com"},
        {"tag": "old", "revisionName": "hello-00001", "latestRevision": False, "percent": 50,
         "url": "http://old-hello.default.example.com"}]
    assert traffic.splits(resolved) == {"hello-00002": 50, "hello-00001": 50}
    assert hosts.local_hosts("old") == ["old-hello.default", "old-hello.default.svc",
                                        "old-hello.default.svc.cluster.local"]


def test_identical_entries_merge() -> None:
    spec = [{"configurationName": "hello", "percent": 40}, {"configurationName": "hello", "percent": 60}]
    resolved, _ = traffic.resolve(spec, CFG, REVS)
    hosts = traffic.RouteHosts("hello", "default", "svc.cluster.local", ServingConfig())
    assert traffic.status_traffic(resolved, hosts) == [
        {"revisionName": "hello-00002", "latestRevision": True, "percent": 100}]


@pytest.mark.parametrize(("labels", "domain"), [
    pytest.param({}, "example.com", id="default"),
    pytest.param({"app": "prod"}, "prod.example.com", id="selector"),
    pytest.param({"networking.knative.dev/visibility": "cluster-local"}, "svc.cluster.local", id="cluster-local"),
])
def test_domain_selection(labels: dict[str, str], domain: str) -> None:
    rules = parse_domains({"example.com": "", "prod.example.com": "selector:\n  app: prod\n", "_example": "x"})
    assert ServingConfig(domains=rules).domain_for(labels) == domain


def test_no_domain_configured_is_cluster_local() -> None:
    assert ServingConfig(domains=(DomainRule("a.com", {"app": "x"}),)).domain_for({}) == "svc.cluster.local"


def test_condition_set_follows_knative() -> None:
    cs = ConditionSet("Ready", ("A", "B"))
    status: dict[str, Any] = {}
    cm = cs.manage(status, 1_800_000_000)
    cm.initialize()
    cm.mark_true("A")
    assert cm.get("Ready") is not None and cm.get("Ready")["status"] == "Unknown"  # type: ignore[index]
    cm.mark_false("B", "Broken", "b is broken")
    assert (cm.get("Ready") or {}).get("reason") == "Broken"
    cm.mark_unknown("A", "Waiting", "a waits")
    ready = cm.get("Ready") or {}
    assert ready["status"] == "False"  # a False dependent keeps Ready False
    cm.mark_true("A")
    cm.mark_true("B")
    assert (cm.get("Ready") or {}).get("status") == "True"
    t0 = (cm.get("A") or {})["lastTransitionTime"]
    cm.now += 10
    cm.mark_true("A")
    assert (cm.get("A") or {})["lastTransitionTime"] == t0
