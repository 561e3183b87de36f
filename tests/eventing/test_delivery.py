"""Retry, backoff, Retry-After and dead-letter rules of a DeliverySpec (eventing.md §2)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from jupyter_knative.eventing.delivery import (
    RetryPolicy,
    dead_letter_extensions,
    is_retryable,
    pass_through_headers,
    retry_after_seconds,
)

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


def policy(**delivery: Any) -> RetryPolicy:
    return RetryPolicy.from_spec(delivery)


# -- reading spec.delivery ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delivery", "expected"),
    [
        pytest.param(None, RetryPolicy(), id="no-spec"),
        pytest.param({}, RetryPolicy(), id="empty-spec"),
        pytest.param({"retry": 3}, RetryPolicy(retry=3), id="retry-only"),
        pytest.param(
            {
                "retry": 5,
                "backoffPolicy": "exponential",
                "backoffDelay": "PT0.5S",
                "timeout": "PT10S",
                "retryAfterMax": "PT2M",
            },
            RetryPolicy(5, "exponential", 0.5, 10.0, 120.0),
            id="everything",
        ),
        pytest.param({"backoffDelay": "FOO"}, RetryPolicy(), id="invalid-delay-is-unset"),
        pytest.param({"timeout": ""}, RetryPolicy(), id="invalid-timeout-is-unset"),
        pytest.param({"retryAfterMax": "PP1"}, RetryPolicy(), id="invalid-retry-after-max-is-unset"),
        pytest.param({"retryAfterMax": "PT0S"}, RetryPolicy(retry_after_max=0.0), id="retry-after-max-zero-is-set"),
        pytest.param({"retry": -1}, RetryPolicy(), id="negative-retry"),
        pytest.param({"retry": True}, RetryPolicy(), id="bool-retry"),
        pytest.param({"retry": "3"}, RetryPolicy(), id="string-retry"),
        pytest.param({"backoffDelay": 5}, RetryPolicy(), id="non-string-duration"),
        pytest.param({"deadLetterSink": {"uri": "http://dls"}}, RetryPolicy(), id="dls-only"),
    ],
)
def test_from_spec(delivery: dict[str, Any] | None, expected: RetryPolicy) -> None:
    assert RetryPolicy.from_spec(delivery) == expected


@pytest.mark.parametrize(("retry", "attempts"), [(None, 1), (0, 1), (1, 2), (5, 6)])
def test_attempts(retry: int | None, attempts: int) -> None:
    assert RetryPolicy.from_spec({"retry": retry}).attempts == attempts


# -- backoff -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backoff_policy", "delay", "expected"),
    [
        pytest.param("linear", "PT2.5S", [2.5, 5.0, 7.5, 10.0], id="linear-2.5s"),
        pytest.param("exponential", "PT1.5S", [3.0, 6.0, 12.0, 24.0], id="exponential-1.5s"),
        pytest.param("exponential", "PT0.5S", [1.0, 2.0, 4.0, 8.0], id="exponential-0.5s"),
    ],
)
def test_backoff_vectors(backoff_policy: str, delay: str, expected: list[float]) -> None:
    rp = policy(retry=4, backoffPolicy=backoff_policy, backoffDelay=delay)
    assert [rp.backoff(n) for n in (1, 2, 3, 4)] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("delivery", "waits"),
    [
        pytest.param({"backoffPolicy": "linear", "backoffDelay": "PT2S"}, [0.0, 2.0, 4.0, 6.0], id="linear-first-free"),
        pytest.param({"backoffPolicy": "exponential", "backoffDelay": "PT1S"}, [1.0, 2.0, 4.0, 8.0], id="exponential"),
        pytest.param({"backoffDelay": "PT2S"}, [0.0] * 4, id="no-policy"),
        pytest.param({"backoffPolicy": "linear"}, [0.0] * 4, id="no-delay"),
        pytest.param({"backoffPolicy": "fibonacci", "backoffDelay": "PT2S"}, [0.0] * 4, id="unknown-policy"),
        pytest.param({"backoffPolicy": "linear", "backoffDelay": "-PT2S"}, [0.0] * 4, id="negative-delay"),
        pytest.param({"backoffPolicy": "linear", "backoffDelay": "PT1M"}, [0.0, 60.0, 120.0, 180.0], id="minutes"),
    ],
)
def test_wait_before_retry_k_is_backoff_of_k_minus_1(delivery: dict[str, Any], waits: list[float]) -> None:
    rp = policy(retry=4, **delivery)
    assert [rp.wait_before_retry(k, 500, None, NOW) for k in (1, 2, 3, 4)] == pytest.approx(waits)


def test_no_policy_means_no_wait() -> None:
    assert RetryPolicy().wait_before_retry(1, 503, "30", NOW) == 0.0


# -- Retry-After -------------------------------------------------------------------------------------------------

LINEAR_1S = {"retry": 3, "backoffPolicy": "linear", "backoffDelay": "PT1S"}


@pytest.mark.parametrize(
    ("retry_after_max", "k", "status", "header", "wait"),
    [
        pytest.param("PT60S", 1, 429, "30", 30.0, id="429-delta-seconds"),
        pytest.param("PT60S", 1, 503, "30", 30.0, id="503-delta-seconds"),
        pytest.param("PT10S", 1, 429, "30", 10.0, id="capped-by-max"),
        pytest.param("PT60S", 3, 429, "1", 2.0, id="backoff-larger"),
        pytest.param("PT60S", 1, 500, "30", 0.0, id="500-ignores-header"),
        pytest.param("PT60S", 1, 404, "30", 0.0, id="404-ignores-header"),
        pytest.param("PT60S", 1, None, "30", 0.0, id="transport-error-ignores-header"),
        pytest.param(None, 1, 429, "30", 0.0, id="no-max-ignores-header"),
        pytest.param(None, 2, 503, "30", 1.0, id="no-max-backoff-only"),
        pytest.param("PT0S", 1, 429, "30", 0.0, id="max-zero-turns-it-off"),
        pytest.param("PT0S", 3, 429, "30", 2.0, id="max-zero-keeps-backoff"),
        pytest.param("PT60S", 1, 429, "soon", 0.0, id="invalid-is-zero"),
        pytest.param("PT60S", 2, 429, "soon", 1.0, id="invalid-keeps-backoff"),
        pytest.param("PT60S", 1, 429, None, 0.0, id="absent"),
        pytest.param("PT60S", 1, 429, "", 0.0, id="empty"),
        pytest.param("PT60S", 1, 429, "-5", 0.0, id="negative-delta"),
        pytest.param("PT60S", 1, 429, "1.5", 0.0, id="fraction-is-invalid"),
        pytest.param("PT60S", 1, 429, "Mon, 01 Jan 2024 12:00:30 GMT", 30.0, id="http-date"),
        pytest.param("PT60S", 1, 429, "Monday, 01-Jan-24 12:00:45 GMT", 45.0, id="rfc850-date"),
        pytest.param("PT60S", 1, 429, "Mon, 01 Jan 2024 13:00:00 GMT", 60.0, id="date-capped"),
        pytest.param("PT60S", 2, 429, "Mon, 01 Jan 2024 11:00:00 GMT", 1.0, id="past-date-backoff-wins"),
    ],
)
def test_retry_after(retry_after_max: str | None, k: int, status: int | None, header: str | None, wait: float) -> None:
    delivery: dict[str, Any] = dict(LINEAR_1S)
    if retry_after_max is not None:
        delivery["retryAfterMax"] = retry_after_max
    assert RetryPolicy.from_spec(delivery).wait_before_retry(k, status, header, NOW) == pytest.approx(wait)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("+7", 7.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Mon, 01 Jan 2024 12:02:00 GMT", 120.0),
        ("Mon, 01 Jan 2024 11:59:00 GMT", -60.0),
        ("99999999999999999999", 0.0),
        ("abc", 0.0),
        (None, 0.0),
    ],
)
def test_retry_after_seconds(header: str | None, seconds: float) -> None:
    assert retry_after_seconds(header, NOW) == pytest.approx(seconds)


# -- retryable results -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (None, True), (-1, True), (404, True), (408, True), (409, True), (429, True),
        (500, True), (502, True), (503, True), (504, True), (599, True),
        (100, False), (200, False), (202, False), (204, False), (301, False), (304, False),
        (400, False), (401, False), (403, False), (405, False), (410, False), (413, False), (422, False),
    ],
)  # fmt: skip
def test_is_retryable(status: int | None, retryable: bool) -> None:
    assert is_retryable(status) is retryable


# -- dead letter -------------------------------------------------------------------------------------------------


def test_dead_letter_extensions() -> None:
    assert dead_letter_extensions("http://sub.ns.svc.cluster.local/", 422, b'{"error":"nope"}') == {
        "knativeerrordest": "http://sub.ns.svc.cluster.local/",
        "knativeerrorcode": 422,
        "knativeerrordata": base64.b64encode(b'{"error":"nope"}').decode(),
    }


def test_error_code_is_an_int_and_transport_error_is_500() -> None:
    extensions = dead_letter_extensions("http://sub/", None, b"dispatch error: connection refused")
    assert extensions["knativeerrorcode"] == 500
    assert isinstance(extensions["knativeerrorcode"], int)
    assert base64.b64decode(str(extensions["knativeerrordata"])) == b"dispatch error: connection refused"


def test_empty_body_leaves_out_error_data() -> None:
    assert dead_letter_extensions("http://sub/", 500, b"") == {
        "knativeerrordest": "http://sub/",
        "knativeerrorcode": 500,
    }


@pytest.mark.parametrize(
    ("size", "length"),
    [(1, 4), (767, 1024), (768, 1024), (769, 1024), (5000, 1024)],
)
def test_error_data_is_cut_to_1024_characters(size: int, length: int) -> None:
    body = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    data = str(dead_letter_extensions("http://sub/", 500, body)["knativeerrordata"])
    assert len(data) == length
    assert data == base64.b64encode(body).decode()[:1024]
    assert "-" not in data and "_" not in data  # standard alphabet, not URL-safe


# -- forwarded headers -------------------------------------------------------------------------------------------


def test_pass_through_headers() -> None:
    headers = [
        ("X-Request-Id", "abc"),
        ("Retry-After", "5"),
        ("Knative-Foo", "1"),
        ("knative-bar", "2"),
        ("X-B3-TraceId", "t"),
        ("traceparent", "00-1-2-01"),
        ("Tracestate", "k=v"),
        ("Content-Type", "application/json"),
        ("Ce-Id", "1"),
        ("Authorization", "secret"),
        ("X-Forwarded-For", "1.2.3.4"),
        ("B3", "single"),
        ("Prefer", "reply"),
    ]
    assert pass_through_headers(headers) == headers[:7]


def test_pass_through_keeps_repeated_headers_in_order() -> None:
    headers = [("knative-a", "1"), ("Host", "x"), ("knative-a", "2")]
    assert pass_through_headers(headers) == [("knative-a", "1"), ("knative-a", "2")]
