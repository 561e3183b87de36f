"""Tekton's variable substitution (pure): finding `$(prefix.name)` references and replacing them.

A reference names a variable after a prefix with a dot or a quoted bracket: `$(params.url)`,
`$(params["url"])`, `$(params['url'])`, `$(params.args[*])` (a whole array), `$(params.args[0])` (one item),
`$(results.digest.path)`. Replacement is one pass, left to right (Go's `strings.Replacer`, as Tekton applies
it): a value that itself looks like a reference is not expanded again. An argument that is exactly an array
reference expands into the array's items; anywhere else only string replacements apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = [
    "NAME",
    "apply",
    "apply_array",
    "array_replacements",
    "keys",
    "references",
]

# A variable name as Tekton's substitution matches it (with an optional `[*]` or `[n]` suffix).
NAME = r"[_a-zA-Z][_a-zA-Z0-9.-]*(?:\[(?:\*|[0-9]+)\])?"
_REFERENCE = re.compile(r"\$\(([^()]*)\)")
_INDEX = re.compile(r"\[(?:\*|[0-9]+)\]$")


def _pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(
        rf"\$\({re.escape(prefix)}(?:\.(?P<v1>{NAME})|\[\"(?P<v2>{NAME})\"\]|\['(?P<v3>{NAME})'\])\)")


def references(text: str, prefix: str) -> list[str]:
    """The variable names `text` references under `prefix`, in order: `$(params.a.b[*])` gives `a` (the
    part before the first dot, index suffix removed)."""
    out = []
    for m in _pattern(prefix).finditer(text):
        name = m.group("v1") or m.group("v2") or m.group("v3") or ""
        out.append(_INDEX.sub("", name.split(".", 1)[0]))
    return out


def keys(prefix: str, name: str, suffix: str = "") -> list[str]:
    """The spellings of one variable as replacement keys: `params.x`, `params["x"]`, `params['x']`."""
    return [f"{prefix}.{name}{suffix}", f'{prefix}["{name}"]{suffix}', f"{prefix}['{name}']{suffix}"]


def apply(text: str, replacements: Mapping[str, str]) -> str:
    """Replace each `$(key)` whose key has a replacement; everything else stays as written."""
    if "$(" not in text:
        return text
    return _REFERENCE.sub(lambda m: replacements.get(m.group(1), m.group(0)), text)


def apply_array(text: str, strings: Mapping[str, str], arrays: Mapping[str, list[str]]) -> list[str]:
    """An argument after substitution: the array's items when `text` is exactly `$(key)` or `$(key[*])` of an
    array, else one string with the string replacements applied."""
    m = _REFERENCE.fullmatch(text)
    if m is not None:
        key = m.group(1)
        if key in arrays:
            return list(arrays[key])
        if key.endswith("[*]") and key[:-3] in arrays:
            return list(arrays[key[:-3]])
    return [apply(text, strings)]


def array_replacements(prefix: str, name: str, items: Iterable[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The replacements an array variable brings: each item by index (`params.a[0]`), and the whole array."""
    values = list(items)
    strings = {key: item for i, item in enumerate(values) for key in keys(prefix, name, f"[{i}]")}
    return strings, {key: values for key in keys(prefix, name)}
