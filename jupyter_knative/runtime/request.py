"""A Flask-like request object for HTTP functions, built from an ASGI scope and the full body.

It carries the attributes functions-framework users reach for (`method`, `path`, `args`, `headers`,
`get_json()`, `form`, `cookies`, ...) with Werkzeug's semantics where they matter (`full_path` always
has a `?`, `get_json()` refuses a non-JSON content type with 415, a missing `args["k"]` is a 400), at a
fraction of Werkzeug's cost. Everything is computed on first use.

Errors: `HTTPError(status, message)`; `MissingKey` is also a `KeyError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from email.parser import BytesParser
from email.policy import HTTP
from functools import cached_property
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote

from .asgi import Scope

__all__ = ["FileStorage", "HTTPError", "Headers", "MissingKey", "MultiDict", "Request"]

T = TypeVar("T")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class HTTPError(Exception):
    """Raise from a function to answer with `status` and `message` (like `flask.abort`)."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


class MissingKey(HTTPError, KeyError):
    """`args["k"]` or `form["k"]` without that key: a client error, as in Werkzeug."""

    def __init__(self, key: str) -> None:
        super().__init__(400, f"Bad Request: the request has no key {key!r}")


class MultiDict:
    """Ordered (key, value) pairs; `d[k]` and `get` give the first value, `getlist` all of them."""

    def __init__(self, pairs: Iterable[tuple[str, Any]] = ()) -> None:
        self._pairs = list(pairs)

    def __getitem__(self, key: str) -> Any:
        for k, v in self._pairs:
            if k == key:
                return v
        raise MissingKey(key)

    def get(self, key: str, default: Any = None, type: Callable[[Any], T] | None = None) -> Any:
        for k, v in self._pairs:
            if k == key:
                if type is None:
                    return v
                try:
                    return type(v)
                except ValueError:
                    return default
        return default

    def getlist(self, key: str, type: Callable[[Any], T] | None = None) -> list[Any]:
        values = [v for k, v in self._pairs if k == key]
        if type is None:
            return values
        out = []
        for v in values:
            try:
                out.append(type(v))
            except ValueError:
                continue
        return out

    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self._pairs)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __bool__(self) -> bool:
        return bool(self._pairs)

    def keys(self) -> list[str]:
        return list(dict.fromkeys(k for k, _ in self._pairs))

    def values(self) -> list[Any]:
        return [self[k] for k in self.keys()]

    def items(self, multi: bool = False) -> list[tuple[str, Any]]:
        return list(self._pairs) if multi else [(k, self[k]) for k in self.keys()]

    def lists(self) -> list[tuple[str, list[Any]]]:
        return [(k, self.getlist(k)) for k in self.keys()]

    def to_dict(self, flat: bool = True) -> dict[str, Any]:
        return {k: self[k] for k in self.keys()} if flat else dict(self.lists())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MultiDict):
            return self._pairs == other._pairs
        if isinstance(other, dict):
            return self.to_dict() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MultiDict({self._pairs!r})"


class Headers:
    """Request headers, case-insensitive. Iterating yields (name, value) pairs, as Werkzeug's do."""

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        self._raw = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw]

    def get(self, key: str, default: Any = None, type: Callable[[str], T] | None = None) -> Any:
        lkey = key.lower()
        for k, v in self._raw:
            if k == lkey:
                if type is None:
                    return v
                try:
                    return type(v)
                except ValueError:
                    return default
        return default

    def getlist(self, key: str) -> list[str]:
        lkey = key.lower()
        return [v for k, v in self._raw if k == lkey]

    get_all = getlist

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise MissingKey(key)
        return str(value)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and any(k == key.lower() for k, _ in self._raw)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items())

    def __len__(self) -> int:
        return len(self._raw)

    def keys(self) -> list[str]:
        return [_title(k) for k, _ in self._raw]

    def values(self) -> list[str]:
        return [v for _, v in self._raw]

    def items(self) -> list[tuple[str, str]]:
        return [(_title(k), v) for k, v in self._raw]

    def to_dict(self) -> dict[str, str]:
        return dict(self.items())

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"


