"""What each `%knative` subcommand does: parsed flags in, one client call (or a few), a value out.

Every handler takes the `Context` of the call and the parsed arguments, and returns what the magic
returns: a value that displays itself (see `display`). Failures are left as they are raised
(`KnativeError`, `ValueError`, `OSError`); the magic turns them into `UsageError`s.
"""

from __future__ import annotations

import argparse
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from . import display as out
from .manifests import fill_placeholders
from .session import Session
from .source import last_function

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_knative.client import Applied, Client, LoadProgress

__all__ = ["HANDLERS", "Context", "attach_deployment", "define_locally", "deploy_with_progress"]


@dataclass
class Context:
    session: Session
    shell: InteractiveShell | None
    cell: str | None = None

    @property
    def client(self) -> Client:
        return self.session.client

    @property
    def user_ns(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}


Handler = Callable[[Context, argparse.Namespace], Any]


# --- serving -----------------------------------------------------------------------------------------


def service(ctx: Context, a: argparse.Namespace) -> Any:
    source = ctx.cell or ""
    if not source.strip():
        raise UsageError(f"%%knative service {a.name}: the cell is empty; define the function below the first line")
    handler = a.handler or last_function(source)
    flags = {"env": a.env or None, "scale_min": a.scale_min, "scale_max": a.scale_max, "scale_init": a.scale_init,
             "scale_target": a.scale_target, "scale_metric": a.scale_metric, "scale_window": a.scale_window,
             "concurrency_limit": a.concurrency_limit, "timeout": a.timeout, "revision_name": a.revision_name,
             "annotations": a.annotation or None, "labels": a.label or None,
             "requirements": a.requirements or None, "cluster_local": a.cluster_local, "ship": a.ship,
             "registry": a.registry, "runtime_image": a.runtime_image, "base_image": a.base_image}
    deployment = deploy_with_progress(ctx.client, a.name, source, handler=handler, wait=a.wait,
                                      namespace=a.namespace, **flags)
    local = define_locally(ctx.shell, source, handler)
    if local is not None:
        attach_deployment(local, deployment, ctx.client, a.namespace)
    return deployment


def deploy_with_progress(client: Client, name: str, source: str, **kwargs: Any) -> Any:
    progress = out.Progress(f"service {name}")
    deployment = out.run_with_progress(
        lambda report: client.deploy_function(name, source, progress=report, **kwargs), progress)
    revision = getattr(deployment, "revision", None)
    progress.finish(f"revision {revision} ready" if kwargs.get("wait", True) else "written")
    return deployment


def define_locally(shell: InteractiveShell | None, source: str, handler: str | None) -> Any:
    """Run the cell in the user's namespace too, so the function can be called (and tested) here.

    The cell is compiled under a name IPython caches in linecache, so `inspect.getsource` and
    tracebacks see it. A cell that fails here (a package only the replica has) is reported, not raised:
    the deployment already succeeded.
    """
    if shell is None:
        return None
    filename = shell.compile.cache(source, shell.execution_count)
    try:
        exec(compile(source, filename, "exec"), shell.user_ns)
    except Exception as e:
        what = f"{handler}() is" if handler else "its names are"
        print(f"note: the cell failed in this kernel ({type(e).__name__}: {e}); "
              f"the deployed service is not affected, but {what} not defined here")
        return None
    return shell.user_ns.get(handler) if handler else None


def attach_deployment(fn: Any, deployment: Any, client: Client, namespace: str | None) -> None:
    """`fn.deployment` and `fn.invoke(...)` beside the local function."""
    if not callable(fn):
        return
    name = deployment.name

    def invoke(**kwargs: Any) -> Any:
        kwargs.setdefault("namespace", namespace)
        return client.invoke(name, **kwargs)

    invoke.__doc__ = f"Call the deployed service {name!r}: the keyword arguments of Client.invoke."
    try:
        fn.deployment = deployment
        fn.invoke = invoke
    except (AttributeError, TypeError):  # a builtin or a callable object with __slots__
        pass


def _body(data: str | None, file: str | None) -> dict[str, Any]:
    """`--data` is sent as JSON when it parses as JSON, else as text; `--file` as bytes."""
    if file is not None:
        return {"data": Path(file).expanduser().read_bytes()}
    if data is None:
        return {}
    try:
        return {"json": json.loads(data)}
    except ValueError:
        return {"data": data}


