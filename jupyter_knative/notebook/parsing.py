"""The `%knative` command line: one argparse parser per subcommand, with kn's and kubectl's flag names.

Pure: a line (and whether a cell body came with it) in, an `Invocation` out. Nothing here exits the
kernel: `--help` raises `HelpRequested` carrying the text to show, and every mistake raises IPython's
`UsageError` with argparse's usage line and the reason.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from IPython.core.error import UsageError

__all__ = [
    "CELL_COMMANDS",
    "COMMANDS",
    "HelpRequested",
    "Invocation",
    "build_parser",
    "format_duration",
    "overview",
    "parse",
    "parse_duration",
]

PROG = "%knative"

COMMANDS: dict[str, str] = {
    "service": "deploy the cell's function as a Knative Service (%%knative service NAME)",
    "apply": "apply the cell's YAML documents, in order (%%knative apply, or -f FILE)",
    "get": "list resources of a kind, or one by name, as a table (returns dicts)",
    "describe": "show one resource in detail: conditions and events",
    "delete": "delete one resource",
    "logs": "print a service's logs (also after scale to zero)",
    "invoke": "send an HTTP request (or a CloudEvent) to a service",
    "send": "send a CloudEvent to a broker (or a channel, a service, any addressable, a URL)",
    "load": "generate bounded load against a service in the background",
    "traffic": "split traffic between revisions (kn service update --traffic rules)",
    "tag": "tag revisions (kn service update --tag/--untag)",
    "scale": "set a service's minimum and maximum scale",
    "wait": "wait for a resource's condition (default Ready)",
    "events": "list events, of one object or of the namespace (--flow: the live event flow)",
    "flow": "live event flow of the namespace: sources → brokers, channels → triggers, subscriptions → subscribers",
    "export": "every object of the namespace as YAML that apply round-trips",
    "dashboard": "live dashboard of a service",
    "backend": "show or switch the backend: embedded, or kubernetes [--context C]",
    "up": "start the embedded plane",
    "down": "stop the embedded plane",
    "status": "show the backend's status",
    "help": "show this overview, or one command's help",
}
CELL_COMMANDS = frozenset({"service", "apply"})
"""Commands whose cell body is their input (`%%knative service NAME`, `%%knative apply`)."""

MAX_LOAD_SECONDS = 600.0
MAX_LOAD_CONCURRENCY = 1000


class HelpRequested(Exception):
    """`--help` (or `help`) was asked for; `text` is what to show."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass(frozen=True)
class Invocation:
    command: str
    args: argparse.Namespace


def overview() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {summary}" for name, summary in COMMANDS.items()]
    return (
        f"usage: {PROG} COMMAND [ARGS]   |   %%knative service NAME [FLAGS]   |   %%knative apply [--vars]\n\n"
        "Knative from a notebook: deploy cell functions and YAML, route traffic, invoke, watch.\n\n"
        "commands:\n" + "\n".join(lines) + f"\n\n`{PROG} COMMAND --help` shows a command's flags."
    )


def parse(line: str, *, cell: bool = False) -> Invocation:
    """Parse one `%knative` line; `cell` says whether it came as `%%knative` with a body."""
    try:
        words = shlex.split(line, comments=False)
    except ValueError as e:  # an unclosed quote
        raise UsageError(f"{PROG}: cannot split the line into words: {e}") from None
    if not words or words[0] in ("-h", "--help"):
        raise HelpRequested(overview())
    command, rest = words[0], words[1:]
    if command not in COMMANDS:
        raise UsageError(f"{PROG}: unknown command {command!r}; commands: {', '.join(COMMANDS)}")
    if command == "help":
        _help(rest)
    if command not in CELL_COMMANDS and cell:
        raise UsageError(f"%%knative {command} takes no cell body: use the line magic `%knative {command}`")
    parser = build_parser(command)
    args = parser.parse_args(rest)
    _check_cell(command, args, cell)
    finish = _FINISHERS.get(command)
    if finish is not None:
        finish(parser, args)
    return Invocation(command, args)


