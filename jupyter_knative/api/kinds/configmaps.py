"""The ConfigMaps Knative installs in `knative-serving` and `knative-eventing`.

The plane seeds these once, the first time it starts with an empty store, and never overwrites them
afterwards: like `kubectl edit cm config-autoscaler -n knative-serving` on a cluster, a user's change is the
configuration from then on, across restarts and upgrades.

Data keys and values are the ones Knative's release manifests set (Serving and Eventing 1.18.0); most
ConfigMaps ship only an `_example` key that documents the settings and their defaults without setting
anything. The `_example` texts here are our own summaries of those defaults, and each carries the
`knative.dev/example-checksum` annotation Knative computes over its `_example` (CRC-32, eight hex digits),
so an edit of the example rather than of the data can be told apart as Knative's webhook does.
"""

from __future__ import annotations

import zlib
from typing import Any

KNATIVE_VERSION = "1.18.0"
SERVING_NAMESPACE = "knative-serving"
EVENTING_NAMESPACE = "knative-eventing"
EXAMPLE_CHECKSUM = "knative.dev/example-checksum"

_HOW_TO = (
    "# Nothing in _example is read: it lists the settings and their defaults.\n"
    "# To change one, copy its line out of _example into data (unindented) and edit it there.\n\n"
)


def example_checksum(text: str) -> str:
    return f"{zlib.crc32(text.encode()):08x}"


def _configmap(namespace: str, name: str, data: dict[str, str], *, labels: dict[str, str] | None = None,
               annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = dict(labels)
    annotations = dict(annotations or {})
    if "_example" in data:
        annotations[EXAMPLE_CHECKSUM] = example_checksum(data["_example"])
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": dict(data)}


def _example(*lines: str) -> str:
    return _HOW_TO + "\n".join(lines) + "\n"


# --- knative-serving ----------------------------------------------------------------------------------


def _serving(name: str, component: str, example: str, **data: str) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "knative-serving", "app.kubernetes.io/component": component,
              "app.kubernetes.io/version": KNATIVE_VERSION}
    return _configmap(SERVING_NAMESPACE, name, {**data, "_example": example}, labels=labels)


_AUTOSCALER = _example(
    '# Target use of each pod\'s capacity, in percent ("0.7" is read as 70 too).',
    'container-concurrency-target-percentage: "70"',
    "# Concurrent requests per pod to aim for when containerConcurrency is 0 (unlimited).",
    'container-concurrency-target-default: "100"',
    "# Requests per second per pod to aim for with the rps metric.",
    'requests-per-second-target-default: "200"',
    "# Spare capacity to keep before the activator leaves the path; -1: always in the path.",
    'target-burst-capacity: "211"',
    "# Window the stable average is taken over (6s to 1h, whole seconds).",
    'stable-window: "60s"',
    "# Panic window as a percentage of the stable window, and the panic threshold.",
    'panic-window-percentage: "10.0"',
    'panic-threshold-percentage: "200.0"',
    "# Largest ratio of desired to current pods in one decision, up and down.",
    'max-scale-up-rate: "1000.0"',
    'max-scale-down-rate: "2.0"',
    'enable-scale-to-zero: "true"',
    "# How long an idle revision keeps its last pod before scaling to zero.",
    'scale-to-zero-grace-period: "30s"',
    'scale-to-zero-pod-retention-period: "0s"',
    'pod-autoscaler-class: "kpa.autoscaling.knative.dev"',
    "# Concurrent requests one activator is sized for.",
    'activator-capacity: "100.0"',
    'initial-scale: "1"',
    'allow-zero-initial-scale: "false"',
    "# Scale bounds; 0 means no bound.",
    'min-scale: "0"',
    'max-scale: "0"',
    'max-scale-limit: "0"',
    "# Time a lower scale must hold before it is applied.",
    'scale-down-delay: "0s"',
)

_DEFAULTS = _example(
    "# Per-request timeout of revisions that set none, and its upper bound.",
    'revision-timeout-seconds: "300"',
    'max-revision-timeout-seconds: "600"',
    "# Wait for the first response byte, and longest gap between writes (0: no limit).",
    'revision-response-start-timeout-seconds: "300"',
    'revision-idle-timeout-seconds: "0"',
    "# Default resources of user containers; not set unless given here, e.g.",
    '# revision-cpu-request: "400m"',
    '# revision-memory-request: "100M"',
    '# revision-cpu-limit: "1000m"',
    '# revision-memory-limit: "200M"',
    "# Names given to containers that have none (Go templates over the parent's metadata).",
    'container-name-template: "user-container"',
    'init-container-name-template: "init-container"',
    "# containerConcurrency of revisions that set none (0: unlimited), and its upper bound.",
    'container-concurrency: "0"',
    'container-concurrency-max-limit: "1000"',
    'allow-container-concurrency-zero: "true"',
    'enable-service-links: "false"',
)

