"""The live stream behind `api/stream`: one watcher per namespace, shared by every connected client.

A watcher runs one thread per watched kind (`Client.watch`, which lists and then follows); any change wakes the
watcher's coroutine on the IOLoop, which rebuilds the snapshot at most `MAX_RATE` times a second and sends it
only when it differs from the last one. It also polls the plane's up/down state (a file look, no request) and
sends a `status` event when that changes. Subscribers are asyncio queues of `(event, data)` pairs; None ends a
subscriber's stream (the server is stopping). The last subscriber to leave stops the watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from jupyter_knative.client import Client, KnativeError

from .backend import Backend
from .snapshot import KINDS, WATCHED

__all__ = ["Hub", "Subscriber"]

T = TypeVar("T")
Subscriber = asyncio.Queue[tuple[str, str] | None]

MAX_RATE = 4.0  # snapshots per second, at most
STATUS_POLL = 2.0  # seconds between looks at the plane's state
WATCH_WINDOW = 30.0  # a watch is renewed this often (how long a stopped watcher's threads may linger)
RETRY_DOWN = 2.0  # seconds before watching again while the plane is down
RETRY_ERROR = 5.0

log = logging.getLogger(__name__)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


class Hub:
    def __init__(self, backend: Backend, executor: Executor, logger: logging.Logger | None = None) -> None:
        self.backend = backend
        self.executor = executor
        self.log = logger or log
        self._watchers: dict[str, _Watcher] = {}
        self._closed = False

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def subscribe(self, namespace: str) -> Subscriber:
        queue: Subscriber = asyncio.Queue()
        if self._closed:
            queue.put_nowait(None)
            return queue
        watcher = self._watchers.get(namespace)
        if watcher is None:
            watcher = self._watchers[namespace] = _Watcher(self, namespace)
        watcher.add(queue)
        return queue

    def unsubscribe(self, namespace: str, queue: Subscriber) -> None:
        watcher = self._watchers.get(namespace)
        if watcher is None:
            return
        watcher.subscribers.discard(queue)
        if not watcher.subscribers:
            del self._watchers[namespace]
            watcher.stop()

    @property
    def namespaces(self) -> list[str]:
        """The namespaces watched now (for tests and the log)."""
        return sorted(self._watchers)

    async def close(self) -> None:
        """End every stream (their handlers finish their responses) and stop the watchers."""
        self._closed = True
        watchers, self._watchers = list(self._watchers.values()), {}
        for watcher in watchers:
            for queue in watcher.subscribers:
                queue.put_nowait(None)
            watcher.stop()
        for watcher in watchers:
            with contextlib.suppress(asyncio.CancelledError):
                await watcher.task


class _Watcher:
    def __init__(self, hub: Hub, namespace: str) -> None:
        self.hub = hub
        self.namespace = namespace
        self.loop = asyncio.get_running_loop()
        self.subscribers: set[Subscriber] = set()
        self.snapshot: str | None = None
        self.status: str | None = None
        self.changed = asyncio.Event()
        self.stopping = threading.Event()
        self.client: Client | None = None
        self.task = asyncio.create_task(self._run(), name=f"knative-stream-{namespace}")

    def add(self, queue: Subscriber) -> None:
        self.subscribers.add(queue)
        # at once (a watcher still starting sends them to everyone when it has them): status, then snapshot
        if self.status is not None:
            queue.put_nowait(("status", self.status))
        if self.snapshot is not None:
            queue.put_nowait(("snapshot", self.snapshot))

    def stop(self) -> None:
        self.stopping.set()
        self.task.cancel()

    def _broadcast(self, event: str, data: str) -> None:
        for queue in self.subscribers:
            queue.put_nowait((event, data))

    def _wake(self) -> None:
        """From a watch thread: something changed."""
        if self.stopping.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is gone
            self.loop.call_soon_threadsafe(self.changed.set)

    async def _run(self) -> None:
        backend = self.hub.backend
        try:
            self.client = await self.hub.run(backend.new_client)
            for key in WATCHED:
                threading.Thread(target=self._watch, args=(self.client, KINDS[key]), daemon=True,
                                 name=f"knative-watch-{self.namespace}-{key}").start()
            plane: tuple[Any, ...] | None = None
            last_sent = -1e9
            while True:
                state = await self.hub.run(backend.plane_state)
                if state != plane:
                    plane = state
                    status = _dumps(await self.hub.run(backend.status))
                    if status != self.status:
                        self.status = status
                        self._broadcast("status", status)
                    self.changed.set()  # the plane came or went: look again
                if self.changed.is_set() or self.snapshot is None:
                    await asyncio.sleep(max(0.0, last_sent + 1.0 / MAX_RATE - self.loop.time()))
                    self.changed.clear()
                    await self._refresh()
                    last_sent = self.loop.time()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), STATUS_POLL)
        except asyncio.CancelledError:
            pass
        except Exception:
            self.hub.log.exception("knative stream for namespace %s failed", self.namespace)
            for queue in self.subscribers:  # its clients reconnect and get a fresh watcher
                queue.put_nowait(None)
            if self.hub._watchers.get(self.namespace) is self:
                del self.hub._watchers[self.namespace]
        finally:
            self.stopping.set()
            if self.client is not None:
                self.client.close()

    async def _refresh(self) -> None:
        try:
            snapshot = _dumps(await self.hub.run(self.hub.backend.snapshot, self.namespace))
        except KnativeError as e:
            self.hub.log.warning("knative stream: listing namespace %s failed: %s", self.namespace, e)
            return
        if snapshot != self.snapshot:
            self.snapshot = snapshot
            self._broadcast("snapshot", snapshot)

    def _watch(self, client: Client, kind: str) -> None:
        """A watch thread: wakes the watcher on every real change of `kind` in the namespace."""
        backend = self.hub.backend
        seen: dict[str, str] = {}  # name -> resourceVersion: a renewed watch lists again; those are no news
        while not self.stopping.is_set():
            if not backend.serves(kind):
                self.stopping.wait(RETRY_ERROR)
                continue
            try:
                for event, obj in client.watch(kind, namespace=self.namespace, timeout=WATCH_WINDOW):
                    if self.stopping.is_set():
                        return
                    meta = obj.get("metadata") or {}
                    name, rv = str(meta.get("name", "")), str(meta.get("resourceVersion", ""))
                    if event == "DELETED":
                        seen.pop(name, None)
                    elif seen.get(name) == rv:
                        continue
                    else:
                        seen[name] = rv
                    self._wake()
            except KnativeError as e:
                if e.reason in ("NotFound", "Forbidden", "MethodNotAllowed"):
                    backend.mark_unserved(kind)
                    continue
                self.stopping.wait(RETRY_DOWN if e.reason in ("PlaneDown", "Unreachable") else RETRY_ERROR)
            except Exception:  # a thread must not die silently: the sidebar would stop updating
                log.exception("knative stream: watching %s in %s failed", kind, self.namespace)
                self.stopping.wait(RETRY_ERROR)