def _help(rest: Sequence[str]) -> NoReturn:
    if not rest:
        raise HelpRequested(overview())
    if rest[0] not in COMMANDS or rest[0] == "help":
        raise UsageError(f"{PROG} help: unknown command {rest[0]!r}; commands: {', '.join(COMMANDS)}")
    raise HelpRequested(build_parser(rest[0]).format_help())


def _check_cell(command: str, args: argparse.Namespace, cell: bool) -> None:
    if command == "service" and not cell:
        raise UsageError("%knative service needs a cell: write `%%knative service NAME` on the first line of "
                         "a cell that defines the function")
    if command == "apply" and cell == bool(args.filename):
        raise UsageError("%%knative apply takes the YAML from its cell, %knative apply -f FILE from a file: "
                         "give exactly one of them")


# --- value types -------------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in `text`: a number of seconds or a Go-style duration (`500ms`, `10s`, `1m30s`, `2h`)."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise argparse.ArgumentTypeError(
                f"duration = {text!r}, must be seconds or like 500ms, 10s, 1m30s, 2h") from None
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"duration = {text!r}, must not be negative")
    return seconds


def format_duration(seconds: float) -> str:
    """A Go duration string for `seconds`, as Knative's annotations take it (`10s`, `1m30s`)."""
    whole = int(seconds)
    if whole != seconds:
        return f"{round(seconds * 1000)}ms"
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


def _window(text: str) -> str:
    return format_duration(parse_duration(text))


def _whole_seconds(text: str) -> int:
    seconds = parse_duration(text)
    if seconds != int(seconds):
        raise argparse.ArgumentTypeError(f"timeout = {text!r}, must be whole seconds")
    return int(seconds)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must not be negative")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
    return value


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expecting the value format in value1=value2, given {text}")
    return key, value


def _revision_template(text: str) -> str:
    """kn's revision-name template. IPython expands `{...}` in magic lines (so `{{.Service}}` arrives as
    `{.Service}`); single-brace fields are read as the template's double-brace ones."""
    return re.sub(r"(?<!\{)\{(\s*\.[A-Za-z][^{}]*)\}(?!\})", r"{{\1}}", text)


def _scale_range(text: str) -> tuple[int, int]:
    """kn's `--scale N` (min = max = N) or `--scale MIN..MAX`."""
    low, sep, high = text.partition("..")
    try:
        bounds = (int(low), int(high)) if sep else (int(text), int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"scale = {text!r}, must be N or MIN..MAX") from None
    if min(bounds) < 0 or bounds[0] > bounds[1]:
        raise argparse.ArgumentTypeError(f"scale = {text!r}, must be N or MIN..MAX with 0 <= MIN <= MAX")
    return bounds


def _load_duration(text: str) -> float:
    seconds = parse_duration(text)
    if not 0 < seconds <= MAX_LOAD_SECONDS:
        raise argparse.ArgumentTypeError(f"duration = {text}, must be more than 0s and at most 10m")
    return seconds


def _load_concurrency(text: str) -> int:
    value = _count(text)
    if not 1 <= value <= MAX_LOAD_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"concurrency = {value}, must be between 1 and {MAX_LOAD_CONCURRENCY}")
    return value


def _words(text: str) -> list[str]:
    """A comma-separated flag value (`--untag a,b`, `--requirements numpy,requests`)."""
    return [w.strip() for w in text.split(",") if w.strip()]


def _condition(text: str) -> str:
    """kubectl's `--for=condition=Ready` or just `Ready`."""
    return text.removeprefix("condition=")


# --- the parsers -------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse that reports to the notebook instead of exiting the kernel."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.format_usage().rstrip()}\n{self.prog}: error: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError(message or f"{self.prog}: exited with status {status}")


