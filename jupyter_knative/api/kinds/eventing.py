"""Knative Eventing's kinds: brokers and triggers, channels and subscriptions, sources and flows.

Names, short names, categories and columns are those of Knative Eventing's CRDs. Eventing's schemas leave
more open than Serving's (trigger and ApiServerSource specs, delivery specs, status annotations keep unknown
fields), and the schemas here keep the same things open so nothing the real CRD keeps is dropped.
"""

from __future__ import annotations

from ..eventing.admission import (
    admit_api_server_source,
    admit_broker,
    admit_channel,
    admit_container_source,
    admit_event_type,
    admit_in_memory_channel,
    admit_parallel,
    admit_ping_source,
    admit_sequence,
    admit_sink_binding,
    admit_subscription,
    admit_trigger,
)
from ..eventing.conversion import convert_event_type
from ..registry import AGE, PrinterColumn, ResourceType, Version
from ..schema import Schema, arr, boolean, free_object, integer, map_of, obj, string
from .meta import (
    addressable,
    column,
    condition,
    delivery_spec,
    destination,
    duck_status,
    kreference,
    ready_reason,
    root,
)

EVENTING = "eventing.knative.dev"
MESSAGING = "messaging.knative.dev"
SOURCES = "sources.knative.dev"
FLOWS = "flows.knative.dev"

_URL = column("URL", ".status.address.url")
_SINK = column("Sink", ".status.sinkUri")

# --- shared pieces ------------------------------------------------------------------------------------


def _auth() -> Schema:
    return obj({"serviceAccountName": string(), "serviceAccountNames": arr(string())})


def _policies() -> Schema:
    return arr(obj({"apiVersion": string(), "name": string()}))


def _addressable_status(**fields: Schema) -> Schema:
    return duck_status(annotations_open=True, address=addressable(), addresses=arr(addressable()),
                       policies=_policies(), **fields)


def _dead_letter_status() -> dict[str, Schema]:
    return {"deadLetterSinkUri": string(), "deadLetterSinkCACerts": string(),
            "deadLetterSinkAudience": string()}


def _selector() -> Schema:
    return obj({
        "matchLabels": free_object(),
        "matchExpressions": arr(obj({"key": string(), "operator": string(), "values": arr(string())})),
    })


def _ce_overrides(*, typed: bool = False) -> Schema:
    extensions = map_of(string()) if typed else free_object()
    return obj({"extensions": extensions})


def _source_status(**fields: Schema) -> Schema:
    return duck_status(
        annotations_open=True, auth=_auth(), sinkUri=string(), sinkCACerts=string(), sinkAudience=string(),
        ceAttributes=arr(obj({"type": string(), "source": string()})), **fields)


def _channel_template() -> Schema:
    return obj({"apiVersion": string(), "kind": string(), "spec": free_object()})


def _object_reference() -> Schema:
    return obj({name: string() for name in
                ("apiVersion", "kind", "name", "namespace", "uid", "resourceVersion", "fieldPath")})


def _ready(quote: str = '"') -> tuple[PrinterColumn, ...]:
    return ready_reason(quote=quote)


# --- eventing.knative.dev -----------------------------------------------------------------------------

_BROKER = root(
    spec=obj({"config": kreference(), "delivery": delivery_spec()}),
    status=_addressable_status(**_dead_letter_status()),
)

_filter_dialect = obj({
    "exact": free_object(), "prefix": free_object(), "suffix": free_object(),
    "all": arr(free_object()), "any": arr(free_object()), "not": free_object(), "cesql": string(),
})

_TRIGGER = root(
    spec=obj({
        "broker": string(),
        "brokerRef": kreference(),
        "filter": obj({"attributes": free_object()}),
        "filters": arr(_filter_dialect),
        "subscriber": destination(),
        "delivery": delivery_spec(),
    }, preserve=True),
    status=duck_status(
        annotations_open=True, auth=_auth(), subscriberUri=string(), subscriberCACerts=string(),
        subscriberAudience=string(), **_dead_letter_status()),
)

_eventtype_status = duck_status(annotations_open=True)

_EVENTTYPE_V1BETA3 = root(
    spec=obj({
        "reference": kreference(address=True),
        "description": string(),
        "attributes": arr(obj({"name": string(), "required": boolean(), "value": string()},
                              required=("name",))),
    }),
    status=_eventtype_status,
)

_EVENTTYPE_V1BETA2 = root(
    spec=obj({
        "type": string(), "source": string(), "schema": string(), "schemaData": string(),
        "broker": string(), "reference": kreference(address=True), "description": string(),
    }),
    status=_eventtype_status,
)

BROKER = ResourceType(
    EVENTING, "Broker", "brokers", (Version("v1", _BROKER, (
        _URL, AGE, *_ready(),
        column("Class", r".metadata.annotations.eventing\.knative\.dev/broker\.class", priority=1),
    )),), categories=("all", "knative", "eventing"), admission=admit_broker)

