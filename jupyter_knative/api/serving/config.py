"""What Serving's webhook reads from its ConfigMaps: `config-defaults`, `config-features` and the part of
`config-autoscaler` that validation depends on.

Each ConfigMap is parsed the way Knative parses it (keys, defaults, case-insensitive flags). A value Knative
would refuse is ignored here and the default kept: on a cluster the config webhook refuses such an edit, so
the running webhook never sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .goformat import parse_int

__all__ = ["SERVING_NAMESPACE", "AutoscalerLimits", "Defaults", "Features", "WebhookConfig", "load_config"]

SERVING_NAMESPACE = "knative-serving"

ENABLED, ALLOWED, DISABLED, ALLOW_ROOT_BOUNDED = "Enabled", "Allowed", "Disabled", "AllowRootBounded"
KPA_CLASS = "kpa.autoscaling.knative.dev"
# Flags that are on unless turned off; every other flag is off unless turned on.
_FEATURE_DEFAULTS = {"multi-container": ENABLED, "kubernetes.podspec-volumes-emptydir": ENABLED}


@dataclass(frozen=True)
class Defaults:
    """`config-defaults`."""

    revision_timeout_seconds: int = 300
    """`revision-timeout-seconds`: timeoutSeconds of revisions that set none (or 0)."""
    max_revision_timeout_seconds: int = 600
    """`max-revision-timeout-seconds`: the largest timeoutSeconds validation accepts."""
    revision_response_start_timeout_seconds: int = 300
    """`revision-response-start-timeout-seconds`: defaults to revision-timeout-seconds; written into a
    spec only when smaller than its timeoutSeconds (so the stock config never writes it)."""
    revision_idle_timeout_seconds: int = 0
    """`revision-idle-timeout-seconds`: 0 is no limit; written only when non-zero and < timeoutSeconds."""
    resources: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """`revision-{cpu,memory,ephemeral-storage}-{request,limit}`: container resources set when absent."""
    container_name_template: str = "user-container"
    """`container-name-template`: the name of an unnamed container (a Go template over the parent)."""
    init_container_name_template: str = "init-container"
    """`init-container-name-template`: the same, for init containers."""
    container_concurrency: int = 0
    """`container-concurrency`: containerConcurrency of revisions that set none; 0 is no limit."""
    container_concurrency_max_limit: int = 1000
    """`container-concurrency-max-limit`: the largest containerConcurrency validation accepts."""
    allow_container_concurrency_zero: bool = True
    """`allow-container-concurrency-zero`: when false, containerConcurrency must be at least 1."""
    enable_service_links: bool | None = False
    """`enable-service-links`: written into new revisions' specs; "default" leaves the field unset."""


@dataclass(frozen=True)
class Features:
    """`config-features`: the flags that change what the webhook defaults or accepts."""

    flags: Mapping[str, str] = field(default_factory=dict)

    def flag(self, key: str) -> str:
        return self.flags.get(key) or _FEATURE_DEFAULTS.get(key, DISABLED)

    def allowed(self, key: str) -> bool:
        """The field the flag guards may be set (the flag is Enabled or Allowed)."""
        return self.flag(key) != DISABLED

    def enabled(self, key: str) -> bool:
        return self.flag(key) == ENABLED

    @property
    def secure_pod_defaults(self) -> str:
        return self.flags.get("secure-pod-defaults", DISABLED)


@dataclass(frozen=True)
class AutoscalerLimits:
    """The `config-autoscaler` keys that annotation validation reads."""

    max_scale_limit: int = 0
    """`max-scale-limit`: when > 0, max-scale must be set and in [1, limit]."""
    allow_zero_initial_scale: bool = False
    """`allow-zero-initial-scale`: whether `autoscaling.knative.dev/initial-scale: "0"` is accepted."""
    pod_autoscaler_class: str = KPA_CLASS


@dataclass(frozen=True)
class WebhookConfig:
    defaults: Defaults = field(default_factory=Defaults)
    features: Features = field(default_factory=Features)
    autoscaler: AutoscalerLimits = field(default_factory=AutoscalerLimits)


# --- parsing ----------------------------------------------------------------------------------------------

ConfigSource = Callable[[str, str], dict[str, Any] | None]


def load_config(source: ConfigSource) -> WebhookConfig:
    """The webhook's view of `knative-serving`'s ConfigMaps (absent ones mean defaults)."""
    return WebhookConfig(
        defaults=parse_defaults(source(SERVING_NAMESPACE, "config-defaults") or {}),
        features=parse_features(source(SERVING_NAMESPACE, "config-features") or {}),
        autoscaler=parse_autoscaler(source(SERVING_NAMESPACE, "config-autoscaler") or {}),
    )


def _int(data: Mapping[str, Any], key: str, default: int) -> int:
    try:
        return parse_int(str(data[key])) if key in data else default
    except ValueError:
        return default


def _bool(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = str(data.get(key, "")).strip().lower()
    return {"true": True, "false": False}.get(value, default)


_RESOURCE_KEYS = {"cpu": "cpu", "memory": "memory", "ephemeral-storage": "ephemeral-storage"}


def parse_defaults(data: Mapping[str, Any]) -> Defaults:
    timeout = _int(data, "revision-timeout-seconds", 300)
    resources: dict[str, dict[str, str]] = {"requests": {}, "limits": {}}
    for key, name in _RESOURCE_KEYS.items():
        for kind, bucket in (("request", "requests"), ("limit", "limits")):
            value = str(data.get(f"revision-{key}-{kind}", "")).strip()
            if value:
                resources[bucket][name] = value
    links = str(data.get("enable-service-links", "false")).strip().lower()
    return Defaults(
        revision_timeout_seconds=timeout,
        max_revision_timeout_seconds=_int(data, "max-revision-timeout-seconds", 600),
        revision_response_start_timeout_seconds=_int(data, "revision-response-start-timeout-seconds", timeout),
        revision_idle_timeout_seconds=_int(data, "revision-idle-timeout-seconds", 0),
        resources=resources,
        container_name_template=str(data.get("container-name-template") or "user-container"),
        init_container_name_template=str(data.get("init-container-name-template") or "init-container"),
        container_concurrency=_int(data, "container-concurrency", 0),
        container_concurrency_max_limit=_int(data, "container-concurrency-max-limit", 1000),
        allow_container_concurrency_zero=_bool(data, "allow-container-concurrency-zero", True),
        enable_service_links=None if links == "default" else links == "true",
    )


def parse_features(data: Mapping[str, Any]) -> Features:
    flags: dict[str, str] = {}
    for key, raw in data.items():
        if key == "_example":
            continue
        choices = (DISABLED, ALLOW_ROOT_BOUNDED, ENABLED) if key == "secure-pod-defaults" else \
            (ENABLED, ALLOWED, DISABLED)
        value = next((c for c in choices if c.lower() == str(raw).strip().lower()), None)
        if value is not None:
            flags[key] = value
    return Features(flags)


def parse_autoscaler(data: Mapping[str, Any]) -> AutoscalerLimits:
    return AutoscalerLimits(
        max_scale_limit=_int(data, "max-scale-limit", 0),
        allow_zero_initial_scale=_bool(data, "allow-zero-initial-scale", False),
        pod_autoscaler_class=str(data.get("pod-autoscaler-class") or KPA_CLASS),
    )
