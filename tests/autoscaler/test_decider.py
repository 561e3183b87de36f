"""The KPA decider, as tables of explicit times. Case ids name the Knative test (pkg/autoscaler/scaling/
autoscaler_test.go) whose scenario and numbers they carry; the builders mirror its helpers."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pytest

from jupyter_knative.autoscaler import (
    INVALID,
    Decider,
    DeciderSpec,
    DeciderStatus,
    ScaleResult,
    initial_status,
    next_status,
    should_poke,
)

T = 1_800_000_000.0  # an even second: delay buckets are floor(t / 2)
UTILIZATION = 0.75  # Knative's unit tests presume 75 % utilisation


def spec(target: float, tbc: float, **kw: object) -> DeciderSpec:
    """newTestAutoscaler's spec: total = target / 0.75, panic at 2x, rates 10, 60 s window, reachable."""
    base = DeciderSpec(scaling_metric="concurrency", target_value=target, total_value=target / UTILIZATION,
                       target_burst_capacity=tbc, panic_threshold=2.0, max_scale_up_rate=10.0,
                       max_scale_down_rate=10.0, activator_capacity=150.0, stable_window=60.0,
                       scale_down_delay=0.0, reachable=True, activation_scale=0)
    return replace(base, **kw)  # type: ignore[arg-type]


def ebc(target: float, tbc: float, panic: float, pods: float) -> int:
    """expectedEBC: the burst capacity `pods` pods of `target / 0.75` capacity leave."""
    return math.floor(target / UTILIZATION * pods - tbc - panic)


def ok(pods: int, excess: int) -> ScaleResult:
    return ScaleResult(pods, excess, True)


# The delay tests use a bare spec: TBC 0 (so EBC 0), no panic (threshold 100).
DELAY = DeciderSpec(target_value=10, total_value=0, target_burst_capacity=0, panic_threshold=100,
                    max_scale_up_rate=10, max_scale_down_rate=10, scale_down_delay=300, reachable=True)


@dataclass(frozen=True)
class Tick:
    at: float
    ready: int | None
    stable: float | None
    panic: float | None
    want: ScaleResult
    update: DeciderSpec | None = None  # applied before this tick
    panic_time: float | bool | None = False  # expected panic time after the tick; False: not checked


