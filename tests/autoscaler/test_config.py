"""`config-autoscaler` parsing (Knative's defaults and messages) and target resolution from annotations."""

from __future__ import annotations

from dataclasses import replace

import pytest

from jupyter_knative.autoscaler import (
    LINEAR,
    WEIGHTED,
    AutoscalerConfig,
    Decider,
    MetricSpec,
    MetricWindows,
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

A = "autoscaling.knative.dev/"
DEFAULT = AutoscalerConfig()


def test_defaults() -> None:
    c = parse_config({})
    assert c == DEFAULT
    assert (c.container_concurrency_target_fraction, c.container_concurrency_target_default, c.target_utilization,
            c.rps_target_default, c.target_burst_capacity) == (0.7, 100, 0.7, 200, 211)
    assert (c.stable_window, c.panic_window_percentage, c.panic_threshold_percentage) == (60, 10, 200)
    assert (c.max_scale_up_rate, c.max_scale_down_rate, c.activator_capacity) == (1000, 2, 100)
    assert (c.enable_scale_to_zero, c.scale_to_zero_grace_period, c.scale_to_zero_pod_retention_period,
            c.scale_down_delay) == (True, 30, 0, 0)
    assert (c.initial_scale, c.allow_zero_initial_scale, c.min_scale, c.max_scale, c.max_scale_limit) == \
        (1, False, 0, 0, 0)
    assert c.pod_autoscaler_class == "kpa.autoscaling.knative.dev"


@pytest.mark.parametrize(("data", "want"), [
    pytest.param({"max-scale-up-rate": "1.001", "container-concurrency-target-percentage": "0.5",
                  "container-concurrency-target-default": "10.0", "target-burst-capacity": "0",
                  "stable-window": "5m", "panic-window-percentage": "10", "panic-threshold-percentage": "200"},
                 replace(DEFAULT, container_concurrency_target_fraction=0.5, container_concurrency_target_default=10,
                         max_scale_up_rate=1.001, target_burst_capacity=0, stable_window=300), id="minimum"),
    pytest.param({"container-concurrency-target-percentage": "55"},
                 replace(DEFAULT, container_concurrency_target_fraction=0.55), id="target-percentage-as-percent"),
    pytest.param({"container-concurrency-target-percentage": "100"},
                 replace(DEFAULT, container_concurrency_target_fraction=1.0), id="target-percentage-100"),
    pytest.param({"container-concurrency-target-percentage": "1"},
                 replace(DEFAULT, container_concurrency_target_fraction=1.0), id="target-percentage-1-is-a-fraction"),
    pytest.param({"target-burst-capacity": "-1"}, replace(DEFAULT, target_burst_capacity=-1), id="with-minus-1-tbc"),
    pytest.param({"enable-scale-to-zero": "true", "max-scale-down-rate": "3.0", "max-scale-up-rate": "1.01",
                  "container-concurrency-target-percentage": "0.71", "container-concurrency-target-default": "10.5",
                  "requests-per-second-target-default": "10.11", "target-burst-capacity": "12345",
                  "stable-window": "5m", "panic-window-percentage": "10", "panic-threshold-percentage": "200"},
                 replace(DEFAULT, target_burst_capacity=12345, container_concurrency_target_default=10.5,
                         container_concurrency_target_fraction=0.71, rps_target_default=10.11,
                         max_scale_down_rate=3, max_scale_up_rate=1.01, stable_window=300),
                 id="with-default-toggles-set"),
    pytest.param({"enable-scale-to-zero": "TRUE"}, DEFAULT, id="with-toggles-on-strange-casing"),
    pytest.param({"enable-scale-to-zero": "false"}, replace(DEFAULT, enable_scale_to_zero=False),
                 id="with-toggles-explicitly-flipped"),
    pytest.param({"enable-scale-to-zero": "false", "scale-to-zero-grace-period": "33s"},
                 replace(DEFAULT, enable_scale_to_zero=False, scale_to_zero_grace_period=33),
                 id="with-explicit-grace-period"),
    pytest.param({"stable-window": "1h", "scale-down-delay": "1m30s", "scale-to-zero-pod-retention-period": "1.5s"},
                 replace(DEFAULT, stable_window=3600, scale_down_delay=90, scale_to_zero_pod_retention_period=1.5),
                 id="go-durations"),
    pytest.param({"stable-window": "6s", "panic-window-percentage": "1"},
                 replace(DEFAULT, stable_window=6, panic_window_percentage=1), id="smallest-windows"),
    pytest.param({"max-scale-limit": "10", "max-scale": "10", "min-scale": "2"},
                 replace(DEFAULT, max_scale_limit=10, max_scale=10, min_scale=2), id="scale-limits"),
    pytest.param({"allow-zero-initial-scale": "true", "initial-scale": "0"},
                 replace(DEFAULT, allow_zero_initial_scale=True, initial_scale=0), id="zero-initial-scale-allowed"),
    pytest.param({"pod-autoscaler-class": "hpa.autoscaling.knative.dev", "activator-capacity": "1"},
                 replace(DEFAULT, pod_autoscaler_class="hpa.autoscaling.knative.dev", activator_capacity=1),
                 id="class-and-capacity"),
])
def test_parse(data: dict[str, str], want: AutoscalerConfig) -> None:
    assert parse_config(data) == want


@pytest.mark.parametrize(("data", "message"), [
    pytest.param({"max-scale-up-rate": "not a float"}, 'failed to parse data: failed to parse "max-scale-up-rate": '
                 'strconv.ParseFloat: parsing "not a float": invalid syntax', id="malformed-float"),
    pytest.param({"stable-window": "not a duration"}, 'failed to parse data: failed to parse "stable-window": '
                 'time: invalid duration "not a duration"', id="malformed-duration"),
    pytest.param({"stable-window": "60"}, 'failed to parse data: failed to parse "stable-window": '
                 'time: invalid duration "60"', id="duration-without-unit"),
    pytest.param({"enable-scale-to-zero": "yes"},
                 'failed to parse data: strconv.ParseBool: parsing "yes": invalid syntax', id="malformed-bool"),
    pytest.param({"initial-scale": "1.5"}, 'failed to parse data: failed to parse "initial-scale": '
                 'strconv.ParseInt: parsing "1.5": invalid syntax', id="malformed-int"),
    pytest.param({"max-scale": "3000000000"}, 'failed to parse data: failed to parse "max-scale": '
                 'strconv.ParseInt: parsing "3000000000": value out of range', id="int32-overflow"),
    pytest.param({"scale-to-zero-grace-period": "0s"}, "scale-to-zero-grace-period must be positive, was: 0s",
                 id="grace-not-positive"),
    pytest.param({"scale-down-delay": "-1s"}, "scale-down-delay cannot be negative, was: -1s", id="delay-negative"),
    pytest.param({"scale-down-delay": "1500ms"},
                 "scale-down-delay = 1.5s, must be specified with at most second precision", id="delay-not-seconds"),
    pytest.param({"scale-to-zero-pod-retention-period": "-1s"},
                 "scale-to-zero-pod-retention-period cannot be negative, was: -1s", id="retention-negative"),
    pytest.param({"target-burst-capacity": "-11"},
                 "target-burst-capacity must be either non-negative or -1 (for unlimited), was: -11.000000",
                 id="invalid-target-burst-capacity"),
    pytest.param({"container-concurrency-target-percentage": "-42"},
                 "container-concurrency-target-percentage = -42.000000 is outside of valid range of (0, 100]",
                 id="invalid-target-percent-too-small"),
    pytest.param({"container-concurrency-target-percentage": "142.4"},
                 "container-concurrency-target-percentage = 1.424000 is outside of valid range of (0, 100]",
                 id="invalid-target-percent-too-big"),
    pytest.param({"container-concurrency-target-percentage": "0"},
                 "container-concurrency-target-percentage = 0.000000 is outside of valid range of (0, 100]",
                 id="invalid-target-percent-zero"),
    pytest.param({"container-concurrency-target-percentage": "1", "container-concurrency-target-default": "0.005"},
                 "container-concurrency-target-percentage and container-concurrency-target-default yield target "
                 "concurrency of 0.005, can't be less than 0.01", id="target-concurrency-below-minimum"),
    pytest.param({"requests-per-second-target-default": "-5.25"},
                 "requests-per-second-target-default must be at least 0.01, was: -5.25", id="invalid-rps-target"),
    pytest.param({"activator-capacity": "0.5"}, "activator-capacity = 0.5, must be at least 1",
                 id="activator-capacity-below-1"),
    pytest.param({"max-scale-up-rate": "1"}, "max-scale-up-rate = 1, must be greater than 1.0",
                 id="max-scale-up-rate-1"),
    pytest.param({"max-scale-down-rate": "-55"}, "max-scale-down-rate = -55, must be greater than 1.0",
                 id="max-scale-down-rate-negative"),
    pytest.param({"max-scale-down-rate": "1"}, "max-scale-down-rate = 1, must be greater than 1.0",
                 id="max-scale-down-rate-1"),
    pytest.param({"stable-window": "1s"}, "stable-window = 1s, must be in [6s; 1h0m0s] range",
                 id="stable-window-too-small"),
    pytest.param({"stable-window": "2h"}, "stable-window = 2h0m0s, must be in [6s; 1h0m0s] range",
                 id="stable-window-too-big"),
    pytest.param({"stable-window": "61984ms"},
                 "stable-window = 1m1.984s, must be specified with at most second precision",
                 id="stable-window-not-seconds"),
    pytest.param({"panic-window-percentage": "0.5"}, "panic-window-percentage = 0.5, must be in [1, 100] interval",
                 id="panic-window-percentage-too-small"),
    pytest.param({"panic-window-percentage": "110"}, "panic-window-percentage = 110, must be in [1, 100] interval",
                 id="panic-window-percentage-too-big"),
    pytest.param({"initial-scale": "0"}, "initial-scale = 0, must be at least 0 "
                 "(or at least 1 when allow-zero-initial-scale is false)", id="zero-initial-scale-not-allowed"),
    pytest.param({"initial-scale": "-1", "allow-zero-initial-scale": "true"}, "initial-scale = -1, must be at "
                 "least 0 (or at least 1 when allow-zero-initial-scale is false)", id="negative-initial-scale"),
    pytest.param({"max-scale-limit": "10"}, "max-scale = 0, must be in [1, max-scale-limit(10)] range",
                 id="limit-requires-max-scale"),
    pytest.param({"max-scale-limit": "10", "max-scale": "11"},
                 "max-scale = 11, must be in [1, max-scale-limit(10)] range", id="max-scale-over-limit"),
    pytest.param({"max-scale": "-1"}, "max-scale = -1, must be in [0, max-scale-limit(0)] range",
                 id="negative-max-scale"),
    pytest.param({"max-scale-limit": "-1"}, "max-scale-limit = -1, must be at least 0", id="negative-limit"),
    pytest.param({"min-scale": "-1"}, "min-scale = -1, must be at least 0", id="negative-min-scale"),
    pytest.param({"min-scale": "5", "max-scale": "3"}, "min-scale (5) must be less than or equal to max-scale (3)",
                 id="min-scale-over-max-scale"),
])
def test_invalid(data: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_config(data)
    assert str(err.value) == message


def test_first_failing_rule_wins_in_knatives_order() -> None:
    with pytest.raises(ValueError, match=r"^scale-to-zero-grace-period"):
        parse_config({"scale-to-zero-grace-period": "0s", "max-scale-up-rate": "1"})


# --- target resolution ---------------------------------------------------------------------------------------

UNIT = parse_config({"container-concurrency-target-percentage": "100"})  # Knative's unit tests use 100 %


@pytest.mark.parametrize(("config", "annotations", "cc", "want"), [
    pytest.param(DEFAULT, {}, 0, (70, 100), id="cc=0-default-total"),
    pytest.param(DEFAULT, {}, 10, (7, 10), id="cc=10"),
    pytest.param(DEFAULT, {A + "metric": "rps"}, 0, (140, 200), id="rps"),
    pytest.param(DEFAULT, {A + "metric": "rps"}, 10, (140, 200), id="rps-ignores-cc"),
    pytest.param(UNIT, {}, 0, (100, 100), id="unit-test-config-100-percent"),
    pytest.param(UNIT, {}, 10, (10, 10), id="unit-test-config-cc=10"),
    pytest.param(DEFAULT, {A + "target": "50"}, 0, (35, 50), id="target-annotation"),
    pytest.param(DEFAULT, {A + "target": "50"}, 10, (7, 10), id="target-annotation-capped-by-cc"),
    pytest.param(DEFAULT, {A + "target": "5"}, 10, (3.5, 5), id="target-annotation-below-cc"),
    pytest.param(DEFAULT, {A + "metric": "rps", A + "target": "300"}, 10, (210, 300), id="rps-target-not-capped"),
    pytest.param(DEFAULT, {A + "target-utilization-percentage": "50"}, 0, (50, 100), id="utilization-annotation"),
    pytest.param(DEFAULT, {A + "targetUtilizationPercentage": "90", A + "metric": "rps"}, 0, (180, 200),
                 id="legacy-utilization-annotation-rps"),
    pytest.param(DEFAULT, {A + "target": "0.01", A + "target-utilization-percentage": "1"}, 0, (0.01, 0.01),
                 id="target-floor-0.01"),
    pytest.param(DEFAULT, {A + "target": "abc"}, 0, (70, 100), id="unparseable-target-ignored"),
    pytest.param(DEFAULT, {A + "target": "0.001"}, 0, (70, 100), id="target-below-minimum-ignored"),
    pytest.param(DEFAULT, {A + "target-utilization-percentage": "150"}, 0, (70, 100),
                 id="utilization-out-of-range-ignored"),
])
def test_resolve_target(config: AutoscalerConfig, annotations: dict[str, str], cc: int,
                        want: tuple[float, float]) -> None:
    target, total = resolve_target(config, annotations, cc)
    assert (target, total) == pytest.approx(want)


def test_decider_spec_defaults() -> None:
    s = decider_spec(DEFAULT, {}, 10, True)
    assert (s.scaling_metric, s.target_value, s.total_value, s.target_burst_capacity, s.panic_threshold,
            s.max_scale_up_rate, s.max_scale_down_rate, s.activator_capacity, s.stable_window, s.scale_down_delay,
            s.reachable, s.activation_scale) == ("concurrency", 7, 10, 211, 2, 1000, 2, 100, 60, 0, True, 0)


@pytest.mark.parametrize(("annotations", "field", "want"), [
    pytest.param({A + "panic-threshold-percentage": "150"}, "panic_threshold", 1.5, id="panic-threshold"),
    pytest.param({A + "panicThresholdPercentage": "300"}, "panic_threshold", 3.0, id="legacy-panic-threshold"),
    pytest.param({A + "panic-threshold-percentage": "150", A + "panicThresholdPercentage": "300"},
                 "panic_threshold", 1.5, id="new-spelling-wins"),
    pytest.param({A + "panic-threshold-percentage": "100"}, "panic_threshold", 2.0, id="panic-threshold-out-of-range"),
    pytest.param({A + "window": "120s"}, "stable_window", 120, id="window"),
    pytest.param({A + "window": "2m"}, "stable_window", 120, id="window-minutes"),
    pytest.param({A + "window": "30500ms"}, "stable_window", 60, id="window-not-whole-seconds"),
    pytest.param({A + "window": "5s"}, "stable_window", 60, id="window-too-short"),
    pytest.param({A + "target-burst-capacity": "-1"}, "target_burst_capacity", -1, id="tbc-unlimited"),
    pytest.param({A + "targetBurstCapacity": "0"}, "target_burst_capacity", 0, id="legacy-tbc"),
    pytest.param({A + "target-burst-capacity": "-2"}, "target_burst_capacity", 211, id="tbc-invalid"),
    pytest.param({A + "scale-down-delay": "30s"}, "scale_down_delay", 30, id="scale-down-delay"),
    pytest.param({A + "scaleDownDelay": "1m"}, "scale_down_delay", 60, id="legacy-scale-down-delay"),
    pytest.param({A + "scale-down-delay": "2h"}, "scale_down_delay", 0, id="scale-down-delay-over-an-hour"),
    pytest.param({A + "activation-scale": "3"}, "activation_scale", 3, id="activation-scale"),
    pytest.param({A + "metric": "rps"}, "scaling_metric", "rps", id="metric"),
])
def test_decider_spec_annotations(annotations: dict[str, str], field: str, want: object) -> None:
    assert getattr(decider_spec(DEFAULT, annotations, 0, True), field) == want


def test_decider_spec_from_config() -> None:
    c = parse_config({"max-scale-up-rate": "5", "max-scale-down-rate": "3", "activator-capacity": "50",
                      "panic-threshold-percentage": "400", "stable-window": "2m", "scale-down-delay": "10s",
                      "target-burst-capacity": "0"})
    s = decider_spec(c, {}, 0, False)
    assert (s.max_scale_up_rate, s.max_scale_down_rate, s.activator_capacity, s.panic_threshold, s.stable_window,
            s.scale_down_delay, s.target_burst_capacity, s.reachable) == (5, 3, 50, 4, 120, 10, 0, False)


def test_config_change_takes_effect_without_a_restart() -> None:
    """A new ConfigMap gives a new spec; the running decider and windows take it, history kept."""
    t = 1_800_000_000.0
    before = parse_config({})
    windows = MetricWindows(*metric_spec(before, {})[:2])
    d = Decider(decider_spec(before, {}, 0, True), ready_pods=1)
    for i in range(10):
        windows.record(t + i, 140.0)
    assert d.scale(now=t + 9, ready_pods=1, stable=140.0, panic=140.0).desired_pod_count == 2
    after = parse_config({"container-concurrency-target-percentage": "100", "stable-window": "30s"})
    d.update(decider_spec(after, {}, 0, True))
    windows.resize(*metric_spec(after, {})[:2], now=t + 9)
    averages = windows.averages(t + 9)
    assert averages is not None and averages[1] == 140.0
    assert d.scale(now=t + 10, ready_pods=2, stable=140.0, panic=140.0).desired_pod_count == 2  # still panicking
    assert d.spec.target_value == 100.0 and d.spec.stable_window == 30.0


@pytest.mark.parametrize(("config", "annotations", "want"), [
    pytest.param(DEFAULT, {}, MetricSpec(60, 6, LINEAR), id="defaults"),
    pytest.param(DEFAULT, {A + "window": "120s", A + "panic-window-percentage": "20"}, MetricSpec(120, 24, LINEAR),
                 id="annotations"),
    pytest.param(DEFAULT, {A + "panicWindowPercentage": "50"}, MetricSpec(60, 30, LINEAR), id="legacy-percentage"),
    pytest.param(parse_config({"stable-window": "6s"}), {}, MetricSpec(6, 1, LINEAR), id="at-least-one-bucket"),
    pytest.param(parse_config({"stable-window": "10s", "panic-window-percentage": "15"}), {},
                 MetricSpec(10, 2, LINEAR), id="rounds-half-up"),
    pytest.param(parse_config({"stable-window": "7s", "panic-window-percentage": "15"}), {},
                 MetricSpec(7, 1, LINEAR), id="rounds-down"),
    pytest.param(DEFAULT, {A + "metric-aggregation-algorithm": "weighted-exponential"}, MetricSpec(60, 6, WEIGHTED),
                 id="weighted"),
    pytest.param(DEFAULT, {A + "metricAggregationAlgorithm": "weightedExponential"}, MetricSpec(60, 6, WEIGHTED),
                 id="weighted-legacy"),
    pytest.param(DEFAULT, {A + "metric-aggregation-algorithm": "median"}, MetricSpec(60, 6, LINEAR),
                 id="unknown-algorithm-is-linear"),
])
def test_metric_spec(config: AutoscalerConfig, annotations: dict[str, str], want: MetricSpec) -> None:
    assert metric_spec(config, annotations) == want


@pytest.mark.parametrize(("config", "annotations", "reachable", "want"), [
    pytest.param(DEFAULT, {}, True, ScaleBounds(0, 0, 1, 0), id="defaults"),
    pytest.param(DEFAULT, {A + "min-scale": "2", A + "max-scale": "5", A + "initial-scale": "3",
                           A + "activation-scale": "2"}, True, ScaleBounds(2, 5, 3, 2), id="annotations"),
    pytest.param(DEFAULT, {A + "minScale": "2", A + "maxScale": "5", A + "initialScale": "4"}, True,
                 ScaleBounds(2, 5, 4, 0), id="legacy-annotations"),
    pytest.param(DEFAULT, {A + "min-scale": "2"}, False, ScaleBounds(0, 0, 1, 0), id="unreachable-ignores-min"),
    pytest.param(parse_config({"min-scale": "1", "max-scale": "9"}), {}, True, ScaleBounds(1, 9, 1, 0), id="config"),
    pytest.param(DEFAULT, {A + "initial-scale": "0"}, True, ScaleBounds(0, 0, 1, 0), id="zero-initial-not-allowed"),
    pytest.param(parse_config({"allow-zero-initial-scale": "true"}), {A + "initial-scale": "0"}, True,
                 ScaleBounds(0, 0, 0, 0), id="zero-initial-allowed"),
    pytest.param(DEFAULT, {A + "min-scale": "-1", A + "max-scale": "x"}, True, ScaleBounds(0, 0, 1, 0),
                 id="invalid-ignored"),
])
def test_scale_bounds(config: AutoscalerConfig, annotations: dict[str, str], reachable: bool,
                      want: ScaleBounds) -> None:
    assert scale_bounds(config, annotations, reachable) == want


@pytest.mark.parametrize(("bounds", "desired", "initialized", "reachable", "want"), [
    pytest.param(ScaleBounds(2, 5, 1, 0), 0, True, True, 2, id="below-min"),
    pytest.param(ScaleBounds(2, 5, 1, 0), 9, True, True, 5, id="above-max"),
    pytest.param(ScaleBounds(0, 0, 1, 0), 900, True, True, 900, id="max-0-unbounded"),
    pytest.param(ScaleBounds(1, 0, 3, 0), 1, False, True, 3, id="initial-scale-until-initialized"),
    pytest.param(ScaleBounds(1, 0, 3, 0), 1, True, True, 1, id="initial-scale-after-initialized"),
    pytest.param(ScaleBounds(0, 0, 3, 0), 0, False, False, 0, id="initial-scale-not-when-unreachable"),
    pytest.param(ScaleBounds(0, 2, 3, 0), 0, False, True, 3, id="min-is-checked-before-max"),
])
def test_clamp(bounds: ScaleBounds, desired: int, initialized: bool, reachable: bool, want: int) -> None:
    assert bounds.clamp(desired, initialized=initialized, reachable=reachable) == want


@pytest.mark.parametrize(("bounds", "initialized", "want"), [
    (ScaleBounds(0, 0, 1, 0), False, 1), (ScaleBounds(0, 0, 3, 0), False, 3), (ScaleBounds(0, 0, 3, 0), True, 1),
    (ScaleBounds(2, 0, 1, 0), True, 2), (ScaleBounds(0, 0, 0, 0), False, 0),
])
def test_min_ready(bounds: ScaleBounds, initialized: bool, want: int) -> None:
    assert bounds.min_ready(initialized) == want


def test_small_resolvers() -> None:
    c = parse_config({"scale-to-zero-pod-retention-period": "90s", "stable-window": "30s"})
    assert stable_window(c, {}) == 30 and stable_window(c, {A + "window": "45s"}) == 45
    assert burst_capacity(c, {}) == 211 and burst_capacity(c, {A + "target-burst-capacity": "5.5"}) == 5.5
    assert pod_retention(c, {}, True) == 90 and pod_retention(c, {}, False) == 0
    assert pod_retention(c, {A + "scaleToZeroPodRetentionPeriod": "10s"}, True) == 10
    assert progress_deadline({}) == 600 and progress_deadline({}, 120) == 120
    assert progress_deadline({"serving.knative.dev/progress-deadline": "100s"}) == 100
    assert progress_deadline({"serving.knative.dev/progress-deadline": "soon"}) == 600
