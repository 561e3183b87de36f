"""The two layers a function image adds to its base, as reproducible gzipped tars, and where they are cached.

- The runtime layer: the package's root module and `jupyter_knative/runtime` (which imports nothing else of the
  project) under `/opt/jupyter-knative`, and the runtime's own third-party needs (`RUNTIME_REQUIREMENTS`)
  installed for the base image's platform and Python under `/opt/jupyter-knative/site-packages`.
- The function layer: `/function/main.py`, `/function/requirements.txt` (when there are requirements) and the
  requirements installed into `/function/packages`, so the container starts without pip or network.

Packages are installed with the kernel's pip for another platform (`--platform manylinux... --python-version X.Y
--implementation cp --only-binary=:all:`), which is why no Docker is needed: only wheels are taken, never a
build. The tars are deterministic (sorted entries, mtime 0, owner 0:0, modes 0644/0755, gzip without a name or
time, no bytecode), so the same input gives the same digest and a push of an unchanged function uploads
nothing. Built layers are kept in a cache folder keyed by what went into them; pip's own cache makes a rebuild
after clearing it quick.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import KnativeError
from .image import Blob, canonical_json

__all__ = [
    "FUNCTION_DIR",
    "FUNCTION_PACKAGES",
    "RUNTIME_DIR",
    "RUNTIME_REQUIREMENTS",
    "RUNTIME_SITE",
    "Entry",
    "Layer",
    "LayerCache",
    "default_cache_dir",
    "function_entries",
    "pip_install",
    "pip_platforms",
    "runtime_entries",
    "tar_layer",
    "tree_entries",
]

RUNTIME_DIR = "/opt/jupyter-knative"
RUNTIME_SITE = f"{RUNTIME_DIR}/site-packages"
FUNCTION_DIR = "/function"
FUNCTION_PACKAGES = f"{FUNCTION_DIR}/packages"
RUNTIME_REQUIREMENTS = ("httptools>=0.6", "uvloop>=0.19", "cloudevents>=1.11,<2")
"""What the runtime imports besides the standard library (cloudevents 2 dropped the `cloudevents.http` API)."""
LAYER_FORMAT = 1
"""Part of every cache key: raised when the layout of the layers changes."""
_ARCH = {"amd64": "x86_64", "arm64": "aarch64", "ppc64le": "ppc64le", "s390x": "s390x", "386": "i686"}
_GZIP_LEVEL = 6


@dataclass(frozen=True)
class Entry:
    """A file (or a symlink, when `link` is set) in a layer; directories are implied by the paths."""

    data: bytes = b""
    mode: int = 0o644
    link: str | None = None


@dataclass(frozen=True)
class Layer:
    """A built layer: the gzipped tar on disk and its blob (digest, size, diff_id)."""

    path: Path
    blob: Blob


class _Hashing(io.RawIOBase):
    """Passes writes on to `sink`, hashing them (the diff_id is the sha256 of the uncompressed tar)."""

    def __init__(self, sink: IO[bytes] | gzip.GzipFile) -> None:
        self.sink = sink
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.sha.update(data)
        self.size += len(data)
        self.sink.write(data)
        return len(data)


def _normalize(path: str) -> str:
    parts = [p for p in path.strip("/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ValueError(f"not a path inside a layer: {path!r}")
    return "/".join(parts)


def tar_layer(entries: Mapping[str, Entry], out: IO[bytes]) -> Blob:
    """Write `entries` (absolute paths in the image → content) to `out` as a deterministic tar+gzip, with every
    parent directory (0755) before what it holds; the blob's digest, size and diff_id."""
    files = {_normalize(p): e for p, e in entries.items()}
    dirs = {"/".join(path.split("/")[:i]) for path in files for i in range(1, path.count("/") + 1)}
    clash = dirs & set(files)
    if clash:
        raise ValueError(f"both a file and a directory: {sorted(clash)[0]}")
    names = sorted([*dirs, *files], key=lambda p: p.split("/"))
    compressed = _Hashing(out)
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=_GZIP_LEVEL) as gz:
        hashing = _Hashing(gz)
        with tarfile.open(fileobj=hashing, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for name in names:
                info = tarfile.TarInfo(name)
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                entry = files.get(name)
                if entry is None:
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                elif entry.link is not None:
                    info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, entry.link
                    tar.addfile(info)
                else:
                    info.type, info.mode, info.size = tarfile.REGTYPE, entry.mode, len(entry.data)
                    tar.addfile(info, io.BytesIO(entry.data))
    out.flush()
    return Blob("sha256:" + compressed.sha.hexdigest(), compressed.size, "sha256:" + hashing.sha.hexdigest())


def tree_entries(root: Path, prefix: str, *, skip_top: Sequence[str] = ()) -> dict[str, Entry]:
    """Every file and symlink under `root` as entries under `prefix` (bytecode and `__pycache__` left out;
    modes 0755 for executables, else 0644)."""
    entries: dict[str, Entry] = {}
    if not root.is_dir():
        return entries
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        rel = here.relative_to(root)
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not (rel == Path(".") and d in skip_top))
        for d in list(dirnames):
            if (here / d).is_symlink():
                entries[f"{prefix}/{(rel / d).as_posix()}"] = Entry(link=os.readlink(here / d))
                dirnames.remove(d)
        for f in sorted(filenames):
            if f.endswith((".pyc", ".pyo")) or (rel == Path(".") and f in skip_top):
                continue
            path = here / f
            key = f"{prefix}/{(rel / f).as_posix()}"
            if path.is_symlink():
                entries[key] = Entry(link=os.readlink(path))
            else:
                executable = bool(path.stat().st_mode & 0o111)
                entries[key] = Entry(path.read_bytes(), 0o755 if executable else 0o644)
    return entries


