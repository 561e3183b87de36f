"""The embedded control plane's daemon: one process holding the store, the API server, the
controllers and the data plane. `jupyter knative up` starts it as `python -m jupyter_knative.apiserver`.

It holds an exclusive lock on the home's lock file for its whole life (a second daemon for the same
home exits with code 3), writes `daemon.json` once it serves, and on SIGTERM or SIGINT stops
everything it started, clears `daemon.json` and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from .._version import __version__
from ..api.kinds import registry as build_registry
from ..build import StepRunner
from ..controllers import default_controllers
from ..controllers.build import new_build
from ..controllers.eventing import new_eventing
from ..controllers.replicaset import ReplicaSetController
from ..controllers.runtime import ObjectKey, RealClock
from ..controllers.serving import Serving
from ..controllers.serving.dataplane_link import IngressLink
from ..controllers.serving.images import ImageResolver
from ..credentials import ensure_credentials, server_ssl_context, write_kubeconfig
from ..dataplane import Endpoint, HostRoute, Ingress, RevisionKey, RevisionSettings, Target
from ..dataplane.replicas import ZygoteRuntime
from ..eventing.plane import EventingPlane
from ..eventing.routes import serves_host
from ..home import DaemonState, PlaneHome
from ..runtime.clusterdns import INGRESS_ENV
from ..store import Store
from .app import APIServer
from .podproxy import Forwarder, PodProxy, ServiceProxy
from .resources import LogSource, ResourceAPI
from .seed import seed

log = logging.getLogger("jupyter_knative.daemon")
LOOPBACK = "127.0.0.1"
EXIT_LOCKED = 3


# The eventing data plane behind the ingress, as one more backend: the broker ingress and filter and the
# channels' hosts route to it (Knative's broker-ingress, broker-filter and imc-dispatcher Services).
EVENTING_BACKEND = RevisionKey("knative-eventing", "eventing-dispatcher")
_EVENTING_ROUTE = HostRoute((Target(EVENTING_BACKEND, 100),), "cluster-local")


def _eventing_route(host: bytes) -> HostRoute | None:
    return _EVENTING_ROUTE if serves_host(host.decode("ascii", "replace")) else None


def _bind(preferred: int | None) -> socket.socket:
    """A listening socket on loopback, on the preferred port when it is free (so kubeconfigs stay valid
    across restarts), else on a free one."""
    for port in ([preferred] if preferred else []) + [0]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            sock.close()
            continue
        sock.listen(1024)
        sock.setblocking(False)
        return sock
    raise OSError("no free port on loopback")


class Daemon:
    def __init__(self, home: PlaneHome, api_port: int | None = None, ingress_port: int | None = None) -> None:
        self.home = home
        self.api_port = api_port
        self.ingress_port = ingress_port
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        creds = ensure_credentials(self.home)
        clock = RealClock()
        store = Store(build_registry(), self.home.db, clock=clock.now)
        seed(store)
        manager = default_controllers(store, clock)
        runtime = ZygoteRuntime(artifacts=self.home.artifacts, logs=self.home.container_logs,
                                workdir=self.home.run_dir)
        ingress = Ingress(on_activate=lambda key: serving.activate(key))
        serving = Serving(manager, IngressLink(ingress), runtime, ImageResolver(self.home.artifacts))
        ingress_address: list[tuple[str, int]] = []
        events = EventingPlane(self.home.eventing_db, store=store, resolve_http=lambda host: (
            ingress_address[0] if ingress_address and (ingress.routes_host(host) or _cluster_local(host)) else None))
        new_eventing(manager, events)
        steps = StepRunner(artifacts=self.home.artifacts, logs=self.home.container_logs, clock=clock)
        builds = new_build(manager, steps, workspaces=self.home.root / "builds")
        forwarder = Forwarder()
        server = APIServer(ResourceAPI(store, clock=clock.now, log_source=_logs(steps, runtime)),
                           metrics=lambda: ingress.metrics_text() + serving.kpa.metrics_text() + events.metrics_text(),
                           recent=events.recent,
                           pods=PodProxy(store, _PodBackend(serving.replicasets, ingress), forwarder),
                           services=ServiceProxy(store, lambda: ingress_address[0] if ingress_address else None,
                                                 forwarder))
        runner = web.AppRunner(server.app(creds.token), handler_cancellation=True, access_log=None,
                               shutdown_timeout=2.0)
        await runner.setup()
        settings = self.home.read_settings()
        api_sock = _bind(self.api_port or settings.get("api_port"))
        ingress_sock = _bind(self.ingress_port or settings.get("ingress_port"))
        events_sock = _bind(settings.get("eventing_port"))
        api_port, ingress_port = api_sock.getsockname()[1], ingress_sock.getsockname()[1]
        events_port = events_sock.getsockname()[1]
        site = web.SockSite(runner, api_sock, ssl_context=server_ssl_context(creds))
        await site.start()
        await ingress.start(LOOPBACK, sock=ingress_sock)
        ingress_address.append((LOOPBACK, ingress_port))
        # Replicas (zygotes inherit this environment) reach cluster-local names through the ingress.
        os.environ[INGRESS_ENV] = f"http://{LOOPBACK}:{ingress_port}"
        await events.start(LOOPBACK, sock=events_sock)
        # IMC fan-out may take 15 minutes (Knative's limit), so the ingress waits as long for the backend.
        ingress.set_revision(EVENTING_BACKEND, RevisionSettings(timeout_seconds=900, service_name="eventing"))
        ingress.set_endpoints(EVENTING_BACKEND, [Endpoint(LOOPBACK, events_port, "eventing-dispatcher")])
        ingress.set_fallback(_eventing_route)
        ports = {"api_port": api_port, "ingress_port": ingress_port, "eventing_port": events_port}
        if any(settings.get(key) != value for key, value in ports.items()):
            self.home.write_settings({**settings, **ports})
        api_url, ingress_url = f"https://{LOOPBACK}:{api_port}", f"http://{LOOPBACK}:{ingress_port}"
        kubeconfig = write_kubeconfig(self.home, api_url, creds)
        await manager.start()
        self.home.write_state(DaemonState(pid=os.getpid(), api=api_url, ingress=ingress_url,
                                          kubeconfig=str(kubeconfig), started=time.time(), version=__version__))
        log.info("serving: API %s, ingress %s", api_url, ingress_url)
        try:
            await self.stopping.wait()
        finally:
            log.info("stopping")
            self.home.clear_state()
            server.ready = False
            store.close_watches()
            await ingress.stop()
            await runner.cleanup()
            await builds.shutdown()
            await manager.stop()
            await events.stop()
            await runtime.close()
            store.close()
            log.info("stopped")


class _PodBackend:
    """The pod proxy's view of the replicas: a pod's replica port, and its queue-proxy (the ingress) metrics."""

    def __init__(self, replicas: ReplicaSetController, ingress: Ingress) -> None:
        self.replicas = replicas
        self.ingress = ingress

    def replica_port(self, namespace: str, pod: str) -> int | None:
        replica = self.replicas.replicas.get(ObjectKey(namespace, pod))
        return replica.port if replica is not None and replica.pid is not None else None

    def queue_proxy_metrics(self, namespace: str, pod: str, revision: str) -> bytes:
        return self.ingress.pod_metrics_text(RevisionKey(namespace, revision), pod)


def _logs(steps: StepRunner, runtime: ZygoteRuntime) -> LogSource:
    """`kubectl logs`: a running build's pod follows its steps; any other pod (a finished build's included:
    both keep logs in the same layout) is read from the replicas' runtime."""

    def source(namespace: str, pod: str, container: str, follow: bool, tail: int | None,
               previous: bool = False) -> AsyncIterator[bytes]:
        owner = steps if steps.running(namespace, pod) else runtime
        return owner.log_stream(namespace, pod, container, follow, tail, previous)

    return source


