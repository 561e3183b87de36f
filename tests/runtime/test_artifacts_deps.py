"""Artifacts with requirements, source folders, image tags, and pre-imports in the zygote (offline: local wheels)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_knative.controllers.serving.images import ImageResolver
from jupyter_knative.runtime import (
    DependencyError,
    FreshSpawner,
    ZygoteClient,
    package_folder,
    package_function,
    parse_ref,
    resolve,
    tag_image,
)
from jupyter_knative.runtime import deps as deps_module
from jupyter_knative.runtime.artifacts import METADATA_FILE

from .test_deps import make_wheel

HELLO = "def handler(request):\n    return 'hello'\n"


@pytest.fixture
def wheelhouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Local wheels, and pip pointed at them only (no index): what `package_function` sees in this test."""
    house = tmp_path / "wheelhouse"
    make_wheel(house, "jkn-alpha", "1.0", {"jkn_alpha.py": "import jkn_beta\nVALUE = 'alpha' + jkn_beta.VALUE\n"},
               ["jkn-beta>=2"])
    make_wheel(house, "jkn-beta", "2.1", {"jkn_beta.py": "VALUE = '-beta'\n"})
    for key in [k for k in os.environ if k.startswith("PIP_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(house))
    return house


def metadata_of(ref: str, store: Path) -> dict[str, Any]:
    parsed = parse_ref(ref)
    assert parsed is not None
    result: dict[str, Any] = json.loads((store / "sha256" / parsed[2] / METADATA_FILE).read_text())
    return result


# requirements


def test_requirements_are_resolved_installed_and_covered_by_the_digest(tmp_path: Path, wheelhouse: Path) -> None:
    store, lines = tmp_path / "store", list[str]()
    plain = package_function(HELLO, name="fn", store=store)
    ref = package_function(HELLO, name="fn", store=store, requirements=["jkn-alpha"], log=lines.append)
    assert ref != plain
    metadata = metadata_of(ref, store)
    assert metadata["requested"] == ["jkn-alpha"]
    assert metadata["requirements"] == ["jkn-alpha==1.0", "jkn-beta==2.1"]
    assert metadata["deps"].startswith("deps/sha256/") and (store / metadata["deps"] / "jkn_alpha.py").is_file()
    assert any("Successfully installed jkn-alpha-1.0 jkn-beta-2.1" in line for line in lines)
    resolved = resolve(ref, store)
    assert resolved is not None and resolved.deps == store / metadata["deps"]


def test_the_second_package_runs_no_pip(tmp_path: Path, wheelhouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store"
    first = package_function(HELLO, name="fn", store=store, requirements=["jkn-alpha"])

    def no_pip(*args: object) -> deps_module.PipResult:
        raise AssertionError(f"pip ran again: {args}")

    monkeypatch.setattr(deps_module, "run_pip", no_pip)
    other = package_function(HELLO + "# changed\n", name="other", store=store, requirements=["jkn-alpha"])
    assert metadata_of(other, store)["deps"] == metadata_of(first, store)["deps"]  # one set, shared
    assert package_function(HELLO, name="fn", store=store, requirements=["jkn-alpha"]) == first


def test_a_missing_requirement_fails_packaging_and_writes_no_artifact(tmp_path: Path, wheelhouse: Path) -> None:
    store = tmp_path / "store"
    with pytest.raises(DependencyError, match=r"could not install 'jkn-nothing': no index reachable"):
        package_function(HELLO, name="fn", store=store, requirements=["jkn-nothing"])
    assert not (store / "sha256").exists()


def test_no_requirements_means_no_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deps_module, "run_pip", None)  # would fail if called
    ref = package_function(HELLO, name="fn", store=tmp_path, requirements=[])
    assert metadata_of(ref, tmp_path)["deps"] is None and not (tmp_path / "deps").exists()


# folders

KN_FUNC = {
    "pyproject.toml": '[project]\nname = "function"\nversion = "0.1.0"\ndependencies = ["jkn-alpha"]\n',
    "function/__init__.py": "from .func import new\n",
    "function/func.py": textwrap.dedent("""
        import os
        import jkn_alpha
        from .greeting import greet

        def new():
            return Function()

        class Function:
            async def handle(self, scope, receive, send):
                body = f"{greet()} {jkn_alpha.VALUE} {jkn_alpha.IMPORTED_IN} {os.getpid()}".encode()
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": body})
    """),
    "function/greeting.py": "def greet():\n    return 'hi'\n",
    "tests/test_func.py": "import pytest\n",
    "README.md": "# fn\n",
}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def test_a_kn_func_folder_keeps_every_python_file(tmp_path: Path, wheelhouse: Path) -> None:
    folder = write_tree(tmp_path / "src", KN_FUNC)
    ref = package_folder(folder, name="fn", store=tmp_path / "store")
    metadata = metadata_of(ref, tmp_path / "store")
    assert metadata["source"] == "function/func.py" and metadata["entrypoint"] is None
    assert sorted(metadata["files"]) == ["function/__init__.py", "function/func.py", "function/greeting.py",
                                         "tests/test_func.py"]
    assert metadata["requirements"] == ["jkn-alpha==1.0", "jkn-beta==2.1"]
    resolved = resolve(ref, tmp_path / "store")
    assert resolved is not None and resolved.source is not None
    assert resolved.source.read_text() == KN_FUNC["function/func.py"]
    (folder / "function" / "greeting.py").write_text("def greet():\n    return 'hello'\n")
    assert package_folder(folder, name="fn", store=tmp_path / "store") != ref  # a sibling module is covered


def test_a_classic_folder_with_requirements_txt(tmp_path: Path, wheelhouse: Path) -> None:
    folder = write_tree(tmp_path / "src", {"func.py": "import helper\ndef main(request):\n    return helper.X\n",
                                           "helper.py": "X = 1\n", "requirements.txt": "# deps\njkn-beta\n",
                                           "pyproject.toml": "[project]\ndependencies = ['ignored']\n"})
    metadata = metadata_of(package_folder(folder, name="fn", store=tmp_path / "store"), tmp_path / "store")
    assert (metadata["source"], metadata["requirements"]) == ("func.py", ["jkn-beta==2.1"])
    assert sorted(metadata["files"]) == ["func.py", "helper.py"]


def test_a_main_py_folder_without_requirements(tmp_path: Path) -> None:
    folder = write_tree(tmp_path / "src", {"main.py": HELLO, ".venv/lib/x.py": "", "__pycache__/main.py": ""})
    metadata = metadata_of(package_folder(folder, name="fn", store=tmp_path / "store"), tmp_path / "store")
    assert (metadata["source"], sorted(metadata["files"]), metadata["deps"]) == ("main.py", ["main.py"], None)


def test_a_folder_without_a_function_is_refused(tmp_path: Path) -> None:
    folder = write_tree(tmp_path / "src", {"app.py": HELLO, "requirements.txt": "x\n"})
    with pytest.raises(ValueError, match=r"has no function: expected one of func.py, main.py, function/func.py; "
                                         r"found app.py, requirements.txt"):
        package_folder(folder, name="fn", store=tmp_path / "store")
    with pytest.raises(ValueError, match="does not exist"):
        package_folder(tmp_path / "missing", name="fn", store=tmp_path / "store")


def test_a_folder_entry_that_does_not_compile(tmp_path: Path) -> None:
    folder = write_tree(tmp_path / "src", {"func.py": "def main(request):\n    return (\n"})
    with pytest.raises(ValueError, match=r"function 'fn' does not compile: .* at line 2"):
        package_folder(folder, name="fn", store=tmp_path / "store")


# tags


def test_tags_follow_any_spelling_and_the_latest_write(tmp_path: Path) -> None:
    one = package_function(HELLO, name="one", namespace="team", store=tmp_path)
    two = package_function(HELLO + "\n", name="two", store=tmp_path)
    tag_image("docker.io/library/fn", one, tmp_path)
    for spelling in ("fn", "fn:latest", "docker.io/fn:latest", "index.docker.io/library/fn"):
        resolved = resolve(spelling, tmp_path)
        assert resolved is not None and resolved.reference == one, spelling
    assert resolve("fn:v2", tmp_path) is None
    tag_image("fn", two, tmp_path)
    resolved = resolve("fn", tmp_path)
    assert resolved is not None and (resolved.reference, resolved.name) == (two, "two")


def test_a_digest_of_a_tagged_name_resolves(tmp_path: Path) -> None:
    ref = package_function(HELLO, name="fn", store=tmp_path)
    digest = ref.split("@")[1]
    assert resolve(f"registry.example.com/team/fn@{digest}", tmp_path) is None  # never tagged with it
    tag_image("registry.example.com/team/fn:v1", ref, tmp_path)
    resolved = resolve(f"registry.example.com/team/fn@{digest}", tmp_path)
    assert resolved is not None and resolved.reference == ref
    assert resolve(f"registry.example.com/team/fn@sha256:{'0' * 64}", tmp_path) is None


def test_a_tag_wins_over_a_sample_of_the_same_name(tmp_path: Path) -> None:
    ref = package_function(HELLO, name="fn", store=tmp_path)
    tag_image("ghcr.io/knative/helloworld-go:latest", ref, tmp_path)
    resolved = resolve("ghcr.io/knative/helloworld-go", tmp_path)
    assert resolved is not None and resolved.kind == "artifact"
    assert resolve("ghcr.io/knative/helloworld-go:v2", tmp_path) is not None  # the sample, other tags


@pytest.mark.parametrize(("image", "resolved", "message"), [
    ("fn", "fn:latest", "must be a dev.local/"),
    ("fn", f"dev.local/default/fn@sha256:{'1' * 64}", "must name an artifact present"),
    ("fn:bad tag!", None, "tag 'bad tag!', must be"),
])
def test_bad_tags(tmp_path: Path, image: str, resolved: str | None, message: str) -> None:
    ref = resolved or package_function(HELLO, name="fn", store=tmp_path)
    with pytest.raises(ValueError, match=message):
        tag_image(image, ref, tmp_path)


def test_revisions_pin_the_digest_a_tag_meant(tmp_path: Path) -> None:
    ref = package_function(HELLO, name="fn", store=tmp_path)
    resolver = ImageResolver(tmp_path)
    assert resolver("registry.example.com/team/fn:v1", "default")[0] is None
    tag_image("registry.example.com/team/fn:v1", ref, tmp_path)
    assert resolver("registry.example.com/team/fn:v1", "default") == (ref, None)
    assert resolver(ref, "default") == (ref, None)


# pre-imports in the zygote


def listening_socket() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock, sock.getsockname()[1]


async def get(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split()[1] == b"200", raw
    return body


@pytest.fixture
def probed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A kn func folder whose dependency records, in a file, each process that imports it."""
    record = tmp_path / "imports.log"
    house = tmp_path / "probe-wheels"
    make_wheel(house, "jkn-alpha", "1.0", {"jkn_alpha.py": textwrap.dedent(f"""
        import os
        IMPORTED_IN = os.getpid()
        VALUE = "alpha"
        with open({str(record)!r}, "a") as f:
            f.write(f"{{IMPORTED_IN}}\\n")
    """)})
    for key in [k for k in os.environ if k.startswith("PIP_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(house))
    return write_tree(tmp_path / "src", KN_FUNC), record


@pytest.fixture
async def started() -> AsyncIterator[list[Any]]:
    clients: list[Any] = []
    yield clients
    for client in clients:
        await client.stop(1.0)


@pytest.mark.parametrize("spawner", [ZygoteClient, FreshSpawner], ids=["zygote", "fresh"])
async def test_dependencies_are_imported_once_in_the_zygote(tmp_path: Path, probed: tuple[Path, Path],
                                                            started: list[Any], spawner: Any) -> None:
    folder, record = probed
    store = tmp_path / "store"
    ref = package_folder(folder, name="fn", store=store)
    client = await spawner.start(ref, store=store, workdir=tmp_path / "work")
    started.append(client)
    bodies = []
    for i in range(2):
        sock, port = listening_socket()
        await client.fork(sock, {}, tmp_path / f"r{i}.log", f"r{i}")
        sock.close()
        bodies.append((await get(port)).decode().split())
    imports = record.read_text().split()
    for greeting, value, *_ in bodies:
        assert (greeting, value) == ("hi", "alpha")  # a sibling module and the dependency both import
    if spawner is ZygoteClient:
        assert imports == [str(client.pid)]  # once, before the forks
        assert {b[2] for b in bodies} == {str(client.pid)} and len({b[3] for b in bodies}) == 2
    else:
        assert sorted(imports) == sorted(b[3] for b in bodies)  # every fresh replica pays for the import
