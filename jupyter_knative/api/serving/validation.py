"""Serving's validation of Services, Configurations, Revisions and Routes, with Knative's messages and paths.

Each `validate_*` takes the (defaulted) object, the stored one on update, and the webhook's config, and
returns a `FieldError` (empty when valid; it may hold warnings only). The rules, by resource:

- all: `metadata.name` a DNS-1035 label; Services, Configurations and Routes carry no
  `autoscaling.knative.dev/*` annotations (those belong on the template); `serving.knative.dev/service`
  (and on Revisions `/configuration`) labels only with an owner reference to that parent (checked when
  the label is set or changed, so that orphaning by the garbage collector is not refused);
- Service / Route: `networking.knative.dev/visibility` is `cluster-local` (Service) and
  `serving.knative.dev/rollout-duration` a whole number of seconds;
- revision templates: the pod spec subset (`podspec`), timeoutSeconds and containerConcurrency bounds,
  autoscaling annotations (`annotations`), a brought-your-own name that starts with `<parent>-` (and none
  when the parent is created with generateName), and, on update, a new name whenever the template changes;
- traffic: exactly one of revisionName/configurationName (a Service's own configuration is implied and may
  not be named), percent in [0, 100] summing to 100, latestRevision consistent with revisionName, tags
  DNS-1035 labels and unique, no `url`;
- Revision update: the spec is immutable; creator annotations immutable, lastModifier changing only with
  the spec (for Services, and Configurations / Routes nobody owns).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..meta import dns1035_label, qualified_name
from .annotations import (
    validate_autoscaling,
    validate_no_autoscaling,
    validate_queue_sidecar,
    validate_rollout_duration,
)
from .config import WebhookConfig
from .defaults import CREATOR, LAST_MODIFIER
from .diff import short_diff
from .fielderror import (
    FieldError,
    err_disallowed_fields,
    err_generic,
    err_invalid_array_value,
    err_invalid_key_name,
    err_invalid_value,
    err_missing_field,
    err_missing_one_of,
    err_multiple_one_of,
    err_out_of_bounds_value,
)
from .goformat import go_quote
from .podspec import validate_pod_spec

__all__ = [
    "validate_configuration",
    "validate_revision",
    "validate_revision_spec",
    "validate_revision_template",
    "validate_route",
    "validate_service",
    "validate_traffic",
]

VISIBILITY_LABEL = "networking.knative.dev/visibility"
SERVICE_LABEL = "serving.knative.dev/service"
CONFIGURATION_LABEL = "serving.knative.dev/configuration"
_GENERATED_SUFFIX = re.compile(r"[bcdfghjklmnpqrstvwxz2456789]{5}")

_Obj = Mapping[str, Any]


@dataclass(frozen=True)
class Context:
    """What validation knows besides the value: config, the parent's metadata, where it is."""

    config: WebhookConfig = field(default_factory=WebhookConfig)
    parent: _Obj = field(default_factory=dict)
    in_spec: bool = False
    default_configuration: bool = False  # traffic inside a Service: its configuration is implied


def _dict(value: Any) -> _Obj:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- the resources ----------------------------------------------------------------------------------------

def validate_service(obj: _Obj, old: _Obj | None, cfg: WebhookConfig) -> FieldError:
    meta = _dict(obj.get("metadata"))
    errs = _object_meta(meta)
    errs = errs.also(_visibility_label(_dict(meta.get("labels"))).via_field("labels"))
    errs = errs.also(validate_rollout_duration(_dict(meta.get("annotations"))).via_field("annotations"))
    errs = errs.via_field("metadata")
    ctx = Context(cfg, _parent_view(meta, creating=old is None), in_spec=True)
    spec = _dict(obj.get("spec"))
    spec_errs = validate_revision_template(_dict(spec.get("template")), ctx).via_field("template")
    spec_errs = spec_errs.also(validate_traffic(_list(spec.get("traffic")), Context(
        cfg, ctx.parent, in_spec=True, default_configuration=True)).via_field("traffic"))
    errs = errs.also(spec_errs.via_field("spec"))
    if old is not None:
        errs = errs.also(_creator_and_modifier(old, obj).via_field("metadata.annotations"))
        errs = errs.also(_name_change(spec, _dict(old.get("spec"))).via_field("spec.template"))
    return errs


