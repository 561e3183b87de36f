"""Serving's two webhooks as admission hooks: default (`webhook.serving.knative.dev`), then validate
(`validation.webhook.serving.knative.dev`), on CREATE and UPDATE of the main resource.

A refusal is a `BadRequest` worded as the apiserver words a webhook's denial:
`admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: <errors>`.

Warnings (warning-level diagnostics, e.g. security settings left at insecure defaults) do not refuse the
object. The hooks hand them to whoever collects them for the current request, if anyone does:

    with collect_warnings() as warnings:
        store.create(rt, obj)
    # warnings: list[str], to send as `Warning: 299 - "<text>"` headers, as the apiserver relays them

The collection is per execution context (a `ContextVar`), so concurrent requests do not mix; without a
collector the warnings are dropped.

Who is asking: a real webhook records the requesting user in `serving.knative.dev/creator` and
`/lastModifier`. The plane has a single user, the one its kubeconfig names (`jupyter-knative`), so that is
the name recorded (see `REQUEST_USER`). The serving controllers write Configurations, Routes and Revisions
through the same hooks; Knative skips user annotations for owned objects and only accepts the
`serving.knative.dev/service` / `/configuration` labels on objects that parent owns, which is exactly what
the controllers write, so their writes pass while a user cannot fake ownership.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..registry import AdmissionRequest
from ..warnings import collect, warn
from .config import WebhookConfig, load_config
from .defaults import default_configuration, default_revision, default_route, default_service
from .fielderror import FieldError, denied
from .validation import validate_configuration, validate_revision, validate_route, validate_service

__all__ = [
    "REQUEST_USER",
    "admit_configuration",
    "admit_revision",
    "admit_route",
    "admit_service",
    "collect_warnings",
    "review",
]

REQUEST_USER = "jupyter-knative"

collect_warnings = collect


_Obj = dict[str, Any]
Defaulter = Callable[[_Obj, WebhookConfig, _Obj | None], None]
Validator = Callable[[_Obj, _Obj | None, WebhookConfig], FieldError]


def review(req: AdmissionRequest, defaulter: Defaulter, validator: Validator) -> list[str]:
    """Default `req.obj` in place, validate it; raise the webhook's BadRequest on errors, else return the
    warnings."""
    if req.operation not in ("CREATE", "UPDATE") or req.subresource:
        return []
    cfg = load_config(req.config)
    old = req.old if req.operation == "UPDATE" else None
    defaulter(req.obj, cfg, old)
    result = validator(req.obj, old, cfg)
    errors = result.errors()
    if errors:
        raise denied(errors)
    return result.warnings()


def _admit(req: AdmissionRequest, defaulter: Defaulter, validator: Validator) -> None:
    for message in review(req, defaulter, validator):
        warn(message)


def admit_service(req: AdmissionRequest) -> None:
    _admit(req, lambda obj, cfg, old: default_service(obj, cfg, user=REQUEST_USER, old=old), validate_service)


def admit_configuration(req: AdmissionRequest) -> None:
    _admit(req, lambda obj, cfg, old: default_configuration(obj, cfg, user=REQUEST_USER, old=old),
           validate_configuration)


def admit_route(req: AdmissionRequest) -> None:
    _admit(req, lambda obj, cfg, old: default_route(obj, cfg, user=REQUEST_USER, old=old), validate_route)


def admit_revision(req: AdmissionRequest) -> None:
    _admit(req, lambda obj, cfg, old: default_revision(obj, cfg, old=old), validate_revision)
