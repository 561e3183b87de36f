"""`parse_metrics` and the per-namespace view of metrics: the shapes the plane's (and any) Prometheus text takes."""

from __future__ import annotations

import pytest

from jupyter_knative.widgets.feed import Sample, metrics_of_namespace, parse_metrics

HISTOGRAM = """# TYPE h histogram
h_bucket{le="0.5",r="a"} 1
h_bucket{le="+Inf",r="a"} 3
h_sum{r="a"} 2.5
h_count{r="a"} 3
"""


@pytest.mark.parametrize(("text", "name", "expected"), [
    pytest.param("# TYPE g gauge\ng{a=\"1\"} 2\n", "g", [Sample({"a": "1"}, 2.0)], id="gauge"),
    pytest.param("# TYPE event_count counter\nevent_count{b=\"x\"} 3\n", "event_count", [Sample({"b": "x"}, 3.0)],
                 id="counter-without-total-under-its-own-name"),
    pytest.param("# TYPE event_count counter\nevent_count{b=\"x\"} 3\n", "event_count_total",
                 [Sample({"b": "x"}, 3.0)], id="counter-without-total-also-as-total"),
    pytest.param("# TYPE d_total counter\nd_total{o=\"ok\"} 4\n", "d_total", [Sample({"o": "ok"}, 4.0)],
                 id="counter-with-total"),
    pytest.param("# TYPE d_total counter\nd_total{o=\"ok\"} 4\n", "d", [Sample({"o": "ok"}, 4.0)],
                 id="counter-with-total-also-bare"),
    pytest.param(HISTOGRAM, "h_count", [Sample({"r": "a"}, 3.0)], id="histogram-count"),
    pytest.param(HISTOGRAM, "h_sum", [Sample({"r": "a"}, 2.5)], id="histogram-sum"),
    pytest.param(HISTOGRAM, "h_bucket", [Sample({"le": "0.5", "r": "a"}, 1.0), Sample({"le": "+Inf", "r": "a"}, 3.0)],
                 id="histogram-buckets"),
    pytest.param("untyped 7\n", "untyped", [Sample({}, 7.0)], id="untyped"),
])
def test_parse(text: str, name: str, expected: list[Sample]) -> None:
    assert parse_metrics(text)[name] == expected


def test_histogram_family_name_alone_is_not_a_key() -> None:
    assert set(parse_metrics(HISTOGRAM)) == {"h_bucket", "h_sum", "h_count"}


@pytest.mark.parametrize("text", [
    pytest.param("", id="empty"),
    pytest.param("<html><body>404 page not found</body></html>", id="html"),
    pytest.param('{"kind":"Status","code":404}', id="json-status"),
    pytest.param("# TYPE x gauge\nx{a=\"1\" 2\n", id="broken-labels"),
])
def test_not_prometheus_is_empty(text: str) -> None:
    assert parse_metrics(text) == {}


def test_metrics_of_namespace_keeps_the_namespace_and_the_unlabelled() -> None:
    metrics = parse_metrics('a{namespace_name="one"} 1\na{namespace_name="two"} 2\n'
                            'b{k8s_namespace_name="two",x="y"} 3\nc 4\n')
    assert metrics_of_namespace(metrics, "one") == {"a": [Sample({"namespace_name": "one"}, 1.0)],
                                                    "c": [Sample({}, 4.0)]}
    assert metrics_of_namespace(metrics, "two")["b"] == [Sample({"k8s_namespace_name": "two", "x": "y"}, 3.0)]
