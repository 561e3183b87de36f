"""Tekton variable substitution: references found, one-pass replacement, array expansion."""

from __future__ import annotations

import pytest

from jupyter_knative.api.build import tekton_vars as tv


@pytest.mark.parametrize(("text", "prefix", "expected"), [
    pytest.param("echo $(params.url)", "params", ["url"], id="dot"),
    pytest.param('echo $(params["url"]) $(params[\'rev\'])', "params", ["url", "rev"], id="brackets"),
    pytest.param("$(params.flags[*])", "params", ["flags"], id="star"),
    pytest.param("$(params.flags[2])", "params", ["flags"], id="index"),
    pytest.param("$(params.obj.key)", "params", ["obj"], id="object-key"),
    pytest.param("$(results.digest.path)", "results", ["digest"], id="result-path"),
    pytest.param("$(context.taskRun.name)", "context.taskRun", ["name"], id="context"),
    pytest.param("$(context.taskRun.name)", "context.task", [], id="prefix-is-exact"),
    pytest.param("$params.url and $(paramsX.url)", "params", [], id="not-references"),
])
def test_references(text: str, prefix: str, expected: list[str]) -> None:
    assert tv.references(text, prefix) == expected


def test_apply_is_one_pass_and_keeps_unknown_references() -> None:
    replacements = {"params.a": "$(params.b)", "params.b": "B", 'params["a"]': "A2"}
    assert tv.apply("$(params.a) $(params.b) $(params.c) $(params[\"a\"])", replacements) == \
        "$(params.b) B $(params.c) A2"


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("$(params.flags)", ["-v", "-x"], id="whole"),
    pytest.param("$(params.flags[*])", ["-v", "-x"], id="star"),
    pytest.param("--flag=$(params.flags[1])", ["--flag=-x"], id="item"),
    pytest.param("say $(params.name)", ["say world"], id="string"),
])
def test_apply_array(text: str, expected: list[str]) -> None:
    strings, arrays = tv.array_replacements("params", "flags", ["-v", "-x"])
    strings["params.name"] = "world"
    assert tv.apply_array(text, strings, arrays) == expected


def test_keys_cover_the_three_spellings() -> None:
    assert tv.keys("results", "out", ".path") == ["results.out.path", 'results["out"].path', "results['out'].path"]
