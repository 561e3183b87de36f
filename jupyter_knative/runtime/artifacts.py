"""Content-addressed function artifacts: what a function cell or source folder becomes, and how an image
reference finds it.

An artifact is a directory `store/sha256/<hex>/` holding the function's Python files (`main.py` for a
cell; every `.py` file of a folder, at its relative path) and `artifact.json`: the entry file, the
entrypoint, the runtime ABI, the requested and resolved requirements and the dependency set they are
installed in (`store/deps/sha256/<hex>/`, see `deps`). `<hex>` is the SHA-256 of a canonical encoding of
exactly those inputs (each file by its own SHA-256), so packaging an unchanged function again yields the
same reference and writes nothing. The image reference is `dev.local/<namespace>/<name>@sha256:<hex>`:
name and namespace say who asked, the digest says what runs.

Other image names reach an artifact through tags (`tag_image`, kept in `store/tags/`): a build that
pushed `registry.example.com/team/fn:v1` tags that name with the artifact it produced, and `resolve`
follows the tag (latest write wins), or a `@sha256:<hex>` digest the tag once pointed at.

The function runtime image (`RUNTIME_REPOSITORY`, any tag or digest: what `jupyter_knative.client.shipping`
runs on a cluster, with the function mounted from a ConfigMap) resolves to kind `runtime`: its application is
what `serve.load_function` loads from the container's environment.

Errors: `ValueError` for a source that does not compile (with its line), an entrypoint the source does
not define, a name that is not a DNS label, or a folder with no function; `DependencyError` (a
`ValueError`) when pip cannot install the requirements.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .deps import DependencyError, DependencySet, Installer, parse_requirements_text
from .samples import normalize_image, sample_for

__all__ = [
    "ABI_VERSION",
    "REGISTRY",
    "RUNTIME_REPOSITORY",
    "DependencyError",
    "Resolved",
    "check_function",
    "package_folder",
    "package_function",
    "parse_ref",
    "resolve",
    "tag_image",
]

ABI_VERSION = 2
"""Bumped when the runtime would serve the same source differently, or the encoding changes: changes every
digest. 2: several files, requirements and their dependency set."""
REGISTRY = "dev.local"
RUNTIME_REPOSITORY = "ghcr.io/jupyter-knative/function-runtime"
"""The runtime image's repository (runtime/Dockerfile; `client.shipping.RUNTIME_IMAGE` is a tag of it)."""
RUNTIME_NAME = "function-runtime"
SOURCE_FILE = "main.py"
METADATA_FILE = "artifact.json"
TAGS_DIR = "tags"
FOLDER_ENTRIES = ("func.py", "main.py", "function/func.py")
"""Where a source folder's function is looked for, in order: kn func's classic layout (`func.py` beside
`requirements.txt`), a plain `main.py`, kn func's current layout (package `function/`, `pyproject.toml`)."""
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "venv", "env", "site-packages"})

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")

Log = Callable[[str], None]


@dataclass(frozen=True)
class Resolved:
    """What an image reference names: a packaged function, a built-in sample, or the function runtime image
    (whose function comes from the container's environment and mounts)."""

    kind: Literal["artifact", "sample", "runtime"]
    name: str  # the function's name, the sample's name (see `samples.SAMPLES`), or `RUNTIME_NAME`
    digest: str | None  # "sha256:<hex>" (for a sample or the runtime, only if the reference carried one)
    path: Path | None  # the artifact directory; None for a sample or the runtime
    entrypoint: str | None = None
    entry: str = SOURCE_FILE  # the file the function is in, relative to `path`
    deps: Path | None = None  # the installed dependency set to put on `sys.path`, if any
    reference: str | None = None  # `dev.local/<ns>/<name>@sha256:<hex>`, also when reached through a tag

    @property
    def source(self) -> Path | None:
        return self.path / self.entry if self.path is not None else None


def package_function(source: str, *, name: str, namespace: str = "default", entrypoint: str | None = None,
                     store: Path, requirements: Sequence[str] | None = None, log: Log | None = None) -> str:
    """Write the artifact for `source` (once) and return its image reference.

    `requirements` are installed with pip into a shared dependency set first; `log` receives pip's output.
    """
    check_function(source, name=name, namespace=namespace, entrypoint=entrypoint)
    deps = _dependencies(requirements, store, log)
    return _package({SOURCE_FILE: source.encode("utf-8")}, SOURCE_FILE, entrypoint, deps, name=name,
                    namespace=namespace, store=store)


def check_function(source: str, *, name: str, namespace: str = "default", entrypoint: str | None = None) -> None:
    """What `package_function` refuses, checked without packaging (where the cell is written, before a build):
    raises `ValueError` for a name or namespace that is not a DNS label, a source that does not compile (with
    its line) or an entrypoint the source does not define."""
    _check_label("name", name)
    _check_label("namespace", namespace)
    tree = _compile(source, name, SOURCE_FILE)
    if entrypoint is not None:
        _check_entrypoint(tree, entrypoint)


