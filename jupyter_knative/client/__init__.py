"""The Kubernetes client side shared by the notebook layer, widgets and the server extension.

    from jupyter_knative.client import Client, KnativeError

`Client.embedded()` talks to the local plane (starting it when needed), `Client(kubeconfig=...)` to any
cluster. The names below load on first use, so `jupyter_knative.client.daemonctl` (the CLI's) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jupyter_knative._lazy import lazy_exports

if TYPE_CHECKING:
    from .client import Client
    from .errors import KnativeError
    from .functions import ShipOptions
    from .http import Response
    from .load import LoadProgress, LoadSummary
    from .objects import Applied, Table
    from .serving import Deployment

__all__ = ["Applied", "Client", "Deployment", "KnativeError", "LoadProgress", "LoadSummary", "Response", "ShipOptions",
           "Table"]

_HOMES = {
    "Applied": ".objects",
    "Client": ".client",
    "Deployment": ".serving",
    "KnativeError": ".errors",
    "LoadProgress": ".load",
    "LoadSummary": ".load",
    "Response": ".http",
    "ShipOptions": ".functions",
    "Table": ".objects",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
