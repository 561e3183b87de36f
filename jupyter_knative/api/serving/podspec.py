"""The PodSpec subset a revision may use, checked as Serving's `ValidatePodSpec` checks it.

Knative allows only some PodSpec and Container fields; the others (and some behind `config-features`
flags) are refused with `must not set the field(s): <path>`. Beyond that: exactly one serving container
(or several with `multi-container`), an image that parses, one container port at most, reserved ports,
names and environment variables, probes that make sense for Knative, and volumes that are all mounted.

Errors are relative to the pod spec (`containers[0].image`); the caller adds `spec` / `spec.template.spec`.
A few paths look odd (`containers[*].ports`, projected sources under `projected[i]`, init containers
reported under `containers[i]`, some envFrom and probe errors re-prefixed): they are Knative's, kept so
that messages match a real cluster.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from ..meta import dns1123_label, dns1123_subdomain
from .config import Features
from .fielderror import (
    FieldError,
    Level,
    err_disallowed_fields,
    err_generic,
    err_invalid_value,
    err_missing_field,
    err_missing_one_of,
    err_multiple_one_of,
    err_out_of_bounds_value,
)
from .goformat import go_quote

__all__ = ["validate_pod_spec"]

MAX_INT32 = 2**31 - 1

RESERVED_PATHS = frozenset({"/", "/dev", "/dev/log"})
RESERVED_CONTAINER_NAMES = frozenset({"queue-proxy"})
RESERVED_ENV = frozenset({"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"})
RESERVED_SIDECAR_ENV = RESERVED_ENV - {"PORT"}
# queue-proxy's ports (8012 HTTP/1, 8013 h2c, 8022 admin, 9090/9091 metrics) and the profiling port.
RESERVED_PORTS = frozenset({8008, 8012, 8013, 8022, 9090, 9091})
PORT_NAMES = frozenset({"h2c", "http1", ""})

# Fields whose Go type is a pointer: present at all (even false or 0) counts as set.
_POINTERS = frozenset({
    "terminationGracePeriodSeconds", "activeDeadlineSeconds", "automountServiceAccountToken",
    "shareProcessNamespace", "priority", "preemptionPolicy", "setHostnameAsFQDN", "hostUsers",
    "runtimeClassName", "privileged", "procMount", "mountPropagation", "recursiveReadOnly",
    "allowPrivilegeEscalation", "readOnlyRootFilesystem", "runAsNonRoot", "runAsUser", "runAsGroup",
    "enableServiceLinks", "optional", "expirationSeconds", "mode", "defaultMode",
})

_REVISION_FIELDS = frozenset({"containerConcurrency", "timeoutSeconds", "responseStartTimeoutSeconds",
                              "idleTimeoutSeconds"})
_POD_FIELDS = frozenset({"serviceAccountName", "containers", "volumes", "imagePullSecrets", "enableServiceLinks",
                         "securityContext"})
_POD_FLAGGED = {
    "affinity": "kubernetes.podspec-affinity",
    "topologySpreadConstraints": "kubernetes.podspec-topologyspreadconstraints",
    "hostAliases": "kubernetes.podspec-hostaliases",
    "nodeSelector": "kubernetes.podspec-nodeselector",
    "runtimeClassName": "kubernetes.podspec-runtimeclassname",
    "tolerations": "kubernetes.podspec-tolerations",
    "priorityClassName": "kubernetes.podspec-priorityclassname",
    "schedulerName": "kubernetes.podspec-schedulername",
    "initContainers": "kubernetes.podspec-init-containers",
    "dnsPolicy": "kubernetes.podspec-dnspolicy",
    "dnsConfig": "kubernetes.podspec-dnsconfig",
    "shareProcessNamespace": "kubernetes.podspec-shareprocessnamespace",
    "hostIPC": "kubernetes.podspec-hostipc",
    "hostPID": "kubernetes.podspec-hostpid",
    "hostNetwork": "kubernetes.podspec-hostnetwork",
}
_CONTAINER_FIELDS = frozenset({
    "name", "args", "command", "env", "workingDir", "envFrom", "image", "imagePullPolicy", "livenessProbe",
    "ports", "readinessProbe", "startupProbe", "resources", "securityContext", "terminationMessagePath",
    "terminationMessagePolicy", "volumeMounts",
})
_PROBE_FIELDS = frozenset({"exec", "httpGet", "tcpSocket", "grpc", "initialDelaySeconds", "timeoutSeconds",
                           "periodSeconds", "successThreshold", "failureThreshold"})
_VOLUME_SOURCES_FLAGGED = {
    "emptyDir": "kubernetes.podspec-volumes-emptydir",
    "persistentVolumeClaim": "kubernetes.podspec-persistent-volume-claim",
    "hostPath": "kubernetes.podspec-volumes-hostpath",
    "csi": "kubernetes.podspec-volumes-csi",
    "image": "kubernetes.podspec-volumes-image",
    "ephemeral": "kubernetes.podspec-volumes-ephemeral",
}
_SECURITY_CONTEXT_FIELDS = frozenset({"allowPrivilegeEscalation", "capabilities", "readOnlyRootFilesystem",
                                      "runAsGroup", "runAsNonRoot", "runAsUser", "seccompProfile"})
_POD_SECURITY_CONTEXT_FIELDS = frozenset({"runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup",
                                          "supplementalGroups", "seccompProfile"})

_Obj = Mapping[str, Any]


@dataclass(frozen=True)
class _Port:
    """The serving port as probes see it: the one declared, else `http` on 8080."""

    name: str = "http"
    number: int = 8080


# --- generic checks ---------------------------------------------------------------------------------------

def _is_set(key: str, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, dict | list):
        return True
    return key in _POINTERS or bool(value)


def disallowed(obj: Any, allowed: AbstractSet[str]) -> FieldError:
    """`must not set the field(s)` for every field set in `obj` that the allowed subset lacks."""
    if not isinstance(obj, Mapping):
        return FieldError()
    extra = [k for k, v in obj.items() if k not in allowed and _is_set(k, v)]
    return err_disallowed_fields(*extra) if extra else FieldError()


def _is_zero(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(_is_zero(v) for v in value.values())
    return value is None or value in ("", 0, False) or value == []


def _dict(value: Any) -> _Obj:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _clean(path: str) -> str:
    """Go's `path.Clean` (POSIX normpath, but never two leading slashes)."""
    cleaned = posixpath.normpath(path) if path else "."
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


