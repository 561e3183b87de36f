"""Shipping a function as an OCI image assembled in Python (issue 11, 2b), against a real registry server
(Debian's docker-registry, started per test by tests/registry.py).

Docker Hub is out of reach here, so each test first pushes a small synthetic base image (a placeholder file, a
config saying Python 3.11.7 on amd64; one test a two-platform index) to the local registry. Then the function
is shipped, pulled back with plain urllib (manifest by digest, config, every layer), unpacked, and run with the
runtime the image carries. The requirement `six` comes from PyPI (pip's cache makes reruns fast).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_knative._version import __version__
from jupyter_knative.cli.commands import main as cli_main
from jupyter_knative.client.builds import source_digest
from jupyter_knative.client.errors import KnativeError
from jupyter_knative.client.oci import oci_shipping, push_function_image, push_runtime_image
from jupyter_knative.client.oci.auth import Credentials
from jupyter_knative.client.oci.image import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Blob,
    canonical_json,
    image_manifest,
    sha256_digest,
)
from jupyter_knative.client.oci.layers import Entry, tar_layer
from jupyter_knative.client.oci.registry import ACCEPT_MANIFESTS, Registry
from tests.registry import LocalRegistry, free_port, needs_registry, running_registry
from tests.runtime_process import get_when_up, serve_runtime

pytestmark = [needs_registry, pytest.mark.timeout(300)]

SOURCE = (
    "import json\n"
    "import sys\n"
    "\n"
    "import six\n"
    "\n"
    "import jupyter_knative\n"
    "\n"
    "\n"
    "def handle(request):\n"
    "    return json.dumps({'six': six.__file__, 'runtime': jupyter_knative.__file__,\n"
    "                       'answer': 'hello from the image'})\n"
)
PLAIN = "def hello(request):\n    return 'hello'\n"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    with running_registry(tmp_path / "registry") as reg:
        yield reg


@pytest.fixture(scope="module")
def layer_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One layer cache for the module: the runtime layer is built once."""
    return tmp_path_factory.mktemp("oci-layers")


# -- a synthetic base image ---------------------------------------------------------------------------------------


def _base_manifest(reg: Registry, repository: str, *, family: str, arch: str, marker: bytes) -> tuple[bytes, str]:
    out = io.BytesIO()
    layer = tar_layer({"/usr/bin/placeholder": Entry(b"#!/bin/sh\necho " + marker + b"\n", 0o755)}, out)
    reg.upload_blob(repository, layer.digest, out.getvalue(), layer.size)
    config = {
        "architecture": arch, "os": "linux",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "PYTHON_VERSION=3.11.7"],
                   "Cmd": ["python3"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "placeholder"}],
    }
    config_bytes = canonical_json(config)
    config_blob = Blob(sha256_digest(config_bytes), len(config_bytes))
    reg.upload_blob(repository, config_blob.digest, config_bytes, config_blob.size)
    manifest = canonical_json(image_manifest(family, config_blob, [], [layer]))
    return manifest, sha256_digest(manifest)


def push_base(host: str, repository: str = "test/base", tag: str = "1", *, family: str = OCI_MANIFEST,
              credentials: Credentials | None = None) -> str:
    """A one-layer amd64 base image; its reference."""
    with Registry(host, credentials=credentials) as reg:
        manifest, _ = _base_manifest(reg, repository, family=family, arch="amd64", marker=b"amd64")
        reg.put_manifest(repository, tag, manifest, family)
    return f"{host}/{repository}:{tag}"


