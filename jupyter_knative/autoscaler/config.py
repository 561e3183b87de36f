"""`config-autoscaler` and a revision's `autoscaling.knative.dev/*` annotations, resolved into what the
decider, the metric windows and the PodAutoscaler reconciler use.

`parse_config` reads the ConfigMap as Knative does (Go durations, `70` and `0.7` both meaning 70 %) and
refuses what Knative refuses, with Knative's messages. The resolvers read an annotation first (new
spelling, then the legacy camelCase one) and fall back to the config. An annotation that does not parse,
or is outside the range admission allows, is ignored: admission refuses such values, so they only reach
here if admission was bypassed, and the revision keeps the cluster's setting rather than breaking.

Durations are float seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, TypeVar

from ..api.serving.annotations import (
    ACTIVATION_SCALE,
    ALGORITHM,
    BURST,
    INITIAL_SCALE,
    MAX_SCALE,
    METRIC,
    MIN_SCALE,
    PANIC_THRESHOLD,
    PANIC_WINDOW,
    RETENTION,
    SCALE_DOWN_DELAY,
    TARGET,
    UTILIZATION,
    WINDOW,
)
from ..api.serving.goformat import Duration, go_float, go_quote, parse_duration, parse_float, parse_int
from .buckets import LINEAR, WEIGHTED
from .decider import DeciderSpec

__all__ = ["HPA_CLASS", "KPA_CLASS", "AutoscalerConfig", "MetricSpec", "ScaleBounds", "burst_capacity",
           "decider_spec", "metric_spec", "parse_config", "pod_retention", "progress_deadline", "resolve_target",
           "scale_bounds", "stable_window"]

KPA_CLASS = "kpa.autoscaling.knative.dev"
HPA_CLASS = "hpa.autoscaling.knative.dev"
TARGET_MIN = 0.01
"""No per-pod target is ever below this (a smaller one would mean thousands of pods per request)."""
WINDOW_MIN, WINDOW_MAX = 6.0, 3600.0
PANIC_WINDOW_PERCENTAGE_MIN, PANIC_WINDOW_PERCENTAGE_MAX = 1.0, 100.0
PANIC_THRESHOLD_PERCENTAGE_MIN, PANIC_THRESHOLD_PERCENTAGE_MAX = 110.0, 1000.0
BUCKET_SIZE = 1.0
"""Metric bucket width; also the shortest panic window."""
DEFAULT_PROGRESS_DEADLINE = 600.0
"""`config-deployment` progress-deadline: how long a Deployment may take to become available."""
MAX_INT32 = 2**31 - 1
_NS = 1_000_000_000
_T = TypeVar("_T")


@dataclass(frozen=True)
class AutoscalerConfig:
    """`config-autoscaler` (namespace knative-serving), parsed and validated."""

    container_concurrency_target_fraction: float = 0.7
    """`container-concurrency-target-percentage`: the share of a pod's concurrency capacity to target
    (70 or 0.7 in the ConfigMap; a fraction here)."""
    container_concurrency_target_default: float = 100.0
    """`container-concurrency-target-default`: per-pod concurrency capacity when containerConcurrency is 0."""
    target_utilization: float = 0.7
    """Utilisation applied to the rps default (no ConfigMap key; the annotation can override it)."""
    rps_target_default: float = 200.0
    """`requests-per-second-target-default`: per-pod rps capacity for metric=rps."""
    target_burst_capacity: float = 211.0
    """`target-burst-capacity`: spare concurrency to keep; 0 = activator only at zero, -1 = always."""
    stable_window: float = 60.0
    """`stable-window`: seconds averaged for the stable value, and how long panic lasts; [6s, 1h]."""
    panic_window_percentage: float = 10.0
    """`panic-window-percentage`: the panic window as a percentage of the stable window; [1, 100]."""
    panic_threshold_percentage: float = 200.0
    """`panic-threshold-percentage`: panic when demand reaches this percentage of the ready pods' target."""
    max_scale_up_rate: float = 1000.0
    """`max-scale-up-rate`: at most this many times the ready pods per decision; > 1."""
    max_scale_down_rate: float = 2.0
    """`max-scale-down-rate`: at least ready / this many pods per decision; > 1."""
    enable_scale_to_zero: bool = True
    """`enable-scale-to-zero`: false turns a desired 0 into 1."""
    scale_to_zero_grace_period: float = 30.0
    """`scale-to-zero-grace-period`: how long the activator must be in the path before pods go; > 0."""
    scale_to_zero_pod_retention_period: float = 0.0
    """`scale-to-zero-pod-retention-period`: the last pod stays this long after the PA goes inactive."""
    scale_down_delay: float = 0.0
    """`scale-down-delay`: a lower count must hold this long before it is applied; whole seconds."""
    activator_capacity: float = 100.0
    """`activator-capacity`: concurrent requests one activator is sized for; >= 1."""
    initial_scale: int = 1
    """`initial-scale`: pods a new revision starts with."""
    allow_zero_initial_scale: bool = False
    """`allow-zero-initial-scale`: whether initial-scale 0 (config or annotation) is accepted."""
    min_scale: int = 0
    """`min-scale`: cluster-wide lower bound; 0 = none."""
    max_scale: int = 0
    """`max-scale`: cluster-wide upper bound; 0 = none."""
    max_scale_limit: int = 0
    """`max-scale-limit`: when > 0, every max-scale must be in [1, limit]."""
    pod_autoscaler_class: str = KPA_CLASS
    """`pod-autoscaler-class`: the autoscaler revisions get when they name none."""


