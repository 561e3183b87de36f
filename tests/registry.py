"""A real registry for the tests: Debian's `docker-registry` (the reference implementation of the distribution
API, github.com/distribution/distribution) on a free loopback port, storing in a temporary folder.

`running_registry(folder)` starts one and yields a `LocalRegistry`; with `users={"name": "password"}` it
requires HTTP basic auth through an htpasswd file (bcrypt, made with the system's libcrypt, which the registry
reads); with `token=True` as well it requires bearer tokens instead, from a small token service run here as
Docker Hub's and ghcr.io's are: anonymous callers get `pull`, the users `pull,push`, wrong passwords a 401
(RS256 JWTs with the signing certificate in `x5c`, which the registry checks against its root bundle). Tests
using it skip only when /usr/bin/docker-registry is missing (.ci/run installs it).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import ctypes.util
import datetime
import json
import secrets
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

BINARY = Path("/usr/bin/docker-registry")
MISSING = "Debian's docker-registry is not installed (apt-get install docker-registry)"
needs_registry = pytest.mark.skipif(not BINARY.exists(), reason=MISSING)
_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass
class LocalRegistry:
    host: str  # 127.0.0.1:<port>
    root: Path  # its storage
    log: Path
    users: Mapping[str, str]
    token_requests: list[dict[str, str]] = field(default_factory=list)
    """What the token service was asked (service, scope, account), when there is one."""

    @property
    def url(self) -> str:
        return f"http://{self.host}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bcrypt_hash(password: str) -> str | None:
    """A bcrypt hash (`$2b$`) from the system's libcrypt (libxcrypt), None where it cannot make one."""
    name = ctypes.util.find_library("crypt")
    if not name:
        return None
    lib = ctypes.CDLL(name)
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = "".join(secrets.choice(_BCRYPT_ALPHABET) for _ in range(21)) + "."
    result = lib.crypt(password.encode(), f"$2b$05${salt}".encode())
    text = result.decode() if result else ""
    return text if text.startswith("$2b$") else None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenService:
    """Issues registry tokens (the distribution token spec) on a free loopback port, in a thread."""

    def __init__(self, folder: Path, users: Mapping[str, str], service: str) -> None:
        self.users, self.service = dict(users), service
        self.requests: list[dict[str, str]] = []
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jupyter-knative test token issuer")])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.bundle = folder / "token-root.pem"
        self.bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        service_ref = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                service_ref.answer(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)
        account = ""
        auth = handler.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            if self.users.get(user) != password:
                handler.send_response(401)
                handler.end_headers()
                return
            account = user
        scopes = query.get("scope", [])
        self.requests.append({"service": ",".join(query.get("service", [])), "scope": " ".join(scopes),
                              "account": account})
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            granted = [a for a in actions.split(",") if a == "pull" or account]
            access.append({"type": kind, "name": name, "actions": granted})
        body = json.dumps({"token": self.token(account, access)}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def token(self, account: str, access: list[dict[str, object]]) -> str:
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT",
                  "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]}
        claims = {"iss": "jupyter-knative-tests", "sub": account, "aud": self.service, "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8), "access": access}
        signing = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing}.{_b64url(signature)}"


def _config(root: Path, port: int, htpasswd: Path | None, token: TokenService | None = None) -> str:
    lines = [
        "version: 0.1",
        "log:",
        "  level: warn",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {root}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: 127.0.0.1:{port}",
        f"  secret: {secrets.token_hex(16)}",
    ]
    if token is not None:
        lines += ["auth:", "  token:", f"    realm: {token.realm}", f"    service: {token.service}",
                  "    issuer: jupyter-knative-tests", f"    rootcertbundle: {token.bundle}"]
    elif htpasswd is not None:
        lines += ["auth:", "  htpasswd:", "    realm: jupyter-knative-tests", f"    path: {htpasswd}"]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def running_registry(folder: Path, *, users: Mapping[str, str] | None = None, token: bool = False,
                     timeout: float = 20.0) -> Iterator[LocalRegistry]:
    """Start docker-registry serving from `folder`, wait until `/v2/` answers, stop it on exit."""
    if not BINARY.exists():
        pytest.skip(MISSING)
    folder.mkdir(parents=True, exist_ok=True)
    htpasswd = None
    tokens = TokenService(folder, users or {}, "jupyter-knative-registry") if token else None
    if users and not token:
        lines = []
        for user, password in users.items():
            hashed = bcrypt_hash(password)
            if hashed is None:
                pytest.skip("no bcrypt in this system's libcrypt: cannot write an htpasswd file")
            lines.append(f"{user}:{hashed}\n")
        htpasswd = folder / "htpasswd"
        htpasswd.write_text("".join(lines))
    port = free_port()
    config = folder / "config.yml"
    config.write_text(_config(folder / "storage", port, htpasswd, tokens))
    log = folder / "registry.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BINARY), "serve", str(config)], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    host = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://{host}/v2/", timeout=2):
                    break
            except urllib.error.HTTPError as e:
                if e.code == 401:  # the basic-auth variant answers, refusing us
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                tail = log.read_text()[-2000:]
                raise RuntimeError(f"docker-registry did not answer at {host} in {timeout} s: {tail}")
            time.sleep(0.05)
        yield LocalRegistry(host, folder / "storage", log, dict(users or {}),
                            tokens.requests if tokens else [])
    finally:
        if tokens is not None:
            tokens.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
