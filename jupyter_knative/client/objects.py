"""Any resource through the Kubernetes API: apply, get, list, table, describe, delete, watch, wait, events,
export. Kinds are words resolved through discovery (`kinds`); every failure is a `KnativeError`."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from . import display
from .connection import MERGE_PATCH, TABLE, Connection
from .describing import describe_text
from .errors import KnativeError
from .kinds import Discovery, ResourceInfo
from .manifests import Document, export_documents, last_applied, parse_manifest, with_last_applied
from .merging import three_way_patch

__all__ = ["Applied", "Objects", "Table", "condition_state"]

_HINT_NAMES = 12  # names listed in a not-found hint


@dataclass
class Table:
    """The server's Table for a kind (the columns `kubectl get` shows)."""

    columns: list[str]
    rows: list[list[Any]]
    kind: str = ""
    namespace: str | None = None
    objects: list[dict[str, Any]] = field(default_factory=list, repr=False)  # each row's object metadata

    def __str__(self) -> str:
        return display.table_text(self)

    def _repr_html_(self) -> str:
        return display.table_html(self)

    def __len__(self) -> int:
        return len(self.rows)


FALSE_GRACE = 5.0
"""How long `wait` lets a condition stay False before calling it a failure (controllers pass through False)."""

class Applied(list[dict[str, Any]]):
    """What `apply` stored, in document order; `.actions` says per object "created", "configured" or
    "unchanged", and str() is kubectl's report."""

    def __init__(self) -> None:
        super().__init__()
        self.actions: list[str] = []
        self.refs: list[str] = []  # `service.serving.knative.dev/hello`

    def add(self, obj: dict[str, Any], ref: str, action: str) -> None:
        self.append(obj)
        self.refs.append(ref)
        self.actions.append(action)

    def __str__(self) -> str:
        return "\n".join(f"{ref} {action}" for ref, action in zip(self.refs, self.actions, strict=True))

    def _repr_html_(self) -> str:
        return display.pre_html(str(self))


def condition_state(obj: dict[str, Any], condition: str) -> tuple[str, dict[str, Any] | None]:
    """("True" | "False" | "Unknown" | "Stale", the condition) — Stale while status lags the spec."""
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    generation, observed = meta.get("generation"), status.get("observedGeneration")
    if generation is not None and observed is not None and observed != generation:
        return "Stale", None
    for cond in status.get("conditions") or []:
        if str(cond.get("type", "")).lower() == condition.lower():
            return str(cond.get("status", "Unknown")), cond
    return "Unknown", None


