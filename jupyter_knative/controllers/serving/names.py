"""Names and URLs of what the serving controllers create (pure; knative/serving's `names` packages)."""

from __future__ import annotations

import hashlib
import re

_LONGEST = 63
_HEAD = _LONGEST - 32  # room left for a parent prefix when an md5 hex is spliced in


def child_name(parent: str, suffix: str) -> str:
    """knative.dev/pkg `kmeta.ChildName`: parent + suffix, hashed to fit 63 characters."""
    if len(parent) <= _LONGEST - len(suffix):
        return parent + suffix
    if _HEAD - len(suffix) <= 0:
        digest = hashlib.md5((parent + suffix).encode(), usedforsecurity=False).hexdigest()
        ret = parent[:_HEAD] + digest
        ret += suffix[: max(0, _LONGEST - len(ret))]
        return re.sub(r"[^a-zA-Z0-9]+$", "", ret)
    digest = hashlib.md5(parent.encode(), usedforsecurity=False).hexdigest()
    return parent[: _HEAD - len(suffix)] + digest + suffix


def revision(configuration: str, generation: int) -> str:
    return child_name(configuration, f"-{generation:05d}")


def deployment(revision_name: str) -> str:
    return child_name(revision_name, "-deployment")


def image_cache(revision_name: str, container: str) -> str:
    return child_name(revision_name, f"-cache-{container}")


def cluster_local_host(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.svc.cluster.local"


def render_template(template: str, values: dict[str, str]) -> str:
    """The `{{.Name}}`-style Go templates of config-network (domain-template, tag-template)."""
    def field(m: re.Match[str]) -> str:
        return values.get(m.group(1), "")
    return re.sub(r"\{\{\s*\.(\w+)\s*\}\}", field, template)
