"""Dependency sets: pure parsing and keys, then real pip against wheels built here (never the network)."""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import threading
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from jupyter_knative.runtime.deps import (
    DependencyError,
    Installer,
    Package,
    PipResult,
    canonical_name,
    dependency_error,
    missing_requirements,
    normalize_requirements,
    packages_of,
    parse_requirements_text,
    requirement_name,
    run_pip,
    set_key,
    wheel_identity,
)
from jupyter_knative.runtime.loader import add_dependencies


def make_wheel(directory: Path, name: str, version: str, files: Mapping[str, str],
               requires: Sequence[str] = ()) -> Path:
    """A minimal pure-Python wheel, written by hand (a zip with METADATA, WHEEL and RECORD)."""
    dist = f"{name.replace('-', '_')}-{version}.dist-info"
    contents = dict(files)
    contents[f"{dist}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                    + "".join(f"Requires-Dist: {r}\n" for r in requires))
    contents[f"{dist}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for path, text in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    contents[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in contents.items():
            archive.writestr(path, text)
    return wheel


def offline_env(wheelhouse: Path) -> dict[str, str]:
    """pip with no index at all: only the wheels built by the test (and the plane's installed packages)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**env, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)}


class CountingRunner:
    """The real pip, with a record of each invocation's first arguments."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.lock = threading.Lock()

    def __call__(self, args: Sequence[str], env: Mapping[str, str], log: Callable[[str], None]) -> PipResult:
        with self.lock:
            self.calls.append(list(args))
        return run_pip(args, env, log)

    def count(self, *words: str) -> int:
        return sum(all(w in call for w in words) for call in self.calls)


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    house = tmp_path / "wheelhouse"
    make_wheel(house, "jkn-alpha", "1.0", {"jkn_alpha.py": "import jkn_beta\nVALUE = 'alpha' + jkn_beta.VALUE\n"},
               ["jkn-beta>=2"])
    make_wheel(house, "jkn-beta", "2.1", {"jkn_beta.py": "VALUE = '-beta'\n"})
    make_wheel(house, "jkn-beta", "1.0", {"jkn_beta.py": "VALUE = '-old-beta'\n"})
    return house


# pure


@pytest.mark.parametrize(("given", "expected"), [
    pytest.param(["b", " a ", "", "# comment", "a"], ("a", "b"), id="strip-dedupe-sort"),
    pytest.param(["requests==2.32.3  # pinned"], ("requests==2.32.3",), id="inline-comment"),
    pytest.param([], (), id="empty"),
])
def test_normalize_requirements(given: list[str], expected: tuple[str, ...]) -> None:
    assert normalize_requirements(given) == expected


def test_a_pip_option_is_not_a_requirement() -> None:
    with pytest.raises(ValueError, match=r"requirements\[1\] = '--index-url x', must be a requirement"):
        normalize_requirements(["ok", "--index-url x"])


def test_requirements_text_with_includes() -> None:
    files = {"base.txt": "jkn-beta>=2\n"}
    text = "# top\njkn-alpha==1.0 ; python_version >= '3'\n\n-r base.txt\n"
    assert parse_requirements_text(text, include=files.__getitem__) == ["jkn-alpha==1.0 ; python_version >= '3'",
                                                                        "jkn-beta>=2"]
    with pytest.raises(ValueError, match=r"requirements.txt line 2: '--extra-index-url x' is a pip option"):
        parse_requirements_text("a\n--extra-index-url x\n")


@pytest.mark.parametrize(("requirement", "name"), [
    ("Requests[socks]>=2", "requests"), ("zope.interface", "zope-interface"), ("my_pkg @ file:///x", "my-pkg"),
    ("./local/project", None), ("https://example.com/x.whl", None),
])
def test_requirement_name(requirement: str, name: str | None) -> None:
    assert requirement_name(requirement) == name


@pytest.mark.parametrize(("filename", "identity"), [
    ("jkn_alpha-1.0-py3-none-any.whl", ("jkn-alpha", "1.0")),
    ("numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl", ("numpy", "2.1.0")),
    ("jkn_alpha-1.0.tar.gz", None),
])
def test_wheel_identity(filename: str, identity: tuple[str, str] | None) -> None:
    assert wheel_identity(filename) == identity


def test_packages_of_a_report_are_canonical_and_sorted() -> None:
    report = {"install": [
        {"metadata": {"name": "Jkn_Beta", "version": "2.1"}, "is_direct": False,
         "download_info": {"url": "https://files.example/jkn_beta-2.1-py3-none-any.whl"}},
        {"metadata": {"name": "jkn.alpha", "version": "1.0"}, "is_direct": True,
         "download_info": {"url": "file:///src/alpha"}},
    ]}
    packages = packages_of(report)
    assert [p.pin for p in packages] == ["jkn-alpha @ file:///src/alpha", "jkn-beta==2.1"]
    assert packages[1].location == "https://files.example/jkn_beta-2.1-py3-none-any.whl"


def test_the_set_key_ignores_where_a_wheel_came_from_but_not_the_interpreter() -> None:
    here = [Package("a", "1", None, "file:///cache/a-1-py3-none-any.whl")]
    there = [Package("a", "1", None, "https://index/a-1-py3-none-any.whl")]
    assert set_key(here, "cpython-311-linux-x86_64") == set_key(there, "cpython-311-linux-x86_64")
    assert set_key(here, "cpython-311-linux-x86_64") != set_key(here, "cpython-312-linux-x86_64")
    assert set_key(here, "x") != set_key([Package("a", "2")], "x")


NOT_FOUND = ("ERROR: Could not find a version that satisfies the requirement requests==2.32.3 (from versions: none)\n"
             "ERROR: No matching distribution found for requests==2.32.3\n")
REFUSED = ("WARNING: Retrying (Retry(total=0, ...)) after connection broken by 'NewConnectionError(\"...: Failed to "
           "establish a new connection: [Errno 111] Connection refused\")': /simple/requests/\n")


@pytest.mark.parametrize(("output", "no_index", "message"), [
    pytest.param(REFUSED + NOT_FOUND, False, "could not install 'requests==2.32.3': no index reachable and not in "
                 "the wheel cache (/store/wheels)", id="unreachable"),
    pytest.param(NOT_FOUND, True, "could not install 'requests==2.32.3': no index reachable and not in the wheel "
                 "cache (/store/wheels)", id="no-index"),
    pytest.param(NOT_FOUND, False, "could not install 'requests==2.32.3': no matching distribution in the package "
                 "index or the wheel cache (/store/wheels)", id="not-found"),
    pytest.param("Building wheel\nERROR: Failed building wheel for lxml\n", False,
                 "pip failed (exit 1) installing 'lxml': ERROR: Failed building wheel for lxml", id="other"),
])
def test_dependency_error_names_the_package(output: str, no_index: bool, message: str) -> None:
    requested = ["lxml"] if "lxml" in output else ["requests==2.32.3"]
    error = dependency_error(PipResult(1, output), requested=requested, wheels=Path("/store/wheels"),
                             no_index=no_index)
    assert isinstance(error, ValueError) and str(error) == message


def test_missing_requirements_are_listed_once_each() -> None:
    output = NOT_FOUND + NOT_FOUND.replace("requests==2.32.3", "jkn-x")
    assert missing_requirements(output) == ["requests==2.32.3", "jkn-x"]


# real pip, offline


def test_a_set_is_installed_once_and_reused(tmp_path: Path, wheelhouse: Path) -> None:
    runner, lines = CountingRunner(), list[str]()
    installer = Installer(tmp_path / "store", runner=runner, env=offline_env(wheelhouse), log=lines.append)
    first = installer.ensure(["jkn-alpha"])
    assert first.pins == ["jkn-alpha==1.0", "jkn-beta==2.1"]  # the dependency came along, at its newest
    assert first.path == tmp_path / "store" / "deps" / "sha256" / str(first.key) and not first.reused
    assert sorted(p.name for p in first.path.glob("*.py")) == ["jkn_alpha.py", "jkn_beta.py"]
    assert runner.count("--dry-run") == 1 and runner.count("--target") == 1 and runner.count("wheel") == 0
    assert any("Successfully installed" in line for line in lines)  # pip's own output reaches the build log
    assert sorted(os.listdir(tmp_path / "store" / "wheels")) == ["jkn_alpha-1.0-py3-none-any.whl",
                                                                "jkn_beta-2.1-py3-none-any.whl"]

    runner.calls.clear()
    again = installer.ensure(["jkn-alpha"])
    assert again == first and again.reused and runner.calls == []  # remembered: pip does not run at all

    respelled = installer.ensure(["JKN_Alpha>=1", "jkn-beta"])
    assert respelled.key == first.key and respelled.reused
    assert runner.count("--dry-run", "--no-index") == 1 and runner.count("--target") == 0


def test_different_pins_are_different_sets(tmp_path: Path, wheelhouse: Path) -> None:
    installer = Installer(tmp_path / "store", env=offline_env(wheelhouse))
    new, old = installer.ensure(["jkn-beta"]), installer.ensure(["jkn-beta==1.0"])
    assert (new.pins, old.pins) == (["jkn-beta==2.1"], ["jkn-beta==1.0"])
    assert new.path != old.path
    assert old.path is not None and "old-beta" in (old.path / "jkn_beta.py").read_text()


def test_the_wheel_cache_serves_when_the_index_is_gone(tmp_path: Path, wheelhouse: Path) -> None:
    store = tmp_path / "store"
    Installer(store, env=offline_env(wheelhouse)).ensure(["jkn-beta==2.1"])
    gone = offline_env(tmp_path / "nowhere")  # neither the index nor the original wheels any more
    runner = CountingRunner()
    again = Installer(store, runner=runner, env=gone).ensure(["jkn-beta>=2"])  # a new spelling: resolved again
    assert again.pins == ["jkn-beta==2.1"] and again.reused
    assert runner.count("--no-index") == 1


def test_a_missing_package_is_named(tmp_path: Path, wheelhouse: Path) -> None:
    installer = Installer(tmp_path / "store", env=offline_env(wheelhouse))
    with pytest.raises(DependencyError) as info:
        installer.ensure(["jkn-alpha", "jkn-gamma==3.0"])
    wheels = tmp_path / "store" / "wheels"
    assert str(info.value) == f"could not install 'jkn-gamma==3.0': no index reachable and not in the wheel cache " \
                              f"({wheels})"
    assert not (tmp_path / "store" / "deps" / "sha256").exists()


def test_an_unreachable_index_is_reported(tmp_path: Path, wheelhouse: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update({"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_RETRIES": "1", "PIP_TIMEOUT": "5",
                "PIP_CONFIG_FILE": os.devnull})
    with pytest.raises(DependencyError, match=r"'jkn-gamma==3.0': no index reachable and not in the wheel cache"):
        Installer(tmp_path / "store", env=env).ensure(["jkn-gamma==3.0"])


def test_what_the_plane_has_is_not_installed_again(tmp_path: Path, wheelhouse: Path) -> None:
    deps = Installer(tmp_path / "store", env=offline_env(wheelhouse)).ensure(["pytest"])
    assert deps.requested == ("pytest",) and deps.packages == () and deps.path is None and deps.relative is None


def test_concurrent_installers_install_once(tmp_path: Path, wheelhouse: Path) -> None:
    runner = CountingRunner()
    results, errors = [], []

    def ensure() -> None:
        try:
            results.append(Installer(tmp_path / "store", runner=runner, env=offline_env(wheelhouse)).ensure(
                ["jkn-alpha==1.0"]))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ensure) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len({r.key for r in results}) == 1
    assert runner.count("--target") == 1
    assert [p.name for p in (tmp_path / "store" / "deps" / "sha256").iterdir()] == [results[0].key]


def test_a_dependency_set_goes_before_the_plane_with_its_pth_files(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    deps = tmp_path / "deps"
    (deps / "extra").mkdir(parents=True)
    (deps / "extra.pth").write_text("extra\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    plane = list(sys.path)
    add_dependencies(deps)
    assert sys.path[:2] == [str(deps), str(deps / "extra")] and sys.path[2:] == plane


def test_canonical_name() -> None:
    assert canonical_name("Zope__Interface.x") == "zope-interface-x"
