"""An informer: list, then watch, one resource type, keeping a read-only cache and telling handlers.

It follows client-go's reflector: after listing it watches from the list's resourceVersion; when the watch
ends it watches again from the last resourceVersion it saw, and when that is too old (`410 Gone`) it
lists again and tells the handlers what changed in between (updates for objects whose resourceVersion
moved, deletes for objects that are no longer there), so handlers never miss a final state.

Cached objects are the store's shared copies: never mutate them (copy first).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...api.status import Gone
from .clock import Clock, RealClock

if TYPE_CHECKING:
    from ...api.registry import ResourceType
    from ...store import Store, Watch, WatchEvent

log = logging.getLogger(__name__)

Obj = dict[str, Any]
OnAdd = Callable[[Obj], None]
OnUpdate = Callable[[Obj, Obj], None]
OnDelete = Callable[[Obj], None]

# Consecutive watches ending before delivering anything: wait this long (growing) before the next one.
_IDLE_BACKOFF = 0.5
_IDLE_BACKOFF_MAX = 30.0


@dataclass(frozen=True)
class EventHandler:
    on_add: OnAdd | None = None
    on_update: OnUpdate | None = None
    on_delete: OnDelete | None = None


def object_key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta.get("name") or ""


def _rv(obj: Obj) -> int:
    return int((obj.get("metadata") or {}).get("resourceVersion") or 0)


class Informer:
    def __init__(self, store: Store, rt: ResourceType, namespace: str | None = None, *,
                 clock: Clock | None = None) -> None:
        self.store = store
        self.rt = rt
        self.namespace = namespace
        self._clock: Clock = clock or RealClock()
        self._cache: dict[tuple[str, str], Obj] = {}
        self._handlers: list[EventHandler] = []
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._watch: Watch | None = None
        self.relists = 0  # how many times the informer listed (1 after start, more after `Gone`)

    def __repr__(self) -> str:
        where = f" in {self.namespace}" if self.namespace is not None else ""
        return f"<Informer {self.rt.key}{where}>"

    # --- reading ----------------------------------------------------------------------------------

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    def get(self, namespace: str, name: str) -> Obj | None:
        return self._cache.get((namespace if self.rt.namespaced else "", name))

    def list(self, namespace: str | None = None) -> list[Obj]:
        """Cached objects sorted by namespace and name, optionally of one namespace."""
        return [obj for key, obj in sorted(self._cache.items())
                if namespace is None or key[0] == namespace]

    def __len__(self) -> int:
        return len(self._cache)

    # --- handlers ---------------------------------------------------------------------------------

    def add_handler(self, on_add: OnAdd | None = None, on_update: OnUpdate | None = None,
                    on_delete: OnDelete | None = None) -> EventHandler:
        """Register callbacks; a handler added after the first list is told about cached objects as adds."""
        handler = EventHandler(on_add, on_update, on_delete)
        self._handlers.append(handler)
        if self.has_synced and on_add is not None:
            for obj in self.list():
                self._call(on_add, obj)
        return handler

    def remove_handler(self, handler: EventHandler) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)

    # --- running ----------------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name=repr(self))
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._watch is not None:
            self._watch.close()

    async def run(self) -> None:
        rv: int | None = None
        idle = 0
        while True:
            if rv is None:
                rv = self._relist()
            try:
                watch = self.store.watch(self.rt, self.namespace, since=rv)
            except Gone:
                log.info("%r: resourceVersion %s is too old, listing again", self, rv)
                rv = None
                continue
            self._watch = watch
            try:
                rv, delivered = await self._follow(watch, rv)
            finally:
                watch.close()
                self._watch = None
            if watch.error is not None:
                log.info("%r: watch ended: %s", self, watch.error.message)
            idle = 0 if delivered else idle + 1
            if idle > 1:
                await self._clock.sleep(min(_IDLE_BACKOFF * 2 ** (idle - 2), _IDLE_BACKOFF_MAX))

    async def _follow(self, watch: Watch, rv: int) -> tuple[int, bool]:
        delivered = False
        while True:
            await watch.wait()
            for event in watch.drain():
                self._apply(event)
                rv = max(rv, event.rv)
                delivered = True
            if watch.closed:
                return rv, delivered

    def _relist(self) -> int:
        entries, rv = self.store.entries(self.rt, self.namespace)
        fresh = {object_key(e.obj): e.obj for e in entries}
        old, self._cache = self._cache, fresh
        self.relists += 1
        for key, obj in old.items():
            if key not in fresh:
                self._dispatch_delete(obj)
        for key, obj in fresh.items():
            before = old.get(key)
            if before is None:
                self._dispatch_add(obj)
            elif _rv(before) != _rv(obj):
                self._dispatch_update(before, obj)
        self._synced.set()
        return rv

    def _apply(self, event: WatchEvent) -> None:
        obj = event.obj
        key = object_key(obj)
        before = self._cache.get(key)
        if event.type == "DELETED":
            if before is not None:
                del self._cache[key]
                self._dispatch_delete(obj)
            return
        if before is not None and _rv(before) >= _rv(obj):
            return  # already seen (a replay after re-watching)
        self._cache[key] = obj
        if before is None:
            self._dispatch_add(obj)
        else:
            self._dispatch_update(before, obj)

    def _dispatch_add(self, obj: Obj) -> None:
        for handler in list(self._handlers):
            if handler.on_add is not None:
                self._call(handler.on_add, obj)

    def _dispatch_update(self, old: Obj, new: Obj) -> None:
        for handler in list(self._handlers):
            if handler.on_update is not None:
                self._call(handler.on_update, old, new)

    def _dispatch_delete(self, obj: Obj) -> None:
        for handler in list(self._handlers):
            if handler.on_delete is not None:
                self._call(handler.on_delete, obj)

    def _call(self, fn: Callable[..., None], *args: Obj) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("%r: event handler %r failed", self, fn)