SEQUENCES = [
    pytest.param(DELAY, 0, [
        Tick(T + 2, 0, 40, 40, ok(4, 0)),
        Tick(T + 300, 0, 0, 0, ok(4, 0)),  # five minutes at lower load: still within the delay
        Tick(T + 302, 0, 0, 0, ok(0, 0)),  # the 4 has scrolled out
        # gradual
        Tick(T + 540, 0, 40, 40, ok(4, 0)),
        Tick(T + 600, 0, 30, 30, ok(4, 0)),  # 4 still dominates
        Tick(T + 660, 0, 0, 0, ok(4, 0)),
        Tick(T + 840, 0, 0, 0, ok(3, 0)),  # 4 scrolls out, the 3 remains
        Tick(T + 900, 0, 0, 0, ok(0, 0)),
    ], id="TestAutoscalerScaleDownDelay"),
    pytest.param(DELAY, 0, [
        Tick(T + 2, 0, 40, 40, ok(4, 0)),
        Tick(T + 60, 0, 0, 0, ok(4, 0)),
        Tick(T + 2, 0, 0, 0, ok(0, 0), update=replace(DELAY, reachable=False)),  # no delay when unreachable
    ], id="TestAutoscalerScaleDownDelayNotReachable"),
    pytest.param(replace(DELAY, scale_down_delay=0, reachable=False), 0, [
        Tick(T, 0, 40, 40, ok(4, 0)),
        Tick(T + 0.5, 0, 20, 20, ok(2, 0)),  # no one-bucket window: the newest value wins at once
    ], id="TestAutoscalerScaleDownDelayZero"),
    pytest.param(spec(10, 100), 1, [Tick(T, 1, None, None, INVALID)], id="TestAutoscalerNoDataNoAutoscale"),
    pytest.param(spec(10, 100), 1, [Tick(T, 1, 50, 50, ok(5, ebc(10, 100, 50, 1)))], id="TestAutoscalerMetrics"),
    pytest.param(spec(10, 100, scaling_metric="rps"), 1, [
        Tick(T + 61, 1, 100, 99, ok(10, ebc(10, 100, 99, 1)), panic_time=T + 61),
    ], id="TestAutoscalerMetricsWithRPS"),
    pytest.param(spec(10, 101), 1, [
        Tick(T, 1, 50, 10, ok(5, ebc(10, 101, 10, 1))),
        Tick(T, 1, 100, 10, ok(10, ebc(10, 101, 10, 1))),
    ], id="TestAutoscalerStableModeIncreaseWithConcurrencyDefault"),
    pytest.param(spec(10, 101, scaling_metric="rps"), 1, [
        Tick(T, 1, 50, 50, ok(5, ebc(10, 101, 50, 1))),
        Tick(T, 1, 100, 99, ok(10, ebc(10, 101, 99, 1))),
    ], id="TestAutoscalerStableModeIncreaseWithRPS"),
    pytest.param(spec(1, 98), 1, [
        Tick(T, 10, 11, 25, ok(25, ebc(1, 98, 25, 10)), panic_time=T),  # jump from 10 to 25 pods
        # half a stable window later, +1 pod per tick: not over the threshold, the panic time stays
        Tick(T + 30, 40, 30, 41, ok(41, ebc(1, 98, 41, 40)), panic_time=T),
        # a stable window and a tick after the last over-threshold decision: panic ends
        Tick(T + 62, 55, 50, 56, ok(50, ebc(1, 98, 56, 55)), panic_time=None),
    ], id="TestAutoscalerUnpanicAfterSlowIncrease"),
    pytest.param(spec(1, 98), 1, [
        Tick(T, 10, 11, 25, ok(25, ebc(1, 98, 25, 10)), panic_time=T),
        Tick(T + 30, 40, 30, 80, ok(80, ebc(1, 98, 80, 40)), panic_time=T + 30),  # still surging: extended
    ], id="TestAutoscalerExtendPanicWindow"),
    pytest.param(spec(10, 98), 1, [
        Tick(T, 8, 100, 100, ok(10, ebc(10, 98, 100, 8))),
        Tick(T, 8, 50, 50, ok(5, ebc(10, 98, 50, 8))),
    ], id="TestAutoscalerStableModeDecrease"),
    pytest.param(spec(10, 75), 1, [
        Tick(T, 1, 1, 0, ok(1, ebc(10, 75, 0, 1))),
        Tick(T, 1, 0, 0, ok(0, ebc(10, 75, 0, 1))),
    ], id="TestAutoscalerStableModeNoTrafficScaleToZero"),
    pytest.param(spec(10, 75, activation_scale=2), 1, [
        Tick(T, 1, 0, 0, ok(0, ebc(10, 75, 0, 1))),  # zero stays zero
        Tick(T, 1, 1, 0, ok(2, ebc(10, 75, 0, 1))),  # any demand lifts to activation-scale
    ], id="TestAutoscalerActivationScale"),
    pytest.param(spec(1, 101), 1, [
        Tick(T, 1, 6, 6, ok(6, ebc(1, 101, 6, 1))),
        Tick(T, 6, 36, 36, ok(36, ebc(1, 101, 36, 6)), panic_time=T),
        Tick(T + 1, 36, 216, 216, ok(216, ebc(1, 101, 216, 36)), panic_time=T + 1),
        Tick(T + 1, 216, 1296, 1296, ok(1296, ebc(1, 101, 1296, 216)), panic_time=T + 1),
        Tick(T + 2, 1296, 1296, 1296, ok(1296, ebc(1, 101, 1296, 1296))),  # stabilised
    ], id="TestAutoscalerPanicModeExponentialTrackAndStabilize"),
    pytest.param(spec(10, 93), 1, [
        Tick(T, 1, 100, 100, ok(10, ebc(10, 93, 100, 1))),
        Tick(T, 10, 100, 1000, ok(100, ebc(10, 93, 1000, 10)), panic_time=T),
        Tick(T + 30, 10, 1, 1, ok(100, ebc(10, 93, 1, 10)), panic_time=T),  # traffic gone, still panicking
        Tick(T + 61, 10, 1, 1, ok(1, ebc(10, 93, 1, 10)), panic_time=None),  # after the stable window
    ], id="TestAutoscalerPanicThenUnPanicScaleDown"),
    pytest.param(spec(10, 61), 1, [
        Tick(T, 1, 1000, 1001, ok(10, ebc(10, 61, 1001, 1))),  # needs 100, may only grow 10x
        Tick(T, 10, 1000, 1001, ok(100, ebc(10, 61, 1001, 10))),
    ], id="TestAutoscalerRateLimitScaleUp"),
    pytest.param(spec(10, 61), 1, [
        Tick(T, 100, 1, 1, ok(10, ebc(10, 61, 1, 100))),  # needs 1, may only shrink 10x
        Tick(T, 10, 1, 1, ok(1, ebc(10, 61, 1, 10))),
    ], id="TestAutoscalerRateLimitScaleDown"),
    pytest.param(spec(10, 81), 1, [Tick(T, None, 1000, 888, INVALID)], id="TestCantCountPods"),
    pytest.param(spec(10, 81), 1, [
        # rate limits count one pod, the burst capacity counts none
        Tick(T, 0, 1000, 888, ok(10, ebc(10, 81, 888, 0))),
    ], id="TestAutoscalerUseOnePodAsMinimumIfEndpointsNotFound"),
    pytest.param(spec(10, 77), 1, [
        Tick(T, 1, 100, 101, ok(10, ebc(10, 77, 101, 1))),
        Tick(T, 10, 100, 101, ok(100, ebc(1, 71, 101, 10)), update=DeciderSpec(
            target_value=1, total_value=1 / UTILIZATION, activator_capacity=21, target_burst_capacity=71,
            panic_threshold=2, max_scale_down_rate=10, max_scale_up_rate=10, stable_window=60,
            reachable=False)),
    ], id="TestAutoscalerUpdateTarget"),
    # Beyond Knative's tests: the decision formula's edges.
    pytest.param(DeciderSpec(), 1, [
        Tick(T, 1, 140, 140, ok(2, math.floor(100 - 211 - 140)), panic_time=T),
    ], id="worked-default-140-over-70-panics"),
    pytest.param(spec(10, 100), 1, [
        Tick(T, 1, 100, 100, ok(10, ebc(10, 100, 100, 1)), panic_time=T),
        Tick(T + 60, 10, 10, 10, ok(10, ebc(10, 100, 10, 10)), panic_time=T),  # T + 60 < T + 60 is false
        Tick(T + 60.5, 10, 10, 10, ok(1, ebc(10, 100, 10, 10)), panic_time=None),
    ], id="panic-exit-is-strictly-after-a-stable-window"),
    pytest.param(spec(10, 100), 1, [
        Tick(T, 1, 100, 100, ok(10, ebc(10, 100, 100, 1)), panic_time=T),
        Tick(T + 2, 10, 100, None, INVALID, panic_time=T),  # no data: no state change
        Tick(T + 4, None, 100, 100, INVALID, panic_time=T),
    ], id="invalid-inputs-change-nothing"),
    pytest.param(spec(10, 0, max_scale_down_rate=2.0), 1, [
        Tick(T, 40, 0, 0, ok(20, 0)),  # at most halve per decision when reachable
        Tick(T + 2, 40, 0, 0, ok(0, 0), update=spec(10, 0, max_scale_down_rate=2.0, reachable=False)),
    ], id="unreachable-has-no-scale-down-limit"),
    pytest.param(spec(10, -1), 1, [Tick(T, 0, 0, 0, ok(0, -1))], id="unlimited-tbc-ebc-is-minus-one"),
    pytest.param(spec(10, 50), 1, [
        Tick(T, 0, 5, 5, ok(1, math.floor(0 - 50 - 5))),  # EBC uses the real ready count
    ], id="ebc-with-no-ready-pods"),
    pytest.param(spec(10, 0, activation_scale=3), 1, [
        Tick(T, 1, 0, 25, ok(3, 0), panic_time=T),  # stable 0 stays 0, panic 3 lifts; panic wins
    ], id="activation-scale-applies-to-panic-count"),
    pytest.param(replace(DELAY, scale_down_delay=4), 0, [
        Tick(T + 1, 0, 40, 40, ok(4, 0)),  # bucket floor(t/2)
        Tick(T + 1.9, 0, 10, 10, ok(4, 0)),  # same bucket keeps its maximum
        Tick(T + 3, 0, 10, 10, ok(4, 0)),  # next bucket, 4 is one bucket old
        Tick(T + 5, 0, 10, 10, ok(1, 0)),  # two buckets later the 4 is out of a 4 s delay
    ], id="delay-buckets-are-two-seconds"),
    pytest.param(replace(DELAY, scale_down_delay=0), 0, [
        Tick(T, 0, 40, 40, ok(4, 0)),  # not remembered: no delay yet
        Tick(T + 2, 0, 0, 0, ok(0, 0)),
        Tick(T + 4, 0, 40, 40, ok(4, 0), update=DELAY),  # a delay turned on later holds from then on
        Tick(T + 6, 0, 0, 0, ok(4, 0)),
        Tick(T + 8, 0, 0, 0, ok(0, 0), update=replace(DELAY, scale_down_delay=0)),  # and off again
    ], id="update-resizes-the-delay"),
]


