"""Dependency sets: a function's requirements, installed with pip once and shared by every artifact.

    requested ("requests>=2")  --resolve-->  pinned set ("requests==2.32.3", ...)  --install-->
    <store>/deps/sha256/<hex>/       hex = SHA-256 of the pinned set and the interpreter tag

Resolution asks pip (`install --dry-run --report`) against the plane's own environment, so what the plane
already has is not installed again; the set layers over it (it goes in front of `sys.path`). A resolution
is remembered per requested set (`<store>/deps/resolutions/`), as a lock file would: asking again for the
same requirements reuses it without running pip. Installing goes through the wheel cache
`<store>/wheels` (pip's HTTP cache lives in `<store>/pip-cache`): wheels are copied or built there first,
then installed with `--no-index`, so a set is rebuilt, and a cached wheel is resolved, without the index.

Errors: `DependencyError` (a `ValueError`) when pip fails; the message names the package(s) pip could not
find and says whether an index was reachable. `ValueError` for a requirement that is a pip option.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlparse

__all__ = [
    "DependencyError", "DependencySet", "Installer", "Package", "PipResult", "PipRunner", "canonical_name",
    "dependency_error", "interpreter_tag", "normalize_requirements", "parse_requirements_text", "run_pip",
]

DEPS_DIR = "deps"
WHEELS_DIR = "wheels"
PIP_CACHE_DIR = "pip-cache"
SET_FILE = "deps.json"

_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_NOT_FOUND = (re.compile(r"No matching distribution found for (\S.*?)\s*$", re.M),
              re.compile(r"Could not find a version that satisfies the requirement (\S.*?)(?: \(from .*)?\s*$", re.M))
_NETWORK = ("NewConnectionError", "Failed to establish a new connection", "ConnectTimeoutError", "ProxyError",
            "Temporary failure in name resolution", "Name or service not known", "Network is unreachable",
            "Could not fetch URL", "ReadTimeoutError")
_TRUE = ("1", "true", "yes", "on")


class DependencyError(ValueError):
    """pip could not resolve or install a function's requirements."""


class PipResult(NamedTuple):
    returncode: int
    output: str  # stdout and stderr, interleaved as pip wrote them


PipRunner = Callable[[Sequence[str], Mapping[str, str], Callable[[str], None]], PipResult]
"""Runs `python -m pip <args>` with `env`, giving each output line to the callback."""


@dataclass(frozen=True)
class Package:
    """One pinned distribution of a resolved set; `url` only for a direct reference (a path, a VCS URL)."""

    name: str  # canonical: lower case, runs of -_. as one '-'
    version: str
    url: str | None = None
    location: str | None = field(default=None, compare=False)  # where pip found it; not part of the identity

    @property
    def pin(self) -> str:
        return f"{self.name} @ {self.url}" if self.url else f"{self.name}=={self.version}"


@dataclass(frozen=True)
class DependencySet:
    """What a requested set became: the pins, and where they are installed (None when the plane has them all)."""

    requested: tuple[str, ...]
    packages: tuple[Package, ...] = ()
    key: str | None = None  # the hex digest naming the directory
    path: Path | None = None
    reused: bool = field(default=False, compare=False)  # True when nothing had to be installed

    @property
    def pins(self) -> list[str]:
        return [p.pin for p in self.packages]

    @property
    def relative(self) -> str | None:
        """The directory relative to the store (`deps/sha256/<hex>`), as artifact metadata records it."""
        return f"{DEPS_DIR}/sha256/{self.key}" if self.key else None


# pure helpers


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def interpreter_tag() -> str:
    """What an installed set is only valid for: the interpreter and the platform (`cpython-311-linux-x86_64`)."""
    return f"{sys.implementation.cache_tag}-{sysconfig.get_platform()}"


def normalize_requirements(requirements: Sequence[str]) -> tuple[str, ...]:
    """Stripped, blank lines and comments dropped, duplicates removed, sorted; pip options refused."""
    seen: set[str] = set()
    for i, raw in enumerate(requirements):
        if not isinstance(raw, str):
            raise ValueError(f"requirements[{i}] = {raw!r}, must be a string such as 'requests==2.32.3'")
        text = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not text:
            continue
        if text.startswith("-"):
            raise ValueError(f"requirements[{i}] = {text!r}, must be a requirement such as 'requests==2.32.3'; "
                             f"pip options belong in pip's configuration (pip.conf or PIP_* variables)")
        seen.add(text)
    return tuple(sorted(seen))


def parse_requirements_text(text: str, *, where: str = "requirements.txt",
                            include: Callable[[str], str] | None = None) -> list[str]:
    """The requirements of a requirements file; `-r other.txt` lines are read through `include`."""
    found: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        nested = re.match(r"^(?:-r|--requirement)(?:\s+|=)(\S+)$", line)
        if nested and include is not None:
            found.extend(parse_requirements_text(include(nested.group(1)), where=nested.group(1), include=include))
        elif line.startswith("-"):
            raise ValueError(f"{where} line {number}: {line!r} is a pip option; only requirements are supported "
                             f"here (put index settings in pip.conf or PIP_* variables)")
        else:
            found.append(line)
    return found


