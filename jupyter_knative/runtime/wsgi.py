"""Serve a WSGI application (a Flask app, or functions-framework's Flask app) as an ASGI one.

The request body is read whole, the application runs in a worker thread (`Offload`), a list body is
sent in one message and any other iterable is streamed one item per thread hop.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from typing import Any

from .asgi import Receive, Scope, Send, read_body
from .offload import Offload

__all__ = ["WSGIAdapter", "environ_for"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def environ_for(scope: Scope, body: bytes) -> dict[str, Any]:
    """A PEP 3333 environ for an ASGI http scope."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    path = scope["path"].encode("utf-8", "surrogateescape").decode("latin-1")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", ""),
        "PATH_INFO": path,
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if client:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = str(client[0]), str(client[1])
    for name, value in scope["headers"]:
        key = name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = text
            continue
        key = "HTTP_" + key
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    if body and "CONTENT_LENGTH" not in environ:
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


class WSGIAdapter:
    """An ASGI application running `wsgi_app` in worker threads."""

    def __init__(self, wsgi_app: WSGIApp, offload: Offload | None = None) -> None:
        self.wsgi_app = wsgi_app
        self.offload = offload or Offload()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        environ = environ_for(scope, await read_body(receive))
        status, headers, first, rest = await self.offload.call(self._start, environ)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if rest is None:
            await send({"type": "http.response.body", "body": first})
            return
        await send({"type": "http.response.body", "body": first, "more_body": True})
        try:
            async for chunk in self.offload.iterate(iter(rest)):
                await send({"type": "http.response.body", "body": bytes(chunk), "more_body": True})
        finally:
            close = getattr(rest, "close", None)
            if callable(close):
                await self.offload.call(close)
        await send({"type": "http.response.body", "body": b""})

    def _start(self, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes, Any]:
        """Call the application; return status, headers, the body if it is a list, else the iterable."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return lambda data: None  # the legacy write() callable: unused by modern frameworks

        result = self.wsgi_app(environ, start_response)
        if isinstance(result, (list, tuple)) or _has_length(started):
            # A list, or a body of announced length (Flask's usual response): read it all here, in one hop.
            body = b"".join(result)
            close = getattr(result, "close", None)
            if callable(close):
                close()
            return _status(started), _raw(started), body, None
        iterator = iter(result)
        first = b""
        for chunk in iterator:  # start_response may be called only once the first chunk is produced
            first = bytes(chunk)
            break
        else:
            close = getattr(result, "close", None)
            if callable(close):
                close()
            return _status(started), _raw(started), b"", None
        return _status(started), _raw(started), first, _Rest(iterator, result)


class _Rest:
    """The rest of a streamed WSGI body, closing the original iterable at the end."""

    def __init__(self, iterator: Any, result: Any) -> None:
        self.iterator = iterator
        self.result = result

    def __iter__(self) -> Any:
        return self.iterator

    def close(self) -> None:
        close = getattr(self.result, "close", None)
        if callable(close):
            close()


def _has_length(started: list[Any]) -> bool:
    return bool(started) and any(k.lower() == "content-length" for k, _ in started[1])


def _status(started: list[Any]) -> int:
    if not started:
        raise RuntimeError("the WSGI application returned without calling start_response")
    return int(str(started[0]).split(" ", 1)[0])


def _raw(started: list[Any]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in started[1]]