# --- the pod --------------------------------------------------------------------------------------------

def validate_pod_spec(ps: _Obj, features: Features) -> FieldError:
    allowed = set(_POD_FIELDS | _REVISION_FIELDS)
    allowed |= {name for name, flag in _POD_FLAGGED.items() if features.allowed(flag)}
    if ps.get("automountServiceAccountToken") is False:
        allowed.add("automountServiceAccountToken")
    errs = disallowed(ps, allowed)
    psc = ps.get("securityContext")
    errs = errs.also(_pod_security_context(psc, features).via_field("securityContext"))
    containers = [_dict(c) for c in _list(ps.get("containers"))]
    inits = [_dict(c) for c in _list(ps.get("initContainers"))]
    for group, items in (("containers", containers), ("initContainers", inits)):
        for i, c in enumerate(items):
            errs = errs.also(_warn_insecure_defaults(_dict(psc), c.get("securityContext"))
                             .via_field("securityContext").via_field_index(group, i))
    mounted = {m.get("name") for c in inits + containers for m in _list(c.get("volumeMounts")) if isinstance(m, dict)}
    volumes, err = _volumes(_list(ps.get("volumes")), mounted, features)
    errs = errs.also(err.via_field("volumes"))
    errs = errs.also(_init_containers(inits, containers, volumes, features))
    port, err = _containers_ports(containers)
    errs = errs.also(err.via_field("containers[*]"))
    if not containers:
        errs = errs.also(err_missing_field("containers"))
    elif len(containers) == 1:
        errs = errs.also(_user_container(containers[0], volumes, port, features).via_field_index("containers", 0))
    else:
        errs = errs.also(_containers(containers, volumes, port, features))
    account = ps.get("serviceAccountName")
    if account:
        for msg in dns1123_subdomain(str(account)):
            errs = errs.also(err_invalid_value(account, "serviceAccountName", msg))
    return errs


