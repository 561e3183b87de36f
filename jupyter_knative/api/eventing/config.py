"""What Eventing's webhook reads from `knative-eventing`'s ConfigMaps: `config-features`,
`config-br-defaults`, `default-ch-webhook` and `config-ping-defaults`.

Values are parsed as Knative parses them. A ConfigMap that is missing, or that Knative would refuse to
load, leaves the built-in defaults in place (on a cluster the config webhook refuses such an edit, so the
running webhook never sees it).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..serving.goformat import parse_int

__all__ = [
    "EVENTING_NAMESPACE",
    "BrokerDefaults",
    "ChannelDefaults",
    "EventingConfig",
    "Features",
    "load_config",
]

EVENTING_NAMESPACE = "knative-eventing"

ENABLED, ALLOWED, DISABLED = "Enabled", "Allowed", "Disabled"

# Flags whose default is not Disabled. `strict-subscriber` is on here so that a Subscription without a
# subscriber is refused, as the behaviour this plane documents requires.
_FEATURE_DEFAULTS = {
    "delivery-timeout": ENABLED,
    "new-trigger-filters": ENABLED,
    "strict-subscriber": ENABLED,
}

_Obj = dict[str, Any]


@dataclass(frozen=True)
class Features:
    """`config-features`: `enabled`, `disabled` or `allowed` per flag (case-insensitive)."""

    flags: Mapping[str, str] = field(default_factory=dict)

    def flag(self, key: str) -> str:
        return self.flags.get(key) or _FEATURE_DEFAULTS.get(key, DISABLED)

    def enabled(self, key: str) -> bool:
        return self.flag(key) == ENABLED


@dataclass(frozen=True)
class BrokerDefaults:
    """`config-br-defaults` `default-br-config`: per cluster and per namespace, the default broker class,
    that class's config reference and delivery, and per-class entries under `brokerClasses`."""

    cluster: Mapping[str, Any] | None = None
    namespaces: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def broker_class(self, namespace: str) -> str | None:
        ns = self.namespaces.get(namespace)
        if isinstance(ns, Mapping) and ns.get("brokerClass"):
            return str(ns["brokerClass"])
        if self.cluster and self.cluster.get("brokerClass"):
            return str(self.cluster["brokerClass"])
        return None

    def broker_config(self, namespace: str, broker_class: str | None) -> _Obj | None:
        """`{ref..., delivery}` for a broker of `broker_class` in `namespace`, as Knative picks it:
        the namespace's entry for that class, then the cluster's, then the cluster default."""
        if not broker_class:
            ns = self.namespaces.get(namespace)
            if isinstance(ns, Mapping) and ns.get("brokerClass"):
                return self._by_class(namespace, str(ns["brokerClass"]))
            return self._cluster_config("")
        return self._by_class(namespace, broker_class)

    def _by_class(self, namespace: str, broker_class: str) -> _Obj | None:
        ns = self.namespaces.get(namespace)
        if isinstance(ns, Mapping):
            by_class = _class_entry(ns, broker_class)
            if by_class is not None:
                return by_class
            if ns.get("brokerClass") == broker_class:
                own = _inline_config(ns)
                if own is not None:
                    return own
        return self._cluster_config(broker_class)

    def _cluster_config(self, broker_class: str) -> _Obj | None:
        cluster = self.cluster
        if not isinstance(cluster, Mapping):
            return None
        inline = _inline_config(cluster)
        if inline is None:
            return None
        return _class_entry(cluster, broker_class) or inline


def _class_entry(entry: Mapping[str, Any], broker_class: str) -> _Obj | None:
    classes = entry.get("brokerClasses")
    if isinstance(classes, Mapping) and isinstance(classes.get(broker_class), Mapping):
        return _split(classes[broker_class])
    return None


def _inline_config(entry: Mapping[str, Any]) -> _Obj | None:
    keys = ("apiVersion", "kind", "name", "namespace", "group", "delivery")
    if not any(k in entry for k in keys):
        return None
    return _split(entry)


