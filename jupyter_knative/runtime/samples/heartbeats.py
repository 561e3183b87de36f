"""Knative Eventing's `heartbeats` sample source: a CloudEvent every `--period` to `$K_SINK`.

As the Go program: flags `--sink`, `--label`, `--period` (default `5s`; a Go duration or whole seconds),
`--eventType` (default `dev.knative.eventing.samples.heartbeat`) and `--eventSource` (default
`https://knative.dev/eventing-contrib/cmd/heartbeats/#<POD_NAMESPACE>/<POD_NAME>`, the URL Knative's
program still writes); env `K_SINK` (wins over `--sink`), `K_CE_OVERRIDES` (`{"extensions": {...}}`),
`POD_NAME` and `POD_NAMESPACE` (required), `ONE_SHOT`. The first beat goes out at startup, then one per
period on a fixed grid; each is a binary-mode event with a fresh id, the send time, the extensions
`the: 42`, `heart: yes`, `beats: true` (then the overrides) and JSON data `{"id": <n from 1>, "label": ...}`.
A failed send is logged and the beats go on.

Not a web server: HTTP requests get 404. The container's args reach a replica as a JSON list in
`$JUPYTER_KNATIVE_ARGS`; a configuration the Go program exits on fails the lifespan startup instead (the
replica then exits), with the Go program's message. `ONE_SHOT` stops the beats after the first one (the
Go program exits then).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..asgi import Receive, Scope, Send, send_response
from ..httpclient import post
from .gofmt import go_quote, log_prefix

__all__ = ["ARGS_ENV", "ConfigError", "Heartbeats", "Settings", "encode", "go_duration", "parse_flags", "settings"]

ARGS_ENV = "JUPYTER_KNATIVE_ARGS"
"""The container's `args`, as a JSON list of strings."""

DEFAULT_TYPE = "dev.knative.eventing.samples.heartbeat"
SOURCE_FORMAT = "https://knative.dev/eventing-contrib/cmd/heartbeats/#{namespace}/{name}"
FLAGS = ("eventSource", "eventType", "sink", "label", "period")
_CORE = frozenset({"id", "source", "specversion", "type", "datacontenttype", "dataschema", "subject", "time"})

Post = Callable[[str, bytes, list[tuple[str, str]]], Awaitable[int]]


class ConfigError(ValueError):
    """The Go program would exit at startup; the message is what it prints."""


# --- configuration (pure) -------------------------------------------------------------------------------

def parse_flags(argv: Sequence[str]) -> dict[str, str]:
    """Go's `flag.Parse` for the program's string flags: `-f v`, `--f v`, `-f=v`; stops at `--` or a non-flag."""
    values: dict[str, str] = {}
    args = list(argv)
    while args and len(args[0]) > 1 and args[0].startswith("-"):
        arg = args.pop(0)
        if arg == "--":
            break
        name = arg[2:] if arg.startswith("--") else arg[1:]
        if not name or name[0] in "-=":
            raise ConfigError(f"bad flag syntax: {arg}")
        name, has_value, value = name.partition("=")
        if name in ("h", "help"):
            raise ConfigError("flag: help requested")
        if name not in FLAGS:
            raise ConfigError(f"flag provided but not defined: -{name}")
        if not has_value:
            if not args:
                raise ConfigError(f"flag needs an argument: -{name}")
            value = args.pop(0)
        values[name] = value
    return values


_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_duration(text: str) -> float:
    """time.ParseDuration in seconds. Raises ValueError."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0.0
    if not body:
        raise ValueError(f"time: invalid duration {go_quote(text)}")
    total, pos = 0.0, 0
    while pos < len(body):
        match = _DURATION.match(body, pos)
        if match is None or match.group(1) in ("", "."):
            raise ValueError(f"time: invalid duration {go_quote(text)}")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return -total if text.startswith("-") else total


def _period(text: str) -> float:
    if text == "":
        return 5.0
    with contextlib.suppress(ValueError):
        return go_duration(text)
    if re.fullmatch(r"[+-]?[0-9]+", text):
        return float(int(text))
    raise ConfigError(f"Invalid period interval provided: {go_quote(text)}")


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


@dataclass(frozen=True)
class Settings:
    sink: str
    source: str
    event_type: str
    label: str
    period: float
    one_shot: bool = False
    extensions: dict[str, str] = field(default_factory=dict)
    source_defaulted: bool = False


def settings(environ: Mapping[str, str], argv: Sequence[str]) -> Settings:
    """The program's configuration from its flags and environment. Raises ConfigError."""
    flags = parse_flags(argv)
    for required in ("POD_NAME", "POD_NAMESPACE"):
        if required not in environ:
            raise ConfigError(f"[ERROR] Failed to process env var: required key {required} missing value")
    one_shot = environ.get("ONE_SHOT", "") or "false"
    if one_shot not in _TRUE | _FALSE:
        raise ConfigError("[ERROR] Failed to process env var: envconfig.Process: assigning ONE_SHOT to OneShot: "
                          f'converting {go_quote(one_shot)} to type bool. details: strconv.ParseBool: parsing '
                          f'{go_quote(one_shot)}: invalid syntax')
    period = _period(flags.get("period", "5s"))
    if period <= 0:
        raise ConfigError("panic: non-positive interval for NewTicker")
    label = flags.get("label", "")
    if label.startswith('"'):
        label = _unquote(label)
    source = flags.get("eventSource", "")
    return Settings(
        sink=environ.get("K_SINK") or flags.get("sink", ""),
        source=source or SOURCE_FORMAT.format(namespace=environ["POD_NAMESPACE"], name=environ["POD_NAME"]),
        event_type=flags.get("eventType", DEFAULT_TYPE), label=label, period=period, one_shot=one_shot in _TRUE,
        extensions=_overrides(environ.get("K_CE_OVERRIDES", "")), source_defaulted=not source)


