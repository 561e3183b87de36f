"""The REST verbs on resources: get, list, watch, create, update, patch, delete, deletecollection,
and the `status`, `finalize` and `log` subresources. Requests are decoded, checked against the
version's schema (honouring `fieldValidation`), converted to the storage version and handed to the
store; responses are converted back and rendered as JSON, YAML or a `Table`."""

from __future__ import annotations

import asyncio
import base64
import copy
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import yaml
from aiohttp import web

from ..api import applying
from ..api.gojson import json_kind
from ..api.patching import APPLY_PATCH, apply_patch
from ..api.printing import format_timestamp
from ..api.registry import ResourceType, Version
from ..api.schema import check
from ..api.selectors import parse_field_selector, parse_label_selector
from ..api.status import (
    BadRequest,
    Gone,
    MethodNotSupported,
    NotFound,
    RequestEntityTooLarge,
    StatusError,
    forbidden,
    invalid_object,
    not_found,
    not_supported,
    patch_options_invalid,
    required,
)
from ..api.warnings import collect as admission_warnings
from ..store import Entry, Predicate, Store, Watch, WatchEvent
from .negotiation import Representation, choose, decode_object, encode
from .requestinfo import RequestInfo
from .scale import from_scale, to_scale
from .tables import table

MAX_BODY = 3 * 1024 * 1024
WATCH_TIMEOUT_DEFAULT = 1800.0
BOOKMARK_INTERVAL = 60.0
_FIELD_VALIDATION = ("Ignore", "Warn", "Strict")
_PROPAGATION = ("Foreground", "Background", "Orphan")

# (namespace, pod, container, follow, tail lines, previous run) -> the log's chunks
LogSource = Callable[[str, str, str, bool, int | None, bool], AsyncIterator[bytes]]

NOT_FOUND_MESSAGE = "the server could not find the requested resource"


def _json_response(body: bytes, status: int = 200, content_type: str = "application/json",
                   warnings: list[str] | None = None) -> web.Response:
    resp = web.Response(body=body, status=status, headers={"Content-Type": content_type})
    for w in warnings or ():
        text = " ".join(w.split("\n")).replace("\\", "\\\\").replace('"', '\\"')
        resp.headers.add("Warning", '299 - "' + text + '"')
    return resp


def _truthy(value: str | None) -> bool:
    return value in ("true", "1", "True")