_DEPLOYMENT = _example(
    "# Registries whose tags are not resolved to digests.",
    'registries-skipping-tag-resolving: "kind.local,ko.local,dev.local"',
    'digest-resolution-timeout: "10s"',
    "# How long a revision may take to become ready before it is marked failed.",
    'progress-deadline: "600s"',
    "# Queue-proxy resources.",
    'queue-sidecar-cpu-request: "25m"',
    'queue-sidecar-cpu-limit: "1000m"',
    'queue-sidecar-memory-request: "400Mi"',
    'queue-sidecar-memory-limit: "800Mi"',
    'default-affinity-type: "prefer-spread-revision-over-nodes"',
)

_DOMAIN = _example(
    "# Each key is a domain suffix for routes; the value is an optional label selector.",
    "# With no key at all, routes get svc.cluster.local (reachable inside the plane only).",
    "example.com: |",
    "example.org: |",
    "  selector:",
    "    app: nonprofit",
)

_FEATURES = _example(
    "# Each flag is \"enabled\", \"disabled\" or (where it makes sense) \"allowed\".",
    'multi-container: "enabled"',
    'multi-container-probing: "disabled"',
    'secure-pod-defaults: "disabled"',
    'tag-header-based-routing: "disabled"',
    'autodetect-http2: "disabled"',
    'kubernetes.podspec-affinity: "disabled"',
    'kubernetes.podspec-topologyspreadconstraints: "disabled"',
    'kubernetes.podspec-hostaliases: "disabled"',
    'kubernetes.podspec-nodeselector: "disabled"',
    'kubernetes.podspec-tolerations: "disabled"',
    'kubernetes.podspec-fieldref: "disabled"',
    'kubernetes.podspec-runtimeclassname: "disabled"',
    'kubernetes.podspec-dnspolicy: "disabled"',
    'kubernetes.podspec-dnsconfig: "disabled"',
    'kubernetes.podspec-securitycontext: "disabled"',
    'kubernetes.podspec-priorityclassname: "disabled"',
    'kubernetes.podspec-schedulername: "disabled"',
    'kubernetes.podspec-init-containers: "disabled"',
    'kubernetes.podspec-persistent-volume-claim: "disabled"',
    'kubernetes.podspec-volumes-emptydir: "enabled"',
    'kubernetes.podspec-dryrun: "allowed"',
    'queueproxy.mount-podinfo: "disabled"',
)

_GC = _example(
    "# A revision no route points at is collected when it is older than both ages below",
    "# and more than min-non-active-revisions such revisions exist (\"disabled\" turns a rule off).",
    'retain-since-create-time: "48h"',
    'retain-since-last-active-time: "15h"',
    'min-non-active-revisions: "20"',
    'max-non-active-revisions: "1000"',
)

_SERVING_LOGGING = _example(
    "# Log level per component: debug, info, warn or error.",
    'loglevel.controller: "info"',
    'loglevel.autoscaler: "info"',
    'loglevel.queueproxy: "info"',
    'loglevel.webhook: "info"',
    'loglevel.activator: "info"',
)

_NETWORK = _example(
    "# How route host names are built.",
    'domain-template: "{{.Name}}.{{.Namespace}}.{{.Domain}}"',
    'tag-template: "{{.Tag}}-{{.Name}}"',
    'ingress-class: "istio.ingress.networking.knative.dev"',
    'certificate-class: "cert-manager.certificate.networking.knative.dev"',
    'external-domain-tls: "Disabled"',
    'cluster-local-domain-tls: "Disabled"',
    'system-internal-tls: "Disabled"',
    'http-protocol: "Enabled"',
    "# Seconds over which traffic moves to a new latest revision (0: at once).",
    'rollout-duration: "0"',
    'autocreate-cluster-domain-claims: "false"',
    'default-external-scheme: "http"',
)

_SERVING_OBSERVABILITY = _example(
    'metrics.backend-destination: "prometheus"',
    'metrics.reporting-period-seconds: "5"',
    "# Request logs from queue-proxy (a Go template per request when enabled).",
    'logging.enable-request-log: "false"',
    'logging.enable-probe-request-log: "false"',
    'profiling.enable: "false"',
)

_TRACING = _example(
    '# "zipkin" or "none".',
    'backend: "none"',
    'zipkin-endpoint: ""',
    'debug: "false"',
    "# Fraction of requests traced.",
    'sample-rate: "0.1"',
)

# Release value of the queue-proxy image reference (unused by the embedded plane, which has no images).
QUEUE_SIDECAR_IMAGE = ("gcr.io/knative-releases/knative.dev/serving/cmd/queue@sha256:"
                       "cab5d14e0910c5e2e2f2be736e44724ecb38c72c211ac43c9e7977468f4934cc")


