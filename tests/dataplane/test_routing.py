"""Host routing and weighted choice: pure, table-tested."""

from __future__ import annotations

import pytest

from jupyter_knative.dataplane import HostRoute, RevisionKey, RouteTable, Target, choose, normalize_host

A = RevisionKey("default", "hello-00001")
B = RevisionKey("default", "hello-00002")
C = RevisionKey("default", "hello-00003")


def route(*targets: tuple[RevisionKey, int], visibility: str = "external") -> HostRoute:
    return HostRoute(tuple(Target(k, p) for k, p in targets), visibility)


TABLE = RouteTable.build({
    "hello.default.example.com": route((A, 50), (B, 50)),
    "candidate-hello.default.example.com": route((B, 100)),
    "hello.default.svc.cluster.local": route((A, 50), (B, 50), visibility="cluster-local"),
    "hello.default.svc": route((A, 100), visibility="cluster-local"),
    "Mixed.Case.Example.COM.": route((C, 100)),
})


@pytest.mark.parametrize(("host", "expected"), [
    pytest.param("hello.default.example.com", "hello.default.example.com", id="plain"),
    pytest.param("Hello.Default.Example.COM", "hello.default.example.com", id="case"),
    pytest.param("hello.default.example.com:8080", "hello.default.example.com", id="port"),
    pytest.param("hello.default.example.com.", "hello.default.example.com", id="trailing-dot"),
    pytest.param("hello.default.example.com.:80", "hello.default.example.com", id="trailing-dot-and-port"),
    pytest.param("  hello.default.example.com ", "hello.default.example.com", id="whitespace"),
    pytest.param("[::1]:8080", "[::1]", id="ipv6-port"),
    pytest.param("[::1]", "[::1]", id="ipv6"),
    pytest.param("127.0.0.1:31080", "127.0.0.1", id="ipv4-port"),
    pytest.param("host:notaport", "host:notaport", id="not-a-port"),
])
def test_normalize_host(host: str, expected: str) -> None:
    assert normalize_host(host) == expected


@pytest.mark.parametrize(("host", "targets"), [
    pytest.param("hello.default.example.com", (A, B), id="route-url"),
    pytest.param("HELLO.default.example.com:31080", (A, B), id="route-url-port-case"),
    pytest.param("hello.default.example.com.", (A, B), id="route-url-trailing-dot"),
    pytest.param("candidate-hello.default.example.com", (B,), id="tag-url"),
    pytest.param("candidate-hello.default.example.com:80", (B,), id="tag-url-port"),
    pytest.param("hello.default.svc.cluster.local", (A, B), id="cluster-local"),
    pytest.param("hello.default.svc.cluster.local.:80", (A, B), id="cluster-local-fqdn-port"),
    pytest.param("hello.default.svc", (A,), id="short-cluster-name"),
    pytest.param("mixed.case.example.com", (C,), id="table-keys-normalised"),
])
def test_lookup(host: str, targets: tuple[RevisionKey, ...]) -> None:
    found = TABLE.lookup(host)
    assert found is not None
    assert tuple(t.revision for t in found.targets) == targets
    assert TABLE.lookup_bytes(host.encode()) is found


@pytest.mark.parametrize("host", [
    pytest.param("", id="empty"),
    pytest.param("other.default.example.com", id="other-service"),
    pytest.param("hello.other.example.com", id="other-namespace"),
    pytest.param("latest-hello.default.example.com", id="unknown-tag"),
    pytest.param("default.example.com", id="suffix-only"),
    pytest.param("x.hello.default.example.com", id="subdomain"),
])
def test_lookup_unknown(host: str) -> None:
    assert TABLE.lookup(host) is None
    assert host not in TABLE


def test_table_is_built_whole_and_lists_itself() -> None:
    assert len(TABLE) == 5
    assert "hello.default.example.com" in set(TABLE.hosts())
    assert TABLE.revisions() == {A, B, C}
    assert TABLE.lookup("hello.default.svc.cluster.local").visibility == "cluster-local"  # type: ignore[union-attr]


@pytest.mark.parametrize("host", ["", ".", ":80"])
def test_build_rejects_empty_hosts(host: str) -> None:
    with pytest.raises(ValueError, match="must be a host name"):
        RouteTable.build({host: route((A, 100))})


def test_negative_percent_is_refused() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        route((A, -1))


@pytest.mark.parametrize(("targets", "rand", "expected"), [
    pytest.param(((A, 100),), 0.99, A, id="single"),
    pytest.param(((A, 50), (B, 50)), 0.0, A, id="50-50-low"),
    pytest.param(((A, 50), (B, 50)), 0.4999, A, id="50-50-below-half"),
    pytest.param(((A, 50), (B, 50)), 0.5, B, id="50-50-half"),
    pytest.param(((A, 50), (B, 50)), 0.9999, B, id="50-50-high"),
    pytest.param(((A, 90), (B, 10)), 0.89, A, id="90-10-a"),
    pytest.param(((A, 90), (B, 10)), 0.9, B, id="90-10-b"),
    pytest.param(((A, 0), (B, 100)), 0.0, B, id="zero-first-never"),
    pytest.param(((A, 100), (B, 0)), 0.9999, A, id="zero-last-never"),
    pytest.param(((A, 50), (B, 0), (C, 50)), 0.5, C, id="zero-middle-skipped"),
    pytest.param(((A, 100), (B, 0)), 1.0, A, id="rand-one-lands-on-weighted"),
    pytest.param(((A, 0), (B, 0)), 0.2, A, id="all-zero-equal-share-a"),
    pytest.param(((A, 0), (B, 0)), 0.7, B, id="all-zero-equal-share-b"),
    pytest.param(((A, 30), (B, 30)), 0.6, B, id="weights-are-relative"),
    pytest.param(((A, 1), (B, 1), (C, 98)), 0.015, B, id="small-weights"),
])
def test_choose(targets: tuple[tuple[RevisionKey, int], ...], rand: float, expected: RevisionKey) -> None:
    assert choose(route(*targets), rand) == expected


def test_choose_without_targets() -> None:
    with pytest.raises(LookupError):
        choose(route(), 0.5)


def test_choose_distribution_follows_weights() -> None:
    r = route((A, 20), (B, 30), (C, 50))
    picks = [choose(r, i / 1000) for i in range(1000)]
    assert (picks.count(A), picks.count(B), picks.count(C)) == (200, 300, 500)
