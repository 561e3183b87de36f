"""`jupyter knative up|down|status|kubeconfig|push-runtime` (push-runtime: jupyter_knative.cli.oci).

Exit codes: 0 success (`status` and `down` also when nothing runs), 1 failure, 2 usage error,
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from jupyter_knative._version import __version__
from jupyter_knative.client.daemonctl import DaemonControl, DaemonError, Status
from jupyter_knative.home import HOME_ENV, PlaneHome

from .oci import add_push_runtime

__all__ = ["build_parser", "main"]

_Handler = Callable[[PlaneHome, argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: _Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    home_arg: str | None = getattr(args, "home", None)
    home = PlaneHome(Path(home_arg).expanduser().absolute()) if home_arg else PlaneHome.default()
    try:
        return handler(home, args)
    except DaemonError as e:
        _report(e)
        return 1
    except OSError as e:  # an unwritable home, a full disk: a message, not a traceback
        print(f"jupyter-knative: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # a daemon that `up` was waiting for is in a session of its own: Ctrl-C did not reach it
        hint = "; a daemon that was starting may still come up (`jupyter knative down` stops it)"
        print(f"jupyter-knative: interrupted{hint if handler is _up else ''}", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    # --home is accepted before and after the subcommand; SUPPRESS keeps the subcommand's copy from
    # resetting the earlier one (and no set_defaults: the parsers share this very action)
    home_option = argparse.ArgumentParser(add_help=False)
    home_option.add_argument(
        "--home", default=argparse.SUPPRESS, metavar="PATH",
        help=f"state directory (default: ${HOME_ENV}, else ~/.jupyter-knative)",
    )
    parser = argparse.ArgumentParser(
        prog="jupyter knative", parents=[home_option],
        description="Run the embedded Knative control plane: a Kubernetes API on loopback for kubectl "
        "and the notebook.",
    )
    parser.add_argument("--version", action="version", version=f"jupyter-knative {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    up = commands.add_parser("up", parents=[home_option], help="start the control plane (if not running)")
    up.add_argument("--timeout", type=_seconds, default=60.0, help="seconds to wait for the API (default 60)")
    up.add_argument("--json", action="store_true", help="print the status object")
    up.set_defaults(handler=_up)

    down = commands.add_parser("down", parents=[home_option], help="stop it and everything it started")
    down.add_argument("--timeout", type=_seconds, default=20.0,
                      help="seconds to wait after SIGTERM before SIGKILL (default 20)")
    down.set_defaults(handler=_down)

    status = commands.add_parser("status", parents=[home_option],
                                 help="show whether it runs and where (exit 0 either way)")
    status.add_argument("--json", action="store_true", help="print a JSON object")
    status.set_defaults(handler=_status)

    kubeconfig = commands.add_parser(
        "kubeconfig", parents=[home_option],
        help="print the kubeconfig path, for KUBECONFIG=$(jupyter knative kubeconfig)",
    )
    kubeconfig.set_defaults(handler=_kubeconfig)
    add_push_runtime(commands, [home_option])
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0 seconds")
    return value


def _control(home: PlaneHome) -> DaemonControl:
    def waiting() -> None:
        print("jupyter-knative: waiting for another `jupyter knative` command to finish...", file=sys.stderr)

    return DaemonControl(home, on_lock_wait=waiting)


def _up(home: PlaneHome, args: argparse.Namespace) -> int:
    result = _control(home).up(timeout=args.timeout)
    status = result.status
    if args.json:
        _print_json(status)
    else:
        state = "is up" if result.started else "is already running"
        print(f"jupyter-knative {state}: API {status.api}, ingress {status.ingress}")
        print(f"kubeconfig: {status.kubeconfig}")
    if not result.started and status.version not in (None, __version__):
        print(
            f"jupyter-knative: note: the running daemon is version {status.version}, this command is "
            f"{__version__}; `jupyter knative down` then `up` restarts it",
            file=sys.stderr,
        )
    return 0


def _down(home: PlaneHome, args: argparse.Namespace) -> int:
    result = _control(home).down(timeout=args.timeout)
    if not result.was_running:
        print("jupyter-knative is not running")
        return 0
    if result.killed:
        print(f"jupyter-knative did not stop within {args.timeout:g} s of SIGTERM; "
              f"killed its process group {result.pid}")
    if result.leftovers_killed:
        print(f"jupyter-knative left processes behind in its process group {result.pid}; killed them")
    print("jupyter-knative stopped")
    return 0


def _status(home: PlaneHome, args: argparse.Namespace) -> int:
    status = _control(home).status()
    if args.json:
        _print_json(status)
        return 0
    for key, value in status.to_json().items():
        shown = "-" if value is None else ("yes" if value is True else "no" if value is False else value)
        print(f"{key + ':':<12}{shown}")
    return 0


def _kubeconfig(home: PlaneHome, args: argparse.Namespace) -> int:
    if not home.kubeconfig.is_file():
        print("jupyter-knative has not been started yet; run: jupyter knative up", file=sys.stderr)
        return 1
    print(home.kubeconfig)
    return 0


def _print_json(status: Status) -> None:
    print(json.dumps(status.to_json(), indent=2))


def _report(error: DaemonError) -> None:
    print(f"jupyter-knative: error: {error.message}", file=sys.stderr)
    if error.log_file is None:
        return
    if error.log_tail:
        print(f"last lines of {error.log_file}:", file=sys.stderr)
        for line in error.log_tail:
            print(f"  {line}", file=sys.stderr)
    else:
        print(f"(nothing in {error.log_file})", file=sys.stderr)
