"""Eventing's validating webhook (`validation.webhook.eventing.knative.dev`): one function per kind,
`validate_<kind>(obj, old, ctx) -> FieldError`, with Knative's messages and field paths. `old` is the
stored object on update (immutability checks), None on create.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from ..gojson import GO_MAP, json_kind, syntax_error, unmarshal_error
from ..meta import dns1123_label, qualified_name
from ..serving.fielderror import (
    FieldError,
    err_disallowed_fields,
    err_generic,
    err_invalid_key_name,
    err_invalid_value,
    err_missing_field,
    err_missing_one_of,
    err_multiple_one_of,
)
from ..serving.goformat import go_quote
from .cesql import CESQLError
from .cesql import parse as parse_cesql
from .cron import CronError, parse_schedule
from .defaults import BROKER_CLASS
from .destination import Ctx, validate_delivery, validate_destination, validate_kreference
from .gobase64 import Base64Error, decode_std
from .godiff import go_names, spec_diff
from .gostruct import branch_v, step_v

__all__ = [
    "validate_api_server_source",
    "validate_broker",
    "validate_channel",
    "validate_container_source",
    "validate_event_type",
    "validate_filters",
    "validate_in_memory_channel",
    "validate_parallel",
    "validate_ping_source",
    "validate_sequence",
    "validate_sink_binding",
    "validate_subscription",
    "validate_trigger",
]

_Obj = dict[str, Any]
IMMUTABLE = "Immutable fields changed (-old +new)"
DEPENDENCY = "knative.dev/dependency"
INJECTION = "eventing.knative.dev/injection"
SCOPE = "eventing.knative.dev/scope"
_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9]*$")
_ATTRIBUTE_DETAILS = "Attribute name must start with a letter and can only contain lowercase alphanumeric"


def _d(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _d(obj.get("metadata"))


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _d(obj.get("spec"))


def _namespace(obj: Mapping[str, Any]) -> str:
    return str(_meta(obj).get("namespace") or "")


def _immutable(diff: str, *paths: str) -> FieldError:
    return FieldError(IMMUTABLE, paths, diff) if diff else FieldError()


def _optional_destination(dest: Any, ctx: Ctx) -> FieldError:
    """A `*Destination` field: checked only when present."""
    return FieldError() if dest is None else validate_destination(dest, ctx)


# --- eventing.knative.dev ----------------------------------------------------------------------------


def validate_broker(obj: _Obj, old: _Obj | None, ctx: Ctx) -> FieldError:
    within = ctx.within(_namespace(obj), allow_different_namespace=True)
    errs = FieldError()
    annotations = _d(_meta(obj).get("annotations"))
    if not annotations.get(BROKER_CLASS):
        errs = errs.also(err_missing_field(BROKER_CLASS))
    spec = _spec(obj)
    spec_errs = FieldError()
    if spec.get("config") is not None:
        spec_errs = spec_errs.also(validate_kreference(spec["config"], within).via_field("config"))
    spec_errs = spec_errs.also(validate_delivery(spec.get("delivery"), within).via_field("delivery"))
    errs = errs.also(spec_errs.via_field("spec"))
    if old is not None:
        errs = errs.also(_broker_immutable(obj, old))
    return errs


def _broker_immutable(obj: _Obj, old: _Obj) -> FieldError:
    """Only spec.delivery may change; then the class annotation may not."""
    def shape(o: _Obj) -> _Obj:
        return {"Config": go_names(_spec(o).get("config"))}
    diff = spec_diff(shape(old), shape(obj), "v1.BrokerSpec")
    if diff:
        return _immutable(diff, "spec")
    before = _d(_meta(old).get("annotations")).get(BROKER_CLASS) or ""
    after = _d(_meta(obj).get("annotations")).get(BROKER_CLASS) or ""
    diff = spec_diff(before, after, "string")
    return FieldError("Immutable annotations changed (-old +new)", ("annotations",), diff) if diff else FieldError()


def validate_trigger(obj: _Obj, old: _Obj | None, ctx: Ctx) -> FieldError:
    spec = _spec(obj)
    errs = FieldError()
    broker, broker_ref = spec.get("broker"), spec.get("brokerRef")
    if broker and broker_ref is not None:
        errs = errs.also(err_multiple_one_of("broker", "brokerRef"))
    elif broker_ref is not None and ctx.cfg.features.enabled("cross-namespace-event-links"):
        errs = errs.also(validate_kreference(broker_ref, ctx).via_field("brokerRef"))
    elif not broker:
        errs = errs.also(err_missing_field("broker"))
    attributes = _d(spec.get("filter")).get("attributes")
    errs = errs.also(_attribute_names(attributes).via_field("filter", "attributes"))
    errs = errs.also(validate_filters(spec.get("filters")).via_field("filters"))
    errs = errs.also(validate_destination(spec.get("subscriber"), ctx).via_field("subscriber"))
    errs = errs.also(validate_delivery(spec.get("delivery"), ctx).via_field("delivery"))
    errs = errs.via_field("spec")
    annotations = _d(_meta(obj).get("annotations"))
    for key, check in ((DEPENDENCY, _dependency), (INJECTION, _injection)):
        if key in annotations:
            errs = errs.also(check(str(annotations[key]), obj).via_field(f"metadata.annotations[{key}]"))
    if old is not None:
        errs = errs.also(_immutable(spec_diff(str(_spec(old).get("broker") or ""), str(broker or ""), "string"),
                                    "spec", "broker"))
    return errs


def _attribute_names(attributes: Any) -> FieldError:
    errs = FieldError()
    for key in sorted(_d(attributes)):
        if not _ATTRIBUTE_NAME.match(key):
            errs = errs.also(err_invalid_key_name(key, "", _ATTRIBUTE_DETAILS).via_key(key))
    return errs


def _single_attribute(expr: Any) -> FieldError:
    attrs = _d(expr)
    if not attrs:
        return FieldError()
    if len(attrs) != 1:
        return err_generic("Multiple items found, can have only one key-value", "")
    return _attribute_names(attrs)


_DIALECTS = ("exact", "prefix", "suffix", "all", "any", "not", "cesql")


def _dialects(f: Mapping[str, Any]) -> int:
    count = sum(1 for k in ("exact", "prefix", "suffix", "all", "any") if f.get(k))
    return count + (f.get("not") is not None) + bool(f.get("cesql"))


def validate_filters(filters: Any) -> FieldError:
    """A list of SubscriptionsAPIFilter: each entry validated, its errors under `[i]`."""
    errs = FieldError()
    for i, f in enumerate(filters if isinstance(filters, list) else []):
        errs = errs.also(_filter(f).via_index(i))
    return errs


def _filter(f: Any) -> FieldError:
    if f is None:
        return FieldError()
    entry = _d(f)
    errs = FieldError()
    if _dialects(entry) > 1:
        errs = errs.also(err_generic("multiple dialects found, filters can have only one dialect set", ""))
    for key in ("exact", "prefix", "suffix"):
        errs = errs.also(_single_attribute(entry.get(key)).via_field(key))
    for key in ("all", "any"):
        errs = errs.also(validate_filters(entry.get(key)).via_field(key))
    errs = errs.also(_filter(entry.get("not")).via_field("not"))
    expression = entry.get("cesql")
    if expression:
        try:
            parse_cesql(str(expression))
        except CESQLError as err:
            errs = errs.also(err_invalid_value(expression, "cesql", str(err)))
    return errs


_OBJECT_REFERENCE_FIELDS = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")


def _object_reference(text: str) -> tuple[dict[str, str], str | None]:
    """json.Unmarshal into a corev1.ObjectReference: the fields, or Go's error."""
    error = syntax_error(text.encode())
    if error is not None:
        return {}, error
    value = orjson.loads(text)
    if value is None:
        return {}, None
    if not isinstance(value, dict):
        return {}, unmarshal_error(value, "v1.ObjectReference")
    out: dict[str, str] = {}
    for key, item in value.items():
        field = key if key in _OBJECT_REFERENCE_FIELDS else next(
            (f for f in _OBJECT_REFERENCE_FIELDS if f.lower() == key.lower()), None)
        if field is None or item is None:
            continue
        if not isinstance(item, str):
            return {}, (f"json: cannot unmarshal {json_kind(item)} into Go struct field "
                        f"ObjectReference.{field} of type string")
        out[field] = item
    return out, None


