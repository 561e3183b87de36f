"""Which API resource a word names: "ksvc", "services.serving.knative.dev", "Route", "cm", "rev", ...

Resolution is kubectl's (plural, singular, short name or kind, case-insensitive; `resource.group` and
`resource.version.group` qualify), with one rule of our own: when several groups serve the word, Knative's
public groups win, so "service"/"services" mean Knative Services even on a cluster that also serves core
Services. Core's short name `svc` stays core's. `resolve` and `suggestions` are pure; `Discovery` fetches
and caches what the server serves.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import KnativeError

__all__ = ["Discovery", "ResourceInfo", "group_rank", "resolve", "suggestions"]

KNATIVE_PUBLIC = ("serving.knative.dev", "eventing.knative.dev", "messaging.knative.dev", "sources.knative.dev",
                  "flows.knative.dev")


@dataclass(frozen=True)
class ResourceInfo:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    preferred: bool = True  # this version is the group's preferred one

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """`services.serving.knative.dev`, or `pods` for the core group (as kubectl prints them)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def display(self) -> str:
        """`service.serving.knative.dev` (kubectl's `TYPE/NAME` prefix)."""
        return f"{self.singular}.{self.group}" if self.group else self.singular

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
            if subresource:
                base += f"/{subresource}"
        return base

    def names(self) -> tuple[str, ...]:
        return (self.plural, self.singular, self.kind.lower(), *self.short_names)


def group_rank(group: str) -> int:
    """Lower wins when several groups serve the same word."""
    if group in KNATIVE_PUBLIC:
        return 0
    if group == "":
        return 1
    if "." not in group or group.endswith(".k8s.io"):
        return 2  # apps, batch, networking.k8s.io, ...
    if group.endswith(".internal.knative.dev"):
        return 4
    return 3


def resolve(word: str, resources: Iterable[ResourceInfo]) -> ResourceInfo | None:
    """The resource `word` names, or None."""
    want = word.strip().lower()
    pool = list(resources)
    if "." in want:
        qualified = [r for r in pool if want in _qualified_forms(r)]
        if qualified:
            return _best(qualified)
    preferred = [r for r in pool if r.preferred]
    for matches in (
        [r for r in preferred if r.plural == want],
        [r for r in preferred if r.singular == want],
        [r for r in preferred if want in r.short_names],
        [r for r in preferred if r.kind.lower() == want],
    ):
        if matches:
            return _best(matches)
    return None


def _qualified_forms(r: ResourceInfo) -> set[str]:
    forms = set()
    for name in (r.plural, r.singular, r.kind.lower()):
        forms.add(f"{name}.{r.group}" if r.group else name)
        forms.add(f"{name}.{r.version}.{r.group}" if r.group else f"{name}.{r.version}")
    return forms


def _best(matches: list[ResourceInfo]) -> ResourceInfo:
    return min(matches, key=lambda r: (group_rank(r.group), not r.preferred, r.group))


def suggestions(word: str, resources: Iterable[ResourceInfo], limit: int = 4) -> list[str]:
    """Close spellings among the names the server knows, best first."""
    names = sorted({n for r in resources if r.preferred for n in r.names()})
    return difflib.get_close_matches(word.strip().lower(), names, n=limit, cutoff=0.6)


def unknown_kind(word: str, resources: Iterable[ResourceInfo]) -> KnativeError:
    pool = list(resources)
    close = suggestions(word, pool)
    if word.strip().lower() in ("svc", "svcs") and resolve("ksvc", pool) is not None:
        hint = ("svc is Kubernetes' core Service, which this server does not serve; "
                "Knative Services are ksvc (or service)")
    elif close:
        hint = "did you mean " + ", ".join(close) + "?"
    else:
        hint = "kubectl api-resources lists the kinds the server serves"
    return KnativeError(f'the server doesn\'t have a resource type "{word}"', reason="NotFound", hint=hint)


class Discovery:
    """What the server serves, fetched once (and again when a word is not found: CRDs come and go)."""

    def __init__(self, fetch: Callable[[str], Any]) -> None:
        self._fetch = fetch
        self._resources: list[ResourceInfo] | None = None
        self._lock = threading.Lock()

    def resources(self, refresh: bool = False) -> list[ResourceInfo]:
        with self._lock:
            if self._resources is None or refresh:
                self._resources = list(self._discover())
            return self._resources

    def resolve(self, word: str) -> ResourceInfo:
        for refresh in (False, True):
            found = resolve(word, self.resources(refresh))
            if found is not None:
                return found
        raise unknown_kind(word, self.resources())

    def for_object(self, api_version: str, kind: str) -> ResourceInfo:
        group, _, version = api_version.rpartition("/")
        for refresh in (False, True):
            for r in self.resources(refresh):
                if r.group == group and r.version == version and r.kind == kind:
                    return r
        known = [r.kind for r in self.resources() if r.group == group]
        hint = (f"{api_version} serves {', '.join(sorted(set(known)))}" if known
                else "kubectl api-resources lists the kinds the server serves")
        raise KnativeError(f'no matches for kind "{kind}" in version "{api_version}"', reason="NotFound", hint=hint)

    def _discover(self) -> Iterable[ResourceInfo]:
        core = self._fetch("/api") or {}
        for version in core.get("versions") or ["v1"]:
            yield from _parse_list(self._fetch(f"/api/{version}"), "", version, preferred=True)
        groups = (self._fetch("/apis") or {}).get("groups") or []
        for group in groups:
            preferred = ((group.get("preferredVersion") or {}).get("version")) or ""
            for v in group.get("versions") or []:
                version = v.get("version", "")
                try:
                    listing = self._fetch(f"/apis/{group['name']}/{version}")
                except KnativeError as e:
                    if e.reason in ("PlaneDown", "Unreachable"):
                        raise
                    continue  # an aggregated API that is down: kubectl skips it too
                yield from _parse_list(listing, group["name"], version, preferred=version == preferred)


def _parse_list(listing: Any, group: str, version: str, *, preferred: bool) -> Iterable[ResourceInfo]:
    for res in (listing or {}).get("resources") or []:
        name = str(res.get("name", ""))
        if not name or "/" in name:
            continue  # subresources (services/status, deployments/scale)
        kind = str(res.get("kind", ""))
        yield ResourceInfo(group=group, version=version, plural=name,
                           singular=str(res.get("singularName") or kind.lower()), kind=kind,
                           namespaced=bool(res.get("namespaced")),
                           short_names=tuple(res.get("shortNames") or ()), verbs=tuple(res.get("verbs") or ()),
                           preferred=preferred)
