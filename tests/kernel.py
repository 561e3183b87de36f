"""A real IPython kernel for widget tests: run code in it and read what it sends on iopub (comm messages
included), as the front end would receive it."""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager


class Kernel:
    def __init__(self, client: BlockingKernelClient) -> None:
        self.client = client
        self.iopub: list[dict[str, Any]] = []  # every iopub message seen so far, in order

    def run(self, code: str, timeout: float = 120) -> list[dict[str, Any]]:
        """Execute `code`; return the iopub messages it produced until the kernel was idle again. Raises on
        an error in the cell (with the traceback)."""
        msg_id = self.client.execute(code, store_history=False)
        deadline = time.monotonic() + timeout
        seen: list[dict[str, Any]] = []
        while True:
            msg = self._next(deadline, f"cell did not finish in {timeout}s: {code[:80]!r}")
            if msg["parent_header"].get("msg_id") == msg_id:
                seen.append(msg)
                if msg["msg_type"] == "error":
                    raise AssertionError("\n".join(msg["content"]["traceback"]))
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    return seen

    def collect(self, seconds: float) -> list[dict[str, Any]]:
        """Everything the kernel sends during the next `seconds` (background threads' comm messages)."""
        deadline = time.monotonic() + seconds
        out: list[dict[str, Any]] = []
        while True:
            try:
                out.append(self._next(deadline, ""))
            except TimeoutError:
                return out

    def value(self, expression: str) -> Any:
        """A Python value computed in the kernel (through repr and literal_eval)."""
        import ast

        msgs = self.run(f"print(repr({expression}))")
        text = "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream")
        return ast.literal_eval(text.strip())

    def _next(self, deadline: float, why: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(why)
        try:
            msg: dict[str, Any] = self.client.get_iopub_msg(timeout=remaining)
        except queue.Empty:
            raise TimeoutError(why) from None
        self.iopub.append(msg)
        return msg


def comm_messages(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in msgs if m["msg_type"] == "comm_msg"]


@contextmanager
def kernel(env: dict[str, str] | None = None) -> Iterator[Kernel]:
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env={**os.environ, **(env or {})})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        yield Kernel(kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