def push_index_base(host: str, repository: str = "test/multi", tag: str = "1", *, docker: bool = True) -> str:
    """A two-platform base (amd64, arm64/v8) with an attestation entry, as buildx pushes them."""
    family, index_type = (DOCKER_MANIFEST, DOCKER_LIST) if docker else (OCI_MANIFEST, OCI_INDEX)
    entries = []
    with Registry(host) as reg:
        for arch, variant in (("amd64", None), ("arm64", "v8")):
            manifest, digest = _base_manifest(reg, repository, family=family, arch=arch, marker=arch.encode())
            reg.put_manifest(repository, digest, manifest, family)
            platform = {"architecture": arch, "os": "linux", **({"variant": variant} if variant else {})}
            entries.append({"mediaType": family, "digest": digest, "size": len(manifest), "platform": platform})
        entries.append({"mediaType": family, "digest": entries[0]["digest"], "size": entries[0]["size"],
                        "platform": {"architecture": "unknown", "os": "unknown"}})
        index = canonical_json({"schemaVersion": 2, "mediaType": index_type, "manifests": entries})
        reg.put_manifest(repository, tag, index, index_type)
    return f"{host}/{repository}:{tag}"


# -- pulling back, without the client under test -----------------------------------------------------------------


def _get(url: str, accept: str | None = None) -> tuple[bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return resp.read(), dict(resp.headers)


def pull(host: str, reference: str) -> tuple[dict[str, Any], dict[str, Any], list[bytes]]:
    """(manifest, config, layers as gzipped bytes) of `host/repo@digest`, each checked against its digest."""
    repo, digest = reference.removeprefix(f"{host}/").split("@")
    body, headers = _get(f"http://{host}/v2/{repo}/manifests/{digest}", ACCEPT_MANIFESTS)
    assert sha256_digest(body) == digest == headers["Docker-Content-Digest"]
    manifest = json.loads(body)
    blobs = []
    for desc in [manifest["config"], *manifest["layers"]]:
        data, _ = _get(f"http://{host}/v2/{repo}/blobs/{desc['digest']}")
        assert sha256_digest(data) == desc["digest"] and len(data) == desc["size"]
        blobs.append(data)
    return manifest, json.loads(blobs[0]), blobs[1:]


def unpack(layers: list[bytes], root: Path) -> dict[str, tarfile.TarInfo]:
    """Apply the layers in order under `root` (as a container runtime would); every member, by path."""
    members: dict[str, tarfile.TarInfo] = {}
    for data in layers:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
            for info in tar.getmembers():
                members[info.name.rstrip("/")] = info
            tar.extractall(root, filter="tar")
    return members


def env_of(config: dict[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in config["config"]["Env"])


# -- the tests ----------------------------------------------------------------------------------------------------


def test_shipped_image_holds_the_function_and_runs(registry: LocalRegistry, layer_cache: Path,
                                                    tmp_path: Path) -> None:
    base = push_base(registry.host)
    lines: list[str] = []
    started = time.monotonic()
    image, service = oci_shipping("hello", "default", SOURCE, handler="handle", requirements=["six"],
                                  registry=registry.host, base_image=base, cache_dir=layer_cache,
                                  progress=lines.append)
    print(f"first push: {time.monotonic() - started:.1f} s", *lines, sep="\n")
    assert image.startswith(f"{registry.host}/default/hello@sha256:")
    container = service["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == image and container["ports"] == [{"containerPort": 8080}]
    assert service["metadata"]["labels"] == {"jupyter-knative.dev/function": "hello"}
    assert any(line.startswith("base image") for line in lines) and any("runtime layer" in ln for ln in lines)

    # the tag names the source, and points at the same manifest
    tag = source_digest(SOURCE, "handle", ["six"])
    _, headers = _get(f"http://{registry.host}/v2/default/hello/manifests/{tag}", ACCEPT_MANIFESTS)
    assert headers["Docker-Content-Digest"] == image.split("@")[1]

    manifest, config, layers = pull(registry.host, image)
    assert manifest["mediaType"] == OCI_MANIFEST and len(layers) == 3
    assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert {d["mediaType"] for d in manifest["layers"]} == {"application/vnd.oci.image.layer.v1.tar+gzip"}
    assert manifest["annotations"]["org.opencontainers.image.base.name"] == base
    assert config["rootfs"]["diff_ids"] == [sha256_digest(gzip.decompress(data)) for data in layers]
    assert len(config["history"]) == 3 and config["created"] == "1970-01-01T00:00:00Z"
    inner = config["config"]
    assert inner["Entrypoint"] == ["python", "-m", "jupyter_knative.runtime.serve"] and inner["Cmd"] is None
    assert inner["ExposedPorts"] == {"8080/tcp": {}}
    env = env_of(config)
    assert env["PYTHONPATH"] == "/opt/jupyter-knative:/opt/jupyter-knative/site-packages"
    assert env["JUPYTER_KNATIVE_FUNCTION"] == "/function/main.py"
    assert env["JUPYTER_KNATIVE_PACKAGES"] == "/function/packages"
    assert env["JUPYTER_KNATIVE_HANDLER"] == "handle" and env["PORT"] == "8080"
    assert env["PYTHON_VERSION"] == "3.11.7" and env["PATH"].startswith("/usr/local/bin")  # the base's, kept

    root = tmp_path / "rootfs"
    members = unpack(layers, root)
    assert (root / "function/main.py").read_text() == SOURCE
    assert (root / "function/requirements.txt").read_text() == "six\n"
    assert (root / "function/packages/six.py").is_file()
    assert (root / "usr/bin/placeholder").is_file()  # the base's layer
    runtime = root / "opt/jupyter-knative/jupyter_knative"
    assert (runtime / "runtime/serve.py").read_bytes() == (Path(__file__).parents[2] / "jupyter_knative/runtime/"
                                                           "serve.py").read_bytes()
    assert (runtime / "_version.py").is_file() and not (runtime / "client").exists()
    site = root / "opt/jupyter-knative/site-packages"
    assert {"httptools", "uvloop", "cloudevents"} <= {p.name for p in site.iterdir()}
    assert not list(root.rglob("*.pyc"))
    ours = [m for name, m in members.items() if name.startswith(("function", "opt"))]
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.mode in (0o644, 0o755) for m in ours
               if not m.issym())

    # run it as the container would, its paths moved under the unpacked root
    run_env = {k: v for k, v in env.items() if k.startswith(("JUPYTER_KNATIVE_", "PYTHONPATH", "PYTHONUNBUF"))}
    run_env["PYTHONPATH"] = ":".join(f"{root}{p}" for p in env["PYTHONPATH"].split(":"))
    for key in ("JUPYTER_KNATIVE_FUNCTION", "JUPYTER_KNATIVE_PACKAGES"):
        run_env[key] = f"{root}{env[key]}"
    port = free_port()
    with serve_runtime(run_env, port, image_only=True) as proc:
        status, body = get_when_up(port, proc)
        assert status == 200, body
        answer = json.loads(body)
        assert answer["answer"] == "hello from the image"
        assert answer["six"].startswith(str(root / "function/packages"))  # the baked requirement
        assert answer["runtime"].startswith(str(runtime))  # the image's runtime, not this checkout


def test_same_input_same_digest_and_the_second_push_uploads_nothing(registry: LocalRegistry, layer_cache: Path,
                                                                    tmp_path: Path) -> None:
    base = push_base(registry.host)
    first = push_function_image("hello", "default", PLAIN, requirements=["six"], registry=registry.host,
                                base_image=base, cache_dir=layer_cache)
    assert len(first.mounted) == 1 and len(first.pushed) == 3  # the base layer mounted; runtime, function, config
    # a fresh layer cache: every layer is rebuilt (pip again) and must come out byte for byte the same
    lines: list[str] = []
    second = push_function_image("hello", "default", PLAIN, requirements=["six"], registry=registry.host,
                                 base_image=base, cache_dir=tmp_path / "fresh-cache", progress=lines.append)
    assert second.reference == first.reference
    assert second.pushed == [] and second.mounted == [] and len(second.skipped) == 4, lines
    third = push_function_image("hello", "default", PLAIN, requirements=["six"], registry=registry.host,
                                base_image=base, cache_dir=layer_cache)
    assert third.reference == first.reference and third.pushed == []
    print(f"first push {first.seconds:.2f} s, rebuilt layers {second.seconds:.2f} s, cached {third.seconds:.2f} s")
    # another repository in the same registry: everything mounted or pushed, nothing copied through here
    other = push_function_image("hello", "staging", PLAIN, requirements=["six"], registry=f"{registry.host}/team",
                                base_image=base, cache_dir=layer_cache)
    assert other.reference.startswith(f"{registry.host}/team/staging/hello@")
    assert other.reference.split("@")[1] == first.digest
    # a changed source is a new tag and a new function layer only
    changed = push_function_image("hello", "default", PLAIN + "# changed\n", requirements=["six"],
                                  registry=registry.host, base_image=base, cache_dir=layer_cache)
    assert changed.digest != first.digest and changed.tag != first.tag
    assert len(changed.pushed) == 2 and len(changed.skipped) == 2  # function layer + config; base + runtime there


def test_index_base_takes_the_asked_platform(registry: LocalRegistry, layer_cache: Path, tmp_path: Path) -> None:
    base = push_index_base(registry.host, docker=True)
    image, _ = oci_shipping("arm", "default", PLAIN, registry=registry.host, base_image=base,
                            platform="linux/arm64", cache_dir=layer_cache)
    manifest, config, layers = pull(registry.host, image)
    assert manifest["mediaType"] == DOCKER_MANIFEST  # the base's family
    assert {d["mediaType"] for d in manifest["layers"]} == {"application/vnd.docker.image.rootfs.diff.tar.gzip"}
    assert config["architecture"] == "arm64" and "annotations" not in manifest
    root = tmp_path / "arm"
    unpack(layers, root)
    assert (root / "usr/bin/placeholder").read_text() == "#!/bin/sh\necho arm64\n"
    binaries = [p.name for p in (root / "opt/jupyter-knative/site-packages/uvloop").glob("*.so")]
    assert binaries and all("aarch64" in name for name in binaries), binaries
    function_layer = layers[-1]
    assert function_layer == pull(registry.host, oci_shipping(
        "arm", "default", PLAIN, registry=registry.host, base_image=base, platform="linux/arm64/v8",
        cache_dir=layer_cache)[0])[2][-1]

    amd, _ = oci_shipping("amd", "default", PLAIN, registry=registry.host, base_image=base, cache_dir=layer_cache)
    assert pull(registry.host, amd)[1]["architecture"] == "amd64"

    with pytest.raises(KnativeError) as err:
        oci_shipping("s390", "default", PLAIN, registry=registry.host, base_image=base, platform="linux/s390x",
                     cache_dir=layer_cache)
    assert err.value.reason == "NotFound"
    assert "has no linux/s390x image (it has: linux/amd64, linux/arm64/v8)" in str(err.value)


def test_push_runtime_image_and_the_cli(registry: LocalRegistry, layer_cache: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    base = push_base(registry.host, family=DOCKER_MANIFEST)
    image = push_runtime_image(registry.host, base_image=base, cache_dir=layer_cache)
    assert image.startswith(f"{registry.host}/jupyter-knative/function-runtime@sha256:")
    _, headers = _get(f"http://{registry.host}/v2/jupyter-knative/function-runtime/manifests/{__version__}",
                      ACCEPT_MANIFESTS)
    assert headers["Docker-Content-Digest"] == image.split("@")[1]
    manifest, config, layers = pull(registry.host, image)
    assert len(layers) == 2 and manifest["mediaType"] == DOCKER_MANIFEST
    env = env_of(config)
    assert env["JUPYTER_KNATIVE_FUNCTION"] == "/function/main.py" and "JUPYTER_KNATIVE_PACKAGES" not in env
    root = tmp_path / "runtime"
    unpack(layers, root)
    assert not (root / "function").exists() and (root / "opt/jupyter-knative/jupyter_knative/runtime").is_dir()

    # the CLI: the same image again (the layer cache is the user's; here the environment's XDG_CACHE_HOME)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    code = cli_main(["push-runtime", registry.host, "--base", base, "--platform", "linux/amd64"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip() == image
    assert "runtime layer" in err and (tmp_path / "xdg/jupyter-knative/oci-layers").is_dir()
    assert cli_main(["push-runtime", registry.host, "--base", f"{registry.host}/test/nothing:1"]) == 1
    assert "not found" in capsys.readouterr().err


def test_clear_errors_for_unreachable_registry_and_missing_base(registry: LocalRegistry, layer_cache: Path) -> None:
    nobody = f"127.0.0.1:{free_port()}"
    with pytest.raises(KnativeError) as err:
        oci_shipping("hello", "default", PLAIN, registry=nobody, base_image=f"{nobody}/test/base:1",
                     cache_dir=layer_cache)
    assert err.value.reason == "Unreachable"
    assert f"cannot reach the registry {nobody} at http://{nobody} (connection refused)" in str(err.value)
    assert "insecure=True" in err.value.hint

    with pytest.raises(KnativeError) as err:
        oci_shipping("hello", "default", PLAIN, registry=registry.host,
                     base_image=f"{registry.host}/test/nothing:1", cache_dir=layer_cache)
    assert err.value.reason == "NotFound"
    assert f"the base image {registry.host}/test/nothing:1: not found" in str(err.value)
    assert "base_image=" in err.value.hint

    base = push_base(registry.host)
    with pytest.raises(KnativeError) as err:
        oci_shipping("hello", "default", PLAIN, registry=registry.host, base_image=base.replace(":1", ":2"),
                     cache_dir=layer_cache)
    assert err.value.reason == "NotFound" and "MANIFEST_UNKNOWN" in str(err.value)

    # https to a plain-http registry: told to say insecure
    with pytest.raises(KnativeError) as err:
        oci_shipping("hello", "default", PLAIN, registry=registry.host, base_image=base, insecure=False,
                     cache_dir=layer_cache)
    assert err.value.reason == "Unreachable" and "insecure=True" in err.value.hint

    with pytest.raises(ValueError):
        oci_shipping("hello", "default", "def broken(:\n", registry=registry.host, base_image=base)

    # a requirement pip cannot install: pip's own words, and what to do
    with pytest.raises(KnativeError) as err:
        oci_shipping("hello", "default", PLAIN, requirements=["/nonexistent/pkg-1.0-py3-none-any.whl"],
                     registry=registry.host, base_image=base, cache_dir=layer_cache)
    assert err.value.reason == "BuildFailed" and "pip could not install the function's requirements" in str(err.value)
    assert "/nonexistent/pkg-1.0-py3-none-any.whl" in str(err.value) and "wheels" in err.value.hint


def test_basic_auth_registry(tmp_path: Path, layer_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))  # no credentials of this machine's user
    with running_registry(tmp_path / "registry", users={"ada": "s3cret"}) as reg:
        with pytest.raises(KnativeError) as err:
            push_base(reg.host)
        assert err.value.reason == "Unauthorized" and err.value.code == 401
        assert f"the registry {reg.host} requires credentials (401 Unauthorized)" in str(err.value)
        assert f"docker login {reg.host}" in err.value.hint and "username=" in err.value.hint

        base = push_base(reg.host, credentials=Credentials("ada", "s3cret", source="the test"))
        with pytest.raises(KnativeError) as err:
            oci_shipping("hello", "default", PLAIN, registry=reg.host, base_image=base, username="ada",
                         password="wrong", cache_dir=layer_cache)
        assert err.value.reason == "Unauthorized"
        assert "refused the credentials from username= and password=" in str(err.value)

        image, _ = oci_shipping("hello", "default", PLAIN, registry=reg.host, base_image=base, username="ada",
                                password="s3cret", cache_dir=layer_cache)
        with pytest.raises(urllib.error.HTTPError) as refused:
            _get(f"http://{reg.host}/v2/default/hello/manifests/{image.split('@')[1]}")
        assert refused.value.code == 401  # really behind auth

        # what `docker login` leaves in config.json
        (tmp_path / "docker").mkdir()
        auth = "YWRhOnMzY3JldA=="  # base64("ada:s3cret")
        (tmp_path / "docker/config.json").write_text(json.dumps({"auths": {f"http://{reg.host}": {"auth": auth}}}))
        again, _ = oci_shipping("hello", "default", PLAIN, registry=reg.host, base_image=base,
                                cache_dir=layer_cache)
        assert again == image

        # a credential helper is not run, and the message says so
        (tmp_path / "docker/config.json").write_text(json.dumps({"credsStore": "desktop"}))
        with pytest.raises(KnativeError) as err:
            oci_shipping("hello", "default", PLAIN, registry=reg.host, base_image=base, cache_dir=layer_cache)
        assert "docker-credential-desktop" in err.value.hint


def test_bearer_token_registry(tmp_path: Path, layer_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The flow of Docker Hub and ghcr.io: a 401 names a token realm; anonymous tokens may pull, not push."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    with running_registry(tmp_path / "registry", users={"ada": "s3cret"}, token=True) as reg:
        base = push_base(reg.host, credentials=Credentials("ada", "s3cret", source="the test"))
        assert reg.token_requests[0] == {"service": "jupyter-knative-registry", "account": "ada",
                                         "scope": "repository:test/base:pull,push"}
        with Registry(reg.host) as anonymous:  # pulling needs no credentials
            _, media_type, _ = anonymous.get_manifest("test/base", "1")
            assert media_type == OCI_MANIFEST
        assert reg.token_requests[-1]["account"] == ""

        with pytest.raises(KnativeError) as err:  # pushing does
            oci_shipping("hello", "default", PLAIN, registry=reg.host, base_image=base, cache_dir=layer_cache)
        assert err.value.reason == "Unauthorized" and "requires credentials (401 Unauthorized)" in str(err.value)
        with pytest.raises(KnativeError) as err:
            oci_shipping("hello", "default", PLAIN, registry=reg.host, base_image=base, username="ada",
                         password="wrong", cache_dir=layer_cache)
        assert "refused the credentials from username= and password=" in str(err.value)
        assert "the token service" in str(err.value)

        reg.token_requests.clear()
        image, _ = oci_shipping("hello", "default", PLAIN, registry=reg.host, base_image=base, username="ada",
                                password="s3cret", cache_dir=layer_cache)
        scopes = {r["scope"] for r in reg.token_requests}
        assert "repository:default/hello:pull,push repository:test/base:pull" in scopes  # the mount's two scopes
        assert len(reg.token_requests) <= 4, reg.token_requests  # one token per scope, reused
        with Registry(reg.host) as anonymous:
            _, _, digest = anonymous.get_manifest("default/hello", image.split("@")[1])
        assert image.endswith(digest)


def test_chunked_upload_mount_and_digest_checks(registry: LocalRegistry) -> None:
    data = os.urandom(300_000)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with Registry(registry.host) as reg:
        assert not reg.blob_exists("test/chunks", digest)
        assert reg.upload_blob("test/chunks", digest, io.BytesIO(data), len(data), chunk_size=64 * 1024) == "pushed"
        assert reg.blob_exists("test/chunks", digest) and reg.get_blob("test/chunks", digest) == data
        assert reg.mount_blob("test/other", digest, "test/chunks")
        assert reg.get_blob("test/other", digest) == data
        # mounting from a repository without it: the registry opens an upload instead, which is closed
        missing = sha256_digest(b"missing")
        assert not reg.mount_blob("test/other", missing, "test/chunks")
        assert reg.upload_blob("test/third", digest, data, len(data), mount_from="test/chunks") == "mounted"
        with pytest.raises(KnativeError) as err:
            reg.upload_blob("test/chunks", sha256_digest(b"other"), data, len(data))
        assert err.value.reason == "BadRequest" and "DIGEST_INVALID" in str(err.value)
        assert reg.manifest_digest("test/chunks", "nothing") is None
