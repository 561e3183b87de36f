"""The data plane: ingress, activator and queue-proxy jobs, and the replica supervisor.

The controllers drive the ingress through this interface:

    ingress = Ingress(on_activate=poke_autoscaler)
    await ingress.start("127.0.0.1", port)
    ingress.set_routes(RouteTable.build({"hello.default.example.com": HostRoute((Target(key, 100),))}))
    ingress.set_revision(key, RevisionSettings(container_concurrency=1, timeout_seconds=300))
    ingress.set_endpoints(key, [Endpoint("127.0.0.1", 40123, "hello-00001-deployment-abcde")])
    stats = ingress.snapshot()          # every second, for the autoscaler
    text = ingress.metrics_text()       # Prometheus exposition
"""

from .ingress import Endpoint, Ingress, RevisionSettings
from .metrics import RevisionStats
from .routing import HostRoute, RevisionKey, RouteTable, Target, choose, normalize_host

__all__ = [
    "Endpoint",
    "HostRoute",
    "Ingress",
    "RevisionKey",
    "RevisionSettings",
    "RevisionStats",
    "RouteTable",
    "Target",
    "choose",
    "normalize_host",
]
