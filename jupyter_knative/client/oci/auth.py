"""Who the registry client is: credentials given outright, else the ones `docker login` left in
`~/.docker/config.json` (or `$DOCKER_CONFIG/config.json`), else nobody (pure; reading the file is the only I/O).

Registries say how to authenticate in the `WWW-Authenticate` header of a 401: `Basic` (send the credentials
with every request) or `Bearer realm=...,service=...` (ask the realm for a token for a scope such as
`repository:me/app:pull,push`, anonymously for public images on Docker Hub or ghcr.io). `parse_challenge`
reads that header.

Docker's credential helpers (`credsStore`, `credHelpers`) keep secrets in an OS keychain; they are not run here.
`docker_credentials` says so in its note, so a 401 can tell the user to pass `username=`/`password=` instead.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .reference import normalize_registry

__all__ = ["Challenge", "Credentials", "docker_config_path", "docker_credentials", "parse_challenge"]

_PARAM = re.compile(r'\s*([A-Za-z][\w-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*(?:,|$)')


@dataclass(frozen=True)
class Credentials:
    """A user name and password (or token used as one), or an identity token from `docker login`."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    identity_token: str | None = field(default=None, repr=False)
    source: str = ""
    """Where they came from, for messages (`username=`, `~/.docker/config.json`)."""

    @property
    def basic(self) -> str | None:
        """The `Authorization: Basic` value, when there is a user name and password."""
        if self.username is None or self.password is None:
            return None
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


@dataclass(frozen=True)
class Challenge:
    """A parsed `WWW-Authenticate` header: the scheme (lower case) and its parameters."""

    scheme: str
    params: Mapping[str, str]

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


def parse_challenge(header: str) -> Challenge | None:
    """`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="..."` → a Challenge;
    None for an empty or unreadable header."""
    header = header.strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    if not re.fullmatch(r"[A-Za-z][\w-]*", scheme):
        return None
    params: dict[str, str] = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if not m or m.end() == pos:
            break
        key, value = m.group(1).lower(), m.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[key] = value
        pos = m.end()
    return Challenge(scheme.lower(), params)


def docker_config_path() -> Path:
    """`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (as the docker CLI looks)."""
    base = os.environ.get("DOCKER_CONFIG")
    return (Path(base) if base else Path.home() / ".docker") / "config.json"


def _config_key(key: str) -> str:
    """An `auths` key (`https://index.docker.io/v1/`, `ghcr.io`, `http://localhost:5000`) as a registry name."""
    key = key.strip()
    for scheme in ("https://", "http://"):
        if key.lower().startswith(scheme):
            key = key[len(scheme):]
    return normalize_registry(key.split("/", 1)[0])


def docker_credentials(registry: str, config: Mapping[str, Any] | None = None,
                       path: Path | None = None) -> tuple[Credentials | None, str]:
    """(the credentials `docker login` stored for `registry`, a note for the user or ""). `config` is the
    parsed config.json; without it `path` (default `docker_config_path()`) is read, a missing file meaning none.
    """
    where = "the docker config"
    if config is None:
        path = path or docker_config_path()
        where = str(path)
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, ""
        except (OSError, ValueError) as e:
            return None, f"{path} could not be read ({e}); no stored credentials used"
        if not isinstance(config, Mapping):
            return None, f"{path} is not a JSON object; no stored credentials used"
    wanted = normalize_registry(registry)
    auths = config.get("auths") or {}
    entry: Mapping[str, Any] | None = None
    if isinstance(auths, Mapping):
        for key, value in auths.items():
            if _config_key(str(key)) == wanted and isinstance(value, Mapping):
                entry = value
                break
    credentials = _entry_credentials(entry, where) if entry else None
    if credentials is not None:
        return credentials, ""
    helper = _helper_for(config, wanted)
    if helper:
        return None, (f"the credentials for {wanted} are kept by the credential helper docker-credential-{helper}, "
                      "which jupyter-knative does not run; pass username= and password= (a token) instead")
    return None, ""


def _entry_credentials(entry: Mapping[str, Any], where: str) -> Credentials | None:
    token = entry.get("identitytoken")
    auth = entry.get("auth")
    username, password = entry.get("username"), entry.get("password")
    if isinstance(auth, str) and auth:
        try:
            decoded = base64.b64decode(auth + "=" * (-len(auth) % 4)).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        if ":" in decoded:
            username, password = decoded.split(":", 1)
    if isinstance(token, str) and token:
        return Credentials(username=username if isinstance(username, str) else None, identity_token=token,
                           source=where)
    if isinstance(username, str) and isinstance(password, str):
        return Credentials(username=username, password=password, source=where)
    return None


def _helper_for(config: Mapping[str, Any], registry: str) -> str | None:
    helpers = config.get("credHelpers") or {}
    if isinstance(helpers, Mapping):
        for key, value in helpers.items():
            if _config_key(str(key)) == registry and isinstance(value, str):
                return value
    store = config.get("credsStore")
    return store if isinstance(store, str) and store else None
