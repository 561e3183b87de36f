"""Schemas shared by the kinds: object metadata, conditions, Knative duck types and the core/v1 pod types.

Patch metadata (`merge_key`, `strategy`, list types) follows the `patchMergeKey`/`patchStrategy` struct
tags and `+listType` markers of the Kubernetes Go types, because strategic merge patch and server-side apply
read it from here. Knative CRDs publish trimmed copies of some of these types (fewer fields, some subtrees
left open); the builders take switches so each kind can say which shape its upstream schema has.
"""

from __future__ import annotations

from ..registry import PrinterColumn
from ..schema import (
    Schema,
    arr,
    boolean,
    free_object,
    int_or_string,
    integer,
    map_of,
    obj,
    string,
)

# --- helpers ------------------------------------------------------------------------------------------


def strings() -> Schema:
    return arr(string(), list_type="atomic")


def string_map() -> Schema:
    return map_of(string())


def quantities() -> Schema:
    """`map[ResourceName]resource.Quantity`: each value a number or a string such as `500m`."""
    return map_of(int_or_string())


def int32() -> Schema:
    return integer(format="int32")


def root(spec: Schema | None = None, status: Schema | None = None, **extra: Schema) -> Schema:
    """A whole object: apiVersion, kind, metadata, then the kind's own top-level fields."""
    props: dict[str, Schema] = {"apiVersion": string(), "kind": string(), "metadata": OBJECT_META}
    if spec is not None:
        props["spec"] = spec
    if status is not None:
        props["status"] = status
    props.update(extra)
    return obj(props)


# --- meta/v1 ------------------------------------------------------------------------------------------

OWNER_REFERENCE = obj({
    "apiVersion": string(), "kind": string(), "name": string(), "uid": string(),
    "controller": boolean(), "blockOwnerDeletion": boolean(),
}, required=("apiVersion", "kind", "name", "uid"))

OBJECT_META = obj({
    "name": string(),
    "generateName": string(),
    "namespace": string(),
    "selfLink": string(),
    "uid": string(),
    "resourceVersion": string(),
    "generation": integer(),
    "creationTimestamp": string(format="date-time"),
    "deletionTimestamp": string(format="date-time"),
    "deletionGracePeriodSeconds": integer(),
    "labels": string_map(),
    "annotations": string_map(),
    "ownerReferences": arr(OWNER_REFERENCE, merge_key="uid", strategy="merge", list_type="map",
                           map_keys=("uid",)),
    "finalizers": arr(string(), strategy="merge", list_type="set"),
    "managedFields": arr(free_object(), list_type="atomic"),
})

LABEL_SELECTOR = obj({
    "matchLabels": string_map(),
    "matchExpressions": arr(obj({
        "key": string(), "operator": string(), "values": strings(),
    }, required=("key", "operator")), list_type="atomic"),
})


def condition(*, time: bool = True, update_time: bool = False, required: bool = True,
              preserve: bool = False) -> Schema:
    """A Knative (duck v1) condition. `time=False` for the CRDs that leave lastTransitionTime out."""
    props = {"type": string(), "status": string(), "severity": string(), "reason": string(),
             "message": string()}
    if time:
        props["lastTransitionTime"] = string()
    if update_time:
        props["lastUpdateTime"] = string()
    return obj(props, required=("type", "status") if required else (), preserve=preserve)


def k8s_condition(*extra: str) -> Schema:
    """A core/apps condition (PodCondition, NamespaceCondition, DeploymentCondition, ...)."""
    props = {"type": string(), "status": string(), "reason": string(), "message": string(),
             "lastTransitionTime": string(format="date-time")}
    props.update({name: string(format="date-time") for name in extra})
    return obj(props, required=("type", "status"))


def k8s_conditions(*extra: str) -> Schema:
    return arr(k8s_condition(*extra), merge_key="type", strategy="merge", list_type="map", map_keys=("type",))


# --- Knative duck types -------------------------------------------------------------------------------


def kreference(*, address: bool = False, group: bool = False, preserve: bool = False) -> Schema:
    props = {"apiVersion": string(), "kind": string(), "name": string(), "namespace": string()}
    if address:
        props["address"] = string()
    if group:
        props["group"] = string()
    return obj(props, preserve=preserve)


def destination(*, tls: bool = True, ref_preserve: bool = False) -> Schema:
    """duck/v1 Destination: `ref` or `uri` (or both, the uri then relative to the ref's address)."""
    props: dict[str, Schema] = {"ref": kreference(preserve=ref_preserve), "uri": string()}
    if tls:
        props.update({"CACerts": string(), "audience": string()})
    return obj(props)


