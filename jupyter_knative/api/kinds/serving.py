"""Knative Serving's kinds: serving.knative.dev, and the internal autoscaling, networking and caching groups.

Names, short names, categories and `kubectl get` columns are those of Knative's CRDs. The schemas accept what
the CRDs accept: Knative publishes a trimmed PodSpec (only the fields its webhook allows, some of them behind
feature flags) and leaves a few subtrees open (affinity, securityContext, tolerations, ...), so the
revision template here has that same shape rather than the full core/v1 PodSpec.
"""

from __future__ import annotations

from ..registry import PrinterColumn, ResourceType, Version
from ..schema import Schema, arr, boolean, free_object, int_or_string, integer, map_of, obj, string
from ..serving import admit_configuration, admit_revision, admit_route, admit_service, convert
from .meta import (
    addressable,
    column,
    config_map_volume,
    container_ports,
    containers,
    duck_status,
    env_from_source,
    env_list,
    env_var,
    int32,
    kreference,
    probe,
    projected_volume,
    ready_reason,
    resource_requirements,
    root,
    secret_volume,
    security_context,
    string_map,
    strings,
    volume_mounts,
    volumes,
)

SERVING = "serving.knative.dev"
AUTOSCALING = "autoscaling.internal.knative.dev"
NETWORKING = "networking.internal.knative.dev"
CACHING = "caching.internal.knative.dev"

_SERVING_CATEGORIES = ("all", "knative", "serving")


def _ready(quote: str = "'") -> tuple[PrinterColumn, ...]:
    return ready_reason(quote=quote)


# --- the revision template ----------------------------------------------------------------------------


def _container() -> Schema:
    return obj({
        "name": string(),
        "image": string(),
        "command": strings(),
        "args": strings(),
        "workingDir": string(),
        "ports": container_ports(host=False),
        "env": env_list(env_var(open_refs=True, file_key_ref=False)),
        "envFrom": arr(env_from_source(), list_type="atomic"),
        "resources": resource_requirements(claims=False),
        "volumeMounts": volume_mounts(full=False),
        "livenessProbe": probe(full=False),
        "readinessProbe": probe(full=False),
        "startupProbe": probe(full=False),
        "securityContext": security_context(full=False),
        "imagePullPolicy": string(),
        "terminationMessagePath": string(),
        "terminationMessagePolicy": string(),
    })


def _volume() -> Schema:
    props: dict[str, Schema] = {
        "name": string(),
        "configMap": config_map_volume(),
        "secret": secret_volume(),
        "projected": projected_volume(full=False),
    }
    # Volume sources behind feature flags (config-features): kept as written.
    props.update({name: free_object() for name in
                  ("csi", "emptyDir", "ephemeral", "hostPath", "image", "persistentVolumeClaim")})
    return obj(props, required=("name",))


def revision_spec() -> Schema:
    """RevisionSpec: Knative's PodSpec plus containerConcurrency and the three timeouts."""
    return obj({
        "containers": containers(_container()),
        "initContainers": arr(free_object()),
        "volumes": volumes(_volume()),
        "serviceAccountName": string(),
        "automountServiceAccountToken": boolean(),
        "imagePullSecrets": arr(obj({"name": string()}), merge_key="name", strategy="merge",
                                list_type="map", map_keys=("name",)),
        "enableServiceLinks": boolean(),
        "nodeSelector": string_map(),
        "affinity": free_object(),
        "tolerations": arr(free_object()),
        "topologySpreadConstraints": arr(free_object()),
        "hostAliases": arr(free_object(), merge_key="ip", strategy="merge"),
        "securityContext": free_object(),
        "dnsPolicy": string(),
        "dnsConfig": free_object(),
        "runtimeClassName": string(),
        "priorityClassName": string(),
        "schedulerName": string(),
        "hostIPC": boolean(),
        "hostPID": boolean(),
        "hostNetwork": boolean(),
        "shareProcessNamespace": boolean(),
        "containerConcurrency": integer("Most requests one replica serves at once; 0 means no limit."),
        "timeoutSeconds": integer("Longest a request may take, in seconds."),
        "responseStartTimeoutSeconds": integer("Longest wait for the first byte of a response, in seconds."),
        "idleTimeoutSeconds": integer("Longest pause between writes of a response, in seconds."),
    }, required=("containers",))


def revision_template() -> Schema:
    """RevisionTemplateSpec: a trimmed ObjectMeta (other metadata is kept, not described) and the spec."""
    metadata = obj({"name": string(), "namespace": string(), "labels": string_map(),
                    "annotations": string_map(), "finalizers": arr(string())}, preserve=True)
    return obj({"metadata": metadata, "spec": revision_spec()})


