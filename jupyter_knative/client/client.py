"""`Client`: the one object the notebook layer, widgets and server extension use. It only composes the
modules beside it (connection, kinds, objects, serving, http, load, logs); see each for the rules."""

from __future__ import annotations

import builtins
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from jupyter_knative.home import PlaneHome, daemon_running

from .builds import Builds
from .capabilities import capabilities, missing_message
from .connection import Connection
from .errors import PLANE_DOWN_HINT, KnativeError
from .functions import ShipOptions, Shipper, choose_ship
from .http import (
    Endpoint,
    Response,
    binary_event_headers,
    encode_body,
    proxy_request,
    send_request,
    service_proxy_path,
)
from .kinds import Discovery
from .load import LoadProgress, LoadSummary, run_load
from .logs import Logs
from .manifests import Document, parse_manifest, plane_only
from .objects import Applied, Objects, Table
from .serving import KSVC, Deployment, FunctionSpec, Serving

__all__ = ["Client"]

UP_TIMEOUT = 60.0
DEPLOY_WAIT = 300.0


class Client:
    """Knative through the Kubernetes API: the embedded plane (`Client.embedded()`) or any kubeconfig."""

    def __init__(self, *, kubeconfig: str | Path | None = None, context: str | None = None,
                 namespace: str | None = None, ingress: str | None = None,
                 shipping: ShipOptions | None = None, prometheus: str | None = None) -> None:
        """`ingress`: where requests for service URLs go (with the service's Host header), e.g. a port-forwarded
        Kourier `http://127.0.0.1:8080`; `shipping`: how function cells reach this cluster (`ShipOptions`:
        ship mode, registry, runtime image, ...), defaults for every `deploy_function`; `prometheus`: a
        Prometheus URL the widgets read metrics from (default: queue-proxy and broker pods, scraped through the
        API server's pod proxy)."""
        conn = Connection.for_kubeconfig(kubeconfig, context)
        conn.ingress_url = ingress
        self._setup(conn, namespace)
        self.shipping = shipping or ShipOptions()
        self.prometheus = prometheus  # request and event metrics from there (else pods are scraped via the API)

    @classmethod
    def embedded(cls, *, namespace: str = "default", home: PlaneHome | None = None, start: bool = True) -> Client:
        """The local plane under `home` (default: $JUPYTER_KNATIVE_HOME); started first when `start` and down."""
        home = home or PlaneHome.default()
        if start and (not daemon_running(home) or home.read_state() is None):
            _start(home)
        client = cls.__new__(cls)
        client._setup(Connection.for_plane(home), namespace)
        return client

    def _setup(self, conn: Connection, namespace: str | None) -> None:
        self._conn = conn
        if namespace:
            conn.default_namespace = namespace
        self._discovery = Discovery(lambda path: conn.request("GET", path))
        self._objects = Objects(conn, self._discovery)
        self._serving = Serving(self._objects)
        self._builds = Builds(self._objects)
        self._shipper = Shipper(self._objects, self._builds, self.require)
        self.shipping = ShipOptions()
        self.prometheus = None
        self._logs = Logs(self._objects, conn.home.container_logs if conn.home else None)

    # -- identity ------------------------------------------------------------------------------------------

    @property
    def backend(self) -> str:
        return self._conn.backend

    @property
    def namespace(self) -> str:
        return self._conn.default_namespace

    @namespace.setter
    def namespace(self, value: str) -> None:
        self._conn.default_namespace = value

    @property
    def api(self) -> Any:
        """The official client's `kubernetes.client.ApiClient` for this connection."""
        return self._conn.api

    @property
    def home(self) -> PlaneHome | None:
        """The plane's home, when the server is a jupyter-knative plane."""
        return self._conn.home

    def __repr__(self) -> str:
        return f"<Client {self.backend} {self._conn.server} namespace={self.namespace!r}>"

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _ns(self, namespace: str | None) -> str:
        return namespace or self.namespace

    # -- resources -----------------------------------------------------------------------------------------

    def apply(self, manifest: str | dict[str, Any] | builtins.list[dict[str, Any]], *,
              namespace: str | None = None) -> Applied:
        """Create or update each document (kubectl apply's rules). On a cluster, documents that name images
        only the embedded plane has (its builds, `dev.local/...`) are refused before anything is written."""
        if self._conn.home is None:
            _refuse_plane_images(parse_manifest(manifest))
        return self._objects.apply(manifest, self._ns(namespace))

    def get(self, kind: str, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        return self._objects.get(kind, name, self._ns(namespace))

    def list(self, kind: str, *, namespace: str | None = None, label_selector: str | None = None,
             all_namespaces: bool = False) -> builtins.list[dict[str, Any]]:
        return self._objects.list_objects(kind, self._ns(namespace), label_selector, all_namespaces)

    def table(self, kind: str, name: str | None = None, *, namespace: str | None = None) -> Table:
        return self._objects.table(kind, name, self._ns(namespace))

    def describe(self, kind: str, name: str, *, namespace: str | None = None) -> str:
        return self._objects.describe(kind, name, self._ns(namespace))

    def delete(self, kind: str, name: str, *, namespace: str | None = None, wait: bool = True,
               timeout: float = 60) -> None:
        self._objects.delete(kind, name, self._ns(namespace), wait, timeout)

    def watch(self, kind: str, *, namespace: str | None = None, name: str | None = None,
              timeout: float | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        return self._objects.watch(kind, self._ns(namespace), name, timeout)

    def wait(self, kind: str, name: str, *, condition: str = "Ready", timeout: float = 120,
             namespace: str | None = None, progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        return self._objects.wait(kind, name, condition, timeout, self._ns(namespace), progress)

    def events(self, name: str | None = None, *, namespace: str | None = None) -> builtins.list[dict[str, Any]]:
        return self._objects.events(name, self._ns(namespace))

    def export(self, *, namespace: str | None = None) -> str:
        return self._objects.export(self._ns(namespace))

    # -- serving -------------------------------------------------------------------------------------------

    def deploy_function(self, name: str, source: str, *, handler: str | None = None,
                        env: dict[str, str] | None = None, scale_min: int | None = None,
                        scale_max: int | None = None, scale_init: int | None = None,
                        scale_target: float | None = None, scale_metric: str | None = None,
                        scale_window: str | None = None, concurrency_limit: int | None = None,
                        timeout: int | None = None, revision_name: str | None = None,
                        annotations: dict[str, str] | None = None, labels: dict[str, str] | None = None,
                        requirements: builtins.list[str] | None = None, cluster_local: bool = False, wait: bool = True,
                        namespace: str | None = None, progress: Callable[[str], None] | None = None,
                        ship: str | None = None, registry: str | None = None, runtime_image: str | None = None,
                        base_image: str | None = None) -> Deployment:
        """Ship `source` and create or update the Service `name` with kn's flag semantics; an unchanged source and
        flags make no new revision (`Deployment.created` is False). Build and push lines (pip's included) go to
        `progress` as they come.

        `ship` (default: `self.shipping`, else by backend): "plane" (the embedded plane's builder), "configmap"
        (an immutable ConfigMap mounted into `runtime_image`; a cluster's default), "oci" (an image pushed to
        `registry`, built on `base_image`; the default when a registry is named) or "tekton" (an in-cluster
        kaniko build pushing to `registry`); see `client.functions`."""
        ns = self._ns(namespace)
        options = self.shipping.over(ShipOptions(ship=ship, registry=registry, runtime_image=runtime_image,
                                                 base_image=base_image))
        mode = choose_ship(options.ship, plane=self._conn.home is not None, registry=options.registry)
        if mode != "plane":
            self.require("serving")  # before anything is shipped: say what to install
        shipped = self._shipper.ship(mode, name, source, namespace=ns, handler=handler,
                                     requirements=requirements or (), options=options, progress=progress)
        spec = FunctionSpec(image=shipped.image, env=env, scale_min=scale_min, scale_max=scale_max,
                            scale_init=scale_init, scale_target=scale_target, scale_metric=scale_metric,
                            scale_window=scale_window, concurrency_limit=concurrency_limit, timeout=timeout,
                            annotations=annotations, labels=labels, cluster_local=cluster_local,
                            function_env=shipped.env, function_volume=shipped.volume, function_mount=shipped.mount)
        return self._serving.deploy(name, spec, namespace=ns, revision_name=revision_name, wait=wait,
                                    timeout=DEPLOY_WAIT, progress=progress)

    def traffic(self, name: str, assignments: Mapping[str, int] | Sequence[str] = (), *,
                tags: Mapping[str, str] | Sequence[str] | None = None, untag: Sequence[str] = (),
                namespace: str | None = None, timeout: float = 120) -> dict[str, Any]:
        """kn service update --traffic/--tag/--untag; returns the Service once its route is Ready."""
        return self._serving.traffic(name, assignments, tags, untag, namespace=self._ns(namespace),
                                     timeout=timeout)

    def scale(self, name: str, *, min: int | None = None, max: int | None = None,
              namespace: str | None = None, timeout: float = 120) -> dict[str, Any]:
        """kn service update --scale-min/--scale-max (a new revision with those bounds)."""
        return self._serving.scale(name, min=min, max=max, namespace=self._ns(namespace), timeout=timeout)

    # -- HTTP ----------------------------------------------------------------------------------------------

    def invoke(self, name: str, *, path: str = "/", method: str = "GET", data: Any = None, json: Any = None,
               headers: dict[str, str] | None = None, cloudevent: str | None = None, tag: str | None = None,
               namespace: str | None = None, timeout: float = 60) -> Response:
        """A request to the Service (or its `tag`); `cloudevent="TYPE"` sends `data` as a binary-mode
        CloudEvent (POST, unless another method is given)."""
        svc = self._objects.get(KSVC, name, self._ns(namespace))
        endpoint = Endpoint.for_url(_service_url(svc, tag), self._conn.ingress())
        body, content_type = encode_body(data, json)
        hdrs: dict[str, str] = {"Content-Type": content_type} if content_type else {}
        if cloudevent:
            hdrs.update(binary_event_headers(cloudevent))
            method = "POST" if method.upper() == "GET" else method
        hdrs.update(headers or {})
        return send_request(endpoint, method, path, body=body, headers=hdrs, timeout=timeout)

    def send(self, to: str, *, type: str, source: str, data: Any = None, id: str | None = None,
             extensions: dict[str, str] | None = None, namespace: str | None = None) -> Response:
        """A binary-mode CloudEvent to `to`: a broker's name, `KIND/NAME` of any addressable (`channel/orders`,
        `imc/orders`, `ksvc/display`, `sequence/steps`, ...: its `status.address.url`; a Knative Service's URL), or
        a URL. The answer (202, 400, 404, a reply event, ...) is the Response.

        On a cluster (not the plane) a cluster-internal address (`http://broker-ingress.knative-eventing.svc.
        cluster.local/<ns>/<broker>`) is reached through the API server's service proxy, whatever `ingress` is
        (a gateway routes Knative Services, not broker-ingress); a Knative Service goes through the ingress."""
        url, service = self._event_target(to, self._ns(namespace))
        body, content_type = encode_body(data, None)
        hdrs = binary_event_headers(type, source=source, id=id, extensions=extensions)
        if content_type:
            hdrs["Content-Type"] = content_type
        internal = service_proxy_path(url) is not None
        plane_or_gateway = self._conn.home is not None or (service and self._conn.ingress() is not None)
        if internal and not plane_or_gateway:
            return proxy_request(self._conn, url, "POST", body=body, headers=hdrs)
        # a cluster's own names go through its ingress; any other URL is reached as it is
        endpoint = Endpoint.for_url(url, self._conn.ingress() if internal or service else None)
        parts = urllib.parse.urlsplit(url)
        return send_request(endpoint, "POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                            body=body, headers=hdrs)

    def _event_target(self, to: str, namespace: str) -> tuple[str, bool]:
        """(the URL events for `to` go to, whether it is a Knative Service's)."""
        if "://" in to:
            return to, False
        kind, _, name = to.rpartition("/")
        info = self._objects.info(kind or "brokers")
        obj = self._objects.get(kind or "brokers", name, namespace)
        if info.group == "serving.knative.dev" and info.kind == "Service":
            return _service_url(obj, None), True
        url = ((obj.get("status") or {}).get("address") or {}).get("url")
        if not url:
            what = f"{info.kind.lower()} '{name}'"
            raise KnativeError(f"{what} has no address yet", reason="NotReady",
                               hint=f"wait('{kind or 'broker'}', '{name}') until it is Ready")
        return str(url), False

    def logs(self, name: str, *, revision: str | None = None, follow: bool = False, tail: int | None = None,
             container: str = "user-container", namespace: str | None = None) -> str | Iterator[str]:
        """The logs of the service's latest ready revision (or `revision`): its `container` ("all": every
        container, queue-proxy included on a cluster), gone pods included on the embedded plane; `follow` gives
        an iterator of lines."""
        ns = self._ns(namespace)
        rev = revision or self._logs.revision_of(name, ns)
        if follow:
            return self._logs.follow(rev, ns, tail, container)
        return self._logs.text(rev, ns, tail, container)

    def load(self, name: str, *, concurrency: int = 10, duration: float = 10.0, rps: float | None = None,
             path: str = "/", method: str = "GET", data: Any = None, namespace: str | None = None,
             on_progress: Callable[[LoadProgress], None] | None = None,
             stop: threading.Event | None = None) -> LoadSummary:
        """`concurrency` clients for `duration` seconds against the service (in a thread of its own)."""
        svc = self._objects.get(KSVC, name, self._ns(namespace))
        endpoint = Endpoint.for_url(_service_url(svc, None), self._conn.ingress())
        body, content_type = encode_body(data, None)
        try:
            return run_load(endpoint, concurrency=concurrency, duration=duration, rps=rps, path=path,
                            method=method, body=body, headers={"Content-Type": content_type} if content_type else {},
                            on_progress=on_progress, stop=stop)
        except ValueError as e:
            raise KnativeError(str(e), reason="Invalid") from None

    # -- the plane -----------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Embedded: the plane's status; a cluster: its version and the Knative API groups it serves."""
        if self.backend == "embedded":
            from .daemonctl import DaemonControl

            assert self._conn.home is not None
            return {"backend": "embedded", **DaemonControl(self._conn.home).status().to_json()}
        info: dict[str, Any] = {"backend": "kubernetes", "server": self._conn.server, "context": self._conn.context,
                                "namespace": self.namespace}
        try:
            version = self._conn.request("GET", "/version") or {}
            groups = (self._conn.request("GET", "/apis") or {}).get("groups") or []
        except KnativeError as e:
            return {**info, "reachable": False, "error": str(e)}
        knative = sorted(g["name"] for g in groups if str(g.get("name", "")).endswith("knative.dev"))
        offered = {name: cap.present for name, cap in capabilities(groups).items()}
        return {**info, "reachable": True, "version": version.get("gitVersion"), "knative": knative,
                "capabilities": offered}

    def capabilities(self) -> dict[str, dict[str, Any]]:
        """Which of Knative Serving, Eventing, Tekton (and the seed-era Build) the server offers, by API group."""
        groups = (self._conn.request("GET", "/apis") or {}).get("groups") or []
        return {name: cap.to_json() for name, cap in capabilities(groups).items()}

    def require(self, feature: str) -> None:
        """Raise a `KnativeError` saying what to install when the server lacks `feature` (serving, eventing,
        tekton, build)."""
        groups = (self._conn.request("GET", "/apis") or {}).get("groups") or []
        cap = capabilities(groups)[feature]
        if not cap.present:
            raise KnativeError(missing_message(cap, self._conn.server), reason="NotInstalled",
                               hint=f"install it ({cap.feature.install}), or use the embedded plane: "
                                    "%knative backend embedded")

    def up(self) -> dict[str, Any]:
        home = self._embedded_home("up")
        _start(home)
        return self.status()

    def down(self) -> None:
        from .daemonctl import DaemonControl, DaemonError

        home = self._embedded_home("down")
        try:
            DaemonControl(home).down()
        except DaemonError as e:
            raise KnativeError(e.message, reason="PlaneDown", hint=f"see {e.log_file}") from None

    def _embedded_home(self, what: str) -> PlaneHome:
        if self.backend != "embedded" or self._conn.home is None:
            raise KnativeError(f"{what}() starts and stops the embedded plane; this client talks to "
                               f"{self._conn.server}", reason="NotSupported",
                               hint="use Client.embedded() for the local plane")
        return self._conn.home


def _start(home: PlaneHome) -> None:
    from .daemonctl import DaemonControl, DaemonError

    try:
        DaemonControl(home).up(timeout=UP_TIMEOUT)
    except DaemonError as e:
        tail = "\n".join(e.log_tail[-5:])
        raise KnativeError(f"the plane did not start: {e.message}" + (f"\n{tail}" if tail else ""),
                           reason="PlaneDown", hint=f"see {e.log_file}; {PLANE_DOWN_HINT}") from None


def _refuse_plane_images(docs: Sequence[Document]) -> None:
    for doc in docs:
        images = plane_only(doc.obj)
        if images:
            raise KnativeError(
                f"document {doc.index} ({doc.label}) uses {images[0]}, an image the embedded plane built: it exists "
                "only on that plane, a cluster cannot pull it", reason="Invalid",
                hint="deploy the function again on this backend (%%knative service / deploy_function ship it as a "
                     "ConfigMap, or as an image with --registry), or leave the document out")


def _service_url(svc: dict[str, Any], tag: str | None) -> str:
    status = svc.get("status") or {}
    name = svc["metadata"]["name"]
    if tag:
        targets = status.get("traffic") or []
        url = next((t.get("url") for t in targets if t.get("tag") == tag), None)
        if not url:
            tags = sorted(t["tag"] for t in targets if t.get("tag"))
            raise KnativeError(f"service '{name}' has no tag '{tag}'", reason="NotFound",
                               hint=f"its tags: {', '.join(tags)}" if tags else "it has no tags; traffic(tags=...) "
                                                                               "adds one")
        return str(url)
    url = status.get("url")
    if not url:
        raise KnativeError(f"service '{name}' has no URL yet", reason="NotReady",
                           hint=f"wait('ksvc', '{name}') until it is Ready")
    return str(url)