def requirement_name(requirement: str) -> str | None:
    """The project a requirement names, or None for a bare path or URL."""
    if requirement.startswith((".", "/", "file:")) or "://" in requirement.split("@", 1)[0]:
        return None
    m = _NAME.match(requirement)
    return canonical_name(m.group(1)) if m else None


def packages_of(report: Mapping[str, Any]) -> tuple[Package, ...]:
    """The pinned set from pip's installation report (`--report`), sorted by name."""
    packages = []
    for item in report.get("install") or []:
        metadata = item.get("metadata") or {}
        info = item.get("download_info") or {}
        location = info.get("url")
        url = location if item.get("is_direct") else None
        packages.append(Package(canonical_name(str(metadata["name"])), str(metadata["version"]).strip(), url,
                                location))
    return tuple(sorted(packages, key=lambda p: p.name))


def _hash(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def set_key(packages: Sequence[Package], interpreter: str) -> str:
    return _hash({"interpreter": interpreter, "packages": [[p.name, p.version, p.url] for p in packages]})


def resolution_key(requested: Sequence[str], interpreter: str) -> str:
    return _hash({"interpreter": interpreter, "requested": list(requested)})


def wheel_identity(filename: str) -> tuple[str, str] | None:
    """(canonical name, version) of a wheel file name, or None."""
    if not filename.endswith(".whl"):
        return None
    parts = filename[:-4].split("-")
    return (canonical_name(parts[0]), parts[1].lower()) if len(parts) >= 5 else None


def missing_requirements(output: str) -> list[str]:
    """The requirements pip reported it could not find, in order, each once."""
    found: list[str] = []
    for pattern in _NOT_FOUND:
        for m in pattern.finditer(output):
            if m.group(1) not in found:
                found.append(m.group(1))
    return found


def dependency_error(result: PipResult, *, requested: Sequence[str], wheels: Path, no_index: bool) -> DependencyError:
    missing = missing_requirements(result.output)
    if missing:
        names = ", ".join(repr(m) for m in missing)
        if no_index or any(marker in result.output for marker in _NETWORK):
            return DependencyError(f"could not install {names}: no index reachable and not in the wheel cache "
                                   f"({wheels})")
        return DependencyError(f"could not install {names}: no matching distribution in the package index or "
                               f"the wheel cache ({wheels})")
    errors = [line for line in result.output.splitlines() if line.startswith("ERROR:")]
    tail = errors or result.output.strip().splitlines()[-5:]
    return DependencyError(f"pip failed (exit {result.returncode}) installing "
                           f"{', '.join(repr(r) for r in requested)}: " + " ".join(t.strip() for t in tail))


# I/O


def run_pip(args: Sequence[str], env: Mapping[str, str], log: Callable[[str], None]) -> PipResult:
    """`sys.executable -m pip ...`: the plane's own interpreter, so sets match what replicas run."""
    process = subprocess.Popen([sys.executable, "-m", "pip", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=dict(env), text=True, encoding="utf-8",
                               errors="replace")
    assert process.stdout is not None
    lines: list[str] = []
    with process.stdout:
        for raw in process.stdout:
            line = raw.rstrip("\n")
            lines.append(line)
            log(line)
    return PipResult(process.wait(), "\n".join(lines))


class Installer:
    """Resolves and installs requirement sets under one store (the artifacts directory)."""

    def __init__(self, store: Path, *, runner: PipRunner | None = None, env: Mapping[str, str] | None = None,
                 log: Callable[[str], None] | None = None, interpreter: str | None = None) -> None:
        self.store = Path(store)
        self.wheels = self.store / WHEELS_DIR
        self.runner = runner or run_pip
        self.log = log or (lambda line: None)
        self.interpreter = interpreter or interpreter_tag()
        base = dict(os.environ if env is None else env)
        self.no_index = base.get("PIP_NO_INDEX", "").lower() in _TRUE
        self.env = {**base, "PIP_CACHE_DIR": str(self.store / PIP_CACHE_DIR), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                    "PIP_NO_INPUT": "1", "PIP_PROGRESS_BAR": "off", "PYTHONUNBUFFERED": "1"}

    def ensure(self, requirements: Sequence[str]) -> DependencySet:
        """The installed set for `requirements` (resolved, fetched and installed as needed)."""
        requested = normalize_requirements(requirements)
        if not requested:
            return DependencySet(())
        packages = self.resolve(requested)
        if not packages:
            self.log("Every requirement is already satisfied by the plane's environment")
            return DependencySet(requested, reused=True)
        key = set_key(packages, self.interpreter)
        final = self.store / DEPS_DIR / "sha256" / key
        if (final / SET_FILE).is_file():
            self.log(f"Using the installed dependency set sha256:{key[:12]} ({len(packages)} package(s))")
            return DependencySet(requested, packages, key, final, reused=True)
        with self._locked(key):
            if not (final / SET_FILE).is_file():
                self._fetch(packages, requested)
                self._install(packages, final, key, requested)
                return DependencySet(requested, packages, key, final)
        return DependencySet(requested, packages, key, final, reused=True)

    # resolution

    def resolve(self, requested: Sequence[str]) -> tuple[Package, ...]:
        remembered = self.store / DEPS_DIR / "resolutions" / f"{resolution_key(requested, self.interpreter)}.json"
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(remembered.read_text())
            packages = tuple(Package(str(n), str(v), u, loc) for n, v, u, loc in data["packages"])
            self.log(f"Requirements resolved before: {', '.join(p.pin for p in packages) or '(all satisfied)'}")
            return packages
        self.log(f"Resolving {', '.join(requested)}")
        packages = self._resolve_with_pip(requested)
        _write_json(remembered, {"interpreter": self.interpreter, "requested": list(requested),
                                 "packages": [[p.name, p.version, p.url, p.location] for p in packages]})
        return packages

    def _resolve_with_pip(self, requested: Sequence[str]) -> tuple[Package, ...]:
        if self._all_cached(requested):
            report = self._dry_run(requested, ["--no-index"])
            if report is not None:
                return packages_of(report)
            self.log("The wheel cache does not satisfy every requirement; asking the package index")
        report = self._dry_run(requested, [], fail=True)
        assert report is not None
        return packages_of(report)

    def _all_cached(self, requested: Sequence[str]) -> bool:
        names = [requirement_name(r) for r in requested]
        if any(n is None for n in names):
            return False
        cached = {ident[0] for ident in map(wheel_identity, _listdir(self.wheels)) if ident}
        return all(n in cached for n in names)

    def _dry_run(self, requested: Sequence[str], extra: list[str], *, fail: bool = False) -> dict[str, Any] | None:
        self.wheels.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="resolve-", dir=self.store) as scratch:
            report_path = Path(scratch) / "report.json"
            args = ["install", "--dry-run", "--report", str(report_path), "--find-links", str(self.wheels), *extra,
                    *requested]
            result = self.runner(args, self.env, self.log)
            if result.returncode != 0:
                if fail:
                    raise dependency_error(result, requested=requested, wheels=self.wheels,
                                           no_index=self.no_index or "--no-index" in extra)
                return None
            report: dict[str, Any] = json.loads(report_path.read_text())
            return report

    # fetching and installing

    def _fetch(self, packages: Sequence[Package], requested: Sequence[str]) -> None:
        """Put a wheel of every package in the wheel cache: copied when pip found it on disk, else built."""
        cached = {ident for ident in map(wheel_identity, _listdir(self.wheels)) if ident}
        to_build = [p for p in packages if (p.name, p.version.lower()) not in cached and not self._copy_local(p)]
        if not to_build:
            return
        self.log(f"Downloading or building wheels: {', '.join(p.pin for p in to_build)}")
        result = self.runner(["wheel", "--no-deps", "--wheel-dir", str(self.wheels), "--find-links",
                              str(self.wheels), *[p.pin for p in to_build]], self.env, self.log)
        if result.returncode != 0:
            raise dependency_error(result, requested=requested, wheels=self.wheels, no_index=self.no_index)

    def _copy_local(self, package: Package) -> bool:
        """Copy the wheel pip found on disk for `package` into the cache; False when it found none there."""
        location = package.location or ""
        if not (location.startswith("file:") and location.endswith(".whl")):
            return False
        source = Path(unquote(urlparse(location).path))
        if not source.is_file():
            return False
        if source.parent != self.wheels:
            shutil.copy2(source, self.wheels / source.name)
        return True

    def _install(self, packages: Sequence[Package], final: Path, key: str, requested: Sequence[str]) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
        try:
            self.log(f"Installing {len(packages)} package(s) into dependency set sha256:{key[:12]}")
            args = ["install", "--no-deps", "--no-index", "--find-links", str(self.wheels), "--target", str(staging),
                    "--no-warn-script-location", *[f"{p.name}=={p.version}" for p in packages]]
            result = self.runner(args, self.env, self.log)
            if result.returncode != 0:
                raise dependency_error(result, requested=requested, wheels=self.wheels, no_index=True)
            _write_json(staging / SET_FILE, {"interpreter": self.interpreter, "key": key,
                                             "requirements": [p.pin for p in packages]})
            os.chmod(staging, 0o755)
            os.rename(staging, final)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        """One installer per set at a time (across processes): the second waits, then finds it installed."""
        locks = self.store / DEPS_DIR / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / key, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _listdir(directory: Path) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return []


def _write_json(path: Path, value: Any) -> None:
    """Write beside, then replace: readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(value, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
