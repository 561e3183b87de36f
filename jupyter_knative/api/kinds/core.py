"""The Kubernetes built-in kinds the plane serves: core/v1 Namespace, ConfigMap, Secret, ServiceAccount,
Event, Pod, Service, and apps/v1 Deployment.

Built-in kinds differ from custom resources in three ways the API server must reproduce:
- `kubectl get` columns come from kube-apiserver's own printers (pkg/printers/internalversion), not from
  JSONPath columns. Each kind's `row_printer` gives those columns and a function computing the cells after
  NAME, wide columns included (the server always sends them; kubectl hides priority > 0). Event is the
  exception: its table has no leading NAME, so its columns carry their own `Name` column (format "name",
  wide only) and its cells cover every column.
- Field selectors: each kind lists the fields kube-apiserver lets clients select on.
- DELETE answers with the object for some kinds and with a `Status` for others (`ReturnDeletedObject` in
  each kind's registry storage): Namespace, Pod, Service and ServiceAccount return the object; ConfigMap, Secret,
  Event and Deployment return a Status once the object is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..builtins import admit_configmap, admit_deployment, admit_pod, admit_secret, admit_service
from ..namespaces import admit_namespace
from ..printing import human_duration, parse_timestamp
from ..registry import PrinterColumn, ResourceType, Version
from ..schema import Schema, arr, boolean, int_or_string, integer, map_of, obj, string
from .meta import (
    LABEL_SELECTOR,
    int32,
    k8s_conditions,
    local_object_reference,
    pod_spec,
    pod_status,
    pod_template_spec,
    root,
    string_map,
)

_NAMESPACE_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")


def _col(name: str, type_: str = "string", priority: int = 0, format: str = "") -> PrinterColumn:
    """A built-in printer's column: computed by the row printer, so it has no JSONPath."""
    return PrinterColumn(name, type_, "", priority=priority, format=format)


_AGE = _col("Age")

# --- cell helpers -------------------------------------------------------------------------------------


def _get(obj: Mapping[str, Any], *path: str) -> Any:
    value: Any = obj
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _seconds(timestamp: str | None) -> float | None:
    try:
        return parse_timestamp(timestamp) if timestamp else None
    except ValueError:  # the typed objects kube-apiserver prints cannot hold one
        return None


def since(timestamp: str | None, now: float) -> str:
    """`translateTimestampSince`: the age of a timestamp, `<unknown>` when it is not set."""
    moment = _seconds(timestamp)
    return "<unknown>" if moment is None else human_duration(now - moment)


def _age(obj: Mapping[str, Any], now: float) -> str:
    return since(_get(obj, "metadata", "creationTimestamp"), now)


# --- Namespace ----------------------------------------------------------------------------------------

_NAMESPACE = root(
    spec=obj({"finalizers": arr(string(), list_type="atomic")}),
    status=obj({"phase": string(), "conditions": k8s_conditions()}),
)


def print_namespace(obj: dict[str, Any], now: float) -> list[Any]:
    return [str(_get(obj, "status", "phase") or ""), _age(obj, now)]


NAMESPACE = ResourceType(
    "", "Namespace", "namespaces", (Version("v1", _NAMESPACE),), namespaced=False, short_names=("ns",),
    subresources=("status", "finalize"), verbs=_NAMESPACE_VERBS, builtin=True, field_labels=("status.phase",),
    row_printer=((_col("Status"), _AGE), print_namespace), name_rule="label", admission=admit_namespace,
    tracks_generation=False)

# --- ConfigMap, Secret, ServiceAccount ----------------------------------------------------------------

_CONFIG_MAP = root(
    data=string_map(),
    binaryData=map_of(string(format="byte")),
    immutable=boolean(),
)


def print_config_map(obj: dict[str, Any], now: float) -> list[Any]:
    return [len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), _age(obj, now)]


CONFIG_MAP = ResourceType(
    "", "ConfigMap", "configmaps", (Version("v1", _CONFIG_MAP),), short_names=("cm",), subresources=(),
    builtin=True, delete_returns_object=False,
    row_printer=((_col("Data"), _AGE), print_config_map), admission=admit_configmap,
    tracks_generation=False)