# --- parsing config-autoscaler ---------------------------------------------------------------------------

def _go_f(value: float) -> str:
    """Go's `%f`."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:f}"


def _parse_bool(key: str, raw: str) -> bool:
    # strconv.ParseBool's spellings; configmap.AsBool returns its error unwrapped.
    if raw in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if raw in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f"strconv.ParseBool: parsing {go_quote(raw)}: invalid syntax")


def _wrap(parse: Callable[[str], Any]) -> Callable[[str, str], Any]:
    def parse_key(key: str, raw: str) -> Any:
        try:
            return parse(raw)
        except ValueError as err:
            raise ValueError(f"failed to parse {go_quote(key)}: {err}") from None
    return parse_key


_FIELDS: tuple[tuple[str, str, Callable[[str, str], Any]], ...] = (
    ("pod-autoscaler-class", "pod_autoscaler_class", lambda _key, raw: raw),
    ("enable-scale-to-zero", "enable_scale_to_zero", _parse_bool),
    ("allow-zero-initial-scale", "allow_zero_initial_scale", _parse_bool),
    ("max-scale-up-rate", "max_scale_up_rate", _wrap(parse_float)),
    ("max-scale-down-rate", "max_scale_down_rate", _wrap(parse_float)),
    ("container-concurrency-target-percentage", "container_concurrency_target_fraction", _wrap(parse_float)),
    ("container-concurrency-target-default", "container_concurrency_target_default", _wrap(parse_float)),
    ("requests-per-second-target-default", "rps_target_default", _wrap(parse_float)),
    ("target-burst-capacity", "target_burst_capacity", _wrap(parse_float)),
    ("panic-window-percentage", "panic_window_percentage", _wrap(parse_float)),
    ("activator-capacity", "activator_capacity", _wrap(parse_float)),
    ("panic-threshold-percentage", "panic_threshold_percentage", _wrap(parse_float)),
    ("initial-scale", "initial_scale", _wrap(lambda raw: parse_int(raw, 32))),
    ("min-scale", "min_scale", _wrap(lambda raw: parse_int(raw, 32))),
    ("max-scale", "max_scale", _wrap(lambda raw: parse_int(raw, 32))),
    ("max-scale-limit", "max_scale_limit", _wrap(lambda raw: parse_int(raw, 32))),
    ("stable-window", "stable_window", _wrap(parse_duration)),
    ("scale-down-delay", "scale_down_delay", _wrap(parse_duration)),
    ("scale-to-zero-grace-period", "scale_to_zero_grace_period", _wrap(parse_duration)),
    ("scale-to-zero-pod-retention-period", "scale_to_zero_pod_retention_period", _wrap(parse_duration)),
)


def parse_config(data: Mapping[str, str]) -> AutoscalerConfig:
    """The `config-autoscaler` data; absent keys keep their defaults. Raises ValueError with Knative's
    message (`failed to parse data: ...` for values that are not numbers, durations or booleans)."""
    values: dict[str, Any] = {}
    for key, name, parse in _FIELDS:
        if key in data:
            try:
                values[name] = parse(key, str(data[key]))
            except ValueError as err:
                raise ValueError(f"failed to parse data: {err}") from None
    # Durations are checked on their exact nanoseconds (61984ms is not whole seconds).
    durations = {name: values.pop(name).ns for name in list(values) if isinstance(values[name], Duration)}
    cfg = replace(AutoscalerConfig(), **values, **{name: ns / _NS for name, ns in durations.items()})
    # Percentages above 1 are divided by 100: "70" and "0.7" mean the same.
    if cfg.container_concurrency_target_fraction > 1.0:
        cfg = replace(cfg, container_concurrency_target_fraction=cfg.container_concurrency_target_fraction / 100)
    ns = {name: round(getattr(cfg, name) * _NS) for name in _DURATIONS} | durations
    _validate_durations(ns)
    _validate_targets(cfg)
    _validate_windows(cfg, ns["stable_window"])
    _validate_scales(cfg)
    return cfg


_DURATIONS = ("stable_window", "scale_down_delay", "scale_to_zero_grace_period", "scale_to_zero_pod_retention_period")


def _validate_durations(ns: Mapping[str, int]) -> None:
    grace, delay, retention = (ns["scale_to_zero_grace_period"], ns["scale_down_delay"],
                               ns["scale_to_zero_pod_retention_period"])
    if grace <= 0:
        raise ValueError(f"scale-to-zero-grace-period must be positive, was: {Duration(grace)}")
    if delay < 0:
        raise ValueError(f"scale-down-delay cannot be negative, was: {Duration(delay)}")
    if delay % _NS:
        raise ValueError(f"scale-down-delay = {Duration(delay)}, must be specified with at most second precision")
    if retention < 0:
        raise ValueError(f"scale-to-zero-pod-retention-period cannot be negative, was: {Duration(retention)}")


def _validate_targets(c: AutoscalerConfig) -> None:
    tbc = c.target_burst_capacity
    if tbc < 0 and tbc != -1:
        raise ValueError(f"target-burst-capacity must be either non-negative or -1 (for unlimited), was: {_go_f(tbc)}")
    fraction = c.container_concurrency_target_fraction
    if fraction <= 0 or fraction > 1:
        raise ValueError(f"container-concurrency-target-percentage = {_go_f(fraction)} "
                         "is outside of valid range of (0, 100]")
    if (x := fraction * c.container_concurrency_target_default) < TARGET_MIN:
        raise ValueError("container-concurrency-target-percentage and container-concurrency-target-default yield "
                         f"target concurrency of {go_float(x)}, can't be less than {go_float(TARGET_MIN)}")
    if c.rps_target_default < TARGET_MIN:
        raise ValueError(f"requests-per-second-target-default must be at least {go_float(TARGET_MIN)}, "
                         f"was: {go_float(c.rps_target_default)}")
    if c.activator_capacity < 1:
        raise ValueError(f"activator-capacity = {go_float(c.activator_capacity)}, must be at least 1")
    if c.max_scale_up_rate <= 1.0:
        raise ValueError(f"max-scale-up-rate = {go_float(c.max_scale_up_rate)}, must be greater than 1.0")
    if c.max_scale_down_rate <= 1.0:
        raise ValueError(f"max-scale-down-rate = {go_float(c.max_scale_down_rate)}, must be greater than 1.0")


def _validate_windows(c: AutoscalerConfig, stable_ns: int) -> None:
    low, high, window = Duration.seconds(WINDOW_MIN), Duration.seconds(WINDOW_MAX), Duration(stable_ns)
    if stable_ns < low.ns or stable_ns > high.ns:
        raise ValueError(f"stable-window = {window}, must be in [{low}; {high}] range")
    if stable_ns % _NS:
        raise ValueError(f"stable-window = {window}, must be specified with at most second precision")
    pct = c.panic_window_percentage
    if pct < PANIC_WINDOW_PERCENTAGE_MIN or pct > PANIC_WINDOW_PERCENTAGE_MAX:
        raise ValueError(f"panic-window-percentage = {go_float(pct)}, must be in "
                         f"[{go_float(PANIC_WINDOW_PERCENTAGE_MIN)}, {go_float(PANIC_WINDOW_PERCENTAGE_MAX)}] interval")


def _validate_scales(c: AutoscalerConfig) -> None:
    if c.initial_scale < 0 or (c.initial_scale == 0 and not c.allow_zero_initial_scale):
        raise ValueError(f"initial-scale = {c.initial_scale}, must be at least 0 "
                         "(or at least 1 when allow-zero-initial-scale is false)")
    floor = 1 if c.max_scale_limit > 0 else 0
    if c.max_scale < floor or (c.max_scale_limit > 0 and c.max_scale > c.max_scale_limit):
        raise ValueError(f"max-scale = {c.max_scale}, must be in [{floor}, max-scale-limit({c.max_scale_limit})] range")
    if c.max_scale_limit < 0:
        raise ValueError(f"max-scale-limit = {c.max_scale_limit}, must be at least 0")
    if c.min_scale < 0:
        raise ValueError(f"min-scale = {c.min_scale}, must be at least 0")
    if c.max_scale > 0 and c.min_scale > c.max_scale:
        raise ValueError(f"min-scale ({c.min_scale}) must be less than or equal to max-scale ({c.max_scale})")


# --- annotations ---------------------------------------------------------------------------------------------

# The annotation keys (with their legacy camelCase spellings) are the webhook's: one table for both.
PROGRESS_DEADLINE = ("serving.knative.dev/progress-deadline",)


def _raw(annotations: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if key in annotations:
            return str(annotations[key])
    return None


def _float(annotations: Mapping[str, str], keys: tuple[str, ...], low: float, high: float = math.inf) -> float | None:
    raw = _raw(annotations, keys)
    try:
        value = parse_float(raw) if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and low <= value <= high else None


def _duration(annotations: Mapping[str, str], keys: tuple[str, ...], low: float, high: float,
              whole_seconds: bool = False) -> float | None:
    raw = _raw(annotations, keys)
    try:
        d = parse_duration(raw) if raw is not None else None
    except ValueError:
        return None
    if d is None or not low * _NS <= d.ns <= high * _NS or (whole_seconds and d.ns % _NS):
        return None
    return d.ns / _NS


def _int(annotations: Mapping[str, str], keys: tuple[str, ...], low: int = 0) -> int | None:
    raw = _raw(annotations, keys)
    try:
        value = parse_int(raw, 32) if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and value >= low else None


def _or(value: _T | None, default: _T) -> _T:
    return default if value is None else value


def stable_window(config: AutoscalerConfig, annotations: Mapping[str, str]) -> float:
    """The `window` annotation, else `stable-window`."""
    return float(_or(_duration(annotations, WINDOW, WINDOW_MIN, WINDOW_MAX, whole_seconds=True),
                     config.stable_window))


def burst_capacity(config: AutoscalerConfig, annotations: Mapping[str, str]) -> float:
    """The `target-burst-capacity` annotation (>= 0 or exactly -1), else the config's."""
    value = _float(annotations, BURST, -1.0)
    if value is not None and value < 0 and value != -1:
        value = None
    return float(_or(value, config.target_burst_capacity))


