"""`autoscale-go`, the Knative autoscaling tutorial's load target.

Query parameters, as the Go handler reads them: `sleep` (milliseconds), `prime` (largest prime below
N), `bloat` (megabytes to allocate). The three run concurrently and each appends its line when done,
so the lines arrive in completion order, as the goroutines write them. A non-integer parameter is a
400 with Go's `strconv.Atoi` message; zero or absent means "skip"; `$VALIDATION` adds `/<token>/`.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from urllib.parse import parse_qsl

from ..asgi import Receive, Scope, Send, send_response
from ..offload import Offload
from .gofmt import go_quote

__all__ = ["Autoscale", "largest_prime_below"]

_INT = re.compile(r"[+-]?[0-9]+")
_GO_TEXT = b"text/plain; charset=utf-8"


class BadParam(ValueError):
    pass


class Autoscale:
    def __init__(self) -> None:
        self.offload = Offload(max_workers=8)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        token = os.environ.get("VALIDATION", "")
        if token and scope["path"] == f"/{token}/":
            await send_response(send, 200, f"{token}\n".encode(), content_type=_GO_TEXT)
            return
        query = dict(reversed(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)))
        try:
            ms, max_n, mb = (_param(query, name) for name in ("sleep", "prime", "bloat"))
        except BadParam as exc:
            await send_response(send, 400, f"{exc}\n".encode(), headers=[(b"x-content-type-options", b"nosniff")],
                                content_type=_GO_TEXT)
            return
        lines: list[str] = []
        jobs = []
        if ms:
            jobs.append(self._sleep(ms, lines))
        if max_n:
            jobs.append(self._prime(max_n, lines))
        if mb:
            jobs.append(self._bloat(mb, lines))
        await asyncio.gather(*jobs)
        body = "".join(lines).encode()
        await send_response(send, 200, body, content_type=_GO_TEXT if body else None)

    async def _sleep(self, ms: int, lines: list[str]) -> None:
        start = time.perf_counter_ns()
        await asyncio.sleep(ms / 1000)
        lines.append(f"Slept for {(time.perf_counter_ns() - start) / 1e6:.2f} milliseconds.\n")

    async def _prime(self, max_n: int, lines: list[str]) -> None:
        p = await self.offload.call(largest_prime_below, max_n)
        lines.append(f"The largest prime less than {max_n} is {p}.\n" if p
                     else f"There are no primes smaller than {max_n}.\n")

    async def _bloat(self, mb: int, lines: list[str]) -> None:
        await self.offload.call(_bloat, mb)
        lines.append(f"Allocated {mb} Mb of memory.\n")


def _param(query: dict[str, str], name: str) -> int:
    value = query.get(name, "")
    if value == "":
        return 0
    if not _INT.fullmatch(value):
        raise BadParam(f"strconv.Atoi: parsing {go_quote(value)}: invalid syntax")
    n = int(value)
    if not -(2**63) <= n < 2**63:
        raise BadParam(f"strconv.Atoi: parsing {go_quote(value)}: value out of range")
    return n


def largest_prime_below(n: int) -> int:
    """What the Go sample answers: the largest prime up to n - 2 (its sieve stops there), 0 if none.

    The Go program panics (and the container restarts) for n < 4 and for some n its sieve indexes past
    its end; here those are answered instead."""
    limit = n - 2
    if limit < 2:
        return 0
    sieve = bytearray([1]) * (limit + 1)
    sieve[0] = sieve[1] = 0
    i = 2
    while i * i <= limit:
        if sieve[i]:
            sieve[i * i::i] = bytes(len(range(i * i, limit + 1, i)))
        i += 1
    return sieve.rindex(1)


def _bloat(mb: int) -> None:
    block = bytearray(mb * 1024 * 1024)  # zero-filled, so every page is touched and really resident
    block[0] = block[-1] = 1
    del block