class ResourceAPI:
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time,
                 log_source: LogSource | None = None) -> None:
        self.store = store
        self.registry = store.registry
        self.clock = clock
        self.log_source = log_source

    # --- dispatch ------------------------------------------------------------------------------------

    async def handle(self, request: web.Request, info: RequestInfo) -> web.StreamResponse:
        found = self.registry.lookup(info.group, info.version, info.resource)
        if found is None:
            raise NotFound(NOT_FOUND_MESSAGE)
        rt, ver = found
        if (info.namespace is not None and not rt.namespaced) or \
                (info.subresource and info.subresource not in rt.subresources) or \
                (rt.namespaced and info.name and info.namespace is None):
            raise NotFound(NOT_FOUND_MESSAGE)
        method = request.method
        if info.is_collection:
            if method == "GET":
                if _truthy(request.query.get("watch")):
                    return await self.watch(request, rt, ver, info)
                return self.list_collection(request, rt, ver, info)
            if method == "POST":
                return await self.create(request, rt, ver, info)
            if method == "DELETE":
                return await self.delete_collection(request, rt, ver, info)
        elif info.subresource == "log":
            if method == "GET":
                return await self.log(request, rt, info)
        elif info.subresource == "scale":
            if method in ("GET", "PUT", "PATCH"):
                return await self.scale(request, rt, info)
        elif method == "GET":
            return self.get(request, rt, ver, info)
        elif method == "PUT":
            return await self.update(request, rt, ver, info)
        elif method == "PATCH" and info.subresource != "finalize":
            return await self.patch(request, rt, ver, info)
        elif method == "DELETE" and not info.subresource:
            return await self.delete(request, rt, ver, info)
        raise MethodNotSupported("the server does not allow this method on the requested resource")

    # --- conversions and rendering -------------------------------------------------------------------

    def to_version(self, rt: ResourceType, obj: dict[str, Any], version: str) -> dict[str, Any]:
        target = rt.api_version(version)
        if obj.get("apiVersion") == target:
            return obj
        if rt.converter is not None:
            return rt.converter(obj, target)
        return {**obj, "apiVersion": target}

    def _render(self, request: web.Request, rt: ResourceType, ver: Version, entry: Entry,
                status: int = 200, warnings: list[str] | None = None) -> web.Response:
        rep = choose(request.headers.get("Accept", ""), allow_table=True)
        if rep.format == "json" and rt.storage == ver.name:
            return _json_response(entry.raw, status, warnings=warnings)
        return self._render_obj(request, rt, ver, entry.obj, status, warnings, rep)

    def _render_obj(self, request: web.Request, rt: ResourceType, ver: Version, obj: dict[str, Any],
                    status: int = 200, warnings: list[str] | None = None,
                    rep: Representation | None = None) -> web.Response:
        rep = rep or choose(request.headers.get("Accept", ""), allow_table=True)
        obj = self.to_version(rt, obj, ver.name)
        if rep.format == "table":
            doc = table(rt, ver, [obj], self.clock(), rv=obj["metadata"].get("resourceVersion", ""),
                        include=request.query.get("includeObject", "Metadata"))
            return _json_response(orjson.dumps(doc), status, warnings=warnings)
        body, ctype = encode(obj, rep.format)
        return _json_response(body, status, ctype, warnings)

    # --- reading -------------------------------------------------------------------------------------

    def _predicate(self, request: web.Request, rt: ResourceType) -> Predicate | None:
        labels = parse_label_selector(request.query.get("labelSelector", ""))
        fields = parse_field_selector(request.query.get("fieldSelector", ""), rt.selectable_fields())
        if labels.empty and fields.empty:
            return None

        def predicate(obj: dict[str, Any]) -> bool:
            return labels.matches(obj["metadata"].get("labels") or {}) and fields.matches(obj)
        return predicate

    def _namespace(self, info: RequestInfo) -> str:
        return info.namespace or ""

    def get(self, request: web.Request, rt: ResourceType, ver: Version, info: RequestInfo) -> web.Response:
        entry = self.store.entry(rt, self._namespace(info), info.name)
        if entry is None:
            raise not_found(rt.group_resource, info.name)
        return self._render(request, rt, ver, entry)

    def list_collection(self, request: web.Request, rt: ResourceType, ver: Version,
                        info: RequestInfo) -> web.Response:
        rep = choose(request.headers.get("Accept", ""), allow_table=True)
        entries, rv = self.store.entries(rt, info.namespace, self._predicate(request, rt))
        entries, cont, remaining = self._page(request, entries, rv)
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if cont:
            meta["continue"], meta["remainingItemCount"] = cont, remaining
        if rep.format == "table":
            objs = [self.to_version(rt, e.obj, ver.name) for e in entries]
            doc = table(rt, ver, objs, self.clock(), rv=str(rv),
                        include=request.query.get("includeObject", "Metadata"))
            doc["metadata"].update(meta)
            return _json_response(orjson.dumps(doc))
        head: dict[str, Any] = {"kind": rt.list_kind, "apiVersion": rt.api_version(ver.name), "metadata": meta}
        if rep.format == "json" and rt.storage == ver.name:
            items = b",".join(e.raw for e in entries)
            return _json_response(orjson.dumps(head)[:-1] + b',"items":[' + items + b"]}")
        head["items"] = [self.to_version(rt, e.obj, ver.name) for e in entries]
        body, ctype = encode(head, rep.format)
        return _json_response(body, content_type=ctype)

    @staticmethod
    def _page(request: web.Request, entries: list[Entry], rv: int) -> tuple[list[Entry], str, int]:
        """`limit` and `continue`: key-ordered chunks (later chunks see the current state)."""
        token = request.query.get("continue", "")
        if token:
            try:
                start = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["start"]
            except (ValueError, KeyError, TypeError):
                raise BadRequest("continue key is not valid: invalid continue token") from None
            entries = [e for e in entries if
                       [e.obj["metadata"].get("namespace", ""), e.obj["metadata"]["name"]] > start]
        try:
            limit = int(request.query.get("limit") or 0)
        except ValueError:
            raise BadRequest(f'limit: Invalid value: "{request.query.get("limit")}"') from None
        if limit <= 0 or len(entries) <= limit:
            return entries, "", 0
        last = entries[limit - 1].obj["metadata"]
        cont = base64.urlsafe_b64encode(orjson.dumps(
            {"rv": rv, "start": [last.get("namespace", ""), last["name"]]})).decode().rstrip("=")
        return entries[:limit], cont, len(entries) - limit

    # --- watching ------------------------------------------------------------------------------------

    async def watch(self, request: web.Request, rt: ResourceType, ver: Version,
                    info: RequestInfo) -> web.StreamResponse:
        q = request.query
        rep = choose(request.headers.get("Accept", ""), allow_table=True)
        predicate = self._predicate(request, rt)
        initial_events = _truthy(q.get("sendInitialEvents"))
        if initial_events and q.get("resourceVersionMatch") != "NotOlderThan":
            raise invalid_object(rt.group_resource, "", [not_supported(
                "resourceVersionMatch", q.get("resourceVersionMatch", ""), ["NotOlderThan"])])
        try:
            timeout = float(q.get("timeoutSeconds") or WATCH_TIMEOUT_DEFAULT)
        except ValueError:
            raise BadRequest(f'timeoutSeconds: Invalid value: "{q.get("timeoutSeconds")}"') from None
        rv_param = q.get("resourceVersion", "")
        initial: list[Entry] = []
        error: StatusError | None = None
        watch: Watch | None = None
        if initial_events or rv_param in ("", "0"):
            initial, start_rv = self.store.entries(rt, info.namespace, predicate)
            watch = self.store.watch(rt, info.namespace, predicate)
        else:
            try:
                since = int(rv_param)
            except ValueError:
                raise BadRequest(f'resourceVersion: Invalid value: "{rv_param}": must be an integer') from None
            try:
                watch = self.store.watch(rt, info.namespace, predicate, since=since)
            except Gone as e:
                error = e
            start_rv = since
        encoder = _EventEncoder(self, rt, ver, rep, request.query.get("includeObject", "Metadata"))
        resp = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache, private"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        if watch is None:
            await resp.write(encoder.error(error or StatusError("watch failed")))
            return resp
        try:
            chunks = [encoder.event("ADDED", e.obj, e.raw) for e in initial]
            if initial_events:
                chunks.append(encoder.bookmark(start_rv, initial_end=True))
            if chunks:
                await resp.write(b"".join(chunks))
            await self._stream(resp, watch, encoder, timeout, _truthy(q.get("allowWatchBookmarks")))
        finally:
            watch.close()
        return resp

    async def _stream(self, resp: web.StreamResponse, watch: Watch, encoder: _EventEncoder, timeout: float,
                      bookmarks: bool) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        next_bookmark = loop.time() + BOOKMARK_INTERVAL
        while True:
            now = loop.time()
            if now >= deadline:
                return
            wait = min(deadline, next_bookmark) - now if bookmarks else deadline - now
            await watch.wait(wait)
            events: list[WatchEvent] = watch.drain()
            if events:
                await resp.write(b"".join(encoder.event(e.type, e.obj, e.raw) for e in events))
            if watch.closed:
                if watch.error is not None:
                    await resp.write(encoder.error(watch.error))
                return
            if bookmarks and loop.time() >= next_bookmark:
                await resp.write(encoder.bookmark(self.store.resource_version))
                next_bookmark = loop.time() + BOOKMARK_INTERVAL

    # --- writing -------------------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise RequestEntityTooLarge(f"Request entity too large: limit is {MAX_BODY}")
        body = await request.content.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise RequestEntityTooLarge(f"Request entity too large: limit is {MAX_BODY}")
        return body

    async def _decode(self, request: web.Request, rt: ResourceType, ver: Version) -> dict[str, Any]:
        obj = decode_object(await self._body(request), request.headers.get("Content-Type", ""))
        if not isinstance(obj, dict):
            raise BadRequest(f"couldn't get version/kind; json parse error: json: cannot unmarshal "
                             f"{json_kind(obj)} into Go value of type struct {{ APIVersion string "
                             f"\"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }}")
        expected = rt.api_version(ver.name)
        api_version, kind = obj.setdefault("apiVersion", expected), obj.setdefault("kind", rt.kind)
        if api_version != expected:
            raise BadRequest(f"the API version in the data ({api_version}) does not match the expected "
                             f"API version ({expected})")
        if kind != rt.kind:
            raise BadRequest(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
        if not isinstance(obj.get("metadata", {}), dict):
            raise BadRequest(f"{rt.kind} in version \"{ver.name}\" cannot be handled as a {rt.kind}: "
                             "metadata must be an object")
        return obj

    def _options(self, request: web.Request) -> tuple[str, bool]:
        validation = request.query.get("fieldValidation") or "Warn"
        if validation not in _FIELD_VALIDATION:
            raise BadRequest(f'fieldValidation: Unsupported value: "{validation}": supported values: '
                             '"Ignore", "Warn", "Strict"')
        dry = request.query.getall("dryRun", [])
        if any(d != "All" for d in dry):
            raise BadRequest(f'dryRun: Unsupported value: "{dry[0]}": supported values: "All"')
        return validation, bool(dry)

    def _check_schema(self, rt: ResourceType, ver: Version, obj: dict[str, Any], validation: str) -> list[str]:
        """Prune unknown fields and type-check; returns the warnings to send."""
        if ver.schema is None:
            return []
        found = check(ver.schema, obj)
        if found.unknown and validation == "Strict":
            fields = ", ".join(f'unknown field "{p}"' for p in found.unknown)
            raise BadRequest(f'{rt.kind} in version "{ver.name}" cannot be handled as a {rt.kind}: '
                             f"strict decoding error: {fields}")
        if found.errors:
            name = (obj.get("metadata") or {}).get("name", "")
            raise invalid_object(rt.group_resource, name, found.errors)
        return [f'unknown field "{p}"' for p in found.unknown] if validation == "Warn" else []

    def _to_storage(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        return self.to_version(rt, obj, rt.storage)

    async def create(self, request: web.Request, rt: ResourceType, ver: Version,
                     info: RequestInfo) -> web.Response:
        validation, dry_run = self._options(request)
        obj = await self._decode(request, rt, ver)
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != info.namespace:
                raise BadRequest("the namespace of the provided object does not match the namespace sent "
                                 "on the request")
            meta["namespace"] = info.namespace
        else:
            meta.pop("namespace", None)
        warnings = self._check_schema(rt, ver, obj, validation)
        with admission_warnings() as admitted:
            created = self.store.create(rt, self._to_storage(rt, obj), dry_run=dry_run)
        return self._render_obj(request, rt, ver, created, 201, warnings + admitted)

    async def update(self, request: web.Request, rt: ResourceType, ver: Version,
                     info: RequestInfo) -> web.Response:
        validation, dry_run = self._options(request)
        obj = await self._decode(request, rt, ver)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") != info.name:
            raise BadRequest(f"the name of the object ({meta.get('name', '')}) does not match the name on "
                             f"the URL ({info.name})")
        if rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != info.namespace:
                raise BadRequest("the namespace of the provided object does not match the namespace sent "
                                 "on the request")
            meta["namespace"] = info.namespace
        warnings = self._check_schema(rt, ver, obj, validation)
        if "managedFields" not in meta:  # kept unless the request says otherwise (`[]` clears them)
            live_meta = (self.store.get(rt, self._namespace(info), info.name) or {}).get("metadata") or {}
            if "managedFields" in live_meta:
                meta["managedFields"] = live_meta["managedFields"]
        with admission_warnings() as admitted:
            updated = self.store.update(rt, self._to_storage(rt, obj), subresource=info.subresource,
                                        dry_run=dry_run)
        return self._render_obj(request, rt, ver, updated, 200, warnings + admitted)

    async def patch(self, request: web.Request, rt: ResourceType, ver: Version,
                    info: RequestInfo) -> web.Response:
        validation, dry_run = self._options(request)
        body = await self._body(request)
        content_type = request.headers.get("Content-Type", "")
        if content_type.split(";", 1)[0].strip() == APPLY_PATCH:
            return await self.server_side_apply(request, rt, ver, info, body, validation, dry_run)
        if "force" in request.query:
            raise patch_options_invalid([forbidden("force", "may not be specified for non-apply patch")])
        current = self.store.must_get(rt, self._namespace(info), info.name)
        patched = apply_patch(request.headers.get("Content-Type", ""), self.to_version(rt, current, ver.name),
                              body, ver.schema, rt.builtin)
        if not isinstance(patched, dict):
            raise BadRequest("the patch did not produce an object")
        warnings = self._check_schema(rt, ver, patched, validation)
        patched.setdefault("metadata", {})
        patched["metadata"]["name"] = info.name
        if rt.namespaced:
            patched["metadata"]["namespace"] = info.namespace
        with admission_warnings() as admitted:
            updated = self.store.update(rt, self._to_storage(rt, patched), subresource=info.subresource,
                                        dry_run=dry_run)
        return self._render_obj(request, rt, ver, updated, 200, warnings + admitted)

    async def server_side_apply(self, request: web.Request, rt: ResourceType, ver: Version, info: RequestInfo,
                                body: bytes, validation: str, dry_run: bool) -> web.Response:
        """PATCH with `application/apply-patch+yaml`: create or merge, tracking field ownership."""
        manager, force = request.query.get("fieldManager", ""), request.query.get("force", "false")
        if not manager:
            raise patch_options_invalid([required("fieldManager", "is required for apply patch")])
        if force not in ("true", "false"):
            raise BadRequest(f'force: Invalid value: "{force}": must be true or false')  # a query decode error
        config = self._apply_config(rt, ver, info, body)
        warnings = self._check_schema(rt, ver, config, validation)
        current = self.store.get(rt, self._namespace(info), info.name)
        live = self.to_version(rt, current, ver.name) if current is not None else None
        ignored = [("f:status",)] if "status" in rt.subresources and not info.subresource else []
        obj = applying.apply(live, config, ver.schema, manager=manager, api_version=rt.api_version(ver.name),
                             now=format_timestamp(self.clock()), force=force == "true", builtin=rt.builtin,
                             subresource=info.subresource, ignored=ignored)
        warnings += self._check_schema(rt, ver, obj, "Ignore")
        with admission_warnings() as admitted:
            if current is None:
                created = self.store.create(rt, self._to_storage(rt, obj), dry_run=dry_run)
                return self._render_obj(request, rt, ver, created, 201, warnings + admitted)
            if self._unchanged_by(rt, info, current, obj):
                obj = applying.keep_time(obj, current, manager)
            updated = self.store.update(rt, self._to_storage(rt, obj), subresource=info.subresource,
                                        dry_run=dry_run)
        return self._render_obj(request, rt, ver, updated, 200, warnings + admitted)

    def _apply_config(self, rt: ResourceType, ver: Version, info: RequestInfo, body: bytes) -> dict[str, Any]:
        """The applied configuration, checked as kube's applyPatcher and fieldmanager check it."""
        try:
            config = yaml.safe_load(body)
        except yaml.YAMLError as e:
            raise BadRequest(f"error decoding YAML: {e}") from None
        if not isinstance(config, dict):
            raise BadRequest(f"error decoding YAML: json: cannot unmarshal {json_kind(config)} into Go value "
                             "of type map[string]interface {}")
        expected = rt.api_version(ver.name)
        if config.get("apiVersion") != expected:
            raise BadRequest("Incorrect version specified in apply patch. Specified patch version: "
                             f"{config.get('apiVersion') or ''}, expected: {expected}")
        if config.get("kind") != rt.kind:
            raise BadRequest(f"the kind in the data ({config.get('kind') or ''}) does not match the expected "
                             f"kind ({rt.kind})")
        meta = config.get("metadata")
        if not isinstance(meta, dict):
            meta = config["metadata"] = {}
        if meta.get("name") != info.name:
            raise BadRequest(f"the name of the object ({meta.get('name') or ''}) does not match the name on "
                             f"the URL ({info.name})")
        if rt.namespaced and meta.get("namespace") and meta["namespace"] != info.namespace:
            raise BadRequest(f"the namespace of the object ({meta['namespace']}) does not match the namespace "
                             f"on the URL ({info.namespace})")
        if rt.namespaced:
            meta["namespace"] = info.namespace
        return config

    def _unchanged_by(self, rt: ResourceType, info: RequestInfo, current: dict[str, Any],
                      obj: dict[str, Any]) -> bool:
        """Whether the object, once admitted (defaulted), is the live one but for its managedFields."""
        trial = self.store.update(rt, self._to_storage(rt, copy.deepcopy(obj)), subresource=info.subresource,
                                  dry_run=True)

        def bare(o: dict[str, Any]) -> dict[str, Any]:
            meta = {k: v for k, v in o.get("metadata", {}).items() if k not in ("managedFields", "resourceVersion")}
            return {**o, "metadata": meta}
        return bare(trial) == bare(current)

    async def _delete_options(self, request: web.Request) -> dict[str, Any]:
        body = await self._body(request)
        opts: dict[str, Any] = {}
        if body.strip():
            decoded = decode_object(body, request.headers.get("Content-Type", ""))
            if not isinstance(decoded, dict):
                raise BadRequest("DeleteOptions must be an object")
            opts = decoded
        q = request.query
        if "propagationPolicy" in q:
            opts["propagationPolicy"] = q["propagationPolicy"]
        if "orphanDependents" in q:
            opts["orphanDependents"] = _truthy(q["orphanDependents"])
        if "dryRun" in q:
            opts["dryRun"] = q.getall("dryRun")
        policy = opts.get("propagationPolicy")
        if policy is None and opts.get("orphanDependents") is not None:
            policy = "Orphan" if opts["orphanDependents"] else "Background"
        if policy is not None and policy not in _PROPAGATION:
            raise BadRequest(f'propagationPolicy: Unsupported value: "{policy}": supported values: '
                             '"Foreground", "Background", "Orphan"')
        opts["propagationPolicy"] = policy
        return opts

    async def delete(self, request: web.Request, rt: ResourceType, ver: Version,
                     info: RequestInfo) -> web.Response:
        opts = await self._delete_options(request)
        obj, gone = self.store.delete(rt, self._namespace(info), info.name,
                                      propagation=opts["propagationPolicy"],
                                      preconditions=opts.get("preconditions"), dry_run=bool(opts.get("dryRun")))
        if gone and not rt.delete_returns_object:
            status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                      "details": {"name": info.name, "group": rt.group, "kind": rt.plural,
                                  "uid": obj["metadata"]["uid"]}}
            return _json_response(orjson.dumps(status))
        code = 202 if not gone and opts.get("orphanDependents") is False else 200
        return self._render_obj(request, rt, ver, obj, code)

    async def delete_collection(self, request: web.Request, rt: ResourceType, ver: Version,
                                info: RequestInfo) -> web.Response:
        opts = await self._delete_options(request)
        entries, _ = self.store.entries(rt, info.namespace, self._predicate(request, rt))
        deleted = []
        for entry in entries:
            meta = entry.obj["metadata"]
            try:
                obj, _ = self.store.delete(rt, meta.get("namespace", ""), meta["name"],
                                           propagation=opts["propagationPolicy"], dry_run=bool(opts.get("dryRun")))
            except NotFound:
                continue
            deleted.append(self.to_version(rt, obj, ver.name))
        doc = {"kind": rt.list_kind, "apiVersion": rt.api_version(ver.name),
               "metadata": {"resourceVersion": str(self.store.resource_version)}, "items": deleted}
        return _json_response(orjson.dumps(doc))

    # --- scale ---------------------------------------------------------------------------------------------

    async def scale(self, request: web.Request, rt: ResourceType, info: RequestInfo) -> web.Response:
        current = self.store.must_get(rt, self._namespace(info), info.name)
        if request.method != "GET":
            _, dry_run = self._options(request)
            body = await self._body(request)
            if request.method == "PUT":
                wanted = decode_object(body, request.headers.get("Content-Type", ""))
            else:
                wanted = apply_patch(request.headers.get("Content-Type", ""), to_scale(current), body, None,
                                     rt.builtin)
            current = self.store.update(rt, from_scale(current, wanted, rt.group_resource), dry_run=dry_run)
        return _json_response(orjson.dumps(to_scale(current)))

    # --- pod logs ------------------------------------------------------------------------------------

    async def log(self, request: web.Request, rt: ResourceType, info: RequestInfo) -> web.StreamResponse:
        pod = self.store.must_get(rt, self._namespace(info), info.name)
        spec = pod.get("spec") or {}
        containers = [c.get("name", "") for c in spec.get("containers") or []]
        container = request.query.get("container") or (containers[0] if containers else "")
        if container not in containers and container not in [c.get("name") for c in spec.get("initContainers") or []]:
            raise BadRequest(f"container {container} is not valid for pod {info.name}")
        previous = _truthy(request.query.get("previous"))
        self._check_log_available(pod, container, previous)
        try:
            tail = int(request.query["tailLines"]) if "tailLines" in request.query else None
        except ValueError:
            raise BadRequest(f'tailLines: Invalid value: "{request.query["tailLines"]}"') from None
        assert self.log_source is not None
        chunks = self.log_source(self._namespace(info), info.name, container,
                                 _truthy(request.query.get("follow")) and not previous, tail, previous)
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        async for chunk in chunks:
            await resp.write(chunk)
        await resp.write_eof()
        return resp

    def _check_log_available(self, pod: dict[str, Any], container: str, previous: bool) -> None:
        """The kubelet's answers when there is no log to read (yet)."""
        name = pod["metadata"]["name"]
        status = pod.get("status") or {}
        cs: dict[str, Any] = next((c for c in [*(status.get("initContainerStatuses") or []),
                                               *(status.get("containerStatuses") or [])]
                                   if c.get("name") == container), {})
        if previous:
            if not (cs.get("lastState") or {}).get("terminated"):
                raise BadRequest(f'previous terminated container "{container}" in pod "{name}" not found')
            return
        waiting = (cs.get("state") or {}).get("waiting")
        never_ran = not cs or (waiting is not None and not cs.get("restartCount")
                               and not (cs.get("lastState") or {}).get("terminated"))
        if self.log_source is None or never_ran:
            reason = (waiting or {}).get("reason", "ContainerCreating")
            why = _WAITING.get(reason, reason)
            raise BadRequest(f'container "{container}" in pod "{name}" is waiting to start: {why}')


# How the kubelet words a container that has not started, for `kubectl logs`.
_WAITING = {"ImagePullBackOff": "trying and failing to pull image", "ErrImagePull": "image can't be pulled"}


class _EventEncoder:
    """Renders watch events in the representation the client asked for."""

    def __init__(self, api: ResourceAPI, rt: ResourceType, ver: Version, rep: Representation,
                 include: str) -> None:
        self.api, self.rt, self.ver, self.rep, self.include = api, rt, ver, rep, include
        self.raw_ok = rep.format != "table" and rt.storage == ver.name
        self.headers_sent = False

    def event(self, type_: str, obj: dict[str, Any], raw: bytes) -> bytes:
        if self.raw_ok:
            return b'{"type":"' + type_.encode() + b'","object":' + raw + b"}\n"
        converted = self.api.to_version(self.rt, obj, self.ver.name)
        if self.rep.format == "table":
            doc = table(self.rt, self.ver, [converted], self.api.clock(),
                        rv=converted["metadata"].get("resourceVersion", ""),
                        headers=not self.headers_sent, include=self.include)
            self.headers_sent = True
            return orjson.dumps({"type": type_, "object": doc}) + b"\n"
        return orjson.dumps({"type": type_, "object": converted}) + b"\n"

    def bookmark(self, rv: int, initial_end: bool = False) -> bytes:
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": self.rt.kind, "apiVersion": self.rt.api_version(self.ver.name), "metadata": meta}
        return orjson.dumps({"type": "BOOKMARK", "object": obj}) + b"\n"

    @staticmethod
    def error(err: StatusError) -> bytes:
        return orjson.dumps({"type": "ERROR", "object": err.to_status()}) + b"\n"