def delivery_spec(*, dls_tls: bool = True) -> Schema:
    """duck/v1 DeliverySpec. Upstream CRDs keep unknown fields here (timeout, retryAfterMax, format, ...)."""
    return obj({
        "deadLetterSink": destination(tls=dls_tls),
        "retry": int32(),
        "backoffPolicy": string(),
        "backoffDelay": string(),
        "timeout": string(),
        "retryAfterMax": string(),
        "format": string(),
    }, preserve=True)


def addressable(*, name: bool = True) -> Schema:
    props = {"url": string(), "CACerts": string(), "audience": string()}
    if name:
        props["name"] = string()
    return obj(props)


def duck_status(*, annotations_open: bool = False, cond: Schema | None = None, **fields: Schema) -> Schema:
    """duck/v1 Status: observedGeneration, conditions, annotations, plus the kind's own fields."""
    props: dict[str, Schema] = {
        "observedGeneration": integer(),
        "conditions": arr(cond or condition()),
        "annotations": free_object() if annotations_open else string_map(),
    }
    props.update(fields)
    return obj(props)


# --- core/v1 containers -------------------------------------------------------------------------------


def key_to_path() -> Schema:
    return obj({"key": string(), "path": string(), "mode": int32()}, required=("key", "path"))


def field_ref() -> Schema:
    return obj({"apiVersion": string(), "fieldPath": string()}, required=("fieldPath",))


def resource_field_ref() -> Schema:
    return obj({"containerName": string(), "resource": string(), "divisor": int_or_string()},
               required=("resource",))


def key_ref() -> Schema:
    return obj({"key": string(), "name": string(), "optional": boolean()}, required=("key",))


def env_var(*, open_refs: bool = False, file_key_ref: bool = True) -> Schema:
    """core/v1 EnvVar. `open_refs`: field/resource refs left open (Knative's copy); `file_key_ref`: 1.34+."""
    value_from: dict[str, Schema] = {
        "configMapKeyRef": key_ref(),
        "secretKeyRef": key_ref(),
        "fieldRef": free_object() if open_refs else field_ref(),
        "resourceFieldRef": free_object() if open_refs else resource_field_ref(),
    }
    if file_key_ref:
        value_from["fileKeyRef"] = obj({"key": string(), "optional": boolean(), "path": string(),
                                        "volumeName": string()}, required=("key", "path", "volumeName"))
    return obj({"name": string(), "value": string(), "valueFrom": obj(value_from)}, required=("name",))


def env_list(item: Schema | None = None) -> Schema:
    return arr(item or env_var(), merge_key="name", strategy="merge", list_type="map", map_keys=("name",))


def env_from_source() -> Schema:
    ref = obj({"name": string(), "optional": boolean()})
    return obj({"prefix": string(), "configMapRef": ref, "secretRef": ref})


def container_port(*, host: bool = True) -> Schema:
    props = {"name": string(), "containerPort": int32(), "protocol": string()}
    if host:
        props.update({"hostPort": int32(), "hostIP": string()})
    return obj(props, required=("containerPort",) if host else ())


def container_ports(*, host: bool = True) -> Schema:
    return arr(container_port(host=host), merge_key="containerPort", strategy="merge", list_type="map",
               map_keys=("containerPort", "protocol"))


def volume_mount(*, full: bool = True) -> Schema:
    props = {"name": string(), "mountPath": string(), "readOnly": boolean(), "subPath": string(),
             "mountPropagation": string()}
    if full:
        props.update({"subPathExpr": string(), "recursiveReadOnly": string()})
    return obj(props, required=("name", "mountPath"))


def volume_mounts(*, full: bool = True) -> Schema:
    return arr(volume_mount(full=full), merge_key="mountPath", strategy="merge", list_type="map",
               map_keys=("mountPath",))


def volume_device() -> Schema:
    return obj({"name": string(), "devicePath": string()}, required=("name", "devicePath"))


def resource_requirements(*, claims: bool = True) -> Schema:
    props: dict[str, Schema] = {"limits": quantities(), "requests": quantities()}
    if claims:
        props["claims"] = arr(obj({"name": string(), "request": string()}, required=("name",)),
                              list_type="map", map_keys=("name",))
    return obj(props)


def http_get(*, required_port: bool = True) -> Schema:
    return obj({
        "host": string(), "path": string(), "port": int_or_string(), "scheme": string(),
        "httpHeaders": arr(obj({"name": string(), "value": string()}, required=("name", "value")),
                           list_type="atomic"),
    }, required=("port",) if required_port else ())


