"""What every failure the user can cause or meet looks like: one exception with a message, a reason and a hint.

    KnativeError                 str() is the message to show; never a traceback for a user mistake
      reason "NotFound", "Invalid", "BadRequest", "Conflict", ...   the server's Status reason
      reason "PlaneDown"         the embedded plane does not answer (hint: start it)
      reason "Unreachable"       a cluster's API server does not answer
      reason "Timeout"           a wait or a request ran out of time
      reason "NotSupported"      asked of a backend that cannot do it
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = [
    "PLANE_DOWN_HINT",
    "KnativeError",
    "from_status_body",
    "from_transport",
]

PLANE_DOWN_HINT = "run %knative up (or jupyter knative up)"
UNREACHABLE_HINT = "check the kubeconfig context and that the cluster's API server is reachable"

_REASON_BY_CODE = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class KnativeError(Exception):
    """Every user-facing failure of the client."""

    def __init__(self, message: str, *, reason: str = "", hint: str = "", status: dict[str, Any] | None = None,
                 code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.hint = hint
        self.status = status
        self.code = code

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"KnativeError({self.message!r}, reason={self.reason!r})"

    def prefixed(self, prefix: str, *, hint: str | None = None) -> KnativeError:
        """The same error with `prefix` in front of its message (e.g. which document failed)."""
        return KnativeError(f"{prefix}{self.message}", reason=self.reason, hint=self.hint if hint is None else hint,
                            status=self.status, code=self.code)

    def with_hint(self, hint: str) -> KnativeError:
        return KnativeError(self.message, reason=self.reason, hint=hint, status=self.status, code=self.code)


def from_status_body(code: int, http_reason: str, body: bytes | str | None) -> KnativeError:
    """A KnativeError from an HTTP error answer; a Kubernetes `Status` body gives message, reason and causes."""
    status = _parse_status(body)
    if status is None:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        message = f"{code} {http_reason}" + (f": {text.strip()[:500]}" if text.strip() else "")
        return KnativeError(message, reason=_REASON_BY_CODE.get(code, http_reason or "Error"), code=code)
    message = str(status.get("message") or f"{code} {http_reason}")
    causes = _causes_not_in(message, status)
    if causes:
        message = f"{message} ({causes})"
    reason = str(status.get("reason") or _REASON_BY_CODE.get(code, "Error"))
    return KnativeError(message, reason=reason, status=status, code=code)


def _parse_status(body: bytes | str | None) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) and parsed.get("kind") == "Status" else None


def _causes_not_in(message: str, status: dict[str, Any]) -> str:
    """Field causes the message does not already carry, as `field: message` pairs."""
    causes = ((status.get("details") or {}).get("causes")) or []
    parts = []
    for cause in causes:
        if not isinstance(cause, dict):
            continue
        field, text = str(cause.get("field") or ""), str(cause.get("message") or "")
        if (field and field in message) or (text and text in message):
            continue
        parts.append(f"{field}: {text}" if field else text)
    return "; ".join(p for p in parts if p)


def from_transport(exc: BaseException, *, server: str, plane: bool) -> KnativeError:
    """A KnativeError for a request that got no HTTP answer (refused, reset, timed out)."""
    detail = _innermost(exc)
    if _is_timeout(exc):
        return KnativeError(f"{server} did not answer in time ({detail})", reason="Timeout",
                            hint="try again, or raise the timeout")
    if plane:
        return KnativeError(f"the jupyter-knative plane is not running (nothing answers at {server}: {detail})",
                            reason="PlaneDown", hint=PLANE_DOWN_HINT)
    return KnativeError(f"cannot reach the Kubernetes API server at {server}: {detail}", reason="Unreachable",
                        hint=UNREACHABLE_HINT)


def _innermost(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    seen = 0
    while isinstance(reason, BaseException) and seen < 5:
        exc = reason
        reason = getattr(exc, "reason", None)
        seen += 1
    text = str(exc)
    if "Connection refused" in text or isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return text.split(": ", 1)[-1] if text else type(exc).__name__


def _is_timeout(exc: BaseException) -> bool:
    names = {type(e).__name__ for e in _chain(exc)}
    return bool(names & {"ReadTimeoutError", "ConnectTimeoutError", "TimeoutError", "timeout", "ServerTimeoutError"})


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    current: Any = exc
    while isinstance(current, BaseException) and len(out) < 6:
        out.append(current)
        current = getattr(current, "reason", None) or current.__cause__
    return out