def package_folder(path: Path, *, name: str, namespace: str = "default", store: Path, log: Log | None = None,
                   entrypoint: str | None = None) -> str:
    """Package a source folder: its function file (see `FOLDER_ENTRIES`), every `.py` file beside it, and the
    requirements of its `requirements.txt` (or else `pyproject.toml`'s `[project].dependencies`); `entrypoint`
    names the function to serve when the file defines several."""
    _check_label("name", name)
    _check_label("namespace", namespace)
    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"source folder {str(folder)!r} does not exist or is not a directory")
    entry = next((e for e in FOLDER_ENTRIES if (folder / e).is_file()), None)
    if entry is None:
        found = sorted(p.name for p in folder.iterdir())[:20]
        raise ValueError(f"source folder {str(folder)!r} has no function: expected one of "
                         f"{', '.join(FOLDER_ENTRIES)}; found {', '.join(found) or 'nothing'}")
    files = _python_files(folder)
    tree = _compile(files[entry].decode("utf-8", "replace"), name, entry)
    if entrypoint is not None:
        _check_entrypoint(tree, entrypoint)
    deps = _dependencies(folder_requirements(folder), store, log)
    return _package(files, entry, entrypoint, deps, name=name, namespace=namespace, store=store)


def folder_requirements(folder: Path) -> list[str]:
    """What a source folder asks pip for: `requirements.txt`, else `pyproject.toml`'s project dependencies."""
    requirements_txt = folder / "requirements.txt"
    if requirements_txt.is_file():
        return parse_requirements_text(requirements_txt.read_text(encoding="utf-8"), where=str(requirements_txt),
                                       include=lambda other: (folder / other).read_text(encoding="utf-8"))
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        return []
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project") or {}
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{pyproject}: not valid TOML: {exc}") from exc
    dependencies = project.get("dependencies") or []
    if not (isinstance(dependencies, list) and all(isinstance(d, str) for d in dependencies)):
        raise ValueError(f"{pyproject}: project.dependencies = {dependencies!r}, must be a list of strings")
    return list(dependencies)


def tag_image(image: str, resolved: str, store: Path) -> None:
    """Remember that `image` (any registry spelling; no tag means `latest`) now names the artifact `resolved`."""
    ref = parse_ref(resolved)
    if ref is None:
        raise ValueError(f"resolved = {resolved!r}, must be a dev.local/<namespace>/<name>@sha256:<hex> reference")
    if not (Path(store) / "sha256" / ref[2] / METADATA_FILE).is_file():
        raise ValueError(f"resolved = {resolved!r}, must name an artifact present in {store}")
    repository, tag = _repository_and_tag(image)
    record = {"image": f"{repository}:{tag}", "resolved": f"{REGISTRY}/{ref[0]}/{ref[1]}@sha256:{ref[2]}"}
    _replace_json(_tag_dir(store, repository) / f"{tag}.json", record)


def parse_ref(image: str) -> tuple[str, str, str] | None:
    """(namespace, name, hex) of a `dev.local/<ns>/<name>@sha256:<hex>` reference, or None."""
    m = re.match(r"^dev\.local/([^/@:]+)/([^/@:]+)(?::[^/@]+)?@sha256:([0-9a-f]{64})$", image.strip())
    return (m.group(1), m.group(2), m.group(3)) if m else None


def resolve(image: str, store: Path) -> Resolved | None:
    """What `image` runs here: an artifact present in `store` (directly, or through a tag), a built-in
    sample, the function runtime image, or None."""
    ref = parse_ref(image) or _follow_tag(image, store)
    if ref is not None:
        return _artifact(ref, Path(store))
    sample = sample_for(image)
    if sample is not None:
        return Resolved("sample", sample, normalize_image(image)[2], None)
    repository, _, digest = normalize_image(image)
    if repository == RUNTIME_REPOSITORY:
        return Resolved("runtime", RUNTIME_NAME, digest, None)
    return None


def _artifact(ref: tuple[str, str, str], store: Path) -> Resolved | None:
    namespace, name, hexdigest = ref
    directory = store / "sha256" / hexdigest
    try:
        metadata = json.loads((directory / METADATA_FILE).read_text())
    except (OSError, ValueError):
        return None
    deps = metadata.get("deps")
    return Resolved("artifact", name, f"sha256:{hexdigest}", directory, metadata.get("entrypoint"),
                    str(metadata.get("source") or SOURCE_FILE), store / deps if deps else None,
                    f"{REGISTRY}/{namespace}/{name}@sha256:{hexdigest}")


