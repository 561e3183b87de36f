"""The pure rules: load-balancing policies, header synthesis, the bodies of the ingress's own
answers, and metric rendering."""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from jupyter_knative.dataplane.balancing import first_available, pick, random_choice_2, round_robin
from jupyter_knative.dataplane.headers import (
    RequestIds,
    connect_error,
    forwarded,
    go_error,
    not_found,
    read_error,
    timeout_response,
)
from jupyter_knative.dataplane.metrics import DURATION_BOUNDS, Histogram, RevisionLabels, RevisionSample, render


@dataclass
class Rep:
    in_flight: int


def reps(*loads: int) -> list[Rep]:
    return [Rep(n) for n in loads]


def draws(*values: float) -> Iterator[float]:
    return iter(values)


@pytest.mark.parametrize(("loads", "cc", "expected"), [
    pytest.param((0, 0, 0), 1, 0, id="cc1-empty-takes-first"),
    pytest.param((1, 0, 0), 1, 1, id="cc1-first-full"),
    pytest.param((1, 1, 1), 1, None, id="cc1-all-full"),
    pytest.param((2, 3, 1), 3, 0, id="cc3-first-has-room"),
    pytest.param((3, 3, 1), 3, 2, id="cc3-fills-in-order"),
])
def test_first_available(loads: tuple[int, ...], cc: int, expected: int | None) -> None:
    assert first_available(reps(*loads), cc) == expected
    assert pick(reps(*loads), cc, lambda: 0.0, 0) == expected


@pytest.mark.parametrize(("loads", "start", "expected"), [
    pytest.param((0, 0, 0), 0, 0, id="from-start"),
    pytest.param((0, 0, 0), 2, 2, id="from-middle"),
    pytest.param((10, 10, 0), 0, 2, id="skips-full"),
    pytest.param((0, 10, 10), 1, 0, id="wraps"),
    pytest.param((10, 10, 10), 1, None, id="all-full"),
    pytest.param((0, 0, 0), 5, 2, id="start-beyond-length"),
])
def test_round_robin(loads: tuple[int, ...], start: int, expected: int | None) -> None:
    assert round_robin(reps(*loads), 10, start) == expected
    assert pick(reps(*loads), 10, lambda: 0.0, start) == expected


@pytest.mark.parametrize(("loads", "rands", "expected"), [
    pytest.param((5,), (0.9, 0.9), 0, id="single"),
    pytest.param((5, 1), (0.0, 0.0), 1, id="second-less-loaded"),
    pytest.param((1, 5), (0.0, 0.0), 0, id="first-less-loaded"),
    pytest.param((3, 3), (0.0, 0.0), 0, id="tie-keeps-first-draw"),
    pytest.param((9, 9, 9, 0), (0.3, 0.9), 3, id="second-draw-shifted-past-first"),
    pytest.param((9, 9, 0, 9), (0.0, 0.6), 2, id="second-draw-skips-first"),
    pytest.param((9, 9, 9, 0), (0.99, 0.0), 3, id="first-draw-last"),
])
def test_random_choice_2(loads: tuple[int, ...], rands: tuple[float, ...], expected: int) -> None:
    values = draws(*rands)
    assert random_choice_2(reps(*loads), lambda: next(values)) == expected


def test_pick_without_replicas() -> None:
    assert pick([], 0, lambda: 0.0, 0) is None


def test_random_choice_2_never_draws_the_same_replica_twice() -> None:
    # with two replicas the two draws must be different ones, so the less loaded always wins
    for r in (0.0, 0.3, 0.6, 0.99):
        assert random_choice_2(reps(4, 2), lambda r=r: r) == 1


# -- headers ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("xff", "xfp", "xfh", "expected"), [
    pytest.param(b"127.0.0.1", b"http", b"", b"for=127.0.0.1;proto=http", id="one-hop"),
    pytest.param(b"10.0.0.1, 127.0.0.1", b"https", b"", b"for=10.0.0.1;proto=https, for=127.0.0.1", id="two-hops"),
    pytest.param(b"1.2.3.4", b"http", b"example.com", b"for=1.2.3.4;host=example.com;proto=http", id="with-host"),
    pytest.param(b"::1", b"http", b"", b'for="[::1]";proto=http', id="ipv6-quoted"),
    pytest.param(b"", b"http", b"h", b"host=h;proto=http", id="no-for"),
    pytest.param(b"1.1.1.1,2.2.2.2 ,3.3.3.3", b"", b"", b"for=1.1.1.1, for=2.2.2.2, for=3.3.3.3", id="spaces"),
])
def test_forwarded(xff: bytes, xfp: bytes, xfh: bytes, expected: bytes) -> None:
    assert forwarded(xff, xfp, xfh) == expected