def _pod_security_context(psc: Any, features: Features) -> FieldError:
    if not isinstance(psc, Mapping):
        return FieldError()
    allowed = _POD_SECURITY_CONTEXT_FIELDS if features.allowed("kubernetes.podspec-securitycontext") else set()
    errs = disallowed(psc, allowed)
    for key in ("runAsUser", "runAsGroup", "fsGroup"):
        errs = errs.also(_id_bounds(psc.get(key), key))
    for i, gid in enumerate(_list(psc.get("supplementalGroups"))):
        errs = errs.also(_id_bounds(gid, "").via_field_index("supplementalGroups", i))
    return errs


def _id_bounds(value: Any, path: str) -> FieldError:
    if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_INT32:
        return err_out_of_bounds_value(value, 0, MAX_INT32, path)
    return FieldError()


def _warn_insecure_defaults(psc: _Obj, sc: Any) -> FieldError:
    """Warnings (not errors) for security settings left at Kubernetes' insecure defaults."""
    sc = _dict(sc)

    def insecure(path: str) -> FieldError:
        return err_generic("Kubernetes default value is insecure, Knative may default this to secure in a "
                           "future release", path).at(Level.WARNING)

    errs = FieldError()
    if psc.get("runAsNonRoot") is None and sc.get("runAsNonRoot") is None:
        errs = errs.also(insecure("runAsNonRoot"))
    if sc.get("allowPrivilegeEscalation") is None:
        errs = errs.also(insecure("allowPrivilegeEscalation"))
    if sc.get("seccompProfile") is None and psc.get("seccompProfile") is None:
        errs = errs.also(insecure("seccompProfile"))
    elif not _dict(psc.get("seccompProfile")).get("type") and not _dict(sc.get("seccompProfile")).get("type"):
        errs = errs.also(insecure("seccompProfile.type"))
    caps = sc.get("capabilities")
    if caps is None:
        errs = errs.also(insecure("capabilities"))
    elif _dict(caps).get("drop") is None:
        errs = errs.also(insecure("capabilities.drop"))
    elif _list(_dict(caps).get("drop"))[:1] == ["all"]:
        errs = errs.also(err_invalid_value("all", "capabilities.drop", "Must be spelled as 'ALL'").at(Level.WARNING))
    return errs


# --- containers -----------------------------------------------------------------------------------------

def _containers_ports(containers: list[_Obj]) -> tuple[_Port, FieldError]:
    count = 0
    first: _Obj = {}
    for c in containers:
        ports = _list(c.get("ports"))
        if ports:
            count += len(ports)
            first = _dict(ports[0])
    port = _Port(str(first.get("name") or "http"), int(first.get("containerPort") or 8080))
    if count == 0 and len(containers) > 1:
        return port, err_missing_field("ports")
    if count > 1:
        return port, FieldError("more than one container port is set", ("ports",),
                                "Only a single port is allowed across all containers")
    return port, FieldError()


def _init_containers(inits: list[_Obj], others: list[_Obj], volumes: Mapping[str, _Obj],
                     features: Features) -> FieldError:
    if not inits:
        return FieldError()
    if not features.enabled("kubernetes.podspec-init-containers"):
        return FieldError(f"pod spec support for init-containers is off, but found {len(inits)} init containers")
    names = {c.get("name") for c in others}
    errs = FieldError()
    for i, c in enumerate(inits):
        if c.get("name") in names:
            # Knative re-prefixes everything found so far here, and files init containers under `containers`.
            dup = FieldError(f"duplicate container name {go_quote(str(c.get('name') or ''))}", ("name",))
            errs = errs.also(dup).via_field_index("containers", i)
        errs = errs.also(_init_container(c, volumes, features).via_field_index("containers", i))
    return errs


