"""`kmp.ShortDiff` over eventing specs: the JSON objects are renamed to their Go field names (and
embedded structs nested as Go sees them) before Serving's `short_diff` renders the `(-old +new)` entries.
Known difference from Go: a pointer to a scalar shows no leading `*` in the path."""

from __future__ import annotations

from typing import Any

from ..serving.diff import short_diff

__all__ = ["go_names", "spec_diff"]

_GO_NAMES = {"apiVersion": "APIVersion", "uri": "URI", "CACerts": "CACerts", "subscriberUri": "SubscriberURI",
             "replyUri": "ReplyURI", "uid": "UID"}


def go_names(value: Any) -> Any:
    """The same value with every object key spelt as the Go field it decodes into."""
    if isinstance(value, dict):
        return {_GO_NAMES.get(k, k[:1].upper() + k[1:]): go_names(v) for k, v in value.items()}
    if isinstance(value, list):
        return [go_names(v) for v in value]
    return value


def spec_diff(old: Any, new: Any, root: str) -> str:
    """The short diff between two Go-shaped values (already renamed), rooted at Go type `root`."""
    return short_diff(old, new, root)