def probe(*, full: bool = True) -> Schema:
    """core/v1 Probe. `full=False`: Knative's copy (no terminationGracePeriodSeconds, ports optional)."""
    props: dict[str, Schema] = {
        "exec": obj({"command": strings()}),
        "httpGet": http_get(required_port=full),
        "tcpSocket": obj({"host": string(), "port": int_or_string()}, required=("port",) if full else ()),
        "grpc": obj({"port": int32(), "service": string()}, required=("port",) if full else ()),
        "initialDelaySeconds": int32(),
        "timeoutSeconds": int32(),
        "periodSeconds": int32(),
        "successThreshold": int32(),
        "failureThreshold": int32(),
    }
    if full:
        props["terminationGracePeriodSeconds"] = integer()
    return obj(props)


def lifecycle_handler() -> Schema:
    return obj({
        "exec": obj({"command": strings()}),
        "httpGet": http_get(),
        "tcpSocket": obj({"host": string(), "port": int_or_string()}, required=("port",)),
        "sleep": obj({"seconds": integer()}, required=("seconds",)),
    })


def lifecycle() -> Schema:
    return obj({"postStart": lifecycle_handler(), "preStop": lifecycle_handler(), "stopSignal": string()})


def seccomp_profile() -> Schema:
    return obj({"type": string(), "localhostProfile": string()}, required=("type",))


def security_context(*, full: bool = True) -> Schema:
    """core/v1 SecurityContext (container level). `full=False`: the fields Knative's CRDs publish."""
    props: dict[str, Schema] = {
        "allowPrivilegeEscalation": boolean(),
        "capabilities": obj({"add": strings(), "drop": strings()}),
        "privileged": boolean(),
        "readOnlyRootFilesystem": boolean(),
        "runAsGroup": integer(),
        "runAsNonRoot": boolean(),
        "runAsUser": integer(),
        "seccompProfile": seccomp_profile(),
    }
    if full:
        props.update({
            "procMount": string(),
            "seLinuxOptions": obj({"level": string(), "role": string(), "type": string(), "user": string()}),
            "windowsOptions": obj({"gmsaCredentialSpec": string(), "gmsaCredentialSpecName": string(),
                                   "hostProcess": boolean(), "runAsUserName": string()}),
            "appArmorProfile": obj({"type": string(), "localhostProfile": string()}, required=("type",)),
        })
    return obj(props)


def container() -> Schema:
    """core/v1 Container, every field of Kubernetes 1.3x."""
    return obj({
        "name": string(),
        "image": string(),
        "command": strings(),
        "args": strings(),
        "workingDir": string(),
        "ports": container_ports(),
        "envFrom": arr(env_from_source(), list_type="atomic"),
        "env": env_list(),
        "resources": resource_requirements(),
        "resizePolicy": arr(obj({"resourceName": string(), "restartPolicy": string()},
                                required=("resourceName", "restartPolicy")), list_type="atomic"),
        "restartPolicy": string(),
        "restartPolicyRules": arr(free_object(), list_type="atomic"),
        "volumeMounts": volume_mounts(),
        "volumeDevices": arr(volume_device(), merge_key="devicePath", strategy="merge", list_type="map",
                             map_keys=("devicePath",)),
        "livenessProbe": probe(),
        "readinessProbe": probe(),
        "startupProbe": probe(),
        "lifecycle": lifecycle(),
        "terminationMessagePath": string(),
        "terminationMessagePolicy": string(),
        "imagePullPolicy": string(),
        "securityContext": security_context(),
        "stdin": boolean(),
        "stdinOnce": boolean(),
        "tty": boolean(),
    }, required=("name",))


def containers(item: Schema | None = None) -> Schema:
    return arr(item or container(), merge_key="name", strategy="merge", list_type="map", map_keys=("name",))


# --- core/v1 volumes ----------------------------------------------------------------------------------


def config_map_volume() -> Schema:
    return obj({"name": string(), "items": arr(key_to_path(), list_type="atomic"), "defaultMode": int32(),
                "optional": boolean()})


def secret_volume() -> Schema:
    return obj({"secretName": string(), "items": arr(key_to_path(), list_type="atomic"),
                "defaultMode": int32(), "optional": boolean()})


def downward_api_file() -> Schema:
    return obj({"path": string(), "fieldRef": field_ref(), "resourceFieldRef": resource_field_ref(),
                "mode": int32()}, required=("path",))