def validate_configuration(obj: _Obj, old: _Obj | None, cfg: WebhookConfig) -> FieldError:
    meta = _dict(obj.get("metadata"))
    errs = _object_meta(meta)
    errs = errs.also(_owned_label(meta, old, SERVICE_LABEL, "Service").via_field("labels"))
    errs = errs.via_field("metadata")
    ctx = Context(cfg, _parent_view(meta, creating=old is None), in_spec=True)
    spec = _dict(obj.get("spec"))
    errs = errs.also(validate_revision_template(_dict(spec.get("template")), ctx).via_field("spec.template"))
    if old is not None:
        if not meta.get("ownerReferences"):
            errs = errs.also(_creator_and_modifier(old, obj).via_field("metadata.annotations"))
        errs = errs.also(_name_change(spec, _dict(old.get("spec"))).via_field("spec.template"))
    return errs


def validate_route(obj: _Obj, old: _Obj | None, cfg: WebhookConfig) -> FieldError:
    meta = _dict(obj.get("metadata"))
    errs = _object_meta(meta)
    errs = errs.also(_owned_label(meta, old, SERVICE_LABEL, "Service").via_field("labels"))
    errs = errs.also(validate_rollout_duration(_dict(meta.get("annotations"))).via_field("annotations"))
    errs = errs.via_field("metadata")
    traffic = _list(_dict(obj.get("spec")).get("traffic"))
    errs = errs.also(validate_traffic(traffic, Context(cfg, in_spec=True)).via_field("spec.traffic"))
    if old is not None and not meta.get("ownerReferences"):
        errs = errs.also(_creator_and_modifier(old, obj).via_field("metadata.annotations"))
    return errs


def validate_revision(obj: _Obj, old: _Obj | None, cfg: WebhookConfig) -> FieldError:
    meta = _dict(obj.get("metadata"))
    errs = _object_meta(meta, autoscaling=cfg)
    errs = errs.also(_owned_label(meta, old, CONFIGURATION_LABEL, "Configuration").via_field("labels"))
    errs = errs.via_field("metadata")
    if old is None:
        return errs.also(validate_revision_spec(_dict(obj.get("spec")), Context(cfg, in_spec=True)).via_field("spec"))
    diff = short_diff(old.get("spec") or {}, obj.get("spec") or {}, "v1.RevisionSpec")
    if diff:
        return FieldError("Immutable fields changed (-old +new)", ("spec",), diff)
    return errs


# --- metadata -----------------------------------------------------------------------------------------------

def _object_meta(meta: _Obj, *, autoscaling: WebhookConfig | None = None) -> FieldError:
    """apis.ValidateObjectMetadata plus the autoscaling annotation rule (allowed only on Revisions)."""
    errs = _names(meta)
    annotations = _dict(meta.get("annotations"))
    found = validate_autoscaling(annotations, autoscaling.autoscaler) if autoscaling else \
        validate_no_autoscaling(annotations)
    return errs.also(found.via_field("annotations"))


def _names(meta: _Obj) -> FieldError:
    name, generate = str(meta.get("name") or ""), str(meta.get("generateName") or "")
    if generate:
        msgs = dns1035_label(_mask_trailing_dash(generate))
        if msgs:
            return FieldError(f"not a DNS 1035 label prefix: [{' '.join(msgs)}]", ("generateName",))
    if name:
        msgs = dns1035_label(name)
        if msgs:
            return FieldError(f"not a DNS 1035 label: [{' '.join(msgs)}]", ("name",))
    if not name and not generate:
        return FieldError("name or generateName is required", ("name",))
    return FieldError()


def _mask_trailing_dash(prefix: str) -> str:
    """How Kubernetes checks a generateName prefix: a trailing dash (and the character before it) become
    one letter, since a suffix will follow."""
    return prefix[:-2] + "a" if len(prefix) > 1 and prefix.endswith("-") else prefix


