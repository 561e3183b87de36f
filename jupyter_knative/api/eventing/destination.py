"""The duck types every eventing kind embeds: `KReference`, `Destination` (knative.dev/pkg duck v1) and
`DeliverySpec` (eventing duck v1), with their defaulting and validation rules and messages.

    ref without namespace         -> defaulted to the parent's namespace
    neither ref nor uri           -> `expected at least one, got none: ref, uri`
    ref and an absolute uri       -> `Absolute URI is not allowed when Ref or [apiVersion, kind, name] is present`
    uri alone, not absolute       -> `invalid value: Relative URI is not allowed when Ref and [apiVersion, kind, name]
                                      is absent: uri`
    delivery.retry < 0            -> `invalid value: -1: retry`
    delivery.timeout (gate off)   -> `must not set the field(s): timeout`

Paths are relative to the value validated; callers prefix them (`via_field("spec", "sink")`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..serving.fielderror import (
    FieldError,
    err_disallowed_fields,
    err_generic,
    err_invalid_value,
    err_missing_field,
)
from ..serving.goformat import go_quote
from .config import EventingConfig
from .durations import parse_period

__all__ = [
    "Ctx",
    "default_delivery",
    "default_destination",
    "default_kreference",
    "is_absolute_url",
    "validate_delivery",
    "validate_destination",
    "validate_kreference",
]

_Obj = dict[str, Any]


@dataclass(frozen=True)
class Ctx:
    """What Knative's validation reads from its context: the config, and for kinds that validate
    "within parent", the parent's namespace (a ref in another namespace is then refused unless the kind
    allows different namespaces)."""

    cfg: EventingConfig
    parent_namespace: str = ""
    allow_different_namespace: bool = False

    def within(self, namespace: str, *, allow_different_namespace: bool = False) -> Ctx:
        return Ctx(self.cfg, namespace, allow_different_namespace)


# --- defaulting ----------------------------------------------------------------------------------------


def default_kreference(ref: Any, namespace: str) -> None:
    if isinstance(ref, dict) and not ref.get("namespace") and namespace:
        ref["namespace"] = namespace


def default_destination(dest: Any, namespace: str) -> None:
    """An empty `ref.namespace` becomes the parent's namespace."""
    if isinstance(dest, dict):
        default_kreference(dest.get("ref"), namespace)


def default_delivery(delivery: Any, namespace: str) -> None:
    if isinstance(delivery, dict):
        default_destination(delivery.get("deadLetterSink"), namespace)


# --- validation ----------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def validate_kreference(ref: Any, ctx: Ctx) -> FieldError:
    """`KReference.Validate`: name, apiVersion and kind required; `group` only with the kreference-group
    feature; a namespace other than the parent's is refused where the kind validates within its parent."""
    if not isinstance(ref, Mapping):
        return err_missing_field("name").also(err_missing_field("apiVersion"), err_missing_field("kind"))
    errs = FieldError()
    if not _text(ref.get("name")):
        errs = errs.also(err_missing_field("name"))
    api_version, group = _text(ref.get("apiVersion")), _text(ref.get("group"))
    if ctx.cfg.features.enabled("kreference-group"):
        if not api_version and not group:
            errs = errs.also(err_missing_field("apiVersion"), err_missing_field("group"))
        if api_version and group:
            errs = errs.also(FieldError("both apiVersion and group are specified", ("apiVersion", "group"),
                                        "Only one of them must be specified"))
    else:
        if group:
            errs = errs.also(err_disallowed_fields("group"))
        if not api_version:
            errs = errs.also(err_missing_field("apiVersion"))
    if not _text(ref.get("kind")):
        errs = errs.also(err_missing_field("kind"))
    namespace = _text(ref.get("namespace"))
    if namespace and not ctx.allow_different_namespace and ctx.parent_namespace \
            and namespace != ctx.parent_namespace:
        errs = errs.also(FieldError(
            "mismatched namespaces", ("namespace",),
            f"parent namespace: {go_quote(ctx.parent_namespace)} does not match ref: {go_quote(namespace)}"))
    return errs


def is_absolute_url(uri: str) -> bool:
    """Go's `url.IsAbs()` (a scheme) and a non-empty host."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    return bool(parts.scheme) and bool(parts.netloc.rpartition("@")[2])


def _has_scheme(uri: str) -> bool:
    try:
        return bool(urlsplit(uri).scheme)
    except ValueError:
        return False


def validate_destination(dest: Any, ctx: Ctx) -> FieldError:
    """`ValidateDestination`: a Destination that is present (even empty) must name a ref or a uri."""
    d = dest if isinstance(dest, Mapping) else {}
    ref, uri = d.get("ref"), d.get("uri")
    if ref is None and uri is None:
        return err_generic("expected at least one, got none", "ref", "uri")
    if ref is not None and uri is not None and _has_scheme(str(uri)):
        return err_generic("Absolute URI is not allowed when Ref or [apiVersion, kind, name] is present",
                           "[apiVersion, kind, name]", "ref", "uri")
    if ref is None and not is_absolute_url(str(uri)):
        return err_invalid_value("Relative URI is not allowed when Ref and [apiVersion, kind, name] is absent",
                                 "uri")
    if ref is not None and uri is None:
        return validate_kreference(ref, ctx).via_field("ref")
    return FieldError()


def _parses(text: Any) -> float | None:
    try:
        return parse_period(str(text))
    except ValueError:
        return None


def validate_delivery(delivery: Any, ctx: Ctx) -> FieldError:
    """`DeliverySpec.Validate` (nothing to check when absent)."""
    if not isinstance(delivery, Mapping):
        return FieldError()
    errs = FieldError()
    if delivery.get("deadLetterSink") is not None:
        errs = errs.also(validate_destination(delivery["deadLetterSink"], ctx).via_field("deadLetterSink"))
    retry = delivery.get("retry")
    if isinstance(retry, int) and not isinstance(retry, bool) and retry < 0:
        errs = errs.also(err_invalid_value(retry, "retry"))
    timeout = delivery.get("timeout")
    if timeout is not None:
        if ctx.cfg.features.enabled("delivery-timeout"):
            seconds = _parses(timeout)
            if seconds is None or seconds == 0:
                errs = errs.also(err_invalid_value(timeout, "timeout"))
        else:
            errs = errs.also(err_disallowed_fields("timeout"))
    policy = delivery.get("backoffPolicy")
    if policy is not None and policy not in ("linear", "exponential"):
        errs = errs.also(err_invalid_value(policy, "backoffPolicy"))
    delay = delivery.get("backoffDelay")
    if delay is not None and _parses(delay) is None:
        errs = errs.also(err_invalid_value(delay, "backoffDelay"))
    fmt = delivery.get("format")
    if fmt is not None and fmt not in ("json", "binary"):
        errs = errs.also(err_invalid_value(fmt, "format"))
    retry_after_max = delivery.get("retryAfterMax")
    if retry_after_max is not None:
        if ctx.cfg.features.enabled("delivery-retryafter"):
            seconds = _parses(retry_after_max)
            if seconds is None or seconds < 0:
                errs = errs.also(err_invalid_value(retry_after_max, "retryAfterMax"))
        else:
            errs = errs.also(err_disallowed_fields("retryAfterMax"))
    return errs
