"""knative.dev/pkg's `apis.FieldError`: a tree of diagnostics, each a message, the field paths it is about,
optional details and a level (error or warning).

Validation walks an object and builds errors bottom-up: a leaf says `missing field(s): image`, and each
level on the way back prefixes the paths it came through (`via_field("spec")`, `via_index(0)`), so the
top sees `spec.template.spec.containers[0].image`. Values are immutable; every method returns a new one.
The empty error (`FieldError()`, falsy) plays the part of Go's nil.

`str()` is Go's `Error()`: leaves with the same level, message and details are merged (their paths
de-duplicated, then sorted and joined with ", "), the merged entries sorted by message, details, level,
and rendered as `message: paths` (plus `\\n` details) joined with newlines. The level never shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from ..status import BadRequest
from .goformat import go_quote, go_value

__all__ = [
    "WEBHOOK",
    "FieldError",
    "Level",
    "denied",
    "err_disallowed_fields",
    "err_disallowed_update_deprecated_fields",
    "err_generic",
    "err_invalid_array_value",
    "err_invalid_key_name",
    "err_invalid_value",
    "err_missing_field",
    "err_missing_one_of",
    "err_multiple_one_of",
    "err_out_of_bounds_value",
]

# The name of Serving's validating webhook, as the apiserver quotes it when the webhook says no.
WEBHOOK = "validation.webhook.serving.knative.dev"
CURRENT_FIELD = ""


class Level(IntEnum):
    ERROR = 0
    WARNING = 1


@dataclass(frozen=True)
class FieldError:
    message: str = ""
    paths: tuple[str, ...] = ()
    details: str = ""
    level: Level = Level.ERROR
    children: tuple[FieldError, ...] = field(default=(), repr=False)

    # --- building --------------------------------------------------------------------------------------

    def __bool__(self) -> bool:
        return not (self.message == "" and self.details == "" and not self.children and not self.paths)

    def also(self, *others: FieldError) -> FieldError:
        """This error and the others, as one collection (empty ones are dropped)."""
        kept = tuple(o for o in others if o)
        if not kept:
            return self
        base = self if self else FieldError()
        return FieldError(base.message, base.paths, base.details, base.level, base.children + kept)

    def via_field(self, *prefix: str) -> FieldError:
        """Prefix every path with `prefix` (one or more field names, dotted or not)."""
        if not self:
            return self
        paths = tuple(_flatten([*prefix, p]) for p in self.paths)
        children = tuple(c.via_field(*prefix) for c in self.children)
        return FieldError(self.message, paths, self.details, self.level, children)

    def via_index(self, index: int) -> FieldError:
        return self.via_field(f"[{index}]")

    def via_key(self, key: str) -> FieldError:
        return self.via_field(f"[{key}]")

    def via_field_index(self, name: str, index: int) -> FieldError:
        return self.via_index(index).via_field(name)

    def via_field_key(self, name: str, key: str) -> FieldError:
        return self.via_key(key).via_field(name)

    def at(self, level: Level) -> FieldError:
        """The same diagnostics, all at `level`."""
        if not self:
            return self
        return FieldError(self.message, self.paths, self.details, level, tuple(c.at(level) for c in self.children))

    def filter(self, level: Level) -> FieldError:
        """Only the diagnostics at `level` (empty if none)."""
        out = FieldError(self.message, self.paths, self.details, self.level) if self.level == level else FieldError()
        for child in self.children:
            out = out.also(child.filter(level))
        return out

    # --- reading ---------------------------------------------------------------------------------------

    def normalized(self) -> list[FieldError]:
        """Every leaf with a message, depth first (the order `Also` collected them in)."""
        out = [FieldError(self.message, self.paths, self.details, self.level)] if self.message else []
        for child in self.children:
            out += child.normalized()
        return out

    def merged(self) -> list[FieldError]:
        """Leaves with the same level, message and details folded into one, paths sorted; then sorted."""
        by_key: dict[tuple[Level, str, str], list[str]] = {}
        for leaf in self.normalized():
            paths = by_key.setdefault((leaf.level, leaf.message, leaf.details), [])
            paths += [p for p in leaf.paths if p not in paths]
        out = [FieldError(msg, tuple(sorted(paths)), details, level)
               for (level, msg, details), paths in by_key.items()]
        return sorted(out, key=lambda e: (e.message, e.details, e.level))

    def __str__(self) -> str:
        lines = []
        for e in self.merged():
            line = f"{e.message}: {', '.join(e.paths)}"
            lines.append(f"{line}\n{e.details}" if e.details else line)
        return "\n".join(lines)

    def warnings(self) -> list[str]:
        """The warning-level diagnostics, one string each, as the webhook returns them."""
        return [str(e) for e in self.filter(Level.WARNING).merged()]

    def errors(self) -> FieldError:
        return self.filter(Level.ERROR)


def _flatten(parts: Iterable[str]) -> str:
    """Join path parts with dots, gluing `[i]` / `[key]` parts onto the part before them."""
    out: list[str] = []
    for part in parts:
        for p in part.split("."):
            if p == CURRENT_FIELD:
                continue
            if out and p.startswith("[") and p.endswith("]"):
                out[-1] += p
            else:
                out.append(p)
    return ".".join(out)


# --- the helpers knative.dev/pkg/apis offers ------------------------------------------------------------

def err_missing_field(*paths: str) -> FieldError:
    return FieldError("missing field(s)", paths)


def err_disallowed_fields(*paths: str) -> FieldError:
    return FieldError("must not set the field(s)", paths)


def err_disallowed_update_deprecated_fields(*paths: str) -> FieldError:
    return FieldError("must not update deprecated field(s)", paths)


def err_invalid_value(value: Any, path: str, *details: str) -> FieldError:
    return FieldError("invalid value: " + go_value(value), (path,), ", ".join(details))


def err_invalid_array_value(value: Any, name: str, index: int) -> FieldError:
    return err_invalid_value(value, CURRENT_FIELD).via_field_index(name, index)


def err_generic(diagnostic: str, *paths: str) -> FieldError:
    return FieldError(diagnostic, paths)


def err_missing_one_of(*paths: str) -> FieldError:
    return FieldError("expected exactly one, got neither", paths)


def err_multiple_one_of(*paths: str) -> FieldError:
    return FieldError("expected exactly one, got both", paths)


def err_invalid_key_name(key: str, path: str, *details: str) -> FieldError:
    return FieldError(f"invalid key name {go_quote(key)}", (path,), ", ".join(details))


def err_out_of_bounds_value(value: Any, lower: Any, upper: Any, path: str) -> FieldError:
    return FieldError(f"expected {go_value(lower)} <= {go_value(value)} <= {go_value(upper)}", (path,))


# --- what the client sees ---------------------------------------------------------------------------------

def denied(reason: FieldError | str, *, prefix: str = "validation failed", webhook: str = WEBHOOK) -> BadRequest:
    """The 400 the apiserver answers when a validating webhook (Serving's unless named) refuses an object.

    kubectl prints it as `Error from server (BadRequest): error when creating "x.yaml": ` + this message.
    """
    return BadRequest(f'admission webhook "{webhook}" denied the request: {prefix}: {reason}')
