"""The manager: shared informers, the controllers fed by them, and free-running loops, started and stopped
together (controller-runtime's `Manager`).

`start` starts the informers, waits until each has listed once (so a controller's first reconciles see a
full cache), then starts the controllers' workers and the runnables. `stop` shuts the queues down and
cancels and awaits every task, so nothing is left pending when the loop closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .clock import Clock, RealClock
from .controller import Controller
from .informer import Informer

if TYPE_CHECKING:
    from ...api.registry import ResourceType
    from ...store import Store

log = logging.getLogger(__name__)

Runnable = Callable[[], Awaitable[None]]


class Manager:
    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or RealClock()
        self._informers: dict[tuple[str, str | None], Informer] = {}
        self._controllers: list[Controller[Any]] = []
        self._runnables: list[tuple[str, Runnable]] = []
        self._runnable_tasks: list[asyncio.Task[None]] = []
        self._started = False

    @property
    def started(self) -> bool:
        return self._started

    @property
    def controllers(self) -> tuple[Controller[Any], ...]:
        return tuple(self._controllers)

    def informer(self, rt: ResourceType, namespace: str | None = None) -> Informer:
        """The shared informer of a type (in one namespace, or all when None)."""
        key = (rt.key, namespace)
        informer = self._informers.get(key)
        if informer is None:
            informer = self._informers[key] = Informer(self.store, rt, namespace, clock=self.clock)
            if self._started:
                informer.start()
        return informer

    def add(self, controller: Controller[Any]) -> None:
        if controller in self._controllers:
            return
        self._controllers.append(controller)
        if self._started:
            controller.start()

    def add_runnable(self, name: str, run: Runnable) -> None:
        """A loop to run beside the controllers until the manager stops (it is cancelled then)."""
        self._runnables.append((name, run))
        if self._started:
            self._start_runnable(name, run)

    def controller(self, name: str) -> Controller[Any]:
        for c in self._controllers:
            if c.name == name:
                return c
        raise KeyError(name)

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        informers = list(self._informers.values())
        await asyncio.gather(*(self._sync(informer) for informer in informers))
        for controller in self._controllers:
            controller.start()
        for name, run in self._runnables:
            self._start_runnable(name, run)

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        tasks, self._runnable_tasks = self._runnable_tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*(c.stop() for c in self._controllers), *tasks, return_exceptions=True)
        await asyncio.gather(*(i.stop() for i in self._informers.values()), return_exceptions=True)

    async def __aenter__(self) -> Manager:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _sync(self, informer: Informer) -> None:
        task = informer.start()
        synced = asyncio.get_running_loop().create_task(informer.wait_synced())
        await asyncio.wait({task, synced}, return_when=asyncio.FIRST_COMPLETED)
        if synced.done():
            return
        synced.cancel()
        await asyncio.gather(synced, return_exceptions=True)
        task.result()  # the informer died before listing: raise its error
        raise RuntimeError(f"{informer!r} stopped before it synced")

    def _start_runnable(self, name: str, run: Runnable) -> None:
        async def guarded() -> None:
            try:
                await run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("runnable %s failed", name)

        self._runnable_tasks.append(asyncio.get_running_loop().create_task(guarded(), name=name))
