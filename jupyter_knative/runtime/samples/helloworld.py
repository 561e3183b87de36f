"""`helloworld-go`, the Knative docs' first service: `Hello $TARGET!` (TARGET defaults to World)."""

from __future__ import annotations

import os
import sys

from ..asgi import Receive, Scope, Send, send_response
from .gofmt import log_prefix

__all__ = ["HelloWorld"]


class HelloWorld:
    """Logs as the Go program does (`log.Print` to stderr) and answers every path and method."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        _log("helloworld: received a request")
        target = os.environ.get("TARGET") or "World"
        await send_response(send, 200, f"Hello {target}!\n".encode())


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _log("helloworld: starting server...")
            _log(f"helloworld: listening on port {os.environ.get('PORT') or '8080'}")
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _log(message: str) -> None:
    print(log_prefix() + message, file=sys.stderr, flush=True)
