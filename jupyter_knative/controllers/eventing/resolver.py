"""Destinations to URLs (knative.dev/pkg `resolver.AddressableFromDestinationV1`), pure over a lookup.

    uri only            -> the uri, which must be absolute (scheme and host)
    ref only            -> the target's address: `status.addresses` (by `ref.address` name, else the first),
                           otherwise `status.address`; the URL must have a host. `v1 Service` is special:
                           `http://<name>.<ns>.svc.cluster.local` (https with CACerts)
    ref + relative uri  -> the uri resolved against the ref's URL (RFC 3986, as Go's `ResolveReference`)

Every lookup goes through `lookup(apiVersion, kind, namespace, name)` (raising ObjectNotFound, or
ResolveError for a kind it cannot read); the controllers pass one that also
tracks the reference, so the dependent is reconciled again when the target's address changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from .names import service_host

Lookup = Callable[[str, str, str, str], "dict[str, Any]"]


class ResolveError(Exception):
    """A destination that does not resolve; `str(err)` is Knative's message."""


class ObjectNotFound(ResolveError):
    """Raised by a lookup for a missing object, with the apiserver's message (`<resource>.<group> "x" not
    found`)."""


def go_kreference(ref: Mapping[str, Any], namespace: str) -> str:
    """How Go prints a `*duckv1.KReference` with `%+v` (the resolver's error messages)."""
    address = ref.get("address")
    return (f"&{{Kind:{ref.get('kind', '')} Namespace:{ref.get('namespace') or namespace} Name:{ref.get('name', '')} "
            f"APIVersion:{ref.get('apiVersion', '')} Group:{ref.get('group', '')} "
            f"Address:{'<nil>' if address is None else address}}}")


def is_absolute(uri: str) -> bool:
    parts = urlsplit(uri)
    return bool(parts.scheme and parts.netloc)


def resolve(dest: Mapping[str, Any] | None, namespace: str, lookup: Lookup) -> str:
    """The URL a destination points at, or ResolveError."""
    dest = dest or {}
    ref, uri = dest.get("ref"), str(dest.get("uri") or "")
    if ref:
        base = address_of_ref(ref, namespace, lookup, https=bool(dest.get("CACerts")))
        if not uri:
            return base
        if urlsplit(uri).scheme:
            raise ResolveError("absolute URI is not allowed when Ref or [apiVersion, kind, name] exists")
        return urljoin(base, uri)
    if uri:
        if not is_absolute(uri):
            raise ResolveError(f'URI is not absolute (both scheme and host should be non-empty): "{uri}"')
        return uri
    raise ResolveError("destination missing Ref and URI, expected at least one")


def address_of_ref(ref: Mapping[str, Any], namespace: str, lookup: Lookup, *, https: bool = False) -> str:
    ns = ref.get("namespace") or namespace
    api_version, kind, name = str(ref.get("apiVersion", "")), str(ref.get("kind", "")), str(ref.get("name", ""))
    try:
        obj = lookup(api_version, kind, ns, name)
    except ObjectNotFound as e:
        raise ResolveError(f"failed to get object {ns}/{name}: {e}") from None
    if api_version == "v1" and kind == "Service":
        return f"{'https' if https else 'http'}://{service_host(ns, name)}"
    url = address_url(obj, ref.get("address"))
    described = go_kreference(ref, namespace)
    if url is _NO_ADDRESS:
        raise ResolveError(f"address not set for {described}")
    if not url:
        raise ResolveError(f"URL missing in address of {described}")
    if not urlsplit(str(url)).hostname:
        raise ResolveError(f"hostname missing in address of {described}")
    return str(url)


_NO_ADDRESS: Any = object()


def address_url(obj: Mapping[str, Any], name: str | None = None) -> Any:
    """The URL of an addressable object (`_NO_ADDRESS` when it has no address at all, "" without a URL)."""
    status = obj.get("status") or {}
    addresses = [a for a in status.get("addresses") or [] if isinstance(a, Mapping)]
    if name is not None:
        chosen = next((a for a in addresses if a.get("name") == name), None)
    else:
        chosen = addresses[0] if addresses else status.get("address")
    if not isinstance(chosen, Mapping):
        return _NO_ADDRESS
    return chosen.get("url") or ""
