"""Turn a user's module into the ASGI application a replica serves.

What is served, in this order (or the object named by `entrypoint`, classified the same way):

1. `new()` — kn func's Python template: the instance's `async handle(scope, receive, send)`, with its
   `start(cfg)`/`stop()` run at lifespan startup/shutdown, `alive()`/`ready()` behind
   `/health/liveness` and `/health/readiness`, and (as func-python's CloudEvent middleware does) a
   CloudEvent request decoded into `scope["event"]` with a `send` that also accepts an event.
2. Functions registered with functions-framework's decorators, when the module imported it: served by
   *its* Flask (or Starlette, for `@functions_framework.aio`) wiring, so every behaviour is the
   framework's own; only the server differs.
3. A module-level `async def handle(scope, receive, send)` (func-python's plain form).
4. An ASGI application object (`app = FastAPI()`), or a WSGI one (`app = Flask(__name__)`).
5. The last function defined in the source that takes one argument: a CloudEvent function when the
   argument is named `cloud_event`/`event` or annotated `CloudEvent`, else an HTTP function given a
   Flask-like `Request`. In a module that imported functions-framework, the framework serves it.

HTTP functions return what Flask accepts (see `responses`); CloudEvent functions answer `200 OK` as
functions-framework does, or reply with the CloudEvent they return (binary mode). An exception gives a
500 and its traceback on stderr, which is the Pod's log. Synchronous functions run on the event loop
while they are quick and move to worker threads the first time one is seen waiting (`SyncCaller`).

Errors: `EntrypointError` (a `ValueError`) when nothing servable is found.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import ce_http
from .asgi import ASGIApp, Message, Receive, Scope, Send, header, read_body, send_response
from .offload import Offload, SyncCaller
from .request import HTTPError, Request
from .responses import send_return_value
from .wsgi import WSGIAdapter

__all__ = ["CloudEventFunction", "EntrypointError", "HTTPFunction", "KnFunction", "Loaded", "load_app"]

_CE_NAMES = frozenset({"cloud_event", "cloudevent", "event"})
_APP_NAMES = ("app", "application", "api")


class EntrypointError(ValueError):
    """The module has nothing to serve, or not under the name asked for."""


@dataclass(frozen=True)
class Loaded:
    """What `load_app` found: the application, how it was recognised, and the name it came from."""

    app: ASGIApp
    kind: str  # "kn-func", "functions-framework", "asgi", "wsgi", "http", "cloudevent"
    target: str


def load_app(module: types.ModuleType, entrypoint: str | None = None) -> Loaded:
    """The application for an executed module."""
    if entrypoint is not None:
        if entrypoint not in module.__dict__:
            raise EntrypointError(f"entrypoint = {entrypoint!r}, must name a function or application defined in "
                                  f"the source; found {', '.join(_candidates(module)) or 'none'}")
        return _classify(module, entrypoint, module.__dict__[entrypoint])
    new = module.__dict__.get("new")
    if inspect.isfunction(new) and new.__module__ == module.__name__:
        return Loaded(KnFunction(new()), "kn-func", "new")
    ff = _functions_framework(module)
    if ff is not None:
        registered = _registered(ff, module)
        if registered:
            name = registered[-1]
            return Loaded(_ff_app(ff, name, module.__dict__[name]), "functions-framework", name)
    handle = module.__dict__.get("handle")
    if inspect.isfunction(handle) and _is_asgi(handle):
        return Loaded(KnFunction(types.SimpleNamespace(handle=handle)), "kn-func", "handle")
    found = _app_object(module)
    if found is not None:
        return found
    function = _last_function(module)
    if function is None:
        raise EntrypointError("the source defines no function taking one argument (a request or a CloudEvent), "
                              "no ASGI/WSGI application and no kn func `new()`; found "
                              f"{', '.join(_candidates(module)) or 'nothing callable'}")
    return _classify(module, function.__name__, function)


def _classify(module: types.ModuleType, name: str, obj: Any) -> Loaded:
    if name == "new" and inspect.isfunction(obj):
        return Loaded(KnFunction(obj()), "kn-func", name)
    ff = _functions_framework(module)
    if ff is not None and inspect.isfunction(obj):
        return Loaded(_ff_app(ff, name, obj), "functions-framework", name)
    if _is_asgi(obj):
        if inspect.isfunction(obj) and name == "handle":
            return Loaded(KnFunction(types.SimpleNamespace(handle=obj)), "kn-func", name)
        return Loaded(obj, "asgi", name)
    if _is_wsgi(obj):
        return Loaded(WSGIAdapter(obj), "wsgi", name)
    if not callable(obj) or inspect.isclass(obj):
        raise EntrypointError(f"entrypoint = {name!r} is a {type(obj).__name__}, must be a function or an "
                              f"ASGI/WSGI application")
    if _is_cloudevent_function(obj):
        return Loaded(CloudEventFunction(obj), "cloudevent", name)
    return Loaded(HTTPFunction(obj), "http", name)


# recognising things


def _positional(obj: Any) -> list[inspect.Parameter]:
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p for p in params if p.kind in kinds]


def _is_asgi(obj: Any) -> bool:
    if inspect.isclass(obj) or not callable(obj):
        return False
    call = obj if inspect.isfunction(obj) or inspect.ismethod(obj) else type(obj).__call__
    if not inspect.iscoroutinefunction(call):
        return False
    return len(_positional(obj)) == 3


def _is_wsgi(obj: Any) -> bool:
    if inspect.isclass(obj) or not callable(obj):
        return False
    if hasattr(obj, "wsgi_app"):
        return True  # Flask, Quart's sync cousin, functions-framework's app
    return [p.name for p in _positional(obj)] == ["environ", "start_response"]


def _is_cloudevent_function(fn: Any) -> bool:
    params = _positional(fn)
    if len(params) != 1:
        return False
    param = params[0]
    annotation = param.annotation
    named = getattr(annotation, "__name__", None) if not isinstance(annotation, str) else annotation.strip("'\" ")
    return param.name in _CE_NAMES or (isinstance(named, str) and named.rsplit(".", 1)[-1] == "CloudEvent")


def _app_object(module: types.ModuleType) -> Loaded | None:
    apps = [(name, obj) for name, obj in module.__dict__.items()
            if not name.startswith("_") and not inspect.ismodule(obj)
            and (not inspect.isfunction(obj) or obj.__module__ == module.__name__)
            and (_is_asgi(obj) or _is_wsgi(obj))]
    if not apps:
        return None
    preferred = [pair for pair in apps if pair[0] in _APP_NAMES]
    name, obj = (preferred or apps)[-1]
    return _classify(module, name, obj)


def _last_function(module: types.ModuleType) -> Any:
    functions = [obj for name, obj in module.__dict__.items()
                 if inspect.isfunction(obj) and obj.__module__ == module.__name__ and not name.startswith("_")
                 and len(_positional(obj)) == 1]
    if not functions:
        return None
    return max(functions, key=lambda f: inspect.unwrap(f).__code__.co_firstlineno)


def _candidates(module: types.ModuleType) -> list[str]:
    return [name for name, obj in module.__dict__.items()
            if not name.startswith("_") and callable(obj) and not inspect.ismodule(obj)
            and getattr(obj, "__module__", None) == module.__name__]


# functions-framework


def _functions_framework(module: types.ModuleType) -> Any:
    """functions-framework, if this module imported it (or something from it)."""
    ff = sys.modules.get("functions_framework")
    if ff is None:
        return None
    for value in module.__dict__.values():
        if value is ff or (inspect.ismodule(value) and value.__name__.startswith("functions_framework")):
            return ff
        if str(getattr(value, "__module__", "")).startswith("functions_framework"):
            return ff
    return None


def _registered(ff: Any, module: types.ModuleType) -> list[str]:
    """Names of this module's functions registered by the framework's decorators, in source order."""
    registry = getattr(getattr(ff, "_function_registry", None), "REGISTRY_MAP", {})
    names = [name for name, obj in module.__dict__.items()
             if name in registry and inspect.isfunction(obj) and hasattr(obj, "__wrapped__")
             and getattr(obj, "__module__", None) == module.__name__]
    return sorted(names, key=lambda n: inspect.unwrap(module.__dict__[n]).__code__.co_firstlineno)


def _ff_app(ff: Any, name: str, function: Any) -> ASGIApp:
    """The framework's own application around an already loaded function, without re-running the module."""
    registry = ff._function_registry
    signature = registry.REGISTRY_MAP.get(name) or os.environ.get("FUNCTION_SIGNATURE_TYPE", "http")
    if name in getattr(registry, "ASGI_FUNCTIONS", ()):
        aio = importlib.import_module("functions_framework.aio")
        app: ASGIApp = aio._create_asgi_app_with_function(function, signature, False)
        return app
    flask = importlib.import_module("flask")
    flask_app = flask.Flask(name)
    flask_app.register_error_handler(500, ff.crash_handler)
    ff._configure_app(flask_app, function, signature)
    middleware = getattr(getattr(ff, "execution_id", None), "WsgiMiddleware", None)
    if middleware is not None:
        flask_app.wsgi_app = middleware(flask_app.wsgi_app)
    return WSGIAdapter(flask_app)


