"""The OCI shipping's pure parts (issue 11, 2b): image references, registry auth challenges, docker config
credentials, platform selection, deterministic layers, configs and manifests."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from jupyter_knative.client.errors import KnativeError
from jupyter_knative.client.oci.auth import Credentials, docker_credentials, parse_challenge
from jupyter_knative.client.oci.image import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Blob,
    Platform,
    derived_config,
    image_manifest,
    parse_platform,
    select_platform,
)
from jupyter_knative.client.oci.layers import (
    Entry,
    LayerCache,
    function_entries,
    pip_platforms,
    python_version,
    runtime_entries,
    tar_layer,
    tree_entries,
)
from jupyter_knative.client.oci.reference import Reference, api_host, default_insecure, parse_reference

# -- references ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("python:3.11-slim", Reference("docker.io", "library/python", "3.11-slim")),
    ("python", Reference("docker.io", "library/python", "latest")),
    ("me/app", Reference("docker.io", "me/app", "latest")),
    ("index.docker.io/library/python:3.12", Reference("docker.io", "library/python", "3.12")),
    ("ghcr.io/me/app:v1", Reference("ghcr.io", "me/app", "v1")),
    ("localhost/app", Reference("localhost", "app", "latest")),
    ("127.0.0.1:5000/team/ns/fn:abc", Reference("127.0.0.1:5000", "team/ns/fn", "abc")),
    ("registry.local:5000/app@sha256:" + "a" * 64, Reference("registry.local:5000", "app", None, "sha256:" + "a" * 64)),
    ("[::1]:5000/app:1", Reference("[::1]:5000", "app", "1")),
])
def test_parse_reference_as_docker_does(text: str, expected: Reference) -> None:
    assert parse_reference(text) == expected


def test_reference_text_and_errors() -> None:
    ref = parse_reference("127.0.0.1:5000/ns/fn:tag")
    assert str(ref) == "127.0.0.1:5000/ns/fn:tag" and ref.reference == "tag"
    pinned = ref.with_digest("sha256:" + "b" * 64)
    assert str(pinned) == "127.0.0.1:5000/ns/fn@sha256:" + "b" * 64 and pinned.reference == pinned.digest
    for bad in ("Upper/Case", "app:bad tag", "app@sha256:short", "", "ghcr.io/"):
        with pytest.raises(KnativeError) as err:
            parse_reference(bad)
        assert err.value.reason == "Invalid" and "python:3.11-slim" in err.value.hint


def test_loopback_registries_are_plain_http_and_hub_has_its_own_api_host() -> None:
    assert all(default_insecure(h) for h in ("localhost:5000", "127.0.0.1:5000", "127.1.2.3", "[::1]:5000",
                                             "localhost", "kind.localhost:5000"))
    assert not any(default_insecure(h) for h in ("ghcr.io", "registry.local:5000", "10.0.0.5:5000", "docker.io"))
    assert api_host("docker.io") == "registry-1.docker.io" and api_host("ghcr.io") == "ghcr.io"


# -- auth ---------------------------------------------------------------------------------------------------------


def test_parse_www_authenticate_challenges() -> None:
    hub = parse_challenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                          'scope="repository:library/python:pull"')
    assert hub is not None and hub.scheme == "bearer" and hub.realm == "https://auth.docker.io/token"
    assert hub.params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                          "scope": "repository:library/python:pull"}
    ghcr = parse_challenge('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull,push",'
                           'error="insufficient_scope"')
    assert ghcr is not None and ghcr.params["scope"] == "repository:a/b:pull,push"
    assert ghcr.params["error"] == "insufficient_scope"
    basic = parse_challenge('Basic realm="jupyter knative \\"tests\\""')
    assert basic is not None and basic.scheme == "basic" and basic.realm == 'jupyter knative "tests"'
    spaced = parse_challenge("bearer realm=https://r.example/token , service=r.example")
    assert spaced is not None and spaced.params == {"realm": "https://r.example/token", "service": "r.example"}
    assert parse_challenge("") is None and parse_challenge('"quoted" x=1') is None


def test_docker_config_credentials(tmp_path: Path) -> None:
    auth = base64.b64encode(b"ada:pa:ss").decode()
    config = {"auths": {
        "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hubuser:hubpass").decode()},
        "ghcr.io": {"auth": auth},
        "http://127.0.0.1:5000": {"username": "bob", "password": "pw"},
        "registry.example": {"auth": base64.b64encode(b"x:y").decode(), "identitytoken": "refresh-me"},
        "empty.example": {},
    }, "credHelpers": {"gcr.io": "gcloud"}}
    hub, note = docker_credentials("docker.io", config)
    assert hub == Credentials("hubuser", "hubpass", source="the docker config") and note == ""
    ghcr, _ = docker_credentials("ghcr.io", config)
    assert ghcr is not None and (ghcr.username, ghcr.password) == ("ada", "pa:ss")
    assert ghcr.basic == "Basic " + base64.b64encode(b"ada:pa:ss").decode()
    local, _ = docker_credentials("127.0.0.1:5000", config)
    assert local is not None and (local.username, local.password) == ("bob", "pw")
    token, _ = docker_credentials("registry.example", config)
    assert token is not None and token.identity_token == "refresh-me" and token.basic is None
    assert docker_credentials("empty.example", config) == (None, "")
    none, note = docker_credentials("gcr.io", config)
    assert none is None and "docker-credential-gcloud" in note and "username=" in note
    store, note = docker_credentials("quay.io", {"auths": {}, "credsStore": "desktop"})
    assert store is None and "docker-credential-desktop" in note
    assert "password" not in repr(ghcr) and "pa:ss" not in repr(ghcr)

    # from a file
    path = tmp_path / "config.json"
    assert docker_credentials("ghcr.io", path=path) == (None, "")  # none there
    path.write_text(json.dumps(config))
    found, _ = docker_credentials("ghcr.io", path=path)
    assert found is not None and found.username == "ada" and found.source == str(path)
    path.write_text("{not json")
    broken, note = docker_credentials("ghcr.io", path=path)
    assert broken is None and "could not be read" in note


# -- platforms ----------------------------------------------------------------------------------------------------


def _index(*platforms: dict[str, str]) -> dict[str, object]:
    entries = [{"mediaType": OCI_MANIFEST, "digest": f"sha256:{i}", "size": 1, "platform": p}
               for i, p in enumerate(platforms)]
    return {"mediaType": OCI_INDEX, "manifests": entries}


def test_select_platform_from_an_index() -> None:
    index = _index({"os": "linux", "architecture": "amd64"}, {"os": "linux", "architecture": "arm", "variant": "v7"},
                   {"os": "linux", "architecture": "arm64", "variant": "v8"},
                   {"os": "unknown", "architecture": "unknown"})
    assert select_platform(index, parse_platform("linux/amd64"))["digest"] == "sha256:0"
    assert select_platform(index, parse_platform("linux/arm64"))["digest"] == "sha256:2"
    assert select_platform(index, parse_platform("linux/arm64/v8"))["digest"] == "sha256:2"
    assert select_platform(index, parse_platform("linux/arm/v7"))["digest"] == "sha256:1"
    with pytest.raises(KnativeError) as err:
        select_platform(index, parse_platform("linux/arm/v6"))
    assert str(err.value) == ("the base image has no linux/arm/v6 image "
                              "(it has: linux/amd64, linux/arm/v7, linux/arm64/v8)")
    both = _index({"os": "linux", "architecture": "arm64", "variant": "v8"}, {"os": "linux", "architecture": "arm64"})
    assert select_platform(both, Platform("linux", "arm64"))["digest"] == "sha256:1"  # the exact one first
    with pytest.raises(KnativeError):
        parse_platform("amd64")
    assert str(parse_platform("linux/arm64/v8")) == "linux/arm64/v8"


def test_pip_platforms_and_python_version() -> None:
    amd = pip_platforms("amd64")
    assert amd[0] == "manylinux_2_28_x86_64" and amd[-1] == "manylinux2014_x86_64" and "manylinux_2_17_x86_64" in amd
    assert pip_platforms("arm64", "v8")[-1] == "manylinux2014_aarch64"
    assert pip_platforms("arm", "v7")[-1] == "manylinux2014_armv7l"
    with pytest.raises(KnativeError) as err:
        pip_platforms("riscv64")
    assert err.value.reason == "NotSupported"
    assert python_version({"PYTHON_VERSION": "3.11.7"}) == "3.11"
    assert python_version({"PYTHON_VERSION": "3.13.0rc1"}) == "3.13"
    assert python_version({}) is None and python_version({"PYTHON_VERSION": "three"}) is None


# -- layers -------------------------------------------------------------------------------------------------------


def _tar(entries: dict[str, Entry]) -> tuple[Blob, bytes]:
    out = io.BytesIO()
    blob = tar_layer(entries, out)
    return blob, out.getvalue()


def test_layers_are_deterministic_and_normalized() -> None:
    entries = {"/function/main.py": Entry(b"print(1)\n"), "/opt/x/bin/tool": Entry(b"#!/bin/sh\n", 0o755),
               "/opt/x/link": Entry(link="bin/tool"), "/function/packages/.keep": Entry()}
    blob, data = _tar(entries)
    again, data2 = _tar(dict(reversed(list(entries.items()))))  # order of the mapping does not matter
    assert (blob, data) == (again, data2)
    assert blob.digest == "sha256:" + hashlib.sha256(data).hexdigest() and blob.size == len(data)
    raw = gzip.decompress(data)
    assert blob.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert data[4:8] == b"\0\0\0\0"  # gzip header without a time
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == ["function", "function/main.py", "function/packages", "function/packages/.keep", "opt", "opt/x",
                     "opt/x/bin", "opt/x/bin/tool", "opt/x/link"]
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.uname == "" and m.gname == "" for m in members)
    modes = {m.name: (m.type, m.mode) for m in members}
    assert modes["opt"] == (tarfile.DIRTYPE, 0o755) and modes["function/main.py"] == (tarfile.REGTYPE, 0o644)
    assert modes["opt/x/bin/tool"] == (tarfile.REGTYPE, 0o755) and modes["opt/x/link"][0] == tarfile.SYMTYPE
    changed, _ = _tar({**entries, "/function/main.py": Entry(b"print(2)\n")})
    assert changed.digest != blob.digest
    with pytest.raises(ValueError):
        _tar({"/a/../etc/passwd": Entry()})
    with pytest.raises(ValueError):
        _tar({"/a": Entry(), "/a/b": Entry()})


def test_tree_and_function_entries(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "pkg" / "__pycache__").mkdir(parents=True)
    (site / "pkg" / "__init__.py").write_text("x = 1\n")
    (site / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0")
    (site / "pkg" / "stray.pyc").write_bytes(b"\0")
    (site / "bin").mkdir()
    (site / "bin" / "tool").write_text("#!/usr/bin/python\n")
    (site / "tool.sh").write_text("#!/bin/sh\n")
    (site / "tool.sh").chmod(0o775)
    (site / "alias.py").symlink_to("pkg/__init__.py")
    entries = tree_entries(site, "/p", skip_top=("bin",))
    assert set(entries) == {"/p/pkg/__init__.py", "/p/tool.sh", "/p/alias.py"}
    assert entries["/p/tool.sh"].mode == 0o755 and entries["/p/pkg/__init__.py"].mode == 0o644
    assert entries["/p/alias.py"].link == "pkg/__init__.py"

    plain = function_entries("src\n", [], None)
    assert plain == {"/function/main.py": Entry(b"src\n"), "/function/packages/.keep": Entry()}
    full = function_entries("src\n", ["six", "attrs>=23"], site)
    assert full["/function/requirements.txt"].data == b"six\nattrs>=23\n"
    assert "/function/packages/pkg/__init__.py" in full and "/function/packages/.keep" not in full

    runtime = runtime_entries()
    assert "/opt/jupyter-knative/jupyter_knative/runtime/serve.py" in runtime
    assert "/opt/jupyter-knative/jupyter_knative/__init__.py" in runtime
    assert not any("/client/" in p or p.endswith(".pyc") for p in runtime)


def test_layer_cache_builds_once(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path / "cache")
    key = cache.key({"layer": "x", "n": 1})
    assert key == cache.key({"n": 1, "layer": "x"}) != cache.key({"layer": "x", "n": 2})
    calls = []

    def entries() -> dict[str, Entry]:
        calls.append(1)
        return {"/a": Entry(b"a")}

    first, cached = cache.build(key, entries)
    assert not cached and first.path.read_bytes()[:2] == b"\x1f\x8b"
    second, cached = cache.build(key, entries)
    assert cached and second == first and len(calls) == 1
    first.path.write_bytes(b"truncated")  # a damaged entry is rebuilt
    third, cached = cache.build(key, entries)
    assert not cached and third.blob == first.blob and len(calls) == 2

    def failing() -> dict[str, Entry]:
        raise KnativeError("pip failed", reason="BuildFailed")

    with pytest.raises(KnativeError):
        cache.build(cache.key({"other": True}), failing)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted([f"{key}.json", f"{key}.tar.gz"])


# -- configs and manifests ----------------------------------------------------------------------------------------

BASE_CONFIG = {
    "architecture": "amd64", "os": "linux", "created": "2024-05-01T00:00:00Z",
    "config": {"Env": ["PATH=/usr/local/bin:/usr/bin", "PYTHON_VERSION=3.11.7", "PORT=80"], "Cmd": ["python3"],
               "ExposedPorts": {"80/tcp": {}}, "WorkingDir": "/"},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:base"]},
    "history": [{"created": "2024-05-01T00:00:00Z", "created_by": "debian"}],
}


def test_derived_config() -> None:
    layers = [Blob("sha256:l1", 10, "sha256:d1"), Blob("sha256:l2", 20, "sha256:d2")]
    config = derived_config(BASE_CONFIG, layers, env={"PORT": "8080", "PYTHONPATH": "/opt"},
                            entrypoint=["python", "-m", "x"], history=["runtime", "function"], user="65532:65532",
                            exposed_port=8080)
    inner = config["config"]
    assert inner["Env"] == ["PATH=/usr/local/bin:/usr/bin", "PYTHON_VERSION=3.11.7", "PORT=8080", "PYTHONPATH=/opt"]
    assert inner["Entrypoint"] == ["python", "-m", "x"] and inner["Cmd"] is None and inner["User"] == "65532:65532"
    assert inner["ExposedPorts"] == {"80/tcp": {}, "8080/tcp": {}} and inner["WorkingDir"] == "/"
    assert config["rootfs"] == {"type": "layers", "diff_ids": ["sha256:base", "sha256:d1", "sha256:d2"]}
    assert [h["created_by"] for h in config["history"]] == ["debian", "runtime", "function"]
    assert config["created"] == "1970-01-01T00:00:00Z" and config["architecture"] == "amd64"
    assert BASE_CONFIG["config"]["Cmd"] == ["python3"]  # the base is not changed
    with pytest.raises(ValueError):
        derived_config(BASE_CONFIG, layers, env={}, entrypoint=[], history=["one"])


def test_image_manifest_keeps_the_base_family() -> None:
    config = Blob("sha256:c", 5)
    base_layers = [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": "sha256:b",
                    "size": 7}]
    layer = Blob("sha256:l", 9, "sha256:d")
    oci = image_manifest(OCI_MANIFEST, config, base_layers, [layer], annotations={"a": "b"})
    assert oci == {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                   "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:c",
                              "size": 5},
                   "layers": [base_layers[0], {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                               "digest": "sha256:l", "size": 9}],
                   "annotations": {"a": "b"}}
    docker = image_manifest(DOCKER_MANIFEST, config, base_layers, [layer], annotations={"a": "b"})
    assert docker["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    assert docker["layers"][1]["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"
    assert "annotations" not in docker
    with pytest.raises(ValueError):
        image_manifest(DOCKER_LIST, config, [], [])
