"""Eventing's defaulting webhook (`webhook.eventing.knative.dev`), one function per kind; each runs on
create and update before validation and changes the object in place.

What a created object reads back with the stock ConfigMaps:

    Broker          annotation eventing.knative.dev/broker.class: MTChannelBasedBroker (when absent),
                    spec.config: v1 ConfigMap knative-eventing/config-br-default-channel,
                    spec.delivery: {retry: 10, backoffPolicy: exponential, backoffDelay: PT0.2S}
    Trigger         spec.filter: {} (when absent), label eventing.knative.dev/broker=<spec.broker>
    Channel         spec.channelTemplate: messaging.knative.dev/v1 InMemoryChannel (default-ch-webhook),
                    annotation messaging.knative.dev/subscribable: v1
    InMemoryChannel annotation messaging.knative.dev/subscribable: v1
    PingSource      spec.schedule: "* * * * *"
    ApiServerSource spec.mode: Reference, spec.serviceAccountName: default
    ContainerSource unnamed containers named <source>-<index>
    SinkBinding     spec.subject.namespace: the binding's namespace
    Sequence/Parallel spec.channelTemplate from default-ch-webhook

Every Destination (sink, subscriber, reply, dead letter sink, steps, branches) with a `ref` lacking a
namespace gets the object's namespace.
"""

from __future__ import annotations

import copy
from typing import Any

from .config import EventingConfig
from .destination import default_delivery, default_destination, default_kreference

__all__ = [
    "BROKER_CLASS",
    "BROKER_LABEL",
    "SUBSCRIBABLE",
    "default_api_server_source",
    "default_broker",
    "default_channel",
    "default_container_source",
    "default_event_type",
    "default_in_memory_channel",
    "default_parallel",
    "default_ping_source",
    "default_sequence",
    "default_sink_binding",
    "default_subscription",
    "default_trigger",
]

BROKER_CLASS = "eventing.knative.dev/broker.class"
BROKER_LABEL = "eventing.knative.dev/broker"
SUBSCRIBABLE = "messaging.knative.dev/subscribable"
DEFAULT_SCHEDULE = "* * * * *"

_Obj = dict[str, Any]


def _meta(obj: _Obj) -> _Obj:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    return meta


def _namespace(obj: _Obj) -> str:
    return str(_meta(obj).get("namespace") or "")


def _spec(obj: _Obj) -> _Obj:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec


def _annotations(obj: _Obj) -> _Obj:
    meta = _meta(obj)
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        annotations = meta["annotations"] = {}
    return annotations


def _sink(spec: _Obj, ns: str) -> None:
    default_destination(spec.get("sink"), ns)


# --- eventing.knative.dev ----------------------------------------------------------------------------


def default_broker(obj: _Obj, cfg: EventingConfig, old: _Obj | None = None) -> None:
    ns = _namespace(obj)
    annotations = _meta(obj).get("annotations")
    if not isinstance(annotations, dict) or BROKER_CLASS not in annotations:
        broker_class = cfg.brokers.broker_class(ns)
        if broker_class is not None:
            _annotations(obj)[BROKER_CLASS] = broker_class
    spec = _spec(obj)
    chosen = cfg.brokers.broker_config(ns, (_meta(obj).get("annotations") or {}).get(BROKER_CLASS))
    if chosen is not None:
        if spec.get("config") is None and chosen.get("ref") is not None:
            spec["config"] = copy.deepcopy(chosen["ref"])
        delivery = chosen.get("delivery")
        if spec.get("delivery") is None and delivery is not None:
            # Only these four are copied from the defaults, as Knative copies them.
            spec["delivery"] = {k: copy.deepcopy(delivery[k])
                                for k in ("deadLetterSink", "retry", "backoffPolicy", "backoffDelay")
                                if delivery.get(k) is not None}
    default_kreference(spec.get("config"), ns)
    default_delivery(spec.get("delivery"), ns)


def default_trigger(obj: _Obj, cfg: EventingConfig, old: _Obj | None = None) -> None:
    ns = _namespace(obj)
    spec = _spec(obj)
    if spec.get("filter") is None:
        spec["filter"] = {}
    default_destination(spec.get("subscriber"), ns)
    default_delivery(spec.get("delivery"), ns)
    broker = spec.get("broker")
    if broker:
        labels = _meta(obj).get("labels")
        if not isinstance(labels, dict):
            labels = _meta(obj)["labels"] = {}
        labels[BROKER_LABEL] = broker