TRIGGER = ResourceType(
    EVENTING, "Trigger", "triggers", (Version("v1", _TRIGGER, (
        column("Broker", ".spec.broker"), column("Subscriber_URI", ".status.subscriberUri"), AGE, *_ready(),
    )),), categories=("all", "knative", "eventing"), admission=admit_trigger)

_reference_columns = (
    column("Reference Name", ".spec.reference.name"),
    column("Reference Kind", ".spec.reference.kind"),
    column("Description", ".spec.description"),
)
_v1beta2_eventtype_columns = (
    column("Type", ".spec.type"), column("Source", ".spec.source"), column("Schema", ".spec.schema"),
    *_reference_columns, *_ready(),
)

# Versions in the order discovery prefers them (v1beta3 > v1beta2 > v1beta1); v1beta2 is stored.
EVENTTYPE = ResourceType(
    EVENTING, "EventType", "eventtypes", (
        Version("v1beta3", _EVENTTYPE_V1BETA3, (
            column("Type", ".spec.attributes[?(@.name=='type')].value"),
            column("Source", ".spec.attributes[?(@.name=='source')].value"),
            *_reference_columns, *_ready(),
        )),
        Version("v1beta2", _EVENTTYPE_V1BETA2, _v1beta2_eventtype_columns),
        Version("v1beta1", _EVENTTYPE_V1BETA2, _v1beta2_eventtype_columns),
    ), storage_version="v1beta2", categories=("all", "knative", "eventing"),
    admission=admit_event_type, converter=convert_event_type)

# --- messaging.knative.dev ----------------------------------------------------------------------------


def _subscriber_spec(*, in_memory: bool) -> Schema:
    props: dict[str, Schema] = {
        "uid": string(), "generation": integer(), "name": string(),
        "subscriberUri": string(), "subscriberCACerts": string(), "subscriberAudience": string(),
        "replyUri": string(), "replyCACerts": string(), "replyAudience": string(),
        "delivery": delivery_spec(dls_tls=in_memory), "auth": _auth(),
    }
    if in_memory:
        props["namespace"] = string()
    return obj(props)


def _subscriber_status() -> Schema:
    return obj({"uid": string(), "observedGeneration": integer(), "ready": string(), "message": string(),
                "auth": _auth()})


def _channelable_status(**fields: Schema) -> Schema:
    return _addressable_status(subscribers=arr(_subscriber_status()), deadLetterChannel=kreference(),
                               **_dead_letter_status(), **fields)


_CHANNEL = root(
    spec=obj({
        "channelTemplate": _channel_template(),
        "subscribers": arr(_subscriber_spec(in_memory=False)),
        "delivery": delivery_spec(),
    }),
    status=_channelable_status(channel=kreference()),
)

_IN_MEMORY_CHANNEL = root(
    spec=obj({"subscribers": arr(_subscriber_spec(in_memory=True)), "delivery": delivery_spec()}),
    status=_channelable_status(),
)

_SUBSCRIPTION = root(
    spec=obj({
        "channel": kreference(preserve=True),
        "subscriber": destination(ref_preserve=True),
        "reply": destination(),
        "delivery": delivery_spec(),
    }),
    status=duck_status(annotations_open=True, auth=_auth(), physicalSubscription=obj({
        "subscriberUri": string(), "subscriberCACerts": string(), "subscriberAudience": string(),
        "replyUri": string(), "replyCACerts": string(), "replyAudience": string(),
        **_dead_letter_status(),
    })),
)

_CHANNEL_CATEGORIES = ("all", "knative", "messaging", "channel")

CHANNEL = ResourceType(
    MESSAGING, "Channel", "channels", (Version("v1", _CHANNEL, (_URL, AGE, *_ready())),),
    short_names=("ch",), categories=_CHANNEL_CATEGORIES, admission=admit_channel)

IN_MEMORY_CHANNEL = ResourceType(
    MESSAGING, "InMemoryChannel", "inmemorychannels",
    (Version("v1", _IN_MEMORY_CHANNEL, (_URL, AGE, *_ready())),),
    short_names=("imc",), categories=_CHANNEL_CATEGORIES, admission=admit_in_memory_channel)

SUBSCRIPTION = ResourceType(
    MESSAGING, "Subscription", "subscriptions", (Version("v1", _SUBSCRIPTION, (AGE, *_ready())),),
    short_names=("sub",), categories=("all", "knative", "messaging"),
    admission=admit_subscription)

# --- sources.knative.dev ------------------------------------------------------------------------------

_PING_SOURCE = root(
    spec=obj({
        "schedule": string(),
        "timezone": string(),
        "contentType": string(),
        "data": string(),
        "dataBase64": string(),
        "sink": destination(),
        "ceOverrides": _ce_overrides(typed=True),
    }),
    status=_source_status(),
)

