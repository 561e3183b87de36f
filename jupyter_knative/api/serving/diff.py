"""knative.dev/pkg's `kmp.ShortDiff`: the zero-context diff Knative prints under
`Immutable fields changed (-old +new)` and `Saw the following changes without a name change (-old +new)`.

Each difference is one entry: the Go path to it (go-cmp's `%#v` of the path: root type in braces, Go field
names, `[i]` and `["key"]` steps, a leading `*` when the value sits behind a pointer) and the old and new
values as `%+v` prints them, quoted, each on a line that starts with a tab:

    {v1.RevisionSpec}.PodSpec.Containers[0].Image:
    <TAB>-: "busybox"
    <TAB>+: "helloworld"

The objects here are JSON, not Go structs, so the Go view is rebuilt from a table of the types a revision
spec uses (field order, Go names, pointers, embedded structs). Where that table stops, JSON keys are
capitalised and visited in sorted order. Known differences from Go: a pointer to a scalar that appears or
disappears shows its value, not a memory address; composite values are printed from the fields present
(plus the declared fields of the small types in the table); a list that changes length is compared
position by position rather than by go-cmp's edit script.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .goformat import go_quote

__all__ = ["short_diff"]


@dataclass(frozen=True)
class _F:
    """One Go struct field: JSON name (empty for an embedded struct), Go name, Go type."""

    json: str
    go: str
    type: str


def _fields(spec: str) -> tuple[_F, ...]:
    out = []
    for item in spec.split():
        json_name, go_name, type_ = item.split(":")
        out.append(_F(json_name, go_name or json_name[:1].upper() + json_name[1:], type_))
    return tuple(out)


# name -> fields in declaration order, as `json:Go:type` (Go name empty: the capitalised JSON name).
_TYPES: dict[str, tuple[_F, ...]] = {name: _fields(spec) for name, spec in {
    "v1.RevisionTemplateSpec": "metadata:ObjectMeta:v1.ObjectMeta spec::v1.RevisionSpec",
    "v1.ObjectMeta": ("name::string generateName::string namespace::string selfLink::string uid:UID:string "
                      "resourceVersion::string generation::int64 creationTimestamp::v1.Time "
                      "deletionTimestamp::*v1.Time deletionGracePeriodSeconds::*int64 labels::map "
                      "annotations::map ownerReferences::[]any finalizers::[]string managedFields::[]any"),
    "v1.RevisionSpec": (":PodSpec:v1.PodSpec containerConcurrency::*int64 timeoutSeconds::*int64 "
                        "responseStartTimeoutSeconds::*int64 idleTimeoutSeconds::*int64"),
    "v1.PodSpec": ("volumes::[]v1.Volume initContainers::[]v1.Container containers::[]v1.Container "
                   "ephemeralContainers::[]any restartPolicy::string terminationGracePeriodSeconds::*int64 "
                   "activeDeadlineSeconds::*int64 dnsPolicy:DNSPolicy:string nodeSelector::map "
                   "serviceAccountName::string serviceAccount:DeprecatedServiceAccount:string "
                   "automountServiceAccountToken::*bool nodeName::string hostNetwork::bool hostPID:HostPID:bool "
                   "hostIPC:HostIPC:bool shareProcessNamespace::*bool securityContext::*any "
                   "imagePullSecrets::[]v1.LocalObjectReference hostname::string subdomain::string "
                   "affinity::*any schedulerName::string tolerations::[]any hostAliases::[]any "
                   "priorityClassName::string priority::*int32 dnsConfig:DNSConfig:*any readinessGates::[]any "
                   "runtimeClassName::*string enableServiceLinks::*bool preemptionPolicy::*string overhead::map "
                   "topologySpreadConstraints::[]any setHostnameAsFQDN:SetHostnameAsFQDN:*bool os:OS:*any "
                   "hostUsers::*bool schedulingGates::[]any resourceClaims::[]any"),
    "v1.Container": ("name::string image::string command::[]string args::[]string workingDir::string "
                     "ports::[]v1.ContainerPort envFrom::[]v1.EnvFromSource env::[]v1.EnvVar "
                     "resources::v1.ResourceRequirements resizePolicy::[]any restartPolicy::*string "
                     "volumeMounts::[]v1.VolumeMount volumeDevices::[]any livenessProbe::*v1.Probe "
                     "readinessProbe::*v1.Probe startupProbe::*v1.Probe lifecycle::*any "
                     "terminationMessagePath::string terminationMessagePolicy::string imagePullPolicy::string "
                     "securityContext::*v1.SecurityContext stdin::bool stdinOnce::bool tty:TTY:bool"),
    "v1.ContainerPort": "name::string hostPort::int32 containerPort::int32 protocol::string hostIP:HostIP:string",
    "v1.EnvVar": "name::string value::string valueFrom::*v1.EnvVarSource",
    "v1.EnvVarSource": ("fieldRef::*any resourceFieldRef::*any configMapKeyRef::*v1.ConfigMapKeySelector "
                        "secretKeyRef::*v1.SecretKeySelector"),
    "v1.ConfigMapKeySelector": ":LocalObjectReference:v1.LocalObjectReference key::string optional::*bool",
    "v1.SecretKeySelector": ":LocalObjectReference:v1.LocalObjectReference key::string optional::*bool",
    "v1.LocalObjectReference": "name::string",
    "v1.EnvFromSource": ("prefix::string configMapRef::*v1.ConfigMapEnvSource "
                         "secretRef::*v1.SecretEnvSource"),
    "v1.ConfigMapEnvSource": ":LocalObjectReference:v1.LocalObjectReference optional::*bool",
    "v1.SecretEnvSource": ":LocalObjectReference:v1.LocalObjectReference optional::*bool",
    "v1.ResourceRequirements": "limits::quantities requests::quantities claims::[]any",
    "v1.VolumeMount": ("name::string readOnly::bool recursiveReadOnly::*string mountPath::string "
                       "subPath::string mountPropagation::*string subPathExpr::string"),
    "v1.Probe": (":ProbeHandler:v1.ProbeHandler initialDelaySeconds::int32 timeoutSeconds::int32 "
                 "periodSeconds::int32 successThreshold::int32 failureThreshold::int32 "
                 "terminationGracePeriodSeconds::*int64"),
    "v1.ProbeHandler": ("exec::*v1.ExecAction httpGet:HTTPGet:*v1.HTTPGetAction "
                        "tcpSocket:TCPSocket:*v1.TCPSocketAction grpc:GRPC:*v1.GRPCAction"),
    "v1.ExecAction": "command::[]string",
    "v1.HTTPGetAction": "path::string port::intstr host::string scheme::string httpHeaders:HTTPHeaders:[]any",
    "v1.TCPSocketAction": "port::intstr host::string",
    "v1.GRPCAction": "port::int32 service::*string",
    "v1.SecurityContext": ("capabilities::*v1.Capabilities privileged::*bool seLinuxOptions:SELinuxOptions:*any "
                           "windowsOptions::*any runAsUser::*int64 runAsGroup::*int64 runAsNonRoot::*bool "
                           "readOnlyRootFilesystem::*bool allowPrivilegeEscalation::*bool procMount::*string "
                           "seccompProfile::*v1.SeccompProfile appArmorProfile::*any"),
    "v1.Capabilities": "add::[]string drop::[]string",
    "v1.SeccompProfile": "type::string localhostProfile::*string",
    "v1.Volume": "name::string :VolumeSource:v1.VolumeSource",
    "v1.VolumeSource": ("hostPath::*any emptyDir::*any secret::*v1.SecretVolumeSource "
                        "persistentVolumeClaim::*any configMap::*v1.ConfigMapVolumeSource projected::*any "
                        "csi:CSI:*any ephemeral::*any image::*any"),
    "v1.SecretVolumeSource": "secretName::string items::[]v1.KeyToPath defaultMode::*int32 optional::*bool",
    "v1.ConfigMapVolumeSource": (":LocalObjectReference:v1.LocalObjectReference items::[]v1.KeyToPath "
                                 "defaultMode::*int32 optional::*bool"),
    "v1.KeyToPath": "key::string path::string mode::*int32",
}.items()}

_SCALARS = {"string": "", "bool": False, "int32": 0, "int64": 0}
# Small types printed in full (every declared field, zero values included), as `%+v` prints structs.
_PRINT_ALL = {"v1.EnvVar", "v1.ContainerPort", "v1.VolumeMount", "v1.KeyToPath", "v1.LocalObjectReference",
              "v1.Capabilities", "v1.SeccompProfile", "v1.EnvFromSource", "v1.HTTPGetAction", "v1.TCPSocketAction",
              "v1.ExecAction", "v1.GRPCAction"}


def short_diff(old: Any, new: Any, root: str) -> str:
    """The entries where `old` and `new` differ, `root` being the Go type (`v1.RevisionSpec`, or
    `*v1.RevisionTemplateSpec` for a pointer). Empty when they are equal."""
    out: list[str] = []
    pointer = root.startswith("*")
    _walk(old, new, root.lstrip("*"), "{" + root + "}", out, pointer_root=pointer)
    return "".join(out)


# --- walking --------------------------------------------------------------------------------------------

def _walk(x: Any, y: Any, type_: str, path: str, out: list[str], *, pointer_root: bool = False) -> None:
    if type_.startswith("*"):
        if x is None or y is None:
            if x is not None or y is not None:
                _report(path, x, y, type_, out)
            return
        inner = type_[1:]
        if inner in _SCALARS or inner in ("any", "intstr"):
            if inner == "any":
                _walk_any(x, y, path, out)
            elif x != y:
                _report("*" + path, x, y, inner, out)
            return
        _walk(x, y, inner, path, out)
        return
    if type_ in _SCALARS:
        zero = _SCALARS[type_]
        if (x if x is not None else zero) != (y if y is not None else zero):
            _report(path, x if x is not None else zero, y if y is not None else zero, type_, out)
    elif type_ == "intstr":
        _walk_intstr(x, y, path, out)
    elif type_ in ("map", "quantities"):
        _walk_map(x, y, path, out, quantities=type_ == "quantities")
    elif type_.startswith("[]"):
        _walk_list(x, y, type_[2:], path, out)
    elif type_ in _TYPES:
        _walk_struct(_dict(x), _dict(y), type_, path, out)
    else:
        _walk_any(x, y, path, out)


def _walk_struct(x: Mapping[str, Any], y: Mapping[str, Any], type_: str, path: str, out: list[str], *,
                 embedded: bool = False) -> None:
    for f in _TYPES[type_]:
        if not f.json:  # embedded: the same JSON object, one Go step deeper
            _walk_struct(x, y, f.type, f"{path}.{f.go}", out, embedded=True)
        else:
            _walk(x.get(f.json), y.get(f.json), f.type, f"{path}.{f.go}", out)
    if embedded:
        return  # keys the embedded struct lacks belong to the struct around it
    for key in sorted((set(x) | set(y)) - _json_names(type_)):
        _walk_any(x.get(key), y.get(key), f"{path}.{key[:1].upper()}{key[1:]}", out)


def _json_names(type_: str) -> set[str]:
    names: set[str] = set()
    for f in _TYPES.get(type_, ()):
        names |= _json_names(f.type) if not f.json else {f.json}
    return names


def _walk_list(x: Any, y: Any, item: str, path: str, out: list[str]) -> None:
    if x is None or y is None:
        if x is not None or y is not None:
            _report(path, x, y, "[]" + item, out)
        return
    for i in range(max(len(x), len(y))):
        if i < len(x) and i < len(y):
            _walk(x[i], y[i], item, f"{path}[{i}]", out)
        elif i < len(x):
            _report(f"{path}[{i}->?]", x[i], None, item, out, absent=(False, True))
        else:
            _report(f"{path}[?->{i}]", None, y[i], item, out, absent=(True, False))


def _walk_map(x: Any, y: Any, path: str, out: list[str], *, quantities: bool) -> None:
    if x is None or y is None:
        if x is not None or y is not None:
            _report(path, x, y, "map", out)
        return
    for key in sorted(set(x) | set(y)):
        step = f"{path}[{go_quote(str(key))}]"
        a, b = x.get(key), y.get(key)
        absent = (key not in x, key not in y)
        if quantities:
            if any(absent) or not _same_quantity(a, b):
                _report(step, a, b, "quantity", out, absent=absent)
        elif any(absent):
            _report(step, a, b, "string", out, absent=absent)
        else:
            _walk_any(a, b, step, out)


def _walk_intstr(x: Any, y: Any, path: str, out: list[str]) -> None:
    def parts(v: Any) -> tuple[int, int, str]:
        return (1, 0, v) if isinstance(v, str) else (0, int(v or 0), "")
    for name, a, b in zip(("Type", "IntVal", "StrVal"), parts(x), parts(y), strict=True):
        if a != b:
            _report(f"{path}.{name}", a, b, "string", out)


def _walk_any(x: Any, y: Any, path: str, out: list[str]) -> None:
    """Values the table does not describe: objects as structs (JSON keys capitalised), the rest as-is."""
    if isinstance(x, Mapping) and isinstance(y, Mapping):
        for key in sorted(set(x) | set(y)):
            _walk_any(x.get(key), y.get(key), f"{path}.{key[:1].upper()}{key[1:]}", out)
    elif isinstance(x, list) and isinstance(y, list):
        _walk_list(x, y, "any", path, out)
    elif x != y:
        _report(path, x, y, "any", out)


# --- printing -------------------------------------------------------------------------------------------

def _report(path: str, x: Any, y: Any, type_: str, out: list[str], *,
            absent: tuple[bool, bool] = (False, False)) -> None:
    """One entry; a side that has no element at all (a list or map entry) gets no line."""
    entry = path + ":\n"
    for sign, value, missing in (("-", x, absent[0]), ("+", y, absent[1])):
        if not missing:
            entry += f"\t{sign}: {_labelled(value, type_)}\n"
    out.append(entry)


def _labelled(value: Any, type_: str) -> str:
    if type_ == "quantity" and value is not None:
        return f'resource.Quantity: "{_quantity(value)}"'
    if type_ in _TYPES and isinstance(value, Mapping):
        return f'{type_}: "{_plus_v(value, type_)}"'
    return f'"{_plus_v(value, type_)}"'


def _plus_v(value: Any, type_: str) -> str:
    """`%+v`: structs as {Field:value ...}, slices as [a b], maps as map[k:v], nil as <nil>."""
    if type_.startswith("*"):
        if value is None:
            return "<nil>"
        inner = type_[1:]
        return ("&" if inner in _TYPES or (inner == "any" and isinstance(value, Mapping)) else "") + \
            _plus_v(value, inner)
    if type_.startswith("[]"):
        return "[" + " ".join(_plus_v(v, type_[2:]) for v in value or []) + "]"
    if type_ == "map" and value is None:
        return "map[]"
    if type_ in _TYPES:
        return _struct(_dict(value), type_)
    if type_ == "quantity":
        return _quantity(value)
    if isinstance(value, Mapping):
        if type_ in ("map", "quantities"):
            return "map[" + " ".join(f"{k}:{_plus_v(v, 'any')}" for k, v in sorted(value.items())) + "]"
        return "{" + " ".join(f"{k[:1].upper()}{k[1:]}:{_plus_v(v, 'any')}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + " ".join(_plus_v(v, "any") for v in value) + "]"
    if value is None:
        return "map[]" if type_ in ("map", "quantities") else "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _struct(value: Mapping[str, Any], type_: str) -> str:
    parts = []
    for f in _TYPES[type_]:
        if not f.json:
            parts.append(f"{f.go}:{_struct(value, f.type)}")
            continue
        v = value.get(f.json)
        if v is None and type_ not in _PRINT_ALL:
            continue
        if v is None and f.type in _SCALARS:
            v = _SCALARS[f.type]
        parts.append(f"{f.go}:{_plus_v(v, f.type if f.type != 'intstr' else 'any')}")
    return "{" + " ".join(parts) + "}"


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# --- quantities -----------------------------------------------------------------------------------------

_SUFFIXES: dict[str, int | Decimal] = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
             "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1, "k": 10**3, "M": 10**6,
             "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}


def _quantity_value(text: str) -> Decimal | None:
    s = str(text).strip()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if suffix and s.endswith(suffix):
            number, scale = s[: -len(suffix)], _SUFFIXES[suffix]
            break
    else:
        number, scale = s, 1
    try:
        return Decimal(number) * Decimal(scale)
    except InvalidOperation:
        return None


def _same_quantity(a: Any, b: Any) -> bool:
    va, vb = _quantity_value(str(a)), _quantity_value(str(b))
    return va is not None and va == vb if va is not None or vb is not None else str(a) == str(b)


_DECIMAL_EXPONENTS = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def _quantity(text: Any) -> str:
    """How a parsed `resource.Quantity` prints with %+v: `100m` is value 100 at scale -3, `1Gi` is
    1073741824 at scale 0."""
    s = str(text).strip()
    if any(s.endswith(sfx) for sfx in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")):
        return f"{{i:{{value:{int(_quantity_value(s) or 0)} scale:0}} d:{{Dec:<nil>}} s:{s} Format:BinarySI}}"
    number, exponent, fmt = s, 0, "DecimalSI"
    if s[-1:] in _DECIMAL_EXPONENTS:
        number, exponent = s[:-1], _DECIMAL_EXPONENTS[s[-1]]
    elif "e" in s.lower():
        number, _, exp_text = s.lower().partition("e")
        exponent, fmt = int(exp_text or 0), "DecimalExponent"
    whole, _, frac = number.lstrip("+").partition(".")
    frac = frac.rstrip("0")
    value = int((whole + frac) or "0")
    return f"{{i:{{value:{value} scale:{exponent - len(frac)}}} d:{{Dec:<nil>}} s:{s} Format:{fmt}}}"