@pytest.mark.parametrize(("start", "ready", "ticks"), SEQUENCES)
def test_decider(start: DeciderSpec, ready: int, ticks: list[Tick]) -> None:
    d = Decider(start, ready_pods=ready)
    for i, tick in enumerate(ticks):
        if tick.update is not None:
            d.update(tick.update)
        got = d.scale(now=tick.at, ready_pods=tick.ready, stable=tick.stable, panic=tick.panic)
        assert got == tick.want, f"tick {i} at T+{tick.at - T}"
        if tick.panic_time is not False:
            assert d.panic_time == tick.panic_time, f"tick {i}"
            assert d.in_panic == (tick.panic_time is not None)


# TestAutoscalerScale: one decision from a fresh decider (created at one ready pod) with `ready` pods now.
SINGLE = [
    pytest.param(spec(10, 100), None, 1, 0, 0, ok(0, ebc(10, 100, 0, 1)), id="AutoscalerNoDataAtZeroNoAutoscale"),
    pytest.param(spec(181, -1), None, 1, 21, 26, ok(1, -1), id="AutoscalerStableModeUnlimitedTBC"),
    pytest.param(spec(10, 0), None, 1, 50, 49, ok(5, 0), id="Autoscaler0TBC"),
    pytest.param(spec(10, 100), None, 1, 50, 50, ok(5, ebc(10, 100, 50, 1)), id="AutoscalerStableModeNoChange"),
    pytest.param(spec(1, 100), 5, 5, 50, 30, ok(50, ebc(1, 100, 30, 5)),
                 id="AutoscalerPanicStableLargerThanPanic"),  # in panic the larger of the two counts
    pytest.param(spec(1, 100), 5, 5, 20, 30, ok(30, ebc(1, 100, 30, 5)), id="AutoscalerPanicStableLessThanPanic"),
    pytest.param(spec(10, 100), None, 5, 50, 50, ok(5, ebc(10, 100, 50, 5)),
                 id="AutoscalerStableModeNoChangeAlreadyScaled"),
    pytest.param(spec(1, 1982, max_scale_up_rate=1.1), None, 2, 3, 3.1, ok(3, ebc(1, 1982, 3.1, 2)),
                 id="AutoscalerStableModeIncreaseWithSmallScaleUpRate"),  # ceil(1.1 x 2) lets it reach 3
    pytest.param(spec(10, 1982, max_scale_down_rate=1.1), None, 100, 1, 1, ok(90, ebc(10, 1982, 1, 100)),
                 id="AutoscalerStableModeDecreaseWithSmallScaleDownRate"),
    pytest.param(spec(10, 1982, max_scale_down_rate=1.1, reachable=False), None, 100, 1, 1,
                 ok(1, ebc(10, 1982, 1, 100)), id="AutoscalerStableModeDecreaseNonReachable"),
    pytest.param(spec(10, 84), None, 1, 50, 100, ok(10, ebc(10, 84, 100, 1)), id="AutoscalerPanicModeDoublePodCount"),
]


