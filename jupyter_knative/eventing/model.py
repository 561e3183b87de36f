"""What the data plane reads from the Knative objects the controllers hand it, as small frozen records.

Pure: each `*_info` function takes the object dict and returns a record (or None when the object is
not usable yet). Only the fields Knative's dispatchers read are looked at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .delivery import RetryPolicy
from .filters import Filter, compile_trigger_filter

__all__ = ["ASYNC_HANDLER", "BrokerInfo", "ChannelInfo", "SubscriberInfo", "TriggerInfo", "broker_info", "channel_info",
           "trigger_info"]

ASYNC_HANDLER = "messaging.knative.dev/async-handler"
CHANNEL_NAME = "knative.dev/channelName"
CHANNEL_NAMESPACE = "knative.dev/channelNamespace"
CHANNEL_ADDRESS = "knative.dev/channelAddress"


@dataclass(frozen=True, slots=True)
class BrokerInfo:
    namespace: str
    name: str
    channel: tuple[str, str] | None
    """(namespace, name) of the backing channel, from the status annotations; None while not ready."""
    dead_letter_uri: str | None = None


@dataclass(frozen=True, slots=True)
class TriggerInfo:
    namespace: str
    name: str
    uid: str
    broker: str
    filter: Filter
    subscriber_uri: str | None
    timeout: float | None
    """Per-request timeout to the subscriber (`spec.delivery.timeout`)."""
    structured: bool
    """`spec.delivery.format: json`."""
    dead_letter_uri: str | None


@dataclass(frozen=True, slots=True)
class SubscriberInfo:
    uid: str
    uri: str | None
    reply_uri: str | None
    policy: RetryPolicy
    dead_letter_uri: str | None
    structured: bool
    name: str
    """Not part of Knative's SubscriberSpec; filled when the controller adds it, else ''."""


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    namespace: str
    name: str
    async_handler: bool
    subscribers: tuple[SubscriberInfo, ...]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def broker_info(namespace: str, name: str, obj: Mapping[str, Any]) -> BrokerInfo:
    annotations = _map(_map(obj.get("status")).get("annotations"))
    channel_name = _str(annotations.get(CHANNEL_NAME))
    channel: tuple[str, str] | None = None
    if channel_name is not None and _str(annotations.get(CHANNEL_ADDRESS)) is not None:
        channel = (_str(annotations.get(CHANNEL_NAMESPACE)) or namespace, channel_name)
    return BrokerInfo(namespace, name, channel, _str(_map(obj.get("status")).get("deadLetterSinkUri")))


def _structured(delivery: Mapping[str, Any] | None) -> bool:
    return delivery is not None and delivery.get("format") == "json"


def trigger_info(namespace: str, name: str, obj: Mapping[str, Any]) -> TriggerInfo:
    spec = _map(obj.get("spec"))
    status = _map(obj.get("status"))
    delivery = spec.get("delivery") if isinstance(spec.get("delivery"), Mapping) else None
    return TriggerInfo(
        namespace=namespace, name=name, uid=str(_map(obj.get("metadata")).get("uid") or ""),
        broker=str(spec.get("broker") or ""), filter=compile_trigger_filter(spec),
        subscriber_uri=_str(status.get("subscriberUri")), timeout=RetryPolicy.from_spec(delivery).timeout,
        structured=_structured(delivery), dead_letter_uri=_str(status.get("deadLetterSinkUri")))


def channel_info(namespace: str, name: str, obj: Mapping[str, Any]) -> ChannelInfo:
    metadata = _map(obj.get("metadata"))
    spec = _map(obj.get("spec"))
    status = _map(obj.get("status"))
    channel_delivery = spec.get("delivery") if isinstance(spec.get("delivery"), Mapping) else None
    channel_dls = _str(status.get("deadLetterSinkUri"))
    subscribers: list[SubscriberInfo] = []
    for raw in spec.get("subscribers") or ():
        sub = _map(raw)
        uid = _str(sub.get("uid"))
        if uid is None:
            continue
        delivery = sub.get("delivery") if isinstance(sub.get("delivery"), Mapping) else None
        if delivery:
            dls = _str(_map(delivery.get("deadLetterSink")).get("uri"))
            policy = RetryPolicy.from_spec(delivery)
        else:
            delivery, dls, policy = channel_delivery, channel_dls, RetryPolicy.from_spec(channel_delivery)
        subscribers.append(SubscriberInfo(
            uid=uid, uri=_str(sub.get("subscriberUri")), reply_uri=_str(sub.get("replyUri")), policy=policy,
            dead_letter_uri=dls, structured=_structured(delivery), name=str(sub.get("name") or "")))
    async_handler = str(_map(metadata.get("annotations")).get(ASYNC_HANDLER, "")).lower() == "true"
    return ChannelInfo(namespace, name, async_handler, tuple(subscribers))
