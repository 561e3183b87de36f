"""JSON merge patches computed the way `kubectl apply` computes them for custom resources (pure).

A three-way patch: fields of the new manifest that differ from the live object, plus deletions (null) for
fields the last applied manifest had and the new one dropped. Lists are replaced whole, as RFC 7386 says.
"""

from __future__ import annotations

from typing import Any

__all__ = ["diff_patch", "three_way_patch"]

_MISSING = object()


def three_way_patch(original: dict[str, Any] | None, modified: dict[str, Any],
                    current: dict[str, Any]) -> dict[str, Any]:
    """The merge patch that takes `current` to `modified`, deleting what `original` had and `modified` lacks."""
    patch: dict[str, Any] = {}
    for key, want in modified.items():
        have = current.get(key, _MISSING)
        if isinstance(want, dict) and isinstance(have, dict):
            before = original.get(key) if isinstance(original, dict) else None
            sub = three_way_patch(before if isinstance(before, dict) else None, want, have)
            if sub:
                patch[key] = sub
        elif have is _MISSING or have != want:
            patch[key] = want
    if isinstance(original, dict):
        for key in original:
            if key not in modified and key in current:
                patch[key] = None
    return patch


def diff_patch(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """The two-way merge patch that makes `current` equal `desired` (nulls for every key `desired` lacks)."""
    patch: dict[str, Any] = {}
    for key, want in desired.items():
        have = current.get(key, _MISSING)
        if isinstance(want, dict) and isinstance(have, dict):
            sub = diff_patch(have, want)
            if sub:
                patch[key] = sub
        elif have is _MISSING or have != want:
            patch[key] = want
    for key in current:
        if key not in desired:
            patch[key] = None
    return patch