def invoke(ctx: Context, a: argparse.Namespace) -> Any:
    body = _body(a.data, a.file)
    method = a.method or ("POST" if body else "GET")
    client = ctx.client
    progress = out.Progress(f"invoke {a.name}")
    response = out.run_with_progress(
        lambda report: client.invoke(a.name, path=a.path, method=method, headers=a.header or None,
                                     cloudevent=a.cloudevent, tag=a.tag, namespace=a.namespace,
                                     timeout=a.timeout, **body),
        progress)
    progress.finish(f"HTTP {response.status_code}")
    return response


def send(ctx: Context, a: argparse.Namespace) -> Any:
    data = _body(a.data, None)
    return ctx.client.send(a.broker, type=a.type, source=a.source, data=data.get("json", data.get("data")),
                           id=a.id, extensions=a.extension or None, namespace=a.namespace)


def logs(ctx: Context, a: argparse.Namespace) -> Any:
    if getattr(a, "widget", False):
        return log_widget(ctx, a)
    chosen = {"container": a.container} if hasattr(a, "container") else {}
    found = ctx.client.logs(a.name, revision=a.revision, follow=a.follow, tail=a.tail, namespace=a.namespace,
                            **chosen)
    if isinstance(found, str):
        return out.Text(found)
    return out.Text("".join(_follow(found, a.timeout)))


def log_widget(ctx: Context, a: argparse.Namespace) -> Any:
    """`%knative logs NAME --widget`: the service's logs followed in a `LogView`."""
    from jupyter_knative.widgets.logview import LogView

    return LogView.for_service(a.name, client=ctx.client, namespace=a.namespace, revision=a.revision, tail=a.tail)


def _follow(lines: Iterator[str], timeout: float | None) -> list[str]:
    """Print lines as they come until the stream ends, `timeout` passes or the user interrupts."""
    pending: queue.SimpleQueue[str | None] = queue.SimpleQueue()

    def pump() -> None:
        try:
            for line in lines:
                pending.put(line)
        finally:
            pending.put(None)

    threading.Thread(target=pump, name="knative-logs", daemon=True).start()
    seen: list[str] = []
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while deadline is None or time.monotonic() < deadline:
            try:
                line = pending.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            text = line if line.endswith("\n") else line + "\n"
            print(text, end="", flush=True)
            seen.append(text)
    except KeyboardInterrupt:
        pass
    return seen


def traffic(ctx: Context, a: argparse.Namespace) -> Any:
    if getattr(a, "widget", False):
        return traffic_widget(ctx, a)
    client = ctx.client
    if not (a.assignments or a.tags or a.untag):
        return out.ServiceView(client.get("ksvc", a.name, namespace=a.namespace))
    return _update(f"traffic {a.name}", lambda: client.traffic(a.name, a.assignments, tags=a.tags, untag=a.untag,
                                                                namespace=a.namespace))


def traffic_widget(ctx: Context, a: argparse.Namespace) -> Any:
    """`%knative traffic NAME --widget`: the `TrafficSplit` editor."""
    if a.assignments or a.tags or a.untag:
        raise UsageError(f"%knative traffic {a.name} --widget: the widget edits the split itself; leave out "
                         "REF=PERCENT, --tag and --untag (or --widget)")
    from jupyter_knative.widgets.traffic import TrafficSplit

    return TrafficSplit(a.name, client=ctx.client, namespace=a.namespace)


def tag(ctx: Context, a: argparse.Namespace) -> out.ServiceView:
    client = ctx.client
    return _update(f"tag {a.name}", lambda: client.traffic(a.name, (), tags=a.tags, untag=a.untag,
                                                            namespace=a.namespace))


def scale(ctx: Context, a: argparse.Namespace) -> out.ServiceView:
    client = ctx.client
    return _update(f"scale {a.name}", lambda: client.scale(a.name, min=a.min, max=a.max, namespace=a.namespace))


