"""Knative Serving's configuration as the controllers read it from the ConfigMaps in
`knative-serving` (pure parsing; the controllers re-read them when they change)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ...api.selectors import selector_from_match
from ...api.serving.goformat import parse_duration

DEFAULT_DOMAIN = "svc.cluster.local"
DEFAULT_DOMAIN_TEMPLATE = "{{.Name}}.{{.Namespace}}.{{.Domain}}"
DEFAULT_TAG_TEMPLATE = "{{.Tag}}-{{.Name}}"
VISIBILITY_LABEL = "networking.knative.dev/visibility"


@dataclass(frozen=True)
class DomainRule:
    domain: str
    selector: dict[str, str]


def _data(cm: dict[str, Any] | None) -> dict[str, str]:
    return {k: v for k, v in (cm or {}).items() if not k.startswith("_")}


def parse_domains(data: dict[str, Any] | None) -> tuple[DomainRule, ...]:
    rules = []
    for domain, value in _data(data).items():
        selector: dict[str, str] = {}
        if value and value.strip():
            parsed = yaml.safe_load(value) or {}
            selector = {str(k): str(v) for k, v in (parsed.get("selector") or {}).items()}
        rules.append(DomainRule(domain, selector))
    return tuple(rules)


@dataclass(frozen=True)
class ServingConfig:
    domains: tuple[DomainRule, ...] = ()
    domain_template: str = DEFAULT_DOMAIN_TEMPLATE
    tag_template: str = DEFAULT_TAG_TEMPLATE
    features: dict[str, str] = field(default_factory=dict)
    network: dict[str, str] = field(default_factory=dict)
    autoscaler: dict[str, str] = field(default_factory=dict)
    deployment: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)

    def domain_for(self, labels: dict[str, str]) -> str:
        """The most specific config-domain rule whose selector matches the route's labels."""
        if labels.get(VISIBILITY_LABEL) == "cluster-local":
            return DEFAULT_DOMAIN
        best: DomainRule | None = None
        for rule in self.domains:
            if selector_from_match(rule.selector, None).matches(labels) and \
                    (best is None or len(rule.selector) > len(best.selector)):
                best = rule
        return best.domain if best else DEFAULT_DOMAIN

    @property
    def ingress_class(self) -> str:
        return (self.network.get("ingress-class") or self.network.get("ingress.class")
                or "istio.ingress.networking.knative.dev")

    @property
    def progress_deadline(self) -> float:
        """config-deployment's progress-deadline in seconds (Knative's default 600s when unset or invalid)."""
        try:
            return parse_duration(self.deployment.get("progress-deadline", "600s").strip()).ns / 1e9
        except ValueError:
            return 600.0

    def feature(self, name: str) -> bool:
        return self.features.get(name, "disabled").lower() in ("enabled", "allowed")

    def int_setting(self, section: str, key: str, default: int) -> int:
        value = getattr(self, section).get(key)
        try:
            return int(value) if value not in (None, "") else default
        except ValueError:
            return default


def load(config: Any) -> ServingConfig:
    """From a `config(namespace, name) -> data | None` lookup (the store's)."""
    network = _data(config("knative-serving", "config-network"))
    return ServingConfig(
        domains=parse_domains(config("knative-serving", "config-domain")),
        domain_template=network.get("domain-template") or DEFAULT_DOMAIN_TEMPLATE,
        tag_template=network.get("tag-template") or DEFAULT_TAG_TEMPLATE,
        features=_data(config("knative-serving", "config-features")),
        network=network,
        autoscaler=_data(config("knative-serving", "config-autoscaler")),
        deployment=_data(config("knative-serving", "config-deployment")),
        defaults=_data(config("knative-serving", "config-defaults")),
    )