def _containers(containers: list[_Obj], volumes: Mapping[str, _Obj], port: _Port,
                features: Features) -> FieldError:
    if not features.enabled("multi-container"):
        return FieldError(f"multi-container is off, but found {len(containers)} containers")
    seen: set[Any] = set()
    errs = FieldError()
    for i, c in enumerate(containers):
        if c.get("name") in seen:
            dup = FieldError(f"duplicate container name {go_quote(str(c.get('name') or ''))}", ("name",))
            errs = errs.also(dup).via_field_index("containers", i)
        else:
            seen.add(c.get("name"))
        if not _list(c.get("ports")):
            errs = errs.also(_sidecar_container(c, volumes, features).via_field_index("containers", i))
        else:
            errs = errs.also(_user_container(c, volumes, port, features).via_field_index("containers", i))
    return errs


def _user_container(c: _Obj, volumes: Mapping[str, _Obj], port: _Port, features: Features) -> FieldError:
    errs = _probe(c.get("livenessProbe"), port).via_field("livenessProbe")
    errs = errs.also(_readiness_probe(c.get("readinessProbe"), port).via_field("readinessProbe"))
    return errs.also(_container(c, volumes, features, RESERVED_ENV, init=False))


def _sidecar_container(c: _Obj, volumes: Mapping[str, _Obj], features: Features) -> FieldError:
    errs = FieldError()
    probing = features.enabled("multi-container-probing")
    for key, check in (("livenessProbe", _probe), ("readinessProbe", _readiness_probe)):
        probe = c.get(key)
        if isinstance(probe, Mapping):
            found = check(probe, _Port()) if probing else _all_disallowed(probe)
            errs = errs.also(found.via_field(key))
    return errs.also(_container(c, volumes, features, RESERVED_SIDECAR_ENV, init=False))


def _all_disallowed(probe: _Obj) -> FieldError:
    """A sidecar's probe checked against an empty probe: every field refused. The handler is an inlined
    struct in Go, reported under the probe's own path."""
    extra = {"" if k in ("exec", "httpGet", "tcpSocket", "grpc") else k for k, v in probe.items() if _is_set(k, v)}
    return err_disallowed_fields(*sorted(extra)) if extra else FieldError()


def _init_container(c: _Obj, volumes: Mapping[str, _Obj], features: Features) -> FieldError:
    errs = FieldError()
    for key in ("livenessProbe", "readinessProbe", "startupProbe", "lifecycle"):
        if c.get(key) is not None:
            errs = errs.also(FieldError("field not allowed in an init container", (key,)))
    return errs.also(_container(c, volumes, features, RESERVED_SIDECAR_ENV, init=True))


def _container(c: _Obj, volumes: Mapping[str, _Obj], features: Features, reserved_env: frozenset[str], *,
               init: bool) -> FieldError:
    if _is_zero(c):
        return err_missing_field("")
    errs = disallowed(c, _CONTAINER_FIELDS)
    if c.get("name") in RESERVED_CONTAINER_NAMES:
        errs = errs.also(FieldError(f"{go_quote(str(c['name']))} is a reserved container name", ("name",)))
    errs = errs.also(_env(_list(c.get("env")), reserved_env, features).via_field("env"))
    errs = errs.also(_env_from(_list(c.get("envFrom"))).via_field("envFrom"))
    image = str(c.get("image") or "")
    if not image:
        errs = errs.also(err_missing_field("image"))
    elif not valid_reference(image):
        errs = errs.also(FieldError("Failed to parse image reference", ("image",),
                                    f"image: {go_quote(image)}, error: could not parse reference: {image}"))
    ports = _list(c.get("ports"))
    found = _init_ports(ports) if init else _container_ports(ports)
    errs = errs.also(found.via_field("ports"))
    errs = errs.also(disallowed(c.get("resources"), {"limits", "requests"}).via_field("resources"))
    errs = errs.also(_security_context(c.get("securityContext"), features).via_field("securityContext"))
    policy = c.get("terminationMessagePolicy") or ""
    if policy not in ("File", "FallbackToLogsOnError", ""):
        errs = errs.also(err_invalid_value(policy, "terminationMessagePolicy"))
    return errs.also(_volume_mounts(_list(c.get("volumeMounts")), volumes, features).via_field("volumeMounts"))