def test_request_ids_are_unique_and_uuid_shaped() -> None:
    ids = RequestIds()
    values = {ids.next() for _ in range(1000)}
    assert len(values) == 1000
    for value in list(values)[:20]:
        assert re.fullmatch(rb"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value), value
    assert RequestIds(b"\x00" * 10).next() != RequestIds(b"\x01" * 10).next()


def test_go_error_is_what_http_error_writes() -> None:
    assert go_error(503, b"Service Unavailable", b"pending request queue full") == (
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"x-content-type-options: nosniff\r\ncontent-length: 27\r\n\r\npending request queue full\n")
    assert b"connection: close\r\n" in go_error(502, b"Bad Gateway", b"EOF", close=True)


def test_timeout_response_is_the_bare_message() -> None:
    assert timeout_response(b"activator request timeout") == (
        b"HTTP/1.1 504 Gateway Timeout\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 25\r\n\r\n"
        b"activator request timeout")


def test_not_found_has_an_empty_body() -> None:
    assert not_found() == b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"


@pytest.mark.parametrize(("exc", "expected"), [
    pytest.param(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
                 b"dial tcp 127.0.0.1:8080: connect: connection refused", id="refused"),
    pytest.param(OSError(errno.EHOSTUNREACH, "No route to host"),
                 b"dial tcp 127.0.0.1:8080: connect: no route to host", id="unreachable"),
])
def test_connect_error_reads_like_go(exc: OSError, expected: bytes) -> None:
    assert connect_error("127.0.0.1", 8080, exc) == expected


def test_read_error_reads_like_go() -> None:
    assert read_error("127.0.0.1:5000", "127.0.0.1:8080", None) == b"EOF"
    reset = ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
    assert read_error("127.0.0.1:5000", "127.0.0.1:8080", reset) == (
        b"read tcp 127.0.0.1:5000->127.0.0.1:8080: read: connection reset by peer")


# -- metrics ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("seconds", "bucket"), [
    pytest.param(0.0, 0, id="zero"),
    pytest.param(0.005, 0, id="on-first-bound"),
    pytest.param(0.0051, 1, id="just-above"),
    pytest.param(1.0, DURATION_BOUNDS.index(1.0), id="one-second"),
    pytest.param(10.0, len(DURATION_BOUNDS) - 1, id="last-bound"),
    pytest.param(11.0, len(DURATION_BOUNDS), id="overflow"),
])
def test_histogram_buckets_are_le(seconds: float, bucket: int) -> None:
    hist = Histogram()
    hist.observe(seconds)
    assert hist.counts[bucket] == 1
    assert sum(hist.counts) == 1


def test_render_uses_knative_names_and_labels() -> None:
    hist = Histogram()
    for v in (0.001, 0.2, 3.0):
        hist.observe(v)
    text = render([RevisionSample(labels=RevisionLabels("ns", "svc", "svc", 'svc-"1"'), queued=2, active=3,
                                  server={(b"GET", 200): hist}, invocation={200: hist},
                                  replicas=(("pod-a", 3),))]).decode()
    full = 'k8s_namespace_name="ns",kn_service_name="svc",kn_configuration_name="svc",kn_revision_name="svc-\\"1\\""'
    assert f"kn_revision_request_concurrency{{{full}}} 5\n" in text
    assert 'kn_revision_request_queued{k8s_namespace_name="ns",kn_revision_name="svc-\\"1\\""} 2\n' in text
    assert 'kn_revision_request_active{k8s_namespace_name="ns",kn_revision_name="svc-\\"1\\""} 3\n' in text
    assert f'kn_serving_queue_depth{{{full},k8s_pod_name="pod-a"}} 3\n' in text
    server = ('http_request_method="GET",http_response_status_code="200",network_protocol_name="http",'
              f'network_protocol_version="1.1",url_scheme="http",{full}')
    assert f'http_server_request_duration_seconds_bucket{{{server},le="0.005"}} 1\n' in text
    assert f'http_server_request_duration_seconds_bucket{{{server},le="0.25"}} 2\n' in text
    assert f'http_server_request_duration_seconds_bucket{{{server},le="+Inf"}} 3\n' in text
    assert f"http_server_request_duration_seconds_count{{{server}}} 3\n" in text
    assert f'kn_serving_invocation_duration_seconds_count{{http_response_status_code="200",{full}}} 3\n' in text
    for name, kind in (("kn_revision_request_concurrency", "gauge"),
                       ("http_server_request_duration_seconds", "histogram")):
        assert f"# TYPE {name} {kind}\n" in text
