"""Annotation rules: `autoscaling.knative.dev/*` on revisions (and where they may not appear), the
queue sidecar's resource percentage, and `serving.knative.dev/rollout-duration`.

Every error is relative to the annotations map: its path is the annotation key, and the caller prefixes
`metadata.annotations` (so a bad window reads `...metadata.annotations.autoscaling.knative.dev/window`).
Keys with a legacy camelCase spelling are looked up new spelling first, and the error names the key that
was actually found.
"""

from __future__ import annotations

from collections.abc import Mapping

from .config import AutoscalerLimits
from .fielderror import (
    FieldError,
    err_generic,
    err_invalid_key_name,
    err_invalid_value,
    err_out_of_bounds_value,
)
from .goformat import Duration, RangeError, go_float, parse_duration, parse_float, parse_int

__all__ = [
    "AUTOSCALING",
    "validate_autoscaling",
    "validate_no_autoscaling",
    "validate_queue_sidecar",
    "validate_rollout_duration",
]

AUTOSCALING = "autoscaling.knative.dev"
KPA = "kpa.autoscaling.knative.dev"
HPA = "hpa.autoscaling.knative.dev"
_DOMAIN = ".knative.dev"
MAX_INT32 = 2**31 - 1

WINDOW_MIN, WINDOW_MAX = Duration.seconds(6), Duration.seconds(3600)
TARGET_MIN = 0.01


def _keys(name: str, *legacy: str) -> tuple[str, ...]:
    return (f"{AUTOSCALING}/{name}", *(f"{AUTOSCALING}/{alias}" for alias in legacy))


CLASS = _keys("class")
METRIC = _keys("metric")
TARGET = _keys("target")
MIN_SCALE = _keys("min-scale", "minScale")
MAX_SCALE = _keys("max-scale", "maxScale")
INITIAL_SCALE = _keys("initial-scale", "initialScale")
ACTIVATION_SCALE = _keys("activation-scale")
WINDOW = _keys("window")
PANIC_WINDOW = _keys("panic-window-percentage", "panicWindowPercentage")
PANIC_THRESHOLD = _keys("panic-threshold-percentage", "panicThresholdPercentage")
UTILIZATION = _keys("target-utilization-percentage", "targetUtilizationPercentage")
BURST = _keys("target-burst-capacity", "targetBurstCapacity")
SCALE_DOWN_DELAY = _keys("scale-down-delay", "scaleDownDelay")
RETENTION = _keys("scale-to-zero-pod-retention-period", "scaleToZeroPodRetentionPeriod")
ALGORITHM = _keys("metric-aggregation-algorithm", "metricAggregationAlgorithm")
_ALGORITHMS = ("linear", "weighted-exponential", "weightedExponential")

QUEUE_SIDECAR_PERCENTAGE = ("queue.sidecar.serving.knative.dev/resource-percentage",
                            "queue.sidecar.serving.knative.dev/resourcePercentage")
ROLLOUT_DURATION = ("serving.knative.dev/rollout-duration", "serving.knative.dev/rolloutDuration")


def lookup(m: Mapping[str, str], keys: tuple[str, ...]) -> tuple[str, str] | None:
    """The first of `keys` present, with its value (kmap.KeyPriority)."""
    for key in keys:
        if key in m:
            return key, str(m[key])
    return None


def validate_autoscaling(m: Mapping[str, str], limits: AutoscalerLimits) -> FieldError:
    """All `autoscaling.knative.dev/*` rules for a revision (template)'s annotations."""
    return (_class(m).also(_min_max_scale(m, limits), _floats(m), _window(m), _retention(m),
                           _scale_down_delay(m), _metric(m), _algorithm(m), _initial_scale(m, limits)))


def validate_no_autoscaling(m: Mapping[str, str]) -> FieldError:
    """Services, Configurations and Routes: autoscaling annotations belong on the template."""
    errs = FieldError()
    for key in m:
        if key.startswith(AUTOSCALING):
            errs = errs.also(err_invalid_key_name(
                key, "", 'autoscaling annotations must be put under "spec.template.metadata.annotations" to work'))
    return errs


