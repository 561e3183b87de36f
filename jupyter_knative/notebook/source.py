"""From a cell (or a decorated function) to the source a replica runs. Pure: text in, text out.

A `%%knative service` cell is deployed as it is; its handler is the function `--handler` names, else
the last one the cell defines. A `@knative.function` is deployed as its own source without its
decorators (a replica has no `knative` to call), preceded by what it uses from the notebook: the
modules and importable objects its global names refer to become imports, simple constants become
assignments, and functions defined in the notebook come along with their own source. What cannot be
carried (an open file, an instance of a notebook class) is reported, not guessed.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["FunctionSource", "function_source", "last_function", "service_name"]

_SELF = "jupyter_knative"


def _parse(source: str, where: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as e:
        raise ValueError(f"{where}, line {e.lineno}: {e.msg}: {(e.text or '').strip()}") from None


def last_function(source: str) -> str | None:
    """The name of the last function `source` defines at its top level, or None."""
    tree = _parse(source, "the cell does not compile")
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    return names[-1] if names else None


def service_name(fn: Callable[..., Any]) -> str:
    """`hello_world` → `hello-world`: a function's name as a DNS label."""
    return fn.__name__.replace("_", "-").lower().strip("-")


@dataclass(frozen=True)
class FunctionSource:
    text: str
    missing: tuple[str, ...] = ()  # global names the function uses that could not be carried along


def function_source(fn: Callable[..., Any]) -> FunctionSource:
    """`fn`'s source without its decorators, after what it uses from its module (see above)."""
    own = _own_source(fn)
    preamble: list[str] = []
    definitions: list[str] = []
    missing: list[str] = []
    _carry(fn, preamble, definitions, missing, seen={fn.__name__})
    head = "".join(f"{line}\n" for line in preamble)
    body = "\n\n".join([*definitions, own])
    return FunctionSource(head + ("\n\n" if head else "") + body, tuple(missing))


def _own_source(fn: Callable[..., Any]) -> str:
    try:
        own = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as e:
        raise ValueError(f"cannot read the source of {fn.__qualname__}: {e}; define it in a cell or a file") from None
    node = _definition(_parse(own, f"the source of {fn.__qualname__} does not compile"), fn.__name__)
    return "".join(own.splitlines(keepends=True)[node.lineno - 1:])


def _definition(tree: ast.Module, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return node
    raise ValueError(f"the source of {name} does not define a function named {name}")


def _carry(fn: Callable[..., Any], preamble: list[str], definitions: list[str], missing: list[str],
           seen: set[str]) -> None:
    namespace = getattr(fn, "__globals__", {})
    for name in sorted(_global_names(fn.__code__) & namespace.keys()):
        if name in seen:
            continue
        seen.add(name)
        value = namespace[name]
        line = _import_line(name, value)
        if line is None:
            line = _constant_line(name, value)
        if line is not None:
            if line and line not in preamble:
                preamble.append(line)
        elif inspect.isfunction(value) and value.__module__ == fn.__module__:
            _carry(value, preamble, definitions, missing, seen)  # a helper from the notebook: its source too
            definitions.append(_own_source(value))
        else:
            missing.append(name)


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _import_line(name: str, value: Any) -> str | None:
    """`import json`, `import numpy as np`, `from os.path import join`; "" for this package (not carried)."""
    if isinstance(value, types.ModuleType):
        imported = value.__name__
        if imported == _SELF or imported.startswith(_SELF + "."):
            return ""
        return f"import {imported}" if imported == name else f"import {imported} as {name}"
    module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "." in qualname or "<" in qualname:
        return None
    if module in ("__main__", "builtins") or module not in sys.modules:
        return None
    if module == _SELF or module.startswith(_SELF + "."):
        return ""
    if getattr(sys.modules[module], qualname, None) is not value:
        return None
    return f"from {module} import {qualname}" + (f" as {name}" if name != qualname else "")


def _constant_line(name: str, value: Any) -> str | None:
    """`LIMIT = 10` for a value whose repr reads back as the same literal."""
    if isinstance(value, type) or callable(value):
        return None
    try:
        text = repr(value)
        same: bool = len(text) <= 10_000 and ast.literal_eval(text) == value
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return f"{name} = {text}" if same else None
