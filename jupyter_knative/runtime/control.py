"""The zygote's control protocol: length-prefixed JSON frames on a Unix stream socket, with file
descriptors riding along (SCM_RIGHTS) on the frame that needs them.

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON (one object with a `type`).

    daemon → zygote   {"type": "fork", "id": n, "env": {...}, "log": path, "pod": name}  + 1 fd (listening socket)
                      {"type": "stop", "grace": seconds}
    zygote → daemon   {"type": "ready", "pid": p, "kind": k, "target": t}
                      {"type": "error", "message": m, "traceback": tb}         then the zygote exits 1
                      {"type": "forked", "id": n, "pid": p}  |  {"type": "fork_failed", "id": n, "message": m}
                      {"type": "exit", "pid": p, "returncode": rc}              (rc < 0: killed by signal -rc)
                      {"type": "stopped"}                                        then the zygote exits 0

An fd is sent with the first byte of its frame, so by the time a frame is complete its fds have
arrived; the receiver keeps arriving fds in order and hands them to frames in order.
"""

from __future__ import annotations

import array
import json
import socket
import struct
from collections import deque
from collections.abc import Sequence
from typing import Any

__all__ = ["FrameReader", "encode", "fds_of"]

_HEADER = struct.Struct(">I")
MAX_FRAME = 16 * 1024 * 1024
MAX_FDS = 16


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return _HEADER.pack(len(body)) + body


def fds_of(ancdata: list[tuple[int, int, bytes]]) -> list[int]:
    """The file descriptors in `recvmsg` ancillary data."""
    fds: list[int] = []
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            arr = array.array("i")
            arr.frombytes(data[: len(data) - (len(data) % arr.itemsize)])
            fds.extend(arr)
    return fds


class FrameReader:
    """Reassemble frames (and their fds) from what `recv`/`recvmsg` return."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.fds: deque[int] = deque()

    def feed(self, data: bytes, fds: Sequence[int] = ()) -> list[dict[str, Any]]:
        self.buffer += data
        self.fds.extend(fds)
        frames = []
        while len(self.buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self.buffer)
            if size > MAX_FRAME:
                raise ValueError(f"control frame of {size} bytes, must be at most {MAX_FRAME}")
            if len(self.buffer) < _HEADER.size + size:
                break
            body = bytes(self.buffer[_HEADER.size:_HEADER.size + size])
            del self.buffer[:_HEADER.size + size]
            frames.append(json.loads(body))
        return frames

    def take_fd(self) -> int | None:
        return self.fds.popleft() if self.fds else None