# --- autoscaling.knative.dev -------------------------------------------------------------------------------

def _int_ge0(m: Mapping[str, str], keys: tuple[str, ...]) -> tuple[int, FieldError]:
    found = lookup(m, keys)
    if found is None:
        return 0, FieldError()
    key, value = found
    try:
        number = parse_int(value, 32)
    except RangeError:
        return 0, err_out_of_bounds_value(value, 0, MAX_INT32, key)
    except ValueError:
        return 0, err_invalid_value(value, key)
    if number < 0:
        return 0, err_out_of_bounds_value(value, 0, MAX_INT32, key)
    return number, FieldError()


def _class(m: Mapping[str, str]) -> FieldError:
    found = lookup(m, CLASS)
    if found and found[1].endswith(_DOMAIN) and found[1] not in (KPA, HPA):
        return err_invalid_value(found[1], found[0])
    return FieldError()


def _min_max_scale(m: Mapping[str, str], limits: AutoscalerLimits) -> FieldError:
    low, errs = _int_ge0(m, MIN_SCALE)
    high, err = _int_ge0(m, MAX_SCALE)
    errs = errs.also(err)
    if high != 0 and high < low:
        errs = errs.also(FieldError(f"max-scale={high} is less than min-scale={low}", (MAX_SCALE[0], MIN_SCALE[0])))
    found = lookup(m, MAX_SCALE)
    if found is not None:
        errs = errs.also(_max_within_limit(found[0], high, limits.max_scale_limit))
    return errs.also(_activation_scale(m, low, high))


def _max_within_limit(key: str, high: int, limit: int) -> FieldError:
    if limit == 0:
        return FieldError()
    errs = FieldError()
    if high > limit:
        errs = errs.also(err_out_of_bounds_value(high, 1, limit, key))
    if high == 0:
        errs = errs.also(err_generic(f"max-scale=0 (unlimited), must be less than {limit}", key))
    return errs


def _activation_scale(m: Mapping[str, str], low: int, high: int) -> FieldError:
    found = lookup(m, ACTIVATION_SCALE)
    if found is None:
        return FieldError()
    key, value = found
    try:
        activation = parse_int(value, 32)
    except ValueError:
        return err_invalid_value(value, key)
    if low > activation:
        return err_generic(f"min-scale={low} is greater than activation-scale={activation}", key)
    if high != 0 and high < activation:
        return err_generic(f"max-scale={high} is less than activation-scale={activation}", key)
    if activation < 2:
        return err_generic(f"activation-scale={activation} must be greater than 1", key)
    return FieldError()


def _float_in(m: Mapping[str, str], keys: tuple[str, ...], low: float, high: float) -> FieldError:
    found = lookup(m, keys)
    if found is None:
        return FieldError()
    key, value = found
    try:
        number = parse_float(value)
    except ValueError:
        return err_invalid_value(value, key)
    if number < low or number > high:
        return err_out_of_bounds_value(value, low, high, key)
    return FieldError()


def _floats(m: Mapping[str, str]) -> FieldError:
    errs = _float_in(m, PANIC_WINDOW, 1.0, 100.0).also(_float_in(m, PANIC_THRESHOLD, 110.0, 1000.0))
    found = lookup(m, TARGET)
    if found is not None:
        try:
            if parse_float(found[1]) < TARGET_MIN:
                errs = errs.also(err_generic(f"target {found[1]} should be at least {go_float(TARGET_MIN)}",
                                             found[0]))
        except ValueError:
            errs = errs.also(err_invalid_value(found[1], found[0]))
    errs = errs.also(_float_in(m, UTILIZATION, 1, 100))
    found = lookup(m, BURST)
    if found is not None:
        try:
            burst = parse_float(found[1])
            bad = burst < 0 and burst != -1
        except ValueError:
            bad = True
        if bad:
            errs = errs.also(err_invalid_value(found[1], found[0]))
    return errs


def _duration(m: Mapping[str, str], keys: tuple[str, ...]) -> tuple[str, str, Duration] | FieldError | None:
    found = lookup(m, keys)
    if found is None:
        return None
    try:
        return found[0], found[1], parse_duration(found[1])
    except ValueError:
        return err_invalid_value(found[1], found[0])