def _update(title: str, change: Callable[[], dict[str, Any]]) -> out.ServiceView:
    """A change the client applies and then waits on until the service is Ready again, as kn does."""
    progress = out.Progress(title)
    progress.update("waiting for the service to be Ready")
    svc = out.run_with_progress(lambda report: change(), progress)
    progress.finish("Ready")
    return out.ServiceView(svc)


def _wait(client: Client, kind: str, name: str, condition: str, timeout: float, namespace: str | None) -> Any:
    progress = out.Progress(f"{kind}/{name}")
    obj = out.run_with_progress(
        lambda report: client.wait(kind, name, condition=condition, timeout=timeout, namespace=namespace,
                                   progress=report),
        progress, render=out.conditions_summary)
    progress.finish(f"{condition}")
    return obj


def wait(ctx: Context, a: argparse.Namespace) -> Any:
    obj = _wait(ctx.client, a.kind, a.name, a.condition, a.timeout, a.namespace)
    if obj.get("kind") == "Service" and str(obj.get("apiVersion", "")).startswith("serving.knative.dev/"):
        return out.ServiceView(obj)
    return out.Resource(obj, ctx.client.table(a.kind, a.name, namespace=a.namespace))


def load(ctx: Context, a: argparse.Namespace) -> Any:
    client = ctx.client
    stop = threading.Event()
    body = _body(a.data, None)
    method = a.method or ("POST" if body else "GET")
    progress = out.Progress(f"load {a.name}")

    def interrupt() -> bool:
        stop.set()  # the generator winds down and still returns what it measured
        return True

    summary = out.run_with_progress(
        lambda report: client.load(a.name, concurrency=a.concurrency, duration=a.duration, rps=a.rps, path=a.path,
                                   method=method, data=body.get("json", body.get("data")), namespace=a.namespace,
                                   on_progress=report, stop=stop),
        progress, render=lambda p: _load_status(p, a.name), on_interrupt=interrupt)
    progress.finish(f"{getattr(summary, 'requests', '?')} requests")
    return summary


def _load_status(p: LoadProgress, name: str) -> out.Status:
    latency = f" · p50 {p.p50 * 1000:.1f} ms" if p.p50 is not None else ""
    text = (f"load {name}: {p.elapsed:.1f}/{p.duration:.1f} s · {p.requests} requests · {p.rps:.0f} rps · "
            f"{p.in_flight} in flight · {p.errors} errors{latency}")
    return out.Status(text, p.elapsed / p.duration if p.duration else None)


# --- resources ---------------------------------------------------------------------------------------


def apply(ctx: Context, a: argparse.Namespace) -> Applied:
    """The client's `Applied`: the stored objects, and kubectl's `kind/name created|configured|unchanged`."""
    text = Path(a.filename).expanduser().read_text() if a.filename else (ctx.cell or "")
    if a.vars:
        text = fill_placeholders(text, ctx.user_ns)
    return ctx.client.apply(text, namespace=a.namespace)


def get(ctx: Context, a: argparse.Namespace) -> out.Resource | out.Resources:
    client = ctx.client
    if a.name is not None:
        if a.selector or a.all_namespaces:
            raise UsageError("%knative get KIND NAME: --selector and --all-namespaces list a kind; leave NAME out")
        return out.Resource(client.get(a.kind, a.name, namespace=a.namespace),
                            client.table(a.kind, a.name, namespace=a.namespace))
    items = client.list(a.kind, namespace=a.namespace, label_selector=a.selector, all_namespaces=a.all_namespaces)
    # the server's Table lists the whole namespace: with a selector or across namespaces, the plain columns
    table = None if a.selector or a.all_namespaces else client.table(a.kind, namespace=a.namespace)
    return out.Resources(items, table)


def describe(ctx: Context, a: argparse.Namespace) -> out.Text:
    return out.Text(ctx.client.describe(a.kind, a.name, namespace=a.namespace))


def delete(ctx: Context, a: argparse.Namespace) -> out.Text:
    client = ctx.client
    obj = client.get(a.kind, a.name, namespace=a.namespace)
    progress = out.Progress(f"delete {a.kind}/{a.name}")
    out.run_with_progress(
        lambda report: client.delete(a.kind, a.name, namespace=a.namespace, wait=a.wait, timeout=a.timeout),
        progress)
    progress.finish("deleted")
    kind, namespace = obj.get("kind", a.kind), obj.get("metadata", {}).get("namespace")
    where = f" in namespace '{namespace}'" if namespace else ""
    return out.Text(f"{kind} '{a.name}' successfully deleted{where}.")


