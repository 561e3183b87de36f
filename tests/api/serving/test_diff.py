"""kmp.ShortDiff as Knative prints it; the first cases are the expectations of Serving's
revision_validation_test.go."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.api.serving.diff import short_diff


def spec(image: str = "helloworld", **fields: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"image": image} if image else {}
    c.update(fields.pop("container", {}))
    return {"containers": [c], **fields}


@pytest.mark.parametrize(("old", "new", "want"), [
    pytest.param(spec("busybox"), spec("helloworld"),
                 '{v1.RevisionSpec}.PodSpec.Containers[0].Image:\n\t-: "busybox"\n\t+: "helloworld"\n', id="image"),
    pytest.param(spec(containerConcurrency=2), spec(containerConcurrency=1),
                 '*{v1.RevisionSpec}.ContainerConcurrency:\n\t-: "2"\n\t+: "1"\n', id="pointer-field"),
    pytest.param(spec(), spec(serviceAccountName="foobar"),
                 '{v1.RevisionSpec}.PodSpec.ServiceAccountName:\n\t-: ""\n\t+: "foobar"\n', id="new-field"),
    pytest.param(spec("busybox"), spec("helloworld", serviceAccountName="foobar"),
                 '{v1.RevisionSpec}.PodSpec.Containers[0].Image:\n\t-: "busybox"\n\t+: "helloworld"\n'
                 '{v1.RevisionSpec}.PodSpec.ServiceAccountName:\n\t-: ""\n\t+: "foobar"\n', id="multiple"),
    pytest.param(spec("", container={"resources": {"requests": {"cpu": "100m"}}}),
                 spec("", container={"resources": {"requests": {"cpu": "50m"}}}),
                 '{v1.RevisionSpec}.PodSpec.Containers[0].Resources.Requests["cpu"]:\n'
                 '\t-: resource.Quantity: "{i:{value:100 scale:-3} d:{Dec:<nil>} s:100m Format:DecimalSI}"\n'
                 '\t+: resource.Quantity: "{i:{value:50 scale:-3} d:{Dec:<nil>} s:50m Format:DecimalSI}"\n',
                 id="quantity"),
    pytest.param(spec(container={"resources": {"limits": {"cpu": "1"}}}),
                 spec(container={"resources": {"limits": {"cpu": "1000m"}}}), "", id="equal-quantities"),
    pytest.param(spec(timeoutSeconds=300), spec(timeoutSeconds=300), "", id="equal"),
    pytest.param(spec(container={"env": [{"name": "A", "value": "1"}]}),
                 spec(container={"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}),
                 '{v1.RevisionSpec}.PodSpec.Containers[0].Env[?->1]:\n'
                 '\t+: v1.EnvVar: "{Name:B Value:2 ValueFrom:<nil>}"\n', id="element-added"),
    pytest.param(spec(container={"readinessProbe": {"tcpSocket": {"port": 0}}}),
                 spec(container={"readinessProbe": {"tcpSocket": {"port": 8080}}}),
                 '{v1.RevisionSpec}.PodSpec.Containers[0].ReadinessProbe.ProbeHandler.TCPSocket.Port.IntVal:\n'
                 '\t-: "0"\n\t+: "8080"\n', id="embedded-and-int-or-string"),
])
def test_revision_spec(old: dict[str, Any], new: dict[str, Any], want: str) -> None:
    assert short_diff(old, new, "v1.RevisionSpec") == want


def test_template_root_is_a_pointer() -> None:
    old = {"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": spec()}
    new = {"metadata": {"name": "x", "labels": {"a": "2", "b": "3"}}, "spec": spec()}
    assert short_diff(old, new, "*v1.RevisionTemplateSpec") == (
        '{*v1.RevisionTemplateSpec}.ObjectMeta.Labels["a"]:\n\t-: "1"\n\t+: "2"\n'
        '{*v1.RevisionTemplateSpec}.ObjectMeta.Labels["b"]:\n\t+: "3"\n')