_SECRET = root(
    type=string(),
    data=map_of(string(format="byte")),
    stringData=string_map(),
    immutable=boolean(),
)


def print_secret(obj: dict[str, Any], now: float) -> list[Any]:
    return [obj.get("type") or "", len(obj.get("data") or {}), _age(obj, now)]


SECRET = ResourceType(
    "", "Secret", "secrets", (Version("v1", _SECRET),), subresources=(), builtin=True, field_labels=("type",),
    delete_returns_object=False,
    row_printer=((_col("Type"), _col("Data"), _AGE), print_secret), admission=admit_secret,
    tracks_generation=False)


def object_reference() -> Schema:
    return obj({name: string() for name in
                ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")})


_SERVICE_ACCOUNT = root(
    secrets=arr(object_reference(), merge_key="name", strategy="merge", list_type="map", map_keys=("name",)),
    imagePullSecrets=arr(local_object_reference(), list_type="atomic"),
    automountServiceAccountToken=boolean(),
)


def print_service_account(obj: dict[str, Any], now: float) -> list[Any]:
    return [len(obj.get("secrets") or []), _age(obj, now)]


SERVICE_ACCOUNT = ResourceType(
    "", "ServiceAccount", "serviceaccounts", (Version("v1", _SERVICE_ACCOUNT),), short_names=("sa",),
    subresources=(), builtin=True,
    row_printer=((_col("Secrets"), _AGE), print_service_account),
    tracks_generation=False)

# --- Event --------------------------------------------------------------------------------------------

_EVENT = root(
    involvedObject=object_reference(),
    reason=string(),
    message=string(),
    source=obj({"component": string(), "host": string()}),
    firstTimestamp=string(format="date-time"),
    lastTimestamp=string(format="date-time"),
    count=int32(),
    type=string(),
    eventTime=string(format="date-time"),
    series=obj({"count": int32(), "lastObservedTime": string(format="date-time")}),
    action=string(),
    related=object_reference(),
    reportingComponent=string(),
    reportingInstance=string(),
)


def _event_source(obj: Mapping[str, Any]) -> str:
    component = _get(obj, "source", "component") or obj.get("reportingComponent") or ""
    instance = _get(obj, "source", "host") or obj.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else component


def print_event(obj: dict[str, Any], now: float) -> list[Any]:
    """`printEvent`: every column, NAME last (the event table has no leading NAME)."""
    first = since(obj.get("firstTimestamp"), now) if obj.get("firstTimestamp") \
        else since(obj.get("eventTime"), now)
    last = since(obj.get("lastTimestamp"), now) if obj.get("lastTimestamp") else first
    count = obj.get("count") or 0
    series = obj.get("series")
    if series:
        last = since(series.get("lastObservedTime"), now)
        count = series.get("count") or 0
    elif count == 0:
        count = 1  # singleton events have no count in the events.k8s.io API
    involved = obj.get("involvedObject") or {}
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [last, obj.get("type") or "", obj.get("reason") or "", target, involved.get("fieldPath") or "",
            _event_source(obj), str(obj.get("message") or "").strip(), first, count,
            _get(obj, "metadata", "name") or ""]


_EVENT_COLUMNS = (
    _col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Subobject", priority=1),
    _col("Source", priority=1), _col("Message"), _col("First Seen", priority=1), _col("Count", priority=1),
    _col("Name", priority=1, format="name"),
)

EVENT = ResourceType(
    "", "Event", "events", (Version("v1", _EVENT),), short_names=("ev",), subresources=(), builtin=True,
    delete_returns_object=False,
    field_labels=(
        "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
        "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
        "reason", "reportingComponent", "source", "type",
    ),
    row_printer=(_EVENT_COLUMNS, print_event),
    tracks_generation=False)

# --- Pod ----------------------------------------------------------------------------------------------

_POD = root(spec=pod_spec(), status=pod_status())


def _condition_status(conditions: list[dict[str, Any]], type_: str) -> str | None:
    return next((c.get("status") for c in conditions if c.get("type") == type_), None)


class _PodRow:
    """The state `printPod` accumulates while it walks the container statuses."""

    def __init__(self, pod: Mapping[str, Any]) -> None:
        self.spec: Mapping[str, Any] = pod.get("spec") or {}
        self.status: Mapping[str, Any] = pod.get("status") or {}
        self.conditions: list[dict[str, Any]] = self.status.get("conditions") or []
        self.restarts = 0
        self.ready = 0
        self.total = len(self.spec.get("containers") or [])
        self.last_restart = 0.0
        self.reason = self.status.get("reason") or self.status.get("phase") or ""
        if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated"
               for c in self.conditions):
            self.reason = "SchedulingGated"

    def note_restarts(self, container: Mapping[str, Any]) -> float:
        """Add a container's restarts; return when it last terminated (0 when never)."""
        self.restarts += int(container.get("restartCount") or 0)
        return _seconds(_get(container, "lastState", "terminated", "finishedAt")) or 0.0


def _restartable(init: Mapping[str, Any] | None) -> bool:
    """A sidecar: an init container with restartPolicy Always."""
    return init is not None and init.get("restartPolicy") == "Always"


def _terminated_reason(terminated: Mapping[str, Any], prefix: str) -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode') or 0}"


def _walk_init_containers(row: _PodRow) -> tuple[bool, int, float]:
    """Init container statuses: (initializing, restarts of sidecars, last sidecar restart)."""
    specs = row.spec.get("initContainers") or []
    inits = {c.get("name"): c for c in specs}
    row.total += sum(1 for c in specs if _restartable(c))
    sidecar_restarts, sidecar_last = 0, 0.0
    statuses = row.status.get("initContainerStatuses") or []
    for i, status in enumerate(statuses):
        finished = row.note_restarts(status)
        row.last_restart = max(row.last_restart, finished)
        sidecar = _restartable(inits.get(status.get("name")))
        if sidecar:
            sidecar_restarts += int(status.get("restartCount") or 0)
            sidecar_last = max(sidecar_last, finished)
        state = status.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and (terminated.get("exitCode") or 0) == 0:
            continue
        if sidecar and status.get("started"):
            row.ready += 1 if status.get("ready") else 0
            continue
        if terminated is not None:
            row.reason = _terminated_reason(terminated, "Init:")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            row.reason = "Init:" + waiting["reason"]
        else:
            row.reason = f"Init:{i}/{len(specs)}"
        return True, sidecar_restarts, sidecar_last
    return False, sidecar_restarts, sidecar_last


def _walk_containers(row: _PodRow) -> None:
    has_running = False
    for status in reversed(row.status.get("containerStatuses") or []):
        row.last_restart = max(row.last_restart, row.note_restarts(status))
        state = status.get("state") or {}
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if waiting and waiting.get("reason"):
            row.reason = waiting["reason"]
        elif terminated is not None:
            row.reason = _terminated_reason(terminated, "")
        elif status.get("ready") and state.get("running") is not None:
            has_running = True
            row.ready += 1
    if row.reason == "Completed" and has_running:
        row.reason = "Running" if _condition_status(row.conditions, "Ready") == "True" else "NotReady"


def _readiness_gates(row: _PodRow) -> str:
    gates = row.spec.get("readinessGates") or []
    if not gates:
        return "<none>"
    ready = sum(1 for g in gates if _condition_status(row.conditions, g.get("conditionType", "")) == "True")
    return f"{ready}/{len(gates)}"


def print_pod(pod: dict[str, Any], now: float) -> list[Any]:
    """`printPod`: READY, STATUS, RESTARTS, AGE, then IP, NODE, NOMINATED NODE, READINESS GATES."""
    row = _PodRow(pod)
    initializing, sidecar_restarts, sidecar_last = _walk_init_containers(row)
    if not initializing or _condition_status(row.conditions, "Initialized") == "True":
        row.restarts, row.last_restart = sidecar_restarts, sidecar_last
        _walk_containers(row)
    deleting = bool(_get(pod, "metadata", "deletionTimestamp"))
    if deleting and row.status.get("reason") == "NodeLost":
        row.reason = "Unknown"
    elif deleting and row.status.get("phase") not in ("Succeeded", "Failed"):
        row.reason = "Terminating"
    restarts = str(row.restarts)
    if row.restarts and row.last_restart:
        restarts = f"{row.restarts} ({human_duration(now - row.last_restart)} ago)"
    ips = row.status.get("podIPs") or []
    return [
        f"{row.ready}/{row.total}", row.reason, restarts, _age(pod, now),
        (ips[0].get("ip") if ips else "") or "<none>",
        row.spec.get("nodeName") or "<none>",
        row.status.get("nominatedNodeName") or "<none>",
        _readiness_gates(row),
    ]


_POD_COLUMNS = (
    _col("Ready"), _col("Status"), _col("Restarts"), _AGE, _col("IP", priority=1), _col("Node", priority=1),
    _col("Nominated Node", priority=1), _col("Readiness Gates", priority=1),
)

POD = ResourceType(
    "", "Pod", "pods", (Version("v1", _POD),), short_names=("po",), categories=("all",),
    subresources=("status", "log"), builtin=True,
    field_labels=(
        "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
        "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName",
    ),
    row_printer=(_POD_COLUMNS, print_pod), admission=admit_pod)

# --- Service ------------------------------------------------------------------------------------------
# The plane has no cluster network: a Service is a name its ingress routes by (`<name>.<ns>.svc.cluster.local`)
# and what the API server's service proxy reaches; its cluster IP is bookkeeping.

_SERVICE_PORT = obj({
    "name": string(), "protocol": string(), "appProtocol": string(), "port": int32(),
    "targetPort": int_or_string(), "nodePort": int32(),
}, required=("port",))

_SERVICE = root(
    spec=obj({
        "ports": arr(_SERVICE_PORT, merge_key="port", strategy="merge", list_type="map",
                     map_keys=("port", "protocol")),
        "selector": string_map(),
        "clusterIP": string(),
        "clusterIPs": arr(string(), list_type="atomic"),
        "type": string(),
        "externalIPs": arr(string(), list_type="atomic"),
        "sessionAffinity": string(),
        "loadBalancerIP": string(),
        "loadBalancerSourceRanges": arr(string(), list_type="atomic"),
        "externalName": string(),
        "externalTrafficPolicy": string(),
        "healthCheckNodePort": int32(),
        "publishNotReadyAddresses": boolean(),
        "sessionAffinityConfig": obj({"clientIP": obj({"timeoutSeconds": int32()})}),
        "ipFamilies": arr(string(), list_type="atomic"),
        "ipFamilyPolicy": string(),
        "allocateLoadBalancerNodePorts": boolean(),
        "loadBalancerClass": string(),
        "internalTrafficPolicy": string(),
        "trafficDistribution": string(),
    }),
    status=obj({
        "loadBalancer": obj({"ingress": arr(obj({
            "ip": string(), "hostname": string(), "ipMode": string(),
            "ports": arr(obj({"port": int32(), "protocol": string(), "error": string()}), list_type="atomic"),
        }), list_type="atomic")}),
        "conditions": k8s_conditions(),
    }),
)


def _port_string(ports: list[dict[str, Any]]) -> str:
    """`makePortString`: `port/protocol`, or `port:nodePort/protocol`, comma-joined."""
    pieces = []
    for p in ports:
        node = p.get("nodePort") or 0
        prefix = f"{p.get('port')}:{node}" if node > 0 else str(p.get("port"))
        pieces.append(f"{prefix}/{p.get('protocol') or ''}")
    return ",".join(pieces)


def _external_ip(spec: Mapping[str, Any], status: Mapping[str, Any]) -> str:
    """`getServiceExternalIP` (kubectl's wide and narrow forms agree for what the plane stores)."""
    external = [str(ip) for ip in spec.get("externalIPs") or []]
    kind = spec.get("type")
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        ingress = [str(i.get("ip") or i.get("hostname") or "")
                   for i in _get(status, "loadBalancer", "ingress") or []]
        found = [ip for ip in ingress if ip] + external
        return ",".join(found) or "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def print_service(obj: dict[str, Any], now: float) -> list[Any]:
    """`printService`: TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S), AGE, then SELECTOR."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ips = spec.get("clusterIPs") or []
    selector = spec.get("selector") or {}
    return [
        str(spec.get("type") or ""),
        str(ips[0]) if ips else "<none>",
        _external_ip(spec, status),
        _port_string(spec.get("ports") or []) or "<none>",
        _age(obj, now),
        ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>",
    ]


_SERVICE_COLUMNS = (
    _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), _AGE, _col("Selector", priority=1),
)

SERVICE = ResourceType(
    "", "Service", "services", (Version("v1", _SERVICE),), short_names=("svc",), categories=("all",),
    builtin=True, field_labels=("spec.clusterIP", "spec.type"),
    row_printer=(_SERVICE_COLUMNS, print_service), admission=admit_service, tracks_generation=False)

# --- apps/v1 Deployment -------------------------------------------------------------------------------

_DEPLOYMENT = root(
    spec=obj({
        "replicas": int32(),
        "selector": LABEL_SELECTOR,
        "template": pod_template_spec(),
        "strategy": obj({
            "type": string(),
            "rollingUpdate": obj({"maxUnavailable": int_or_string(), "maxSurge": int_or_string()}),
        }, strategy="retainKeys"),
        "minReadySeconds": int32(),
        "revisionHistoryLimit": int32(),
        "paused": boolean(),
        "progressDeadlineSeconds": int32(),
    }, required=("selector", "template")),
    status=obj({
        "observedGeneration": integer(),
        "replicas": int32(),
        "updatedReplicas": int32(),
        "readyReplicas": int32(),
        "availableReplicas": int32(),
        "unavailableReplicas": int32(),
        "terminatingReplicas": int32(),
        "conditions": k8s_conditions("lastUpdateTime"),
        "collisionCount": int32(),
    }),
)


def _requirement(expression: Mapping[str, Any]) -> str:
    key, operator = str(expression.get("key") or ""), expression.get("operator")
    values = ",".join(sorted(str(v) for v in expression.get("values") or []))
    rendered: dict[Any, Callable[[], str]] = {
        "In": lambda: f"{key} in ({values})",
        "NotIn": lambda: f"{key} notin ({values})",
        "Exists": lambda: key,
        "DoesNotExist": lambda: f"!{key}",
    }
    if operator not in rendered:
        raise ValueError(operator)
    return rendered[operator]()


def format_selector(selector: Mapping[str, Any] | None) -> str:
    """`LabelSelectorAsSelector(...).String()`: requirements sorted by key, `<invalid>` if malformed."""
    if not selector:
        return ""
    parts = [(str(k), f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    try:
        parts += [(str(e.get("key") or ""), _requirement(e)) for e in selector.get("matchExpressions") or []]
    except ValueError:
        return "<invalid>"
    return ",".join(text for _, text in sorted(parts, key=lambda p: p[0]))


def _replicas(spec: Mapping[str, Any]) -> int:
    """spec.replicas as stored: the apiserver defaults a missing value to 1."""
    replicas = spec.get("replicas")
    return 1 if replicas is None else int(replicas)


def print_deployment(obj: dict[str, Any], now: float) -> list[Any]:
    """`printDeployment`: READY, UP-TO-DATE, AVAILABLE, AGE, then CONTAINERS, IMAGES, SELECTOR."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    containers = _get(spec, "template", "spec", "containers") or []
    return [
        f"{status.get('readyReplicas') or 0}/{_replicas(spec)}",
        status.get("updatedReplicas") or 0,
        status.get("availableReplicas") or 0,
        _age(obj, now),
        ",".join(str(c.get("name") or "") for c in containers),
        ",".join(str(c.get("image") or "") for c in containers),
        format_selector(spec.get("selector")),
    ]


_DEPLOYMENT_COLUMNS = (
    _col("Ready"), _col("Up-to-date"), _col("Available"), _AGE, _col("Containers", priority=1),
    _col("Images", priority=1), _col("Selector", priority=1),
)

DEPLOYMENT = ResourceType(
    "apps", "Deployment", "deployments", (Version("v1", _DEPLOYMENT),), short_names=("deploy",),
    categories=("all",), subresources=("status", "scale"), builtin=True, delete_returns_object=False,
    row_printer=(_DEPLOYMENT_COLUMNS, print_deployment), admission=admit_deployment)

CORE_TYPES: tuple[ResourceType, ...] = (
    NAMESPACE, CONFIG_MAP, SECRET, SERVICE_ACCOUNT, EVENT, POD, SERVICE, DEPLOYMENT,
)
