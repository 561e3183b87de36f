"""The resource types the embedded plane serves: names, versions, schemas and printer columns.

A `ResourceType` is what a CustomResourceDefinition (or a built-in type's registration) says about a
kind: group, plural, short names, categories, scope, subresources, and per version a schema and the
`kubectl get` columns. The `Registry` answers the API server's lookups.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .schema import Schema
from .status import GroupResource

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class PrinterColumn:
    """One `kubectl get` column, as in a CRD's `additionalPrinterColumns`."""

    name: str
    type: str  # string, integer, number, boolean, date
    json_path: str
    priority: int = 0
    description: str = ""
    format: str = ""


AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp")

# A built-in type's row printer: (object, now as unix seconds) -> cells after NAME.
RowPrinter = Callable[[dict[str, Any], float], list[Any]]


@dataclass(frozen=True)
class Version:
    name: str
    schema: Schema | None = None  # None: no schema, everything is kept
    columns: tuple[PrinterColumn, ...] = (AGE,)


@dataclass(frozen=True)
class AdmissionRequest:
    """What a kind's admission hook sees: it may mutate `obj` (defaulting) and raise a StatusError."""

    operation: str  # CREATE, UPDATE, DELETE
    obj: dict[str, Any]
    old: dict[str, Any] | None
    subresource: str = ""
    config: Callable[[str, str], dict[str, Any] | None] = field(default=lambda ns, name: None)


Admission = Callable[[AdmissionRequest], None]
# Converts an object from its `apiVersion` to the version named (the storage or the requested one).
Converter = Callable[[dict[str, Any], str], dict[str, Any]]


@dataclass(frozen=True)
class ResourceType:
    group: str
    kind: str
    plural: str
    versions: tuple[Version, ...]  # the first is the preferred version
    storage_version: str = ""  # default: the preferred version
    namespaced: bool = True
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ("status",)
    verbs: tuple[str, ...] = ALL_VERBS
    builtin: bool = False  # a Kubernetes built-in type: strategic merge patch, unconditional update
    field_labels: tuple[str, ...] = ()  # selectable fields besides metadata.name and metadata.namespace
    row_printer: tuple[tuple[PrinterColumn, ...], RowPrinter] | None = None  # built-in printers
    delete_returns_object: bool = True  # else a `Status` of success, as most built-in types answer
    admission: Admission | None = None
    converter: Converter | None = None
    name_rule: str = "subdomain"  # how metadata.name is validated: subdomain, label (DNS-1123), segment
    tracks_generation: bool = True  # metadata.generation (custom resources always; some built-ins not)

    @property
    def storage(self) -> str:
        return self.storage_version or self.versions[0].name

    @property
    def preferred(self) -> Version:
        return self.versions[0]

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def group_resource(self) -> GroupResource:
        return GroupResource(self.group, self.plural, self.kind)

    @property
    def key(self) -> str:
        """Storage key of the type: `serving.knative.dev/services`, `core/configmaps`."""
        return f"{self.group or 'core'}/{self.plural}"

    def api_version(self, version: str | None = None) -> str:
        v = version or self.storage
        return f"{self.group}/{v}" if self.group else v

    def version(self, name: str) -> Version | None:
        return next((v for v in self.versions if v.name == name), None)

    def selectable_fields(self) -> tuple[str, ...]:
        return ("metadata.name", "metadata.namespace", *self.field_labels)


class Registry:
    """Lookups over a fixed set of resource types."""

    def __init__(self, types: Iterable[ResourceType]) -> None:
        self._types = tuple(types)
        self._by_path: dict[tuple[str, str, str], tuple[ResourceType, Version]] = {}
        self._by_kind: dict[tuple[str, str], ResourceType] = {}
        self._by_key: dict[str, ResourceType] = {}
        for rt in self._types:
            self._by_kind[(rt.group, rt.kind)] = rt
            self._by_key[rt.key] = rt
            for v in rt.versions:
                self._by_path[(rt.group, v.name, rt.plural)] = (rt, v)

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(self._types)

    def lookup(self, group: str, version: str, plural: str) -> tuple[ResourceType, Version] | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, group: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((group, kind))

    def by_key(self, key: str) -> ResourceType | None:
        return self._by_key.get(key)

    def for_api_version(self, api_version: str, kind: str) -> tuple[ResourceType, Version] | None:
        group, _, version = api_version.rpartition("/")
        rt = self._by_kind.get((group, kind))
        v = rt.version(version) if rt else None
        return (rt, v) if rt and v else None

    def groups(self) -> list[tuple[str, list[str]]]:
        """Groups in registration order with their versions, preferred first."""
        out: dict[str, list[str]] = {}
        for rt in self._types:
            versions = out.setdefault(rt.group, [])
            for v in rt.versions:
                if v.name not in versions:
                    versions.append(v.name)
        return list(out.items())

    def in_group_version(self, group: str, version: str) -> list[tuple[ResourceType, Version]]:
        return [(rt, v) for rt in self._types if rt.group == group for v in rt.versions if v.name == version]