_API_SERVER_SOURCE = root(
    spec=obj({
        "resources": arr(obj({"apiVersion": string(), "kind": string(), "selector": _selector()})),
        "owner": obj({"apiVersion": string(), "kind": string()}),
        "mode": string(),
        "serviceAccountName": string(),
        "namespaceSelector": _selector(),
        "filters": arr(free_object()),
        "sink": destination(),
        "ceOverrides": _ce_overrides(),
    }, preserve=True, required=("resources",)),
    status=_source_status(namespaces=arr(string())),
)

_CONTAINER_SOURCE = root(
    # The pod template is kept as written, as the CRD does; the webhook checks it.
    spec=obj({"template": free_object(), "sink": destination(), "ceOverrides": _ce_overrides()}),
    status=_source_status(),
)

_SINK_BINDING = root(
    spec=obj({
        "subject": obj({"apiVersion": string(), "kind": string(), "namespace": string(), "name": string(),
                        "selector": _selector()}),
        "sink": destination(),
        "ceOverrides": _ce_overrides(),
    }),
    status=_source_status(oidcTokenSecretName=string()),
)

_SOURCE_CATEGORIES = ("all", "knative", "sources")
_ping_columns = (_SINK, column("Schedule", ".spec.schedule"), AGE, *_ready("'"))

# v1 is preferred and stored; v1beta2 is still served.
PING_SOURCE = ResourceType(
    SOURCES, "PingSource", "pingsources",
    (Version("v1", _PING_SOURCE, _ping_columns), Version("v1beta2", _PING_SOURCE, _ping_columns)),
    storage_version="v1", categories=_SOURCE_CATEGORIES, admission=admit_ping_source)

API_SERVER_SOURCE = ResourceType(
    SOURCES, "ApiServerSource", "apiserversources",
    (Version("v1", _API_SERVER_SOURCE, (_SINK, AGE, *_ready())),), categories=_SOURCE_CATEGORIES,
    admission=admit_api_server_source)

CONTAINER_SOURCE = ResourceType(
    SOURCES, "ContainerSource", "containersources", (Version("v1", _CONTAINER_SOURCE, (
        _SINK, AGE,
        column("Ready", '.status.conditions[?(@.type=="Ready")].status'),
        column("Reason", ".status.conditions[?(@.type=='Ready')].reason"),
    )),), categories=_SOURCE_CATEGORIES, admission=admit_container_source)

SINK_BINDING = ResourceType(
    SOURCES, "SinkBinding", "sinkbindings", (Version("v1", _SINK_BINDING, (_SINK, AGE, *_ready("'"))),),
    categories=(*_SOURCE_CATEGORIES, "bindings"), admission=admit_sink_binding)

# --- flows.knative.dev --------------------------------------------------------------------------------


def _step() -> Schema:
    step = destination()
    return obj({**step.properties, "delivery": delivery_spec()})


_SEQUENCE = root(
    spec=obj({"steps": arr(_step()), "channelTemplate": _channel_template(), "reply": destination()}),
    status=_addressable_status(
        auth=_auth(),
        channelStatuses=arr(obj({"channel": _object_reference(), "ready": condition()})),
        subscriptionStatuses=arr(obj({"subscription": _object_reference(), "ready": condition()})),
    ),
)

# Parallel's CRD leaves lastTransitionTime out of its conditions (so the apiserver drops it).
_timeless = condition(time=False, required=False)
_open_timeless = condition(time=False, required=False, preserve=True)

_PARALLEL = root(
    spec=obj({
        "branches": arr(obj({
            "filter": destination(), "subscriber": destination(), "reply": destination(),
            "delivery": delivery_spec(),
        }, preserve=True)),
        "channelTemplate": _channel_template(),
        "reply": destination(),
    }),
    status=duck_status(
        annotations_open=True, cond=_timeless, address=addressable(), addresses=arr(addressable()),
        policies=_policies(), auth=_auth(),
        ingressChannelStatus=obj({"channel": _object_reference(), "ready": _open_timeless}),
        branchStatuses=arr(obj({
            "filterChannelStatus": obj({"channel": _object_reference(), "ready": _open_timeless}),
            "filterSubscriptionStatus": obj({"subscription": _object_reference(), "ready": _timeless}),
            "subscriberSubscriptionStatus": obj({"subscription": _object_reference(), "ready": _timeless}),
        })),
    ),
)

SEQUENCE = ResourceType(
    FLOWS, "Sequence", "sequences", (Version("v1", _SEQUENCE, (_URL, AGE, *_ready())),),
    categories=("all", "knative", "flows"), admission=admit_sequence)

PARALLEL = ResourceType(
    FLOWS, "Parallel", "parallels", (Version("v1", _PARALLEL, (_URL, AGE, *_ready())),),
    categories=("all", "knative", "flows"), admission=admit_parallel)

EVENTING_TYPES = (BROKER, TRIGGER, EVENTTYPE)
MESSAGING_TYPES = (CHANNEL, IN_MEMORY_CHANNEL, SUBSCRIPTION)
SOURCE_TYPES = (PING_SOURCE, API_SERVER_SOURCE, CONTAINER_SOURCE, SINK_BINDING)
FLOW_TYPES = (SEQUENCE, PARALLEL)
