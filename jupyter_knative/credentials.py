"""TLS material and the bearer token of the embedded control plane, and the kubeconfig that carries them.

kubectl sends bearer tokens only over TLS, so the API server speaks HTTPS with a certificate issued by
a private CA created once per home. The certificates satisfy both OpenSSL's strict verification
(`VERIFY_X509_STRICT`) and Go's crypto/x509 (kubectl): a CA with critical basicConstraints, keyCertSign
and a subject key identifier; a leaf with subjectAltNames for every loopback name, the serverAuth
extended key usage and an authority key identifier pointing at the CA.

`cryptography` and `yaml` are imported inside the functions that need them, so the CLI, which only
reads the files, starts fast.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import fcntl
import ipaddress
import os
import secrets
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_knative.home import PlaneHome, write_atomic

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

__all__ = [
    "KUBECONFIG_NAME",
    "Credentials",
    "client_ssl_context",
    "ensure_credentials",
    "kubeconfig_document",
    "load_credentials",
    "server_ssl_context",
    "write_kubeconfig",
]

KUBECONFIG_NAME = "jupyter-knative"  # the cluster, user and context in the kubeconfig

_VALIDITY = datetime.timedelta(days=3650)
_BACKDATE = datetime.timedelta(hours=1)  # tolerate a client clock slightly behind ours
_RENEW_BEFORE = datetime.timedelta(days=30)
_LOOPBACK_IPS = ("127.0.0.1", "::1")
_LOOPBACK_DNS = ("localhost",)


@dataclass(frozen=True)
class Credentials:
    token: str
    ca_cert: Path
    server_cert: Path
    server_key: Path

    def ca_pem(self) -> bytes:
        return self.ca_cert.read_bytes()


@dataclass(frozen=True)
class _Files:
    """Where the material lives under `home.tls_dir` (and the token at `home.token_file`)."""

    home: PlaneHome

    @property
    def ca_cert(self) -> Path:
        return self.home.tls_dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.home.tls_dir / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.home.tls_dir / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.home.tls_dir / "server.key"

    @property
    def lock(self) -> Path:
        return self.home.root / "tls.lock"

    def credentials(self, token: str) -> Credentials:
        return Credentials(token, self.ca_cert, self.server_cert, self.server_key)


def load_credentials(home: PlaneHome) -> Credentials | None:
    """The existing credentials, or None if they were never created. Creates nothing."""
    files = _Files(home)
    token = _read_token(home.token_file)
    if token is None or not files.ca_cert.is_file():
        return None
    return files.credentials(token)


def ensure_credentials(home: PlaneHome) -> Credentials:
    """Create the token, CA and server certificate once; later calls return the same ones.

    A CA or server certificate that is missing, unreadable or close to expiry is replaced; the CA is
    kept whenever it is still good, so kubeconfigs already handed out keep verifying.
    """
    files = _Files(home)
    home.ensure()
    with _locked(files.lock):
        home.tls_dir.mkdir(mode=0o700, exist_ok=True)
        token = _read_token(home.token_file)
        if token is None:
            token = secrets.token_urlsafe(32)
            write_atomic(home.token_file, token.encode() + b"\n", mode=0o600)
        _ensure_certificates(files)
    return files.credentials(token)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path`: two processes starting at once create one CA, not two."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _read_token(path: Path) -> str | None:
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        return None
    return token or None


def _ensure_certificates(files: _Files) -> None:
    now = datetime.datetime.now(datetime.UTC)
    ca = _load_pair(files.ca_cert, files.ca_key, now)
    renew_server = ca is None
    if ca is None:
        ca = _make_ca(now)
        _write_pair(files.ca_cert, files.ca_key, ca)
    server = None if renew_server else _load_pair(files.server_cert, files.server_key, now)
    if server is None or not _issued_by(server[0], ca[0]):
        _write_pair(files.server_cert, files.server_key, _make_server(ca, now))


def _load_pair(
    cert_path: Path, key_path: Path, now: datetime.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """A certificate and its key if both parse, match and stay valid a while longer; else None."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        return None
    if cert.not_valid_after_utc - _RENEW_BEFORE < now:
        return None
    return cert, key


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _make_ca(now: datetime.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    # a per-home suffix keeps two homes' CAs distinguishable in any trust store
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "jupyter-knative"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"jupyter-knative CA {secrets.token_hex(4)}"),
    ])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        _builder(name, name, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _make_server(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], now: datetime.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "jupyter-knative"),
        x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
    ])
    alt_names: list[x509.GeneralName] = [x509.DNSName(d) for d in _LOOPBACK_DNS]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in _LOOPBACK_IPS]
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        _builder(subject, ca_cert.subject, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, now: datetime.datetime
) -> x509.CertificateBuilder:
    from cryptography import x509

    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write_pair(
    cert_path: Path, key_path: Path, pair: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]
) -> None:
    from cryptography.hazmat.primitives import serialization

    cert, key = pair
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # the key first: a reader that finds the new certificate must also find its key
    write_atomic(key_path, key_pem, mode=0o600)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def server_ssl_context(creds: Credentials) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(creds.server_cert, creds.server_key)
    return ctx


def client_ssl_context(creds: Credentials) -> ssl.SSLContext:
    """Verifies the server against this home's CA only (and checks the host name), strictly."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(creds.ca_cert))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    return ctx


def write_kubeconfig(home: PlaneHome, api_url: str, creds: Credentials) -> Path:
    """Write `home.kubeconfig` for `api_url`: one cluster, user and context, all `jupyter-knative`."""
    import yaml

    document = yaml.safe_dump(kubeconfig_document(api_url, creds), sort_keys=False)
    write_atomic(home.kubeconfig, document.encode())
    return home.kubeconfig


def kubeconfig_document(api_url: str, creds: Credentials) -> dict[str, Any]:
    ca_data = base64.b64encode(creds.ca_pem()).decode("ascii")
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": KUBECONFIG_NAME, "cluster": {"server": api_url, "certificate-authority-data": ca_data}}
        ],
        "users": [{"name": KUBECONFIG_NAME, "user": {"token": creds.token}}],
        "contexts": [
            {
                "name": KUBECONFIG_NAME,
                "context": {"cluster": KUBECONFIG_NAME, "user": KUBECONFIG_NAME, "namespace": "default"},
            }
        ],
        "current-context": KUBECONFIG_NAME,
        "preferences": {},
    }