def runtime_entries() -> dict[str, Entry]:
    """The runtime's own files (the package root module, its version, `runtime/**.py`) under RUNTIME_DIR."""
    package = Path(__file__).resolve().parents[2]  # jupyter_knative/ (client/oci/layers.py is below it)
    entries = {f"{RUNTIME_DIR}/jupyter_knative/{name}": Entry((package / name).read_bytes())
               for name in ("__init__.py", "_version.py")}
    for path in sorted((package / "runtime").rglob("*.py")):
        if "__pycache__" not in path.parts:
            entries[f"{RUNTIME_DIR}/jupyter_knative/{path.relative_to(package).as_posix()}"] = Entry(path.read_bytes())
    return entries


def function_entries(source: str, requirements: Sequence[str], packages: Path | None) -> dict[str, Entry]:
    """`/function/main.py`, `/function/requirements.txt` (when any) and what `packages` holds, under
    FUNCTION_PACKAGES (an empty folder without requirements, so the image's layout never varies)."""
    entries = {f"{FUNCTION_DIR}/main.py": Entry(source.encode("utf-8"))}
    if requirements:
        entries[f"{FUNCTION_DIR}/requirements.txt"] = Entry("".join(f"{r}\n" for r in requirements).encode())
    installed = tree_entries(packages, FUNCTION_PACKAGES, skip_top=("bin",)) if packages else {}
    entries.update(installed or {f"{FUNCTION_PACKAGES}/.keep": Entry()})
    return entries


def pip_platforms(architecture: str, variant: str | None = None) -> list[str]:
    """pip's `--platform` values for a Linux architecture as image configs name it: every manylinux tag from
    glibc 2.28 (Debian 10 and later, the python images' bases) down to manylinux2014."""
    arch = _ARCH.get(architecture)
    if architecture == "arm" and variant == "v7":
        arch = "armv7l"
    if arch is None:
        raise KnativeError(f"installing packages for the {architecture} architecture is not supported",
                           reason="NotSupported", hint="use a linux/amd64 or linux/arm64 base image")
    return [f"manylinux_2_{minor}_{arch}" for minor in range(28, 16, -1)] + [f"manylinux2014_{arch}"]


def pip_install(requirements: Sequence[str], target: Path, *, platforms: Sequence[str], python_version: str,
                what: str) -> None:
    """`pip install --target target` of `requirements` (lines of a requirements file) for another platform:
    wheels only, no bytecode. KnativeError (reason BuildFailed) with pip's last lines when it fails."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jupyter-knative-req-") as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text("".join(f"{r}\n" for r in requirements), encoding="utf-8")
        cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet",
               "--no-compile", "--no-warn-conflicts", "--no-warn-script-location", "--target", str(target),
               "--python-version", python_version, "--implementation", "cp", "--only-binary=:all:"]
        for platform in platforms:
            cmd += ["--platform", platform]
        cmd += ["-r", str(req)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
        except OSError as e:
            raise KnativeError(f"could not run pip to install {what}: {e}", reason="BuildFailed",
                               hint="install pip in the kernel's environment") from None
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines()
                 if ln.strip() and "is ignored: it is neither a file nor a directory" not in ln]
        detail = "\n".join(lines[-8:])
        hint = (f"only wheels can be installed for another machine: pick versions that publish wheels for CPython "
                f"{python_version} on {platforms[-1].split('_', 1)[-1]} (manylinux) or pure-Python ones")
        if "No module named pip" in detail:
            hint = "install pip in the kernel's environment"
        raise KnativeError(f"pip could not install {what} ({', '.join(requirements)}) for CPython {python_version} "
                           f"on {platforms[-1]}:\n{detail}", reason="BuildFailed", hint=hint)


def python_version(env: Mapping[str, str]) -> str | None:
    """`X.Y` from an image's `PYTHON_VERSION` (the official python images set it), None without one."""
    m = re.match(r"^\s*(\d+)\.(\d+)", env.get("PYTHON_VERSION", ""))
    return f"{m.group(1)}.{m.group(2)}" if m else None


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "jupyter-knative" / "oci-layers"


class LayerCache:
    """Built layers on disk, keyed by a digest of what went into them (`key`): built once, then reused."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    @staticmethod
    def key(inputs: Mapping[str, Any]) -> str:
        canonical = json.dumps({"format": LAYER_FORMAT, **inputs}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def get(self, key: str) -> Layer | None:
        meta, data = self.root / f"{key}.json", self.root / f"{key}.tar.gz"
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            if data.stat().st_size != info["size"]:
                return None
            return Layer(data, Blob(str(info["digest"]), int(info["size"]), str(info["diff_id"])))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def build(self, key: str, entries: Callable[[], Mapping[str, Entry]]) -> tuple[Layer, bool]:
        """(the layer for `key`, whether it came from the cache); `entries` makes its content when it did not."""
        cached = self.get(key)
        if cached is not None:
            return cached, True
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{key[:12]}-", suffix=".tar.gz")
        try:
            with os.fdopen(fd, "wb") as out:
                final = tar_layer(entries(), out)
            data = self.root / f"{key}.tar.gz"
            os.replace(tmp, data)
            _write_atomic(self.root / f"{key}.json",
                          canonical_json({"digest": final.digest, "size": final.size, "diff_id": final.diff_id}))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return Layer(data, final), False


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


@contextlib.contextmanager
def installed(requirements: Sequence[str], *, platforms: Sequence[str], python_version: str,
              what: str) -> Iterator[Path | None]:
    """A temporary folder with `requirements` pip-installed (None when there are none)."""
    if not requirements:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="jupyter-knative-pkgs-") as tmp:
        pip_install(requirements, Path(tmp), platforms=platforms, python_version=python_version, what=what)
        yield Path(tmp)