def _visibility_label(labels: _Obj) -> FieldError:
    value = labels.get(VISIBILITY_LABEL)
    if value is not None and value != "cluster-local":
        return err_invalid_value(value, VISIBILITY_LABEL)
    return FieldError()


def _owned_label(meta: _Obj, old: _Obj | None, label: str, kind: str) -> FieldError:
    """A parent's label only on objects that parent owns (so users cannot fake membership).

    Unlike Knative, a label an update leaves as it was is not checked again: the garbage collector
    orphans dependents by removing their owner reference and nothing else, and must not be refused."""
    value = _dict(meta.get("labels")).get(label)
    if value is None:
        return FieldError()
    if old is not None and _dict(_dict(old.get("metadata")).get("labels")).get(label) == value:
        return FieldError()
    for ref in _list(meta.get("ownerReferences")):
        if isinstance(ref, Mapping) and ref.get("kind") == kind and ref.get("name") == value:
            return FieldError()
    return err_missing_field(label)


def _creator_and_modifier(old: _Obj, new: _Obj) -> FieldError:
    before = _dict(_dict(old.get("metadata")).get("annotations"))
    after = _dict(_dict(new.get("metadata")).get("annotations"))
    errs = FieldError()
    if before.get(CREATOR) != after.get(CREATOR):
        errs = errs.also(FieldError("annotation value is immutable", (CREATOR,)))
    if old.get("spec") == new.get("spec") and before.get(LAST_MODIFIER) != after.get(LAST_MODIFIER):
        errs = errs.also(err_invalid_value(after.get(LAST_MODIFIER, ""), LAST_MODIFIER))
    return errs


def _parent_view(meta: _Obj, *, creating: bool) -> _Obj:
    """The parent's metadata as the defaulting webhook saw it: a name the apiserver generated from
    generateName did not exist yet when the object was created."""
    name, generate = str(meta.get("name") or ""), str(meta.get("generateName") or "")
    if creating and generate and name.startswith(generate) and _GENERATED_SUFFIX.fullmatch(name[len(generate):]):
        return {**meta, "name": ""}
    return meta


# --- revision templates and specs -------------------------------------------------------------------------

def validate_revision_template(template: _Obj, ctx: Context) -> FieldError:
    meta = _dict(template.get("metadata"))
    annotations = _dict(meta.get("annotations"))
    errs = validate_revision_spec(_dict(template.get("spec")), ctx).via_field("spec")
    errs = errs.also(validate_autoscaling(annotations, ctx.config.autoscaler).via_field("metadata.annotations"))
    errs = errs.also(_revision_name(str(meta.get("name") or ""), str(meta.get("generateName") or ""), ctx.parent))
    return errs.also(validate_queue_sidecar(annotations).via_field("metadata.annotations"))


def validate_revision_spec(spec: _Obj, ctx: Context) -> FieldError:
    errs = validate_pod_spec(spec, ctx.config.features)
    timeout = spec.get("timeoutSeconds")
    limit = ctx.config.defaults.max_revision_timeout_seconds
    if isinstance(timeout, int) and timeout != 0 and not 0 <= timeout <= limit:
        errs = errs.also(err_out_of_bounds_value(timeout, 0, limit, "timeoutSeconds"))
    cc = spec.get("containerConcurrency")
    if isinstance(cc, int):
        low = 0 if ctx.config.defaults.allow_container_concurrency_zero else 1
        high = ctx.config.defaults.container_concurrency_max_limit
        if not low <= cc <= high:
            errs = errs.also(err_out_of_bounds_value(cc, low, high, "containerConcurrency"))
    return errs