def _dependency(value: str, obj: _Obj) -> FieldError:
    ref, error = _object_reference(value)
    if error is not None:
        return FieldError(f"The provided annotation was not a corev1.ObjectReference: {go_quote(value)}", ("",),
                          error)
    errs = FieldError()
    ns = _namespace(obj)
    if ref.get("namespace") and ref["namespace"] != ns:
        errs = errs.also(FieldError(f"Namespace must be empty or equal to the trigger namespace {go_quote(ns)}",
                                    ("namespace",)))
    for key in ("kind", "name", "apiVersion"):
        if not ref.get(key):
            errs = errs.also(err_missing_field(key))
    return errs


def _injection(value: str, obj: _Obj) -> FieldError:
    if value not in ("enabled", "disabled"):
        return FieldError('The provided injection annotation value can only be "enabled" or "disabled", not '
                          + go_quote(value), ("",))
    broker = str(_spec(obj).get("broker") or "")
    if broker != "default":
        return FieldError("The provided injection annotation is only used for default broker, but non-default "
                          f"broker specified here: {go_quote(broker)}", ("",))
    return FieldError()


def validate_event_type(obj: _Obj, old: _Obj | None, ctx: Ctx) -> FieldError:
    spec = _spec(obj)
    errs = FieldError()
    if not spec.get("type"):  # (v1beta3's rules are checked on conversion: this sees the stored v1beta2)
        errs = errs.also(err_missing_field("type"))
    if spec.get("reference") is not None:
        errs = errs.also(validate_kreference(spec["reference"], ctx).via_field("reference"))
    errs = errs.via_field("spec")
    if old is not None:
        errs = errs.also(_immutable(spec_diff(go_names(dict(_spec(old))), go_names(dict(spec)),
                                              "v1beta2.EventTypeSpec"), "spec"))
    return errs


