"""A small client of the OCI Distribution API (Docker Registry HTTP API v2) on urllib3: what pushing an image
built in Python needs and no more.

Manifests are read (HEAD, GET with every v2 media type accepted) and written (PUT); blobs are checked (HEAD),
read (GET, following the redirects registries use to send blobs from storage, without the credentials when the
host changes) and written: a cross-repository mount when the blob is already in the same registry, else an
upload session (`POST /blobs/uploads/`) finished by one `PUT ?digest=` or, for big blobs, `PATCH` chunks first.

Authentication follows the registry's 401 challenge: `Basic` sends the credentials, `Bearer` gets a token from
the realm for the request's scope (anonymously when there are no credentials; an identity token from
`docker login` is exchanged as an OAuth2 refresh token). Every failure is a `KnativeError` saying what was
asked of which registry and what to do.

Why not `oras` (oras-py)? It pushes files from disk as artifacts, validates against bundled schemas, uses
requests and is untyped; an image assembled in memory needs blob-level calls with precise error messages, which
is this module's size.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode, urljoin

import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from ..errors import KnativeError
from .auth import Challenge, Credentials, docker_credentials, parse_challenge
from .image import DOCKER_LIST, DOCKER_MANIFEST, DOCKER_SCHEMA1, OCI_INDEX, OCI_MANIFEST, sha256_digest
from .reference import api_host, default_insecure, normalize_registry

__all__ = ["ACCEPT_MANIFESTS", "Registry"]

ACCEPT_MANIFESTS = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
_CHUNK = 1 << 20
Body = bytes | IO[bytes] | None


class Registry:
    """One registry (`docker.io`, `ghcr.io`, `127.0.0.1:5000`): plain http when `insecure` (default: loopback
    addresses only), credentials given or read from the docker config."""

    def __init__(self, registry: str, *, insecure: bool | None = None, credentials: Credentials | None = None,
                 docker_config: Path | None = None, timeout: float = 60.0) -> None:
        self.name = normalize_registry(registry)
        self.insecure = default_insecure(self.name) if insecure is None else insecure
        self.base = f"{'http' if self.insecure else 'https'}://{api_host(self.name)}"
        self.note = ""
        if credentials is None:
            credentials, self.note = docker_credentials(self.name, path=docker_config)
        self.credentials = credentials
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=min(10.0, timeout), read=timeout),
                                         retries=False)
        self._challenge: Challenge | None = None
        self._tokens: dict[tuple[str, ...], str] = {}

    def close(self) -> None:
        self._http.clear()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # manifests

    def get_manifest(self, repository: str, reference: str, *, what: str | None = None) -> tuple[bytes, str, str]:
        """(the manifest's bytes, its media type, its digest). KnativeError NotFound when there is none."""
        what = what or f"{self.name}/{repository}:{reference}"
        resp = self._request("GET", f"/v2/{repository}/manifests/{reference}", scopes=_pull(repository),
                             headers={"Accept": ACCEPT_MANIFESTS}, what=f"reading the manifest of {what}")
        body = resp.data
        self._check(resp, f"the manifest of {what}", ok=(200,))
        media_type = _media_type(resp.headers.get("Content-Type", ""), body)
        if media_type in DOCKER_SCHEMA1:
            raise KnativeError(f"{what} is a Docker schema 1 image, which is not supported", reason="NotSupported",
                               hint="use a base image pushed in the v2 or OCI format (any image built since 2017)")
        if media_type not in (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST):
            raise KnativeError(f"{what} is not a container image (its manifest is {media_type or 'untyped'})",
                               reason="NotSupported", hint="use a container image as the base")
        digest = sha256_digest(body)
        if reference.startswith("sha256:") and digest != reference:
            raise KnativeError(f"the registry {self.name} sent a manifest for {what} whose digest is {digest}",
                               reason="Invalid", hint="the registry or a proxy altered it; try again")
        return body, media_type, digest

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest of a manifest (HEAD), None when there is none."""
        resp = self._request("HEAD", f"/v2/{repository}/manifests/{reference}", scopes=_pull(repository),
                             headers={"Accept": ACCEPT_MANIFESTS},
                             what=f"checking {self.name}/{repository}:{reference}")
        if resp.status == 404:
            return None
        self._check(resp, f"{self.name}/{repository}:{reference}", ok=(200,))
        return resp.headers.get("Docker-Content-Digest") or None

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        """Push a manifest under a tag (or its digest); its digest."""
        what = f"pushing the manifest {self.name}/{repository}:{reference}"
        resp = self._request("PUT", f"/v2/{repository}/manifests/{reference}", scopes=_push(repository),
                             headers={"Content-Type": media_type}, body=body, what=what)
        self._check(resp, what, ok=(200, 201), pushing=True)
        digest = sha256_digest(body)
        answered = resp.headers.get("Docker-Content-Digest")
        if answered and answered != digest:
            raise KnativeError(f"{what}: the registry stored it as {answered}, not {digest}", reason="Invalid",
                               hint="the registry rewrote the manifest; report it with the registry's name")
        return digest

    # blobs

    def blob_exists(self, repository: str, digest: str) -> bool:
        resp = self._request("HEAD", f"/v2/{repository}/blobs/{digest}", scopes=_pull(repository), redirect=True,
                             what=f"checking the blob {digest[:19]} in {self.name}/{repository}")
        if resp.status == 404:
            return False
        self._check(resp, f"the blob {digest} in {self.name}/{repository}", ok=(200,))
        return True

    def get_blob(self, repository: str, digest: str) -> bytes:
        """A (small) blob, checked against its digest."""
        buffer = io.BytesIO()
        self.copy_blob(repository, digest, buffer)
        return buffer.getvalue()

    def copy_blob(self, repository: str, digest: str, out: IO[bytes]) -> int:
        """Stream a blob into `out`, checked against its digest; its size."""
        what = f"the blob {digest} of {self.name}/{repository}"
        resp = self._request("GET", f"/v2/{repository}/blobs/{digest}", scopes=_pull(repository), stream=True,
                             redirect=True, what=f"reading {what}")
        try:
            if resp.status != 200:
                body = resp.read()
                self._check(resp, what, ok=(200,), body=body)
            hasher = hashlib.sha256()
            size = 0
            try:
                for chunk in resp.stream(_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            except HTTPError as e:
                raise self._transport(e, f"reading {what}") from None
        finally:
            resp.release_conn()
        if "sha256:" + hasher.hexdigest() != digest:
            raise KnativeError(f"{what} arrived with another digest (sha256:{hasher.hexdigest()})", reason="Invalid",
                               hint="the download was altered or cut short; try again")
        return size

    def mount_blob(self, repository: str, digest: str, source: str) -> bool:
        """Mount a blob of `source` (in this registry) into `repository`; False when the registry would not."""
        what = f"mounting the blob {digest[:19]} from {self.name}/{source} into {repository}"
        query = urlencode({"mount": digest, "from": source})
        resp = self._request("POST", f"/v2/{repository}/blobs/uploads/?{query}",
                             scopes=_push(repository) + _pull(source), headers={"Content-Length": "0"}, what=what)
        if resp.status == 201:
            return True
        self._check(resp, what, ok=(202,), pushing=True)
        # the registry opened an upload session instead: close it, the blob will be copied
        location = self._location(resp, what)
        self._request("DELETE", location, scopes=_push(repository), what=what).release_conn()
        return False

    def upload_blob(self, repository: str, digest: str, data: bytes | IO[bytes], size: int, *,
                    mount_from: str | None = None, chunk_size: int | None = None) -> str:
        """Put a blob in `repository`: "mounted" (from `mount_from` in this registry, when the registry agrees,
        else uploaded in the session it opens) or "pushed" (in one PUT, or in `chunk_size` PATCHes first when it
        is bigger)."""
        scopes = _push(repository) + ((f"repository:{mount_from}:pull",) if mount_from else ())
        what = f"pushing the blob {digest[:19]} ({size} bytes) to {self.name}/{repository}"
        start = f"/v2/{repository}/blobs/uploads/"
        if mount_from:
            start += "?" + urlencode({"mount": digest, "from": mount_from})
        resp = self._request("POST", start, scopes=scopes, headers={"Content-Length": "0"}, what=what)
        if resp.status == 201 and mount_from:
            return "mounted"
        self._check(resp, what, ok=(202,), pushing=True)
        location = self._location(resp, what)
        if chunk_size and size > chunk_size:
            offset = 0
            while offset < size:
                chunk = _slice(data, offset, chunk_size)
                if not chunk:
                    raise KnativeError(f"{what}: the data ended at {offset} bytes", reason="Invalid")
                resp = self._request("PATCH", location, scopes=scopes, body=chunk, what=what, headers={
                    "Content-Type": "application/octet-stream", "Content-Length": str(len(chunk)),
                    "Content-Range": f"{offset}-{offset + len(chunk) - 1}"})
                self._check(resp, what, ok=(202,), pushing=True)
                location = self._location(resp, what)
                offset += len(chunk)
            body: Body = b""
            length = 0
        else:
            body, length = data, size
            if not isinstance(data, bytes):
                data.seek(0)
        sep = "&" if "?" in location else "?"
        resp = self._request("PUT", f"{location}{sep}{urlencode({'digest': digest})}", scopes=scopes, body=body,
                             headers={"Content-Type": "application/octet-stream", "Content-Length": str(length)},
                             what=what)
        self._check(resp, what, ok=(201,), pushing=True)
        return "pushed"

    # the HTTP exchange

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else urljoin(self.base + "/", path.lstrip("/"))

    def _send(self, method: str, url: str, *, headers: Mapping[str, str], body: Body, stream: bool,
              redirect: bool, what: str) -> urllib3.BaseHTTPResponse:
        retries = urllib3.Retry(total=None, connect=1, read=0, status=0, other=0, redirect=5 if redirect else 0,
                                backoff_factor=0.2, raise_on_redirect=False)
        try:
            return self._http.request(method, url, headers=dict(headers), body=body, preload_content=not stream,
                                      redirect=redirect, retries=retries)
        except HTTPError as e:
            raise self._transport(e, what) from None

    def _request(self, method: str, path: str, *, scopes: tuple[str, ...], what: str,
                 headers: Mapping[str, str] | None = None, body: Body = None, stream: bool = False,
                 redirect: bool = False) -> urllib3.BaseHTTPResponse:
        url = self._url(path)
        refreshed = False
        while True:
            sent = dict(headers or {})
            authorization, fresh = self._authorization(scopes, what)
            if authorization:
                sent["Authorization"] = authorization
            if body is not None and not isinstance(body, bytes):
                body.seek(0)
            resp = self._send(method, url, headers=sent, body=body, stream=stream, redirect=redirect, what=what)
            if resp.status != 401:
                return resp
            challenge = parse_challenge(resp.headers.get("WWW-Authenticate", ""))
            errors = _errors(resp.data)
            resp.release_conn()
            if challenge is None or challenge.scheme not in ("basic", "bearer"):
                raise self._unauthorized(what, errors, authorization is not None, reading=method in ("GET", "HEAD"))
            if challenge.scheme == "basic" and (authorization is not None or self.credentials is None
                                                or self.credentials.basic is None):
                raise self._unauthorized(what, errors, authorization is not None, reading=method in ("GET", "HEAD"))
            retry = authorization is None or (not fresh and not refreshed) or not _same_issuer(challenge,
                                                                                              self._challenge)
            if not retry:
                raise self._unauthorized(what, errors, True, reading=method in ("GET", "HEAD"))
            refreshed = refreshed or authorization is not None
            self._challenge = challenge
            self._tokens.pop(scopes, None)

    def _authorization(self, scopes: tuple[str, ...], what: str) -> tuple[str | None, bool]:
        """(the Authorization header for a request in `scopes`, whether it was just obtained)."""
        challenge = self._challenge
        if challenge is None:
            return None, False
        if challenge.scheme == "basic":
            return (self.credentials.basic if self.credentials else None), False
        token = self._tokens.get(scopes)
        if token:
            return f"Bearer {token}", False
        token = self._fetch_token(challenge, scopes, what)
        self._tokens[scopes] = token
        return f"Bearer {token}", True

    def _fetch_token(self, challenge: Challenge, scopes: tuple[str, ...], what: str) -> str:
        realm = challenge.realm
        if not realm.startswith(("http://", "https://")):
            raise KnativeError(f"{what}: the registry {self.name} asked for a token from {realm!r}, not a URL",
                               reason="Unauthorized", hint="the registry's auth configuration looks broken")
        params = [("service", challenge.params["service"])] if challenge.params.get("service") else []
        creds = self.credentials
        try:
            if creds is not None and creds.identity_token:
                form = dict(params)
                form.update({"grant_type": "refresh_token", "refresh_token": creds.identity_token,
                             "client_id": "jupyter-knative", "scope": " ".join(scopes)})
                resp = self._http.request("POST", realm, body=urlencode(form),
                                          headers={"Content-Type": "application/x-www-form-urlencoded"})
            else:
                params += [("scope", s) for s in scopes]
                headers = {"Authorization": creds.basic} if creds is not None and creds.basic else {}
                sep = "&" if "?" in realm else "?"
                resp = self._http.request("GET", f"{realm}{sep}{urlencode(params)}", headers=headers)
        except HTTPError as e:
            raise self._transport(e, f"{what} (asking {realm} for a token)") from None
        if resp.status in (401, 403):
            raise self._unauthorized(what, f"the token service {realm} refused them ({resp.status})",
                                     creds is not None)
        if resp.status != 200:
            raise KnativeError(f"{what}: the token service {realm} answered {resp.status} {resp.reason}",
                               reason="Unauthorized", code=resp.status,
                               hint="try again; if it persists, the registry's token service has a problem")
        try:
            answer = json.loads(resp.data)
            token = answer.get("token") or answer.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise KnativeError(f"{what}: the token service {realm} sent no token", reason="Unauthorized",
                               hint="the registry's token service has a problem; try again later")
        return token

    def _location(self, resp: urllib3.BaseHTTPResponse, what: str) -> str:
        location = resp.headers.get("Location")
        if not location:
            raise KnativeError(f"{what}: the registry {self.name} gave no upload location", reason="Invalid",
                               hint="the registry does not follow the distribution API")
        return self._url(location)

    def _check(self, resp: urllib3.BaseHTTPResponse, what: str, *, ok: tuple[int, ...], pushing: bool = False,
               body: bytes | None = None) -> None:
        if resp.status in ok:
            return
        detail = _errors(resp.data if body is None else body)
        text = f" ({detail})" if detail else ""
        code = resp.status
        if code == 404:
            raise KnativeError(f"{what}: not found in {self.name}{text}", reason="NotFound", code=code,
                               hint="check the image's name and tag")
        if code == 403:
            who = f"the credentials from {self.credentials.source}" if self.credentials else "anonymous access"
            raise KnativeError(f"{what}: the registry {self.name} refused it to {who} (403 Forbidden){text}",
                               reason="Forbidden", code=code,
                               hint="check that the account may " + ("push to" if pushing else "read")
                               + " this repository (a ghcr.io token needs the write:packages scope)")
        if code == 429:
            raise KnativeError(f"{what}: the registry {self.name} limits the request rate (429){text}",
                               reason="TooManyRequests", code=code, hint="wait a little, or log in for a higher limit")
        raise KnativeError(f"{what}: the registry {self.name} answered {code} {resp.reason}{text}",
                           reason="BadRequest" if code < 500 else "InternalError", code=code,
                           hint="see the registry's message above" if detail else "try again")

    def _unauthorized(self, what: str, detail: str, with_credentials: bool, *, reading: bool = False) -> KnativeError:
        if with_credentials and self.credentials is not None:
            message = f"{what}: the registry {self.name} refused the credentials from {self.credentials.source}"
            hint = (f"check them (docker login {self.name}, or pass username= and password=; a token as the "
                    "password where the registry issues tokens)")
        else:
            message = f"{what}: the registry {self.name} requires credentials (401 Unauthorized)"
            hint = (f"log in with `docker login {self.name}` (jupyter-knative reads ~/.docker/config.json) or "
                    "pass username= and password=")
            if self.note:
                hint = f"{self.note}; or log in with `docker login {self.name}` without a credential helper"
        if reading:
            hint += "; registries such as Docker Hub also answer so for an image that does not exist: check its name"
        return KnativeError(message + (f" ({detail})" if detail else ""), reason="Unauthorized", code=401, hint=hint)

    def _transport(self, exc: BaseException, what: str) -> KnativeError:
        inner: BaseException = exc
        if isinstance(exc, MaxRetryError) and exc.reason is not None:
            inner = exc.reason
        text = str(inner).split(": ", 1)[-1] if str(inner) else type(inner).__name__
        if "Connection refused" in str(inner) or isinstance(inner, ConnectionRefusedError):
            text = "connection refused"
        if isinstance(inner, SSLError):
            return KnativeError(f"{what}: no TLS connection to the registry {self.name} at {self.base} ({text})",
                                reason="Unreachable",
                                hint="if the registry serves plain http, pass insecure=True (Docker: "
                                "insecure-registries)")
        if isinstance(inner, Urllib3Timeout) and not isinstance(inner, NewConnectionError):
            return KnativeError(f"{what}: the registry {self.name} at {self.base} did not answer in time",
                                reason="Timeout", hint="try again, or check the network to the registry")
        return KnativeError(f"{what}: cannot reach the registry {self.name} at {self.base} ({text})",
                            reason="Unreachable",
                            hint="check the registry's address and that it runs (a registry elsewhere on plain http "
                            "needs insecure=True)")


def _same_issuer(a: Challenge, b: Challenge | None) -> bool:
    """Whether two challenges send to the same place (they differ in scope and error from request to request)."""
    return b is not None and (a.scheme, a.realm, a.params.get("service")) == (b.scheme, b.realm,
                                                                              b.params.get("service"))


def _pull(repository: str) -> tuple[str, ...]:
    return (f"repository:{repository}:pull",)


def _push(repository: str) -> tuple[str, ...]:
    return (f"repository:{repository}:pull,push",)


def _slice(data: bytes | IO[bytes], offset: int, size: int) -> bytes:
    if isinstance(data, bytes):
        return data[offset:offset + size]
    data.seek(offset)
    return data.read(size)


def _media_type(content_type: str, body: bytes) -> str:
    """The manifest's own `mediaType` when it says one, else the Content-Type."""
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("mediaType"), str):
        return str(parsed["mediaType"])
    return content_type.split(";", 1)[0].strip()


def _errors(body: bytes | None) -> str:
    """The registry's `{"errors": [{"code", "message"}]}` as one line (or the start of a non-JSON body)."""
    if not body:
        return ""
    try:
        parsed = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return text[:200]
    errors = parsed.get("errors") if isinstance(parsed, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for e in errors:
        if isinstance(e, dict):
            code, message = str(e.get("code") or ""), str(e.get("message") or "")
            parts.append(f"{code}: {message}" if code and message else code or message)
    return "; ".join(p for p in parts if p)
