"""The REST handlers under `{base_url}knative/api/`: authenticated and authorized by jupyter_server, JSON in and
out (logs are text, the stream is Server-Sent Events). Every call into the synchronous client runs in the
extension's thread pool; a `KnativeError` becomes `{"message", "reason", "hint"}` with a status from its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.iostream import StreamClosedError

from jupyter_knative.client import KnativeError

from .backend import PlaneControlError

if TYPE_CHECKING:
    from .extension import KnativeState

__all__ = ["AUTH_RESOURCE", "DNS_LABEL", "error_status"]

T = TypeVar("T")

AUTH_RESOURCE = "knative"
DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_DNS_LABEL = re.compile(DNS_LABEL + r"\Z")

_STATUS_BY_REASON = {
    "NotFound": 404,
    "Invalid": 422,
    "BadRequest": 400,
    "Conflict": 409,
    "AlreadyExists": 409,
    "Forbidden": 403,
    "MethodNotAllowed": 405,
    "Expired": 410,
    "TooManyRequests": 429,
    "PlaneDown": 503,
    "Unreachable": 502,
    "Timeout": 504,
    "NotSupported": 409,
}


def error_status(e: KnativeError) -> int:
    """The HTTP status for a client failure. The backend's own 401 (our credentials, not the Jupyter user's)
    and 5xx become 502, so the labextension never mistakes them for a lapsed Jupyter login."""
    if e.reason in _STATUS_BY_REASON:
        return _STATUS_BY_REASON[e.reason]
    if e.code is not None and 400 <= e.code < 500 and e.code != 401:
        return e.code
    return 502 if e.code is not None else 500


class KnativeHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    def initialize(self, state: KnativeState) -> None:
        self.state = state

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in the thread pool; a `KnativeError` ends the request with its JSON."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self.state.executor, fn, *args)
        except KnativeError as e:
            raise _Failed(error_status(e), {"message": e.message, "reason": e.reason or "Error",
                                            "hint": e.hint or None}) from None
        except PlaneControlError as e:
            raise _Failed(500, {"message": e.message, "reason": "PlaneDown", "hint": "\n".join(e.log_tail) or None,
                                "log": list(e.log_tail)}) from None

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        if isinstance(exc, _Failed):
            self.set_header("Content-Type", "application/json")
            self.finish(exc.body)
            return
        super().write_error(status_code, **kwargs)

    def namespace_arg(self) -> str:
        namespace = self.get_query_argument("namespace", "") or self.state.backend.namespace
        return check_label(namespace, "namespace")


class _Failed(web.HTTPError):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, str(body.get("message", "")))
        self.body = body


def check_label(value: str, what: str) -> str:
    if not _DNS_LABEL.match(value):
        raise web.HTTPError(400, f"{what} = {value!r}, must be a DNS label (lower-case letters, digits and '-')")
    return value


class StatusHandler(KnativeHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(await self.call(self.state.backend.status))


class PlaneHandler(KnativeHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.get_json_body()
        action = body.get("action") if isinstance(body, dict) else None
        if action not in ("start", "stop"):
            raise web.HTTPError(400, 'the body must be {"action": "start"} or {"action": "stop"}')
        backend = self.state.backend
        self.finish(await self.call(backend.start if action == "start" else backend.stop))


class NamespacesHandler(KnativeHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish({"items": await self.call(self.state.backend.namespaces)})


class ObjectsHandler(KnativeHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(await self.call(self.state.backend.snapshot, self.namespace_arg()))


class ObjectHandler(KnativeHandler):
    @web.authenticated
    @authorized
    async def delete(self, kind: str, namespace: str, name: str) -> None:
        await self.call(self.state.backend.delete, kind, namespace, name)
        self.finish({})


class LogsHandler(KnativeHandler):
    @web.authenticated
    @authorized
    async def get(self, namespace: str, service: str) -> None:
        raw = self.get_query_argument("tail", "")
        if raw and not raw.isdigit():
            raise web.HTTPError(400, f"tail = {raw!r}, must be a number of lines")
        text = await self.call(self.state.backend.logs, namespace, service, int(raw) if raw else None)
        self.finish(text, set_content_type="text/plain; charset=utf-8")


class StreamHandler(KnativeHandler):
    """`text/event-stream` of the namespace's snapshots and the plane's status, until either side goes."""

    _queue: asyncio.Queue[tuple[str, str] | None] | None = None
    _gone = False  # the client disconnected

    @web.authenticated
    @authorized
    async def get(self) -> None:
        namespace = self.namespace_arg()
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache, no-store")
        self.set_header("X-Accel-Buffering", "no")  # nginx (JupyterHub's proxies) must not hold events back
        hub = self.state.hub
        queue = self._queue = hub.subscribe(namespace)
        try:
            await self.flush()
            while not self._gone:
                try:
                    item = await asyncio.wait_for(queue.get(), self.state.keepalive)
                except TimeoutError:
                    self.write(": keep-alive\n\n")
                else:
                    if item is None:
                        break
                    event, data = item
                    self.write(f"event: {event}\ndata: {data}\n\n")
                await self.flush()
        except StreamClosedError:
            return
        finally:
            hub.unsubscribe(namespace, queue)
        if not self._gone:  # the server is stopping: end the response properly
            with contextlib.suppress(StreamClosedError):
                await self.finish(set_content_type="text/event-stream; charset=utf-8")

    def on_connection_close(self) -> None:
        self._gone = True
        if self._queue is not None:
            self._queue.put_nowait(None)
        super().on_connection_close()
