"""Warnings an admission hook gives without refusing the request; the API server sends them to the
client as `Warning` headers (kubectl prints them as `Warning: ...`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_sink: ContextVar[list[str] | None] = ContextVar("admission_warnings", default=None)


@contextmanager
def collect() -> Iterator[list[str]]:
    """Collect the warnings given inside the block (per request: context variables follow the task)."""
    sink: list[str] = []
    token = _sink.set(sink)
    try:
        yield sink
    finally:
        _sink.reset(token)


def warn(message: str) -> None:
    """Record a warning for the current request; dropped when nobody collects."""
    sink = _sink.get()
    if sink is not None:
        sink.append(message)