def projected_volume(*, full: bool = True) -> Schema:
    projection = obj({"items": arr(key_to_path(), list_type="atomic"), "name": string(),
                      "optional": boolean()})
    sources: dict[str, Schema] = {
        "configMap": projection,
        "secret": projection,
        "downwardAPI": obj({"items": arr(downward_api_file(), list_type="atomic")}),
        "serviceAccountToken": obj({"audience": string(), "expirationSeconds": integer(), "path": string()},
                                   required=("path",)),
    }
    if full:
        sources.update({"clusterTrustBundle": free_object(), "podCertificate": free_object()})
    return obj({"defaultMode": int32(), "sources": arr(obj(sources), list_type="atomic")})


# Volume sources this schema does not describe field by field: kept as they are.
_OPEN_VOLUME_SOURCES = (
    "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "ephemeral", "fc",
    "flexVolume", "flocker", "gcePersistentDisk", "gitRepo", "glusterfs", "hostPath", "image", "iscsi",
    "nfs", "photonPersistentVolumeDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos",
    "vsphereVolume",
)


def volume() -> Schema:
    props: dict[str, Schema] = {
        "name": string(),
        "configMap": config_map_volume(),
        "secret": secret_volume(),
        "emptyDir": obj({"medium": string(), "sizeLimit": int_or_string()}),
        "persistentVolumeClaim": obj({"claimName": string(), "readOnly": boolean()}, required=("claimName",)),
        "projected": projected_volume(),
        "downwardAPI": obj({"defaultMode": int32(), "items": arr(downward_api_file(), list_type="atomic")}),
    }
    props.update({name: free_object() for name in _OPEN_VOLUME_SOURCES})
    return obj(props, required=("name",))


def volumes(item: Schema | None = None) -> Schema:
    return arr(item or volume(), merge_key="name", strategy="merge,retainKeys", list_type="map",
               map_keys=("name",))


# --- core/v1 PodSpec ----------------------------------------------------------------------------------


def pod_security_context() -> Schema:
    return obj({
        "runAsUser": integer(), "runAsGroup": integer(), "runAsNonRoot": boolean(),
        "fsGroup": integer(), "fsGroupChangePolicy": string(),
        "supplementalGroups": arr(integer(), list_type="atomic"), "supplementalGroupsPolicy": string(),
        "seccompProfile": seccomp_profile(),
        "seLinuxOptions": free_object(), "seLinuxChangePolicy": string(),
        "windowsOptions": free_object(), "appArmorProfile": free_object(),
        "sysctls": arr(obj({"name": string(), "value": string()}, required=("name", "value")),
                       list_type="atomic"),
    })


def toleration() -> Schema:
    return obj({"key": string(), "operator": string(), "value": string(), "effect": string(),
                "tolerationSeconds": integer()})


def topology_spread_constraint() -> Schema:
    return obj({
        "maxSkew": int32(), "topologyKey": string(), "whenUnsatisfiable": string(),
        "labelSelector": LABEL_SELECTOR, "minDomains": int32(), "nodeAffinityPolicy": string(),
        "nodeTaintsPolicy": string(), "matchLabelKeys": strings(),
    }, required=("maxSkew", "topologyKey", "whenUnsatisfiable"))


def local_object_reference() -> Schema:
    return obj({"name": string()})


def pod_spec() -> Schema:
    """core/v1 PodSpec. Rarely written subtrees (affinity, dnsConfig, ...) are kept without description."""
    return obj({
        "volumes": volumes(),
        "initContainers": containers(),
        "containers": containers(),
        "ephemeralContainers": arr(free_object(), merge_key="name", strategy="merge", list_type="map",
                                   map_keys=("name",)),
        "restartPolicy": string(),
        "terminationGracePeriodSeconds": integer(),
        "activeDeadlineSeconds": integer(),
        "dnsPolicy": string(),
        "nodeSelector": string_map(),
        "serviceAccountName": string(),
        "serviceAccount": string(),
        "automountServiceAccountToken": boolean(),
        "nodeName": string(),
        "hostNetwork": boolean(),
        "hostPID": boolean(),
        "hostIPC": boolean(),
        "shareProcessNamespace": boolean(),
        "securityContext": pod_security_context(),
        "imagePullSecrets": arr(local_object_reference(), merge_key="name", strategy="merge",
                                list_type="map", map_keys=("name",)),
        "hostname": string(),
        "hostnameOverride": string(),
        "subdomain": string(),
        "affinity": free_object(),
        "schedulerName": string(),
        "tolerations": arr(toleration(), list_type="atomic"),
        "hostAliases": arr(obj({"ip": string(), "hostnames": strings()}, required=("ip",)),
                           merge_key="ip", strategy="merge", list_type="map", map_keys=("ip",)),
        "priorityClassName": string(),
        "priority": int32(),
        "dnsConfig": free_object(),
        "readinessGates": arr(obj({"conditionType": string()}, required=("conditionType",)),
                              list_type="atomic"),
        "runtimeClassName": string(),
        "enableServiceLinks": boolean(),
        "preemptionPolicy": string(),
        "overhead": quantities(),
        "topologySpreadConstraints": arr(topology_spread_constraint(), merge_key="topologyKey",
                                         strategy="merge", list_type="map",
                                         map_keys=("topologyKey", "whenUnsatisfiable")),
        "setHostnameAsFQDN": boolean(),
        "os": obj({"name": string()}, required=("name",)),
        "hostUsers": boolean(),
        "schedulingGates": arr(obj({"name": string()}, required=("name",)), merge_key="name",
                               strategy="merge", list_type="map", map_keys=("name",)),
        "resourceClaims": arr(free_object(), merge_key="name", strategy="merge,retainKeys", list_type="map",
                              map_keys=("name",)),
        "resources": resource_requirements(),
        "workloadRef": free_object(),
    }, required=("containers",))


