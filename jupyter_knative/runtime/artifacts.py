"""Content-addressed function artifacts: what a function cell becomes, and how an image reference finds it.

An artifact is a directory `store/sha256/<hex>/` holding `main.py` (the source) and `artifact.json`
(entrypoint, runtime ABI, requirements). `<hex>` is the SHA-256 of a canonical encoding of exactly
those inputs, so packaging an unchanged cell again yields the same reference and writes nothing. The
image reference is `dev.local/<namespace>/<name>@sha256:<hex>`: name and namespace say who asked,
the digest says what runs.

Errors: `ValueError` for a source that does not compile (with its line), an entrypoint the source does
not define, or a name that is not a DNS label.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .samples import normalize_image, sample_for

__all__ = ["ABI_VERSION", "REGISTRY", "Resolved", "package_function", "parse_ref", "resolve"]

ABI_VERSION = 1
"""Bumped when the runtime would serve the same source differently: changes every digest."""
REGISTRY = "dev.local"
SOURCE_FILE = "main.py"
METADATA_FILE = "artifact.json"

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class Resolved:
    """What an image reference names: a packaged function, or a built-in sample."""

    kind: Literal["artifact", "sample"]
    name: str  # the function's name, or the sample's name (see `samples.SAMPLES`)
    digest: str | None  # "sha256:<hex>" (for a sample, only if the reference carried one)
    path: Path | None  # the artifact directory; None for a sample
    entrypoint: str | None = None

    @property
    def source(self) -> Path | None:
        return self.path / SOURCE_FILE if self.path is not None else None


def package_function(source: str, *, name: str, namespace: str = "default", entrypoint: str | None = None,
                     store: Path) -> str:
    """Write the artifact for `source` (once) and return its image reference."""
    _check_label("name", name)
    _check_label("namespace", namespace)
    tree = _compile(source, name)
    if entrypoint is not None:
        _check_entrypoint(tree, entrypoint)
    metadata: dict[str, Any] = {"abi": ABI_VERSION, "entrypoint": entrypoint, "requirements": [], "source": SOURCE_FILE}
    hexdigest = _digest(source, metadata)
    final = Path(store) / "sha256" / hexdigest
    if not (final / METADATA_FILE).is_file():
        _write(final, source, {**metadata, "digest": f"sha256:{hexdigest}"})
    return f"{REGISTRY}/{namespace}/{name}@sha256:{hexdigest}"


def parse_ref(image: str) -> tuple[str, str, str] | None:
    """(namespace, name, hex) of a `dev.local/<ns>/<name>@sha256:<hex>` reference, or None."""
    m = re.match(r"^dev\.local/([^/@:]+)/([^/@:]+)(?::[^/@]+)?@sha256:([0-9a-f]{64})$", image.strip())
    return (m.group(1), m.group(2), m.group(3)) if m else None


def resolve(image: str, store: Path) -> Resolved | None:
    """What `image` runs here: an artifact present in `store`, a built-in sample, or None."""
    ref = parse_ref(image)
    if ref is not None:
        _, name, hexdigest = ref
        directory = Path(store) / "sha256" / hexdigest
        try:
            metadata = json.loads((directory / METADATA_FILE).read_text())
        except (OSError, ValueError):
            return None
        return Resolved("artifact", name, f"sha256:{hexdigest}", directory, metadata.get("entrypoint"))
    sample = sample_for(image)
    if sample is not None:
        return Resolved("sample", sample, normalize_image(image)[2], None)
    return None


def _check_label(field: str, value: str) -> None:
    if not (isinstance(value, str) and len(value) <= 63 and _LABEL.match(value)):
        raise ValueError(f"{field} = {value!r}, must be a DNS label: lower case letters, digits and '-', "
                         f"starting and ending with a letter or digit, at most 63 characters")


def _compile(source: str, name: str) -> ast.Module:
    try:
        tree = ast.parse(source, filename=f"{name}/{SOURCE_FILE}")
        compile(tree, f"{name}/{SOURCE_FILE}", "exec", dont_inherit=True)
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


def _digest(source: str, metadata: dict[str, Any]) -> str:
    canonical = json.dumps({"metadata": metadata, "source": source}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _write(final: Path, source: str, metadata: dict[str, Any]) -> None:
    """Build the directory beside its final place, then rename it there in one step."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    try:
        (staging / SOURCE_FILE).write_text(source, encoding="utf-8")
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
