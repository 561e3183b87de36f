"""The HPA class's decision (Kubernetes' horizontal pod autoscaler rules)."""

from __future__ import annotations

import pytest

from jupyter_knative.autoscaler.hpa import MIB, HPADecider, HPASpec, parse_cpu, usage_ratio


@pytest.mark.parametrize(("quantity", "cores"), [("250m", 0.25), ("0.5", 0.5), ("2", 2.0), ("", None),
                                                  ("x", None)])
def test_parse_cpu(quantity: str, cores: float | None) -> None:
    assert parse_cpu(quantity) == cores


@pytest.mark.parametrize(("spec", "cores", "rss", "replicas", "ratio"), [
    pytest.param(HPASpec("cpu", 50.0), 1.0, 0, 2, 1.0, id="cpu-at-target"),
    pytest.param(HPASpec("cpu", 50.0, cpu_request=0.5), 1.0, 0, 2, 2.0, id="cpu-request-half-core"),
    pytest.param(HPASpec("memory", 100.0), 0.0, 300 * MIB, 3, 1.0, id="memory-at-target"),
    pytest.param(HPASpec("cpu", 50.0), 1.0, 0, 0, None, id="no-replica"),
])
def test_usage_ratio(spec: HPASpec, cores: float, rss: float, replicas: int, ratio: float | None) -> None:
    assert usage_ratio(spec, cores=cores, rss_bytes=rss, replicas=replicas) == ratio


@pytest.mark.parametrize(("replicas", "ratio", "desired"), [
    pytest.param(2, 1.05, 2, id="within-tolerance"),
    pytest.param(2, 2.0, 4, id="double-load"),
    pytest.param(3, 1.5, 5, id="ceil"),
    pytest.param(2, None, 2, id="no-data-keeps"),
    pytest.param(0, None, 1, id="never-zero"),
])
def test_scale_up_and_hold(replicas: int, ratio: float | None, desired: int) -> None:
    assert HPADecider(HPASpec("cpu", 80.0)).decide(now=0.0, replicas=replicas, ratio=ratio) == desired


def test_bounds() -> None:
    d = HPADecider(HPASpec("cpu", 80.0, min_replicas=2, max_replicas=3))
    assert d.decide(now=0.0, replicas=2, ratio=10.0) == 3
    d = HPADecider(HPASpec("cpu", 80.0, min_replicas=2, max_replicas=3))
    assert d.decide(now=0.0, replicas=3, ratio=0.01) == 2


def test_scale_down_waits_for_the_stabilization_window() -> None:
    d = HPADecider(HPASpec("cpu", 50.0))
    assert d.decide(now=0.0, replicas=4, ratio=1.0) == 4
    assert d.decide(now=60.0, replicas=4, ratio=0.25) == 4  # 1 recommended, 4 still within 5 minutes
    assert d.decide(now=301.0, replicas=4, ratio=0.25) == 1