def pod_template_spec() -> Schema:
    return obj({"metadata": OBJECT_META, "spec": pod_spec()})


# --- core/v1 PodStatus --------------------------------------------------------------------------------


def container_state() -> Schema:
    return obj({
        "waiting": obj({"reason": string(), "message": string()}),
        "running": obj({"startedAt": string(format="date-time")}),
        "terminated": obj({
            "exitCode": int32(), "signal": int32(), "reason": string(), "message": string(),
            "startedAt": string(format="date-time"), "finishedAt": string(format="date-time"),
            "containerID": string(),
        }, required=("exitCode",)),
    })


def container_status() -> Schema:
    return obj({
        "name": string(), "state": container_state(), "lastState": container_state(), "ready": boolean(),
        "restartCount": int32(), "image": string(), "imageID": string(), "containerID": string(),
        "started": boolean(), "allocatedResources": quantities(), "resources": resource_requirements(),
        "volumeMounts": arr(free_object(), list_type="atomic"), "user": free_object(),
        "allocatedResourcesStatus": arr(free_object(), list_type="atomic"), "stopSignal": string(),
    }, required=("name", "ready", "restartCount", "image", "imageID"))


def pod_ips() -> Schema:
    return arr(obj({"ip": string()}, required=("ip",)), merge_key="ip", strategy="merge", list_type="map",
               map_keys=("ip",))


def pod_status() -> Schema:
    statuses = arr(container_status(), list_type="atomic")
    return obj({
        "phase": string(),
        "conditions": arr(obj({"type": string(), "status": string(), "observedGeneration": integer(),
                               "lastProbeTime": string(format="date-time"),
                               "lastTransitionTime": string(format="date-time"), "reason": string(),
                               "message": string()}, required=("type", "status")),
                          merge_key="type", strategy="merge", list_type="map", map_keys=("type",)),
        "message": string(),
        "reason": string(),
        "nominatedNodeName": string(),
        "hostIP": string(),
        "hostIPs": pod_ips(),
        "podIP": string(),
        "podIPs": pod_ips(),
        "startTime": string(format="date-time"),
        "initContainerStatuses": statuses,
        "containerStatuses": statuses,
        "ephemeralContainerStatuses": statuses,
        "qosClass": string(),
        "resize": string(),
        "resourceClaimStatuses": arr(free_object(), merge_key="name", strategy="merge,retainKeys",
                                     list_type="map", map_keys=("name",)),
        "observedGeneration": integer(),
        "extendedResourceClaimStatus": free_object(),
    })


# --- printer columns ----------------------------------------------------------------------------------


def condition_column(name: str, field: str, *, of: str = "Ready", quote: str = '"',
                     priority: int = 0) -> PrinterColumn:
    """A column showing one field of a condition, with the quoting the upstream CRD uses in its jsonPath."""
    return PrinterColumn(name, "string", f".status.conditions[?(@.type=={quote}{of}{quote})].{field}",
                         priority=priority)


def ready_reason(*, of: str = "Ready", quote: str = '"') -> tuple[PrinterColumn, PrinterColumn]:
    return (condition_column(of, "status", of=of, quote=quote),
            condition_column("Reason", "reason", of=of, quote=quote))


def column(name: str, json_path: str, type_: str = "string", priority: int = 0) -> PrinterColumn:
    return PrinterColumn(name, type_, json_path, priority=priority)
