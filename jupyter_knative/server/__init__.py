"""The Jupyter server extension: the plane (or a cluster) under `{base_url}knative/`.

    api/status, api/plane, api/namespaces, api/objects, api/objects/{kind}/{ns}/{name}, api/logs/{ns}/{svc},
    api/stream (Server-Sent Events), proxy/{ns}/{name}/{path}

Enabled by `jupyter-config/jupyter_server_config.d/jupyter_knative.json` (installed with the wheel); configured
through `c.KnativeExtension` (see `extension.KnativeExtension`). Importing this package is cheap: jupyter_server
and tornado load when the server loads the extension.
"""

from __future__ import annotations

from typing import Any

__all__ = ["_jupyter_server_extension_points", "_load_jupyter_server_extension"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_knative.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from .extension import load

    load(serverapp)
