"""The eventing data plane, composed: what the controllers drive and the daemon serves.

`EventingPlane` implements the controllers' `EventingDataPlane` protocol (`set_broker`, `set_trigger`,
`set_channel`, `set_ping_source`, `set_apiserver_source`), serves broker ingress, trigger filter and
InMemoryChannel hosts on one loopback port (the serving ingress forwards those hosts to it), keeps
its queues in one SQLite file, and sends events for the sources (`send`).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..runtime.http import Server, ServerConfig
from ..store import Store
from .apiserversource import ApiServerSourceAdapter
from .app import make_app
from .broker import BrokerIngress, TriggerFilter
from .channel import FANOUT_TIMEOUT, ChannelReceiver
from .cloudevent import CloudEvent
from .dispatch import Dispatcher, Outcome, TextHeaders
from .httpclient import HttpClient
from .metrics import Metrics
from .model import BrokerInfo, ChannelInfo, TriggerInfo, broker_info, channel_info, trigger_info
from .ping import PingScheduler
from .queue import Journal
from .sender import Resolver, Sender

__all__ = ["EventingPlane"]

log = logging.getLogger(__name__)


class _Local:
    """The sender's way into the plane's own endpoints."""

    def __init__(self, plane: EventingPlane) -> None:
        self.plane = plane

    async def filter(self, path: str, event: CloudEvent, headers: TextHeaders, timeout: float | None) -> Outcome:
        return await self.plane.trigger_filter.dispatch(path, event, headers, timeout)

    def ingress(self, path: str, event: CloudEvent, headers: TextHeaders) -> int:
        return self.plane.ingress.accept_path(path, event, headers)

    def channel(self, namespace: str, name: str, event: CloudEvent, headers: TextHeaders) -> int:
        return self.plane.channel_receiver.accept(namespace, name, event, headers)


class EventingPlane:
    """Broker ingress, trigger filter, channel dispatch, durable delivery and the sources' adapters."""

    def __init__(self, db_path: Path, *, resolve_http: Resolver = lambda host: None,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 window: int = 64, store: Store | None = None, fanout_timeout: float = FANOUT_TIMEOUT,
                 shutdown_grace: float = 2.0) -> None:
        self.metrics = Metrics()
        self.journal = Journal(db_path)
        self.client = HttpClient()
        self.sender = Sender(self.client, resolve_http)
        self.dispatcher = Dispatcher(self.journal, self.sender, self.metrics, wall=wall, window=window)
        self.brokers: dict[tuple[str, str], BrokerInfo] = {}
        self.triggers: dict[tuple[str, str], TriggerInfo] = {}
        self.channels: dict[tuple[str, str], ChannelInfo] = {}
        self.ingress = BrokerIngress(self.brokers, self.channels, self.dispatcher, self.journal, self.metrics,
                                     wall=wall, clock=clock)
        self.trigger_filter = TriggerFilter(self.triggers, self.brokers, self.ingress, self.sender, self.metrics,
                                            clock=clock)
        self.channel_receiver = ChannelReceiver(self.channels, self.dispatcher, self.journal, fanout_timeout)
        self.sender.local = _Local(self)
        self.app = make_app(self.ingress, self.trigger_filter, self.channel_receiver)
        self.ping = PingScheduler(self.send)
        self.apiserver = ApiServerSourceAdapter(store, self.send) if store is not None else None
        self.shutdown_grace = shutdown_grace
        self.port = 0
        self._server: Server | None = None

    # the controllers' protocol

    def set_broker(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        if obj is None:
            self.brokers.pop((namespace, name), None)
        else:
            self.brokers[(namespace, name)] = broker_info(namespace, name, obj)

    def set_trigger(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        if obj is None:
            self.triggers.pop((namespace, name), None)
            return
        try:
            self.triggers[(namespace, name)] = trigger_info(namespace, name, obj)
        except (ValueError, TypeError, KeyError) as exc:  # a filter the webhook should have refused
            log.warning("trigger %s/%s is not usable: %s", namespace, name, exc)
            self.triggers.pop((namespace, name), None)

    def set_channel(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        info = channel_info(namespace, name, obj) if obj is not None else None
        if info is None:
            self.channels.pop((namespace, name), None)
        else:
            self.channels[(namespace, name)] = info
        self.dispatcher.set_channel(namespace, name, info)

    def set_ping_source(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        self.ping.set_source(namespace, name, obj)

    def set_apiserver_source(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        if self.apiserver is not None:
            self.apiserver.set_source(namespace, name, obj)

    # life cycle

    async def start(self, host: str = "127.0.0.1", sock: socket.socket | None = None) -> None:
        """Resume what the journal holds, then serve on `sock` (or a new socket on `host`, any port)."""
        self.dispatcher.restore(self.journal.load())
        self.journal.flush()
        self.dispatcher.start()
        if sock is None:
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, 0))
        self.port = int(sock.getsockname()[1])
        self._server = Server(self.app, sock, ServerConfig(lifespan="off"))
        await self._server.start()
        await self.ping.start()
        if self.apiserver is not None:
            await self.apiserver.start()

    async def stop(self) -> None:
        """Stop serving and sending. Deliveries not finished stay in the journal for the next start."""
        await self.ping.stop()
        if self.apiserver is not None:
            await self.apiserver.stop()
        if self._server is not None:
            await self._server.shutdown(self.shutdown_grace)
            self._server = None
        await self.dispatcher.stop()
        self.journal.flush()
        self.journal.close()
        self.client.close()

    # for sources, metrics and widgets

    async def send(self, uri: str, event: CloudEvent) -> int:
        """Send one event (binary mode) and return the status. Raises `ConnectionError` when no response came."""
        out = await self.sender.send(uri, event, [], None, False)
        if out.status is None:
            raise ConnectionError(out.error)
        if out.parsed and 200 <= out.status < 300:
            await self.journal.committed()  # in process: accepted means durable, as over HTTP
        return out.status

    def metrics_text(self) -> bytes:
        """Prometheus text format 0.0.4."""
        return self.metrics.render()

    def trigger_stats(self) -> dict[tuple[str, str], dict[str, int]]:
        """(namespace, trigger) → {delivered, retried, failed, dead_lettered}."""
        return self.metrics.trigger_stats()

    def flow_stats(self) -> dict[tuple[str, str, str], dict[str, int]]:
        """(namespace, channel, subscriber uid) → {delivered, retried, failed, dead_lettered}."""
        return self.metrics.flow_stats()

    def pending(self) -> int:
        """Deliveries not finished yet."""
        return self.dispatcher.pending()

    def recent(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """The last deliveries (up to 20) of every trigger and channel subscription, in `namespace` or all,
        oldest first: `id`, `type`, `source`, `subject`, `time` of the event; `outcome` (delivered, failed,
        dead_lettered), `response_code` (the subscriber's last answer; None without one), `attempts` (at the
        subscriber; 0 when unknown after a restart) and `at` (when it finished); and whose: `namespace`,
        `channel`, `subscription_uid`, `subscription_name`, `broker`, `trigger`."""
        return self.dispatcher.recent(namespace)