def pod_retention(config: AutoscalerConfig, annotations: Mapping[str, str], reachable: bool) -> float:
    """How long the last pod is kept after the PA goes inactive; 0 for unreachable revisions."""
    if not reachable:
        return 0.0
    return float(_or(_duration(annotations, RETENTION, 0.0, WINDOW_MAX), config.scale_to_zero_pod_retention_period))


def progress_deadline(annotations: Mapping[str, str], default: float = DEFAULT_PROGRESS_DEADLINE) -> float:
    """`serving.knative.dev/progress-deadline`, else `default` (config-deployment's progress-deadline)."""
    return float(_or(_duration(annotations, PROGRESS_DEADLINE, 1e-9, math.inf), default))


def resolve_target(config: AutoscalerConfig, annotations: Mapping[str, str],
                   container_concurrency: int) -> tuple[float, float]:
    """(target, total) per pod for the revision's metric.

    total: containerConcurrency, or the concurrency default when it is 0, or the rps default for rps; a
    `target` annotation replaces it (capped at containerConcurrency for concurrency). target: total x
    utilisation (the config's, or `target-utilization-percentage` / 100), at least 0.01.
    """
    metric = _or(_raw(annotations, METRIC), "concurrency")
    if metric == "rps":
        total, utilization = config.rps_target_default, config.target_utilization
    else:
        total = float(container_concurrency) or config.container_concurrency_target_default
        utilization = config.container_concurrency_target_fraction
    annotated = _float(annotations, TARGET, TARGET_MIN)
    if annotated is not None:
        total = annotated
        if metric != "rps" and container_concurrency > 0:
            total = min(annotated, float(container_concurrency))
    percentage = _float(annotations, UTILIZATION, 1.0, 100.0)
    if percentage is not None:
        utilization = percentage / 100
    return max(TARGET_MIN, total * utilization), total