def _revision_name(name: str, generate: str, parent: _Obj) -> FieldError:
    if generate:
        msgs = dns1035_label(_mask_trailing_dash(generate))
        if msgs:
            return err_invalid_value(f"not a DNS 1035 label prefix: [{' '.join(msgs)}]", "metadata.generateName")
    if not name:
        return FieldError()
    msgs = dns1035_label(name)
    if msgs:
        return err_invalid_value(f"not a DNS 1035 label: [{' '.join(msgs)}]", "metadata.name")
    parent_name = str(parent.get("name") or "")
    if not parent_name and parent.get("generateName"):
        return err_disallowed_fields("metadata.name")
    prefix = parent_name + "-"
    if not name.startswith(prefix):
        return err_invalid_value(f"{go_quote(name)} must have prefix {go_quote(prefix)}", "metadata.name")
    return FieldError()


def _name_change(spec: _Obj, old_spec: _Obj) -> FieldError:
    """A brought-your-own revision name must change whenever the template does."""
    new, old = _dict(spec.get("template")), _dict(old_spec.get("template"))
    name = _dict(new.get("metadata")).get("name")
    if not name or name != _dict(old.get("metadata")).get("name"):
        return FieldError()
    diff = short_diff(old, new, "*v1.RevisionTemplateSpec")
    if diff:
        return FieldError("Saw the following changes without a name change (-old +new)", ("metadata.name",), diff)
    return FieldError()


# --- traffic ----------------------------------------------------------------------------------------------

def validate_traffic(traffic: list[Any], ctx: Context) -> FieldError:
    """A traffic list; paths relative to it (`[0].percent`, and for tags, as in Knative, `tag[0]`)."""
    errs = FieldError()
    tags: dict[str, int] = {}
    total = 0
    for i, raw in enumerate(traffic):
        target = _dict(raw)
        errs = errs.also(_target(target, ctx).via_index(i))
        percent = target.get("percent")
        if isinstance(percent, int) and not isinstance(percent, bool):
            total += percent
        tag = target.get("tag") or ""
        if not tag:
            continue
        msgs = dns1035_label(tag)
        if msgs:
            errs = errs.also(err_invalid_array_value(f"not a DNS 1035 label: [{' '.join(msgs)}]", "tag", i))
        if tag in tags:
            paths = (f"[{i}].tag", f"[{tags[tag]}].tag")
            errs = errs.also(FieldError(f"Multiple definitions for {go_quote(tag)}", paths))
        else:
            tags[tag] = i
    if total != 100:
        errs = errs.also(FieldError(f"Traffic targets sum to {total}, want 100", ("",)))
    return errs


def _target(t: _Obj, ctx: Context) -> FieldError:
    errs = FieldError()
    revision, configuration = t.get("revisionName") or "", t.get("configurationName") or ""
    latest = t.get("latestRevision")
    if ctx.in_spec and isinstance(latest, bool) and bool(revision) == latest:
        errs = err_generic(f"may not set revisionName {go_quote(revision)} when latestRevision is "
                           f"{'true' if latest else 'false'}", "latestRevision")
    if ctx.default_configuration and configuration:
        errs = errs.also(err_disallowed_fields("configurationName"))
    elif revision and configuration:
        errs = errs.also(err_multiple_one_of("revisionName", "configurationName"))
    elif revision:
        msgs = _qualified_name(revision)
        if msgs:
            errs = errs.also(err_invalid_key_name(revision, "revisionName", *msgs))
    elif configuration:
        msgs = _qualified_name(configuration)
        if msgs:
            errs = errs.also(err_invalid_key_name(configuration, "configurationName", *msgs))
    elif not ctx.default_configuration:
        errs = errs.also(err_missing_one_of("revisionName", "configurationName"))
    percent = t.get("percent")
    if isinstance(percent, int) and not isinstance(percent, bool) and not 0 <= percent <= 100:
        errs = errs.also(err_out_of_bounds_value(percent, 0, 100, "percent"))
    if t.get("url"):
        if ctx.in_spec:
            errs = errs.also(err_disallowed_fields("url"))
        if not t.get("tag"):
            errs = errs.also(err_disallowed_fields("url"))
    return errs


def _qualified_name(value: str) -> list[str]:
    """k8s IsQualifiedName, including the message for more than one `/`."""
    if value.count("/") > 1:
        return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and "
                "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain "
                "prefix and '/' (e.g. 'example.com/MyName')"]
    return qualified_name(value)
