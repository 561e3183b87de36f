"""What the PodAutoscaler reconciler does with a decision, as pure functions of the PA's state and `now`.

    gate(...)               the bounds, then the scale-to-zero gating: what to scale the Deployment to,
                            what to report as the PA's desired scale, and how to mark `Active`
    active_condition(...)   `Active` from the reported scale and the ready pods, when the gate left it
    sks_mode(...)           Serve (straight to pods) or Proxy (through the activator)
    activators_in_path(...) how many activators back the revision

Scale-to-zero takes three steps a reconcile apart: an Active PA idle for a stable window is reported at 0
and marked Inactive (the SKS moves to Proxy); an Inactive PA whose activator is in the path is scaled to 0
once it has been inactive for max(grace period, pod retention), or, retention satisfied, once the SKS has
been proxying for the grace period. A PA stuck Activating past the progress deadline + 30 s is scaled to
0 and marked Inactive `TimedOut`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal, NamedTuple

from .config import (
    AutoscalerConfig,
    burst_capacity,
    pod_retention,
    progress_deadline,
    scale_bounds,
    stable_window,
)

__all__ = [
    "ACTIVATING",
    "ACTIVATION_TIMEOUT_BUFFER",
    "ACTIVE",
    "INACTIVE",
    "MIN_ACTIVATORS",
    "PROBE_PERIOD",
    "PROXY",
    "SERVE",
    "ActiveMark",
    "GateResult",
    "PAState",
    "activators_in_path",
    "active_condition",
    "gate",
    "sks_mode",
]

PAState = Literal["Active", "Inactive", "Activating"]
ACTIVE: PAState = "Active"
"""The PA's `Active` condition is True."""
INACTIVE: PAState = "Inactive"
"""`Active` is False (scaled, or being scaled, to zero)."""
ACTIVATING: PAState = "Activating"
"""`Active` is Unknown: pods are being brought up (also a new PA)."""

SERVE, PROXY = "Serve", "Proxy"
MIN_ACTIVATORS = 2
ACTIVATION_TIMEOUT_BUFFER = 30.0
"""Seconds past the progress deadline before an activation is given up (lets the revision report why)."""
PROBE_PERIOD = 1.0
"""How soon to look again while waiting for the activator to be in the path."""

NO_TRAFFIC = ("NoTraffic", "The target is not receiving traffic.")
TIMED_OUT = ("TimedOut", "The target could not be activated.")
QUEUED = ("Queued", "Requests to the target are being buffered as resources are provisioned.")


class GateResult(NamedTuple):
    scale_to: int | None
    """Replicas to set on the Deployment; None leaves them as they are."""
    report: int
    """The PA's desired scale (the "want" the SKS mode and `Active` follow); -1: keep the previous one."""
    mark: PAState | None
    """How to set `Active` (with `reason`, `message`); None: leave it to `active_condition`."""
    reason: str
    message: str
    requeue_after: float | None
    """Reconcile again after this many seconds: a wait in progress ends then."""


def _result(scale_to: int | None, report: int, requeue_after: float | None = None) -> GateResult:
    return GateResult(scale_to, report, None, "", "", requeue_after)


def _inactive(scale_to: int | None, reason: tuple[str, str], requeue_after: float | None = None) -> GateResult:
    return GateResult(scale_to, 0, INACTIVE, reason[0], reason[1], requeue_after)


def _elapsed(now: float, since: float | None) -> float:
    # A state whose transition time is unknown has not lasted any time yet.
    return -1.0 if since is None else now - since