def _env(env: list[Any], reserved: frozenset[str], features: Features) -> FieldError:
    errs = FieldError()
    sources = {"configMapKeyRef", "secretKeyRef"}
    if features.allowed("kubernetes.podspec-fieldref"):
        sources |= {"fieldRef", "resourceFieldRef"}
    for i, raw in enumerate(env):
        var = _dict(raw)
        err = disallowed(var, {"name", "value", "valueFrom"})
        name = var.get("name")
        if not name:
            err = err.also(err_missing_field("name"))
        elif name in reserved:
            err = err.also(FieldError(f"{go_quote(str(name))} is a reserved environment variable", ("name",)))
        err = err.also(disallowed(var.get("valueFrom"), sources).via_field("valueFrom"))
        errs = errs.also(err.via_index(i))
    return errs


def _env_from(items: list[Any]) -> FieldError:
    errs = FieldError()
    for i, raw in enumerate(items):
        item = _dict(raw)
        errs = errs.also(disallowed(item, {"prefix", "configMapRef", "secretRef"}).via_index(i))
        cm, sm = item.get("configMapRef"), item.get("secretRef")
        # As in Knative, these two re-prefix every error collected so far.
        if sm is not None:
            errs = errs.also(disallowed(sm, {"name", "optional"}).via_index(i))
            errs = errs.via_index(i).via_field("secretRef")
        if cm is not None:
            errs = errs.also(disallowed(cm, {"name", "optional"}).via_index(i))
            errs = errs.via_index(i).via_field("configMapRef")
        if cm is not None and sm is not None:
            errs = errs.also(err_multiple_one_of("configMapRef", "secretRef"))
        elif cm is None and sm is None:
            errs = errs.also(err_missing_one_of("configMapRef", "secretRef"))
    return errs


def _container_ports(ports: list[Any]) -> FieldError:
    if not ports:
        return FieldError()
    user = _dict(ports[0])
    errs = _port_basic(user)
    protocol = user.get("protocol") or ""
    if protocol not in ("", "TCP"):
        errs = errs.also(err_invalid_value(protocol, "protocol"))
    name = user.get("name") or ""
    if name not in PORT_NAMES:
        errs = errs.also(FieldError(f"Port name {name} is not allowed", ("",),
                                    "Name must be empty, or one of: 'h2c', 'http1'"))
    return errs


def _init_ports(ports: list[Any]) -> FieldError:
    errs = FieldError()
    for p in ports:
        errs = errs.also(_port_basic(_dict(p)))
    return errs


def _port_basic(port: _Obj) -> FieldError:
    errs = disallowed(port, {"containerPort", "name", "protocol"})
    number = port.get("containerPort") or 0
    if number in RESERVED_PORTS:
        errs = errs.also(err_invalid_value(f"{number} is a reserved port", "containerPort",
                                           f"{number} is a reserved port, please use a different value"))
    if isinstance(number, int) and not 0 <= number <= 65535:
        errs = errs.also(err_out_of_bounds_value(number, 0, 65535, "containerPort"))
    return errs


def _security_context(sc: Any, features: Features) -> FieldError:
    if not isinstance(sc, Mapping):
        return FieldError()
    allowed = set(_SECURITY_CONTEXT_FIELDS)
    if sc.get("privileged") is False:
        allowed.add("privileged")
    errs = disallowed(sc, allowed)
    caps = sc.get("capabilities")
    if isinstance(caps, Mapping):
        allowed_caps = {"drop"}
        if features.allowed("kubernetes.containerspec-addcapabilities") or caps.get("add") == ["NET_BIND_SERVICE"]:
            allowed_caps.add("add")
        errs = errs.also(disallowed(caps, allowed_caps).via_field("capabilities"))
    for key in ("runAsUser", "runAsGroup"):
        errs = errs.also(_id_bounds(sc.get(key), key))
    return errs