def events(ctx: Context, a: argparse.Namespace) -> Any:
    if getattr(a, "flow", False):
        if a.name:
            raise UsageError(f"%knative events --flow shows the whole namespace: drop {a.name!r}, or leave out "
                             "--flow for that object's Kubernetes events")
        return flow(ctx, a)
    return out.EventList(ctx.client.events(a.name, namespace=a.namespace))


def flow(ctx: Context, a: argparse.Namespace) -> Any:
    from jupyter_knative.widgets.eventflow import EventFlow

    return EventFlow(client=ctx.client, namespace=a.namespace)


def export(ctx: Context, a: argparse.Namespace) -> out.Text:
    text = ctx.client.export(namespace=a.namespace)
    if a.output:
        Path(a.output).expanduser().write_text(text)
    return out.Text(text)


def dashboard(ctx: Context, a: argparse.Namespace) -> Any:
    """The live dashboard of a service that exists (an unknown name fails with the server's message and the
    services there are); it runs until closed (`.close()` on the value) or the kernel stops."""
    from jupyter_knative.widgets.dashboard import Dashboard

    client = ctx.client
    namespace = a.namespace or client.namespace
    client.get("ksvc", a.name, namespace=namespace)
    return Dashboard(a.name, client=client, namespace=namespace)


# --- the backend -------------------------------------------------------------------------------------


_CLUSTER_FLAGS = ("context", "kubeconfig", "ingress", "prometheus", "ship", "registry", "runtime_image", "base_image")


def backend(ctx: Context, a: argparse.Namespace) -> out.Record:
    from jupyter_knative.client import ShipOptions

    session = ctx.session
    given = [f"--{f.replace('_', '-')}" for f in _CLUSTER_FLAGS if getattr(a, f) is not None]
    if a.backend == "embedded":
        if given:
            raise UsageError(f"%knative backend embedded: {' and '.join(given)} "
                             f"{'is' if len(given) == 1 else 'are'} for the kubernetes backend")
        session.use_embedded(a.namespace)
    elif a.backend == "kubernetes":
        shipping = ShipOptions(ship=a.ship, registry=a.registry, runtime_image=a.runtime_image,
                               base_image=a.base_image)
        session.use_kubernetes(kubeconfig=a.kubeconfig, context=a.context, namespace=a.namespace,
                               ingress=a.ingress, prometheus=a.prometheus,
                               shipping=shipping if shipping != ShipOptions() else None)
    elif given or a.namespace:
        raise UsageError("%knative backend: name the backend to switch to: embedded or kubernetes")
    client = session.client
    record: dict[str, Any] = {"backend": client.backend, "namespace": client.namespace}
    shipping_now = getattr(client, "shipping", None)
    if client.backend == "kubernetes" and shipping_now is not None:
        record.update({k: v for k, v in vars(shipping_now).items() if v is not None})
    return out.Record(record, title="Knative backend")


def up(ctx: Context, a: argparse.Namespace) -> out.Record:
    client = ctx.client
    progress = out.Progress("up")
    status = out.run_with_progress(lambda report: client.up(), progress)
    progress.finish("running")
    return out.Record(status, title="Knative plane")


def down(ctx: Context, a: argparse.Namespace) -> out.Text:
    client = ctx.client
    progress = out.Progress("down")
    out.run_with_progress(lambda report: client.down(), progress)
    progress.finish("stopped")
    return out.Text("The embedded Knative plane is stopped (`%knative up` starts it again).")


def status(ctx: Context, a: argparse.Namespace) -> out.Record:
    return out.Record(ctx.client.status(), title=f"Knative ({ctx.client.backend})")


HANDLERS: Mapping[str, Handler] = {
    "service": service, "apply": apply, "get": get, "describe": describe, "delete": delete, "logs": logs,
    "invoke": invoke, "send": send, "load": load, "traffic": traffic, "tag": tag, "scale": scale, "wait": wait,
    "events": events, "flow": flow, "export": export, "dashboard": dashboard, "backend": backend, "up": up,
    "down": down, "status": status,
}