# the applications


class HTTPFunction:
    """`def f(request)` (or `async def`): a Flask-like request in, a Flask-like return value out."""

    def __init__(self, function: Callable[[Request], Any], offload: Offload | None = None) -> None:
        self.function = function
        self.is_async = inspect.iscoroutinefunction(function)
        self.offload = offload or Offload()
        self.sync = SyncCaller(function, self.offload)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, await read_body(receive))
        try:
            rv = await self.function(request) if self.is_async else await self.sync(request)
        except HTTPError as exc:
            await send_response(send, exc.status, (exc.message or str(exc.status)).encode() + b"\n")
            return
        except Exception as exc:
            if not _is_werkzeug_http_exception(exc):
                raise
            # `flask.abort(404)` in a function that uses Flask without functions-framework
            await send_response(send, exc.code, f"{exc.code} {exc.name}: {exc.description}\n".encode())  # type: ignore[attr-defined]
            return
        if inspect.isgenerator(rv) and not self.is_async:
            rv = self.offload.iterate(rv)
        await send_return_value(rv, scope, receive, send)


class CloudEventFunction:
    """`def f(cloud_event)`: a `cloudevents.http.CloudEvent` in; `200 OK`, or the CloudEvent returned."""

    def __init__(self, function: Callable[[Any], Any], offload: Offload | None = None) -> None:
        self.function = function
        self.is_async = inspect.iscoroutinefunction(function)
        self.offload = offload or Offload()
        self.sync = SyncCaller(function, self.offload)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await send_response(send, 405, b"Method Not Allowed: a CloudEvent function accepts POST only\n",
                                headers=[(b"allow", b"POST")])
            return
        body = await read_body(receive)
        try:
            event = ce_http.parse(scope, body)
        except ce_http.InvalidCloudEvent as exc:
            await send_response(send, 400, f"Bad Request: {exc}\n".encode())
            return
        rv = await self.function(event) if self.is_async else await self.sync(event)
        if ce_http.is_cloudevent(rv):
            headers, reply = ce_http.to_binary(rv)
            await send_response(send, 200, reply, headers=headers, content_type=None)
        else:  # no reply: an empty answer (a body that is not an event would be a bad reply to a broker: 502)
            await send_response(send, 204, b"", content_type=None)