def traffic_target() -> Schema:
    return obj({
        "tag": string("Gives this target its own URL, <tag>-<route>.<namespace>.<domain>."),
        "revisionName": string("The revision to send this share of traffic to."),
        "configurationName": string("Send this share to the configuration's latest ready revision."),
        "latestRevision": boolean("Follow the latest ready revision (true when no revisionName is given)."),
        "percent": integer("Share of the traffic, 0 to 100; the shares add up to 100."),
        "url": string("Status only: the URL of a tagged target."),
    })


def _traffic() -> Schema:
    return arr(traffic_target())


# --- serving.knative.dev ------------------------------------------------------------------------------

_SERVICE = root(
    spec=obj({
        "template": revision_template(),
        "traffic": arr(traffic_target(), description="How traffic splits between revisions (default: all "
                                                     "of it to the latest ready revision)."),
    }),
    status=duck_status(
        url=string(), address=addressable(), traffic=_traffic(),
        latestCreatedRevisionName=string(), latestReadyRevisionName=string(),
    ),
)

_CONFIGURATION = root(
    spec=obj({"template": revision_template()}),
    status=duck_status(latestCreatedRevisionName=string(), latestReadyRevisionName=string()),
)

_image_status = arr(obj({"name": string(), "imageDigest": string()}))

_REVISION = root(
    spec=revision_spec(),
    status=duck_status(
        logUrl=string(), containerStatuses=_image_status, initContainerStatuses=_image_status,
        actualReplicas=int32(), desiredReplicas=int32(),
    ),
)

_ROUTE = root(
    spec=obj({"traffic": _traffic()}),
    status=duck_status(url=string(), address=addressable(), traffic=_traffic()),
)

_DOMAIN_MAPPING = root(
    spec=obj({
        "ref": kreference(address=True, group=True),
        "tls": obj({"secretName": string()}, required=("secretName",)),
    }, required=("ref",)),
    status=duck_status(url=string(), address=addressable()),
)

# Served besides v1 (the storage version): v1beta1 (v1's shape) and v1alpha1, whose seed-era forms
# (`spec.runLatest`, `revisionTemplate`, `container`, ...) only conversion understands, so its schema keeps
# spec and status as written. Knative's current CRDs serve v1 alone; these are the plane's extension.
LEGACY_VERSIONS = ("v1alpha1", "v1beta1")

_ALPHA = root(spec=free_object(), status=free_object())


def _versions(schema: Schema, columns: tuple[PrinterColumn, ...]) -> tuple[Version, ...]:
    return (Version("v1", schema, columns), Version("v1alpha1", _ALPHA, columns),
            Version("v1beta1", schema, columns))


SERVICE = ResourceType(
    SERVING, "Service", "services", _versions(_SERVICE, (
        column("URL", ".status.url"),
        column("LatestCreated", ".status.latestCreatedRevisionName"),
        column("LatestReady", ".status.latestReadyRevisionName"),
        *_ready(),
    )), short_names=("kservice", "ksvc"), categories=_SERVING_CATEGORIES,
    admission=admit_service, converter=convert)

CONFIGURATION = ResourceType(
    SERVING, "Configuration", "configurations", _versions(_CONFIGURATION, (
        column("LatestCreated", ".status.latestCreatedRevisionName"),
        column("LatestReady", ".status.latestReadyRevisionName"),
        *_ready(),
    )), short_names=("config", "cfg"), categories=_SERVING_CATEGORIES,
    admission=admit_configuration, converter=convert)

REVISION = ResourceType(
    SERVING, "Revision", "revisions", _versions(_REVISION, (
        column("Config Name", r".metadata.labels['serving\.knative\.dev/configuration']"),
        column("Generation", r".metadata.labels['serving\.knative\.dev/configurationGeneration']"),
        *_ready(),
        column("Actual Replicas", ".status.actualReplicas", "integer"),
        column("Desired Replicas", ".status.desiredReplicas", "integer"),
    )), short_names=("rev",), categories=_SERVING_CATEGORIES,
    admission=admit_revision, converter=convert)

ROUTE = ResourceType(
    SERVING, "Route", "routes", _versions(_ROUTE, (column("URL", ".status.url"), *_ready())),
    short_names=("rt",), categories=_SERVING_CATEGORIES, admission=admit_route, converter=convert)

DOMAIN_MAPPING = ResourceType(
    SERVING, "DomainMapping", "domainmappings",
    (Version("v1beta1", _DOMAIN_MAPPING, (column("URL", ".status.url"), *_ready())),),
    short_names=("dm",), categories=_SERVING_CATEGORIES)

# --- autoscaling.internal.knative.dev -----------------------------------------------------------------

_PODAUTOSCALER = root(
    spec=obj({
        "scaleTargetRef": obj({"apiVersion": string(), "kind": string(), "name": string()}),
        "containerConcurrency": integer(),
        "reachability": string(),
        "protocolType": string(),
    }, required=("protocolType", "scaleTargetRef")),
    status=duck_status(serviceName=string(), metricsServiceName=string(), desiredScale=int32(),
                       actualScale=int32()),
)

