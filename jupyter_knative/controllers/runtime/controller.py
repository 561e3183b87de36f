"""A controller: a work queue of keys, workers calling `reconcile(key)`, and one loop reading results.

The loop is controller-runtime's:

    reconcile raises PermanentError  -> forget the key's backoff, log, don't retry
    reconcile raises anything else   -> log, retry with per-key exponential backoff
    Result(requeue_after=seconds)    -> forget the backoff, add the key again after that long
    Result(requeue=True)             -> retry with backoff
    None or Result()                 -> forget the backoff

Reconcilers are level-based: they read the current state for the key and never trust the event that
queued it. The wiring helpers turn informer events into keys: the object's own key, its controlling
owner's key, or keys from any mapping function.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from .clock import Clock, RealClock
from .informer import Informer, Obj
from .workqueue import RateLimiter, WorkQueue

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Result:
    requeue: bool = False
    requeue_after: float | None = None


class PermanentError(Exception):
    """A reconcile failure that retrying cannot fix: logged, and the key is not retried until something
    changes (controller-runtime's `TerminalError`, kopf's `PermanentError`)."""


class ObjectKey(NamedTuple):
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @classmethod
    def of(cls, obj: Obj) -> ObjectKey:
        meta = obj.get("metadata") or {}
        return cls(meta.get("namespace") or "", meta.get("name") or "")


Reconcile = Callable[[K], Awaitable[Result | None]]


class Controller(Generic[K]):
    def __init__(self, name: str, reconcile: Reconcile[K], *, workers: int = 1,
                 clock: Clock | None = None, rate_limiter: RateLimiter[K] | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers = {workers}, must be at least 1")
        self.name = name
        self.reconcile = reconcile
        self.workers = workers
        self.clock: Clock = clock or RealClock()
        self.queue: WorkQueue[K] = WorkQueue(self.clock, rate_limiter, name=name)
        self._tasks: list[asyncio.Task[None]] = []
        self.reconciles = 0  # how many reconciles ran (for tests and metrics)

    def __repr__(self) -> str:
        return f"<Controller {self.name}>"

    # --- queueing ---------------------------------------------------------------------------------

    def enqueue(self, key: K) -> None:
        self.queue.add(key)

    def enqueue_after(self, key: K, delay: float) -> None:
        self.queue.add_after(key, delay)

    # --- running ----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    def start(self) -> None:
        if self.running:
            return
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._worker(), name=f"{self.name}-worker-{i}")
                       for i in range(self.workers)]

    async def stop(self) -> None:
        self.queue.shutdown()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            if key is None:
                return
            try:
                await self.process(key)
            finally:
                self.queue.done(key)

    async def process_next(self) -> K | None:
        """Take one key from the queue and reconcile it (tests drive controllers with this)."""
        key = await self.queue.get()
        if key is None:
            return None
        try:
            await self.process(key)
        finally:
            self.queue.done(key)
        return key

    async def process(self, key: K) -> None:
        """Reconcile one key and act on the outcome."""
        self.reconciles += 1
        try:
            result = await self.reconcile(key)
        except PermanentError as e:
            log.error("%s: reconciling %s failed permanently, not retrying: %s", self.name, key, e)
            self.queue.forget(key)
            return
        except Exception:
            log.exception("%s: reconciling %s failed, retrying with backoff", self.name, key)
            self.queue.add_rate_limited(key)
            return
        if result is not None and result.requeue_after is not None and result.requeue_after > 0:
            self.queue.forget(key)
            self.queue.add_after(key, result.requeue_after)
        elif result is not None and result.requeue:
            self.queue.add_rate_limited(key)
        else:
            self.queue.forget(key)

    # --- wiring -----------------------------------------------------------------------------------

    def watch(self, informer: Informer, mapper: Callable[[Obj], Iterable[K]]) -> None:
        """Enqueue the keys `mapper` gives for every object the informer adds, updates (old and new
        states) or deletes."""
        def enqueue_all(*objs: Obj) -> None:
            keys: list[K] = []
            for obj in objs:
                keys.extend(k for k in mapper(obj) if k not in keys)
            for key in keys:
                self.enqueue(key)

        informer.add_handler(on_add=enqueue_all, on_update=enqueue_all, on_delete=enqueue_all)


def controller_of(obj: Obj, group: str | None = None, kind: str | None = None) -> dict[str, Any] | None:
    """The ownerReference with `controller: true` (of that API group and kind, when given), or None."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if not ref.get("controller"):
            continue
        ref_group = str(ref.get("apiVersion") or "").rpartition("/")[0]
        if (group is None or ref_group == group) and (kind is None or ref.get("kind") == kind):
            return dict(ref)
        return None  # there is at most one controller reference
    return None


def watch_objects(controller: Controller[ObjectKey], informer: Informer) -> None:
    """Enqueue the object's own key (controller-runtime's `EnqueueRequestForObject`)."""
    controller.watch(informer, lambda obj: [ObjectKey.of(obj)])


def watch_owned(controller: Controller[ObjectKey], informer: Informer, group: str, kind: str) -> None:
    """Enqueue the key of the object's controlling owner of that group and kind, in the object's
    namespace (`EnqueueRequestForOwner` with `OnlyControllerOwner`)."""
    def owner(obj: Obj) -> list[ObjectKey]:
        ref = controller_of(obj, group, kind)
        if ref is None or not ref.get("name"):
            return []
        return [ObjectKey(ObjectKey.of(obj).namespace, str(ref["name"]))]

    controller.watch(informer, owner)


def watch_mapped(controller: Controller[K], informer: Informer, mapper: Callable[[Obj], Iterable[K]]) -> None:
    """Enqueue whatever keys `mapper` returns for each object (`EnqueueRequestsFromMapFunc`)."""
    controller.watch(informer, mapper)
