"""Host routing: which revision a request goes to. Pure: no clock, socket or randomness of its own.

A `RouteTable` maps every host name the plane publishes (`<svc>.<ns>.<domain>`,
`<tag>-<svc>.<ns>.<domain>`, the `*.svc.cluster.local` names, ...) to a `HostRoute`: the traffic
targets and their percentages. The controllers build a new table whenever a Route or Ingress
changes and hand it to the ingress whole; a table is never mutated.

`HostRoute` only knows revision targets today. Other backends (a broker's or channel's address,
path-prefix routes) can join later as further fields of `HostRoute` without touching lookups.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["HostRoute", "RevisionKey", "RouteTable", "Target", "choose", "normalize_host"]


class RevisionKey(NamedTuple):
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class Target(NamedTuple):
    revision: RevisionKey
    percent: int


@dataclass(frozen=True, slots=True)
class HostRoute:
    targets: tuple[Target, ...]
    visibility: str = "external"
    """`external` or `cluster-local`. One ingress serves both here; the value is kept for callers
    that list what is reachable from where."""

    _cumulative: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        running, cumulative = 0, []
        for target in self.targets:
            if target.percent < 0:
                raise ValueError(f"percent = {target.percent}, must be >= 0: {target.revision}")
            running += target.percent
            cumulative.append(running)
        object.__setattr__(self, "_cumulative", tuple(cumulative))


def choose(route: HostRoute, rand: float) -> RevisionKey:
    """The revision for one request, `rand` being uniform in [0, 1).

    Percentages are relative weights (they sum to 100 in a valid Route, but nothing here relies on
    it). A 0% target is never chosen while any target has a weight; when every target is at 0%
    (a tag route that was not rewritten, say) the targets share the traffic equally.
    """
    targets = route.targets
    if len(targets) == 1:
        return targets[0].revision
    if not targets:
        raise LookupError("route has no traffic targets")
    cumulative = route._cumulative
    total = cumulative[-1]
    if total <= 0:
        return targets[min(int(rand * len(targets)), len(targets) - 1)].revision
    point = rand * total
    for target, upper in zip(targets, cumulative, strict=True):
        if point < upper:
            return target.revision
    # rand was 1.0 (or rounding pushed past the end): the last target with a weight.
    for target in reversed(targets):
        if target.percent > 0:
            return target.revision
    raise AssertionError("unreachable: total > 0 implies a weighted target")


def normalize_host(host: str) -> str:
    """`Hello.Default.Example.COM.:8080` -> `hello.default.example.com` (port, trailing dot, case)."""
    return _normalize(host.encode("idna" if not host.isascii() else "ascii")).decode("ascii")


def _normalize(host: bytes) -> bytes:
    host = host.strip()
    if host.startswith(b"["):  # an IPv6 literal, with or without a port
        end = host.find(b"]")
        return host[: end + 1].lower() if end > 0 else host.lower()
    colon = host.rfind(b":")
    if colon >= 0 and host[colon + 1:].isdigit():
        host = host[:colon]
    while host.endswith(b"."):
        host = host[:-1]
    return host.lower()


class RouteTable:
    """An immutable map from host names to routes. Build it with `RouteTable.build(...)`."""

    __slots__ = ("_by_host",)

    _by_host: dict[bytes, HostRoute]

    def __init__(self) -> None:
        self._by_host = {}

    @classmethod
    def build(cls, mapping: Mapping[str, HostRoute]) -> RouteTable:
        table = cls()
        for host, route in mapping.items():
            key = _normalize(host.encode("idna" if not host.isascii() else "ascii"))
            if not key:
                raise ValueError(f"host = {host!r}, must be a host name")
            table._by_host[key] = route
        return table

    def lookup(self, host: str) -> HostRoute | None:
        try:
            raw = host.encode("idna" if not host.isascii() else "ascii")
        except UnicodeError:
            return None
        return self.lookup_bytes(raw)

    def lookup_bytes(self, host: bytes) -> HostRoute | None:
        """The hot-path form: the Host header as received."""
        route = self._by_host.get(host)
        if route is None:
            route = self._by_host.get(_normalize(host))
        return route

    def hosts(self) -> Iterator[str]:
        return (host.decode("ascii") for host in self._by_host)

    def revisions(self) -> set[RevisionKey]:
        return {target.revision for route in self._by_host.values() for target in route.targets}

    def __len__(self) -> int:
        return len(self._by_host)

    def __contains__(self, host: object) -> bool:
        return isinstance(host, str) and self.lookup(host) is not None

    def __repr__(self) -> str:
        return f"RouteTable({len(self._by_host)} hosts)"