def _window(m: Mapping[str, str]) -> FieldError:
    parsed = _duration(m, WINDOW)
    if parsed is None or isinstance(parsed, FieldError):
        return parsed or FieldError()
    key, value, d = parsed
    if d.ns < WINDOW_MIN.ns or d.ns > WINDOW_MAX.ns:
        return err_out_of_bounds_value(value, WINDOW_MIN, WINDOW_MAX, key)
    if d.ns % 1_000_000_000:
        return err_generic("must be specified with at most second precision", key)
    return FieldError()


def _retention(m: Mapping[str, str]) -> FieldError:
    parsed = _duration(m, RETENTION)
    if parsed is None or isinstance(parsed, FieldError):
        return parsed or FieldError()
    key, value, d = parsed
    if d.ns < 0 or d.ns > WINDOW_MAX.ns:
        return err_out_of_bounds_value(value, Duration(0), WINDOW_MAX, key)
    return FieldError()


def _scale_down_delay(m: Mapping[str, str]) -> FieldError:
    parsed = _duration(m, SCALE_DOWN_DELAY)
    if parsed is None or isinstance(parsed, FieldError):
        return parsed or FieldError()
    key, value, d = parsed
    if d.ns < 0 or d.ns > WINDOW_MAX.ns:
        return err_out_of_bounds_value(value, Duration(0), WINDOW_MAX, key)
    if d.ns % 1_000_000_000:
        return err_generic("must be specified with at most second precision", key)
    return FieldError()


def _metric(m: Mapping[str, str]) -> FieldError:
    found = lookup(m, METRIC)
    if found is None:
        return FieldError()
    klass = (lookup(m, CLASS) or ("", KPA))[1]
    metric = found[1]
    if klass == KPA and metric in ("concurrency", "rps"):
        return FieldError()
    if klass == HPA and metric != "":
        return FieldError()
    if klass not in (KPA, HPA):
        return FieldError()  # other autoscalers define their own metrics
    return err_invalid_value(metric, METRIC[0])


def _algorithm(m: Mapping[str, str]) -> FieldError:
    # Only an explicit KPA class is checked: custom autoscalers may define their own algorithms.
    if (lookup(m, CLASS) or ("", ""))[1] != KPA:
        return FieldError()
    found = lookup(m, ALGORITHM)
    if found and found[1] and found[1] not in _ALGORITHMS:
        return err_invalid_value(found[1], found[0])
    return FieldError()


def _initial_scale(m: Mapping[str, str], limits: AutoscalerLimits) -> FieldError:
    found = lookup(m, INITIAL_SCALE)
    if found is None:
        return FieldError()
    key, value = found
    try:
        initial = parse_int(value)
    except ValueError:
        return err_invalid_value(value, key)
    if initial < 0:
        return err_invalid_value(value, f"{key} must be greater than 0")
    if initial == 0 and not limits.allow_zero_initial_scale:
        return err_invalid_value(value, f"{key}=0 not allowed by cluster")
    return FieldError()


# --- serving.knative.dev and the queue sidecar ----------------------------------------------------------

def validate_queue_sidecar(m: Mapping[str, str]) -> FieldError:
    found = lookup(m, QUEUE_SIDECAR_PERCENTAGE)
    if found is None:
        return FieldError()
    key, value = found
    try:
        percentage = parse_float(value)
    except ValueError:
        return err_invalid_value(value, "").via_key(key)
    if percentage < 0.1 or percentage > 100:
        return err_out_of_bounds_value(percentage, 0.1, 100.0, "").via_key(key)
    return FieldError()


def validate_rollout_duration(m: Mapping[str, str]) -> FieldError:
    found = lookup(m, ROLLOUT_DURATION)
    if found is None or not found[1]:
        return FieldError()
    key, value = found
    try:
        d = parse_duration(value)
    except ValueError:
        return err_invalid_value(value, key)
    if d.ns % 1_000_000_000:
        return err_generic(f"rollout-duration={value} is not at second precision", key)
    if d.ns < 0:
        return err_generic(f"rollout-duration={value} must be positive", key)
    return FieldError()
