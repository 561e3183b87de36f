"""The KPA decision: a pure function of (spec, window averages, ready pods, now, panic and delay state).

One call per revision per 2 s tick (and at once on a scale-from-zero poke), exactly as Knative's
`autoscaler.Scale`:

    r       = max(1, ready)
    maxUp   = ceil(maxScaleUpRate * r);  maxDown = floor(r / maxScaleDownRate) if reachable else 0
    stableN = clamp(ceil(stable / target), maxDown, maxUp);  panicN likewise from the panic value
    activation-scale > 1 lifts a non-zero stableN / panicN to at least activation-scale
    panic is entered (or extended) while ceil(panic / target) / r >= panicThreshold, and left once it
    is not and the last over-threshold tick is more than a stable window ago; in panic the result is
    the running maximum of max(stableN, panicN) — panic never scales down
    a scale-down delay (reachable revisions) holds the maximum desired count of the last delay seconds
    EBC     = floor(ready * total - TBC - panic)  (0 when TBC = 0, -1 when TBC = -1; the real ready count)

The decider keeps no clock: `now` is an argument, and the delay window is keyed by floor(now / 2).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["INVALID", "TICK_INTERVAL", "Decider", "DeciderSpec", "DeciderStatus", "ScaleResult",
           "initial_status", "next_status", "should_poke"]

TICK_INTERVAL = 2.0
"""Seconds between decisions; also the width of a scale-down-delay bucket."""


@dataclass(frozen=True, slots=True)
class DeciderSpec:
    """What one revision is scaled for; built from `config-autoscaler` and its annotations by
    `decider_spec`. Fields in Knative's order of the public API; durations in seconds."""

    scaling_metric: str = "concurrency"
    """`concurrency` or `rps`: which window averages `stable`/`panic` are."""
    target_value: float = 70.0
    """Per-pod value the revision is scaled to hold (total x utilisation, at least 0.01)."""
    total_value: float = 100.0
    """Per-pod capacity: containerConcurrency, or the concurrency/rps default, or the `target` annotation."""
    target_burst_capacity: float = 211.0
    """Spare capacity to keep on top of the panic value; 0 = activator only at zero, -1 = always."""
    panic_threshold: float = 2.0
    """Panic when the panic-window demand reaches this multiple of the ready pods (a fraction, 200% = 2)."""
    max_scale_up_rate: float = 1000.0
    """At most ceil(rate x ready) pods per decision."""
    max_scale_down_rate: float = 2.0
    """At least floor(ready / rate) pods per decision (reachable revisions)."""
    activator_capacity: float = 100.0
    """Concurrent requests one activator is sized for (number of activators in the path)."""
    stable_window: float = 60.0
    """Seconds; panic ends a stable window after the last over-threshold decision."""
    scale_down_delay: float = 0.0
    """Seconds a lower count must persist before it is returned (reachable revisions only)."""
    reachable: bool = True
    """Referenced by a route. Unreachable revisions have no scale-down limit and no delay."""
    activation_scale: int = 0
    """Minimum non-zero scale (annotation `activation-scale`); only values > 1 have an effect."""

    def __post_init__(self) -> None:
        # The decision divides by both; resolution never produces 0 (target >= 0.01, rates > 1).
        if not self.target_value > 0:
            raise ValueError(f"target_value = {self.target_value}, must be positive")
        if not self.max_scale_down_rate > 0:
            raise ValueError(f"max_scale_down_rate = {self.max_scale_down_rate}, must be positive")


class ScaleResult(NamedTuple):
    desired_pod_count: int
    """Pods the revision should have."""
    excess_burst_capacity: int
    """Spare capacity beyond TBC; negative puts the activator in the path."""
    scale_valid: bool
    """False when inputs were missing: apply nothing."""


INVALID = ScaleResult(0, 0, False)