def gate(desired: int, *, pa_state: PAState, active_since: float | None, inactive_since: float | None,
         activating_since: float | None, now: float, config: AutoscalerConfig, annotations: Mapping[str, str],
         reachable: bool, sks_proxy_since: float | None, initialized: bool = True,
         activator_in_path: bool | None = None, deployment_progress_deadline: float = 600.0) -> GateResult:
    """Turn the decider's desired scale into the reconciler's actions for this reconcile.

    desired: the decider's latest desired scale; -1 before its first valid decision.
    pa_state: the PA's `Active` condition: ACTIVE (True), INACTIVE (False) or ACTIVATING (Unknown).
    active_since / inactive_since / activating_since: when `Active` last turned True / False / Unknown
        (its lastTransitionTime); only the one matching `pa_state` is read. None: unknown, taken as "just
        now".
    now: the current time, seconds since the epoch.
    config, annotations: `config-autoscaler` and the PA's annotations (bounds, stable window, TBC,
        pod retention, `serving.knative.dev/progress-deadline`).
    reachable: some route references the revision (min-scale and pod retention apply only then).
    sks_proxy_since: since when the SKS has been in Proxy mode; None when it is serving.
    initialized: the PA's ScaleTargetInitialized is True (initial scale reached at least once).
    activator_in_path: a probe's verdict that requests go through the activator; None takes it from the
        SKS mode. With target-burst-capacity -1 the activator is always in the path.
    deployment_progress_deadline: `config-deployment` progress-deadline, seconds.
    """
    if desired < 0 and pa_state != ACTIVATING:
        return _result(None, desired)  # no metrics yet: nothing to decide
    bounds = scale_bounds(config, annotations, reachable)
    desired = bounds.clamp(desired, initialized=initialized, reachable=reachable)
    if desired != 0:
        return _result(desired, desired)
    if not config.enable_scale_to_zero:
        return _result(1, 1)
    if pa_state == ACTIVATING:
        timeout = progress_deadline(annotations, deployment_progress_deadline) + ACTIVATION_TIMEOUT_BUFFER
        activating = _elapsed(now, activating_since)
        if activating > timeout:
            return _inactive(0, TIMED_OUT)
        return _result(None, -1, timeout - activating if activating >= 0 else timeout)
    if pa_state == ACTIVE:
        return _deactivate(now, active_since, stable_window(config, annotations))
    in_path = activator_in_path if activator_in_path is not None else sks_proxy_since is not None
    if burst_capacity(config, annotations) == -1:
        in_path = True
    if not in_path:
        return _inactive(None, NO_TRAFFIC, PROBE_PERIOD)
    return _scale_to_zero(now, inactive_since, sks_proxy_since, config.scale_to_zero_grace_period,
                          pod_retention(config, annotations, reachable))


def _deactivate(now: float, active_since: float | None, window: float) -> GateResult:
    """An Active PA with no demand: report 0 (it goes Inactive, the activator takes over) once it has
    been active a stable window; until then keep one pod and look again when the window has passed."""
    active = _elapsed(now, active_since)
    if active >= window:
        return _inactive(None, NO_TRAFFIC)
    return _result(1, 1, window - active)


def _scale_to_zero(now: float, inactive_since: float | None, proxy_since: float | None, grace: float,
                   retention: float) -> GateResult:
    inactive = _elapsed(now, inactive_since)
    if inactive >= max(grace, retention):
        return _inactive(0, NO_TRAFFIC)
    if retention > 0 and inactive < retention:
        return _inactive(None, NO_TRAFFIC, retention - inactive)
    wait = grace - (now - proxy_since if proxy_since is not None else 0.0)
    if wait <= 0:
        return _inactive(0, NO_TRAFFIC)
    return _inactive(None, NO_TRAFFIC, wait)


class ActiveMark(NamedTuple):
    status: PAState | None
    """None: leave `Active` as it is."""
    reason: str
    message: str


def active_condition(want: int, ready: int, min_ready: int, pa_state: PAState) -> ActiveMark:
    """`Active` after a reconcile: False `NoTraffic` at 0 (`TimedOut` when an activation was given up),
    Unknown `Queued` while fewer than `min_ready` pods are ready, True once enough are. An Inactive PA
    with no decision yet (want -1) stays Inactive."""
    if want == 0 or min_ready == 0:
        if pa_state == ACTIVATING and min_ready > 0:
            return ActiveMark(INACTIVE, *TIMED_OUT)
        return ActiveMark(INACTIVE, *NO_TRAFFIC)
    if ready < min_ready:
        if want > 0 or pa_state != INACTIVE:
            return ActiveMark(ACTIVATING, *QUEUED)
        return ActiveMark(INACTIVE, *NO_TRAFFIC)
    if want > 0 or pa_state != INACTIVE:
        return ActiveMark(ACTIVE, "", "")
    return ActiveMark(None, "", "")


def sks_mode(want: int, ebc: int, *, pa_inactive: bool = False) -> str:
    """PROXY (the activator in the path) when the revision is at 0, when its excess burst capacity is
    negative, or when an inactive PA has no decision yet (want -1); otherwise SERVE."""
    if want == 0 or ebc < 0 or (want == -1 and pa_inactive):
        return PROXY
    return SERVE


def activators_in_path(config: AutoscalerConfig, ready: int, total: float, tbc: float) -> int:
    """Activators backing the revision: enough for its pods' capacity plus the burst capacity, at least
    2; with TBC 0 the activator matters only at zero, so 2."""
    if tbc == 0:
        return MIN_ACTIVATORS
    return max(MIN_ACTIVATORS, math.ceil((ready * total + max(tbc, 0.0)) / config.activator_capacity))
