"""Builders of the objects the serving controllers own (pure): knative/serving's `resources` packages.
Each returns the object as it should be; reconcilers create it or bring the existing one in line."""

from __future__ import annotations

import copy
from typing import Any

from . import names

SERVING = "serving.knative.dev"
SERVICE_LABEL = f"{SERVING}/service"
SERVICE_UID_LABEL = f"{SERVING}/serviceUID"
CONFIGURATION_LABEL = f"{SERVING}/configuration"
CONFIGURATION_GENERATION_LABEL = f"{SERVING}/configurationGeneration"
CONFIGURATION_UID_LABEL = f"{SERVING}/configurationUID"
REVISION_LABEL = f"{SERVING}/revision"
REVISION_UID_LABEL = f"{SERVING}/revisionUID"
ROUTE_LABEL = f"{SERVING}/route"
ROUTING_STATE_LABEL = f"{SERVING}/routingState"
ROUTES_ANNOTATION = f"{SERVING}/routes"
ROUTING_STATE_MODIFIED = f"{SERVING}/routingStateModified"
CREATOR_ANNOTATION = f"{SERVING}/creator"
LAST_MODIFIER_ANNOTATION = f"{SERVING}/lastModifier"
ROLLOUT_DURATION = f"{SERVING}/rollout-duration"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
USER_CONTAINER = "user-container"
QUEUE_CONTAINER = "queue-proxy"
USER_PORT = 8080
QUEUE_IMAGE = "gcr.io/knative-releases/knative.dev/serving/cmd/queue"


def owner_ref(owner: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = obj["metadata"]
    return meta


def _filtered(annotations: dict[str, str] | None, *drop: str) -> dict[str, str]:
    return {k: v for k, v in (annotations or {}).items() if k not in drop}


# --- Service → Configuration, Route ---------------------------------------------------------------------

def configuration(service: dict[str, Any], existing: dict[str, Any] | None = None) -> dict[str, Any]:
    meta = _meta(service)
    annotations = _filtered(meta.get("annotations"), LAST_APPLIED, ROLLOUT_DURATION)
    routes = set(filter(None, ((existing or {}).get("metadata", {}).get("annotations") or {})
                        .get(ROUTES_ANNOTATION, "").split(",")))
    routes.add(meta["name"])
    annotations[ROUTES_ANNOTATION] = ",".join(sorted(routes))
    return {
        "apiVersion": f"{SERVING}/v1", "kind": "Configuration",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                     "labels": {**(meta.get("labels") or {}), SERVICE_LABEL: meta["name"],
                                SERVICE_UID_LABEL: meta["uid"]},
                     "annotations": annotations, "ownerReferences": [owner_ref(service)]},
        "spec": {"template": copy.deepcopy((service.get("spec") or {}).get("template") or {})},
    }


def route(service: dict[str, Any]) -> dict[str, Any]:
    meta = _meta(service)
    traffic = []
    for entry in (service.get("spec") or {}).get("traffic") or [{"percent": 100, "latestRevision": True}]:
        entry = dict(entry)
        if not entry.get("revisionName"):
            entry["configurationName"] = meta["name"]
        traffic.append(entry)
    return {
        "apiVersion": f"{SERVING}/v1", "kind": "Route",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                     "labels": {**(meta.get("labels") or {}), SERVICE_LABEL: meta["name"]},
                     "annotations": _filtered(meta.get("annotations"), LAST_APPLIED),
                     "ownerReferences": [owner_ref(service)]},
        "spec": {"traffic": traffic},
    }


# --- Configuration → Revision ---------------------------------------------------------------------------

def revision_name(config: dict[str, Any]) -> str:
    template_meta = ((config.get("spec") or {}).get("template") or {}).get("metadata") or {}
    return template_meta.get("name") or names.revision(_meta(config)["name"], int(_meta(config)["generation"]))