# --- messaging.knative.dev ---------------------------------------------------------------------------


def _channel_template(template: Any) -> FieldError:
    t = _d(template)
    errs = FieldError()
    if not t.get("kind"):
        errs = errs.also(err_missing_field("kind"))
    if not t.get("apiVersion"):
        errs = errs.also(err_missing_field("apiVersion"))
    return errs


def _template_shape(template: Any) -> Any:
    if template is None:
        return None
    t = _d(template)
    return {"TypeMeta": {"Kind": t.get("kind") or "", "APIVersion": t.get("apiVersion") or ""},
            "Spec": go_names(t.get("spec"))}


def validate_channel(obj: _Obj, old: _Obj | None, ctx: Ctx) -> FieldError:
    within = ctx.within(_namespace(obj))
    spec = _spec(obj)
    errs = FieldError()
    if spec.get("channelTemplate") is None:
        errs = errs.also(err_missing_field("channelTemplate"))
    else:
        errs = errs.also(_channel_template(spec["channelTemplate"]).via_field("channelTemplate"))
    if spec.get("subscribers"):
        errs = errs.also(err_disallowed_fields("subscribers").via_field("subscribable"))
    errs = errs.also(validate_delivery(spec.get("delivery"), within).via_field("delivery")).via_field("spec")
    if old is not None:
        def shape(o: _Obj) -> _Obj:
            s = _spec(o)
            return {"ChannelTemplate": _template_shape(s.get("channelTemplate")),
                    "ChannelableSpec": {"Delivery": go_names(s.get("delivery"))}}
        errs = errs.also(_immutable(spec_diff(shape(old), shape(obj), "v1.ChannelSpec"), "spec"))
    return errs


