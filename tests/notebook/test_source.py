"""Cells and decorated functions → the source a replica runs."""

from __future__ import annotations

import linecache
from typing import Any

import pytest

from jupyter_knative.notebook.source import function_source, last_function, service_name


@pytest.mark.parametrize(("source", "name"), [
    pytest.param("def a(r): pass\ndef b(r): pass\n", "b", id="last"),
    pytest.param("async def h(scope, receive, send): pass\n", "h", id="async"),
    pytest.param("def a(r):\n    def inner(): pass\n    return inner\nX = 1\n", "a", id="top-level-only"),
    pytest.param("app = object()\n", None, id="none"),
])
def test_last_function(source: str, name: str | None) -> None:
    assert last_function(source) == name


def test_last_function_syntax_error_names_the_line() -> None:
    with pytest.raises(ValueError, match="the cell does not compile, line 2: "):
        last_function("def a(r):\n  return (\n")


def compiled(source: str, filename: str, **namespace: Any) -> dict[str, Any]:
    """Compile like IPython does: the cell's text is in linecache under the code's filename, the
    namespace is the notebook's (`__main__`)."""
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    ns: dict[str, Any] = {"__name__": "__main__", "deco": lambda **kw: (lambda f: f), **namespace}
    exec(compile(source, filename, "exec"), ns)
    return ns


def test_decorators_are_dropped_and_imports_carried() -> None:
    cell = ("import json\nimport jupyter_knative as knative\nfrom os import path\nfrom os.path import join\n"
            "import collections as c\n\n"
            "@deco(name='x',\n      scale_min=1)\ndef handler(request):\n"
            "    knative.nothing\n    return json.dumps({'ok': path.sep, 'j': join('a'), 'c': c.Counter()})\n")
    source = function_source(compiled(cell, "<cell-1>")["handler"])
    assert source.text == ("import collections as c\nfrom posixpath import join\nimport json\n"
                           "import posixpath as path\n\n\ndef handler(request):\n    knative.nothing\n"
                           "    return json.dumps({'ok': path.sep, 'j': join('a'), 'c': c.Counter()})\n")
    assert source.missing == ()


def test_constants_and_helpers_come_along() -> None:
    helpers = compiled("LIMIT = 3\nNAMES = ('a', {'b': [1.5, None]})\ndef clip(x):\n    return min(x, LIMIT)\n",
                       "<cell-2>")
    cell = "@deco()\ndef handler(request):\n    return clip(len(NAMES)), handle, open\n"
    fn = compiled(cell, "<cell-3>", **{k: helpers[k] for k in ("LIMIT", "NAMES", "clip")},
                  handle=object())["handler"]
    source = function_source(fn)
    assert source.text == ("NAMES = ('a', {'b': [1.5, None]})\nLIMIT = 3\n\n\n"
                           "def clip(x):\n    return min(x, LIMIT)\n\n\n"
                           "def handler(request):\n    return clip(len(NAMES)), handle, open\n")
    assert source.missing == ("handle",)  # an object with no source and no import: reported
    compiled(source.text, "<check>")  # and what is carried compiles and runs


def test_function_source_of_a_nested_function_is_dedented() -> None:
    ns = compiled("def outer():\n    @deco()\n    def inner(r):\n        return 'x'\n    return inner\n", "<cell-4>")
    assert function_source(ns["outer"]()).text == "def inner(r):\n    return 'x'\n"


def test_function_without_source() -> None:
    with pytest.raises(ValueError, match="cannot read the source of len"):
        function_source(len)


@pytest.mark.parametrize(("name", "label"), [("hello", "hello"), ("hello_world", "hello-world"), ("Big", "big")])
def test_service_name(name: str, label: str) -> None:
    def f() -> None:
        pass

    f.__name__ = name
    assert service_name(f) == label
