"""Where a connection's request and event metrics come from, as Prometheus text:

- the plane: its API server's `GET /metrics` (the embedded plane, or a kubeconfig the client recognises as
  a plane's), which serves the Knative-named metrics of the whole data plane;
- Prometheus, when a URL is configured (`Client(prometheus=...)`): `GET {url}/federate` with one `match[]`
  per family the widgets read (`FEDERATE_MATCH`);
- otherwise the pods, through the API server's pod proxy as `kubectl get --raw` reaches them: every running
  revision pod's queue-proxy (`pods/<pod>:9091/proxy/metrics`) in the namespaces asked about, and Knative
  Eventing's multi-tenant broker pods in `knative-eventing` (ingress and filter, `:9092/proxy/metrics`).
  Pods are scraped in parallel, at most `max_pods` of them and within `timeout` seconds per poll; a pod
  that fails or is slow is left out of that poll (named in `Scrape.failed`), not an error of the poll.

`MetricsSource.scrape` raises `KnativeError` only when the source itself fails (the plane or Prometheus does not
answer, the pods cannot be listed); the error's `code` tells an answer (403, 404) from no answer.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import urllib3

from .errors import KnativeError

if TYPE_CHECKING:
    from .client import Client

__all__ = ["BROKER_METRICS_PORT", "FAMILY_PREFIXES", "FEDERATE_MATCH", "QUEUE_PROXY_METRICS_PORT", "MetricsSource",
           "Scrape", "SourceKind"]

SourceKind = Literal["plane", "prometheus", "pods"]
FAMILY_PREFIXES = ("revision_", "autoscaler_", "activator_", "event_", "http_server_request_duration_seconds",
                   "kn_", "jupyter_knative_")
"""The metric families the widgets read (Knative's names, old and new, and the plane's own)."""
FEDERATE_MATCH = tuple(f'{{__name__=~"{prefix}.*"}}' for prefix in FAMILY_PREFIXES)
QUEUE_PROXY_METRICS_PORT = 9091
"""queue-proxy's `http-usermetric` port."""
BROKER_METRICS_PORT = 9092
"""The metrics port of Knative Eventing's mt-broker-ingress and mt-broker-filter."""
REVISION_LABEL = "serving.knative.dev/revision"
EVENTING_NAMESPACE = "knative-eventing"
BROKER_SELECTOR = "eventing.knative.dev/brokerRole in (ingress,filter)"
TIMEOUT = 2.0
MAX_PODS = 50
WORKERS = 8
POD_INTERVAL = 2.0
"""Seconds between two scrapes of the pods or Prometheus (the plane's own endpoint is cheap: every poll)."""
BROKER_RETRY = 60.0
"""Seconds before listing the broker pods again after the server refused (no Eventing, or no access)."""
ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"


@dataclass(frozen=True)
class Scrape:
    source: SourceKind
    texts: tuple[str, ...]
    """Prometheus text, one per endpoint that answered (samples of the same family may repeat across them)."""
    scraped: tuple[str, ...] = ()
    """`namespace/pod` of the pods that answered (pods source)."""
    failed: tuple[str, ...] = ()
    """`namespace/pod: why` of the pods that did not (pods source)."""


