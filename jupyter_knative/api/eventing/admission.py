"""Eventing's two webhooks as admission hooks: default (`webhook.eventing.knative.dev`), then validate
(`validation.webhook.eventing.knative.dev`), on CREATE and UPDATE of each eventing kind (not on
status writes).

A refusal is a `BadRequest` worded as the apiserver words a webhook's denial:
`admission webhook "validation.webhook.eventing.knative.dev" denied the request: validation failed: <errors>`,
where `<errors>` is the FieldError text (merged and sorted as knative.dev/pkg prints it).

The webhook reads `config-features`, `config-br-defaults`, `default-ch-webhook` and `config-ping-defaults`
from `knative-eventing` on every request, so an edit to one takes effect for the next object written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..registry import AdmissionRequest
from ..serving.fielderror import FieldError
from ..serving.fielderror import denied as serving_denied
from ..status import BadRequest
from ..warnings import warn
from . import defaults as d
from . import validation as v
from .config import EventingConfig, load_config
from .destination import Ctx

__all__ = [
    "DEFAULTING_WEBHOOK",
    "VALIDATING_WEBHOOK",
    "admit_api_server_source",
    "admit_broker",
    "admit_channel",
    "admit_container_source",
    "admit_event_type",
    "admit_in_memory_channel",
    "admit_parallel",
    "admit_ping_source",
    "admit_sequence",
    "admit_sink_binding",
    "admit_subscription",
    "admit_trigger",
    "denied",
    "review",
]

DEFAULTING_WEBHOOK = "webhook.eventing.knative.dev"
VALIDATING_WEBHOOK = "validation.webhook.eventing.knative.dev"

_Obj = dict[str, Any]
Defaulter = Callable[[_Obj, EventingConfig, _Obj | None], None]
Validator = Callable[[_Obj, _Obj | None, Ctx], FieldError]


def denied(reason: FieldError | str) -> BadRequest:
    """The 400 the apiserver answers when Eventing's validating webhook refuses an object."""
    return serving_denied(reason, webhook=VALIDATING_WEBHOOK)


def review(req: AdmissionRequest, defaulter: Defaulter, validator: Validator) -> list[str]:
    """Default `req.obj` in place and validate it; raise the webhook's BadRequest on errors, else return
    the warnings."""
    if req.operation not in ("CREATE", "UPDATE") or req.subresource:
        return []
    cfg = load_config(req.config)
    old = req.old if req.operation == "UPDATE" else None
    if old is not None and (old.get("metadata") or {}).get("deletionTimestamp"):
        return []  # an object on its way out (e.g. a finalizer removed) is not re-judged
    defaulter(req.obj, cfg, old)
    result = validator(req.obj, old, Ctx(cfg))
    errors = result.errors()
    if errors:
        raise denied(errors)
    return result.warnings()


def _hook(defaulter: Defaulter, validator: Validator) -> Callable[[AdmissionRequest], None]:
    def admit(req: AdmissionRequest) -> None:
        for message in review(req, defaulter, validator):
            warn(message)
    return admit


admit_broker = _hook(d.default_broker, v.validate_broker)
admit_trigger = _hook(d.default_trigger, v.validate_trigger)
admit_event_type = _hook(d.default_event_type, v.validate_event_type)
admit_channel = _hook(d.default_channel, v.validate_channel)
admit_in_memory_channel = _hook(d.default_in_memory_channel, v.validate_in_memory_channel)
admit_subscription = _hook(d.default_subscription, v.validate_subscription)
admit_ping_source = _hook(d.default_ping_source, v.validate_ping_source)
admit_api_server_source = _hook(d.default_api_server_source, v.validate_api_server_source)
admit_container_source = _hook(d.default_container_source, v.validate_container_source)
admit_sink_binding = _hook(d.default_sink_binding, v.validate_sink_binding)
admit_sequence = _hook(d.default_sequence, v.validate_sequence)
admit_parallel = _hook(d.default_parallel, v.validate_parallel)