def revision(config: dict[str, Any]) -> dict[str, Any]:
    meta = _meta(config)
    template = copy.deepcopy((config.get("spec") or {}).get("template") or {})
    tmeta = template.get("metadata") or {}
    labels = {**(tmeta.get("labels") or {}), CONFIGURATION_LABEL: meta["name"],
              CONFIGURATION_GENERATION_LABEL: str(meta["generation"]), CONFIGURATION_UID_LABEL: meta["uid"],
              ROUTING_STATE_LABEL: "pending"}
    for key in (SERVICE_LABEL, SERVICE_UID_LABEL):
        if key in (meta.get("labels") or {}):
            labels[key] = meta["labels"][key]
    annotations = dict(tmeta.get("annotations") or {})
    for key in (ROUTES_ANNOTATION,):
        if key in (meta.get("annotations") or {}):
            annotations[key] = meta["annotations"][key]
    if LAST_MODIFIER_ANNOTATION in (meta.get("annotations") or {}):
        annotations[CREATOR_ANNOTATION] = meta["annotations"][LAST_MODIFIER_ANNOTATION]
    return {
        "apiVersion": f"{SERVING}/v1", "kind": "Revision",
        "metadata": {"name": revision_name(config), "namespace": meta["namespace"], "labels": labels,
                     "annotations": annotations, "ownerReferences": [owner_ref(config)]},
        "spec": template.get("spec") or {},
    }


# --- Revision → Deployment, PodAutoscaler, Image --------------------------------------------------------

def _revision_labels(rev: dict[str, Any]) -> dict[str, str]:
    meta = _meta(rev)
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != ROUTING_STATE_LABEL}
    labels.update({REVISION_LABEL: meta["name"], REVISION_UID_LABEL: meta["uid"]})
    labels.setdefault("app", meta["name"])
    return labels


def _revision_annotations(rev: dict[str, Any]) -> dict[str, str]:
    return _filtered(_meta(rev).get("annotations"), ROUTES_ANNOTATION, ROUTING_STATE_MODIFIED)


def _env(rev: dict[str, Any], container: dict[str, Any]) -> list[dict[str, Any]]:
    meta = _meta(rev)
    labels = meta.get("labels") or {}
    knative = [{"name": "PORT", "value": str(USER_PORT)}, {"name": "K_REVISION", "value": meta["name"]},
               {"name": "K_CONFIGURATION", "value": labels.get(CONFIGURATION_LABEL, "")},
               {"name": "K_SERVICE", "value": labels.get(SERVICE_LABEL, "")}]
    return list(container.get("env") or []) + knative


def user_containers(rev: dict[str, Any], image_digests: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for i, container in enumerate((rev.get("spec") or {}).get("containers") or []):
        c = copy.deepcopy(container)
        c.setdefault("name", USER_CONTAINER if i == 0 else f"{USER_CONTAINER}-{i}")
        c["image"] = image_digests.get(c["name"], c.get("image", ""))
        c["env"] = _env(rev, container)
        c["ports"] = [{"name": "user-port", "containerPort": USER_PORT, "protocol": "TCP"}]
        c.setdefault("terminationMessagePolicy", "FallbackToLogsOnError")
        out.append(c)
    return out


def queue_container(rev: dict[str, Any], queue_image: str) -> dict[str, Any]:
    spec = rev.get("spec") or {}
    return {"name": QUEUE_CONTAINER, "image": queue_image or QUEUE_IMAGE,
            "ports": [{"name": "http-queueadm", "containerPort": 8022, "protocol": "TCP"},
                      {"name": "http-autometric", "containerPort": 9090, "protocol": "TCP"},
                      {"name": "http-usermetric", "containerPort": 9091, "protocol": "TCP"},
                      {"name": "queue-port", "containerPort": 8012, "protocol": "TCP"}],
            "env": [{"name": "SERVING_REVISION", "value": _meta(rev)["name"]},
                    {"name": "CONTAINER_CONCURRENCY", "value": str(spec.get("containerConcurrency", 0))},
                    {"name": "REVISION_TIMEOUT_SECONDS", "value": str(spec.get("timeoutSeconds", 300))},
                    {"name": "USER_PORT", "value": str(USER_PORT)}],
            "readinessProbe": {"httpGet": {"path": "/", "port": 8012}, "periodSeconds": 0, "successThreshold": 1},
            "resources": {"requests": {"cpu": "25m"}}}


def deployment(rev: dict[str, Any], *, replicas: int, queue_image: str, progress_deadline: int,
               image_digests: dict[str, str]) -> dict[str, Any]:
    meta = _meta(rev)
    spec = rev.get("spec") or {}
    labels = _revision_labels(rev)
    annotations = _revision_annotations(rev)
    pod_spec = {k: copy.deepcopy(v) for k, v in spec.items()
                if k not in ("containers", "containerConcurrency", "timeoutSeconds",
                             "responseStartTimeoutSeconds", "idleTimeoutSeconds")}
    pod_spec["containers"] = [*user_containers(rev, image_digests), queue_container(rev, queue_image)]
    pod_spec["terminationGracePeriodSeconds"] = int(spec.get("timeoutSeconds", 300))
    pod_spec.setdefault("enableServiceLinks", False)
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": names.deployment(meta["name"]), "namespace": meta["namespace"], "labels": labels,
                     "annotations": annotations, "ownerReferences": [owner_ref(rev)]},
        "spec": {"replicas": replicas, "progressDeadlineSeconds": progress_deadline,
                 "selector": {"matchLabels": {REVISION_UID_LABEL: meta["uid"]}},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
                 "template": {"metadata": {"labels": labels,
                                           "annotations": {**annotations, DEFAULT_CONTAINER: USER_CONTAINER}},
                              "spec": pod_spec}},
    }


