"""The YAML of a `%%knative apply` cell: `{name}` placeholders filled from the notebook's variables.
Pure; the client parses the documents and locates mistakes (document and line)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["fill_placeholders"]

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SEPARATOR = re.compile(r"^---(\s|$)")


def fill_placeholders(text: str, variables: Mapping[str, Any]) -> str:
    """Replace `{name}` with the variable's value (dicts and lists as JSON, which YAML reads);
    `{{` and `}}` stand for literal braces; other braces (`{}`, `{a: 1}`) are left alone."""

    def substitute(m: re.Match[str]) -> str:
        if m.group(0) in ("{{", "}}"):
            return m.group(0)[0]
        name = m.group(1)
        if name not in variables:
            line = text.count("\n", 0, m.start()) + 1
            raise ValueError(f"line {line}: placeholder {{{name}}}: no variable {name!r} in the notebook "
                             "(write {{ and }} for literal braces)")
        value = variables[name]
        return json.dumps(value) if isinstance(value, dict | list | tuple | bool) or value is None else str(value)

    return _PLACEHOLDER.sub(substitute, text)