class KnFunction:
    """A kn func instance (`new()`) or a bare `handle`, behind func-python's middleware behaviour."""

    def __init__(self, instance: Any) -> None:
        if not callable(getattr(instance, "handle", None)):
            raise EntrypointError(f"new() returned a {type(instance).__name__} without a handle(scope, receive, "
                                  f"send) method")
        self.instance = instance

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] == "/health/liveness":
            await self._health(send, getattr(self.instance, "alive", None))
            return
        if scope["path"] == "/health/readiness":
            await self._health(send, getattr(self.instance, "ready", None))
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        out: Send = tracked
        if ce_http.looks_like_cloudevent(scope):
            body = await read_body(receive)
            try:
                scope = {**scope, "event": ce_http.parse(scope, body)}
            except ce_http.InvalidCloudEvent as exc:
                await send_response(send, 400, f"Bad Request: {exc}\n".encode())
                return
            receive = _replay(body)
            out = CloudEventSender(tracked)
        try:
            await self.instance.handle(scope, receive, out)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            if not started:
                await send_response(send, 500, f"Error: {exc}".encode(), content_type=b"text/plain")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                start = getattr(self.instance, "start", None)
                try:
                    if callable(start):
                        await _maybe_await(start(dict(os.environ)))
                except Exception as exc:
                    traceback.print_exc(file=sys.stderr)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                stop = getattr(self.instance, "stop", None)
                if callable(stop):
                    try:
                        await _maybe_await(stop())
                    except Exception:
                        traceback.print_exc(file=sys.stderr)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _health(self, send: Send, check: Any) -> None:
        ok, message = True, "OK"
        if callable(check):
            result = await _maybe_await(check())
            ok, message = result if isinstance(result, tuple) else (bool(result), "OK")
        await send_response(send, 200 if ok else 500, str(message).encode(), content_type=b"text/plain")


class CloudEventSender:
    """The `send` a kn func CloudEvent handler gets: ASGI messages pass through, events are encoded."""

    def __init__(self, send: Send) -> None:
        self._send = send

    async def __call__(self, message: Any, status: int = 200) -> None:
        if isinstance(message, dict):
            await self._send(message)
        else:
            await self.structured(message, status)

    async def structured(self, event: Any, status: int = 200) -> None:
        headers, body = ce_http.to_structured(event)
        await send_response(self._send, status, body, headers=headers, content_type=None)

    async def binary(self, event: Any, status: int = 200) -> None:
        headers, body = ce_http.to_binary(event)
        await send_response(self._send, status, body, headers=headers, content_type=None)

    async def http(self, message: Message) -> None:
        await self._send(message)


def _is_werkzeug_http_exception(exc: Exception) -> bool:
    return isinstance(getattr(exc, "code", None), int) and callable(getattr(exc, "get_response", None))


def _replay(body: bytes) -> Receive:
    """A `receive` that gives `body` once, then waits for nothing (the request is complete)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def request_header(scope: Scope, name: str) -> str | None:
    """A request header as text (for samples and tests)."""
    value = header(scope, name.lower().encode("latin-1"))
    return value.decode("latin-1") if value is not None else None