class Objects:
    def __init__(self, conn: Connection, discovery: Discovery) -> None:
        self.conn = conn
        self.discovery = discovery

    def info(self, kind: str) -> ResourceInfo:
        return self.discovery.resolve(kind)

    def _ns(self, info: ResourceInfo, namespace: str | None) -> str | None:
        return (namespace or self.conn.default_namespace) if info.namespaced else None

    # -- read ------------------------------------------------------------------------------------------

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        info = self.info(kind)
        ns = self._ns(info, namespace)
        try:
            obj: dict[str, Any] = self.conn.request("GET", info.path(ns, name))
        except KnativeError as e:
            raise self._not_found_hint(e, info, ns) from None
        return obj

    def find(self, info: ResourceInfo, name: str, namespace: str | None) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        try:
            obj: dict[str, Any] = self.conn.request("GET", info.path(self._ns(info, namespace), name))
        except KnativeError as e:
            if e.reason == "NotFound":
                return None
            raise
        return obj

    def list_objects(self, kind: str, namespace: str | None = None, label_selector: str | None = None,
                     all_namespaces: bool = False, field_selector: str | None = None) -> list[dict[str, Any]]:
        info = self.info(kind)
        return self.list_info(info, None if all_namespaces else self._ns(info, namespace), label_selector,
                              field_selector)[0]

    def list_info(self, info: ResourceInfo, namespace: str | None, label_selector: str | None = None,
                  field_selector: str | None = None) -> tuple[list[dict[str, Any]], str]:
        query = [("labelSelector", label_selector)] if label_selector else []
        if field_selector:
            query.append(("fieldSelector", field_selector))
        listing = self.conn.request("GET", info.path(namespace), query=query) or {}
        items = listing.get("items") or []
        for item in items:  # list items carry no type of their own
            item.setdefault("apiVersion", info.api_version)
            item.setdefault("kind", info.kind)
        return items, str((listing.get("metadata") or {}).get("resourceVersion", ""))

    def table(self, kind: str, name: str | None = None, namespace: str | None = None) -> Table:
        info = self.info(kind)
        ns = self._ns(info, namespace)
        try:
            answer = self.conn.request("GET", info.path(ns, name), accept=TABLE) or {}
        except KnativeError as e:
            raise self._not_found_hint(e, info, ns) from None
        if answer.get("kind") != "Table":  # a server without Table support: names only
            items = [answer] if name else answer.get("items") or []
            return Table(["Name"], [[(i.get("metadata") or {}).get("name", "")] for i in items], info.qualified, ns)
        shown = [i for i, c in enumerate(answer.get("columnDefinitions") or []) if not c.get("priority")]
        columns = [answer["columnDefinitions"][i]["name"] for i in shown]
        rows = [[(r.get("cells") or [])[i] if i < len(r.get("cells") or []) else None for i in shown]
                for r in answer.get("rows") or []]
        objects = [r.get("object") or {} for r in answer.get("rows") or []]
        return Table(columns, rows, info.qualified, ns, objects)

    def describe(self, kind: str, name: str, namespace: str | None = None) -> str:
        obj = self.get(kind, name, namespace)
        info = self.info(kind)
        events = self.events(name, namespace=self._ns(info, namespace), kind=info.kind)
        return describe_text(obj, events, now=datetime.datetime.now(datetime.UTC))

    def events(self, name: str | None = None, namespace: str | None = None,
               kind: str | None = None) -> list[dict[str, Any]]:
        """Core Events of the namespace (about `name` when given), oldest first."""
        info = self.info("events")
        items, _ = self.list_info(info, namespace or self.conn.default_namespace,
                                  field_selector=f"involvedObject.name={name}" if name else None)
        if kind:
            items = [e for e in items if (e.get("involvedObject") or {}).get("kind") in (kind, None)]
        return sorted(items, key=_event_order)

    # -- write -----------------------------------------------------------------------------------------

    def apply(self, manifest: str | dict[str, Any] | list[dict[str, Any]],
              namespace: str | None = None) -> Applied:
        docs = parse_manifest(manifest)
        total = max(d.index for d in docs)
        resolved = []
        for doc in docs:
            try:
                resolved.append((doc, self.discovery.for_object(doc.obj["apiVersion"], doc.obj["kind"])))
            except KnativeError as e:
                raise e.prefixed(f"document {doc.index} of {total} ({doc.label}): ") from None
        out = Applied()
        for doc, info in resolved:
            try:
                obj, action = self._apply_one(doc, info, namespace)
            except KnativeError as e:
                raise e.prefixed(f"document {doc.index} of {total} ({doc.label}): ") from None
            out.add(obj, f"{info.display}/{obj['metadata']['name']}", action)
        return out

    def _apply_one(self, doc: Document, info: ResourceInfo, namespace: str | None) -> tuple[dict[str, Any], str]:
        body = dict(doc.obj)
        meta = dict(body.get("metadata") or {})
        if info.namespaced:
            meta["namespace"] = meta.get("namespace") or namespace or self.conn.default_namespace
        else:
            meta.pop("namespace", None)
        body["metadata"] = meta
        ns = meta.get("namespace")
        modified = with_last_applied(body)
        current = self.find(info, meta["name"], ns) if meta.get("name") else None
        if current is None:
            created: dict[str, Any] = self.conn.request("POST", info.path(ns), body=modified)
            return created, "created"
        patch = three_way_patch(last_applied(current), modified, current)
        if not patch:
            return current, "unchanged"
        patched: dict[str, Any] = self.conn.request("PATCH", info.path(ns, meta["name"]), body=patch,
                                                    content_type=MERGE_PATCH)
        same = (patched.get("metadata") or {}).get("resourceVersion") == current["metadata"].get("resourceVersion")
        return patched, "unchanged" if same else "configured"

    def patch(self, kind: str, name: str, patch: dict[str, Any], namespace: str | None = None,
              dry_run: bool = False) -> dict[str, Any]:
        info = self.info(kind)
        ns = self._ns(info, namespace)
        query = [("dryRun", "All")] if dry_run else []
        try:
            obj: dict[str, Any] = self.conn.request("PATCH", info.path(ns, name), body=patch, query=query,
                                                    content_type=MERGE_PATCH)
        except KnativeError as e:
            raise self._not_found_hint(e, info, ns) from None
        return obj

    def create(self, kind: str, body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        info = self.info(kind)
        obj: dict[str, Any] = self.conn.request("POST", info.path(self._ns(info, namespace)), body=body)
        return obj

    def delete(self, kind: str, name: str, namespace: str | None = None, wait: bool = True,
               timeout: float = 60) -> None:
        info = self.info(kind)
        ns = self._ns(info, namespace)
        try:
            self.conn.request("DELETE", info.path(ns, name), body={"kind": "DeleteOptions", "apiVersion": "v1",
                                                                   "propagationPolicy": "Background"})
        except KnativeError as e:
            raise self._not_found_hint(e, info, ns) from None
        if wait:
            self.wait(kind, name, condition="Deleted", timeout=timeout, namespace=namespace)

    # -- watch and wait ----------------------------------------------------------------------------------

    def watch(self, kind: str, namespace: str | None = None, name: str | None = None,
              timeout: float | None = None, all_namespaces: bool = False) -> Iterator[tuple[str, dict[str, Any]]]:
        """The current objects as ADDED, then every change, until `timeout` (None: until the caller stops)."""
        info = self.info(kind)
        ns = None if all_namespaces else self._ns(info, namespace)
        deadline = None if timeout is None else time.monotonic() + timeout
        selector = f"metadata.name={name}" if name else None
        items, rv = self.list_info(info, ns, field_selector=selector)
        for item in items:
            yield "ADDED", item
        while deadline is None or time.monotonic() < deadline:
            remaining = 300.0 if deadline is None else max(1.0, deadline - time.monotonic())
            query = [("watch", "true"), ("resourceVersion", rv), ("allowWatchBookmarks", "false"),
                     ("timeoutSeconds", str(max(1, int(remaining))))]
            if selector:
                query.append(("fieldSelector", selector))
            expired = False
            for line in self.conn.stream_lines(info.path(ns), query=query, timeout=remaining):
                event = orjson.loads(line)
                kind_, obj = str(event.get("type", "")), event.get("object") or {}
                if kind_ == "ERROR":
                    if obj.get("code") == 410:
                        expired = True
                        break
                    raise KnativeError(str(obj.get("message") or "watch failed"), reason=str(obj.get("reason") or
                                                                                             "Error"), status=obj)
                if kind_ == "BOOKMARK":
                    rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
                    continue
                rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
                yield kind_, obj
                if deadline is not None and time.monotonic() >= deadline:
                    return
            if expired:  # too old to resume: start again from a fresh list
                items, rv = self.list_info(info, ns, field_selector=selector)
                for item in items:
                    yield "ADDED", item

    def wait(self, kind: str, name: str, condition: str = "Ready", timeout: float = 120,
             namespace: str | None = None, progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """The object once `condition` is True for its current generation ("Deleted": once it is gone)."""
        info = self.info(kind)
        deleted = condition.lower() in ("delete", "deleted")
        last: dict[str, Any] | None = None
        seen_rv = None
        false_since: float | None = None
        for event, obj in self._changes(info, name, namespace, timeout, poll=FALSE_GRACE / 2):
            if event == "DELETED" or obj is None:
                if deleted:
                    return last or {}
                last = None
                continue
            last = obj
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            if progress is not None and rv != seen_rv:
                progress(obj)
            seen_rv = rv
            if deleted:
                continue
            state, cond = condition_state(obj, condition)
            if state == "True":
                return obj
            if state != "False":
                false_since = None
            elif false_since is None:
                false_since = time.monotonic()
            elif time.monotonic() - false_since >= FALSE_GRACE:
                # False for a while, not a step on the way (a new Broker is briefly not Ready, as kubectl waits out)
                raise _condition_failed(info, name, condition, cond or {})
        raise self._timed_out(info, name, condition, timeout, last, deleted)

    def _changes(self, info: ResourceInfo, name: str, namespace: str | None,
                 timeout: float, poll: float | None = None) -> Iterator[tuple[str, dict[str, Any] | None]]:
        """The object's state now (None when absent), then each change, until the deadline; with `poll`, the
        state is also yielded again at least that often."""
        deadline = time.monotonic() + timeout
        current = self.find(info, name, namespace)
        yield ("ADDED" if current else "DELETED"), current
        while time.monotonic() < deadline:
            remaining = deadline - time.monotonic()
            window = min(remaining, poll) if poll else remaining
            try:
                yield from self.watch(info.qualified, namespace=namespace, name=name, timeout=max(0.5, window))
            except KnativeError as e:
                if e.reason in ("PlaneDown", "Unreachable"):
                    raise
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))  # a dropped watch: look again
            if time.monotonic() < deadline:
                current = self.find(info, name, namespace)
                yield ("ADDED" if current else "DELETED"), current

    def _timed_out(self, info: ResourceInfo, name: str, condition: str, timeout: float,
                   last: dict[str, Any] | None, deleted: bool) -> KnativeError:
        what = f'{info.kind} "{name}"'
        if deleted:
            return KnativeError(f"timed out after {timeout:g}s waiting for {what} to be deleted", reason="Timeout")
        if last is None:
            return KnativeError(f"timed out after {timeout:g}s waiting for {what}: it does not exist",
                                reason="Timeout", hint=f"{info.plural} are created by apply() or deploy_function()")
        state, cond = condition_state(last, condition)
        detail = ""
        if cond and (cond.get("reason") or cond.get("message")):
            detail = f"; {condition} is {state}: {cond.get('reason', '')} {cond.get('message', '')}".rstrip()
        elif state == "Stale":
            detail = "; its status has not caught up with its latest generation"
        return KnativeError(f"timed out after {timeout:g}s waiting for {what} to be {condition}{detail}",
                            reason="Timeout", hint="describe() shows its conditions and events")

    # -- export ------------------------------------------------------------------------------------------

    def export(self, namespace: str | None = None) -> str:
        import yaml

        ns = namespace or self.conn.default_namespace
        pairs: list[tuple[str, dict[str, Any]]] = []
        for info in self.discovery.resources():
            if not (info.preferred and info.namespaced and "list" in info.verbs and "create" in info.verbs):
                continue
            if info.group.endswith(".internal.knative.dev") or info.plural == "events":
                continue
            items, _ = self.list_info(info, ns)
            pairs += [(info.group, item) for item in items]
        docs = export_documents(pairs)
        return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False) if docs else ""

    # -- hints -------------------------------------------------------------------------------------------

    def _not_found_hint(self, error: KnativeError, info: ResourceInfo, namespace: str | None) -> KnativeError:
        if error.reason != "NotFound":
            return error
        try:
            items, _ = self.list_info(info, namespace)
        except KnativeError:
            return error
        names = sorted((i.get("metadata") or {}).get("name", "") for i in items)
        where = f" in namespace '{namespace}'" if namespace else ""
        if not names:
            return error.with_hint(f"there are no {info.plural}{where}")
        shown = ", ".join(names[:_HINT_NAMES]) + (f", … ({len(names) - _HINT_NAMES} more)"
                                                  if len(names) > _HINT_NAMES else "")
        return error.with_hint(f"{info.plural}{where}: {shown}")


def _condition_failed(info: ResourceInfo, name: str, condition: str, cond: dict[str, Any]) -> KnativeError:
    reason, message = str(cond.get("reason") or "Failed"), str(cond.get("message") or "")
    text = f'{info.kind} "{name}" is not {condition}: {reason}' + (f": {message}" if message else "")
    return KnativeError(text, reason=reason, hint="describe() shows its conditions and events; logs() the "
                                                  "container's output")


def _event_order(event: dict[str, Any]) -> tuple[str, int]:
    when = event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp") or \
        (event.get("metadata") or {}).get("creationTimestamp") or ""
    rv = str((event.get("metadata") or {}).get("resourceVersion") or "0")
    return str(when), int(rv) if rv.isdigit() else 0
