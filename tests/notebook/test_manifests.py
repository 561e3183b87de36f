"""`%%knative apply` cells: placeholders and documents, and where mistakes are."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.notebook.manifests import fill_placeholders

SVC = "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: {name}\n"


@pytest.mark.parametrize(("text", "variables", "filled"), [
    pytest.param("name: {name}", {"name": "hello"}, "name: hello", id="str"),
    pytest.param("replicas: {n}", {"n": 3}, "replicas: 3", id="int"),
    pytest.param("env: {env}", {"env": {"A": "1"}}, 'env: {"A": "1"}', id="dict-as-json"),
    pytest.param("args: {args}", {"args": ["a", "b"]}, 'args: ["a", "b"]', id="list-as-json"),
    pytest.param("on: {flag}", {"flag": True}, "on: true", id="bool-as-json"),
    pytest.param("metadata: {}", {}, "metadata: {}", id="empty-flow-mapping"),
    pytest.param("labels: {a: 1}", {}, "labels: {a: 1}", id="flow-mapping"),
    pytest.param("x: '{{name}}'", {"name": "n"}, "x: '{name}'", id="escaped"),
])
def test_fill(text: str, variables: dict[str, Any], filled: str) -> None:
    assert fill_placeholders(text, variables) == filled


def test_fill_undefined_names_the_line() -> None:
    with pytest.raises(ValueError, match=r"line 4: placeholder \{name\}: no variable 'name' in the notebook"):
        fill_placeholders(SVC, {})
