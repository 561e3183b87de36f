"""Knative's KPA as pure logic: the decider over time-bucketed metric windows, `config-autoscaler` and
annotation resolution, and the PodAutoscaler's scale-to-zero gating. No clock, sockets or files: time
comes in as arguments (seconds since the epoch), so every rule is tested with explicit times.

    buckets.py   TimedBuckets (linear), WeightedTimedBuckets, MetricWindows (stable + panic)
    decider.py   DeciderSpec, Decider.scale -> ScaleResult; the decider's published status
    config.py    parse_config, decider_spec / metric_spec / scale_bounds (annotation, else config)
    gating.py    gate (bounds + scale-to-zero), active_condition, sks_mode, activators_in_path

Errors: parse_config raises ValueError with Knative's message; nothing else raises on bad input
(annotations admission would refuse are ignored in favour of the config).
"""

from .buckets import LINEAR, WEIGHTED, MetricWindows, TimedBuckets, WeightedTimedBuckets, make_buckets
from .config import (
    HPA_CLASS,
    KPA_CLASS,
    AutoscalerConfig,
    MetricSpec,
    ScaleBounds,
    burst_capacity,
    decider_spec,
    metric_spec,
    parse_config,
    pod_retention,
    progress_deadline,
    resolve_target,
    scale_bounds,
    stable_window,
)
from .decider import (
    INVALID,
    TICK_INTERVAL,
    Decider,
    DeciderSpec,
    DeciderStatus,
    ScaleResult,
    initial_status,
    next_status,
    should_poke,
)
from .gating import (
    ACTIVATING,
    ACTIVE,
    INACTIVE,
    PROXY,
    SERVE,
    ActiveMark,
    GateResult,
    PAState,
    activators_in_path,
    active_condition,
    gate,
    sks_mode,
)

__all__ = [
    "ACTIVATING",
    "ACTIVE",
    "HPA_CLASS",
    "INACTIVE",
    "INVALID",
    "KPA_CLASS",
    "LINEAR",
    "PROXY",
    "SERVE",
    "TICK_INTERVAL",
    "WEIGHTED",
    "ActiveMark",
    "AutoscalerConfig",
    "Decider",
    "DeciderSpec",
    "DeciderStatus",
    "GateResult",
    "MetricSpec",
    "MetricWindows",
    "PAState",
    "ScaleBounds",
    "ScaleResult",
    "TimedBuckets",
    "WeightedTimedBuckets",
    "activators_in_path",
    "active_condition",
    "burst_capacity",
    "decider_spec",
    "gate",
    "initial_status",
    "make_buckets",
    "metric_spec",
    "next_status",
    "parse_config",
    "pod_retention",
    "progress_deadline",
    "resolve_target",
    "scale_bounds",
    "should_poke",
    "sks_mode",
    "stable_window",
]
