"""Knative Serving's webhooks, in-process: defaulting, validation and version conversion of Services,
Configurations, Revisions and Routes, with Knative's messages and field paths.

    fielderror   knative.dev/pkg's FieldError (paths, merging, levels) and the webhook's 400
    config       what the webhook reads from config-defaults, config-features, config-autoscaler
    defaults     SetDefaults: timeouts, containerConcurrency, container names, probes, traffic, user info
    validation   the resources' rules: metadata, traffic, revision names, immutability, bounds
    podspec      the allowed PodSpec subset and the container, probe and volume rules
    annotations  autoscaling.knative.dev/* values, ranges and placement; rollout-duration
    diff         kmp.ShortDiff, the "(-old +new)" rendering
    conversion   v1alpha1 (seed-era runLatest/release/pinned/revisionTemplate forms) and v1beta1 <-> v1
    admission    the admission hooks the kinds use, and how their warnings are collected
    goformat     Go's formatting and parsing rules the messages depend on
"""

from .admission import (
    REQUEST_USER,
    admit_configuration,
    admit_revision,
    admit_route,
    admit_service,
    collect_warnings,
)
from .config import WebhookConfig, load_config
from .conversion import V1, V1ALPHA1, V1BETA1, convert
from .defaults import default_configuration, default_revision, default_route, default_service
from .fielderror import (
    WEBHOOK,
    FieldError,
    Level,
    denied,
    err_disallowed_fields,
    err_disallowed_update_deprecated_fields,
    err_generic,
    err_invalid_array_value,
    err_invalid_key_name,
    err_invalid_value,
    err_missing_field,
    err_missing_one_of,
    err_multiple_one_of,
    err_out_of_bounds_value,
)
from .validation import validate_configuration, validate_revision, validate_route, validate_service

__all__ = [
    "REQUEST_USER",
    "V1",
    "V1ALPHA1",
    "V1BETA1",
    "WEBHOOK",
    "FieldError",
    "Level",
    "WebhookConfig",
    "admit_configuration",
    "admit_revision",
    "admit_route",
    "admit_service",
    "collect_warnings",
    "convert",
    "default_configuration",
    "default_revision",
    "default_route",
    "default_service",
    "denied",
    "err_disallowed_fields",
    "err_disallowed_update_deprecated_fields",
    "err_generic",
    "err_invalid_array_value",
    "err_invalid_key_name",
    "err_invalid_value",
    "err_missing_field",
    "err_missing_one_of",
    "err_multiple_one_of",
    "err_out_of_bounds_value",
    "load_config",
    "validate_configuration",
    "validate_revision",
    "validate_route",
    "validate_service",
]