def validate_in_memory_channel(obj: _Obj, old: _Obj | None, ctx: Ctx) -> FieldError:
    spec = _spec(obj)
    errs = FieldError()
    for i, sub in enumerate(spec.get("subscribers") or []):
        s = _d(sub)
        if s.get("replyUri") is None and s.get("subscriberUri") is None:
            missing = FieldError("missing field(s)", ("replyURI", "subscriberURI"),
                                 "expected at least one of, got none")
            errs = errs.also(missing.via_field(f"subscriber[{i}]").via_field("subscribable"))
    errs = errs.also(validate_delivery(spec.get("delivery"), ctx).via_field("delivery")).via_field("spec")
    scope = _d(_meta(obj).get("annotations")).get(SCOPE)
    if scope is not None and scope not in ("namespace", "cluster"):
        invalid = err_invalid_value(scope, "", "expected either 'cluster' or 'namespace'")
        errs = errs.also(invalid.via_field_key("annotations", SCOPE).via_field("metadata"))
    return errs


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, Mapping) and not any(v not in (None, "") for v in value.values()))


def validate_subscription(obj: _Obj, old: _Obj | None, ctx: Ctx) -> FieldError:
    spec = _spec(obj)
    errs = _subscription_spec(spec, ctx).via_field("spec")
    if old is not None:
        def shape(o: _Obj) -> _Obj:
            s = _spec(o)
            return {"Channel": go_names(dict(_d(s.get("channel")))), "Delivery": go_names(s.get("delivery"))}
        errs = errs.also(_immutable(spec_diff(shape(old), shape(obj), "v1.SubscriptionSpec"), "spec"))
    return errs


def _subscription_spec(spec: Mapping[str, Any], ctx: Ctx) -> FieldError:
    channel = spec.get("channel")
    if _empty(channel):
        return FieldError("missing field(s)", ("channel",), "the Subscription must reference a channel")
    errs = FieldError()
    channel_errs = validate_kreference(channel, ctx)
    if _d(channel).get("namespace"):
        channel_errs = channel_errs.also(FieldError("must not set the field(s)", ("namespace",),
                                                    "only name, apiVersion and kind are supported fields"))
    errs = errs.also(channel_errs.via_field("channel"))
    subscriber, reply = spec.get("subscriber"), spec.get("reply")
    if _empty(subscriber) and ctx.cfg.features.enabled("strict-subscriber"):
        errs = errs.also(FieldError("missing field(s)", ("subscriber",),
                                    "the Subscription must reference a subscriber"))
    elif _empty(subscriber) and _empty(reply):
        errs = errs.also(FieldError("missing field(s)", ("reply", "subscriber"),
                                    "the Subscription must reference at least one of (reply or a subscriber)"))
    if not _empty(subscriber):
        errs = errs.also(validate_destination(subscriber, ctx).via_field("subscriber"))
    if not _empty(reply):
        errs = errs.also(validate_destination(reply, ctx).via_field("reply"))
    return errs.also(validate_delivery(spec.get("delivery"), ctx).via_field("delivery"))


# --- sources.knative.dev -----------------------------------------------------------------------------

_EXTENSION_DETAILS = ("keys MUST consist of lower-case letters ('a' to 'z') or digits ('0' to '9') from the "
                      "ASCII character set")


def _source_spec(spec: Mapping[str, Any]) -> FieldError:
    """duck SourceSpec: the first bad ceOverrides extension name (Go stops at the first it meets)."""
    for key in sorted(_d(_d(spec.get("ceOverrides")).get("extensions"))):
        if not key:
            return err_invalid_key_name(key, "", "keys MUST NOT be empty").via_field("ceOverrides", "extensions")
        if not all(c.isascii() and c.isalnum() for c in key):
            return err_invalid_key_name(key, "", _EXTENSION_DETAILS).via_field("ceOverrides", "extensions")
    return FieldError()


def _json_object_error(data: bytes) -> str | None:
    """json.Unmarshal into a map[string]interface{}: Go's error, or None."""
    error = syntax_error(data)
    if error is not None:
        return error
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None  # valid JSON orjson refuses (huge numbers, odd UTF-8): Go decodes it
    if value is None or isinstance(value, dict):
        return None
    return unmarshal_error(value, GO_MAP)