class MetricsSource:
    """The metrics of one client's connection; which source is decided per scrape (`kind`), so a Prometheus URL
    set on the client later is followed."""

    def __init__(self, client: Client, *, prometheus: str | None = None, timeout: float = TIMEOUT,
                 max_pods: int = MAX_PODS, workers: int = WORKERS, thread_name: str = "knative-metrics") -> None:
        self.client = client
        self._prometheus = prometheus
        self.timeout = timeout
        self.max_pods = max_pods
        self.workers = workers
        self.thread_name = thread_name
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._http: urllib3.PoolManager | None = None
        self._brokers_next = 0.0
        self._lock = threading.Lock()

    # -- which source --------------------------------------------------------------------------------------

    @property
    def prometheus(self) -> str | None:
        return self._prometheus or getattr(self.client, "prometheus", None) or None

    @property
    def kind(self) -> SourceKind:
        if self.client._conn.is_plane:
            return "plane"
        return "prometheus" if self.prometheus else "pods"

    @property
    def interval(self) -> float:
        """Seconds the caller should leave between two scrapes of this source."""
        return 0.0 if self.kind == "plane" else POD_INTERVAL

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            http, self._http = self._http, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if http is not None:
            http.clear()

    # -- scraping ------------------------------------------------------------------------------------------

    def scrape(self, namespaces: Iterable[str] = ()) -> Scrape:
        """The metrics now: all of the plane's or Prometheus' selected families, or the pods of `namespaces`
        (the client's namespace when none is given) and the broker pods."""
        kind = self.kind
        if kind == "plane":
            text = self.client._conn.request_raw("GET", "/metrics", accept=ACCEPT, timeout=self.timeout)
            return Scrape("plane", (text.decode("utf-8", "replace"),))
        if kind == "prometheus":
            return Scrape("prometheus", (self._federate(),))
        return self._scrape_pods(list(dict.fromkeys(namespaces)) or [self.client.namespace])

    def _federate(self) -> str:
        base = str(self.prometheus).rstrip("/")
        url = f"{base}/federate?" + urllib.parse.urlencode([("match[]", m) for m in FEDERATE_MATCH])
        with self._lock:
            if self._http is None:
                self._http = urllib3.PoolManager(num_pools=2, maxsize=2)
            http = self._http
        try:
            resp = http.request("GET", url, headers={"Accept": ACCEPT}, timeout=self.timeout, retries=False,
                                preload_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise KnativeError(f"Prometheus at {base} does not answer: {e}", reason="Unreachable",
                               hint="check the Prometheus URL (a port-forward of the Prometheus service, "
                                    "say) or drop it to scrape the pods") from e
        if not 200 <= resp.status < 300:
            raise KnativeError(f"Prometheus at {base} answered {resp.status} to /federate: "
                               f"{resp.data[:200].decode('utf-8', 'replace').strip()}", reason="BadGateway",
                               hint="the URL must be the Prometheus server's (its /federate endpoint)")
        return str(resp.data.decode("utf-8", "replace"))

    def _scrape_pods(self, namespaces: list[str]) -> Scrape:
        deadline = time.monotonic() + self.timeout
        targets: list[tuple[str, str, int]] = []
        errors: list[KnativeError] = []
        for namespace in namespaces:
            try:
                targets += [(namespace, pod, QUEUE_PROXY_METRICS_PORT)
                            for pod in self._running_pods(namespace, REVISION_LABEL)]
            except KnativeError as e:
                errors.append(e)
        if errors and len(errors) == len(namespaces):
            raise errors[0]
        if time.monotonic() >= self._brokers_next:
            try:
                targets += [(EVENTING_NAMESPACE, pod, BROKER_METRICS_PORT)
                            for pod in self._running_pods(EVENTING_NAMESPACE, BROKER_SELECTOR)]
            except KnativeError:  # no Eventing here, or no right to look: ask again much later
                self._brokers_next = time.monotonic() + BROKER_RETRY
        targets = targets[:self.max_pods]
        if not targets:
            return Scrape("pods", ())
        pool = self._executor()
        futures = {pool.submit(self._scrape_pod, *target): target for target in targets}
        _, pending = concurrent.futures.wait(futures, timeout=max(0.0, deadline - time.monotonic()) + 0.5)
        texts: list[str] = []
        scraped: list[str] = []
        failed: list[str] = []
        for future in futures:
            namespace, pod, _ = futures[future]
            if future in pending:
                future.cancel()
                failed.append(f"{namespace}/{pod}: no answer within {self.timeout:g}s")
                continue
            try:
                texts.append(future.result())
                scraped.append(f"{namespace}/{pod}")
            except Exception as e:  # one pod's failure is not the poll's
                failed.append(f"{namespace}/{pod}: {e}")
        return Scrape("pods", tuple(texts), tuple(scraped), tuple(failed))

    def _running_pods(self, namespace: str, selector: str) -> list[str]:
        listing: dict[str, Any] = self.client._conn.request(
            "GET", f"/api/v1/namespaces/{namespace}/pods", query=[("labelSelector", selector)],
            timeout=self.timeout) or {}
        pods = [p for p in listing.get("items") or []
                if (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
        return sorted(str(p["metadata"]["name"]) for p in pods)

    def _scrape_pod(self, namespace: str, pod: str, port: int) -> str:
        text = self.client._conn.request_raw(
            "GET", f"/api/v1/namespaces/{namespace}/pods/{pod}:{port}/proxy/metrics", accept=ACCEPT,
            timeout=self.timeout)
        return text.decode("utf-8", "replace")

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix=self.thread_name)
            return self._pool
