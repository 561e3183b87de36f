"""Defaulting and validation the apiserver applies to the built-in kinds (their registry strategies and
`SetDefaults_*` functions): what a created Secret, Pod or Deployment looks like when read back."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from typing import Any

from .registry import AdmissionRequest
from .status import FieldError, GroupResource, forbidden, invalid, invalid_object

_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_CONFIG_KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
                   "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")


def _config_key_errors(data: dict[str, Any], path: str) -> list[FieldError]:
    return [invalid(f"{path}[{key}]", key, _CONFIG_KEY_MSG) for key in data if not _CONFIG_KEY.match(key)]


def _raise(kind: str, obj: dict[str, Any], errors: list[FieldError]) -> None:
    if errors:
        raise invalid_object(GroupResource("", "", kind), obj["metadata"].get("name", ""), errors)


_IMMUTABLE = "field is immutable when `immutable` is set"


def _immutable_data(req: AdmissionRequest, fields: tuple[str, ...]) -> list[FieldError]:
    """`ValidateConfigMapUpdate` / `ValidateSecretUpdate` for an object that was `immutable: true`: unsetting
    `immutable` is refused first, then any change of its contents (an empty map and none are the same, as
    after the apiserver's round trip through storage)."""
    if req.old is None or req.old.get("immutable") is not True:
        return []
    errs = [] if req.obj.get("immutable") is True else [forbidden("immutable", _IMMUTABLE)]
    return errs + [forbidden(f, _IMMUTABLE) for f in fields if (req.obj.get(f) or {}) != (req.old.get(f) or {})]


def admit_configmap(req: AdmissionRequest) -> None:
    obj = req.obj
    errors = _config_key_errors(obj.get("data") or {}, "data") + \
        _config_key_errors(obj.get("binaryData") or {}, "binaryData")
    errors += [FieldError("FieldValueInvalid", f"data[{k}]", k, "duplicate of key present in binaryData")
               for k in (obj.get("data") or {}) if k in (obj.get("binaryData") or {})]
    _raise("ConfigMap", obj, _immutable_data(req, ("data", "binaryData")) + errors)


def admit_secret(req: AdmissionRequest) -> None:
    obj = req.obj
    obj["type"] = obj.get("type") or "Opaque"
    string_data = obj.pop("stringData", None) or {}
    if string_data:  # write-only: folded into data, as the apiserver's conversion does
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
    errors: list[FieldError] = []
    if req.old is not None and req.old.get("type", "Opaque") != obj["type"]:
        errors.append(invalid("type", obj["type"], "field is immutable"))
    errors += _immutable_data(req, ("data",))
    _raise("Secret", obj, errors + _config_key_errors(obj.get("data") or {}, "data"))


def _image_pull_policy(image: str) -> str:
    name = image.rsplit("/", 1)[-1]
    if "@" in name:
        return "IfNotPresent"
    tag = name.rpartition(":")[2] if ":" in name else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def default_container(container: dict[str, Any]) -> None:
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("imagePullPolicy", _image_pull_policy(container.get("image") or ""))
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")


def default_pod_spec(spec: dict[str, Any]) -> None:
    """`SetDefaults_PodSpec` and friends, for the fields kubectl shows."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    if spec.get("serviceAccount") and not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            default_container(container)


def admit_pod(req: AdmissionRequest) -> None:
    default_pod_spec(req.obj.setdefault("spec", {}))
    if req.operation == "CREATE":
        req.obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}


def admit_deployment(req: AdmissionRequest) -> None:
    spec = req.obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
    errors: list[FieldError] = []
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    labels = (spec["template"].get("metadata") or {}).get("labels") or {}
    if not spec.get("selector"):
        errors.append(FieldError("FieldValueRequired", "spec.selector"))
    elif any(labels.get(k) != v for k, v in selector.items()):
        errors.append(invalid("spec.template.metadata.labels", labels,
                              "`selector` does not match template `labels`"))
    _raise("Deployment", req.obj, errors)


SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/16")
"""Where Services' cluster IPs come from (kind's and kubeadm's default range); .1 is kept for `kubernetes`."""


def _cluster_ip(namespace: str, name: str) -> str:
    """A cluster IP for a new Service: stable for its name (the plane has no cluster network to route it, so
    an address is only bookkeeping, but one that reads as kube-apiserver's allocator would give)."""
    digest = int.from_bytes(hashlib.sha256(f"{namespace}/{name}".encode()).digest()[:4], "big")
    return str(SERVICE_CIDR.network_address + 2 + digest % (SERVICE_CIDR.num_addresses - 3))


def admit_service(req: AdmissionRequest) -> None:
    """`SetDefaults_Service` and the cluster IP the service REST storage allocates (kept on update, immutable)."""
    if req.subresource:
        return
    spec = req.obj.setdefault("spec", {})
    kind = spec.setdefault("type", "ClusterIP")
    errors: list[FieldError] = []
    if kind != "ExternalName":
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        old = (req.old or {}).get("spec") or {}
        ip = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0] or old.get("clusterIP")
        if not ip:
            meta = req.obj.get("metadata") or {}
            ip = _cluster_ip(str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        if old.get("clusterIP") and ip != old["clusterIP"]:
            errors.append(invalid("spec.clusterIPs[0]", ip, "may not change once set"))
        spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
        if ip != "None":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        if not spec.get("ports") and ip != "None":
            errors.append(FieldError("FieldValueRequired", "spec.ports"))
    _raise("Service", req.obj, errors)