def decider_spec(config: AutoscalerConfig, annotations: Mapping[str, str], container_concurrency: int,
                 reachable: bool) -> DeciderSpec:
    """The decider's spec for a revision (its PodAutoscaler's annotations and containerConcurrency;
    `reachable` is false for a revision no route references)."""
    target, total = resolve_target(config, annotations, container_concurrency)
    threshold = _or(_float(annotations, PANIC_THRESHOLD, PANIC_THRESHOLD_PERCENTAGE_MIN,
                           PANIC_THRESHOLD_PERCENTAGE_MAX), config.panic_threshold_percentage)
    delay = _or(_duration(annotations, SCALE_DOWN_DELAY, 0.0, WINDOW_MAX, whole_seconds=True),
                config.scale_down_delay)
    return DeciderSpec(
        scaling_metric="rps" if _raw(annotations, METRIC) == "rps" else "concurrency",
        target_value=target,
        total_value=total,
        target_burst_capacity=burst_capacity(config, annotations),
        panic_threshold=threshold / 100.0,
        max_scale_up_rate=config.max_scale_up_rate,
        max_scale_down_rate=config.max_scale_down_rate,
        activator_capacity=config.activator_capacity,
        stable_window=stable_window(config, annotations),
        scale_down_delay=float(delay),
        reachable=reachable,
        activation_scale=_or(_int(annotations, ACTIVATION_SCALE, 1), 0),
    )


