"""Image references as Docker reads them: `python:3.11-slim` is `docker.io/library/python:3.11-slim`, a first
component with a dot, a colon or `localhost` is a registry host, and `@sha256:...` pins a digest (pure).

Docker treats a registry on a loopback address as insecure (plain http); so does this, unless told otherwise.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ..errors import KnativeError

__all__ = ["DEFAULT_BASE", "DEFAULT_PLATFORM", "DOCKER_HUB", "Reference", "api_host", "default_insecure",
           "parse_reference"]

DEFAULT_BASE = "python:3.11-slim"
"""The base image of function images: Debian with CPython 3.11 (docker.io/library/python:3.11-slim)."""
DEFAULT_PLATFORM = "linux/amd64"
"""The platform taken from a multi-platform base image."""
DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
_HUB_API = "registry-1.docker.io"
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")


@dataclass(frozen=True)
class Reference:
    """`registry/repository:tag` or `registry/repository@digest` (registry as written, `docker.io` for Hub)."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What goes after `/manifests/`: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.registry, self.repository, None, digest)

    def __str__(self) -> str:
        if self.digest:
            return f"{self.registry}/{self.repository}@{self.digest}"
        return f"{self.registry}/{self.repository}:{self.tag or 'latest'}"


def normalize_registry(host: str) -> str:
    """`docker.io` for every name of Docker Hub, the host as written (lower case) otherwise."""
    host = host.strip().lower()
    return DOCKER_HUB if host in _HUB_ALIASES else host


def api_host(registry: str) -> str:
    """Where a registry's HTTP API answers (Docker Hub's is not at docker.io)."""
    return _HUB_API if normalize_registry(registry) == DOCKER_HUB else registry


def default_insecure(registry: str) -> bool:
    """Plain http for `localhost` and loopback addresses, as Docker does; https everywhere else."""
    host = registry.rsplit("@", 1)[-1]
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_registry(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost" or component.startswith("[")


def parse_reference(text: str) -> Reference:
    """A `Reference` for an image name as `docker pull` takes it; `KnativeError` (reason Invalid) otherwise."""
    original = text
    text = text.strip()
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise _invalid(original, f"{digest!r} is not a digest (sha256:<64 hex>)")
    first, _, rest = text.partition("/")
    if rest and _is_registry(first):
        registry, path = normalize_registry(first), rest
    else:
        registry, path = DOCKER_HUB, text
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
        if not _TAG.match(tag):
            raise _invalid(original, f"{tag!r} is not a tag")
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not path or not _REPOSITORY.match(path):
        raise _invalid(original, f"{path!r} is not a repository name (lower case letters, digits, . _ - and /)")
    if tag is None and digest is None:
        tag = "latest"
    return Reference(registry, path, tag, digest)


def _invalid(text: str, why: str) -> KnativeError:
    return KnativeError(f"{text!r} is not an image reference: {why}", reason="Invalid",
                        hint="write it as docker does, e.g. python:3.11-slim or ghcr.io/me/image:tag")
