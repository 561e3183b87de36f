"""Manifests in and out (pure): parsing YAML document sets, checking each document, kubectl's
last-applied annotation, and cleaning live objects into documents that apply again elsewhere."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import KnativeError

__all__ = [
    "LAST_APPLIED",
    "Document",
    "export_documents",
    "exportable",
    "last_applied",
    "parse_manifest",
    "plane_only",
    "with_last_applied",
]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# metadata the server owns: never part of what a user applies
_SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
                    "deletionGracePeriodSeconds", "managedFields", "selfLink", "ownerReferences", "namespace",
                    "finalizers")
# annotations the plane or Knative's webhooks write themselves
_SERVER_ANNOTATIONS = (LAST_APPLIED, "serving.knative.dev/creator", "serving.knative.dev/lastModifier",
                       "eventing.knative.dev/creator", "eventing.knative.dev/lastModifier",
                       "deployment.kubernetes.io/revision")
# kinds no user writes: the plane's or Kubernetes' own bookkeeping
_NOT_EXPORTED = {("", "Event"), ("events.k8s.io", "Event"), ("", "Endpoints"), ("discovery.k8s.io", "EndpointSlice"),
                 ("coordination.k8s.io", "Lease"), ("apps", "ControllerRevision"), ("apps", "ReplicaSet"),
                 ("", "Pod")}
_AUTO_CREATED = {("", "ServiceAccount", "default"), ("", "ConfigMap", "kube-root-ca.crt"),
                 ("", "ConfigMap", "openshift-service-ca.crt")}
# applied first to last, so what others refer to exists first
_ORDER = ("", "apps", "serving.knative.dev", "messaging.knative.dev", "eventing.knative.dev", "flows.knative.dev",
          "sources.knative.dev")


@dataclass(frozen=True)
class Document:
    index: int  # 1-based position in the document set
    obj: dict[str, Any]

    @property
    def label(self) -> str:
        meta = self.obj.get("metadata") or {}
        return f"{self.obj.get('kind', '?')}/{meta.get('name') or meta.get('generateName') or '?'}"


def parse_manifest(manifest: str | dict[str, Any] | list[dict[str, Any]]) -> list[Document]:
    """The documents of YAML text (multi-document, `kind: List` expanded) or of objects; each one checked."""
    if isinstance(manifest, dict):
        raw: list[tuple[int, Any]] = [(1, manifest)]
    elif isinstance(manifest, list):
        raw = list(enumerate(manifest, start=1))
    elif isinstance(manifest, str):
        raw = _load_yaml(manifest)
    else:
        raise KnativeError(f"manifest = {type(manifest).__name__}, must be YAML text, a dict or a list of dicts",
                           reason="BadRequest")
    docs: list[Document] = []
    for index, obj in raw:
        if obj is None:
            continue
        for item in _expand_list(index, obj):
            _check(index, item)
            docs.append(Document(index, item))
    if not docs:
        raise KnativeError("the manifest holds no objects", reason="BadRequest",
                           hint="give YAML with apiVersion, kind and metadata.name")
    return docs


def _load_yaml(text: str) -> list[tuple[int, Any]]:
    import yaml

    out: list[tuple[int, Any]] = []
    try:
        for obj in yaml.safe_load_all(text):
            out.append((len(out) + 1, obj))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        where = f"document {_document_at(text, line)}, line {line}"
        if mark is not None:
            where += f", column {mark.column + 1}"
        raise KnativeError(f"invalid YAML in {where}: {e.problem or e.context}", reason="BadRequest",
                           hint="check the indentation and that each document is separated by ---") from None
    except yaml.YAMLError as e:
        raise KnativeError(f"invalid YAML: {e}", reason="BadRequest") from None
    return out


_SEPARATOR = re.compile(r"^---(\s|$)")


def _document_at(text: str, line: int) -> int:
    """Which document (from 1) holds `line` (from 1): one more than the separators above it, not
    counting a separator before any content."""
    lines = text.splitlines()[: line - 1]
    seps = [i for i, s in enumerate(lines) if _SEPARATOR.match(s)]
    leading = bool(seps) and all(not s.strip() or s.lstrip().startswith("#") for s in lines[: seps[0]])
    return len(seps) + 1 - (1 if leading else 0)


def _expand_list(index: int, obj: Any) -> list[Any]:
    if isinstance(obj, dict) and obj.get("kind") == "List" and isinstance(obj.get("items"), list):
        return list(obj["items"])
    return [obj]


def _check(index: int, obj: Any) -> None:
    where = f"document {index}"
    if not isinstance(obj, dict):
        raise KnativeError(f"{where}: a {type(obj).__name__}, must be a mapping with apiVersion, kind and metadata",
                           reason="BadRequest")
    for key in ("apiVersion", "kind"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            raise KnativeError(f"{where}: {key} = {obj.get(key)!r}, must be a non-empty string", reason="Invalid")
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName")):
        raise KnativeError(f"{where} ({obj['kind']}): metadata.name is missing, must name the object",
                           reason="Invalid")


def last_applied(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest last applied to a live object (kubectl's or ours), or None."""
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def with_last_applied(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` carrying the last-applied annotation as kubectl writes it (itself without the annotation)."""
    bare = copy.deepcopy(doc)
    meta = bare.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    annotations.pop(LAST_APPLIED, None)
    meta["annotations"] = annotations
    encoded = json.dumps(bare, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    out = copy.deepcopy(bare)
    out["metadata"]["annotations"] = {**annotations, LAST_APPLIED: encoded}
    return out


def exportable(group: str, obj: dict[str, Any]) -> bool:
    """Whether a live object is the user's: not owned by another, not the platform's bookkeeping."""
    kind = str(obj.get("kind", ""))
    meta = obj.get("metadata") or {}
    if (group, kind) in _NOT_EXPORTED or group.endswith(".internal.knative.dev"):
        return False
    if meta.get("ownerReferences"):
        return False  # Configurations, Routes, Revisions of a Service; a Deployment's pods; ...
    if (group, kind, meta.get("name")) in _AUTO_CREATED:
        return False
    return not (kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token")


def clean(obj: dict[str, Any]) -> dict[str, Any]:
    """A live object as a document: no status, no server-owned metadata, no namespace (portable)."""
    out = {k: copy.deepcopy(v) for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (out.get("metadata") or {}).items() if k not in _SERVER_METADATA}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in _SERVER_ANNOTATIONS}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    if not meta.get("labels"):
        meta.pop("labels", None)
    out["metadata"] = meta
    return out


def export_documents(objects: Iterable[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """(group, live object) pairs → the cleaned documents of the user's objects, in an order that applies."""
    kept = [(group, obj) for group, obj in objects if exportable(group, obj)]
    kept.sort(key=lambda pair: (_ORDER.index(pair[0]) if pair[0] in _ORDER else len(_ORDER),
                                pair[1].get("kind", ""), (pair[1].get("metadata") or {}).get("name", "")))
    return [clean(obj) for _, obj in kept]


PLANE_REGISTRY = "dev.local/"
"""Images the embedded plane's builder made: they exist on that plane only."""


def plane_only(obj: Any) -> list[str]:
    """The references in a document to images only the embedded plane has: container and step images under
    `dev.local/`, and builds that push there (kaniko's `--destination`)."""
    found: list[str] = []
    if isinstance(obj, dict):
        image = obj.get("image")
        if isinstance(image, str) and image.startswith(PLANE_REGISTRY):
            found.append(image)
        for key, value in obj.items():
            if key != "image":
                found += plane_only(value)
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, str) and item.startswith("--destination=" + PLANE_REGISTRY):
                found.append(item.split("=", 1)[1])
            else:
                found += plane_only(item)
    return found