def _split(entry: Mapping[str, Any]) -> _Obj:
    ref = {k: entry[k] for k in ("kind", "namespace", "name", "apiVersion", "group") if entry.get(k)}
    out: _Obj = {"ref": ref or None}
    if isinstance(entry.get("delivery"), Mapping):
        out["delivery"] = copy.deepcopy(dict(entry["delivery"]))
    return out


@dataclass(frozen=True)
class ChannelDefaults:
    """`default-ch-webhook` `default-ch-config`: the channel template (apiVersion, kind, spec) per namespace."""

    cluster: Mapping[str, Any] | None = field(default_factory=lambda: {
        "apiVersion": "messaging.knative.dev/v1", "kind": "InMemoryChannel"})
    namespaces: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def template(self, namespace: str) -> _Obj | None:
        entry = self.namespaces.get(namespace) or self.cluster
        if not isinstance(entry, Mapping):
            return None
        out = {k: copy.deepcopy(entry[k]) for k in ("apiVersion", "kind", "spec") if entry.get(k) is not None}
        return out


@dataclass(frozen=True)
class EventingConfig:
    features: Features = field(default_factory=Features)
    brokers: BrokerDefaults = field(default_factory=BrokerDefaults)
    channels: ChannelDefaults = field(default_factory=ChannelDefaults)
    data_max_size: int = -1
    """`config-ping-defaults` `data-max-size`: largest PingSource data in bytes; -1 is no limit."""


ConfigSource = Callable[[str, str], dict[str, Any] | None]


def load_config(source: ConfigSource) -> EventingConfig:
    return EventingConfig(
        features=parse_features(source(EVENTING_NAMESPACE, "config-features") or {}),
        brokers=parse_broker_defaults(source(EVENTING_NAMESPACE, "config-br-defaults") or {}),
        channels=parse_channel_defaults(source(EVENTING_NAMESPACE, "default-ch-webhook") or {}),
        data_max_size=parse_ping_defaults(source(EVENTING_NAMESPACE, "config-ping-defaults") or {}),
    )


def parse_features(data: Mapping[str, Any]) -> Features:
    flags: dict[str, str] = {}
    for key, raw in data.items():
        value = next((c for c in (ENABLED, ALLOWED, DISABLED) if c.lower() == str(raw).strip().lower()), None)
        if value is not None:
            flags[key] = value
    return Features(flags)


def _yaml(text: Any) -> Any:
    try:
        return yaml.safe_load(str(text))
    except yaml.YAMLError:
        return None


def parse_broker_defaults(data: Mapping[str, Any]) -> BrokerDefaults:
    parsed = _yaml(data.get("default-br-config") or "")
    if not isinstance(parsed, Mapping):
        return BrokerDefaults()
    cluster = parsed.get("clusterDefault")
    namespaces = parsed.get("namespaceDefaults")
    return BrokerDefaults(
        cluster=cluster if isinstance(cluster, Mapping) else None,
        namespaces={str(k): v for k, v in namespaces.items() if isinstance(v, Mapping)}
        if isinstance(namespaces, Mapping) else {},
    )


def parse_channel_defaults(data: Mapping[str, Any]) -> ChannelDefaults:
    parsed = _yaml(data.get("default-ch-config") or "")
    if not isinstance(parsed, Mapping):
        return ChannelDefaults()
    cluster = parsed.get("clusterDefault")
    namespaces = parsed.get("namespaceDefaults")
    return ChannelDefaults(
        cluster=cluster if isinstance(cluster, Mapping) else None,
        namespaces={str(k): v for k, v in namespaces.items() if isinstance(v, Mapping)}
        if isinstance(namespaces, Mapping) else {},
    )


def parse_ping_defaults(data: Mapping[str, Any]) -> int:
    raw = data.get("data-max-size")
    if raw is None:
        return -1
    try:
        return parse_int(str(raw).strip())
    except ValueError:
        return -1
