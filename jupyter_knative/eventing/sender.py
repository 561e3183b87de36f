"""Where an event sent to a URL goes: in-process for the plane's own hosts, HTTP for everything else.

- `broker-filter…` → the trigger filter, called directly;
- `broker-ingress…` and `<name>-kn-channel.<ns>…` → enqueued directly (synchronously, in the journal's
  open transaction, so the caller's own bookkeeping commits with it);
- any other URL → HTTP POST through the keep-alive client, to the address `resolve_http(host)` gives
  (the serving ingress, which routes by Host) or, when that is None, to the URL's own host and port.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from .cloudevent import CloudEvent, to_binary, to_structured
from .dispatch import Outcome, TextHeaders
from .httpclient import HttpClient
from .routes import Kind, Target, classify_url

__all__ = ["InProcess", "Resolver", "Sender"]

Resolver = Callable[[str], tuple[str, int] | None]
_CACHE_LIMIT = 4096


class InProcess(Protocol):
    """The plane's own endpoints, as the sender calls them."""

    def filter(self, path: str, event: CloudEvent, headers: TextHeaders,
               timeout: float | None) -> Awaitable[Outcome]: ...

    def ingress(self, path: str, event: CloudEvent, headers: TextHeaders) -> int: ...

    def channel(self, namespace: str, name: str, event: CloudEvent, headers: TextHeaders) -> int: ...


class Sender:
    """Implements the dispatcher's `Transport`."""

    def __init__(self, client: HttpClient, resolve_http: Resolver) -> None:
        self.client = client
        self.resolve_http = resolve_http
        self.local: InProcess | None = None
        self._targets: dict[str, Target | None] = {}

    def target(self, url: str) -> Target | None:
        target = self._targets.get(url, False)
        if target is False:
            try:
                target = classify_url(url)
            except ValueError:
                target = None
            if len(self._targets) >= _CACHE_LIMIT:
                self._targets.clear()
            self._targets[url] = target
        return target  # type: ignore[return-value]

    def is_internal(self, url: str) -> bool:
        target = self.target(url)
        return target is not None and target.kind is not Kind.HTTP

    async def send(self, url: str, event: CloudEvent, headers: TextHeaders, timeout: float | None,
                   structured: bool) -> Outcome:
        target = self.target(url)
        if target is None:
            return Outcome(None, error=f'parse "{url}": not an absolute http URL')
        kind = target.kind
        if kind is not Kind.HTTP:
            local = self.local
            assert local is not None, "the sender has no in-process endpoints"
            if kind is Kind.FILTER:
                return await local.filter(target.path, event, headers, timeout)
            if kind is Kind.INGRESS:
                return Outcome(local.ingress(target.path, event, headers), parsed=True)
            assert target.channel is not None
            return Outcome(local.channel(target.channel[0], target.channel[1], event, headers), parsed=True)
        return await self.post(target, event, headers, timeout, structured)

    async def post(self, target: Target, event: CloudEvent, headers: TextHeaders, timeout: float | None,
                   structured: bool) -> Outcome:
        resolved = self.resolve_http(target.host)
        addr = resolved or (target.host, target.port)
        tls_name = target.host if resolved is None and target.url[:6].lower() == "https:" else None
        raw, body = to_structured(event) if structured else to_binary(event)
        for name, value in headers:
            raw.append((name.encode("latin-1"), value.encode("latin-1", "replace")))
        try:
            resp = await self.client.request(addr, b"POST", target.path.encode("latin-1"),
                                             target.authority.encode("latin-1"), raw, body, timeout,
                                             tls_name=tls_name)
        except TimeoutError:
            return Outcome(None, error=f'Post "{target.url}": context deadline exceeded')
        except OSError as exc:
            return Outcome(None, error=f'Post "{target.url}": {exc}')
        return Outcome(resp.status, resp.headers, resp.body)