@pytest.mark.parametrize(("s", "panicking", "ready", "stable", "panic", "want"), SINGLE)
def test_autoscaler_scale(s: DeciderSpec, panicking: int | None, ready: int, stable: float, panic: float,
                          want: ScaleResult) -> None:
    # prepFunc's "panicking 5 s ago holding 5 pods" is a decider created with 5 pods ready 5 s ago.
    d = Decider(s, ready_pods=panicking or 1, now=T - 5)
    assert d.scale(now=T, ready_pods=ready, stable=stable, panic=panic) == want


@pytest.mark.parametrize("ready", [0, 1])
def test_start_in_panic_mode_not_at_zero_or_one(ready: int) -> None:
    """TestStartInPanicMode: created at 0 or 1 ready pods, stable mode."""
    d = Decider(spec(100, 11, total_value=120, panic_threshold=220), ready_pods=ready, now=T)
    assert not d.in_panic and d.max_panic_pods == ready


def test_start_in_panic_mode_above_one() -> None:
    """TestStartInPanicMode: created at 2 ready pods, in panic holding 2, for a stable window."""
    d = Decider(spec(10, 0), ready_pods=2, now=T)
    assert d.in_panic and d.max_panic_pods == 2 and d.panic_time == T
    assert d.scale(now=T + 2, ready_pods=2, stable=0, panic=0) == ok(2, 0)
    assert d.scale(now=T + 60, ready_pods=2, stable=0, panic=0) == ok(2, 0)
    assert d.scale(now=T + 62, ready_pods=2, stable=0, panic=0) == ok(0, 0)  # max down floor(2/10) = 0