_METRIC = root(
    spec=obj({"stableWindow": integer(), "panicWindow": integer(), "scrapeTarget": string()},
             required=("panicWindow", "scrapeTarget", "stableWindow")),
    status=duck_status(),
)

PODAUTOSCALER = ResourceType(
    AUTOSCALING, "PodAutoscaler", "podautoscalers", (Version("v1alpha1", _PODAUTOSCALER, (
        column("DesiredScale", ".status.desiredScale", "integer"),
        column("ActualScale", ".status.actualScale", "integer"),
        *_ready(),
    )),), short_names=("kpa", "pa"), categories=("knative-internal", "autoscaling"))

METRIC = ResourceType(
    AUTOSCALING, "Metric", "metrics", (Version("v1alpha1", _METRIC, _ready()),),
    categories=("knative-internal", "autoscaling"))

# --- networking.internal.knative.dev ------------------------------------------------------------------

_NETWORKING_CATEGORIES = ("knative-internal", "networking")

_split = obj({
    "serviceName": string(), "serviceNamespace": string(), "servicePort": int_or_string(),
    "percent": integer(format=""), "appendHeaders": string_map(),
}, required=("serviceName", "serviceNamespace", "servicePort"))

_ingress_path = obj({
    "path": string(),
    "rewriteHost": string(),
    "headers": map_of(obj({"exact": string()}, required=("exact",))),
    "appendHeaders": string_map(),
    "splits": arr(_split),
}, required=("splits",))

_load_balancer = obj({"ingress": arr(obj({
    "domain": string(), "domainInternal": string(), "ip": string(), "meshOnly": boolean(),
}))})

_INGRESS = root(
    spec=obj({
        "rules": arr(obj({
            "hosts": arr(string()),
            "visibility": string(),
            "http": obj({"paths": arr(_ingress_path)}, required=("paths",)),
        })),
        "tls": arr(obj({"hosts": arr(string()), "secretName": string(), "secretNamespace": string()})),
        "httpOption": string(),
    }),
    status=duck_status(publicLoadBalancer=_load_balancer, privateLoadBalancer=_load_balancer),
)

_SERVERLESS_SERVICE = root(
    spec=obj({
        "mode": string(),
        "numActivators": int32(),
        "objectRef": obj({name: string() for name in ("apiVersion", "kind", "name", "namespace", "uid",
                                                      "resourceVersion", "fieldPath")}),
        "protocolType": string(),
    }, required=("objectRef", "protocolType")),
    status=duck_status(serviceName=string(), privateServiceName=string()),
)

_CERTIFICATE = root(
    spec=obj({"dnsNames": arr(string()), "domain": string(), "secretName": string()},
             required=("dnsNames", "secretName")),
    status=duck_status(
        notAfter=string(format="date-time"),
        http01Challenges=arr(obj({"url": string(), "serviceName": string(), "serviceNamespace": string(),
                                  "servicePort": int_or_string()})),
    ),
)

INGRESS = ResourceType(
    NETWORKING, "Ingress", "ingresses", (Version("v1alpha1", _INGRESS, _ready()),),
    short_names=("kingress", "king"), categories=_NETWORKING_CATEGORIES)

SERVERLESS_SERVICE = ResourceType(
    NETWORKING, "ServerlessService", "serverlessservices", (Version("v1alpha1", _SERVERLESS_SERVICE, (
        column("Mode", ".spec.mode"),
        column("Activators", ".spec.numActivators", "integer"),
        column("ServiceName", ".status.serviceName"),
        column("PrivateServiceName", ".status.privateServiceName"),
        *_ready(),
    )),), short_names=("sks",), categories=_NETWORKING_CATEGORIES)

CERTIFICATE = ResourceType(
    NETWORKING, "Certificate", "certificates", (Version("v1alpha1", _CERTIFICATE, _ready('"')),),
    short_names=("kcert",), categories=_NETWORKING_CATEGORIES)

# --- caching.internal.knative.dev ---------------------------------------------------------------------

_IMAGE = root(
    spec=obj({
        "image": string(),
        "serviceAccountName": string(),
        "imagePullSecrets": arr(obj({"name": string()})),
    }, required=("image",)),
    status=duck_status(),
)

IMAGE = ResourceType(
    CACHING, "Image", "images", (Version("v1alpha1", _IMAGE, (column("Image", ".spec.image"),)),),
    categories=("knative-internal", "caching"))

SERVING_TYPES = (SERVICE, CONFIGURATION, REVISION, ROUTE, DOMAIN_MAPPING)
INTERNAL_TYPES = (PODAUTOSCALER, METRIC, INGRESS, SERVERLESS_SERVICE, CERTIFICATE, IMAGE)
