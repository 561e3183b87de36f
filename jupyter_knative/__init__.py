"""jupyter-knative: Knative, native to Jupyter.

`%load_ext jupyter_knative` registers the `%knative` magics; `jupyter_knative.Client` and
`jupyter_knative.function` (`import jupyter_knative as knative; @knative.function(...)`) are the Python
API beside them. Both are imported on first use, so importing the package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .client import Client
    from .notebook.decorator import function

__all__ = ["Client", "__version__", "function", "load_ipython_extension", "unload_ipython_extension"]


def __getattr__(name: str) -> Any:
    if name == "Client":
        from .client import Client

        return Client
    if name == "function":
        from .notebook.decorator import function

        return function
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension (`jupyter_knative.server`); enabled by the wheel's jupyter-config."""
    return [{"module": "jupyter_knative.server"}]


def load_ipython_extension(shell: Any) -> None:
    from .notebook import load_ipython_extension

    load_ipython_extension(shell)


def unload_ipython_extension(shell: Any) -> None:
    from .notebook import unload_ipython_extension

    unload_ipython_extension(shell)
