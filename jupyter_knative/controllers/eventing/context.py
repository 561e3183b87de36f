"""What every eventing reconciler shares: the store, the clock, the data plane, the reference tracker,
Events, and typed lookups that track what they read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ...api.registry import ResourceType
from ...store import Store
from ..runtime import Clock, EventRecorder, ObjectKey
from .link import EventingDataPlane
from .resolver import Lookup, ObjectNotFound, ResolveError, resolve
from .tracker import Ref, Tracker, group_of

EVENTING = "eventing.knative.dev"
MESSAGING = "messaging.knative.dev"
SOURCES = "sources.knative.dev"
FLOWS = "flows.knative.dev"
SERVING = "serving.knative.dev"
SYSTEM_NAMESPACE = "knative-eventing"


@dataclass
class Context:
    store: Store
    clock: Clock
    plane: EventingDataPlane
    tracker: Tracker = field(default_factory=Tracker)

    def now(self) -> float:
        return self.clock.now()

    def recorder(self, component: str) -> EventRecorder:
        return EventRecorder(self.store, component, self.clock)

    def type(self, group: str, kind: str) -> ResourceType:
        rt = self.store.registry.by_kind(group, kind)
        if rt is None:
            raise LookupError(f"{kind}.{group} is not registered")
        return rt

    def get(self, group: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.store.get(self.type(group, kind), namespace, name)

    def scope(self, controller: str, key: ObjectKey) -> Scope:
        self.tracker.reset(controller, key)
        return Scope(self, controller, key)


@dataclass(frozen=True)
class Scope:
    """One reconcile of one key: reads through it are tracked for that key."""

    ctx: Context
    controller: str
    key: ObjectKey

    def track(self, group: str, kind: str, namespace: str, name: str) -> None:
        self.ctx.tracker.track(self.controller, self.key, Ref(group, kind, namespace, name))

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """Read an object by apiVersion and kind, tracking it (also while it does not exist)."""
        group = group_of(api_version)
        self.track(group, kind, namespace, name)
        rt = self.ctx.store.registry.by_kind(group, kind)
        return self.ctx.store.get(rt, namespace, name) if rt is not None else None

    @property
    def lookup(self) -> Lookup:
        def find(api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any]:
            group = group_of(api_version)
            rt = self.ctx.store.registry.by_kind(group, kind)
            if rt is None:
                version = api_version.rpartition("/")[2]
                raise ResolveError(f"failed to get lister for {{Group:{group} Version:{version} "
                                   f"Resource:{kind.lower()}s}}: no kind {kind} in {api_version}")
            self.track(group, kind, namespace, name)
            obj = self.ctx.store.get(rt, namespace, name)
            if obj is None:
                gr = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
                raise ObjectNotFound(f'{gr} "{name}" not found')
            return obj
        return find

    def resolve(self, dest: dict[str, Any] | None, namespace: str) -> str:
        return resolve(dest, namespace, self.lookup)


def channel_template(ctx: Context, config_ref: dict[str, Any] | None) -> dict[str, Any] | None:
    """The channel template a broker's config ConfigMap names (`channel-template-spec`), or None."""
    ref = config_ref or {"namespace": SYSTEM_NAMESPACE, "name": "config-br-default-channel"}
    data = ctx.store.config(ref.get("namespace") or SYSTEM_NAMESPACE, str(ref.get("name") or ""))
    if not data or not data.get("channel-template-spec"):
        return None
    try:
        template = yaml.safe_load(data["channel-template-spec"])
    except yaml.YAMLError:
        return None
    return template if isinstance(template, dict) and template.get("kind") else None