def validate_ping_source(obj: _Obj, old: _Obj | None, ctx: Ctx) -> FieldError:
    spec = _spec(obj)
    schedule = str(spec.get("schedule") or "")
    timezone = str(spec.get("timezone") or "")
    errs = FieldError()
    if "@every" in schedule:
        errs = errs.also(err_invalid_value("unsupported descriptor @every", "schedule"))
    try:
        parse_schedule(schedule, timezone or None)
    except CronError as err:
        if "@every" not in schedule or str(err) != "unsupported descriptor @every":  # said once, above
            path = "timezone" if str(err).startswith("provided bad location") else "schedule"
            errs = errs.also(err_invalid_value(str(err), path))
    errs = errs.also(validate_destination(spec.get("sink"), ctx).via_field("sink"))
    data, data64 = str(spec.get("data") or ""), str(spec.get("dataBase64") or "")
    limit = ctx.cfg.data_max_size
    is_json = spec.get("contentType") == "application/json"
    if data and data64:
        errs = errs.also(err_multiple_one_of("data", "dataBase64"))
    elif data64:
        size = len(data64.encode())
        if limit > -1 and size > limit:
            errs = errs.also(err_invalid_value(
                f"the dataBase64 length of {size} bytes exceeds limit set at {limit}.", "dataBase64"))
        try:
            decoded = decode_std(data64)
        except Base64Error as err:
            errs = errs.also(err_invalid_value(str(err), "dataBase64"))
        else:
            error = _json_object_error(decoded) if is_json else None
            if error is not None:
                errs = errs.also(err_invalid_value(error, "dataBase64"))
    elif data:
        size = len(data.encode())
        if limit > -1 and size > limit:
            errs = errs.also(err_invalid_value(f"the data length of {size} bytes exceeds limit set at {limit}.",
                                               "data"))
        error = _json_object_error(data.encode()) if is_json else None
        if error is not None:
            errs = errs.also(err_invalid_value(error, "data"))
    return errs.also(_source_spec(spec)).via_field("spec")


def _group_version_ok(api_version: str) -> bool:
    """k8s `schema.ParseGroupVersion`: at most one `/`."""
    return api_version.count("/") <= 1


def validate_api_server_source(obj: _Obj, old: _Obj | None, ctx: Ctx) -> FieldError:
    spec = _spec(obj)
    errs = FieldError()
    mode = spec.get("mode")
    if mode not in ("Reference", "Resource"):
        errs = errs.also(err_invalid_value("" if mode is None else mode, "mode"))
    errs = errs.also(validate_destination(spec.get("sink"), ctx).via_field("sink"))
    resources = spec.get("resources") or []
    if not resources:
        errs = errs.also(err_missing_field("resources"))
    for i, res in enumerate(resources):
        r = _d(res)
        api_version = str(r.get("apiVersion") or "")
        if not _group_version_ok(api_version):
            errs = errs.also(err_invalid_value(api_version, "apiVersion").via_field_index("resources", i))
        if not str(r.get("kind") or "").strip():
            errs = errs.also(err_missing_field("kind").via_field_index("resources", i))
    owner = spec.get("owner")
    if owner is not None:
        o = _d(owner)
        if not _group_version_ok(str(o.get("apiVersion") or "")):
            errs = errs.also(err_invalid_value(str(o.get("apiVersion") or ""), "apiVersion").via_field("owner"))
        if not str(o.get("kind") or "").strip():
            errs = errs.also(err_missing_field("kind").via_field("owner"))
    if spec.get("filters") and ctx.cfg.features.enabled("new-apiserversource-filters"):
        errs = errs.also(validate_filters(spec["filters"]).via_field("filters"))
    return errs.also(_source_spec(spec)).via_field("spec")


def validate_container_source(obj: _Obj, old: _Obj | None, ctx: Ctx) -> FieldError:
    spec = _spec(obj)
    errs = validate_destination(spec.get("sink"), ctx).via_field("sink")
    containers = _d(_d(spec.get("template")).get("spec")).get("containers")
    if not containers:
        errs = errs.also(err_missing_field("containers"))
    else:
        for i, container in enumerate(containers):
            c = _d(container)
            for key in ("name", "image"):
                if not c.get(key):
                    errs = errs.also(err_missing_field(key).via_field_index("containers", i))
    return errs.also(_source_spec(spec)).via_field("spec")