def _volume_mounts(mounts: list[Any], volumes: Mapping[str, _Obj], features: Features) -> FieldError:
    allowed = {"name", "readOnly", "mountPath", "subPath"}
    if features.allowed("kubernetes.podspec-volumes-mount-propagation"):
        allowed.add("mountPropagation")
    errs = FieldError()
    seen_paths: set[str] = set()
    for i, raw in enumerate(mounts):
        vm = _dict(raw)
        errs = errs.also(disallowed(vm, allowed).via_index(i))
        name = vm.get("name")
        if name not in volumes:
            errs = errs.also(FieldError("volumeMount has no matching volume", ("name",)).via_index(i))
        mount_path = str(vm.get("mountPath") or "")
        cleaned = _clean(mount_path)
        if not mount_path:
            errs = errs.also(err_missing_field("mountPath").via_index(i))
        elif cleaned in RESERVED_PATHS:
            errs = errs.also(FieldError(f"mountPath {go_quote(cleaned)} is a reserved path", ("mountPath",))
                             .via_index(i))
        elif not mount_path.startswith("/"):
            errs = errs.also(err_invalid_value(mount_path, "mountPath").via_index(i))
        elif cleaned in seen_paths:
            errs = errs.also(err_invalid_value(f"{go_quote(mount_path)} must be unique", "mountPath").via_index(i))
        seen_paths.add(cleaned)
        volume = _dict(volumes.get(str(name))) if name in volumes else {}
        writable = volume.get("emptyDir") is not None or volume.get("persistentVolumeClaim") is not None
        if not writable and not vm.get("readOnly"):
            errs = errs.also(FieldError("volume mount should be readOnly for this type of volume", ("readOnly",))
                             .via_index(i))
        claim = volume.get("persistentVolumeClaim")
        if isinstance(claim, Mapping) and claim.get("readOnly") and not vm.get("readOnly"):
            errs = errs.also(FieldError("volume is readOnly but volume mount is not", ("readOnly",)).via_index(i))
    return errs


# --- probes ---------------------------------------------------------------------------------------------

def _probe(p: Any, port: _Port) -> FieldError:
    if not isinstance(p, Mapping):
        return FieldError()
    errs = disallowed(p, _PROBE_FIELDS)
    handlers: list[str] = []
    # As in Knative, each handler's check re-prefixes everything found so far with the handler's name.
    for key, label, allowed in (("httpGet", "httpGet", {"host", "path", "scheme", "httpHeaders", "port"}),
                                ("tcpSocket", "tcpSocket", {"host", "port"}),
                                ("exec", "exec", {"command"}),
                                ("grpc", "gRPC", {"port", "service"})):
        handler = p.get(key)
        if handler is None:
            continue
        handlers.append(label)
        errs = errs.also(disallowed(handler, allowed)).via_field(key)
        named = _dict(handler).get("port")
        if key in ("httpGet", "tcpSocket") and isinstance(named, str) and named and named != port.name:
            errs = errs.also(err_invalid_value(named, f"{key}.port", "Probe port must match container port"))
    if not handlers:
        errs = errs.also(err_missing_one_of("httpGet", "tcpSocket", "exec", "grpc"))
    elif len(handlers) > 1:
        errs = errs.also(err_multiple_one_of(*handlers))
    return errs


def _readiness_probe(p: Any, port: _Port) -> FieldError:
    if not isinstance(p, Mapping):
        return FieldError()
    errs = _probe(p, port)

    def num(key: str) -> int:
        value = p.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    if num("periodSeconds") < 0:
        errs = errs.also(err_out_of_bounds_value(num("periodSeconds"), 0, MAX_INT32, "periodSeconds"))
    if num("initialDelaySeconds") < 0:
        errs = errs.also(err_out_of_bounds_value(num("initialDelaySeconds"), 0, MAX_INT32, "initialDelaySeconds"))
    if num("successThreshold") < 1:
        errs = errs.also(err_out_of_bounds_value(num("successThreshold"), 1, MAX_INT32, "successThreshold"))
    if num("periodSeconds") == 0:
        # periodSeconds 0 is Knative's aggressive probing, which sets its own retries and timeouts.
        for key in ("failureThreshold", "timeoutSeconds"):
            if num(key) != 0:
                errs = errs.also(FieldError(f"{key} is disallowed when periodSeconds is zero", (key,)))
    else:
        for key in ("timeoutSeconds", "failureThreshold"):
            if num(key) < 1:
                errs = errs.also(err_out_of_bounds_value(num(key), 1, MAX_INT32, key))
    return errs


