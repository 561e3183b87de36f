"""The magics in an in-process IPython shell, over a recording double of the client: registration,
dispatch (each subcommand → which client call, with which arguments), errors and the decorator."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.lib.pretty import pretty
from IPython.testing import globalipapp

import jupyter_knative
from jupyter_knative.client import Client, KnativeError
from jupyter_knative.notebook import KnativeMagics
from jupyter_knative.notebook.session import MAGICS_NAME, Session, find_session


def service_obj(name: str = "hello", ns: str = "default", revision: str = "hello-00001") -> dict[str, Any]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"template": {"metadata": {}}},
            "status": {"url": f"http://{name}.{ns}.example.com", "latestReadyRevisionName": revision,
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "traffic": [{"revisionName": revision, "percent": 100, "latestRevision": True}]}}


@dataclass
class Deployment:
    name: str
    revision: str = "hello-00001"
    created: bool = True
    url: str = "http://hello.default.example.com"


@dataclass
class FakeClient:
    """Records calls; answers like the real client would for a service named hello."""

    backend: str = "embedded"
    namespace: str = "default"
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    fail: KnativeError | None = None

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((method, args, kwargs))
            if self.fail is not None:
                raise self.fail
            return self.answer(method, args, kwargs)

        return call

    def close(self) -> None:
        self.calls.append(("close", (), {}))

    def answer(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if method == "deploy_function":
            if kwargs.get("progress"):
                kwargs["progress"]("Ready")
            return Deployment(args[0])
        if method in ("get", "wait", "traffic", "scale"):
            return service_obj()
        if method == "list":
            return [service_obj()]
        if method in ("describe", "export"):
            return "text"
        if method == "logs":
            return "line\n" if not kwargs.get("follow") else iter(["a\n", "b\n"])
        if method == "events":
            return []
        if method == "apply":  # the real client parses the YAML text
            return [d for d in yaml.safe_load_all(args[0]) if d]
        if method in ("status", "up"):
            return {"running": True}
        if method == "invoke":
            return SimpleNamespace(status_code=200)
        return None

    def called(self, method: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(a, k) for m, a, k in self.calls if m == method]


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    globalipapp.start_ipython()  # once per process; later calls do nothing
    ip = globalipapp.get_ipython()
    yield ip
    if MAGICS_NAME in ip.magics_manager.registry:
        jupyter_knative.unload_ipython_extension(ip)
    ip.extension_manager.loaded.discard("jupyter_knative")


@pytest.fixture
def fake(shell: InteractiveShell) -> FakeClient:
    client = FakeClient()
    shell.register_magics(KnativeMagics(shell, session=Session(embedded=lambda ns: client,
                                                               cluster=lambda k, c, n: client)))
    return client


def line(shell: InteractiveShell, text: str) -> Any:
    return shell.run_line_magic("knative", text)


# --- registration ------------------------------------------------------------------------------------


def test_load_ext_registers_and_starts_the_embedded_plane_once(shell: InteractiveShell,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[dict[str, Any]] = []

    def embedded(**kwargs: Any) -> FakeClient:
        started.append(kwargs)
        return FakeClient()

    monkeypatch.setattr(Client, "embedded", embedded)
    shell.run_line_magic("load_ext", "jupyter_knative")
    assert "knative" in shell.magics_manager.magics["line"] and "knative" in shell.magics_manager.magics["cell"]
    assert started == [{"namespace": "default", "start": True}]
    shell.run_line_magic("load_ext", "jupyter_knative")  # already loaded: nothing happens
    assert len(started) == 1
    assert line(shell, "status") == {"running": True}
    shell.run_line_magic("unload_ext", "jupyter_knative")
    assert "knative" not in shell.magics_manager.magics["line"] and MAGICS_NAME not in shell.magics_manager.registry


def test_load_ext_survives_a_plane_that_does_not_start(shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    def embedded(**kwargs: Any) -> FakeClient:
        raise KnativeError("the plane did not start", reason="PlaneDown", hint="run %knative up")

    monkeypatch.setattr(Client, "embedded", embedded)
    shell.run_line_magic("load_ext", "jupyter_knative")
    assert "the embedded plane is not available: the plane did not start" in capsys.readouterr().err
    with pytest.raises(UsageError, match="the plane did not start\nhint: run %knative up"):
        line(shell, "get ksvc")


def test_sessions_belong_to_their_shell(shell: InteractiveShell, fake: FakeClient) -> None:
    assert find_session(shell).client is fake
    other = Session(embedded=lambda ns: FakeClient())
    assert other.client is not fake


def test_magic_help(shell: InteractiveShell, fake: FakeClient, capsys: pytest.CaptureFixture[str]) -> None:
    assert "commands:" in shell.object_inspect_text("%knative")  # what %knative? shows
    assert line(shell, "") is None
    assert "usage: %knative COMMAND" in capsys.readouterr().out
    assert line(shell, "invoke --help") is None
    assert capsys.readouterr().out.startswith("usage: %knative invoke")
    assert fake.calls == []


# --- dispatch ----------------------------------------------------------------------------------------

DISPATCH = [
    pytest.param("get ksvc", "list", ("ksvc",), {"namespace": None, "label_selector": None, "all_namespaces": False},
                 id="get-kind"),
    pytest.param("get ksvc hello -n dev", "get", ("ksvc", "hello"), {"namespace": "dev"}, id="get-name"),
    pytest.param("describe rev hello-00001", "describe", ("rev", "hello-00001"), {"namespace": None}, id="describe"),
    pytest.param("delete ksvc hello --no-wait", "delete", ("ksvc", "hello"),
                 {"namespace": None, "wait": False, "timeout": 60.0}, id="delete"),
    pytest.param("logs hello --revision hello-00001 --tail 3", "logs", ("hello",),
                 {"revision": "hello-00001", "follow": False, "tail": 3, "namespace": None}, id="logs"),
    pytest.param("logs hello --all-containers", "logs", ("hello",),
                 {"revision": None, "follow": False, "tail": None, "namespace": None, "container": "all"},
                 id="logs-all-containers"),
    pytest.param("logs hello -c queue-proxy", "logs", ("hello",),
                 {"revision": None, "follow": False, "tail": None, "namespace": None, "container": "queue-proxy"},
                 id="logs-container"),
    pytest.param("invoke hello", "invoke", ("hello",),
                 {"path": "/", "method": "GET", "headers": None, "cloudevent": None, "tag": None, "namespace": None,
                  "timeout": 60.0}, id="invoke-get"),
    pytest.param("""invoke hello --data '{"a": 1}' -H X-A=1""", "invoke", ("hello",),
                 {"path": "/", "method": "POST", "headers": {"X-A": "1"}, "cloudevent": None, "tag": None,
                  "namespace": None, "timeout": 60.0, "json": {"a": 1}}, id="invoke-json"),
    pytest.param("invoke hello --data plain --method PUT", "invoke", ("hello",),
                 {"path": "/", "method": "PUT", "headers": None, "cloudevent": None, "tag": None, "namespace": None,
                  "timeout": 60.0, "data": "plain"}, id="invoke-text"),
    pytest.param("""invoke hello --cloudevent dev.ping --data '{"a": 1}'""", "invoke", ("hello",),
                 {"path": "/", "method": "POST", "headers": None, "cloudevent": "dev.ping", "tag": None,
                  "namespace": None, "timeout": 60.0, "json": {"a": 1}}, id="invoke-cloudevent"),
    pytest.param("send default --type t --source s --data 3", "send", ("default",),
                 {"type": "t", "source": "s", "data": 3, "id": None, "extensions": None, "namespace": None}, id="send"),
    pytest.param("traffic hello a=10 @latest=90 --tag a=old --untag x", "traffic", ("hello", ["a=10", "@latest=90"]),
                 {"tags": ["a=old"], "untag": ["x"], "namespace": None}, id="traffic"),
    pytest.param("tag hello a=blue,green", "traffic", ("hello", ()),
                 {"tags": ["a=blue", "green"], "untag": [], "namespace": None}, id="tag"),
    pytest.param("scale hello --min 1", "scale", ("hello",), {"min": 1, "max": None, "namespace": None}, id="scale"),
    pytest.param("wait ksvc hello --timeout 5s", "wait", ("ksvc", "hello"),
                 {"condition": "Ready", "timeout": 5.0, "namespace": None}, id="wait"),
    pytest.param("events hello", "events", ("hello",), {"namespace": None}, id="events"),
    pytest.param("export -n dev", "export", (), {"namespace": "dev"}, id="export"),
    pytest.param("status", "status", (), {}, id="status"),
    pytest.param("up", "up", (), {}, id="up"),
    pytest.param("down", "down", (), {}, id="down"),
]


@pytest.mark.parametrize(("text", "method", "args", "kwargs"), DISPATCH)
def test_dispatch(shell: InteractiveShell, fake: FakeClient, text: str, method: str, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> None:
    line(shell, text)
    calls = fake.called(method)
    assert calls, fake.calls
    got_args, got_kwargs = calls[0]
    got_kwargs = {k: v for k, v in got_kwargs.items() if k != "progress"}
    assert (got_args, got_kwargs) == (args, kwargs)


def test_changes_show_the_service(shell: InteractiveShell, fake: FakeClient) -> None:
    svc = line(shell, "scale hello --max 3")
    assert [m for m, _, _ in fake.calls] == ["scale"]  # the client waits for Ready itself, as kn does
    assert svc["metadata"]["name"] == "hello"
    assert pretty(svc).startswith("Service 'hello' in namespace 'default': Ready")


def test_get_returns_dicts_with_the_servers_table(shell: InteractiveShell, fake: FakeClient) -> None:
    items = line(shell, "get ksvc")
    assert items == [service_obj()]
    assert [m for m, _, _ in fake.calls] == ["list", "table"]
    assert isinstance(line(shell, "get ksvc hello"), dict)
    fake.calls.clear()
    line(shell, "get pods -l app=x")
    assert [m for m, _, _ in fake.calls] == ["list"]  # the server's table would ignore the selector


def test_delete_says_what_it_deleted(shell: InteractiveShell, fake: FakeClient) -> None:
    assert line(shell, "delete ksvc hello") == "Service 'hello' successfully deleted in namespace 'default'."


def test_logs_follow_prints_lines(shell: InteractiveShell, fake: FakeClient,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert line(shell, "logs hello -f") == "a\nb\n"
    assert capsys.readouterr().out == "a\nb\n"


def test_apply_cell_with_vars(shell: InteractiveShell, fake: FakeClient) -> None:
    shell.user_ns["app"] = "demo"
    applied = shell.run_cell_magic("knative", "apply --vars", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                   "  name: {app}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\n")
    assert [d["metadata"]["name"] for d in applied] == ["demo", "s"]
    assert fake.called("apply")[0][1] == {"namespace": None}


def test_apply_file(shell: InteractiveShell, fake: FakeClient, tmp_path: Any) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    assert line(shell, f"apply -f {path}")[0]["metadata"]["name"] == "x"
    with pytest.raises(UsageError, match="No such file"):
        line(shell, f"apply -f {tmp_path / 'missing.yaml'}")


def test_backend_switch(shell: InteractiveShell, fake: FakeClient) -> None:
    assert line(shell, "backend") == {"backend": "embedded", "namespace": "default"}
    line(shell, "backend kubernetes --context kind --namespace dev")
    assert find_session(shell).chosen
    with pytest.raises(UsageError, match="--context is for the kubernetes backend"):
        line(shell, "backend embedded --context kind")
    with pytest.raises(UsageError, match="--ingress and --registry are for the kubernetes backend"):
        line(shell, "backend embedded --registry r --ingress http://127.0.0.1:1")


# --- the service cell --------------------------------------------------------------------------------

CELL = """
import json

