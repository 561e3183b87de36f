"""Execute a function's source as a module, once (in a zygote, a fresh replica or a test).

The module is registered in `sys.modules` under its name before it runs, as importlib does, so
dataclasses, pickling and `typing.get_type_hints` work inside it; its directory goes on `sys.path` so
sibling files of an artifact import. Its name is never `__main__`: an `if __name__ == "__main__":
app.run()` block must not start a second server.

An artifact's file at the top of its directory runs under the name `main`; one inside a package
(`function/func.py`, kn func's layout) is imported under its dotted name, so its relative imports work.
An artifact's dependency set goes on `sys.path` ahead of the plane's own packages (its pins win), with
its `.pth` files processed as site-packages' are.
"""

from __future__ import annotations

import importlib
import site
import sys
import types
from pathlib import Path

__all__ = ["add_dependencies", "load_entry", "load_file", "load_source"]


def load_source(source: str, *, filename: str = "<function>", name: str = "main") -> types.ModuleType:
    """Run `source` as a new module `name`; exceptions from the user's code propagate unchanged."""
    code = compile(source, filename, "exec", dont_inherit=True)
    module = types.ModuleType(name)
    module.__file__ = filename
    module.__dict__["__builtins__"] = __builtins__
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        if previous is not None:
            sys.modules[name] = previous
        else:
            sys.modules.pop(name, None)
        raise
    return module


def load_file(path: Path, *, name: str = "main") -> types.ModuleType:
    """Run the source file at `path` (an artifact's `main.py`) as module `name`."""
    directory = str(path.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    return load_source(path.read_text(encoding="utf-8"), filename=str(path), name=name)


def load_entry(root: Path, entry: str) -> types.ModuleType:
    """Run an artifact's entry file (`entry` relative to `root`): `main.py`/`func.py` as module `main`, a file
    inside a package by its dotted name."""
    parts = Path(entry).with_suffix("").parts
    if len(parts) == 1:
        return load_file(root / entry)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module(".".join(parts))


def add_dependencies(path: Path) -> None:
    """Put an installed dependency set in front of `sys.path` (before the plane's site-packages)."""
    before = list(sys.path)
    site.addsitedir(str(path))  # appends it, and what its .pth files name
    added = [entry for entry in sys.path if entry not in before]
    sys.path[:] = added + before
