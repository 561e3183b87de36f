"""ApiServerSource's receive adapter, inside the daemon, fed by the store's own watches.

What Knative's `apiserver_receive_adapter` does, per source: for each `spec.resources[]` entry
(apiVersion, kind, optional label selector) it watches that kind in the source's namespace, or in every
namespace `spec.namespaceSelector` matches (an empty selector: all of them; cluster-scoped kinds are
watched cluster-wide), and turns each change into one CloudEvent sent to `status.sinkUri`:

- type `dev.knative.apiserver.ref.{add|update|delete}` (mode `Reference`, the default; data is an
  ObjectReference `{kind, namespace, name, apiVersion}`) or `dev.knative.apiserver.resource.{...}` (mode
  `Resource`; data is the whole object, the new one for an update, the last one for a delete);
- `source` the API server URL, `subject` `/apis/<apiVersion>/namespaces/<ns>/<plural>/<name>` (Knative
  writes `/apis/v1/...` for the core group too), `datacontenttype` `application/json`, the extensions
  `kind`, `name`, `namespace`, `apiversion`, then `spec.ceOverrides.extensions`;
- `spec.owner` keeps only objects whose controller ownerReference has that apiVersion and kind (an empty
  field matches anything); `spec.filters` (CloudEvents subscriptions API dialects) drop events that fail.

An object entering or leaving a selector is an add or a delete, as the apiserver's watch reports it.
Objects that exist when the watch starts send nothing: Knative's reflector hands its initial list to
`Replace`, which the adapter's delegate ignores (`emit_existing=True` sends adds for them instead).
Each event is sent once (the adapter's client does not retry); events of one watch go out in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ..api.registry import ResourceType
from ..api.selectors import LabelSelector, selector_from_match
from ..api.status import StatusError
from ..store import NAMESPACES, Store, Watch
from .cloudevent import CloudEvent
from .filters import Filter, FilterResult, compile_trigger_filter
from .ping import CORE_ATTRIBUTES, SendEvent, rfc3339

__all__ = ["DEFAULT_API_URL", "ApiServerSourceAdapter", "SourceConfig", "Watched", "make_event", "source_config",
           "subject_of"]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://kubernetes.default.svc"
_VERBS = {"ADDED": "add", "MODIFIED": "update", "DELETED": "delete"}


# --- configuration (pure) -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Watched:
    """One `spec.resources[]` entry the registry knows."""

    rt: ResourceType
    api_version: str
    selector: LabelSelector


@dataclass(frozen=True)
class SourceConfig:
    namespace: str
    name: str
    sink: str
    reference: bool
    resources: tuple[Watched, ...]
    owner: tuple[str, str] | None  # (apiVersion, kind) of the controller owner to require
    namespace_selector: LabelSelector | None  # None: the source's own namespace only
    extensions: tuple[tuple[str, str], ...]
    filters: tuple[Any, ...]  # spec.filters as written


def source_config(store: Store, namespace: str, name: str, obj: Mapping[str, Any] | None) -> SourceConfig | None:
    """What the adapter needs from an ApiServerSource, or None when it should watch nothing."""
    if obj is None or (obj.get("metadata") or {}).get("deletionTimestamp"):
        return None
    sink = str((obj.get("status") or {}).get("sinkUri") or "")
    if not sink:
        return None
    spec = obj.get("spec") or {}
    owner = spec.get("owner") or None
    overrides = (spec.get("ceOverrides") or {}).get("extensions") or {}
    return SourceConfig(
        namespace, name, sink, reference=spec.get("mode") != "Resource",
        resources=tuple(w for entry in spec.get("resources") or [] if (w := _watched(store, namespace, name, entry))),
        owner=(str(owner.get("apiVersion") or ""), str(owner.get("kind") or "")) if owner else None,
        namespace_selector=_selector(spec.get("namespaceSelector")),
        extensions=tuple(sorted((str(k).lower(), str(v)) for k, v in overrides.items()
                                if str(k).lower() not in CORE_ATTRIBUTES)),
        filters=tuple(spec.get("filters") or ()))


def _watched(store: Store, namespace: str, name: str, entry: Mapping[str, Any]) -> Watched | None:
    api_version, kind = str(entry.get("apiVersion") or ""), str(entry.get("kind") or "")
    found = store.registry.for_api_version(api_version, kind)
    if found is None:
        log.warning("ApiServerSource %s/%s: resource %s %s is not served here; skipping it", namespace, name,
                    api_version, kind)
        return None
    selector = _selector(entry.get("selector"))
    return Watched(found[0], api_version, selector if selector is not None else LabelSelector())


def _selector(raw: Mapping[str, Any] | None) -> LabelSelector | None:
    if raw is None:
        return None
    try:
        return selector_from_match(raw.get("matchLabels"), raw.get("matchExpressions"))
    except StatusError as err:  # admission refuses these; a bad one here selects nothing
        log.warning("ignoring an invalid label selector %s: %s", dict(raw), err.message)
        return LabelSelector(nothing=True)


# --- events (pure) --------------------------------------------------------------------------------------

def subject_of(api_version: str, plural: str, namespace: str, name: str) -> str:
    """Knative's selfLink-like subject; a group without a version gets `/versionUnknown`, as Knative's does."""
    if "." in api_version and "/" not in api_version:
        api_version += "/versionUnknown"
    return f"/apis/{api_version}/namespaces/{namespace}/{plural}/{name}"


def _go_json(value: Any, *, sort: bool) -> bytes:
    """json.Marshal's bytes: compact, HTML characters escaped (and map keys sorted, for unstructured objects)."""
    raw = orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort else 0)
    for char, escaped in ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"),
                          ("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029")):
        raw = raw.replace(char, escaped)
    return raw