def serving_configmaps() -> list[dict[str, Any]]:
    return [
        _serving("config-autoscaler", "autoscaler", _AUTOSCALER),
        _serving("config-defaults", "controller", _DEFAULTS),
        _serving("config-deployment", "controller", _DEPLOYMENT,
                 **{"queue-sidecar-image": QUEUE_SIDECAR_IMAGE}),
        _serving("config-domain", "controller", _DOMAIN),
        _serving("config-features", "controller", _FEATURES),
        _serving("config-gc", "controller", _GC),
        _serving("config-logging", "logging", _SERVING_LOGGING),
        _serving("config-network", "networking", _NETWORK),
        _serving("config-observability", "observability", _SERVING_OBSERVABILITY),
        _serving("config-tracing", "tracing", _TRACING),
    ]


# --- knative-eventing ---------------------------------------------------------------------------------

_EVENTING_LABELS = {"app.kubernetes.io/version": KNATIVE_VERSION,
                    "app.kubernetes.io/name": "knative-eventing"}
# ConfigMaps Eventing propagates to other namespaces carry two more labels.
_PROPAGATED_LABELS = {"knative.dev/config-propagation": "original", "knative.dev/config-category": "eventing",
                      **_EVENTING_LABELS}

DEFAULT_BR_CONFIG = """\
clusterDefault:
  brokerClass: MTChannelBasedBroker
  apiVersion: v1
  kind: ConfigMap
  name: config-br-default-channel
  namespace: knative-eventing
  delivery:
    retry: 10
    backoffPolicy: exponential
    backoffDelay: PT0.2S
"""

CHANNEL_TEMPLATE_SPEC = """\
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
"""

DEFAULT_CH_CONFIG = """\
clusterDefault:
  apiVersion: messaging.knative.dev/v1
  kind: InMemoryChannel
namespaceDefaults:
  some-namespace:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
"""

EVENTING_FEATURES = {
    "kreference-group": "disabled",
    "delivery-retryafter": "disabled",
    "delivery-timeout": "enabled",
    "kreference-mapping": "disabled",
    "transport-encryption": "disabled",
    "eventtype-auto-create": "disabled",
    "authentication-oidc": "disabled",
    "default-authorization-mode": "allow-same-namespace",
    "cross-namespace-event-links": "disabled",
    "new-apiserversource-filters": "disabled",
}

ZAP_LOGGER_CONFIG = """\
{
  "level": "info",
  "development": false,
  "outputPaths": ["stdout"],
  "errorOutputPaths": ["stderr"],
  "encoding": "json",
  "encoderConfig": {
    "timeKey": "ts",
    "levelKey": "level",
    "nameKey": "logger",
    "callerKey": "caller",
    "messageKey": "msg",
    "stacktraceKey": "stacktrace",
    "lineEnding": "",
    "levelEncoder": "",
    "timeEncoder": "iso8601",
    "durationEncoder": "",
    "callerEncoder": ""
  }
}
"""

_PING_DEFAULTS = _example(
    "# Largest data (in bytes, before base64 decoding) a PingSource may send; -1: no limit.",
    "data-max-size: -1",
)

_EVENTING_OBSERVABILITY = _example(
    "metrics.backend-destination: prometheus",
    'profiling.enable: "false"',
    "# Whether adapters record a Kubernetes event when sending to the sink fails.",
    'sink-event-error-reporting.enable: "false"',
)

_SUGAR = _example(
    "# Label selectors of the namespaces and triggers that get a default broker created for them;",
    '# empty: nobody, "{}": everybody.',
    'namespace-selector: ""',
    'trigger-selector: ""',
)


def _eventing(name: str, data: dict[str, str], labels: dict[str, str] | None = None,
              annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return _configmap(EVENTING_NAMESPACE, name, data, labels=labels, annotations=annotations)


def eventing_configmaps() -> list[dict[str, Any]]:
    return [
        _eventing("config-br-default-channel", {"channel-template-spec": CHANNEL_TEMPLATE_SPEC},
                  _EVENTING_LABELS),
        _eventing("config-br-defaults", {"default-br-config": DEFAULT_BR_CONFIG}, _EVENTING_LABELS),
        _eventing("default-ch-webhook", {"default-ch-config": DEFAULT_CH_CONFIG}, _EVENTING_LABELS),
        # Upstream puts the app.kubernetes.io keys of this one under annotations, not labels.
        _eventing("config-ping-defaults", {"_example": _PING_DEFAULTS}, annotations=dict(_EVENTING_LABELS)),
        _eventing("config-features", dict(EVENTING_FEATURES), _PROPAGATED_LABELS),
        _eventing("config-logging", {
            "zap-logger-config": ZAP_LOGGER_CONFIG, "loglevel.controller": "info", "loglevel.webhook": "info",
        }, _PROPAGATED_LABELS),
        _eventing("config-observability", {"_example": _EVENTING_OBSERVABILITY}, _PROPAGATED_LABELS),
        _eventing("config-tracing", {"_example": _TRACING}, _PROPAGATED_LABELS),
        _eventing("config-sugar", {"_example": _SUGAR}, _EVENTING_LABELS),
    ]


def default_configmaps() -> list[dict[str, Any]]:
    """Every ConfigMap to seed into an empty store, Serving's first."""
    return serving_configmaps() + eventing_configmaps()
