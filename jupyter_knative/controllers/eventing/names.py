"""Names and addresses Knative gives eventing's children (pure)."""

from __future__ import annotations

import hashlib

LONGEST = 63  # a DNS-1123 label
_MD5_HEX = 32
_HEAD = LONGEST - _MD5_HEX

BROKER_INGRESS_HOST = "broker-ingress.knative-eventing.svc.cluster.local"
BROKER_FILTER_HOST = "broker-filter.knative-eventing.svc.cluster.local"


def child_name(parent: str, suffix: str) -> str:
    """knative.dev/pkg `kmeta.ChildName`: `parent + suffix`, or, when that is longer than 63 characters, the
    parent cut short with the md5 of the parent spliced in; when the suffix alone leaves no room, the md5 of
    the whole name after at most 31 characters of the parent, padded with the suffix's head."""
    if len(parent) <= LONGEST - len(suffix):
        return _valid(parent + suffix)
    if _HEAD - len(suffix) <= 0:
        digest = hashlib.md5((parent + suffix).encode(), usedforsecurity=False).hexdigest()
        name = parent[:_HEAD] + digest
        if (room := LONGEST - len(name)) > 0:
            name += suffix[:room]
        return _valid(name)
    digest = hashlib.md5(parent.encode(), usedforsecurity=False).hexdigest()
    return _valid(parent[:_HEAD - len(suffix)] + digest + suffix)


def _valid(name: str) -> str:
    """Drop trailing characters a DNS-1123 name may not end with."""
    while name and not name[-1].isalnum():
        name = name[:-1]
    return name


def broker_channel_name(broker: str) -> str:
    return child_name(broker, "-kne-trigger")


def broker_address(namespace: str, broker: str) -> str:
    return f"http://{BROKER_INGRESS_HOST}/{namespace}/{broker}"


def trigger_filter_url(namespace: str, trigger: str, uid: str) -> str:
    return f"http://{BROKER_FILTER_HOST}/triggers/{namespace}/{trigger}/{uid}"


def trigger_subscription_name(broker: str, trigger: str, uid: str) -> str:
    return child_name(f"{broker}-{trigger}-", uid)


def in_memory_channel_host(namespace: str, name: str) -> str:
    return f"{name}-kn-channel.{namespace}.svc.cluster.local"


def service_host(namespace: str, name: str) -> str:
    return f"{name}.{namespace}.svc.cluster.local"


def sequence_channel_name(sequence: str, step: int) -> str:
    return f"{sequence}-kn-sequence-{step}"


def sequence_subscription_name(sequence: str, step: int) -> str:
    return f"{sequence}-kn-sequence-{step}"


def parallel_ingress_channel_name(parallel: str) -> str:
    return f"{parallel}-kn-parallel"


def parallel_branch_channel_name(parallel: str, branch: int) -> str:
    return f"{parallel}-kn-parallel-{branch}"


def parallel_filter_subscription_name(parallel: str, branch: int) -> str:
    return f"{parallel}-kn-parallel-filter-{branch}"


def parallel_subscription_name(parallel: str, branch: int) -> str:
    return f"{parallel}-kn-parallel-{branch}"


def container_source_deployment_name(source: str) -> str:
    return child_name(source, "-deployment")


def container_source_sink_binding_name(source: str) -> str:
    return child_name(source, "-sinkbinding")
