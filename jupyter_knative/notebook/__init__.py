"""IPython magics (`%knative`, `%%knative`) and the `@knative.function` decorator.

A thin layer over `jupyter_knative.client`: parse (`parsing`), call the client (`commands`), display
(`display`). The backend belongs to the shell's magics (`session`), never to this module.
"""

from __future__ import annotations

from .decorator import function
from .magics import KnativeMagics, load_ipython_extension, unload_ipython_extension

__all__ = ["KnativeMagics", "function", "load_ipython_extension", "unload_ipython_extension"]
