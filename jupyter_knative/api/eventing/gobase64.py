"""Go's `encoding/base64` StdEncoding.DecodeString, for its error: `illegal base64 data at input byte N`.

The offset is the one Go reports: the first byte outside the alphabet, a misplaced or missing `=`, or
the first byte after the padding. Carriage returns and newlines are skipped, as Go skips them.
"""

from __future__ import annotations

__all__ = ["Base64Error", "decode_std"]

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_VALUE = {ord(c): i for i, c in enumerate(_ALPHABET)}
_PAD = ord("=")
_NEWLINES = (ord("\n"), ord("\r"))


class Base64Error(ValueError):
    def __init__(self, offset: int) -> None:
        super().__init__(f"illegal base64 data at input byte {offset}")
        self.offset = offset


def decode_std(text: str | bytes) -> bytes:
    src = text.encode("utf-8", errors="surrogateescape") if isinstance(text, str) else text
    out = bytearray()
    si = 0
    n = len(src)
    while True:
        quantum: list[int] = []
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return bytes(out)
                raise Base64Error(si - j)
            c = src[si]
            si += 1
            if c in _VALUE:
                quantum.append(_VALUE[c])
                j += 1
                continue
            if c in _NEWLINES:
                continue
            if c != _PAD:
                raise Base64Error(si - 1)
            if j in (0, 1):
                raise Base64Error(si - 1)
            if j == 2:  # a second "=" must follow
                while si < n and src[si] in _NEWLINES:
                    si += 1
                if si == n:
                    raise Base64Error(n)
                if src[si] != _PAD:
                    raise Base64Error(si - 1)
                si += 1
            while si < n and src[si] in _NEWLINES:
                si += 1
            if si < n:
                raise Base64Error(si)
            _emit(out, quantum)
            return bytes(out)
        _emit(out, quantum)


def _emit(out: bytearray, quantum: list[int]) -> None:
    value = 0
    for v in quantum:
        value = value << 6 | v
    value <<= 6 * (4 - len(quantum))
    out += value.to_bytes(3, "big")[: len(quantum) - 1]