def _title(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


class FileStorage:
    """One uploaded file of a multipart form."""

    def __init__(self, filename: str | None, content_type: str, data: bytes, name: str) -> None:
        self.filename = filename
        self.content_type = content_type
        self.mimetype = content_type.split(";", 1)[0].strip().lower()
        self.name = name
        self._data = data

    def read(self) -> bytes:
        return self._data

    def save(self, dst: str) -> None:
        with open(dst, "wb") as f:
            f.write(self._data)

    def __repr__(self) -> str:
        return f"<FileStorage {self.filename!r} ({self.content_type})>"


class Request:
    """What an HTTP function receives."""

    def __init__(self, scope: Scope, body: bytes) -> None:
        self.scope = scope
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.query_string: bytes = scope["query_string"]
        self.script_root: str = scope.get("root_path", "")
        self._body = body

    # URL

    @property
    def full_path(self) -> str:
        return f"{self.path}?{self.query_string.decode('latin-1')}"

    @cached_property
    def host(self) -> str:
        host = self.headers.get("host")
        if host:
            return str(host)
        server = self.scope.get("server")
        return f"{server[0]}:{server[1]}" if server else "localhost"

    @property
    def scheme(self) -> str:
        return str(self.scope.get("scheme", "http"))

    @property
    def is_secure(self) -> bool:
        return self.scheme == "https"

    @property
    def host_url(self) -> str:
        return f"{self.scheme}://{self.host}/"

    @property
    def url_root(self) -> str:
        return f"{self.scheme}://{self.host}{self.script_root}/"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}{self.script_root}{quote(self.path, safe='/%:@!$&()*+,;=~')}"

    @property
    def url(self) -> str:
        query = self.query_string.decode("latin-1")
        return self.base_url + (f"?{query}" if query else "")

    @cached_property
    def args(self) -> MultiDict:
        return MultiDict(parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True))

    # headers

    @cached_property
    def headers(self) -> Headers:
        return Headers(self.scope["headers"])

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("content-type")
        return str(value) if value is not None else None

    @property
    def mimetype(self) -> str:
        return (self.content_type or "").split(";", 1)[0].strip().lower()

    @property
    def mimetype_params(self) -> dict[str, str]:
        params = {}
        for part in (self.content_type or "").split(";")[1:]:
            key, _, value = part.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        return params

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("content-length", type=int)
        return int(value) if value is not None else None

    @property
    def user_agent(self) -> str:
        return str(self.headers.get("user-agent", ""))

    @property
    def remote_addr(self) -> str | None:
        client = self.scope.get("client")
        return str(client[0]) if client else None

    @cached_property
    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        for value in self.headers.getlist("cookie"):
            try:
                jar.load(value)
            except CookieError:
                continue
        return {key: morsel.value for key, morsel in jar.items()}

    # body

    def get_data(self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False) -> Any:
        return self._body.decode("utf-8", "replace") if as_text else self._body

    @property
    def data(self) -> bytes:
        """The body, unless it is a form (then `form` holds it), as Werkzeug does."""
        return b"" if self.mimetype in _FORM_TYPES else self._body

    @property
    def is_json(self) -> bool:
        mt = self.mimetype
        return mt == "application/json" or (mt.startswith("application/") and mt.endswith("+json"))

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        if not (force or self.is_json):
            if silent:
                return None
            raise HTTPError(415, "Unsupported Media Type: Did not attempt to load JSON data because the "
                                 "request Content-Type was not 'application/json'.")
        try:
            return json.loads(self._body) if self._body else _empty_json(silent)
        except ValueError as exc:
            if silent:
                return None
            raise HTTPError(400, f"Bad Request: Failed to decode JSON object: {exc}") from exc

    @property
    def json(self) -> Any:
        return self.get_json()

    @cached_property
    def _form_and_files(self) -> tuple[MultiDict, MultiDict]:
        if self.mimetype == "application/x-www-form-urlencoded":
            return MultiDict(parse_qsl(self._body.decode("utf-8", "replace"), keep_blank_values=True)), MultiDict()
        if self.mimetype == "multipart/form-data":
            return _parse_multipart(self.content_type or "", self._body)
        return MultiDict(), MultiDict()

    @property
    def form(self) -> MultiDict:
        return self._form_and_files[0]

    @property
    def files(self) -> MultiDict:
        return self._form_and_files[1]

    @property
    def values(self) -> MultiDict:
        """`args` and, except for GET, `form` (Werkzeug >= 2.0)."""
        if self.method == "GET":
            return self.args
        return MultiDict(self.args.items(multi=True) + self.form.items(multi=True))

    def __repr__(self) -> str:
        return f"<Request {self.url!r} [{self.method}]>"


def _empty_json(silent: bool) -> Any:
    if silent:
        return None
    raise HTTPError(400, "Bad Request: Failed to decode JSON object: the body is empty")


def _parse_multipart(content_type: str, body: bytes) -> tuple[MultiDict, MultiDict]:
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
                                                  + body)
    fields: list[tuple[str, Any]] = []
    files: list[tuple[str, Any]] = []
    if not message.is_multipart():
        return MultiDict(), MultiDict()
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files.append((name, FileStorage(filename, part.get_content_type(), data, name)))
        else:
            charset = part.get_content_charset() or "utf-8"
            fields.append((name, data.decode(charset, "replace")))
    return MultiDict(fields), MultiDict(files)