# --- volumes --------------------------------------------------------------------------------------------

def _volumes(vs: list[Any], mounted: set[Any], features: Features) -> tuple[dict[str, _Obj], FieldError]:
    volumes: dict[str, _Obj] = {}
    errs = FieldError()
    for i, raw in enumerate(vs):
        volume = _dict(raw)
        name = str(volume.get("name") or "")
        if name in volumes:
            errs = errs.also(FieldError(f"duplicate volume name {go_quote(name)}", ("name",)).via_index(i))
        if name not in mounted:
            errs = errs.also(FieldError(f"volume with name {go_quote(name)} not mounted", ("name",)).via_index(i))
        errs = errs.also(_volume(volume, features).via_index(i))
        volumes[name] = volume
    return volumes, errs


def _volume(volume: _Obj, features: Features) -> FieldError:
    name = str(volume.get("name") or "")
    errs = FieldError()
    claim = volume.get("persistentVolumeClaim")
    if isinstance(claim, Mapping):
        claim_name = claim.get("claimName", "")
        if not features.enabled("kubernetes.podspec-persistent-volume-claim"):
            errs = errs.also(FieldError("Persistent volume claim support is disabled, but found persistent "
                                        f"volume claim {claim_name}"))
        if not claim.get("readOnly") and not features.enabled("kubernetes.podspec-persistent-volume-write"):
            errs = errs.also(FieldError("Persistent volume write support is disabled, but found persistent "
                                        f"volume claim {claim_name} that is not read-only"))
    if volume.get("emptyDir") is not None and not features.enabled("kubernetes.podspec-volumes-emptydir"):
        errs = errs.also(FieldError(f"EmptyDir volume support is disabled, but found EmptyDir volume {name}"))
    # Knative replaces (not adds to) what was found so far when the name itself is wrong.
    if not name:
        errs = err_missing_field("name")
    elif dns1123_label(name):
        errs = err_invalid_value(name, "name")
    sources = {"secret", "configMap", "projected"}
    sources |= {key for key, flag in _VOLUME_SOURCES_FLAGGED.items() if features.allowed(flag)}
    errs = errs.also(disallowed(volume, sources | {"name"}))
    return errs.also(_volume_source(volume, features))


def _volume_source(vs: _Obj, features: Features) -> FieldError:
    errs = FieldError()
    specified: list[str] = []
    for key in ("secret", "configMap"):
        if vs.get(key) is not None:
            specified.append(key)
            for i, item in enumerate(_list(_dict(vs[key]).get("items"))):
                errs = errs.also(_key_to_path(_dict(item)).via_field_index("items", i))
    if vs.get("projected") is not None:
        specified.append("projected")
        for i, proj in enumerate(_list(_dict(vs["projected"]).get("sources"))):
            errs = errs.also(_projection(_dict(proj)).via_field_index("projected", i))
    if vs.get("emptyDir") is not None:
        specified.append("emptyDir")
        errs = errs.also(_empty_dir(_dict(vs["emptyDir"])).via_field("emptyDir"))
    for key in ("persistentVolumeClaim", "hostPath", "csi", "image", "ephemeral"):
        counted = key == "persistentVolumeClaim" or features.allowed(_VOLUME_SOURCES_FLAGGED[key])
        if vs.get(key) is not None and counted:
            specified.append(key)
    if not specified:
        paths = ["secret", "configMap", "projected"]
        paths += [key for key in ("emptyDir", "persistentVolumeClaim", "hostPath", "csi", "image", "ephemeral")
                  if features.enabled(_VOLUME_SOURCES_FLAGGED[key])]
        errs = errs.also(err_missing_one_of(*paths))
    elif len(specified) > 1:
        errs = errs.also(err_multiple_one_of(*specified))
    return errs


def _key_to_path(item: _Obj) -> FieldError:
    errs = disallowed(item, {"key", "path", "mode"})
    if not item.get("key"):
        errs = errs.also(err_missing_field("key"))
    if not item.get("path"):
        errs = errs.also(err_missing_field("path"))
    return errs