def _repository_and_tag(image: str) -> tuple[str, str]:
    repository, tag, _ = normalize_image(image)
    if not repository or any(c.isspace() for c in repository):
        raise ValueError(f"image = {image!r}, must be an image name such as registry.example.com/team/fn:v1")
    tag = tag or "latest"
    if not _TAG.match(tag):
        raise ValueError(f"image = {image!r}: tag {tag!r}, must be letters, digits, '_', '.' or '-' (at most 128)")
    return repository, tag


def _tag_dir(store: Path, repository: str) -> Path:
    return Path(store) / TAGS_DIR / hashlib.sha256(repository.encode("utf-8")).hexdigest()[:32]


def _follow_tag(image: str, store: Path) -> tuple[str, str, str] | None:
    """The artifact a tagged name points at; for `name@sha256:<hex>`, the artifact if the name was ever tagged
    with it."""
    try:
        repository, tag = _repository_and_tag(image)
    except ValueError:
        return None
    directory = _tag_dir(store, repository)
    digest = normalize_image(image)[2]
    names = _listdir(directory) if digest else [f"{tag}.json"]
    for filename in names:
        try:
            record = json.loads((directory / filename).read_text())
        except (OSError, ValueError):
            continue
        ref = parse_ref(str(record.get("resolved", "")))
        if ref is not None and (digest is None or digest == f"sha256:{ref[2]}"):
            return ref
    return None


def _listdir(directory: Path) -> list[str]:
    try:
        return sorted(name for name in os.listdir(directory) if name.endswith(".json"))
    except OSError:
        return []


def _dependencies(requirements: Sequence[str] | None, store: Path, log: Log | None) -> DependencySet | None:
    if not requirements:
        return None
    deps = Installer(Path(store), log=log).ensure(requirements)
    return deps if deps.requested else None


def _package(files: Mapping[str, bytes], entry: str, entrypoint: str | None, deps: DependencySet | None, *,
             name: str, namespace: str, store: Path) -> str:
    metadata: dict[str, Any] = {
        "abi": ABI_VERSION, "entrypoint": entrypoint, "source": entry,
        "files": {path: hashlib.sha256(data).hexdigest() for path, data in sorted(files.items())},
        "requested": list(deps.requested) if deps else [], "requirements": deps.pins if deps else [],
        "deps": deps.relative if deps else None,
    }
    hexdigest = _digest(metadata)
    final = Path(store) / "sha256" / hexdigest
    if not (final / METADATA_FILE).is_file():
        _write(final, files, {**metadata, "digest": f"sha256:{hexdigest}"})
    return f"{REGISTRY}/{namespace}/{name}@sha256:{hexdigest}"


def _python_files(folder: Path) -> dict[str, bytes]:
    """Every `.py` file of a folder by its relative POSIX path, leaving out hidden, cache and virtualenv
    directories."""
    files: dict[str, bytes] = {}
    for directory, subdirs, filenames in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and d not in _SKIPPED_DIRS)
        for filename in sorted(filenames):
            path = Path(directory) / filename
            if filename.endswith(".py") and path.is_file():
                files[path.relative_to(folder).as_posix()] = path.read_bytes()
    return files


def _check_label(field: str, value: str) -> None:
    if not (isinstance(value, str) and len(value) <= 63 and _LABEL.match(value)):
        raise ValueError(f"{field} = {value!r}, must be a DNS label: lower case letters, digits and '-', "
                         f"starting and ending with a letter or digit, at most 63 characters")


def _compile(source: str, name: str, filename: str) -> ast.Module:
    try:
        tree = ast.parse(source, filename=f"{name}/{filename}")
        compile(tree, f"{name}/{filename}", "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        text = f"\n    {exc.text.rstrip()}" if exc.text else ""
        raise ValueError(f"function {name!r} does not compile: {exc.msg} at {where}{text}") from exc
    return tree


def _check_entrypoint(tree: ast.Module, entrypoint: str) -> None:
    if not entrypoint.isidentifier():
        raise ValueError(f"entrypoint = {entrypoint!r}, must be a Python identifier")
    defined = _top_level_names(tree)
    if entrypoint not in defined:
        functions = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        raise ValueError(f"entrypoint = {entrypoint!r}, must be defined at the top level of the source; "
                         f"it defines the functions {', '.join(functions) or '(none)'}")


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            nested = [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)]
            names.update(_top_level_names(ast.Module(body=nested, type_ignores=[])))
    return names


def _digest(metadata: dict[str, Any]) -> str:
    canonical = json.dumps(metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _write(final: Path, files: Mapping[str, bytes], metadata: dict[str, Any]) -> None:
    """Build the directory beside its final place, then rename it there in one step."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    try:
        for relative, data in files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
        os.chmod(staging, 0o755)
        try:
            os.rename(staging, final)
        except OSError:
            if not (final / METADATA_FILE).is_file():
                raise  # not a lost race with an identical writer: a real failure
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _replace_json(path: Path, value: dict[str, Any]) -> None:
    """Write beside, then replace: the latest writer wins and a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(value, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
