"""Fixtures for the data plane: the ingress on a real loopback socket, on uvloop like the daemon,
with a seeded random source and a record of activation calls."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
import uvloop

from jupyter_knative.dataplane import (
    Endpoint,
    HostRoute,
    Ingress,
    RevisionKey,
    RevisionSettings,
    RouteTable,
    Target,
)

from .replicas import Replica

HELLO = RevisionKey("default", "hello-00001")
HOST = "hello.default.example.com"


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Callable[[], object]]:
    """Every ingress test runs on uvloop (what the daemon uses) and on the standard loop."""
    return {"uvloop": uvloop.new_event_loop, "asyncio": asyncio.new_event_loop}


@dataclass
class Plane:
    """An ingress plus the helpers most tests need."""

    ingress: Ingress
    activations: list[RevisionKey] = field(default_factory=list)
    replicas: list[Replica] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.ingress.port

    def route(self, host: str, *targets: tuple[RevisionKey, int], **more: HostRoute) -> None:
        routes = {host: HostRoute(tuple(Target(k, p) for k, p in targets))}
        routes.update({h.replace("_", "."): r for h, r in more.items()})
        self.ingress.set_routes(RouteTable.build(routes))

    async def replica(self, name: str = "replica", **kw: object) -> Replica:
        replica = await Replica(name, **kw).start()  # type: ignore[arg-type]
        self.replicas.append(replica)
        return replica

    async def serve(self, key: RevisionKey = HELLO, host: str = HOST, settings: RevisionSettings | None = None,
                    replicas: int = 1, **kw: object) -> list[Replica]:
        """`host` -> `key` with `replicas` fresh replicas ready."""
        made = [await self.replica(f"{key.name}-{i}", **kw) for i in range(replicas)]
        self.route(host, (key, 100))
        self.ingress.set_revision(key, settings or RevisionSettings())
        self.ingress.set_endpoints(key, [r.endpoint() for r in made])
        return made


@pytest.fixture
async def plane() -> AsyncIterator[Plane]:
    async with _plane() as p:
        yield p


class _plane:
    def __init__(self, **options: object) -> None:
        self.options = options

    async def __aenter__(self) -> Plane:
        activations: list[RevisionKey] = []
        options = {"rng": random.Random(7), "on_activate": activations.append, **self.options}
        ingress = Ingress(**options)  # type: ignore[arg-type]
        await ingress.start("127.0.0.1", 0)
        self.plane = Plane(ingress, activations)
        return self.plane

    async def __aexit__(self, *exc: object) -> None:
        await self.plane.ingress.stop(grace=0)
        for replica in self.plane.replicas:
            await replica.stop()
        await asyncio.sleep(0)


@pytest.fixture
def plane_with() -> Callable[..., _plane]:
    """`async with plane_with(queue_depth=2) as plane:` for an ingress with other options."""
    return _plane


def endpoints(*replicas: Replica) -> list[Endpoint]:
    return [r.endpoint() for r in replicas]
