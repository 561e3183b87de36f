"""Kubernetes `Status` errors.

Every failure the API can report is a `StatusError`: it carries the HTTP code, the machine-readable
reason and the message the real kube-apiserver would write, and renders itself as a `Status` object.

    StatusError
    ├── BadRequest (400)            ├── Conflict (409)         ├── Invalid (422, field causes)
    ├── Unauthorized (401)          ├── AlreadyExists (409)    ├── TooManyRequests (429)
    ├── Forbidden (403)             ├── Gone (410, Expired)    ├── InternalError (500)
    ├── NotFound (404)              ├── RequestEntityTooLarge  ├── ServiceUnavailable (503)
    ├── MethodNotSupported (405)    │   (413)                  └── Timeout (504)
    └── NotAcceptable (406)         └── UnsupportedMediaType (415)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One field-level error, formatted like k8s.io/apimachinery's `field.Error`."""

    type: str  # FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueForbidden, ...
    field: str
    value: Any = None
    detail: str = ""
    supported: tuple[str, ...] = ()
    show_value: bool = True

    _BODIES: ClassVar[dict[str, str]] = {
        "FieldValueRequired": "Required value",
        "FieldValueForbidden": "Forbidden",
        "FieldValueInvalid": "Invalid value",
        "FieldValueTypeInvalid": "Invalid value",
        "FieldValueNotSupported": "Unsupported value",
        "FieldValueDuplicate": "Duplicate value",
        "FieldValueNotFound": "Not found",
        "FieldValueTooLong": "Too long",
        "FieldValueTooMany": "Too many",
        "InternalError": "Internal error",
    }

    def body(self) -> str:
        text = self._BODIES.get(self.type, self.type)
        if self.show_value and self.type not in ("FieldValueRequired", "FieldValueForbidden",
                                                  "FieldValueTooLong", "FieldValueTooMany", "InternalError"):
            text += ": " + format_value(self.value)
        if self.type == "FieldValueNotSupported" and self.supported:
            text += ": supported values: " + ", ".join(f'"{s}"' for s in self.supported)
        elif self.detail:
            text += ": " + self.detail
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}" if self.field else self.body()

    def cause(self) -> dict[str, Any]:
        return {"reason": self.type, "message": self.body(), "field": self.field}


def format_value(value: Any) -> str:
    """Render a value as Go's `%#v`-ish output in field errors: strings quoted, scalars bare."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return '"object"'
    if isinstance(value, list):
        return '"array"'
    return '"' + str(value) + '"'


def required(path: str, detail: str = "") -> FieldError:
    return FieldError("FieldValueRequired", path, detail=detail)


def invalid(path: str, value: Any, detail: str = "") -> FieldError:
    return FieldError("FieldValueInvalid", path, value, detail)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError("FieldValueForbidden", path, detail=detail)


def not_supported(path: str, value: Any, supported: Sequence[str]) -> FieldError:
    return FieldError("FieldValueNotSupported", path, value, supported=tuple(supported))


class StatusError(Exception):
    """An API error with its Kubernetes `Status` rendering."""

    code: ClassVar[int] = 500
    reason: ClassVar[str] = "InternalError"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None,
                 reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self._reason = reason

    @property
    def status_reason(self) -> str:
        return self._reason or self.reason

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.status_reason,
            "code": self.code,
        }
        if self.details:
            status["details"] = self.details
        return status


class BadRequest(StatusError):
    code, reason = 400, "BadRequest"


class Unauthorized(StatusError):
    code, reason = 401, "Unauthorized"


class Forbidden(StatusError):
    code, reason = 403, "Forbidden"


class NotFound(StatusError):
    code, reason = 404, "NotFound"


class MethodNotSupported(StatusError):
    code, reason = 405, "MethodNotAllowed"


class NotAcceptable(StatusError):
    code, reason = 406, "NotAcceptable"


class Conflict(StatusError):
    code, reason = 409, "Conflict"


class AlreadyExists(StatusError):
    code, reason = 409, "AlreadyExists"


class Gone(StatusError):
    code, reason = 410, "Expired"


class RequestEntityTooLarge(StatusError):
    code, reason = 413, "RequestEntityTooLarge"


class UnsupportedMediaType(StatusError):
    code, reason = 415, "UnsupportedMediaType"


class Invalid(StatusError):
    code, reason = 422, "Invalid"


class TooManyRequests(StatusError):
    code, reason = 429, "TooManyRequests"


class InternalError(StatusError):
    code, reason = 500, "InternalError"


class ServiceUnavailable(StatusError):
    code, reason = 503, "ServiceUnavailable"


class Timeout(StatusError):
    code, reason = 504, "Timeout"


@dataclass(frozen=True)
class GroupResource:
    """`services.serving.knative.dev`: how errors name a resource type."""

    group: str
    resource: str
    kind: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


def not_found(gr: GroupResource, name: str) -> NotFound:
    return NotFound(f'{gr} "{name}" not found',
                    details={"name": name, "group": gr.group, "kind": gr.resource})


def already_exists(gr: GroupResource, name: str) -> AlreadyExists:
    return AlreadyExists(f'{gr} "{name}" already exists',
                         details={"name": name, "group": gr.group, "kind": gr.resource})


def conflict(gr: GroupResource, name: str, why: str) -> Conflict:
    return Conflict(f'Operation cannot be fulfilled on {gr} "{name}": {why}',
                    details={"name": name, "group": gr.group, "kind": gr.resource})


MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"


def stale(gr: GroupResource, name: str) -> Conflict:
    return conflict(gr, name, MODIFIED)


def invalid_object(gr: GroupResource, name: str, errors: Sequence[FieldError]) -> Invalid:
    """422 with causes; the message reads `Kind.group "name" is invalid: ...` as the apiserver writes it."""
    qualified = f"{gr.kind}.{gr.group}" if gr.group else gr.kind
    text = str(errors[0]) if len(errors) == 1 else "[" + ", ".join(str(e) for e in errors) + "]"
    return Invalid(f'{qualified} "{name}" is invalid: {text}',
                   details={"name": name, "group": gr.group, "kind": gr.kind,
                            "causes": [e.cause() for e in errors]})


def patch_options_invalid(errors: Sequence[FieldError]) -> Invalid:
    """422 for bad PATCH query options (`fieldManager: Required value: is required for apply patch`)."""
    return invalid_object(GroupResource("meta.k8s.io", "", kind="PatchOptions"), "", errors)
