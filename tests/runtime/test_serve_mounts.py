"""The runtime image on the embedded plane: its references resolve to kind `runtime` (with stable digests), and
`serve.load_function` reads the paths its environment names through the kubelet's mount table, puts
preinstalled packages first and installs requirements once into a cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_knative.controllers.serving.images import UNRUNNABLE, ImageResolver
from jupyter_knative.runtime.artifacts import RUNTIME_REPOSITORY, resolve
from jupyter_knative.runtime.serve import StartupError, host_path, parse_mounts

from .test_deps import make_wheel, offline_env

MOUNTS = {"/function": "/h/fn", "/function/extra": "/h/extra", "/etc/app.py": "/h/fn/main.py", "/data": "/h/data/"}


@pytest.mark.parametrize(("path", "expected"), [
    pytest.param("/function/main.py", "/h/fn/main.py", id="under-a-mount"),
    pytest.param("/function", "/h/fn", id="the-mount-itself"),
    pytest.param("/function/", "/h/fn", id="trailing-slash"),
    pytest.param("/function/a/../main.py", "/h/fn/main.py", id="normalised"),
    pytest.param("//function/main.py", "/h/fn/main.py", id="double-slash"),
    pytest.param("/function/extra/x.py", "/h/extra/x.py", id="deepest-mount-wins"),
    pytest.param("/functions/main.py", "/functions/main.py", id="a-prefix-is-not-a-parent"),
    pytest.param("/etc/app.py", "/h/fn/main.py", id="a-file-mount"),
    pytest.param("/data/x", "/h/data/x", id="host-with-slash"),
    pytest.param("/other/main.py", "/other/main.py", id="unmounted"),
    pytest.param("relative/main.py", "relative/main.py", id="relative"),
])
def test_host_path(path: str, expected: str) -> None:
    assert host_path(path, MOUNTS) == expected


def test_host_path_with_no_table_and_with_a_root_mount() -> None:
    assert host_path("/function/main.py", {}) == "/function/main.py"
    assert host_path("/x/y", {"/": "/h/root"}) == "/h/root/x/y"


@pytest.mark.parametrize(("text", "table"), [
    (None, {}), ("", {}), ('{"/function/": "/h"}', {"/function": "/h"}), ("{}", {}),
])
def test_parse_mounts(text: str | None, table: dict[str, str]) -> None:
    assert parse_mounts(text) == table


@pytest.mark.parametrize("text", ["not json", "[]", '{"relative": "/h"}', '{"/a": 1}', '{"/a": ""}'])
def test_parse_mounts_refuses(text: str) -> None:
    with pytest.raises(StartupError, match="JUPYTER_KNATIVE_MOUNTS"):
        parse_mounts(text)


@pytest.mark.parametrize("image", [
    "ghcr.io/jupyter-knative/function-runtime:0.1",
    "ghcr.io/jupyter-knative/function-runtime",
    "GHCR.io/jupyter-knative/function-runtime:latest",
    "ghcr.io/jupyter-knative/function-runtime@sha256:" + "a" * 64,
    "ghcr.io/jupyter-knative/function-runtime:0.2@sha256:" + "b" * 64,
])
def test_runtime_references_resolve(image: str, tmp_path: Path) -> None:
    resolved = resolve(image, tmp_path)
    assert resolved is not None and (resolved.kind, resolved.name, resolved.path) == ("runtime", "function-runtime",
                                                                                      None)
    assert resolved.digest == (image.split("@")[1] if "@" in image else None)


@pytest.mark.parametrize("image", ["ghcr.io/jupyter-knative/other:0.1", "ghcr.io/jupyter-knative/function-runtime2",
                                   "docker.io/jupyter-knative/function-runtime:0.1"])
def test_other_names_do_not(image: str, tmp_path: Path) -> None:
    assert resolve(image, tmp_path) is None
    assert ImageResolver(tmp_path)(image, "default") == (None, UNRUNNABLE)


def test_the_unrunnable_message_names_the_runtime_image() -> None:
    assert f"the function runtime image ({RUNTIME_REPOSITORY}, any tag" in UNRUNNABLE


def test_runtime_digests_are_stable_per_tag_and_kept_when_given(tmp_path: Path) -> None:
    images = ImageResolver(tmp_path)
    first, error = images("ghcr.io/jupyter-knative/function-runtime:0.1", "ns")
    assert error is None and first is not None and first.startswith(f"{RUNTIME_REPOSITORY}@sha256:")
    assert images("ghcr.io/jupyter-knative/function-runtime:0.1", "other") == (first, None)
    assert images("ghcr.io/jupyter-knative/function-runtime:0.2", "ns")[0] != first
    assert images("ghcr.io/jupyter-knative/function-runtime", "ns") == \
        images("ghcr.io/jupyter-knative/function-runtime:latest", "ns")
    pinned = f"{RUNTIME_REPOSITORY}@sha256:{'c' * 64}"
    assert images(pinned, "ns") == (pinned, None)
    assert images(first, "ns") == (first, None)  # what a revision pinned resolves to itself


LOADER = """
import json, sys
from jupyter_knative.runtime.replica import load_image
loaded = load_image(sys.argv[1], __import__("pathlib").Path(sys.argv[2]))
module = sys.modules["main"]
print(json.dumps({"kind": loaded.kind, "target": loaded.target, "file": module.__file__,
                  "answer": module.ANSWER, "path": sys.path}))
