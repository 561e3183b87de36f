"""Assemble a function image on a base image and push it, as `ko` does for Go: no Docker, no build in the cluster.

The base's manifest and config are read (for an index, the manifest of the asked platform); its layers are
never unpacked: they are mounted (same registry), copied blob by blob (another registry) or found already in
the target. The runtime and function layers (`layers`) go on top, the config gets the runtime's environment
and entry point, and the manifest is pushed under a tag naming the source. What is returned is the reference
by digest, so a Knative Revision pins exactly that image.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_knative._version import __version__

from ..errors import KnativeError
from .auth import Credentials
from .image import (
    INDEXES,
    MANIFESTS,
    Blob,
    Platform,
    canonical_json,
    config_env,
    derived_config,
    image_manifest,
    parse_platform,
    select_platform,
    sha256_digest,
)
from .layers import (
    FUNCTION_DIR,
    FUNCTION_PACKAGES,
    RUNTIME_DIR,
    RUNTIME_REQUIREMENTS,
    RUNTIME_SITE,
    Entry,
    Layer,
    LayerCache,
    function_entries,
    installed,
    pip_platforms,
    python_version,
    runtime_entries,
    tree_entries,
)
from .reference import DEFAULT_BASE, DEFAULT_PLATFORM, Reference, normalize_registry, parse_reference
from .registry import Registry

__all__ = ["DEFAULT_BASE", "DEFAULT_PLATFORM", "ENTRYPOINT", "RUNTIME_REPOSITORY", "PushResult", "oci_shipping",
           "push_function_image", "push_runtime_image"]

RUNTIME_REPOSITORY = "jupyter-knative/function-runtime"
ENTRYPOINT = ("python", "-m", "jupyter_knative.runtime.serve")
PORT = 8080
USER = "65532:65532"
"""Any user will do (Knative and restricted pod security may pick one); the files are world-readable."""
MIN_PYTHON = (3, 11)
Progress = Callable[[str], None]


@dataclass
class PushResult:
    """What a push did: the image by digest, and the blobs pushed, mounted from the base and already there."""

    reference: str
    digest: str
    tag: str
    pushed: list[str] = field(default_factory=list)
    mounted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _Base:
    ref: Reference
    registry: Registry
    family: str
    manifest: dict[str, Any]
    config: dict[str, Any]
    platform: Platform
    python: str


def _say(progress: Progress | None, line: str) -> None:
    if progress is not None:
        progress(line)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _target(registry: str, repository: str, tag: str) -> Reference:
    registry = registry.strip().rstrip("/").removeprefix("https://")
    if registry.startswith("http://"):
        raise KnativeError(f"registry={registry!r}: name the registry without http://", reason="Invalid",
                           hint="pass insecure=True for plain http (the default for localhost and loopback)")
    if not registry:
        raise KnativeError("no registry given", reason="Invalid", hint="pass registry=, e.g. ghcr.io/me")
    return parse_reference(f"{registry}/{repository.strip('/')}:{tag}")


def _credentials(username: str | None, password: str | None) -> Credentials | None:
    if username is None and password is None:
        return None
    if not username or password is None:
        raise KnativeError("username= and password= go together", reason="Invalid",
                           hint="pass both (a token as the password where the registry issues tokens), or neither")
    return Credentials(username=username, password=password, source="username= and password=")


def _resolve_base(registry: Registry, ref: Reference, platform: Platform, progress: Progress | None) -> _Base:
    what = f"the base image {ref}"
    try:
        body, media_type, digest = registry.get_manifest(ref.repository, ref.reference, what=what)
        if media_type in INDEXES:
            entry = select_platform(json.loads(body), platform, image=what)
            body, media_type, digest = registry.get_manifest(ref.repository, str(entry["digest"]),
                                                             what=f"{what} ({platform})")
            if media_type not in MANIFESTS:
                raise KnativeError(f"{what} lists a {media_type} for {platform}, not an image manifest",
                                   reason="NotSupported", hint="choose another base image")
        manifest = json.loads(body)
        config = json.loads(registry.get_blob(ref.repository, str(manifest["config"]["digest"])))
    except KnativeError as e:
        if e.reason == "NotFound":
            raise e.with_hint("check the base image's name and tag (base_image=); this machine must reach its "
                              "registry") from None
        raise
    except (ValueError, KeyError, TypeError) as e:
        raise KnativeError(f"{what} has an unreadable manifest or config ({e})", reason="NotSupported",
                           hint="choose another base image") from None
    if config.get("os") not in (None, "linux"):
        raise KnativeError(f"{what} is a {config.get('os')} image; functions run on Linux", reason="NotSupported",
                           hint="choose a Linux base image")
    arch = str(config.get("architecture") or platform.architecture)
    actual = Platform("linux", arch, str(config["variant"]) if config.get("variant") else None)
    python = python_version(config_env(config))
    if python is None:
        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        _say(progress, f"{what} does not say its Python version (no PYTHON_VERSION); installing for this kernel's "
                       f"Python {python}")
    if tuple(int(x) for x in python.split(".")) < MIN_PYTHON:
        raise KnativeError(f"{what} has Python {python}; the function runtime needs Python 3.11 or later",
                           reason="NotSupported", hint="choose a base image with Python 3.11 or later")
    size = sum(int(layer.get("size") or 0) for layer in manifest.get("layers") or [])
    _say(progress, f"base image {ref} ({actual}, Python {python}): {len(manifest.get('layers') or [])} layers, "
                   f"{_size(size)}, {digest}")
    return _Base(ref, registry, media_type, manifest, config, actual, python)


def _runtime_layer(base: _Base, cache: LayerCache, progress: Progress | None) -> Layer:
    platforms = pip_platforms(base.platform.architecture, base.platform.variant)
    files = runtime_entries()
    key = cache.key({"layer": "runtime", "python": base.python, "platforms": platforms,
                     "requirements": list(RUNTIME_REQUIREMENTS),
                     "files": {path: [e.mode, hashlib.sha256(e.data).hexdigest()] for path, e in files.items()}})

    def entries() -> dict[str, Entry]:
        with installed(RUNTIME_REQUIREMENTS, platforms=platforms, python_version=base.python,
                       what="the runtime's packages") as site:
            assert site is not None
            return {**files, **tree_entries(site, RUNTIME_SITE, skip_top=("bin",))}

    return _layer("runtime", cache, key, entries, progress)


def _function_layer(base: _Base, cache: LayerCache, source: str, requirements: Sequence[str],
                    progress: Progress | None) -> Layer:
    platforms = pip_platforms(base.platform.architecture, base.platform.variant)
    key = cache.key({"layer": "function", "python": base.python, "platforms": platforms, "source": source,
                     "requirements": list(requirements)})

    def entries() -> dict[str, Entry]:
        with installed(requirements, platforms=platforms, python_version=base.python,
                       what="the function's requirements") as packages:
            return function_entries(source, requirements, packages)

    return _layer("function", cache, key, entries, progress)


def _layer(kind: str, cache: LayerCache, key: str, entries: Callable[[], Mapping[str, Entry]],
           progress: Progress | None) -> Layer:
    started = time.monotonic()
    layer, cached = cache.build(key, entries)
    how = "cached" if cached else f"built in {time.monotonic() - started:.1f} s"
    _say(progress, f"{kind} layer: {_size(layer.blob.size)} ({how}), {layer.blob.digest}")
    return layer


def _copy_base_layers(base: _Base, target: Registry, repository: str, result: PushResult,
                      progress: Progress | None) -> None:
    same = base.registry.name == target.name
    for desc in base.manifest.get("layers") or []:
        digest, size = str(desc["digest"]), int(desc.get("size") or 0)
        if target.blob_exists(repository, digest):
            result.skipped.append(digest)
            _say(progress, f"skipped {digest[:19]} ({_size(size)}, base layer already there)")
            continue
        if same and target.mount_blob(repository, digest, base.ref.repository):
            result.mounted.append(digest)
            _say(progress, f"mounted {digest[:19]} ({_size(size)}) from {base.ref.repository}")
            continue
        with tempfile.TemporaryFile(prefix="jupyter-knative-blob-") as tmp:
            got = base.registry.copy_blob(base.ref.repository, digest, tmp)
            target.upload_blob(repository, digest, tmp, got)
        result.pushed.append(digest)
        _say(progress, f"pushed {digest[:19]} ({_size(got)}, base layer copied from {base.registry.name})")


def _push_blob(target: Registry, repository: str, blob: Blob, data: bytes | Path, what: str, result: PushResult,
               progress: Progress | None) -> None:
    if target.blob_exists(repository, blob.digest):
        result.skipped.append(blob.digest)
        _say(progress, f"skipped {blob.digest[:19]} ({_size(blob.size)}, {what} already there)")
        return
    if isinstance(data, Path):
        with data.open("rb") as f:
            target.upload_blob(repository, blob.digest, f, blob.size)
    else:
        target.upload_blob(repository, blob.digest, data, blob.size)
    result.pushed.append(blob.digest)
    _say(progress, f"pushed {blob.digest[:19]} ({_size(blob.size)}, {what})")


def _assemble_and_push(target_ref: Reference, base_image: str, platform: str, *, insecure: bool | None,
                       credentials: Credentials | None, cache_dir: Path | None, progress: Progress | None,
                       layers: Callable[[_Base, LayerCache], list[tuple[str, Layer]]],
                       env: Callable[[_Base], dict[str, str]]) -> PushResult:
    started = time.monotonic()
    wanted = parse_platform(platform)
    base_ref = parse_reference(base_image)
    cache = LayerCache(cache_dir)
    with Registry(target_ref.registry, insecure=insecure, credentials=credentials) as target:
        if target.note:
            _say(progress, f"note: {target.note}")
        same = normalize_registry(base_ref.registry) == target.name
        base_registry = target if same else Registry(base_ref.registry)
        try:
            base = _resolve_base(base_registry, base_ref, wanted, progress)
            built = layers(base, cache)
            config = derived_config(base.config, [layer.blob for _, layer in built], env=env(base),
                                    entrypoint=ENTRYPOINT, user=USER, exposed_port=PORT,
                                    history=[f"jupyter-knative {__version__}: {what}" for what, _ in built])
            config_bytes = canonical_json(config)
            config_blob = Blob(sha256_digest(config_bytes), len(config_bytes))
            manifest = image_manifest(base.family, config_blob, base.manifest.get("layers") or [],
                                      [layer.blob for _, layer in built],
                                      annotations={"org.opencontainers.image.base.name": str(base_ref)})
            manifest_bytes = canonical_json(manifest)
            result = PushResult(reference="", digest=sha256_digest(manifest_bytes), tag=target_ref.reference)
            _copy_base_layers(base, target, target_ref.repository, result, progress)
            for what, layer in built:
                _push_blob(target, target_ref.repository, layer.blob, layer.path, f"{what} layer", result, progress)
            _push_blob(target, target_ref.repository, config_blob, config_bytes, "config", result, progress)
            digest = target.put_manifest(target_ref.repository, target_ref.reference, manifest_bytes,
                                         base.family)
        finally:
            if base_registry is not target:
                base_registry.close()
    result.digest = digest
    result.reference = str(target_ref.with_digest(digest))
    result.seconds = time.monotonic() - started
    _say(progress, f"pushed {result.reference} (tag {target_ref.reference}): {len(result.pushed)} blobs pushed, "
                   f"{len(result.mounted)} mounted, {len(result.skipped)} already there, {result.seconds:.1f} s")
    return result


def _runtime_env() -> dict[str, str]:
    return {"PYTHONPATH": f"{RUNTIME_DIR}:{RUNTIME_SITE}", "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "PORT": str(PORT), "JUPYTER_KNATIVE_FUNCTION": f"{FUNCTION_DIR}/main.py"}


def push_function_image(name: str, namespace: str, source: str, *, registry: str, handler: str | None = None,
                        requirements: Sequence[str] = (), repository: str | None = None,
                        base_image: str = DEFAULT_BASE, platform: str = DEFAULT_PLATFORM,
                        insecure: bool | None = None, username: str | None = None, password: str | None = None,
                        cache_dir: Path | None = None, progress: Progress | None = None) -> PushResult:
    """Assemble and push the image of one function (see `oci_shipping`); what the push did."""
    from ..builds import source_digest

    requirements = [str(r) for r in requirements]
    tag = source_digest(source, handler, requirements)
    target_ref = _target(registry, repository or f"{namespace}/{name}", tag)

    def layers(base: _Base, cache: LayerCache) -> list[tuple[str, Layer]]:
        return [("runtime", _runtime_layer(base, cache, progress)),
                ("function", _function_layer(base, cache, source, requirements, progress))]

    def env(base: _Base) -> dict[str, str]:
        values = {**_runtime_env(), "JUPYTER_KNATIVE_PACKAGES": FUNCTION_PACKAGES}
        if handler:
            values["JUPYTER_KNATIVE_HANDLER"] = handler
        return values

    return _assemble_and_push(target_ref, base_image, platform, insecure=insecure,
                              credentials=_credentials(username, password), cache_dir=cache_dir,
                              progress=progress, layers=layers, env=env)


def oci_shipping(name: str, namespace: str, source: str, *, registry: str, handler: str | None = None,
                 requirements: Sequence[str] = (), repository: str | None = None, base_image: str = DEFAULT_BASE,
                 platform: str = DEFAULT_PLATFORM, insecure: bool | None = None, username: str | None = None,
                 password: str | None = None, cache_dir: Path | None = None,
                 progress: Progress | None = None) -> tuple[str, dict[str, Any]]:
    """(the function's image by digest, the Knative Service running it): `source` (with its `requirements`
    installed and its `handler`) assembled on `base_image` with the project's runtime and pushed to
    `<registry>/<repository>` (default `<namespace>/<name>`; `registry` may carry a path, `ghcr.io/me`) under a
    tag naming the source.

    Raises `ValueError` for a name, namespace, source or handler the runtime would refuse (as
    `configmap_shipping`), `KnativeError` for everything the registries or pip refuse."""
    from jupyter_knative.runtime.artifacts import check_function

    from ..serving import FunctionSpec
    from ..shipping import function_service

    check_function(source, name=name, namespace=namespace, entrypoint=handler)
    result = push_function_image(name, namespace, source, registry=registry, handler=handler,
                                 requirements=requirements, repository=repository, base_image=base_image,
                                 platform=platform, insecure=insecure, username=username, password=password,
                                 cache_dir=cache_dir, progress=progress)
    return result.reference, function_service(name, namespace, FunctionSpec(image=result.reference))


def push_runtime_image(registry: str, *, base_image: str = DEFAULT_BASE, platform: str = DEFAULT_PLATFORM,
                       repository: str = RUNTIME_REPOSITORY, tag: str = __version__, insecure: bool | None = None,
                       username: str | None = None, password: str | None = None, cache_dir: Path | None = None,
                       progress: Progress | None = None) -> str:
    """Push the runtime image alone (what ConfigMap shipping mounts functions into: `runtime/Dockerfile`'s
    image, built without Docker) to `<registry>/<repository>:<tag>`; its reference by digest."""
    target_ref = _target(registry, repository, tag)

    def layers(base: _Base, cache: LayerCache) -> list[tuple[str, Layer]]:
        return [("runtime", _runtime_layer(base, cache, progress))]

    def env(base: _Base) -> dict[str, str]:
        return {**_runtime_env(), "JUPYTER_KNATIVE_DEPS": "/tmp/jupyter-knative-deps"}

    return _assemble_and_push(target_ref, base_image, platform, insecure=insecure,
                              credentials=_credentials(username, password), cache_dir=cache_dir,
                              progress=progress, layers=layers, env=env).reference
