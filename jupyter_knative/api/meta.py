"""ObjectMeta validation with the apiserver's messages (k8s.io/apimachinery validation)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .status import FieldError, forbidden, invalid, required

_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = _LABEL + r"(\." + _LABEL + ")*"
_DNS1035 = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(" + _QUALIFIED + ")?"

_LABEL_RE = re.compile(f"^{_LABEL}$")
_SUBDOMAIN_RE = re.compile(f"^{_SUBDOMAIN}$")
_DNS1035_RE = re.compile(f"^{_DNS1035}$")
_QUALIFIED_RE = re.compile(f"^{_QUALIFIED}$")
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE}$")

DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                     "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
                     f"regex used for validation is '{_LABEL}')")
DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                         "'-' or '.', and must start and end with an alphanumeric character (e.g. "
                         f"'example.com', regex used for validation is '{_SUBDOMAIN}')")
DNS1035_LABEL_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
                     "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
                     f"'abc-123', regex used for validation is '{_DNS1035}')")
_QUALIFIED_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                  "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
                  f"for validation is '{_QUALIFIED}')")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
                    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
                    f"'my_value',  or '12345', regex used for validation is '{_LABEL_VALUE}')")

ANNOTATIONS_MAX_BYTES = 256 * 1024


def _too_long(limit: int) -> str:
    return f"must be no more than {limit} characters"


def dns1123_label(value: str) -> list[str]:
    errs = [_too_long(63)] if len(value) > 63 else []
    return errs + ([] if _LABEL_RE.match(value) else [DNS1123_LABEL_MSG])


def dns1123_subdomain(value: str) -> list[str]:
    errs = [_too_long(253)] if len(value) > 253 else []
    return errs + ([] if _SUBDOMAIN_RE.match(value) else [DNS1123_SUBDOMAIN_MSG])


def dns1035_label(value: str) -> list[str]:
    errs = [_too_long(63)] if len(value) > 63 else []
    return errs + ([] if _DNS1035_RE.match(value) else [DNS1035_LABEL_MSG])


def path_segment(value: str) -> list[str]:
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in value]


def qualified_name(value: str) -> list[str]:
    """Label and annotation keys: `[prefix/]name`."""
    prefix, slash, name = value.rpartition("/")
    errs: list[str] = []
    if slash:
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + e for e in dns1123_subdomain(prefix)]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + _too_long(63))
    if name and not _QUALIFIED_RE.match(name):
        errs.append(_QUALIFIED_MSG)
    return errs


def label_value(value: str) -> list[str]:
    errs = [_too_long(63)] if len(value) > 63 else []
    return errs + ([] if _LABEL_VALUE_RE.match(value) else [_LABEL_VALUE_MSG])


NAME_RULES = {"label": dns1123_label, "subdomain": dns1123_subdomain, "dns1035": dns1035_label,
              "segment": path_segment}


def validate_name(name: str, rule: str, path: str = "metadata.name") -> list[FieldError]:
    check = NAME_RULES[rule]
    errs = path_segment(name) if rule != "segment" else []
    return [invalid(path, name, msg) for msg in errs + check(name)]


def validate_labels(labels: Mapping[str, Any], path: str = "metadata.labels") -> list[FieldError]:
    errs: list[FieldError] = []
    for key, value in labels.items():
        errs += [invalid(path, key, msg) for msg in qualified_name(key)]
        if not isinstance(value, str):
            continue
        errs += [invalid(path, value, msg) for msg in label_value(value)]
    return errs


def validate_annotations(annotations: Mapping[str, Any], path: str = "metadata.annotations") -> list[FieldError]:
    errs: list[FieldError] = []
    size = 0
    for key, value in annotations.items():
        errs += [invalid(path, key, msg) for msg in qualified_name(key.lower())]
        size += len(key) + len(str(value))
    if size > ANNOTATIONS_MAX_BYTES:
        errs.append(FieldError("FieldValueTooLong", path,
                               detail=f"may not be more than {ANNOTATIONS_MAX_BYTES} bytes"))
    return errs


def validate_owner_references(refs: list[dict[str, Any]],
                              path: str = "metadata.ownerReferences") -> list[FieldError]:
    errs: list[FieldError] = []
    controllers = [r for r in refs if r.get("controller")]
    for i, ref in enumerate(refs):
        for key in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(key):
                errs.append(required(f"{path}[{i}].{key}", f"{key} must not be empty"
                                     if key != "uid" else "uid must not be empty"))
    if len(controllers) > 1:
        names = ", ".join(f'{r.get("kind")}/{r.get("name")}' for r in controllers)
        errs.append(invalid(path, refs, f"Only one reference can have Controller set to true. "
                                        f"Found \"true\" in references for {names}"))
    return errs


def validate_finalizers(finalizers: list[Any], path: str = "metadata.finalizers", *,
                        builtin: bool = True) -> list[FieldError]:
    """Built-in kinds need standard or domain-qualified finalizers; custom resources (Knative's own
    reconcilers use names like `pingsources.sources.knative.dev`) only need qualified names."""
    errs: list[FieldError] = []
    for i, f in enumerate(finalizers):
        if not isinstance(f, str):
            continue
        msgs = qualified_name(f)
        if builtin and "/" not in f and f not in _STANDARD_FINALIZERS:
            msgs = ["name is neither a standard finalizer name nor is it fully qualified", *msgs]
        errs += [invalid(f"{path}[{i}]", f, m) for m in msgs]
    return errs


_STANDARD_FINALIZERS = {"kubernetes", "orphan", "foregroundDeletion"}


def validate_object_meta(meta: Mapping[str, Any], *, namespaced: bool, name_rule: str,
                         creating: bool, builtin: bool = True) -> list[FieldError]:
    """Generic metadata checks the apiserver runs on every write (name, labels, annotations, refs)."""
    errs: list[FieldError] = []
    name = meta.get("name") or ""
    if creating and not name and not meta.get("generateName"):
        errs.append(required("metadata.name", "name or generateName is required"))
    if name:
        errs += validate_name(name, name_rule)
    if not namespaced and meta.get("namespace"):
        errs.append(forbidden("metadata.namespace", "not allowed on this type"))
    errs += validate_labels(meta.get("labels") or {})
    errs += validate_annotations(meta.get("annotations") or {})
    errs += validate_owner_references(meta.get("ownerReferences") or [])
    errs += validate_finalizers(meta.get("finalizers") or [], builtin=builtin)
    return errs