def default_event_type(obj: _Obj, cfg: EventingConfig, old: _Obj | None = None) -> None:
    default_kreference(_spec(obj).get("reference"), _namespace(obj))


# --- messaging.knative.dev ---------------------------------------------------------------------------


def _subscribable_version(obj: _Obj) -> None:
    _annotations(obj).setdefault(SUBSCRIBABLE, "v1")


def default_channel(obj: _Obj, cfg: EventingConfig, old: _Obj | None = None) -> None:
    _subscribable_version(obj)
    ns = _namespace(obj)
    spec = _spec(obj)
    if spec.get("channelTemplate") is not None:
        return  # as in Knative, the delivery is only defaulted along with the template
    template = cfg.channels.template(ns)
    if template is not None:
        spec["channelTemplate"] = template
    default_delivery(spec.get("delivery"), ns)


def default_in_memory_channel(obj: _Obj, cfg: EventingConfig, old: _Obj | None = None) -> None:
    _subscribable_version(obj)
    default_delivery(_spec(obj).get("delivery"), _namespace(obj))


def default_subscription(obj: _Obj, cfg: EventingConfig, old: _Obj | None = None) -> None:
    ns = _namespace(obj)
    spec = _spec(obj)
    default_destination(spec.get("subscriber"), ns)
    default_destination(spec.get("reply"), ns)
    default_delivery(spec.get("delivery"), ns)


# --- sources.knative.dev -----------------------------------------------------------------------------


def default_ping_source(obj: _Obj, cfg: EventingConfig, old: _Obj | None = None) -> None:
    spec = _spec(obj)
    if not spec.get("schedule"):
        spec["schedule"] = DEFAULT_SCHEDULE
    _sink(spec, _namespace(obj))


def default_api_server_source(obj: _Obj, cfg: EventingConfig, old: _Obj | None = None) -> None:
    spec = _spec(obj)
    if not spec.get("mode"):
        spec["mode"] = "Reference"
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = "default"
    _sink(spec, _namespace(obj))


def default_container_source(obj: _Obj, cfg: EventingConfig, old: _Obj | None = None) -> None:
    spec = _spec(obj)
    name = str(_meta(obj).get("name") or "")
    template = spec.get("template")
    pod = template.get("spec") if isinstance(template, dict) else None
    containers = pod.get("containers") if isinstance(pod, dict) else None
    if isinstance(containers, list):
        for i, container in enumerate(containers):
            if isinstance(container, dict) and not container.get("name"):
                container["name"] = f"{name}-{i}"
    _sink(spec, _namespace(obj))


def default_sink_binding(obj: _Obj, cfg: EventingConfig, old: _Obj | None = None) -> None:
    spec = _spec(obj)
    subject = spec.get("subject")
    if isinstance(subject, dict) and not subject.get("namespace"):
        subject["namespace"] = _namespace(obj)
    _sink(spec, _namespace(obj))


# --- flows.knative.dev -------------------------------------------------------------------------------


def _channel_template(obj: _Obj, cfg: EventingConfig) -> None:
    spec = _spec(obj)
    if spec.get("channelTemplate") is None:
        template = cfg.channels.template(_namespace(obj))
        if template is not None:
            spec["channelTemplate"] = template


def default_sequence(obj: _Obj, cfg: EventingConfig, old: _Obj | None = None) -> None:
    _channel_template(obj, cfg)
    ns = _namespace(obj)
    spec = _spec(obj)
    for step in spec.get("steps") or []:
        default_destination(step, ns)
    default_destination(spec.get("reply"), ns)


def default_parallel(obj: _Obj, cfg: EventingConfig, old: _Obj | None = None) -> None:
    _channel_template(obj, cfg)
    ns = _namespace(obj)
    spec = _spec(obj)
    for branch in spec.get("branches") or []:
        if isinstance(branch, dict):
            for key in ("filter", "subscriber", "reply"):
                default_destination(branch.get(key), ns)
    default_destination(spec.get("reply"), ns)