class _Help(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show this help")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        raise HelpRequested(parser.format_help())


def build_parser(command: str) -> argparse.ArgumentParser:
    if command not in _BUILDERS:
        raise UsageError(f"{PROG}: unknown command {command!r}; commands: {', '.join(COMMANDS)}")
    prefix = "%%knative" if command in CELL_COMMANDS else PROG
    parser = _Parser(prog=f"{prefix} {command}", description=COMMANDS[command], add_help=False,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-h", "--help", action=_Help)
    _BUILDERS[command](parser)
    return parser


def _namespace(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--namespace", help="namespace (default: the backend's)")


def _service(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the service's name")
    p.add_argument("--handler", help="the function to serve (default: the last function the cell defines)")
    p.add_argument("-e", "--env", type=_key_value, action="append", default=[], metavar="K=V",
                   help="environment variable (repeatable)")
    p.add_argument("--scale", type=_scale_range, metavar="N|MIN..MAX", help="minimum and maximum scale at once")
    p.add_argument("--scale-min", type=_count, metavar="N", help="minimum number of replicas")
    p.add_argument("--scale-max", type=_count, metavar="N", help="maximum number of replicas")
    p.add_argument("--scale-init", type=_count, metavar="N", help="initial number of replicas")
    p.add_argument("--scale-target", type=_positive_float, metavar="N",
                   help="target concurrency (or rps) per replica")
    p.add_argument("--scale-metric", choices=("concurrency", "rps", "cpu", "memory"), help="autoscaling metric")
    p.add_argument("--scale-window", type=_window, metavar="DURATION", help="stable window, e.g. 60s")
    p.add_argument("--concurrency-limit", type=_count, metavar="N",
                   help="hard limit of concurrent requests per replica (0: none)")
    p.add_argument("--timeout", type=_whole_seconds, metavar="SECONDS", help="request timeout (e.g. 300, 5m)")
    p.add_argument("--revision-name", metavar="NAME", type=_revision_template,
                   help="revision name: NAME-..., or a template with {{.Service}} {{.Generation}} {{.Random n}}")
    p.add_argument("-a", "--annotation", type=_key_value, action="append", default=[], metavar="K=V",
                   help="revision annotation (repeatable)")
    p.add_argument("-l", "--label", type=_key_value, action="append", default=[], metavar="K=V",
                   help="label (repeatable)")
    p.add_argument("--requirements", type=_words, action="append", default=[], metavar="REQ[,REQ]",
                   help="pip requirements of the function (repeatable)")
    p.add_argument("--cluster-local", action="store_true", help="reachable only inside the cluster")
    _shipping(p)
    wait = p.add_mutually_exclusive_group()
    wait.add_argument("--wait", dest="wait", action="store_true", default=True, help="wait until Ready (default)")
    wait.add_argument("--no-wait", dest="wait", action="store_false", help="return once the service is written")
    _namespace(p)


def _apply(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--filename", metavar="FILE", help="read the YAML from FILE (line magic)")
    p.add_argument("--vars", action="store_true",
                   help="fill {name} placeholders from the notebook's variables ({{ and }} stay literal)")
    _namespace(p)


def _kind_name(p: argparse.ArgumentParser, name_required: bool = True) -> None:
    p.add_argument("kind", metavar="KIND", help="a kind as kubectl accepts it: ksvc, rev, route, broker, cm, ...")
    p.add_argument("name", metavar="NAME", nargs=None if name_required else "?")
    _namespace(p)


def _get(p: argparse.ArgumentParser) -> None:
    _kind_name(p, name_required=False)
    p.add_argument("-l", "--selector", metavar="SELECTOR", help="label selector, e.g. app=hello")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="list across all namespaces")


def _delete(p: argparse.ArgumentParser) -> None:
    _kind_name(p)
    p.add_argument("--no-wait", dest="wait", action="store_false", help="do not wait until it is gone")
    p.add_argument("--timeout", type=parse_duration, default=60.0, metavar="DURATION",
                   help="how long to wait until it is gone (default 60s)")


def _logs(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the service")
    p.add_argument("--revision", metavar="REV", help="this revision's logs (default: the latest ready)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines (interrupt to stop)")
    p.add_argument("--tail", type=_count, metavar="N", help="only the last N lines")
    p.add_argument("--timeout", type=parse_duration, metavar="DURATION", help="stop following after DURATION")
    # absent unless given, so the parsed arguments of a plain `logs` stay as they were
    p.add_argument("-c", "--container", default=argparse.SUPPRESS,
                   help="this container's logs (default user-container; all: every container, as --all-containers)")
    p.add_argument("--all-containers", dest="container", action="store_const", const="all",
                   default=argparse.SUPPRESS, help="every container of the revision's pods (queue-proxy too)")
    p.add_argument("--widget", action="store_true", default=argparse.SUPPRESS,
                   help="follow in a live log widget (with a Stop button) instead of printing")
    _namespace(p)


def _request_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--path", default="/", help="request path (default /)")
    p.add_argument("--method", "-X", type=str.upper, help="HTTP method (default GET, POST with a body)")


def _invoke(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the service")
    body = p.add_mutually_exclusive_group()
    body.add_argument("-d", "--data", metavar="JSON", help="request body: JSON (sent as JSON) or text")
    body.add_argument("--file", metavar="FILE", help="request body: the file's bytes")
    _request_flags(p)
    p.add_argument("-H", "--header", type=_key_value, action="append", default=[], metavar="K=V",
                   help="request header (repeatable)")
    p.add_argument("--cloudevent", metavar="TYPE", help="send the body as a binary-mode CloudEvent of TYPE")
    p.add_argument("--tag", help="call the tag's URL instead of the service's")
    p.add_argument("--timeout", type=parse_duration, default=60.0, metavar="DURATION",
                   help="give up after DURATION (default 60s)")
    _namespace(p)


def _send(p: argparse.ArgumentParser) -> None:
    p.add_argument("broker", metavar="TARGET",
                   help="a broker's name, KIND/NAME of any addressable (channel/x, ksvc/x, sequence/x, ...) or a URL")
    p.add_argument("--type", required=True, help="the event's type")
    p.add_argument("--source", required=True, help="the event's source")
    p.add_argument("-d", "--data", metavar="JSON", help="the event's data: JSON or text")
    p.add_argument("--id", help="the event's id (default: a new UUID)")
    p.add_argument("--extension", type=_key_value, action="append", default=[], metavar="K=V",
                   help="extension attribute (repeatable)")
    _namespace(p)


def _load(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the service")
    p.add_argument("-c", "--concurrency", type=_load_concurrency, default=10,
                   help=f"requests in flight (default 10, at most {MAX_LOAD_CONCURRENCY})")
    p.add_argument("-d", "--duration", type=_load_duration, default=10.0, metavar="DURATION",
                   help="how long (default 10s, at most 10m)")
    p.add_argument("--rps", type=_positive_float, help="cap on requests per second (default: as fast as answered)")
    _request_flags(p)
    p.add_argument("--data", metavar="JSON", help="request body: JSON (sent as JSON) or text")
    _namespace(p)


def _traffic(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the service")
    p.add_argument("assignments", nargs="*", metavar="REF=PERCENT",
                   help="REF is a revision, a tag or @latest (PERCENT alone: @latest); the remainder goes to the "
                   "one target not named")
    p.add_argument("--traffic", dest="more_assignments", type=_words, action="append", default=[],
                   metavar="REF=PERCENT", help="the same as kn's flag (repeatable, comma-separated)")
    p.add_argument("--tag", type=_words, action="append", default=[], metavar="REF=TAG",
                   help="tag a revision (TAG alone: @latest) (repeatable)")
    p.add_argument("--untag", type=_words, action="append", default=[], metavar="TAG",
                   help="remove a tag (repeatable)")
    p.add_argument("--widget", action="store_true", default=argparse.SUPPRESS,
                   help="edit the split with sliders (sum held at 100), preview, apply")
    _namespace(p)


def _tag(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the service")
    p.add_argument("tags", nargs="*", metavar="REF=TAG", help="tag a revision (TAG alone: @latest)")
    p.add_argument("--untag", type=_words, action="append", default=[], metavar="TAG", help="remove a tag")
    _namespace(p)


def _scale(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the service")
    p.add_argument("--min", "--scale-min", dest="min", type=_count, metavar="N", help="minimum scale")
    p.add_argument("--max", "--scale-max", dest="max", type=_count, metavar="N", help="maximum scale (0: none)")
    _namespace(p)


def _wait(p: argparse.ArgumentParser) -> None:
    _kind_name(p)
    p.add_argument("--for", dest="condition", type=_condition, default="Ready", metavar="CONDITION",
                   help="the condition (default Ready; kubectl's condition=Ready works too)")
    p.add_argument("--timeout", type=parse_duration, default=120.0, metavar="DURATION",
                   help="give up after DURATION (default 120s)")


def _events(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", nargs="?", help="only this object's events")
    # absent unless given, so the parsed arguments of a plain `events` stay as they were
    p.add_argument("--flow", action="store_true", default=argparse.SUPPRESS,
                   help="show the live event-flow widget of the namespace instead (as %%knative flow)")
    _namespace(p)


def _flow(p: argparse.ArgumentParser) -> None:
    _namespace(p)


def _export(p: argparse.ArgumentParser) -> None:
    _namespace(p)
    p.add_argument("-o", "--output", metavar="FILE", help="also write the YAML to FILE")


def _dashboard(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the service")
    _namespace(p)


def _shipping(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ship", choices=("plane", "configmap", "oci", "tekton"),
                   help="how the function reaches a cluster (default: plane on the embedded plane; on a cluster "
                        "oci with --registry, else configmap)")
    p.add_argument("--registry", metavar="REGISTRY", help="where oci/tekton push the image, e.g. ghcr.io/me")
    p.add_argument("--runtime-image", metavar="IMAGE",
                   help="the runtime image configmap/tekton build on (`jupyter knative push-runtime` makes one)")
    p.add_argument("--base-image", metavar="IMAGE", help="the base image of oci (default python:3.11-slim)")


def _backend(p: argparse.ArgumentParser) -> None:
    p.add_argument("backend", nargs="?", choices=("embedded", "kubernetes"),
                   help="switch to this backend (default: show the current one)")
    p.add_argument("--context", help="kubeconfig context (kubernetes)")
    p.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (kubernetes; default: $KUBECONFIG)")
    p.add_argument("--ingress", metavar="URL",
                   help="where requests to service URLs go, e.g. a port-forwarded Kourier http://127.0.0.1:8080")
    p.add_argument("--prometheus", metavar="URL", help="Prometheus for the widgets' metrics (kubernetes; default: "
                                                       "scrape pods through the API server's proxy)")
    _shipping(p)
    _namespace(p)


def _nothing(p: argparse.ArgumentParser) -> None:
    pass


def _help_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("topic", metavar="COMMAND", nargs="?")


_BUILDERS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "service": _service, "apply": _apply, "get": _get, "describe": _kind_name, "delete": _delete, "logs": _logs,
    "invoke": _invoke, "send": _send, "load": _load, "traffic": _traffic, "tag": _tag, "scale": _scale,
    "wait": _wait, "events": _events, "flow": _flow, "export": _export, "dashboard": _dashboard, "backend": _backend,
    "up": _nothing, "down": _nothing, "status": _nothing, "help": _help_parser,
}


# --- after parsing: flatten repeated flags, merge aliases, cross-flag checks ---------------------------


def _finish_service(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.scale is not None:
        if args.scale_min is not None or args.scale_max is not None:
            parser.error("--scale cannot be combined with --scale-min or --scale-max")
        args.scale_min, args.scale_max = args.scale
    del args.scale
    args.env = dict(args.env)
    args.annotation = dict(args.annotation)
    args.label = dict(args.label)
    args.requirements = [r for group in args.requirements for r in group]


def _finish_traffic(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    args.assignments = [a for text in args.assignments for a in _words(text)]
    args.assignments += [a for group in args.more_assignments for a in group]
    del args.more_assignments
    args.tags = [t for group in args.tag for t in group]
    del args.tag
    args.untag = [t for group in args.untag for t in group]


def _finish_tag(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    args.tags = [t for text in args.tags for t in _words(text)]
    args.untag = [t for group in args.untag for t in group]
    if not args.tags and not args.untag:
        parser.error("expected REF=TAG and/or --untag TAG")


def _finish_scale(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.min is None and args.max is None:
        parser.error("expected --min and/or --max")
    if args.min is not None and args.max is not None and 0 < args.max < args.min:
        parser.error(f"--min = {args.min} is above --max = {args.max}")


def _finish_pairs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    for key in ("header", "extension"):
        if hasattr(args, key):
            setattr(args, key, dict(getattr(args, key)))


_FINISHERS: dict[str, Callable[[argparse.ArgumentParser, argparse.Namespace], None]] = {
    "service": _finish_service, "traffic": _finish_traffic, "tag": _finish_tag, "scale": _finish_scale,
    "invoke": _finish_pairs, "send": _finish_pairs,
}