def _unquote(text: str) -> str:
    """strconv.Unquote of a double-quoted string; "" when it is not one (the Go program ignores the error)."""
    try:
        value = json.loads(text)
    except ValueError:
        return ""
    return value if isinstance(value, str) else ""


def _overrides(raw: str) -> dict[str, str]:
    if not raw:
        return {}
    try:
        doc = json.loads(raw)
        extensions = (doc or {}).get("extensions") or {}
        if not isinstance(extensions, dict) or not all(isinstance(v, str) for v in extensions.values()):
            raise ValueError("extensions must map names to strings")
    except (ValueError, AttributeError) as exc:
        raise ConfigError(f"[ERROR] Unparseable CloudEvents overrides {raw}: {exc}") from None
    return {k.lower(): v for k, v in extensions.items() if k.lower() not in _CORE}


# --- one beat (pure) ------------------------------------------------------------------------------------

def _rfc3339(seconds: float) -> str:
    stamp = datetime.fromtimestamp(seconds, UTC)
    fraction = f"{stamp.microsecond:06d}".rstrip("0")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def _header(value: str) -> str:
    """Header values go out as UTF-8 bytes, not percent-encoded (the Go SDK does not encode them)."""
    return value.encode("utf-8").decode("latin-1")


def encode(config: Settings, sequence: int, event_id: str, now: float) -> tuple[list[tuple[str, str]], bytes]:
    """Headers and body of beat number `sequence`, in binary mode."""
    headers = [("ce-specversion", "1.0"), ("ce-id", event_id), ("ce-source", _header(config.source)),
               ("ce-type", _header(config.event_type)), ("ce-time", _rfc3339(now)),
               ("Content-Type", "application/json")]
    extensions = {"the": "42", "heart": "yes", "beats": "true", **config.extensions}
    headers += [(f"ce-{name}", _header(value)) for name, value in extensions.items()]
    body = json.dumps({"id": sequence, "label": config.label}, ensure_ascii=False, separators=(",", ":"))
    return headers, body.encode("utf-8")


# --- the program ------------------------------------------------------------------------------------------

def _log(message: str) -> None:
    sys.stderr.write(log_prefix() + message + "\n")
    sys.stderr.flush()


class Heartbeats:
    """The ASGI application: its lifespan runs the beats. `environ`/`argv` default to the process's."""

    def __init__(self, environ: Mapping[str, str] | None = None, argv: Sequence[str] | None = None, *,
                 send: Post = post) -> None:
        self._environ = environ
        self._argv = argv
        self._post = send
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await send_response(send, 404, b"404 page not found\n")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    config = settings(*self._inputs())
                except ConfigError as exc:
                    _log(str(exc))
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                if config.source_defaulted:
                    _log(f"Heartbeats Source: {config.source}")
                self._stopping = False
                self._task = asyncio.get_running_loop().create_task(self._run(config), name="heartbeats")
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _inputs(self) -> tuple[Mapping[str, str], Sequence[str]]:
        environ = self._environ if self._environ is not None else dict(os.environ)
        if self._argv is not None:
            return environ, self._argv
        try:
            argv = json.loads(environ.get(ARGS_ENV) or "[]")
        except ValueError:
            argv = None
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise ConfigError(f"{ARGS_ENV} = {environ.get(ARGS_ENV)!r}, must be a JSON list of strings")
        return environ, argv

    async def _stop(self) -> None:
        # The flag as well as the cancel: Python 3.11's wait_for (inside `post`) can swallow a cancellation
        # that arrives as the response does.
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self, config: Settings) -> None:
        sequence = 0
        next_tick = time.monotonic() + config.period
        while True:
            sequence += 1
            await self._beat(config, sequence)
            if config.one_shot or self._stopping:
                return
            now = time.monotonic()
            if now < next_tick:
                await asyncio.sleep(next_tick - now)
                next_tick += config.period
            else:  # the send outlasted a period: the ticker's one buffered tick fires now
                next_tick += config.period * (1 + (now - next_tick) // config.period)

    async def _beat(self, config: Settings, sequence: int) -> None:
        headers, body = encode(config, sequence, str(uuid.uuid4()), time.time())
        _log(f"sending cloudevent to {config.sink}")
        try:
            status = await self._post(config.sink, body, headers)
        except (OSError, TimeoutError, ValueError) as exc:
            _log(f"failed to send cloudevent: {exc}")
            return
        if not 200 <= status < 300:
            _log(f"failed to send cloudevent: {status}")