def _empty_dir(d: _Obj) -> FieldError:
    errs = FieldError()
    medium = d.get("medium") or ""
    if medium not in ("", "Memory"):
        errs = errs.also(err_invalid_value(medium, "medium"))
    size = str(d.get("sizeLimit") or "")
    if size.startswith("-"):
        errs = errs.also(err_invalid_value(size, "sizeLimit"))
    return errs


def _projection(p: _Obj) -> FieldError:
    errs = disallowed(p, {"secret", "configMap", "serviceAccountToken", "downwardAPI"})
    specified: list[str] = []
    for key in ("secret", "configMap"):
        if p.get(key) is not None:
            specified.append(key)
            errs = errs.also(_named_projection(_dict(p[key])).via_field(key))
    if p.get("serviceAccountToken") is not None:
        specified.append("serviceAccountToken")
        token = _dict(p["serviceAccountToken"])
        err = disallowed(token, {"audience", "expirationSeconds", "path"})
        if not token.get("path"):
            err = err.also(err_missing_field("path"))
        errs = errs.also(err.via_field("serviceAccountToken"))
    if p.get("downwardAPI") is not None:
        specified.append("downwardAPI")
        api = _dict(p["downwardAPI"])
        err = disallowed(api, {"items"})
        for i, item in enumerate(_list(api.get("items"))):
            err = err.also(_downward_file(_dict(item)).via_field_index("items", i))
        errs = errs.also(err.via_field("downwardAPI"))
    if not specified:
        errs = errs.also(err_missing_one_of("secret", "configMap", "serviceAccountToken", "downwardAPI"))
    elif len(specified) > 1:
        errs = errs.also(err_multiple_one_of(*specified))
    return errs


def _named_projection(p: _Obj) -> FieldError:
    errs = disallowed(p, {"name", "items", "optional"})
    if not p.get("name"):
        errs = errs.also(err_missing_field("name"))
    for i, item in enumerate(_list(p.get("items"))):
        errs = errs.also(_key_to_path(_dict(item)).via_field_index("items", i))
    return errs


def _downward_file(f: _Obj) -> FieldError:
    errs = disallowed(f, {"path", "fieldRef", "resourceFieldRef", "mode"})
    if f.get("fieldRef") is None and f.get("resourceFieldRef") is None:
        errs = errs.also(err_missing_one_of("fieldRef", "resourceFieldRef"))
    if f.get("fieldRef") is not None and f.get("resourceFieldRef") is not None:
        errs = errs.also(err_generic("Within a single item, cannot set both", "resourceFieldRef", "fieldRef"))
    if not f.get("path"):
        errs = errs.also(err_missing_field("path"))
    return errs


# --- image references -------------------------------------------------------------------------------------

_REPOSITORY = re.compile(r"[a-z0-9_./-]{2,255}")
_TAG = re.compile(r"[\w.-]{1,128}", re.ASCII)
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_REGISTRY = re.compile(r"[A-Za-z0-9.-]+(:[0-9]+)?|\[[0-9a-fA-F:]+\](:[0-9]+)?")


def _repository(name: str) -> bool:
    registry, slash, rest = name.partition("/")
    if slash and ("." in registry or ":" in registry or registry == "localhost"):
        if not _REGISTRY.fullmatch(registry):
            return False
        name = rest
    return bool(_REPOSITORY.fullmatch(name))


def _tagged(name: str) -> bool:
    base, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        return _repository(name)
    return bool(tag) and bool(_TAG.fullmatch(tag)) and _repository(base)


def valid_reference(image: str) -> bool:
    """Whether go-containerregistry's `name.ParseReference` (weak validation) accepts `image`: a tag
    reference (`[registry/]repo[:tag]`, lowercase repository) or a digest one (`...@sha256:<64 hex>`)."""
    if _tagged(image):
        return True
    base, at, digest = image.partition("@")
    return bool(at) and "@" not in digest and bool(_DIGEST.fullmatch(digest)) and _tagged(base)