class MetricSpec(NamedTuple):
    """How a revision's samples are averaged."""

    stable_window: float
    panic_window: float
    """stable x panic-window-percentage / 100, rounded to whole seconds, at least one bucket."""
    algorithm: str
    """`linear` or `weighted-exponential`."""


def metric_spec(config: AutoscalerConfig, annotations: Mapping[str, str]) -> MetricSpec:
    stable = stable_window(config, annotations)
    percentage = _or(_float(annotations, PANIC_WINDOW, PANIC_WINDOW_PERCENTAGE_MIN, PANIC_WINDOW_PERCENTAGE_MAX),
                     config.panic_window_percentage)
    panic = max(BUCKET_SIZE, math.floor(stable * percentage / 100 + 0.5))
    algorithm = WEIGHTED if _raw(annotations, ALGORITHM) in (WEIGHTED, "weightedExponential") else LINEAR
    return MetricSpec(stable, float(panic), algorithm)


class ScaleBounds(NamedTuple):
    """The PodAutoscaler's bounds; 0 means unbounded for `max` and unset for `activation`."""

    min: int
    max: int
    initial: int
    activation: int

    def clamp(self, desired: int, *, initialized: bool = True, reachable: bool = True) -> int:
        """`desired` within [min, max] (max 0 = no upper bound). Until the scale target first reaches
        its initial scale (and while reachable), an initial scale above 1 acts as the minimum."""
        low = self.min
        if self.initial > 1 and not initialized and reachable:
            low = max(low, self.initial)
        if desired < low:
            return low
        if self.max != 0 and desired > self.max:
            return self.max
        return desired

    def min_ready(self, initialized: bool) -> int:
        """Ready pods for the PA to be Active: max(min, initial) until first initialized, then max(min, 1)."""
        return max(self.min, self.initial) if not initialized else max(self.min, 1)


def scale_bounds(config: AutoscalerConfig, annotations: Mapping[str, str], reachable: bool) -> ScaleBounds:
    """min (ignored, 0, for unreachable revisions), max, initial and activation scale: annotation, else
    config. An initial-scale annotation of 0 counts only when the cluster allows zero initial scale."""
    minimum = _or(_int(annotations, MIN_SCALE), config.min_scale) if reachable else 0
    initial = _int(annotations, INITIAL_SCALE)
    if initial is None or (initial == 0 and not config.allow_zero_initial_scale):
        initial = config.initial_scale
    return ScaleBounds(minimum, _or(_int(annotations, MAX_SCALE), config.max_scale), initial,
                       _or(_int(annotations, ACTIVATION_SCALE, 1), 0))