def reachability(rev: dict[str, Any]) -> str:
    state = (_meta(rev).get("labels") or {}).get(ROUTING_STATE_LABEL, "")
    return {"active": "Reachable", "reserve": "Unreachable"}.get(state, "")


def pod_autoscaler(rev: dict[str, Any], autoscaler_class: str) -> dict[str, Any]:
    meta = _meta(rev)
    annotations = _revision_annotations(rev)
    annotations.setdefault("autoscaling.knative.dev/class", autoscaler_class)
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": names.deployment(meta["name"])},
        "protocolType": "http1",
        "containerConcurrency": int((rev.get("spec") or {}).get("containerConcurrency", 0)),
    }
    if reachability(rev):
        spec["reachability"] = reachability(rev)
    return {
        "apiVersion": "autoscaling.internal.knative.dev/v1alpha1", "kind": "PodAutoscaler",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "labels": _revision_labels(rev),
                     "annotations": annotations, "ownerReferences": [owner_ref(rev)]},
        "spec": spec,
    }


def image_cache(rev: dict[str, Any], container: str, image: str) -> dict[str, Any]:
    meta = _meta(rev)
    spec: dict[str, Any] = {"image": image}
    if (rev.get("spec") or {}).get("serviceAccountName"):
        spec["serviceAccountName"] = rev["spec"]["serviceAccountName"]
    return {
        "apiVersion": "caching.internal.knative.dev/v1alpha1", "kind": "Image",
        "metadata": {"name": names.image_cache(meta["name"], container), "namespace": meta["namespace"],
                     "labels": _revision_labels(rev), "ownerReferences": [owner_ref(rev)]},
        "spec": spec,
    }


# --- Route → Ingress --------------------------------------------------------------------------------------

def _splits(namespace: str, percents: dict[str, int]) -> list[dict[str, Any]]:
    return [{"serviceName": rev, "serviceNamespace": namespace, "servicePort": 80, "percent": percent,
             "appendHeaders": {"Knative-Serving-Revision": rev, "Knative-Serving-Namespace": namespace}}
            for rev, percent in percents.items()]


def _rule(hosts: list[str], visibility: str, namespace: str, percents: dict[str, int]) -> dict[str, Any]:
    return {"hosts": hosts, "visibility": visibility,
            "http": {"paths": [{"splits": _splits(namespace, percents)}]}}


def ingress(route_obj: dict[str, Any], external_hosts: dict[str, str], local_hosts: dict[str, list[str]],
            main: dict[str, int], tags: dict[str, str], ingress_class: str) -> dict[str, Any]:
    """A KIngress: per tag ("" for the route itself) an external rule (unless cluster-local) and a
    cluster-local rule, each splitting traffic between revisions."""
    meta = _meta(route_obj)
    ns = meta["namespace"]
    rules = []
    for tag in ["", *sorted(tags)]:
        percents = main if not tag else {tags[tag]: 100}
        if tag in external_hosts:
            rules.append(_rule([external_hosts[tag]], "ExternalIP", ns, percents))
        rules.append(_rule(local_hosts[tag], "ClusterLocal", ns, percents))
    labels = {ROUTE_LABEL: meta["name"], f"{SERVING}/routeNamespace": ns}
    if SERVICE_LABEL in (meta.get("labels") or {}):
        labels[SERVICE_LABEL] = meta["labels"][SERVICE_LABEL]
    return {
        "apiVersion": "networking.internal.knative.dev/v1alpha1", "kind": "Ingress",
        "metadata": {"name": meta["name"], "namespace": ns, "labels": labels,
                     "annotations": {"networking.knative.dev/ingress.class": ingress_class},
                     "ownerReferences": [owner_ref(route_obj)]},
        "spec": {"rules": rules, "httpOption": "Enabled"},
    }
