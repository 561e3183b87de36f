"""Content negotiation: which representation a client asked for, and what a request body is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import yaml

from ..api import protobuf
from ..api.gojson import decode_json
from ..api.status import BadRequest, NotAcceptable, UnsupportedMediaType

AGGREGATED_DISCOVERY = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


@dataclass(frozen=True)
class MediaRange:
    type: str  # e.g. application/json
    params: dict[str, str]


def parse_accept(header: str) -> list[MediaRange]:
    ranges = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        params = {}
        for p in pieces[1:]:
            key, _, value = p.partition("=")
            params[key.strip()] = value.strip()
        ranges.append(MediaRange(pieces[0].lower(), params))
    return ranges


@dataclass(frozen=True)
class Representation:
    format: str  # json, yaml, table, discovery
    include_object: str = "Metadata"


def choose(header: str, *, allow_table: bool = False, allow_discovery: bool = False) -> Representation:
    """The first representation in the client's Accept list that this endpoint can produce."""
    if not header:
        return Representation("json")
    for r in parse_accept(header):
        as_ = r.params.get("as")
        if as_ == "Table" and r.params.get("g") == "meta.k8s.io":
            if allow_table:
                return Representation("table")
            continue
        if as_ == "APIGroupDiscoveryList" and r.params.get("g") == "apidiscovery.k8s.io":
            if allow_discovery and r.params.get("v") == "v2":
                return Representation("discovery")
            continue
        if as_:
            continue
        if r.type in ("application/json", "application/*", "*/*", "application/json-patch+json"):
            return Representation("json")
        if r.type in ("application/yaml", "text/yaml"):
            return Representation("yaml")
    raise NotAcceptable("only the following media types are accepted: application/json, application/yaml, "
                        "application/vnd.kubernetes.protobuf")


def decode_object(body: bytes, content_type: str) -> Any:
    """A create/update body (JSON, or YAML as the apiserver also accepts)."""
    media = content_type.split(";")[0].strip().lower() or "application/json"
    if media == "application/json":
        return decode_json(body, "couldn't get version/kind; json parse error: ")
    if media == protobuf.MEDIA_TYPE:
        return protobuf.decode(body)
    if media in ("application/yaml", "text/yaml"):
        try:
            return yaml.safe_load(body)
        except yaml.YAMLError as e:
            raise BadRequest(f"error converting YAML to JSON: {e}") from None
    raise UnsupportedMediaType(f'the body of the request was in an unknown format - accepted media types '
                               f'include: application/json, application/yaml, '
                               f'application/vnd.kubernetes.protobuf, application/cbor (got "{media}")')


def encode(obj: Any, fmt: str) -> tuple[bytes, str]:
    if fmt == "yaml":
        return yaml.safe_dump(obj, sort_keys=False).encode(), "application/yaml"
    return orjson.dumps(obj), "application/json"
