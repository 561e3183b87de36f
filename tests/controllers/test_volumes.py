"""The kubelet's volumes: what a pod's ConfigMap, Secret and emptyDir volumes hold (pure tables, with the
kubelet's messages), the mount tables a replica gets, and the folders they live in."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from jupyter_knative.controllers.replicaset.pods import (
    CONFIG_MAP,
    SECRET,
    Mount,
    MountError,
    Volume,
    container_mounts,
    mount_tables,
    object_files,
    plan_volumes,
    project,
    volume_backoff,
)
from jupyter_knative.controllers.replicaset.volumes import VolumeHost


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


OBJECTS: dict[tuple[str, str], dict[str, Any]] = {
    (CONFIG_MAP, "fn"): {"data": {"main.py": "print(1)\n", "requirements.txt": "six\n"},
                         "binaryData": {"blob.bin": b64(b"\x00\xff")}},
    (CONFIG_MAP, "empty"): {},
    (SECRET, "creds"): {"data": {"token": b64("s3cret"), "user": b64("me")}},
}


def lookup(kind: str, name: str) -> dict[str, Any] | None:
    return OBJECTS.get((kind, name))


def pod(*volumes: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"volumes": list(volumes), "containers": [{"name": "user-container"}]}}


@pytest.mark.parametrize(("volume", "files"), [
    pytest.param({"name": "v", "configMap": {"name": "fn"}},
                 {"main.py": b"print(1)\n", "requirements.txt": b"six\n", "blob.bin": b"\x00\xff"}, id="configmap"),
    pytest.param({"name": "v", "configMap": {"name": "fn", "items": [{"key": "main.py", "path": "src/app.py"}]}},
                 {"src/app.py": b"print(1)\n"}, id="items"),
    pytest.param({"name": "v", "configMap": {"name": "fn", "items": [{"key": "nope", "path": "x"},
                                                                      {"key": "main.py", "path": "m.py"}],
                                             "optional": True}},
                 {"m.py": b"print(1)\n"}, id="items-optional-missing-key"),
    pytest.param({"name": "v", "configMap": {"name": "gone", "optional": True}}, {}, id="optional-missing"),
    pytest.param({"name": "v", "configMap": {"name": "empty"}}, {}, id="empty"),
    pytest.param({"name": "v", "secret": {"secretName": "creds"}}, {"token": b"s3cret", "user": b"me"}, id="secret"),
    pytest.param({"name": "v", "secret": {"secretName": "creds", "items": [{"key": "token", "path": "t"}],
                                          "defaultMode": 0o400}}, {"t": b"s3cret"}, id="secret-items"),
    pytest.param({"name": "v", "secret": {"secretName": "gone", "optional": True}}, {}, id="secret-optional"),
])
def test_what_a_volume_holds(volume: dict[str, Any], files: dict[str, bytes]) -> None:
    [planned] = plan_volumes(pod(volume), lookup)
    assert planned == Volume("v", files, shared=True)


@pytest.mark.parametrize(("volume", "message", "waiting_on"), [
    pytest.param({"name": "function", "configMap": {"name": "x"}},
                 'MountVolume.SetUp failed for volume "function" : configmap "x" not found', (CONFIG_MAP, "x"),
                 id="configmap-not-found"),
    pytest.param({"name": "creds", "secret": {"secretName": "y"}},
                 'MountVolume.SetUp failed for volume "creds" : secret "y" not found', (SECRET, "y"),
                 id="secret-not-found"),
    pytest.param({"name": "v", "configMap": {"name": "fn", "items": [{"key": "nope", "path": "x"}]}},
                 'MountVolume.SetUp failed for volume "v" : configmap references non-existent config key: nope',
                 None, id="configmap-key"),
    pytest.param({"name": "v", "secret": {"secretName": "creds", "items": [{"key": "nope", "path": "x"}]}},
                 'MountVolume.SetUp failed for volume "v" : references non-existent secret key: nope', None,
                 id="secret-key"),
])
def test_what_fails_a_mount(volume: dict[str, Any], message: str, waiting_on: tuple[str, str] | None) -> None:
    with pytest.raises(MountError) as info:
        plan_volumes(pod(volume), lookup)
    assert (info.value.message, info.value.waiting_on) == (message, waiting_on)


def test_empty_dirs_are_the_pods_own_and_other_types_are_not_set_up() -> None:
    planned = plan_volumes(pod({"name": "scratch", "emptyDir": {"medium": "Memory"}},
                               {"name": "claim", "persistentVolumeClaim": {"claimName": "c"}},
                               {"name": "host", "hostPath": {"path": "/etc"}},
                               {"name": "fn", "configMap": {"name": "empty"}}), lookup)
    assert planned == [Volume("scratch", {}, shared=False), Volume("fn", {}, shared=True)]


@pytest.mark.parametrize(("items", "files"), [
    pytest.param(None, {"ok": b"1"}, id="keys-that-are-not-paths-dropped"),
    pytest.param([{"key": "ok", "path": "/abs"}, {"key": "ok", "path": "../up"}, {"key": "ok", "path": "d/f"}],
                 {"d/f": b"1"}, id="unsafe-item-paths-dropped"),
    pytest.param([{"key": "ok"}], {"ok": b"1"}, id="path-defaults-to-key"),
])
def test_projection_never_leaves_the_folder(items: list[dict[str, str]] | None, files: dict[str, bytes]) -> None:
    assert project(CONFIG_MAP, "v", {"ok": b"1", "a/../b": b"2"}, items, False) == files


def test_object_files_decode_what_is_encoded() -> None:
    assert object_files(CONFIG_MAP, {"data": {"t": "é"}, "binaryData": {"b": b64(b"\x01")}}) == \
        {"t": "é".encode(), "b": b"\x01"}
    assert object_files(SECRET, {"data": {"t": b64("v")}, "stringData": {"ignored": "x"}}) == {"t": b"v"}


def test_container_mounts_normalise_paths_and_keep_sub_paths() -> None:
    container = {"volumeMounts": [{"name": "fn", "mountPath": "/function/", "readOnly": True},
                                  {"name": "fn", "mountPath": "/etc//app.py", "subPath": "main.py"},
                                  {"name": "bad", "mountPath": "relative"}, {"mountPath": "/no-name"}]}
    assert container_mounts(container) == [Mount("/function", "fn"), Mount("/etc/app.py", "fn", "main.py")]


@pytest.mark.parametrize(("mounts", "shared", "table"), [
    pytest.param([Mount("/function", "fn")], {"/function": "/h/fn"}, {"/function": "/h/fn"}, id="configmap"),
    pytest.param([Mount("/function", "fn"), Mount("/scratch", "tmp")], {"/function": "/h/fn"},
                 {"/function": "/h/fn", "/scratch": "/h/pod/tmp"}, id="empty-dir-is-the-pods-own"),
    pytest.param([Mount("/app/main.py", "fn", "main.py")], {"/app/main.py": "/h/fn/main.py"},
                 {"/app/main.py": "/h/fn/main.py"}, id="sub-path"),
    pytest.param([Mount("/data", "claim")], {}, {}, id="not-set-up"),
])
def test_mount_tables(mounts: list[Mount], shared: dict[str, str], table: dict[str, str]) -> None:
    volumes = [Volume("fn", {}, shared=True), Volume("tmp", {}, shared=False)]
    assert mount_tables(mounts, volumes, {"fn": "/h/fn", "tmp": "/h/pod/tmp"}) == (shared, table)


@pytest.mark.parametrize(("failures", "delay"), [(1, 0.5), (2, 1.0), (5, 8.0), (9, 122.0), (40, 122.0)])
def test_volume_backoff(failures: int, delay: float) -> None:
    assert volume_backoff(failures) == delay


def test_same_content_is_one_folder_shared_until_its_last_pod_goes(tmp_path: Path) -> None:
    host = VolumeHost(tmp_path / "volumes")
    fn = Volume("fn", {"main.py": b"x = 1\n", "lib/util.py": b"y = 2\n"}, shared=True)
    a = host.setup("pod-a", "uid-a", [fn, Volume("scratch", {}, shared=False)])
    b = host.setup("pod-b", "uid-b", [fn, Volume("scratch", {}, shared=False)])
    assert a["fn"] == b["fn"] and a["scratch"] != b["scratch"]
    folder = Path(a["fn"])
    assert (folder / "main.py").read_bytes() == b"x = 1\n" and (folder / "lib" / "util.py").is_file()
    assert Path(a["scratch"]).is_dir() and not any(Path(a["scratch"]).iterdir())
    (Path(a["scratch"]) / "written").write_text("kept across a restart")
    again = host.setup("pod-a", "uid-a", [fn, Volume("scratch", {}, shared=False)])  # the container restarted
    assert (Path(again["scratch"]) / "written").is_file()
    host.release("pod-a")
    assert folder.is_dir() and not Path(a["scratch"]).exists()
    host.release("pod-b")
    assert not folder.exists() and host.folders() == []
    host.release("pod-b")  # twice is harmless


def test_changed_content_moves_a_pod_to_a_new_folder(tmp_path: Path) -> None:
    host = VolumeHost(tmp_path)
    first = host.setup("pod", "uid", [Volume("fn", {"a": b"1"}, shared=True)])
    second = host.setup("pod", "uid", [Volume("fn", {"a": b"2"}, shared=True)])
    assert first != second and not Path(first["fn"]).exists() and Path(second["fn"]).is_dir()


def test_reset_empties_what_an_earlier_run_left(tmp_path: Path) -> None:
    host = VolumeHost(tmp_path)
    old = host.setup("pod", "uid", [Volume("fn", {"a": b"1"}, shared=True), Volume("e", {}, shared=False)])
    VolumeHost(tmp_path).reset()
    assert not any(Path(p).exists() for p in old.values())


@pytest.mark.parametrize(("a", "b", "same"), [
    ({"a": b"1"}, {"a": b"1"}, True),
    ({"a": b"1"}, {"b": b"1"}, False),
    ({"a": b"1", "b": b""}, {"a": b"1b:0:"}, False),  # no path/content confusion
    ({}, {}, True),
])
def test_volume_digest(a: dict[str, bytes], b: dict[str, bytes], same: bool) -> None:
    assert (Volume("x", a, True).digest() == Volume("y", b, True).digest()) is same
