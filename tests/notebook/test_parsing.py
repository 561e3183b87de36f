"""`%knative` command lines → Invocations: every subcommand's flags, help text and errors."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from IPython.core.error import UsageError

from jupyter_knative.notebook.parsing import (
    CELL_COMMANDS,
    COMMANDS,
    HelpRequested,
    build_parser,
    format_duration,
    parse,
    parse_duration,
)


def args(line: str, cell: bool = False) -> dict[str, Any]:
    inv = parse(line, cell=cell)
    return {"command": inv.command, **vars(inv.args)}


def error(line: str, cell: bool = False) -> str:
    with pytest.raises(UsageError) as e:
        parse(line, cell=cell)
    return str(e.value)


# --- values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    pytest.param("10", 10.0, id="bare-seconds"),
    pytest.param("2.5", 2.5, id="fraction"),
    pytest.param("10s", 10.0, id="s"),
    pytest.param("500ms", 0.5, id="ms"),
    pytest.param("1m", 60.0, id="m"),
    pytest.param("1m30s", 90.0, id="m-s"),
    pytest.param("2h", 7200.0, id="h"),
])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten", "10x", "s10", "1m 30s", "-5"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="duration = "):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [
    pytest.param(10, "10s", id="s"), pytest.param(60, "1m", id="m"), pytest.param(90, "1m30s", id="m-s"),
    pytest.param(3600, "1h", id="h"), pytest.param(0.5, "500ms", id="ms"), pytest.param(0, "0s", id="zero"),
])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


# --- the command word --------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["", "   ", "--help", "-h", "help"])
def test_overview(line: str) -> None:
    with pytest.raises(HelpRequested) as h:
        parse(line)
    for command in COMMANDS:
        assert f"  {command} " in h.value.text
    assert "%knative COMMAND --help" in h.value.text


def test_unknown_command_lists_the_commands() -> None:
    message = error("deploy hello")
    assert "unknown command 'deploy'" in message
    assert "service, apply, get, describe" in message


def test_unclosed_quote() -> None:
    assert "cannot split" in error("invoke hello --data '{")


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - {"help"}))
def test_every_command_has_help(command: str) -> None:
    with pytest.raises(HelpRequested) as h:
        parse(f"{command} --help", cell=command in CELL_COMMANDS)
    assert h.value.text.startswith("usage: %")
    assert COMMANDS[command] in h.value.text
    with pytest.raises(HelpRequested) as via_help:
        parse(f"help {command}")
    assert via_help.value.text == h.value.text


def test_help_beats_missing_arguments() -> None:
    with pytest.raises(HelpRequested, match="--scale-min"):
        parse("service --help")


def test_help_of_unknown_command() -> None:
    assert "unknown command 'nope'" in error("help nope")


def test_errors_carry_usage_and_reason() -> None:
    message = error("describe ksvc")
    assert message.startswith("usage: %knative describe [-h] [-n NAMESPACE] KIND NAME")
    assert "%knative describe: error: the following arguments are required: NAME" in message


def test_unknown_flag() -> None:
    assert "unrecognized arguments: --bogus" in error("get ksvc --bogus")


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - CELL_COMMANDS - {"help"}))
def test_line_commands_refuse_a_cell(command: str) -> None:
    line = {"backend": "backend", "up": "up", "down": "down", "status": "status", "export": "export",
            "events": "events"}.get(command, f"{command} x y")
    if command == "send":
        line = "send b --type t --source s"
    assert f"%%knative {command} takes no cell body" in error(line, cell=True)


# --- service -----------------------------------------------------------------------------------------


def test_service_defaults() -> None:
    assert args("service hello", cell=True) == {
        "command": "service", "name": "hello", "handler": None, "env": {}, "scale_min": None, "scale_max": None,
        "scale_init": None, "scale_target": None, "scale_metric": None, "scale_window": None,
        "concurrency_limit": None, "timeout": None, "revision_name": None, "annotation": {}, "label": {},
        "requirements": [], "cluster_local": False, "wait": True, "namespace": None, "ship": None, "registry": None,
        "runtime_image": None, "base_image": None}


def test_service_every_flag() -> None:
    line = ("service hello --handler main -e A=1 --env B=x=y --scale-min 1 --scale-max 5 --scale-init 2 "
            "--scale-target 10 --scale-metric rps --scale-window 1m --concurrency-limit 4 --timeout 5m "
            "--revision-name hello-v2 -a autoscaling.knative.dev/class=kpa.autoscaling.knative.dev "
            "--label team=ml --requirements numpy,requests --requirements pandas --cluster-local --no-wait -n dev "
            "--ship oci --registry 127.0.0.1:5000/me --runtime-image r:1 --base-image python:3.12-slim")
    a = args(line, cell=True)
    assert a == {
        "command": "service", "name": "hello", "handler": "main", "env": {"A": "1", "B": "x=y"}, "scale_min": 1,
        "scale_max": 5, "scale_init": 2, "scale_target": 10.0, "scale_metric": "rps", "scale_window": "1m",
        "concurrency_limit": 4, "timeout": 300, "revision_name": "hello-v2",
        "annotation": {"autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev"}, "label": {"team": "ml"},
        "requirements": ["numpy", "requests", "pandas"], "cluster_local": True, "wait": False, "namespace": "dev",
        "ship": "oci", "registry": "127.0.0.1:5000/me", "runtime_image": "r:1", "base_image": "python:3.12-slim"}


@pytest.mark.parametrize(("flag", "lo", "hi"), [
    pytest.param("--scale 3", 3, 3, id="n"), pytest.param("--scale 1..4", 1, 4, id="range"),
])
def test_service_scale_shorthand(flag: str, lo: int, hi: int) -> None:
    a = args(f"service hello {flag}", cell=True)
    assert (a["scale_min"], a["scale_max"]) == (lo, hi)


@pytest.mark.parametrize(("flags", "message"), [
    pytest.param("--env NOEQUALS", "expecting the value format in value1=value2, given NOEQUALS", id="env"),
    pytest.param("--env =v", "expecting the value format in value1=value2, given =v", id="env-no-key"),
    pytest.param("--scale-min -1", "-1 must not be negative", id="negative"),
    pytest.param("--scale-max many", "'many' is not a whole number", id="not-int"),
    pytest.param("--scale-target 0", "0 must be greater than 0", id="target"),
    pytest.param("--scale-metric cpus", "invalid choice: 'cpus'", id="metric"),
    pytest.param("--scale-window soon", "duration = 'soon'", id="window"),
    pytest.param("--timeout 1.5", "timeout = '1.5', must be whole seconds", id="timeout"),
    pytest.param("--scale 4..1", "must be N or MIN..MAX with 0 <= MIN <= MAX", id="scale-range"),
    pytest.param("--scale 2 --scale-min 1", "--scale cannot be combined", id="scale-and-min"),
    pytest.param("--wait --no-wait", "not allowed with argument", id="wait-both"),
])
def test_service_flag_errors(flags: str, message: str) -> None:
    assert message in error(f"service hello {flags}", cell=True)


def test_service_needs_a_cell_and_a_name() -> None:
    assert "needs a cell" in error("service hello")
    assert "required: NAME" in error("service", cell=True)


# --- apply -------------------------------------------------------------------------------------------


def test_apply() -> None:
    assert args("apply", cell=True) == {"command": "apply", "filename": None, "vars": False, "namespace": None}
    assert args("apply --vars -n dev", cell=True)["vars"] is True
    assert args("apply -f svc.yaml")["filename"] == "svc.yaml"
    assert "give exactly one of them" in error("apply")
    assert "give exactly one of them" in error("apply -f svc.yaml", cell=True)


# --- resources ---------------------------------------------------------------------------------------


def test_get() -> None:
    assert args("get ksvc") == {"command": "get", "kind": "ksvc", "name": None, "namespace": None,
                                "selector": None, "all_namespaces": False}
    assert args("get rev hello-00001 -n dev")["name"] == "hello-00001"
    a = args("get pods -l app=hello -A")
    assert (a["selector"], a["all_namespaces"]) == ("app=hello", True)
    assert "required: KIND" in error("get")


def test_describe_delete_wait() -> None:
    assert args("describe ksvc hello") == {"command": "describe", "kind": "ksvc", "name": "hello", "namespace": None}
    assert args("delete ksvc hello --no-wait --timeout 2m") == {
        "command": "delete", "kind": "ksvc", "name": "hello", "namespace": None, "wait": False, "timeout": 120.0}
    assert args("delete ksvc hello")["wait"] is True
    assert args("wait ksvc hello") == {"command": "wait", "kind": "ksvc", "name": "hello", "namespace": None,
                                       "condition": "Ready", "timeout": 120.0}
    a = args("wait route hello --for condition=RoutesReady --timeout 30s")
    assert (a["condition"], a["timeout"]) == ("RoutesReady", 30.0)
    assert "required: NAME" in error("wait ksvc")


def test_events_export() -> None:
    assert args("events") == {"command": "events", "name": None, "namespace": None}
    assert args("events hello -n dev")["name"] == "hello"
    assert args("export") == {"command": "export", "namespace": None, "output": None}
    assert args("export --namespace dev -o all.yaml")["output"] == "all.yaml"


# --- requests ----------------------------------------------------------------------------------------


def test_logs() -> None:
    assert args("logs hello") == {"command": "logs", "name": "hello", "revision": None, "follow": False,
                                  "tail": None, "timeout": None, "namespace": None}
    a = args("logs hello --revision hello-00001 -f --tail 5 --timeout 3s")
    assert (a["revision"], a["follow"], a["tail"], a["timeout"]) == ("hello-00001", True, 5, 3.0)


def test_invoke() -> None:
    assert args("invoke hello") == {"command": "invoke", "name": "hello", "data": None, "file": None, "path": "/",
                                    "method": None, "header": {}, "cloudevent": None, "tag": None,
                                    "timeout": 60.0, "namespace": None}
    a = args("""invoke hello --data '{"a": 1}' --path /x --method put -H X-A=1 --header X-B=2 """
             "--cloudevent dev.example.ping --tag blue --timeout 5s")
    assert a["data"] == '{"a": 1}'
    assert (a["path"], a["method"], a["header"]) == ("/x", "PUT", {"X-A": "1", "X-B": "2"})
    assert (a["cloudevent"], a["tag"], a["timeout"]) == ("dev.example.ping", "blue", 5.0)
    assert args("invoke hello --file body.bin")["file"] == "body.bin"
    assert "not allowed with argument" in error("invoke hello --data 1 --file f")
    assert "expecting the value format in value1=value2, given X-A" in error("invoke hello -H X-A")


def test_send() -> None:
    assert args("send default --type t --source s") == {
        "command": "send", "broker": "default", "type": "t", "source": "s", "data": None, "id": None,
        "extension": {}, "namespace": None}
    a = args("send default --type t --source s --data 3 --id e1 --extension foo=bar")
    assert (a["data"], a["id"], a["extension"]) == ("3", "e1", {"foo": "bar"})
    assert "required: --type, --source" in error("send default")


def test_load() -> None:
    assert args("load hello") == {"command": "load", "name": "hello", "concurrency": 10, "duration": 10.0,
                                  "rps": None, "path": "/", "method": None, "data": None, "namespace": None}
    a = args("load hello --concurrency 4 --duration 2s --rps 50")
    assert (a["concurrency"], a["duration"], a["rps"]) == (4, 2.0, 50.0)
    assert "duration = 1h, must be more than 0s and at most 10m" in error("load hello -d 1h")
    assert "concurrency = 0, must be between 1 and 1000" in error("load hello -c 0")
    assert "must be greater than 0" in error("load hello --rps 0")


# --- traffic, tags, scale ----------------------------------------------------------------------------


def test_traffic() -> None:
    assert args("traffic hello") == {"command": "traffic", "name": "hello", "assignments": [], "tags": [],
                                     "untag": [], "namespace": None}
    a = args("traffic hello hello-00001=50 @latest=50 --tag hello-00001=blue --tag @latest=green,x=y "
             "--untag old --untag a,b")
    assert a["assignments"] == ["hello-00001=50", "@latest=50"]
    assert a["tags"] == ["hello-00001=blue", "@latest=green", "x=y"]
    assert a["untag"] == ["old", "a", "b"]
    # kn's spellings: comma-separated, and --traffic
    assert args("traffic hello a=10,b=90")["assignments"] == ["a=10", "b=90"]
    assert args("traffic hello --traffic a=10 --traffic b=80,c=10")["assignments"] == ["a=10", "b=80", "c=10"]
    # kn's rules and messages are the client's: values are passed through unparsed (a bare value means @latest)
    assert args("traffic hello a=x 50")["assignments"] == ["a=x", "50"]
    assert args("traffic hello --tag blue")["tags"] == ["blue"]


def test_tag() -> None:
    a = args("tag hello hello-00001=blue @latest=current --untag old")
    assert (a["tags"], a["untag"]) == (["hello-00001=blue", "@latest=current"], ["old"])
    assert "expected REF=TAG and/or --untag TAG" in error("tag hello")


def test_scale() -> None:
    assert args("scale hello --min 1 --max 3") == {"command": "scale", "name": "hello", "min": 1, "max": 3,
                                                   "namespace": None}
    assert args("scale hello --scale-min 0")["min"] == 0
    assert "expected --min and/or --max" in error("scale hello")
    assert "--min = 4 is above --max = 2" in error("scale hello --min 4 --max 2")
    assert args("scale hello --min 4 --max 0")["max"] == 0  # max 0: no limit


# --- the backend -------------------------------------------------------------------------------------


def test_backend_and_plane() -> None:
    assert args("backend") == {"command": "backend", "backend": None, "context": None, "kubeconfig": None,
                               "namespace": None, "ingress": None, "prometheus": None, "ship": None,
                               "registry": None, "runtime_image": None, "base_image": None}
    a = args("backend kubernetes --context kind-knative --namespace dev --kubeconfig /k")
    assert (a["backend"], a["context"], a["namespace"], a["kubeconfig"]) == ("kubernetes", "kind-knative", "dev", "/k")
    a = args("backend kubernetes --ingress http://127.0.0.1:8080 --prometheus http://127.0.0.1:9090 --ship tekton "
             "--registry ghcr.io/me --runtime-image ghcr.io/me/rt:1")
    assert (a["ingress"], a["prometheus"], a["ship"], a["registry"], a["runtime_image"]) == (
        "http://127.0.0.1:8080", "http://127.0.0.1:9090", "tekton", "ghcr.io/me", "ghcr.io/me/rt:1")
    assert "invalid choice: 'docker'" in error("backend kubernetes --ship docker")
    assert "invalid choice: 'minikube'" in error("backend minikube")
    for command in ("up", "down", "status"):
        assert args(command) == {"command": command}
    assert args("dashboard hello") == {"command": "dashboard", "name": "hello", "namespace": None}


def test_parsers_are_fresh() -> None:
    """No state survives between lines: each parse builds its parser."""
    assert build_parser("get") is not build_parser("get")
    parse("service a -e A=1", cell=True)
    assert args("service b", cell=True)["env"] == {}


@pytest.mark.parametrize(("given", "template"), [
    ("{.Service}-v{.Generation}", "{{.Service}}-v{{.Generation}}"),  # what IPython leaves of {{...}}
    ("{{.Service}}-{{.Random 5}}", "{{.Service}}-{{.Random 5}}"),
    ("blue", "blue"),
])
def test_revision_name_templates_survive_ipython_expansion(given: str, template: str) -> None:
    assert args(f"service fn --revision-name '{given}'", cell=True)["revision_name"] == template
