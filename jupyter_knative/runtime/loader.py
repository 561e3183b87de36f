"""Execute a function's source as a module, once (in a zygote, a fresh replica or a test).

The module is registered in `sys.modules` under its name before it runs, as importlib does, so
dataclasses, pickling and `typing.get_type_hints` work inside it; its directory goes on `sys.path` so
sibling files of an artifact import. Its name is never `__main__`: an `if __name__ == "__main__":
app.run()` block must not start a second server.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

__all__ = ["load_file", "load_source"]


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