_C_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_C_IDENTIFIER_MSG = ("a valid C identifier must start with alphabetic character or '_', followed by a string of "
                     "alphanumeric characters or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName', regex used for "
                     "validation is '[A-Za-z_][A-Za-z0-9_]*')")


def _subject(subject: Any) -> FieldError:
    """tracker.Reference.Validate: apiVersion, kind, namespace, and exactly one of name and selector."""
    s = _d(subject)
    errs = FieldError()
    checks = (("apiVersion", qualified_name), ("kind", lambda v: [] if _C_IDENTIFIER.match(v) else [_C_IDENTIFIER_MSG]),
              ("namespace", dns1123_label))
    for key, check in checks:
        value = str(s.get(key) or "")
        problems = check(value) if value else []
        if not value:
            errs = errs.also(err_missing_field(key))
        elif problems:
            errs = errs.also(err_invalid_value(", ".join(problems), key))
    name, selector = str(s.get("name") or ""), s.get("selector")
    if selector is not None and name:
        errs = errs.also(err_multiple_one_of("selector", "name"))
    elif selector is None and name:
        problems = dns1123_label(name)
        if problems:
            errs = errs.also(err_invalid_value(", ".join(problems), "name"))
    elif selector is None:
        errs = errs.also(err_missing_one_of("selector", "name"))
    return errs


def validate_sink_binding(obj: _Obj, old: _Obj | None, ctx: Ctx) -> FieldError:
    spec = _spec(obj)
    errs = _subject(spec.get("subject")).via_field("subject")
    errs = errs.also(validate_destination(spec.get("sink"), ctx).via_field("sink"))
    errs = errs.also(_source_spec(spec)).via_field("spec")
    subject_ns = str(_d(spec.get("subject")).get("namespace") or "")
    if subject_ns and subject_ns != _namespace(obj):
        errs = errs.also(err_invalid_value(subject_ns, "spec.subject.namespace"))
    return errs


# --- flows.knative.dev -------------------------------------------------------------------------------


def validate_sequence(obj: _Obj, old: _Obj | None, ctx: Ctx) -> FieldError:
    spec = _spec(obj)
    errs = FieldError()
    steps = spec.get("steps") or []
    if not steps:
        errs = errs.also(err_missing_field("steps"))
    for i, step in enumerate(steps):
        step_errs = validate_destination(step, ctx).also(
            validate_delivery(_d(step).get("delivery"), ctx).via_field("delivery"))
        if step_errs:
            errs = errs.also(err_invalid_value(step_v(step), "").via_field_index("steps", i))
    template = spec.get("channelTemplate")
    if template is None:
        errs = errs.also(err_missing_field("channelTemplate"))
    else:
        errs = errs.also(_channel_template(template).via_field("channelTemplate"))
    errs = errs.also(_optional_destination(spec.get("reply"), ctx).via_field("reply"))
    return errs.via_field("spec")


def validate_parallel(obj: _Obj, old: _Obj | None, ctx: Ctx) -> FieldError:
    spec = _spec(obj)
    errs = FieldError()
    branches = spec.get("branches") or []
    if not branches:
        errs = errs.also(err_missing_field("branches"))
    for i, branch in enumerate(branches):
        b = _d(branch)
        for key, required in (("filter", False), ("subscriber", True), ("reply", False)):
            dest = b.get(key)
            problem = validate_destination(dest, ctx) if required else _optional_destination(dest, ctx)
            if problem:
                errs = errs.also(err_invalid_value(branch_v(branch), "").via_field_index(f"branches.{key}", i))
    template = spec.get("channelTemplate")
    if template is None:
        return errs.also(err_missing_field("channelTemplate")).via_field("spec")
    t = _d(template)
    if not t.get("apiVersion"):
        errs = errs.also(err_missing_field("channelTemplate.apiVersion"))
    if not t.get("kind"):
        errs = errs.also(err_missing_field("channelTemplate.kind"))
    errs = errs.also(_optional_destination(spec.get("reply"), ctx).via_field("reply"))
    return errs.via_field("spec")
