"""InMemoryChannel's receiver: an event posted to a channel is enqueued for all of its subscribers.

IMC's contract for a direct POST: 202 once every subscriber got the event (a failure the dead letter
sink then took counts as success), 500 when one did not, or 202 as soon as the event is durable
when the channel is annotated `messaging.knative.dev/async-handler: "true"`. The fan-out wait is
bounded by 15 minutes (then 500). In-process enqueues (replies, sources) never wait for the fan-out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .broker import WEBHOOK_HEADERS, Reply, text_headers
from .cloudevent import CloudEvent, InvalidCloudEvent, NotACloudEvent, from_http
from .delivery import pass_through_headers
from .dispatch import Dispatcher, FanOut, TextHeaders
from .model import ChannelInfo
from .queue import Journal

__all__ = ["FANOUT_TIMEOUT", "ChannelReceiver"]

FANOUT_TIMEOUT = 15 * 60.0


class ChannelReceiver:
    """`POST` to `<name>-kn-channel.<ns>.svc.cluster.local`."""

    def __init__(self, channels: dict[tuple[str, str], ChannelInfo], dispatcher: Dispatcher, journal: Journal,
                 fanout_timeout: float = FANOUT_TIMEOUT) -> None:
        self.channels = channels
        self.dispatcher = dispatcher
        self.journal = journal
        self.fanout_timeout = fanout_timeout

    async def handle(self, method: str, namespace: str, name: str, headers: Sequence[tuple[bytes, bytes]],
                     body: bytes) -> Reply:
        if method == "OPTIONS":
            return 200, list(WEBHOOK_HEADERS), b""
        if method != "POST":
            return 405, [(b"allow", b"POST, OPTIONS")], b""
        try:
            event = from_http(headers, body)
        except (NotACloudEvent, InvalidCloudEvent):
            return 400, [], b""
        channel = self.channels.get((namespace, name))
        if channel is None:
            return 404, [], b""
        group = None if channel.async_handler else FanOut(sum(1 for s in channel.subscribers if s.uri is not None))
        try:
            self.dispatcher.enqueue(channel, event, pass_through_headers(text_headers(headers)), group)
            await self.journal.committed()
        except ConnectionError:
            return 500, [], b""
        if group is None:
            return 202, [], b""
        try:
            ok = await asyncio.wait_for(asyncio.shield(group.future), self.fanout_timeout)
        except TimeoutError:
            return 500, [], b""
        return (202 if ok else 500), [], b""

    def accept(self, namespace: str, name: str, event: CloudEvent, headers: TextHeaders) -> int:
        """In process: enqueue in the open transaction (no fan-out wait). 404 for an unknown channel."""
        channel = self.channels.get((namespace, name))
        if channel is None:
            return 404
        try:
            self.dispatcher.enqueue(channel, event, pass_through_headers(headers))
        except ConnectionError:
            return 500
        return 202
