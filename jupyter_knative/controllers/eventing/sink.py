"""A source's sink: resolved into `status.sinkUri` (and CACerts, audience), or SinkProvided False."""

from __future__ import annotations

from typing import Any

from ...api.conditions import ConditionManager
from ..runtime import EventRecorder
from .context import Scope
from .resolver import ResolveError

_SINK_FIELDS = ("sinkUri", "sinkCACerts", "sinkAudience")


def resolve_sink(scope: Scope, source: dict[str, Any], status: dict[str, Any], cm: ConditionManager,
                 recorder: EventRecorder | None = None) -> str | None:
    """Knative's sources: a sink that does not resolve marks SinkProvided False with reason `NotFound` (and a
    `SinkNotFound` warning Event saying why); one resolving to nothing, `SinkEmpty`."""
    sink = (source.get("spec") or {}).get("sink")
    try:
        uri = scope.resolve(sink, source["metadata"]["namespace"])
    except ResolveError as e:
        clear_sink(status)
        cm.mark_false("SinkProvided", "NotFound", "")
        if recorder is not None:
            recorder.warning(source, "SinkNotFound", f"Sink not found: {e}")
        return None
    if not uri:
        clear_sink(status)
        cm.mark_false("SinkProvided", "SinkEmpty", "Sink has resolved to empty.")
        return None
    mark_sink(status, cm, uri, sink or {})
    return uri


def mark_sink(status: dict[str, Any], cm: ConditionManager, uri: str, sink: dict[str, Any]) -> None:
    clear_sink(status)
    status["sinkUri"] = uri
    if sink.get("CACerts"):
        status["sinkCACerts"] = sink["CACerts"]
    if sink.get("audience"):
        status["sinkAudience"] = sink["audience"]
    cm.mark_true("SinkProvided")


def clear_sink(status: dict[str, Any]) -> None:
    for field in _SINK_FIELDS:
        status.pop(field, None)