"""


def load_in_child(image: str, store: Path, env: dict[str, str]) -> dict[str, Any]:
    child = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_KNATIVE_")} | env
    proc = subprocess.run([sys.executable, "-c", LOADER, image, str(store)], env=child, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_load_image_reads_the_function_through_the_mounts_with_packages_first(tmp_path: Path) -> None:
    fn, pkgs = tmp_path / "host-fn", tmp_path / "host-pkgs"
    fn.mkdir()
    (pkgs / "jkbaked").mkdir(parents=True)
    (pkgs / "jkbaked" / "__init__.py").write_text("VALUE = 'baked'\n")
    (fn / "main.py").write_text("import jkbaked\nANSWER = jkbaked.VALUE\n\ndef handle(request):\n    return ANSWER\n")
    env = {"JUPYTER_KNATIVE_MOUNTS": json.dumps({"/function": str(fn), "/opt/pkgs": str(pkgs)}),
           "JUPYTER_KNATIVE_FUNCTION": "/function/main.py", "JUPYTER_KNATIVE_PACKAGES": "/opt/pkgs",
           "JUPYTER_KNATIVE_HANDLER": "handle"}
    result = load_in_child("ghcr.io/jupyter-knative/function-runtime:0.1", tmp_path / "store", env)
    assert result["file"] == str(fn / "main.py") and result["answer"] == "baked"
    assert result["target"] == "handle"
    # the function's own folder first (as for any artifact), then the image's packages, then the runtime's own
    assert result["path"][:2] == [str(fn), str(pkgs)]


def test_the_default_function_path_is_mounted_too(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("ANSWER = 42\n\ndef main(request):\n    return 'x'\n")
    env = {"JUPYTER_KNATIVE_MOUNTS": json.dumps({"/function": str(tmp_path)})}
    assert load_in_child("ghcr.io/jupyter-knative/function-runtime", tmp_path / "store", env)["answer"] == 42


def test_requirements_are_installed_once_into_the_stores_cache(tmp_path: Path) -> None:
    wheels, fn, store = tmp_path / "wheels", tmp_path / "fn", tmp_path / "store"
    make_wheel(wheels, "jkcached", "1.0", {"jkcached.py": "VALUE = 'cached'\n"})
    fn.mkdir()
    (fn / "main.py").write_text("import jkcached\nANSWER = jkcached.VALUE\n\ndef main(request):\n    return 1\n")
    (fn / "requirements.txt").write_text("# pinned\njkcached==1.0\n")
    env = offline_env(wheels) | {"JUPYTER_KNATIVE_MOUNTS": json.dumps({"/function": str(fn)}),
                                 "JUPYTER_KNATIVE_REQUIREMENTS": "/function/requirements.txt"}
    env = {k: v for k, v in env.items() if not k.startswith("JUPYTER_KNATIVE_") or k in
           ("JUPYTER_KNATIVE_MOUNTS", "JUPYTER_KNATIVE_REQUIREMENTS")}
    first = load_in_child("ghcr.io/jupyter-knative/function-runtime:0.1", store, env)
    assert first["answer"] == "cached"
    [installed] = (store / "runtime-deps").iterdir()
    assert first["path"][1] == str(installed) and (installed / "jkcached.py").is_file()
    (wheels / "jkcached-1.0-py3-none-any.whl").unlink()  # a second start cannot install: it must not need to
    assert load_in_child("ghcr.io/jupyter-knative/function-runtime:0.1", store, env)["answer"] == "cached"
    assert list((store / "runtime-deps").iterdir()) == [installed]
