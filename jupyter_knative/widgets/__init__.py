"""Live widgets: dashboard, traffic split, event flow, log view.

    from jupyter_knative.widgets import Dashboard
    Dashboard("hello")

The names load on first use, so importing the package does not import ipywidgets or plotly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jupyter_knative._lazy import lazy_exports

if TYPE_CHECKING:
    from .dashboard import Dashboard
    from .eventflow import EventFlow
    from .logview import LogView
    from .traffic import TrafficSplit

__all__ = ["Dashboard", "EventFlow", "LogView", "TrafficSplit"]

_HOMES = {
    "Dashboard": ".dashboard",
    "EventFlow": ".eventflow",
    "LogView": ".logview",
    "TrafficSplit": ".traffic",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
