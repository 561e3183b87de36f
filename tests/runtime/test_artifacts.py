"""Content-addressed function artifacts and image resolution."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest

from jupyter_knative.runtime import ABI_VERSION, Resolved, package_function, parse_ref, resolve
from jupyter_knative.runtime.artifacts import METADATA_FILE, SOURCE_FILE

HELLO = "def handler(request):\n    return 'hello'\n"


def test_identical_input_gives_an_identical_reference(tmp_path: Path) -> None:
    first = package_function(HELLO, name="hello", store=tmp_path)
    stamp = (tmp_path / "sha256").stat().st_mtime_ns
    second = package_function(HELLO, name="hello", store=tmp_path)
    assert first == second
    assert first.startswith("dev.local/default/hello@sha256:") and len(first.split(":")[-1]) == 64
    assert (tmp_path / "sha256").stat().st_mtime_ns == stamp  # nothing was written the second time


def test_digest_covers_source_and_entrypoint_not_the_name(tmp_path: Path) -> None:
    digest = package_function(HELLO, name="hello", store=tmp_path).split("@")[1]
    assert package_function(HELLO, name="other", namespace="ns", store=tmp_path).split("@")[1] == digest
    assert package_function(HELLO + "\n", name="hello", store=tmp_path).split("@")[1] != digest
    assert package_function(HELLO, name="hello", entrypoint="handler", store=tmp_path).split("@")[1] != digest


def test_artifact_layout(tmp_path: Path) -> None:
    ref = package_function(HELLO, name="hello", namespace="team-a", entrypoint="handler", store=tmp_path)
    hexdigest = ref.rsplit(":", 1)[1]
    directory = tmp_path / "sha256" / hexdigest
    assert (directory / SOURCE_FILE).read_text() == HELLO
    metadata = json.loads((directory / METADATA_FILE).read_text())
    assert metadata == {"abi": ABI_VERSION, "digest": f"sha256:{hexdigest}", "entrypoint": "handler",
                        "files": {SOURCE_FILE: hashlib.sha256(HELLO.encode()).hexdigest()}, "requested": [],
                        "requirements": [], "deps": None, "source": SOURCE_FILE}
    assert sorted(p.name for p in (tmp_path / "sha256").iterdir()) == [hexdigest]  # no staging leftovers


def test_concurrent_writers_agree(tmp_path: Path) -> None:
    refs: list[str] = []
    errors: list[BaseException] = []

    def write() -> None:
        try:
            refs.append(package_function(HELLO, name="hello", store=tmp_path))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(refs)) == 1
    assert len(list((tmp_path / "sha256").iterdir())) == 1


def test_a_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "rename", fail)
    with pytest.raises(OSError, match="disk full"):
        package_function(HELLO, name="hello", store=tmp_path)
    assert list((tmp_path / "sha256").iterdir()) == []


def test_syntax_error_is_a_clear_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"function 'broken' does not compile: .* at line 2") as info:
        package_function("def handler(request):\n    return (\n", name="broken", store=tmp_path)
    assert "    return (" in str(info.value)
    assert not (tmp_path / "sha256").exists()


@pytest.mark.parametrize("source", [
    HELLO,
    "from os import path as handler\n",
    "handler = lambda request: 'x'\n",
    "try:\n    def handler(request):\n        return 1\nexcept Exception:\n    pass\n",
])
def test_entrypoint_must_be_defined(tmp_path: Path, source: str) -> None:
    package_function(source, name="fn", entrypoint="handler", store=tmp_path)
    with pytest.raises(ValueError, match="entrypoint = 'missing', must be defined"):
        package_function(source, name="fn", entrypoint="missing", store=tmp_path)


@pytest.mark.parametrize(("field", "kwargs"), [
    ("name", {"name": "Hello"}), ("name", {"name": "-x"}), ("name", {"name": "a" * 64}),
    ("namespace", {"name": "ok", "namespace": "under_score"}),
])
def test_names_must_be_dns_labels(tmp_path: Path, field: str, kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=f"{field} = .* must be a DNS label"):
        package_function(HELLO, store=tmp_path, **kwargs)  # type: ignore[arg-type]


def test_resolve_an_artifact(tmp_path: Path) -> None:
    ref = package_function(HELLO, name="hello", namespace="ns", entrypoint="handler", store=tmp_path)
    resolved = resolve(ref, tmp_path)
    hexdigest = ref.rsplit(":", 1)[1]
    assert resolved == Resolved("artifact", "hello", f"sha256:{hexdigest}", tmp_path / "sha256" / hexdigest,
                                "handler", SOURCE_FILE, None, ref)
    assert resolved.source is not None and resolved.source.read_text() == HELLO
    assert parse_ref(ref) == ("ns", "hello", hexdigest)
    missing = ref[:-4] + "0000"
    assert resolve(missing, tmp_path) is None


@pytest.mark.parametrize(("image", "name", "digest"), [
    ("ghcr.io/knative/helloworld-go:latest", "helloworld-go", None),
    ("gcr.io/knative-samples/helloworld-go", "helloworld-go", None),
    ("gcr.io/knative-samples/autoscale-go@sha256:" + "1" * 64, "autoscale-go", "sha256:" + "1" * 64),
    ("gcr.io/knative-releases/knative.dev/eventing/cmd/event_display", "event-display", None),
    ("ghcr.io/knative/event-display", "event-display", None),
    ("ghcr.io/knative/cloudevents-player:v1.2", "cloudevents-player", None),
    ("docker.io/n3wscott/sockeye:v0.7.0", "sockeye", None),
    ("ghcr.io/knative/sockeye", "sockeye", None),
])
def test_resolve_samples(tmp_path: Path, image: str, name: str, digest: str | None) -> None:
    assert resolve(image, tmp_path) == Resolved("sample", name, digest, None)


@pytest.mark.parametrize("image", ["nginx", "dev.local/default/hello", "dev.local/default/hello@sha256:xyz", ""])
def test_resolve_unknown(tmp_path: Path, image: str) -> None:
    assert resolve(image, tmp_path) is None