def make_event(config: SourceConfig, api_url: str, change: str, obj: Mapping[str, Any], plural: str,
               event_id: str, now: float) -> CloudEvent:
    """The event for one change (`ADDED`, `MODIFIED`, `DELETED`) of `obj` (already in the watched version),
    before `spec.filters` and the ceOverrides (which the adapter's client applies when it sends)."""
    meta = obj.get("metadata") or {}
    api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    mode = "ref" if config.reference else "resource"
    if config.reference:
        ref = {"kind": kind, "namespace": namespace, "name": name, "apiVersion": api_version}
        data = _go_json({k: v for k, v in ref.items() if v}, sort=False)
    else:
        data = _go_json(obj, sort=True)
    attributes: dict[str, Any] = {
        "specversion": "1.0", "id": event_id, "source": api_url,
        "type": f"dev.knative.apiserver.{mode}.{_VERBS[change]}",
        "subject": subject_of(api_version, plural, namespace, name), "time": rfc3339(now),
        "datacontenttype": "application/json",
        # Knative copies these so that triggers can filter on them
        "kind": kind, "name": name, "namespace": namespace, "apiversion": api_version}
    return CloudEvent(attributes, data)


def controlled_by(obj: Mapping[str, Any], owner: tuple[str, str]) -> bool:
    """metav1.GetControllerOf(obj) is there and matches the owner's non-empty apiVersion and kind."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller") is True:
            return (not owner[0] or owner[0] == ref.get("apiVersion")) and (not owner[1] or owner[1] == ref.get("kind"))
    return False


def in_version(rt: ResourceType, obj: dict[str, Any], api_version: str) -> dict[str, Any]:
    """The object as a client asking for `api_version` would read it."""
    if obj.get("apiVersion") == api_version:
        return obj
    if rt.converter is not None:
        return rt.converter(obj, api_version)
    return {**obj, "apiVersion": api_version}


# --- running ----------------------------------------------------------------------------------------------

Key = tuple[str, str]


class _Running:
    """One source's watches and the tasks draining them."""

    def __init__(self, config: SourceConfig, watches: list[tuple[Watched, Watch]]) -> None:
        self.config = config
        self.watches = watches
        self.tasks: list[asyncio.Task[None]] = []
        self.filter: Filter | None = compile_trigger_filter({"filters": list(config.filters)}) \
            if config.filters else None