def _cluster_local(host: str) -> bool:
    """Cluster-local names reach the plane's ingress even when no route holds them (it answers 404 as Envoy)."""
    name = host.rstrip(".").lower()
    return name.endswith((".svc", ".svc.cluster.local"))


def _take_lock(home: PlaneHome, patience: float = 1.0) -> int | None:
    """The home's exclusive lock, held for the daemon's life; its content is our pid. Retried briefly,
    since liveness probes (`daemon_running`) hold a shared lock for an instant."""
    fd = os.open(home.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.05)
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_knative.apiserver",
                                     description="Run the jupyter-knative embedded control plane (foreground).")
    parser.add_argument("--home", type=Path, help="state directory (default: $JUPYTER_KNATIVE_HOME)")
    parser.add_argument("--api-port", type=int, help="API server port (default: the last one, else free)")
    parser.add_argument("--ingress-port", type=int, help="ingress port (default: the last one, else free)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    home = PlaneHome(args.home.expanduser().resolve()) if args.home else PlaneHome.default()
    home.ensure()
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    lock = _take_lock(home)
    if lock is None:
        print(f"jupyter-knative: another daemon is running for {home.root}", file=sys.stderr)
        return EXIT_LOCKED
    run = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop
        run = uvloop.run
    try:
        run(Daemon(home, args.api_port, args.ingress_port).run())
    finally:
        os.close(lock)
    return 0
