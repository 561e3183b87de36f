"""The kubelet's volume folders: where a pod's ConfigMap, Secret and emptyDir volumes are on the plane's disk.

    <root>/sha256/<digest>/     a ConfigMap's or Secret's files, one folder per content, shared by every pod
                                that mounts the same content (a Revision's pods, so they share one zygote)
    <root>/pods/<uid>/<name>/   an emptyDir, the pod's own, fresh when the pod is

A content folder is written beside its place and renamed into it (never seen half written), and removed when
the last pod using it goes; a pod's emptyDirs go with the pod. `reset` empties the root (at the kubelet's
start: no replica of an earlier run is alive, and the pods that are still wanted set their volumes up again).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Hashable
from pathlib import Path

from .pods import Volume

__all__ = ["VolumeHost"]


class VolumeHost:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._users: dict[Path, set[Hashable]] = {}  # content folder -> the pods using it
        self._pods: dict[Hashable, tuple[str, set[Path]]] = {}  # pod -> (uid, content folders)

    def reset(self) -> None:
        for part in ("sha256", "pods"):
            shutil.rmtree(self.root / part, ignore_errors=True)
        self._users.clear()
        self._pods.clear()

    def setup(self, pod: Hashable, uid: str, volumes: list[Volume]) -> dict[str, str]:
        """Materialise `volumes` for `pod` (again after a container restart: what it no longer uses is
        released); {volume name: folder}. Raises `OSError`."""
        hosts: dict[str, str] = {}
        used: set[Path] = set()
        for volume in volumes:
            if volume.shared:
                folder = self._content(volume)
                used.add(folder)
            else:
                folder = self.root / "pods" / uid / volume.name
                folder.mkdir(parents=True, exist_ok=True)
            hosts[volume.name] = str(folder)
        previous_uid, previous = self._pods.get(pod, (uid, set()))
        self._pods[pod] = (uid, used)
        for folder in used:
            self._users.setdefault(folder, set()).add(pod)
        for folder in previous - used:
            self._drop(folder, pod)
        if previous_uid != uid:
            shutil.rmtree(self.root / "pods" / previous_uid, ignore_errors=True)
        return hosts

    def release(self, pod: Hashable) -> None:
        """The pod is gone: remove its emptyDirs, and the content folders nobody else uses."""
        uid, used = self._pods.pop(pod, ("", set()))
        for folder in used:
            self._drop(folder, pod)
        if uid:
            shutil.rmtree(self.root / "pods" / uid, ignore_errors=True)

    def folders(self) -> list[Path]:
        """The content folders in use (for tests and diagnostics)."""
        return sorted(self._users)

    def _drop(self, folder: Path, pod: Hashable) -> None:
        users = self._users.get(folder)
        if users is None:
            return
        users.discard(pod)
        if not users:
            del self._users[folder]
            shutil.rmtree(folder, ignore_errors=True)

    def _content(self, volume: Volume) -> Path:
        final = self.root / "sha256" / volume.digest()
        if final.is_dir():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)  # Secrets live here
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
        try:
            for relative, data in volume.files.items():
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            os.chmod(staging, 0o755)
            try:
                os.rename(staging, final)
            except OSError:
                if not final.is_dir():
                    raise
        finally:
            if staging.exists():
                with contextlib.suppress(OSError):
                    shutil.rmtree(staging)
        return final
