"""What an image is made of, as data (pure): manifests, indexes, configs and the media types that name them.

An image is a manifest pointing at a config blob (the environment, entry point and the `diff_id`s, i.e. the
sha256 of each layer uncompressed) and at layer blobs (gzipped tars, named by the sha256 of the gzip). A
multi-platform image is an index (Docker: a manifest list) of such manifests. Two families exist, OCI's and
Docker's schema 2; an image made on a base keeps the base's family so every registry and runtime that took the
base takes the result. Everything here is deterministic: the same inputs give the same bytes and digests.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import KnativeError

__all__ = [
    "CREATED",
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "INDEXES",
    "MANIFESTS",
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_MANIFEST",
    "Blob",
    "Platform",
    "canonical_json",
    "config_env",
    "derived_config",
    "image_manifest",
    "parse_platform",
    "select_platform",
    "sha256_digest",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v1+prettyjws")
MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEXES = (OCI_INDEX, DOCKER_LIST)
CREATED = "1970-01-01T00:00:00Z"
"""The `created` time of what this package adds: fixed, so that the same input gives the same digest."""
_FAMILY = {OCI_MANIFEST: (OCI_CONFIG, OCI_LAYER), DOCKER_MANIFEST: (DOCKER_CONFIG, DOCKER_LAYER)}


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Compact JSON in the given key order: the bytes a manifest or config is pushed (and digested) as."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Blob:
    """A blob to push: its bytes' digest and size, and (for a layer) the digest of the uncompressed tar."""

    digest: str
    size: int
    diff_id: str | None = None
    media_type: str | None = None

    def descriptor(self, media_type: str | None = None) -> dict[str, Any]:
        return {"mediaType": media_type or self.media_type or "", "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return f"{self.os}/{self.architecture}" + (f"/{self.variant}" if self.variant else "")


def parse_platform(text: str) -> Platform:
    """`linux/amd64`, `linux/arm64/v8` → a Platform; KnativeError (Invalid) otherwise."""
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise KnativeError(f"{text!r} is not a platform", reason="Invalid",
                           hint="write it as os/architecture[/variant], e.g. linux/amd64 or linux/arm64")
    return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def _entry_platform(entry: Mapping[str, Any]) -> Platform | None:
    p = entry.get("platform")
    if not isinstance(p, Mapping) or not p.get("os") or not p.get("architecture"):
        return None
    return Platform(str(p["os"]), str(p["architecture"]), str(p["variant"]) if p.get("variant") else None)


def select_platform(index: Mapping[str, Any], platform: Platform, *, image: str = "the base image") -> dict[str, Any]:
    """The index entry (a manifest descriptor) for `platform`. A platform without a variant takes the entry
    without one, else the first matching one (`linux/arm64` takes `linux/arm64/v8`); attestation entries
    (`unknown/unknown`) are never taken. KnativeError (NotFound) lists what the index has."""
    candidates = []
    offered = []
    for entry in index.get("manifests") or []:
        p = _entry_platform(entry)
        if p is None or p.os == "unknown" or entry.get("mediaType") not in (*MANIFESTS, None):
            continue
        offered.append(str(p))
        if (p.os, p.architecture) == (platform.os, platform.architecture) and (
                platform.variant is None or p.variant == platform.variant):
            candidates.append((p.variant is not None, entry))
    if not candidates:
        listed = ", ".join(dict.fromkeys(offered)) or "none"
        raise KnativeError(f"{image} has no {platform} image (it has: {listed})", reason="NotFound",
                           hint="pass platform= with one of those, or choose another base image")
    candidates.sort(key=lambda c: c[0])  # stable: an exact (variant-less) match first
    return dict(candidates[0][1])


def config_env(config: Mapping[str, Any]) -> dict[str, str]:
    """The image config's `Env` as a dict (`K=V` entries)."""
    env: dict[str, str] = {}
    for item in ((config.get("config") or {}).get("Env") or []):
        key, _, value = str(item).partition("=")
        env[key] = value
    return env


def derived_config(base: Mapping[str, Any], layers: Sequence[Blob], *, env: Mapping[str, str],
                   entrypoint: Sequence[str], history: Sequence[str], user: str | None = None,
                   exposed_port: int | None = None) -> dict[str, Any]:
    """The base's config with `layers` on top: their diff_ids appended to `rootfs`, one history entry each
    (`history[i]` says what made layer i), `env` set over the base's (existing variables keep their place),
    the entry point replaced and `Cmd` cleared, `created` fixed."""
    if len(history) != len(layers):
        raise ValueError("one history line per layer")
    config = copy.deepcopy(dict(base))
    config["created"] = CREATED
    inner = dict(config.get("config") or {})
    merged = config_env(config)
    merged.update(env)
    inner["Env"] = [f"{k}={v}" for k, v in merged.items()]
    inner["Entrypoint"] = list(entrypoint)
    inner["Cmd"] = None
    if user is not None:
        inner["User"] = user
    if exposed_port is not None:
        inner["ExposedPorts"] = {**(inner.get("ExposedPorts") or {}), f"{exposed_port}/tcp": {}}
    config["config"] = inner
    rootfs = dict(config.get("rootfs") or {"type": "layers"})
    rootfs["type"] = "layers"
    diff_ids = list(rootfs.get("diff_ids") or [])
    for layer in layers:
        if not layer.diff_id:
            raise ValueError("a layer without a diff_id")
        diff_ids.append(layer.diff_id)
    rootfs["diff_ids"] = diff_ids
    config["rootfs"] = rootfs
    config["history"] = [*list(config.get("history") or []),
                         *({"created": CREATED, "created_by": line, "comment": "jupyter-knative"} for line in history)]
    return config


def image_manifest(family: str, config: Blob, base_layers: Sequence[Mapping[str, Any]], layers: Sequence[Blob],
                   *, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A manifest of `family` (OCI_MANIFEST or DOCKER_MANIFEST): the base's layer descriptors as they were,
    then `layers` with the family's layer media type. Annotations go on OCI manifests only."""
    if family not in _FAMILY:
        raise ValueError(f"not a manifest media type: {family}")
    config_type, layer_type = _FAMILY[family]
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": family,
        "config": config.descriptor(config_type),
        "layers": [dict(d) for d in base_layers] + [layer.descriptor(layer_type) for layer in layers],
    }
    if annotations and family == OCI_MANIFEST:
        manifest["annotations"] = dict(annotations)
    return manifest
