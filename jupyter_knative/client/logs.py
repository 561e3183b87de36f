"""A revision's container logs: its pods' `user-container` (or any container, or all) through the API, and on the
embedded plane also the pods already gone (scaled to zero, replaced) from the plane's on-disk logs
(`<home>/logs/<namespace>/<pod>/<container>/<n>.log`, one file per container run). A cluster keeps no logs of
deleted pods: there only live pods' logs are read (a log collector keeps the rest)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import KnativeError
from .objects import Objects

__all__ = ["Logs", "gone_pod_logs", "prefix_lines"]

USER_CONTAINER = "user-container"
ALL = "all"
"""`container=ALL`: every container of the revision's pods (user-container and queue-proxy on a cluster)."""
REVISION_LABEL = "serving.knative.dev/revision"


def prefix_lines(pod: str, text: str, prefixed: bool) -> list[str]:
    lines = text.splitlines()
    return [f"[{pod}] {line}" for line in lines] if prefixed else lines


def _run_number(path: Path) -> int:
    return int(path.stem) if path.stem.isdigit() else -1


def gone_pod_logs(logs_root: Path, namespace: str, revision: str, live: set[str],
                  container: str = USER_CONTAINER, since: float | None = None) -> list[tuple[str, str]]:
    """(pod, text) for the revision's pods that left logs on disk but no longer exist, oldest first; with
    `since` (the revision's creation time), logs last written before it are an earlier revision's of the same
    name (a namespace deleted and made again) and are left out."""
    base = logs_root / namespace
    if not base.is_dir():
        return []
    found = []
    for pod_dir in base.iterdir():
        if pod_dir.name in live or not pod_dir.name.startswith(f"{revision}-deployment-"):
            continue
        runs = sorted((pod_dir / container).glob("*.log"), key=_run_number)
        if not runs:
            continue
        if since is not None and max(p.stat().st_mtime for p in runs) < since:
            continue
        text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in runs)
        found.append((min(p.stat().st_mtime for p in runs), pod_dir.name, text))
    return [(pod, text) for _, pod, text in sorted(found)]


def _tail(text: str, tail: int | None) -> str:
    if tail is None:
        return text
    lines = text.splitlines(keepends=True)
    return "".join(lines[-tail:]) if tail > 0 else ""


class Logs:
    def __init__(self, objects: Objects, logs_root: Path | None) -> None:
        self.objects = objects
        self.conn = objects.conn
        self.logs_root = logs_root  # the plane's container logs, when the server is an embedded plane

    def revision_of(self, service: str, namespace: str) -> str:
        svc = self.objects.get("ksvc", service, namespace)
        status = svc.get("status") or {}
        revision = status.get("latestReadyRevisionName") or status.get("latestCreatedRevisionName")
        if not revision:
            raise KnativeError(f"service '{service}' has no revision yet", reason="NotFound",
                               hint="wait() for it to become Ready, then ask again")
        return str(revision)

    def _created(self, revision: str, namespace: str) -> float | None:
        """The revision's creation time (seconds since the epoch), if it can be read."""
        try:
            stamp = (self.objects.get("revisions", revision, namespace).get("metadata") or {}).get("creationTimestamp")
        except KnativeError:
            return None
        try:
            return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp() - 1.0 if stamp else None
        except ValueError:
            return None

    def pods(self, revision: str, namespace: str) -> list[dict[str, Any]]:
        return self.objects.list_objects("pods", namespace, label_selector=f"{REVISION_LABEL}={revision}")

    def text(self, revision: str, namespace: str, tail: int | None, container: str = USER_CONTAINER) -> str:
        """The logs of `container` ("all": every container of each pod, as `kubectl logs --all-containers`)."""
        pods = self.pods(revision, namespace)
        live = [p["metadata"]["name"] for p in pods]
        gone = gone_pod_logs(self.logs_root, namespace, revision, set(live), since=self._created(revision, namespace)) \
            if self.logs_root and container in (USER_CONTAINER, ALL) else []
        streams = _streams(pods, container)
        prefixed = len(streams) + len(gone) > 1
        lines: list[str] = []
        for pod, text in gone:
            lines += prefix_lines(pod, _tail(text, tail), prefixed)
        for label, pod, name in streams:
            lines += prefix_lines(label, self._pod_log(pod, namespace, name, tail), prefixed)
        return "\n".join(lines) + ("\n" if lines else "")

    def _pod_log(self, pod: str, namespace: str, container: str, tail: int | None) -> str:
        query = [("container", container)] + ([("tailLines", str(tail))] if tail is not None else [])
        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
        try:
            return self.conn.request_raw("GET", path, query=query, accept="*/*").decode("utf-8", "replace")
        except KnativeError as e:
            if e.reason in ("BadRequest", "NotFound"):  # not started yet, or gone meanwhile
                return ""
            raise

    def follow(self, revision: str, namespace: str, tail: int | None,
               container: str = USER_CONTAINER) -> Iterator[str]:
        """Lines as they come: the gone pods' logs first, then every live pod's stream, until they all end."""
        pods = self.pods(revision, namespace)
        live = [p["metadata"]["name"] for p in pods]
        gone = gone_pod_logs(self.logs_root, namespace, revision, set(live), since=self._created(revision, namespace)) \
            if self.logs_root and container in (USER_CONTAINER, ALL) else []
        streams = _streams(pods, container)
        prefixed = len(streams) + len(gone) > 1
        for pod, text in gone:
            yield from prefix_lines(pod, _tail(text, tail), prefixed)
        lines: queue.Queue[str | None] = queue.Queue()
        for label, pod, name in streams:
            threading.Thread(target=self._pump, args=(label, pod, namespace, name, tail, prefixed, lines),
                             daemon=True, name=f"knative-logs-{pod}-{name}").start()
        remaining = len(streams)
        while remaining:
            line = lines.get()
            if line is None:
                remaining -= 1
            else:
                yield line

    def _pump(self, label: str, pod: str, namespace: str, container: str, tail: int | None, prefixed: bool,
              out: queue.Queue[str | None]) -> None:
        query = [("container", container), ("follow", "true")]
        if tail is not None:
            query.append(("tailLines", str(tail)))
        try:
            for raw in self.conn.stream_lines(f"/api/v1/namespaces/{namespace}/pods/{pod}/log", query=query):
                line = raw.decode("utf-8", "replace")
                out.put(f"[{label}] {line}" if prefixed else line)
        except KnativeError:
            pass  # the pod went away: its stream simply ends
        finally:
            out.put(None)


def _streams(pods: list[dict[str, Any]], container: str) -> list[tuple[str, str, str]]:
    """(label, pod, container) for each log to read: `container` of every pod, or with "all" each container of
    each pod (labelled `pod/container`)."""
    if container != ALL:
        return [(p["metadata"]["name"], p["metadata"]["name"], container) for p in pods]
    return [(f'{p["metadata"]["name"]}/{c.get("name", "")}', p["metadata"]["name"], c.get("name", ""))
            for p in pods for c in (p.get("spec") or {}).get("containers") or []]