def helper(x):
    return x

def handler(request):
    return json.dumps({"ok": helper(1)})
"""


def test_service_cell_deploys_and_defines_locally(shell: InteractiveShell, fake: FakeClient) -> None:
    deployment = shell.run_cell_magic("knative", "service hello -e A=1 --scale 1..3 --no-wait", CELL)
    (args, kwargs), = fake.called("deploy_function")
    assert args == ("hello", CELL)
    assert kwargs["handler"] == "handler" and kwargs["env"] == {"A": "1"} and kwargs["wait"] is False
    assert (kwargs["scale_min"], kwargs["scale_max"]) == (1, 3)
    handler = shell.user_ns["handler"]
    assert handler(None) == '{"ok": 1}' and handler.deployment is deployment
    assert inspect.getsource(handler).startswith("def handler(request):")
    handler.invoke(path="/x")
    assert fake.called("invoke")[-1] == (("hello",), {"path": "/x", "namespace": None})


def test_service_cell_handler_flag_and_errors(shell: InteractiveShell, fake: FakeClient) -> None:
    shell.run_cell_magic("knative", "service hello --handler helper", CELL)
    assert fake.called("deploy_function")[0][1]["handler"] == "helper"
    with pytest.raises(UsageError, match="the cell does not compile, line 1"):
        shell.run_cell_magic("knative", "service hello", "def (:\n")
    with pytest.raises(UsageError, match="the cell is empty"):
        shell.run_cell_magic("knative", "service hello", "\n")


def test_a_cell_without_functions_is_served_by_the_runtimes_rules(shell: InteractiveShell, fake: FakeClient) -> None:
    shell.run_cell_magic("knative", "service app", "app = 'an ASGI app'\n")
    assert fake.called("deploy_function")[0][1]["handler"] is None  # the runtime finds `app` itself
    assert shell.user_ns["app"] == "an ASGI app"


def test_a_cell_failing_locally_still_deploys(shell: InteractiveShell, fake: FakeClient,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    deployment = shell.run_cell_magic("knative", "service hello", "import not_installed_here\ndef f(r): pass\n")
    assert deployment.name == "hello"
    assert "ModuleNotFoundError" in capsys.readouterr().out


# --- errors ------------------------------------------------------------------------------------------


def test_knative_errors_become_usage_errors_with_the_hint(shell: InteractiveShell, fake: FakeClient) -> None:
    fake.fail = KnativeError('services.serving.knative.dev "nope" not found', reason="NotFound",
                             hint="%knative get ksvc lists the services")
    with pytest.raises(UsageError) as e:
        line(shell, "describe ksvc nope")
    assert str(e.value) == 'services.serving.knative.dev "nope" not found\nhint: %knative get ksvc lists the services'
    assert e.value.__cause__ is None and e.value.__suppress_context__


def test_unknown_commands(shell: InteractiveShell, fake: FakeClient) -> None:
    with pytest.raises(UsageError, match="unknown command 'deploy'"):
        line(shell, "deploy x")


# --- the decorator -----------------------------------------------------------------------------------


def test_decorator_in_a_cell(shell: InteractiveShell, fake: FakeClient) -> None:
    result = shell.run_cell(textwrap.dedent("""
        import json
        import jupyter_knative as knative

        @knative.function(name="shout", scale_min=1)
        def shout(request):
            return json.dumps("hi")
    """))
    result.raise_error()
    (args, kwargs), = fake.called("deploy_function")
    assert args[0] == "shout"
    assert args[1] == 'import json\n\n\ndef shout(request):\n    return json.dumps("hi")\n'
    assert kwargs["handler"] == "shout" and kwargs["scale_min"] == 1
    fn = shell.user_ns["shout"]
    assert fn(None) == '"hi"' and fn.deployment.name == "shout"


def test_decorator_rejects_unknown_flags() -> None:
    with pytest.raises(TypeError, match="scale_mni"):
        jupyter_knative.function(scale_mni=1)


def test_decorator_with_an_explicit_client() -> None:
    client = FakeClient()

    def greet(request: Any) -> str:
        return "hi"

    decorated = jupyter_knative.function(client=client, namespace="dev")(greet)  # type: ignore[arg-type]
    assert decorated is greet and client.called("deploy_function")[0][1]["namespace"] == "dev"


# --- the package -------------------------------------------------------------------------------------


def test_importing_the_package_stays_cheap() -> None:
    code = ("import sys, jupyter_knative; heavy = {'kubernetes', 'aiohttp', 'IPython', 'yaml'} & set(sys.modules); "
            "assert not heavy, heavy; assert jupyter_knative.Client.__name__ == 'Client'; "
            "assert callable(jupyter_knative.function)")
    subprocess.run([sys.executable, "-c", code], check=True)