class _DelayWindow:
    """Maximum of the values recorded in the last `size` buckets (monotonically decreasing deque of
    (bucket, value): a value can never be the maximum again once a larger, newer one arrives)."""

    __slots__ = ("entries", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: deque[tuple[int, int]] = deque()

    def record(self, bucket: int, value: int) -> int:
        entries = self.entries
        while entries and value >= entries[-1][1]:
            entries.pop()
        while entries and bucket - entries[0][0] >= self.size:
            entries.popleft()
        if entries and entries[-1][0] == bucket:
            value = max(value, entries.pop()[1])
        entries.append((bucket, value))
        return entries[0][1]


def _delay_buckets(delay: float) -> int:
    return math.ceil(delay / TICK_INTERVAL)


class Decider:
    """One revision's KPA state. Create it when the revision's PodAutoscaler appears, call `scale` each
    tick, `update` when its spec changes; drop it with the revision.

    A decider created while more than one pod is ready starts in panic holding that count, so a
    restarted autoscaler (which has lost its metric history) does not scale down for a stable window.
    """

    __slots__ = ("_delay", "_max_panic_pods", "_panic_time", "_spec")

    def __init__(self, spec: DeciderSpec, ready_pods: int | None, *, now: float | None = None) -> None:
        """`ready_pods` is the ready count seen at creation (None: could not be counted, taken as 0).
        `now` is when panic starts if it does; without it, the first `scale` call's time is used."""
        ready = ready_pods or 0
        self._spec = spec
        self._max_panic_pods = ready
        # When panic was last entered or extended; -inf marks "in panic since the first tick".
        self._panic_time: float | None = None
        if ready > 1:
            self._panic_time = now if now is not None else -math.inf
        self._delay = _DelayWindow(_delay_buckets(spec.scale_down_delay))

    @property
    def spec(self) -> DeciderSpec:
        return self._spec

    @property
    def in_panic(self) -> bool:
        return self._panic_time is not None

    @property
    def panic_time(self) -> float | None:
        """When panic was last entered or extended; None when not in panic (-inf: started in panic and
        not ticked yet)."""
        return self._panic_time

    @property
    def max_panic_pods(self) -> int:
        return self._max_panic_pods

    def update(self, spec: DeciderSpec) -> None:
        """Take a new spec; panic state and the delay history are kept (a changed delay is resized)."""
        self._delay.size = _delay_buckets(spec.scale_down_delay)
        self._spec = spec

    def scale(self, *, now: float, ready_pods: int | None, stable: float | None,
              panic: float | None) -> ScaleResult:
        """One decision at `now` (seconds since the epoch) from the revision-wide `stable` and `panic`
        window averages of the spec's metric and the ready pod count. None for any of them (no data, pods
        not countable), or a non-finite average, gives `INVALID` and changes nothing."""
        if ready_pods is None or stable is None or panic is None:
            return INVALID
        if not (math.isfinite(stable) and math.isfinite(panic)):
            return INVALID  # a corrupt sample (inf, nan) is no measurement either
        spec = self._spec
        if self._panic_time == -math.inf:
            self._panic_time = now
        r = max(1, ready_pods)
        max_up = math.ceil(spec.max_scale_up_rate * r)
        max_down = math.floor(r / spec.max_scale_down_rate) if spec.reachable else 0
        dspc = math.ceil(stable / spec.target_value)
        dppc = math.ceil(panic / spec.target_value)
        stable_n = min(max(dspc, max_down), max_up)
        panic_n = min(max(dppc, max_down), max_up)
        if spec.activation_scale > 1:
            if dspc > 0:
                stable_n = max(stable_n, spec.activation_scale)
            if dppc > 0:
                panic_n = max(panic_n, spec.activation_scale)
        desired = self._panic_or_stable(now, dppc / r >= spec.panic_threshold, stable_n, panic_n)
        if spec.reachable and spec.scale_down_delay > 0:
            desired = self._delay.record(math.floor(now / TICK_INTERVAL), desired)
        return ScaleResult(desired, _excess_burst_capacity(spec, ready_pods, panic), True)

    def _panic_or_stable(self, now: float, over: bool, stable_n: int, panic_n: int) -> int:
        if over:
            self._panic_time = now
        elif self._panic_time is not None and self._panic_time + self._spec.stable_window < now:
            self._panic_time = None
            self._max_panic_pods = 0
        if self._panic_time is None:
            return stable_n
        self._max_panic_pods = max(self._max_panic_pods, stable_n, panic_n)
        return self._max_panic_pods


def _excess_burst_capacity(spec: DeciderSpec, ready_pods: int, panic: float) -> int:
    tbc = spec.target_burst_capacity
    if tbc == 0:
        return 0
    if tbc > 0:
        return math.floor(ready_pods * spec.total_value - tbc - panic)
    return -1


# --- the decider's published status --------------------------------------------------------------------

class DeciderStatus(NamedTuple):
    """What the PodAutoscaler reconciler reads from the decider."""

    desired_scale: int
    """-1 until the first valid decision."""
    excess_burst_capacity: int


def initial_status(spec: DeciderSpec, initial_scale: int) -> DeciderStatus:
    """The status before the first valid tick: desired -1, and the burst capacity `initial_scale` pods
    would have with no load (negative when TBC exceeds it, so the activator starts in the path)."""
    tbc = spec.target_burst_capacity
    if tbc in (0, -1):
        return DeciderStatus(-1, int(tbc))
    return DeciderStatus(-1, int(initial_scale * spec.total_value - tbc))


def next_status(status: DeciderStatus, result: ScaleResult) -> tuple[DeciderStatus, bool]:
    """Fold one decision into the status; True when the reconciler must hear of it (the desired scale
    changed or the burst capacity changed sign). Invalid results leave the status alone."""
    if not result.scale_valid:
        return status, False
    new = DeciderStatus(result.desired_pod_count, result.excess_burst_capacity)
    changed = new.desired_scale != status.desired_scale or \
        (new.excess_burst_capacity < 0) != (status.excess_burst_capacity < 0)
    return new, changed


def should_poke(status: DeciderStatus, concurrency: float) -> bool:
    """A stat arrived: decide at once (not at the next tick) when it carries load for a revision whose
    last decision was zero — the scale-from-zero path."""
    return status.desired_scale == 0 and concurrency != 0
