"""A run's host directories standing in for the paths its containers would see.

A step written for a container reads and writes `/workspace`, `/builder/home`, `/tekton/results`... On the
embedded plane those are directories under the run's root; `mount` declares one, `host_path` maps a container
path to the host, and `rewrite` replaces container paths inside free text (args, scripts, env values,
working directories) so that a command run on the host touches the run's directories instead.

Only mounted paths are rewritten in text, and only where a path starts (`--context=/workspace/src`,
`cd /workspace`, `file:///workspace`), never inside another path (`/foo/workspace`). A container path that
no mount covers maps to the run's private root filesystem, `<root>/rootfs/...`, so a step writing to, say,
`/dev/termination-log` never touches the host's file of that name.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

__all__ = ["Workspace"]

ROOTFS = "rootfs"


def _normalize(container_path: str) -> str:
    if not container_path.startswith("/"):
        raise ValueError(f"container path {container_path!r} must be absolute")
    return posixpath.normpath(container_path).replace("//", "/")


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._mounts: dict[str, Path] = {}
        self._pattern: re.Pattern[str] | None = None

    def __repr__(self) -> str:
        return f"<Workspace {self.root} {sorted(self._mounts)}>"

    @property
    def mounts(self) -> dict[str, Path]:
        """Container path -> host directory, longest container path first."""
        return dict(sorted(self._mounts.items(), key=lambda item: -len(item[0])))

    def mount(self, container_path: str, host: Path) -> None:
        """Make `container_path` (and everything below it) stand for the host directory `host`."""
        path = _normalize(container_path)
        if path == "/":
            raise ValueError("cannot mount over the container's root")
        self._mounts[path] = Path(host)
        self._pattern = None

    def host_path(self, container_path: str) -> Path:
        """The host path of a container path: under the deepest mount covering it, else under the run's
        private root filesystem."""
        path = _normalize(container_path)
        for mounted, host in self.mounts.items():
            if path == mounted:
                return host
            if path.startswith(mounted + "/"):
                return host / path[len(mounted) + 1:]
        return self.root / ROOTFS / path.lstrip("/")

    def rewrite(self, text: str) -> str:
        """`text` with every mounted container path that starts a path replaced by its host path."""
        if not self._mounts:
            return text
        if self._pattern is None:
            alternatives = "|".join(re.escape(m) for m in self.mounts)
            # A path starts after a non-path character, or right after a URL scheme's `://`; it ends at a
            # `/` or a character that cannot continue a path segment.
            self._pattern = re.compile(rf"(?:(?<=://)|(?<![\w./\-~]))({alternatives})(?![\w.\-~])")
        mounts = self._mounts
        return self._pattern.sub(lambda m: str(mounts[m.group(1)]), text)