class ApiServerSourceAdapter:
    """Every ApiServerSource's watches; `set_source` starts, restarts or stops a source's."""

    def __init__(self, store: Store, send: SendEvent, *, api_url: str = DEFAULT_API_URL,
                 clock: Callable[[], float] = time.time, emit_existing: bool = False) -> None:
        self.store = store
        self._send = send
        self.api_url = api_url
        self._clock = clock
        self._emit_existing = emit_existing
        self._configs: dict[Key, SourceConfig] = {}
        self._running: dict[Key, _Running] = {}
        self._started = False

    # --- control --------------------------------------------------------------------------------------

    def set_source(self, namespace: str, name: str, obj: dict[str, Any] | None) -> None:
        key = (namespace, name)
        config = source_config(self.store, namespace, name, obj)
        if config is not None and key in self._running and self._running[key].config == config:
            return
        self._stop_source(key)
        if config is None:
            self._configs.pop(key, None)
            return
        self._configs[key] = config
        if self._started:
            self._start_source(key, config)

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        for key, config in sorted(self._configs.items()):
            self._start_source(key, config)

    async def stop(self) -> None:
        self._started = False
        tasks = [task for running in self._running.values() for task in running.tasks]
        for key in list(self._running):
            self._stop_source(key)
        await asyncio.gather(*tasks, return_exceptions=True)

    def namespaces(self, namespace: str, name: str) -> list[str]:
        """The namespaces a source watches now, sorted, as Knative records them in `status.namespaces`."""
        config = self._configs.get((namespace, name))
        if config is None or config.namespace_selector is None:
            return [namespace]
        rt = self.store.registry.by_key(NAMESPACES)
        entries = self.store.entries(rt)[0] if rt else []
        return [e.obj["metadata"]["name"] for e in entries
                if config.namespace_selector.matches(e.obj["metadata"].get("labels") or {})]

    # --- internals ------------------------------------------------------------------------------------

    def _start_source(self, key: Key, config: SourceConfig) -> None:
        watches = [(w, self._watch(config, w)) for w in config.resources]
        running = self._running[key] = _Running(config, watches)
        loop = asyncio.get_running_loop()
        for watched, watch in watches:
            existing = self._existing(config, watched) if self._emit_existing else []
            running.tasks.append(loop.create_task(self._drain(running, watched, watch, existing),
                                                  name=f"apiserversource {key[0]}/{key[1]} {watched.rt.key}"))

    def _stop_source(self, key: Key) -> None:
        running = self._running.pop(key, None)
        if running is None:
            return
        for _, watch in running.watches:
            watch.close()
        for task in running.tasks:
            task.cancel()

    def _watch(self, config: SourceConfig, watched: Watched) -> Watch:
        """A store watch from now; created synchronously, so nothing written after `set_source` is missed."""
        namespace = config.namespace if config.namespace_selector is None and watched.rt.namespaced else None
        selector = watched.selector
        return self.store.watch(watched.rt, namespace,
                                None if selector.empty else lambda o: selector.matches(
                                    (o.get("metadata") or {}).get("labels") or {}))

    def _existing(self, config: SourceConfig, watched: Watched) -> list[dict[str, Any]]:
        namespace = config.namespace if config.namespace_selector is None and watched.rt.namespaced else None
        entries = self.store.entries(watched.rt, namespace)[0]
        return [e.obj for e in entries if watched.selector.matches((e.obj.get("metadata") or {}).get("labels"))]

    async def _drain(self, running: _Running, watched: Watched, watch: Watch,
                     existing: list[dict[str, Any]]) -> None:
        for obj in existing:
            await self._handle(running, watched, "ADDED", obj)
        while True:
            async for event in watch:
                await self._handle(running, watched, event.type, event.obj)
            if watch.error is None:
                return  # closed by us
            # The store dropped a watcher that fell behind; Knative's reflector relists (sending nothing for
            # what changed meanwhile) and watches again.
            log.warning("ApiServerSource %s/%s: watch on %s ended (%s); watching again", running.config.namespace,
                        running.config.name, watched.rt.key, watch.error.message)
            watch = self._watch(running.config, watched)
            running.watches = [(w, watch if w is watched else old) for w, old in running.watches]

    async def _handle(self, running: _Running, watched: Watched, change: str, obj: dict[str, Any]) -> None:
        config = running.config
        if not self._wanted(config, watched, obj):
            return
        event = make_event(config, self.api_url, change, in_version(watched.rt, obj, watched.api_version),
                           watched.rt.plural, str(uuid.uuid4()), self._clock())
        if running.filter is not None and running.filter.evaluate(event) is FilterResult.FAIL:
            return
        event.attributes.update(config.extensions)
        try:
            status = await self._send(config.sink, event)
        except Exception as exc:  # a send that got no response; the adapter logs it and goes on
            log.warning("ApiServerSource %s/%s: sending %s to %s failed: %s", config.namespace, config.name,
                        event.attributes["subject"], config.sink, exc)
            return
        if not 200 <= status < 300:
            log.warning("ApiServerSource %s/%s: sending %s to %s: status %d", config.namespace, config.name,
                        event.attributes["subject"], config.sink, status)

    def _wanted(self, config: SourceConfig, watched: Watched, obj: Mapping[str, Any]) -> bool:
        if config.owner is not None and not controlled_by(obj, config.owner):
            return False
        if config.namespace_selector is None or not watched.rt.namespaced:
            return True
        return self._namespace_selected(config.namespace_selector, (obj.get("metadata") or {}).get("namespace") or "")

    def _namespace_selected(self, selector: LabelSelector, namespace: str) -> bool:
        rt = self.store.registry.by_key(NAMESPACES)
        entry = self.store.entry(rt, "", namespace) if rt else None
        return entry is not None and selector.matches(entry.obj["metadata"].get("labels") or {})
