"""The PodAutoscaler's use of a decision: bounds, scale-to-zero gating, `Active`, SKS mode, activators."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.autoscaler import (
    ACTIVATING,
    ACTIVE,
    INACTIVE,
    PROXY,
    SERVE,
    ActiveMark,
    AutoscalerConfig,
    GateResult,
    PAState,
    activators_in_path,
    active_condition,
    gate,
    parse_config,
    sks_mode,
)

NOW = 1_800_000_000.0
A = "autoscaling.knative.dev/"
NO_TRAFFIC = ("NoTraffic", "The target is not receiving traffic.")
TIMED_OUT = ("TimedOut", "The target could not be activated.")


def scale(n: int, report: int | None = None, after: float | None = None) -> GateResult:
    return GateResult(n, n if report is None else report, None, "", "", after)


def wait(report: int, after: float | None = None) -> GateResult:
    return GateResult(None, report, None, "", "", after)


def inactive(scale_to: int | None, after: float | None = None, reason: tuple[str, str] = NO_TRAFFIC) -> GateResult:
    return GateResult(scale_to, 0, INACTIVE, *reason, after)


def run(desired: int, state: PAState, since: float | None = None, *, config: AutoscalerConfig | None = None,
        annotations: dict[str, str] | None = None, proxy_for: float | None = None, **kw: Any) -> GateResult:
    """`since` is how long ago the PA entered `state`; `proxy_for` how long the SKS has proxied."""
    at = None if since is None else NOW - since
    return gate(desired, pa_state=state, now=NOW, config=config or AutoscalerConfig(),
                annotations=annotations or {}, reachable=kw.pop("reachable", True),
                active_since=at if state == ACTIVE else None, inactive_since=at if state == INACTIVE else None,
                activating_since=at if state == ACTIVATING else None,
                sks_proxy_since=None if proxy_for is None else NOW - proxy_for, **kw)


CASES = [
    # bounds first
    pytest.param(dict(desired=-1, state=ACTIVE, since=100), wait(-1), id="no-metrics-yet-do-nothing"),
    pytest.param(dict(desired=-1, state=INACTIVE, since=100), wait(-1), id="no-metrics-inactive-do-nothing"),
    pytest.param(dict(desired=5, state=ACTIVE, since=1), scale(5), id="scale-up"),
    pytest.param(dict(desired=50, state=ACTIVE, since=1, annotations={A + "max-scale": "10"}), scale(10),
                 id="max-scale"),
    pytest.param(dict(desired=0, state=ACTIVE, since=1, annotations={A + "min-scale": "2"}), scale(2),
                 id="min-scale-never-zero"),
    pytest.param(dict(desired=0, state=ACTIVE, since=100, annotations={A + "min-scale": "2"}, reachable=False),
                 inactive(None), id="unreachable-ignores-min-scale"),
    pytest.param(dict(desired=1, state=ACTIVATING, since=1, annotations={A + "initial-scale": "3"},
                      initialized=False), scale(3), id="initial-scale-until-initialized"),
    pytest.param(dict(desired=-1, state=ACTIVATING, since=1, annotations={A + "min-scale": "2"}), scale(2),
                 id="activating-without-metrics-goes-to-min-scale"),
    pytest.param(dict(desired=0, state=ACTIVE, since=100, config=parse_config({"enable-scale-to-zero": "false"})),
                 scale(1), id="scale-to-zero-disabled"),
    # Activating (Active=Unknown)
    pytest.param(dict(desired=0, state=ACTIVATING, since=100), wait(-1, 530), id="activating-waits"),
    pytest.param(dict(desired=-1, state=ACTIVATING, since=630), wait(-1, 0), id="activating-at-deadline-waits"),
    pytest.param(dict(desired=-1, state=ACTIVATING, since=631), inactive(0, reason=TIMED_OUT),
                 id="activation-timed-out"),
    pytest.param(dict(desired=0, state=ACTIVATING, since=131,
                      annotations={"serving.knative.dev/progress-deadline": "100s"}),
                 inactive(0, reason=TIMED_OUT), id="progress-deadline-annotation"),
    pytest.param(dict(desired=0, state=ACTIVATING, since=131, deployment_progress_deadline=120), wait(-1, 19),
                 id="progress-deadline-from-config-deployment"),
    pytest.param(dict(desired=0, state=ACTIVATING, since=None), wait(-1, 630), id="activating-since-unknown"),
    # Active: a stable window before reporting 0
    pytest.param(dict(desired=0, state=ACTIVE, since=40), scale(1, after=20), id="active-keeps-one-pod"),
    pytest.param(dict(desired=0, state=ACTIVE, since=60), inactive(None), id="active-a-window-goes-inactive"),
    pytest.param(dict(desired=0, state=ACTIVE, since=100, annotations={A + "window": "120s"}), scale(1, after=20),
                 id="active-window-annotation"),
    # Inactive: activator first, then grace period / pod retention
    pytest.param(dict(desired=0, state=INACTIVE, since=100), inactive(None, 1.0), id="activator-not-in-path"),
    pytest.param(dict(desired=0, state=INACTIVE, since=100, proxy_for=5, activator_in_path=False),
                 inactive(None, 1.0), id="probe-says-not-in-path"),
    pytest.param(dict(desired=0, state=INACTIVE, since=100, annotations={A + "target-burst-capacity": "-1"}),
                 inactive(0), id="unlimited-tbc-activator-always-in-path"),
    pytest.param(dict(desired=0, state=INACTIVE, since=30, proxy_for=0), inactive(0), id="inactive-for-grace"),
    pytest.param(dict(desired=0, state=INACTIVE, since=10, proxy_for=30), inactive(0), id="proxy-for-grace"),
    pytest.param(dict(desired=0, state=INACTIVE, since=10, proxy_for=10), inactive(None, 20), id="waits-for-grace"),
    pytest.param(dict(desired=0, state=INACTIVE, since=10, activator_in_path=True), inactive(None, 30),
                 id="probed-in-path-but-sks-serving"),
    pytest.param(dict(desired=0, state=INACTIVE, since=40, proxy_for=40,
                      config=parse_config({"scale-to-zero-pod-retention-period": "60s"})),
                 inactive(None, 20), id="pod-retention-holds-the-last-pod"),
    pytest.param(dict(desired=0, state=INACTIVE, since=60, proxy_for=0,
                      annotations={A + "scale-to-zero-pod-retention-period": "60s"}),
                 inactive(0), id="pod-retention-over"),
    pytest.param(dict(desired=0, state=INACTIVE, since=20, proxy_for=0,
                      annotations={A + "scale-to-zero-pod-retention-period": "60s"}, reachable=False),
                 inactive(None, 30), id="unreachable-has-no-pod-retention"),
    pytest.param(dict(desired=0, state=INACTIVE, since=20, proxy_for=20,
                      annotations={A + "scaleToZeroPodRetentionPeriod": "10s"}),
                 inactive(None, 10), id="retention-satisfied-then-grace-by-proxy"),
    pytest.param(dict(desired=0, state=INACTIVE, since=20, proxy_for=35,
                      annotations={A + "scale-to-zero-pod-retention-period": "10s"}),
                 inactive(0), id="retention-satisfied-proxy-long-enough"),
    pytest.param(dict(desired=0, state=INACTIVE, since=12, proxy_for=12,
                      config=parse_config({"scale-to-zero-grace-period": "10s"})),
                 inactive(0), id="grace-period-from-config"),
]


@pytest.mark.parametrize(("args", "want"), CASES)
def test_gate(args: dict[str, Any], want: GateResult) -> None:
    args = dict(args)
    assert run(args.pop("desired"), args.pop("state"), args.pop("since"), **args) == want


def test_scale_to_zero_with_defaults_end_to_end() -> None:
    """Net effect with defaults: idle a stable window -> Inactive + Proxy; 30 s later -> 0 replicas."""
    config = AutoscalerConfig()
    common: dict[str, Any] = dict(config=config, annotations={}, reachable=True, activating_since=None)
    g = gate(0, pa_state=ACTIVE, active_since=NOW - 100, inactive_since=None, now=NOW, sks_proxy_since=None,
             **common)
    assert (g.scale_to, g.report, g.mark) == (None, 0, INACTIVE)
    assert sks_mode(g.report, -111) == PROXY
    later = NOW + 2
    g = gate(0, pa_state=INACTIVE, active_since=None, inactive_since=NOW, now=later, sks_proxy_since=NOW,
             **common)
    assert (g.scale_to, g.requeue_after) == (None, 28)
    g = gate(0, pa_state=INACTIVE, active_since=None, inactive_since=NOW, now=NOW + 30, sks_proxy_since=NOW,
             **common)
    assert g.scale_to == 0


@pytest.mark.parametrize(("want", "ready", "min_ready", "state", "mark"), [
    pytest.param(0, 1, 1, ACTIVE, ActiveMark(INACTIVE, *NO_TRAFFIC), id="no-traffic"),
    pytest.param(0, 0, 1, ACTIVATING, ActiveMark(INACTIVE, *TIMED_OUT), id="gave-up-activating"),
    pytest.param(-1, 0, 0, ACTIVATING, ActiveMark(INACTIVE, *NO_TRAFFIC), id="zero-initial-scale"),
    pytest.param(3, 1, 3, ACTIVATING, ActiveMark(ACTIVATING, "Queued", "Requests to the target are being "
                                                 "buffered as resources are provisioned."), id="queued"),
    pytest.param(1, 0, 1, INACTIVE, ActiveMark(ACTIVATING, "Queued", "Requests to the target are being "
                                               "buffered as resources are provisioned."), id="scaling-from-zero"),
    pytest.param(-1, 0, 1, INACTIVE, ActiveMark(INACTIVE, *NO_TRAFFIC), id="inactive-without-decision"),
    pytest.param(3, 3, 3, ACTIVATING, ActiveMark(ACTIVE, "", ""), id="active"),
    pytest.param(-1, 2, 1, INACTIVE, ActiveMark(None, "", ""), id="inactive-with-pods-and-no-decision"),
])
def test_active_condition(want: int, ready: int, min_ready: int, state: PAState, mark: ActiveMark) -> None:
    assert active_condition(want, ready, min_ready, state) == mark


@pytest.mark.parametrize(("want", "ebc", "inactive", "mode"), [
    pytest.param(0, 10, False, PROXY, id="at-zero"),
    pytest.param(3, -1, False, PROXY, id="burst-capacity-short"),
    pytest.param(3, 0, False, SERVE, id="enough-capacity"),
    pytest.param(-1, 5, True, PROXY, id="no-decision-while-inactive"),
    pytest.param(-1, 5, False, SERVE, id="no-decision-while-active"),
    pytest.param(-1, -111, False, PROXY, id="initial-status-default-tbc"),
])
def test_sks_mode(want: int, ebc: int, inactive: bool, mode: str) -> None:
    assert sks_mode(want, ebc, pa_inactive=inactive) == mode


@pytest.mark.parametrize(("ready", "total", "tbc", "want"), [
    pytest.param(10, 100, 0, 2, id="tbc-0-minimum"),
    pytest.param(0, 100, 211, 3, id="default-tbc-at-zero"),
    pytest.param(5, 100, 211, 8, id="capacity-plus-burst"),
    pytest.param(1, 100, -1, 2, id="unlimited-small"),
    pytest.param(7, 100, -1, 7, id="unlimited-capacity-only"),
])
def test_activators_in_path(ready: int, total: float, tbc: float, want: int) -> None:
    assert activators_in_path(AutoscalerConfig(), ready, total, tbc) == want