def test_start_in_panic_without_a_creation_time_counts_from_the_first_tick() -> None:
    d = Decider(spec(10, 0), ready_pods=3)
    assert d.in_panic
    assert d.scale(now=T, ready_pods=3, stable=0, panic=0) == ok(3, 0)
    assert d.panic_time == T
    assert d.scale(now=T + 60, ready_pods=3, stable=0, panic=0) == ok(3, 0)
    assert d.scale(now=T + 62, ready_pods=3, stable=0, panic=0) == ok(0, 0)


def test_new_fail() -> None:
    """TestNewFail: pods that cannot be counted at creation count as none."""
    d = Decider(spec(100, 11), ready_pods=None, now=T)
    assert d.max_panic_pods == 0 and not d.in_panic


def test_spec_is_replaced_by_update() -> None:
    d = Decider(spec(10, 0), ready_pods=1)
    new = spec(5, 0)
    d.update(new)
    assert d.spec is new
    assert d.scale(now=T, ready_pods=1, stable=10, panic=0) == ok(2, 0)


def test_public_api_example() -> None:
    s = DeciderSpec(scaling_metric="concurrency", target_value=7.0, total_value=10.0, target_burst_capacity=211.0,
                    panic_threshold=2.0, max_scale_up_rate=1000.0, max_scale_down_rate=2.0,
                    activator_capacity=100.0, stable_window=60.0, scale_down_delay=0.0, reachable=True,
                    activation_scale=0)
    d = Decider(s, ready_pods=0)
    r = d.scale(now=T, ready_pods=0, stable=7.0, panic=7.0)
    assert (r.desired_pod_count, r.excess_burst_capacity, r.scale_valid) == (1, -218, True)
    assert not d.in_panic
    assert ScaleResult(0, 0, False) == INVALID


# --- the published status -------------------------------------------------------------------------------

@pytest.mark.parametrize(("tbc", "initial", "want"), [
    pytest.param(-1, 1, DeciderStatus(-1, -1), id="unlimited"),
    pytest.param(0, 1, DeciderStatus(-1, 0), id="zero"),
    pytest.param(211, 1, DeciderStatus(-1, 100 - 211), id="default-activator-in-path"),
    pytest.param(211, 3, DeciderStatus(-1, 300 - 211), id="initial-scale-covers-tbc"),
    pytest.param(10.5, 1, DeciderStatus(-1, 89), id="truncates-toward-zero"),
])
def test_initial_status(tbc: float, initial: int, want: DeciderStatus) -> None:
    assert initial_status(DeciderSpec(total_value=100.0, target_burst_capacity=tbc), initial) == want


@pytest.mark.parametrize(("old", "result", "want", "changed"), [
    pytest.param(DeciderStatus(-1, -111), INVALID, DeciderStatus(-1, -111), False, id="invalid-ignored"),
    pytest.param(DeciderStatus(-1, -111), ok(1, -100), DeciderStatus(1, -100), True, id="first-decision"),
    pytest.param(DeciderStatus(1, -100), ok(1, -90), DeciderStatus(1, -90), False, id="ebc-same-sign"),
    pytest.param(DeciderStatus(1, -1), ok(1, 0), DeciderStatus(1, 0), True, id="ebc-sign-flips"),
    pytest.param(DeciderStatus(3, 5), ok(2, 5), DeciderStatus(2, 5), True, id="desired-changes"),
])
def test_next_status(old: DeciderStatus, result: ScaleResult, want: DeciderStatus, changed: bool) -> None:
    assert next_status(old, result) == (want, changed)


@pytest.mark.parametrize(("desired", "concurrency", "poke"), [
    (0, 1.0, True), (0, 0.0, False), (1, 5.0, False), (-1, 1.0, False),
])
def test_should_poke(desired: int, concurrency: float, poke: bool) -> None:
    assert should_poke(DeciderStatus(desired, 0), concurrency) is poke


@pytest.mark.parametrize(("stable", "panic"), [(math.inf, 1.0), (1.0, math.nan)])
def test_non_finite_averages_are_invalid(stable: float, panic: float) -> None:
    d = Decider(spec(10, 0), ready_pods=1)
    assert d.scale(now=T, ready_pods=1, stable=stable, panic=panic) == INVALID


@pytest.mark.parametrize(("field", "message"), [
    ("target_value", "target_value = 0, must be positive"),
    ("max_scale_down_rate", "max_scale_down_rate = 0, must be positive"),
])
def test_spec_refuses_zero_divisors(field: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeciderSpec(**{field: 0})  # type: ignore[arg-type]
