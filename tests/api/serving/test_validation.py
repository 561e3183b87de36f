"""Serving's validation of Services, Configurations, Routes and Revisions: each rule with Knative's exact
message and field path (as the webhook renders them after defaulting)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from jupyter_knative.api.meta import DNS1035_LABEL_MSG
from jupyter_knative.api.serving.config import WebhookConfig, load_config
from jupyter_knative.api.serving.defaults import (
    default_configuration,
    default_revision,
    default_route,
    default_service,
)
from jupyter_knative.api.serving.fielderror import FieldError
from jupyter_knative.api.serving.validation import (
    validate_configuration,
    validate_revision,
    validate_route,
    validate_service,
)

from .builders import configuration, owner, revision, route, service, template

_DEFAULTERS: dict[str, Callable[..., None]] = {
    "Service": lambda obj, cfg, old: default_service(obj, cfg, user="u", old=old),
    "Configuration": lambda obj, cfg, old: default_configuration(obj, cfg, user="u", old=old),
    "Route": lambda obj, cfg, old: default_route(obj, cfg, user="u", old=old),
    "Revision": lambda obj, cfg, old: default_revision(obj, cfg, old=old),
}
_VALIDATORS: dict[str, Callable[[dict[str, Any], dict[str, Any] | None, WebhookConfig], FieldError]] = {
    "Service": validate_service, "Configuration": validate_configuration, "Route": validate_route,
    "Revision": validate_revision,
}


def config(**maps: dict[str, str]) -> WebhookConfig:
    named = {f"config-{k}": v for k, v in maps.items()}
    return load_config(lambda ns, name: named.get(name))


def admit(obj: dict[str, Any], old: dict[str, Any] | None = None, cfg: WebhookConfig | None = None) -> dict[str, Any]:
    cfg = cfg or config()
    _DEFAULTERS[obj["kind"]](obj, cfg, old)
    return obj


def errors(obj: dict[str, Any], old: dict[str, Any] | None = None, cfg: WebhookConfig | None = None) -> str:
    cfg = cfg or config()
    admit(obj, old, cfg)
    return str(_VALIDATORS[obj["kind"]](obj, old, cfg).errors())


def annotated(annotations: dict[str, str]) -> dict[str, Any]:
    return service(tmpl=template(annotations=annotations))


DNS1035 = f"[{DNS1035_LABEL_MSG}]"
ANNOTATIONS = "spec.template.metadata.annotations."
AUTOSCALING_ELSEWHERE = ('invalid key name "autoscaling.knative.dev/min-scale": metadata.annotations\n'
                         'autoscaling annotations must be put under "spec.template.metadata.annotations" to work')


def test_valid_objects_pass() -> None:
    assert errors(service()) == ""
    assert errors(configuration()) == ""
    assert errors(route()) == ""
    assert errors(revision()) == ""


# --- metadata -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("obj", "want"), [
    pytest.param(service("hello.world"), f"not a DNS 1035 label: {DNS1035}: metadata.name", id="name"),
    pytest.param(service("hello", generateName="1hello-"), f"not a DNS 1035 label prefix: {DNS1035}: "
                 "metadata.generateName", id="generate-name"),
    pytest.param(service(annotations={"autoscaling.knative.dev/min-scale": "1"}), AUTOSCALING_ELSEWHERE,
                 id="autoscaling-on-service"),
    pytest.param(configuration(annotations={"autoscaling.knative.dev/min-scale": "1"}), AUTOSCALING_ELSEWHERE,
                 id="autoscaling-on-configuration"),
    pytest.param(route(annotations={"autoscaling.knative.dev/min-scale": "1"}), AUTOSCALING_ELSEWHERE,
                 id="autoscaling-on-route"),
    pytest.param(service(labels={"networking.knative.dev/visibility": "public"}),
                 "invalid value: public: metadata.labels.networking.knative.dev/visibility", id="visibility"),
    pytest.param(service(annotations={"serving.knative.dev/rollout-duration": "1.5s"}),
                 "rollout-duration=1.5s is not at second precision: "
                 "metadata.annotations.serving.knative.dev/rollout-duration", id="rollout-precision"),
    pytest.param(route(annotations={"serving.knative.dev/rollout-duration": "-5s"}),
                 "rollout-duration=-5s must be positive: metadata.annotations.serving.knative.dev/rollout-duration",
                 id="rollout-negative"),
    pytest.param(service(annotations={"serving.knative.dev/rolloutDuration": "soon"}),
                 "invalid value: soon: metadata.annotations.serving.knative.dev/rolloutDuration",
                 id="rollout-legacy-key"),
    pytest.param(configuration(labels={"serving.knative.dev/service": "hello"}),
                 "missing field(s): metadata.labels.serving.knative.dev/service", id="service-label-unowned"),
    pytest.param(route(labels={"serving.knative.dev/service": "hello"},
                       ownerReferences=[owner("Service", "other")]),
                 "missing field(s): metadata.labels.serving.knative.dev/service", id="service-label-other-owner"),
    pytest.param(revision(labels={"serving.knative.dev/configuration": "hello"}),
                 "missing field(s): metadata.labels.serving.knative.dev/configuration", id="configuration-label"),
])
def test_metadata(obj: dict[str, Any], want: str) -> None:
    assert errors(obj) == want


def test_labels_parents_write_are_accepted() -> None:
    owned = configuration(labels={"serving.knative.dev/service": "hello", "serving.knative.dev/serviceUID": "x"},
                          ownerReferences=[owner("Service", "hello")])
    assert errors(owned) == ""
    rev = revision(labels={"serving.knative.dev/configuration": "hello", "serving.knative.dev/routingState": "active",
                           "serving.knative.dev/configurationGeneration": "1"},
                   ownerReferences=[owner("Configuration", "hello")])
    assert errors(rev) == ""


# --- revision templates -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "cfg", "want"), [
    pytest.param({"containerConcurrency": -10}, {},
                 "expected 0 <= -10 <= 1000: spec.template.spec.containerConcurrency", id="cc-negative"),
    pytest.param({"containerConcurrency": 1001}, {}, "expected 0 <= 1001 <= 1000: "
                 "spec.template.spec.containerConcurrency", id="cc-above-limit"),
    pytest.param({"containerConcurrency": 60}, {"container-concurrency-max-limit": "50"},
                 "expected 0 <= 60 <= 50: spec.template.spec.containerConcurrency", id="cc-configured-limit"),
    pytest.param({"containerConcurrency": 0}, {"allow-container-concurrency-zero": "false"},
                 "expected 1 <= 0 <= 1000: spec.template.spec.containerConcurrency", id="cc-zero-not-allowed"),
    pytest.param({"timeoutSeconds": 601}, {}, "expected 0 <= 601 <= 600: spec.template.spec.timeoutSeconds",
                 id="timeout-above-max"),
    pytest.param({"timeoutSeconds": -1}, {}, "expected 0 <= -1 <= 600: spec.template.spec.timeoutSeconds",
                 id="timeout-negative"),
    pytest.param({"timeoutSeconds": 900}, {"max-revision-timeout-seconds": "1200"}, "", id="timeout-configured-max"),
])
def test_template_bounds(spec: dict[str, Any], cfg: dict[str, str], want: str) -> None:
    assert errors(service(tmpl=template(**spec)), cfg=config(defaults=cfg)) == want


@pytest.mark.parametrize(("obj", "want"), [
    pytest.param(service(tmpl=template(name="foo")),
                 'invalid value: "foo" must have prefix "hello-": spec.template.metadata.name', id="prefix"),
    pytest.param(configuration("cfg", tmpl=template(name="hello-foo")),
                 'invalid value: "hello-foo" must have prefix "cfg-": spec.template.metadata.name', id="config-prefix"),
    pytest.param(service(tmpl=template(name="hello-Foo")),
                 f"invalid value: not a DNS 1035 label: {DNS1035}: spec.template.metadata.name", id="not-dns"),
    pytest.param(service("hello-x2z4b", generateName="hello-", tmpl=template(name="hello-x2z4b-one")),
                 "must not set the field(s): spec.template.metadata.name", id="parent-generate-name"),
    pytest.param(service(tmpl=template(name="hello-one")), "", id="good"),
])
def test_byo_revision_names(obj: dict[str, Any], want: str) -> None:
    assert errors(obj) == want


def test_template_change_needs_a_new_name() -> None:
    old = admit(service(tmpl=template(name="hello-one")))
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/knative/helloworld-go:v2"
    assert errors(new, old) == (
        "Saw the following changes without a name change (-old +new): spec.template.metadata.name\n"
        "{*v1.RevisionTemplateSpec}.Spec.PodSpec.Containers[0].Image:\n"
        '\t-: "ghcr.io/knative/helloworld-go"\n'
        '\t+: "ghcr.io/knative/helloworld-go:v2"\n')
    renamed = copy.deepcopy(new)
    renamed["spec"]["template"]["metadata"]["name"] = "hello-two"
    assert errors(renamed, old) == ""
    traffic_only = copy.deepcopy(old)
    traffic_only["spec"]["traffic"] = [{"revisionName": "hello-one", "percent": 100}]
    assert errors(traffic_only, old) == ""


def test_configuration_template_change_needs_a_new_name() -> None:
    old = admit(configuration(tmpl=template(name="hello-one")))
    new = copy.deepcopy(old)
    new["spec"]["template"]["metadata"]["annotations"] = {"autoscaling.knative.dev/min-scale": "1"}
    assert errors(new, old) == (
        "Saw the following changes without a name change (-old +new): spec.template.metadata.name\n"
        "{*v1.RevisionTemplateSpec}.ObjectMeta.Annotations:\n"
        '\t-: "map[]"\n'
        '\t+: "map[autoscaling.knative.dev/min-scale:1]"\n')


@pytest.mark.parametrize(("annotations", "want"), [
    pytest.param({"queue.sidecar.serving.knative.dev/resource-percentage": "200"},
                 "expected 0.1 <= 200 <= 100: spec.template.metadata.annotations."
                 "[queue.sidecar.serving.knative.dev/resource-percentage]", id="queue-percentage-range"),
    pytest.param({"queue.sidecar.serving.knative.dev/resourcePercentage": "50mx"},
                 "invalid value: 50mx: spec.template.metadata.annotations."
                 "[queue.sidecar.serving.knative.dev/resourcePercentage]", id="queue-percentage-invalid"),
])
def test_queue_sidecar_annotation(annotations: dict[str, str], want: str) -> None:
    assert errors(annotated(annotations)) == want


# --- autoscaling annotations --------------------------------------------------------------------------------

def _a(**values: str) -> dict[str, str]:
    return {f"autoscaling.knative.dev/{k.replace('_', '-')}": v for k, v in values.items()}


@pytest.mark.parametrize(("annotations", "want"), [
    pytest.param(_a(min_scale="-1"), f"expected 0 <= -1 <= 2147483647: {ANNOTATIONS}autoscaling.knative.dev/min-scale",
                 id="negative-min"),
    pytest.param(_a(max_scale="2147483648"),
                 f"expected 0 <= 2147483648 <= 2147483647: {ANNOTATIONS}autoscaling.knative.dev/max-scale",
                 id="max-beyond-int32"),
    pytest.param({"autoscaling.knative.dev/minScale": "x"},
                 f"invalid value: x: {ANNOTATIONS}autoscaling.knative.dev/minScale", id="legacy-key-named"),
    pytest.param(_a(min_scale="5", max_scale="2"),
                 f"max-scale=2 is less than min-scale=5: {ANNOTATIONS}autoscaling.knative.dev/max-scale, "
                 f"{ANNOTATIONS}autoscaling.knative.dev/min-scale", id="max-below-min"),
    pytest.param(_a(min_scale="3", activation_scale="2"),
                 "min-scale=3 is greater than activation-scale=2: "
                 f"{ANNOTATIONS}autoscaling.knative.dev/activation-scale",
                 id="activation-below-min"),
    pytest.param(_a(max_scale="2", activation_scale="3"),
                 f"max-scale=2 is less than activation-scale=3: {ANNOTATIONS}autoscaling.knative.dev/activation-scale",
                 id="activation-above-max"),
    pytest.param(_a(activation_scale="1"),
                 f"activation-scale=1 must be greater than 1: {ANNOTATIONS}autoscaling.knative.dev/activation-scale",
                 id="activation-one"),
    pytest.param(_a(target="0.001"),
                 f"target 0.001 should be at least 0.01: {ANNOTATIONS}autoscaling.knative.dev/target", id="target-min"),
    pytest.param(_a(target="lots"), f"invalid value: lots: {ANNOTATIONS}autoscaling.knative.dev/target",
                 id="target-invalid"),
    pytest.param(_a(target_utilization_percentage="0"),
                 f"expected 1 <= 0 <= 100: {ANNOTATIONS}autoscaling.knative.dev/target-utilization-percentage",
                 id="utilization"),
    pytest.param(_a(panic_window_percentage="0.5"),
                 f"expected 1 <= 0.5 <= 100: {ANNOTATIONS}autoscaling.knative.dev/panic-window-percentage",
                 id="panic-window"),
    pytest.param({"autoscaling.knative.dev/panicThresholdPercentage": "100"},
                 f"expected 110 <= 100 <= 1000: {ANNOTATIONS}autoscaling.knative.dev/panicThresholdPercentage",
                 id="panic-threshold-legacy"),
    pytest.param(_a(target_burst_capacity="-2"),
                 f"invalid value: -2: {ANNOTATIONS}autoscaling.knative.dev/target-burst-capacity", id="tbc"),
    pytest.param(_a(target_burst_capacity="-1"), "", id="tbc-unlimited"),
    pytest.param(_a(window="5s"), f"expected 6s <= 5s <= 1h0m0s: {ANNOTATIONS}autoscaling.knative.dev/window",
                 id="window-short"),
    pytest.param(_a(window="6500ms"),
                 f"must be specified with at most second precision: {ANNOTATIONS}autoscaling.knative.dev/window",
                 id="window-precision"),
    pytest.param(_a(window="a while"), f"invalid value: a while: {ANNOTATIONS}autoscaling.knative.dev/window",
                 id="window-invalid"),
    pytest.param(_a(scale_down_delay="2h"),
                 f"expected 0s <= 2h <= 1h0m0s: {ANNOTATIONS}autoscaling.knative.dev/scale-down-delay", id="delay"),
    pytest.param(_a(scale_down_delay="1.5s"),
                 "must be specified with at most second precision: "
                 f"{ANNOTATIONS}autoscaling.knative.dev/scale-down-delay",
                 id="delay-precision"),
    pytest.param(_a(scale_to_zero_pod_retention_period="-1s"), "expected 0s <= -1s <= 1h0m0s: "
                 f"{ANNOTATIONS}autoscaling.knative.dev/scale-to-zero-pod-retention-period", id="retention"),
    pytest.param(_a(**{"class": "foo.knative.dev"}),
                 f"invalid value: foo.knative.dev: {ANNOTATIONS}autoscaling.knative.dev/class", id="class"),
    pytest.param(_a(**{"class": "custom.example.com"}, metric="latency"), "", id="custom-class"),
    pytest.param(_a(metric="cpu"), f"invalid value: cpu: {ANNOTATIONS}autoscaling.knative.dev/metric",
                 id="metric-for-kpa"),
    pytest.param(_a(**{"class": "hpa.autoscaling.knative.dev"}, metric="cpu"), "", id="metric-for-hpa"),
    pytest.param(_a(**{"class": "kpa.autoscaling.knative.dev"}, metric_aggregation_algorithm="median"),
                 f"invalid value: median: {ANNOTATIONS}autoscaling.knative.dev/metric-aggregation-algorithm",
                 id="algorithm"),
    pytest.param(_a(metric_aggregation_algorithm="median"), "", id="algorithm-unchecked-without-class"),
    pytest.param(_a(initial_scale="0"), f"invalid value: 0: {ANNOTATIONS}autoscaling.knative.dev/initial-scale=0 "
                 "not allowed by cluster", id="initial-zero"),
    pytest.param(_a(initial_scale="-1"), f"invalid value: -1: {ANNOTATIONS}autoscaling.knative.dev/initial-scale "
                 "must be greater than 0", id="initial-negative"),
])
def test_autoscaling_annotations(annotations: dict[str, str], want: str) -> None:
    assert errors(annotated(annotations)) == want


@pytest.mark.parametrize(("annotations", "autoscaler", "want"), [
    pytest.param(_a(initial_scale="0"), {"allow-zero-initial-scale": "true"}, "", id="zero-initial-allowed"),
    pytest.param(_a(max_scale="20"), {"max-scale-limit": "10"},
                 f"expected 1 <= 20 <= 10: {ANNOTATIONS}autoscaling.knative.dev/max-scale", id="above-limit"),
    pytest.param(_a(max_scale="0"), {"max-scale-limit": "10"},
                 f"max-scale=0 (unlimited), must be less than 10: {ANNOTATIONS}autoscaling.knative.dev/max-scale",
                 id="unlimited-with-limit"),
])
def test_autoscaling_annotations_with_config(annotations: dict[str, str], autoscaler: dict[str, str],
                                             want: str) -> None:
    assert errors(annotated(annotations), cfg=config(autoscaler=autoscaler)) == want


def test_revision_metadata_autoscaling_annotations_are_validated_not_refused() -> None:
    assert errors(revision(annotations=_a(min_scale="1"))) == ""
    assert errors(revision(annotations=_a(min_scale="-1"))) == \
        "expected 0 <= -1 <= 2147483647: metadata.annotations.autoscaling.knative.dev/min-scale"


# --- traffic ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("traffic", "want"), [
    pytest.param([{"configurationName": "hello", "percent": 100}],
                 "must not set the field(s): spec.traffic[0].configurationName", id="configuration-in-service"),
    pytest.param([{"revisionName": "b ar", "percent": 100}],
                 'invalid key name "b ar": spec.traffic[0].revisionName\nname part must consist of alphanumeric '
                 "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  "
                 "or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?"
                 "[A-Za-z0-9]')", id="revision-name"),
    pytest.param([{"percent": 101}, {"revisionName": "hello-00001", "percent": -1}],
                 "expected 0 <= -1 <= 100: spec.traffic[1].percent\nexpected 0 <= 101 <= 100: spec.traffic[0].percent",
                 id="percent-bounds"),
    pytest.param([{"percent": 90}], "Traffic targets sum to 90, want 100: spec.traffic", id="sum"),
    pytest.param([{"revisionName": "bar", "latestRevision": True, "percent": 100}],
                 'may not set revisionName "bar" when latestRevision is true: spec.traffic[0].latestRevision',
                 id="latest-with-name"),
    pytest.param([{"latestRevision": False, "percent": 100}],
                 'may not set revisionName "" when latestRevision is false: spec.traffic[0].latestRevision',
                 id="pinned-without-name"),
    pytest.param([{"tag": "Foo", "percent": 100}],
                 f"invalid value: not a DNS 1035 label: {DNS1035}: spec.traffic.tag[0]", id="tag-label"),
    pytest.param([{"tag": "foo", "percent": 50}, {"tag": "foo", "percent": 50}],
                 'Multiple definitions for "foo": spec.traffic[0].tag, spec.traffic[1].tag', id="tag-twice"),
    pytest.param([{"tag": "foo", "percent": 100, "url": "http://foo-hello.default.example.com"}],
                 "must not set the field(s): spec.traffic[0].url", id="url"),
    pytest.param([{"tag": "current", "revisionName": "hello-00001", "percent": 90}, {"tag": "latest", "percent": 10}],
                 "", id="good-split"),
])
def test_service_traffic(traffic: list[dict[str, Any]], want: str) -> None:
    assert errors(service(traffic=traffic)) == want


@pytest.mark.parametrize(("traffic", "want"), [
    pytest.param([{"percent": 100}],
                 "expected exactly one, got neither: spec.traffic[0].configurationName, spec.traffic[0].revisionName",
                 id="neither"),
    pytest.param([{"revisionName": "a", "configurationName": "b", "percent": 100}],
                 "expected exactly one, got both: spec.traffic[0].configurationName, spec.traffic[0].revisionName",
                 id="both"),
    pytest.param([], "Traffic targets sum to 0, want 100: spec.traffic", id="empty"),
    pytest.param([{"configurationName": "b/c/d", "percent": 100}],
                 'invalid key name "b/c/d": spec.traffic[0].configurationName\na qualified name must consist of '
                 "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character "
                 "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
                 "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' "
                 "(e.g. 'example.com/MyName')", id="qualified-name-slashes"),
])
def test_route_traffic(traffic: list[dict[str, Any]], want: str) -> None:
    assert errors(route(traffic=traffic)) == want


# --- updates ------------------------------------------------------------------------------------------------

def test_revision_spec_is_immutable() -> None:
    old = admit(revision())
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "ghcr.io/knative/other"
    new["spec"]["containerConcurrency"] = 3
    assert errors(new, old) == (
        "Immutable fields changed (-old +new): spec\n"
        "{v1.RevisionSpec}.PodSpec.Containers[0].Image:\n"
        '\t-: "ghcr.io/knative/helloworld-go"\n'
        '\t+: "ghcr.io/knative/other"\n'
        "*{v1.RevisionSpec}.ContainerConcurrency:\n"
        '\t-: "0"\n'
        '\t+: "3"\n')
    relabelled = copy.deepcopy(old)
    relabelled["metadata"]["labels"] = {"serving.knative.dev/routingState": "active"}
    assert errors(relabelled, old) == ""


@pytest.mark.parametrize(("change", "want"), [
    pytest.param({"serving.knative.dev/creator": "mallory"},
                 "annotation value is immutable: metadata.annotations.serving.knative.dev/creator", id="creator"),
    pytest.param({"serving.knative.dev/lastModifier": "mallory"},
                 "invalid value: mallory: metadata.annotations.serving.knative.dev/lastModifier", id="modifier"),
])
def test_user_annotations(change: dict[str, str], want: str) -> None:
    old = admit(service())
    new = copy.deepcopy(old)
    new["metadata"]["annotations"].update(change)
    assert errors(new, old) == want


def test_user_annotations_of_owned_configurations_are_not_checked() -> None:
    old = admit(configuration(ownerReferences=[owner("Service", "hello")],
                              annotations={"serving.knative.dev/creator": "a"}))
    new = copy.deepcopy(old)
    new["metadata"]["annotations"]["serving.knative.dev/creator"] = "b"
    assert errors(new, old) == ""
