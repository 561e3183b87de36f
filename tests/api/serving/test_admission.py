"""The webhooks end to end: a real Store over the plane's registry, seeded with Knative's ConfigMaps, and
the objects the serving controllers write."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_knative.api.kinds import registry
from jupyter_knative.api.kinds.serving import CONFIGURATION, LEGACY_VERSIONS, REVISION, ROUTE, SERVICE
from jupyter_knative.api.registry import ResourceType
from jupyter_knative.api.serving import REQUEST_USER, collect_warnings
from jupyter_knative.api.status import BadRequest
from jupyter_knative.apiserver.seed import seed
from jupyter_knative.controllers.serving import resources
from jupyter_knative.store import Store

from .builders import container, route, service, template

DENIED = 'admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: '


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store(registry())
    seed(s)
    yield s
    s.close()


def refused(store: Store, rt: ResourceType, obj: dict[str, Any], *, update: bool = False) -> str:
    with pytest.raises(BadRequest) as err:
        (store.update if update else store.create)(rt, obj)
    assert err.value.code == 400 and err.value.message.startswith(DENIED)
    return err.value.message[len(DENIED):]


def edit_config(store: Store, name: str, **data: str) -> None:
    cm_type = store.registry.by_kind("", "ConfigMap")
    assert cm_type is not None
    cm = store.must_get(cm_type, "knative-serving", name)
    cm["data"].update(data)
    store.update(cm_type, cm)


def test_kinds_serve_the_legacy_versions_with_conversion() -> None:
    reg = registry()
    for rt in (SERVICE, CONFIGURATION, REVISION, ROUTE):
        assert rt.storage == "v1" and rt.preferred.name == "v1" and rt.admission is not None
        for version in LEGACY_VERSIONS:
            assert reg.lookup("serving.knative.dev", version, rt.plural) is not None
        assert rt.converter is not None


def test_created_service_is_defaulted_and_warned_about(store: Store) -> None:
    with collect_warnings() as warnings:
        svc = store.create(SERVICE, service())
    tspec = svc["spec"]["template"]["spec"]
    assert tspec["timeoutSeconds"] == 300 and tspec["containers"][0]["name"] == "user-container"
    assert svc["spec"]["traffic"] == [{"latestRevision": True, "percent": 100}]
    assert svc["metadata"]["annotations"]["serving.knative.dev/creator"] == REQUEST_USER
    assert warnings == ["Kubernetes default value is insecure, Knative may default this to secure in a future "
                        "release: " + ", ".join(f"spec.template.spec.containers[0].securityContext.{f}" for f in (
                            "allowPrivilegeEscalation", "capabilities", "runAsNonRoot", "seccompProfile"))]


def test_warnings_without_a_collector_are_dropped(store: Store) -> None:
    store.create(SERVICE, service())
    with collect_warnings() as warnings:
        pass
    assert warnings == []


def test_invalid_service_is_refused_with_the_webhook_message(store: Store) -> None:
    bad = service(tmpl=template(container(None), containerConcurrency=-10),
                  annotations={"autoscaling.knative.dev/min-scale": "1"},
                  traffic=[{"percent": 90}])
    assert refused(store, SERVICE, bad) == (
        'Traffic targets sum to 90, want 100: spec.traffic\n'
        "expected 0 <= -10 <= 1000: spec.template.spec.containerConcurrency\n"
        'invalid key name "autoscaling.knative.dev/min-scale": metadata.annotations\n'
        'autoscaling annotations must be put under "spec.template.metadata.annotations" to work\n'
        "missing field(s): spec.template.spec.containers[0].image")
    assert store.get(SERVICE, "default", "hello") is None


def test_config_maps_drive_defaults_and_bounds(store: Store) -> None:
    edit_config(store, "config-defaults", **{"revision-timeout-seconds": "30", "max-revision-timeout-seconds": "60"})
    assert store.create(SERVICE, service())["spec"]["template"]["spec"]["timeoutSeconds"] == 30
    assert refused(store, SERVICE, service("other", tmpl=template(timeoutSeconds=61))) == \
        "expected 0 <= 61 <= 60: spec.template.spec.timeoutSeconds"
    edit_config(store, "config-features", **{"multi-container": "disabled"})
    two = template(container(ports=[{"containerPort": 8080}]), container("ghcr.io/example/sidecar"))
    assert refused(store, SERVICE, service("third", tmpl=two)) == "multi-container is off, but found 2 containers: "


def test_byo_name_with_generate_name(store: Store) -> None:
    obj = service(tmpl=template(name="hello-one"))
    obj["metadata"] = {"generateName": "hello-", "namespace": "default"}
    assert refused(store, SERVICE, obj) == "must not set the field(s): spec.template.metadata.name"


def test_service_update_rules(store: Store) -> None:
    svc = store.create(SERVICE, service(tmpl=template(name="hello-one")))
    changed = copy.deepcopy(svc)
    changed["spec"]["template"]["spec"]["containerConcurrency"] = 4
    assert refused(store, SERVICE, changed, update=True).startswith(
        "Saw the following changes without a name change (-old +new): spec.template.metadata.name\n"
        "*{*v1.RevisionTemplateSpec}.Spec.ContainerConcurrency:\n")
    changed["spec"]["template"]["metadata"]["name"] = "hello-two"
    updated = store.update(SERVICE, changed)
    assert updated["metadata"]["generation"] == 2
    retagged = copy.deepcopy(updated)
    retagged["metadata"]["annotations"]["serving.knative.dev/creator"] = "someone-else"
    assert refused(store, SERVICE, retagged, update=True) == \
        "annotation value is immutable: metadata.annotations.serving.knative.dev/creator"


def test_what_the_controllers_write_is_accepted(store: Store) -> None:
    svc = store.create(SERVICE, service(annotations={"serving.knative.dev/rollout-duration": "60s"}))
    cfg = store.create(CONFIGURATION, resources.configuration(svc))
    rt = store.create(ROUTE, resources.route(svc))
    assert rt["spec"]["traffic"] == [{"latestRevision": True, "percent": 100, "configurationName": "hello"}]
    rev = store.create(REVISION, resources.revision(cfg))
    assert rev["metadata"]["name"] == "hello-00001"
    rev["metadata"]["labels"]["serving.knative.dev/routingState"] = "active"
    rev = store.update(REVISION, rev)
    rev["status"] = {"observedGeneration": 1}
    store.update(REVISION, rev, subresource="status")


def test_revision_spec_is_immutable(store: Store) -> None:
    svc = store.create(SERVICE, service())
    cfg = store.create(CONFIGURATION, resources.configuration(svc))
    rev = store.create(REVISION, resources.revision(cfg))
    rev["spec"]["containers"][0]["image"] = "ghcr.io/knative/other"
    assert refused(store, REVISION, rev, update=True) == (
        "Immutable fields changed (-old +new): spec\n"
        "{v1.RevisionSpec}.PodSpec.Containers[0].Image:\n"
        '\t-: "ghcr.io/knative/helloworld-go"\n'
        '\t+: "ghcr.io/knative/other"\n')


def test_users_cannot_claim_a_parent(store: Store) -> None:
    obj = route(labels={"serving.knative.dev/service": "hello"})
    assert refused(store, ROUTE, obj) == "missing field(s): metadata.labels.serving.knative.dev/service"


def test_seed_era_manifest_through_conversion(store: Store) -> None:
    manifest = {
        "apiVersion": "serving.knative.dev/v1alpha1", "kind": "Service",
        "metadata": {"name": "helloworld-go", "namespace": "default"},
        "spec": {"runLatest": {"configuration": {"revisionTemplate": {"spec": {"container": {
            "image": "gcr.io/knative-samples/helloworld-go",
            "env": [{"name": "TARGET", "value": "Go Sample v1"}]}}}}}},
    }
    assert SERVICE.converter is not None
    created = store.create(SERVICE, SERVICE.converter(manifest, "serving.knative.dev/v1"))
    assert created["apiVersion"] == "serving.knative.dev/v1"
    assert created["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "TARGET", "value": "Go Sample v1"}]
    assert created["spec"]["traffic"] == [{"latestRevision": True, "percent": 100}]
    view = SERVICE.converter(created, "serving.knative.dev/v1alpha1")
    assert view["apiVersion"] == "serving.knative.dev/v1alpha1" and "template" in view["spec"]


def test_only_create_and_update_of_the_main_resource_are_reviewed() -> None:
    from jupyter_knative.api.registry import AdmissionRequest
    from jupyter_knative.api.serving.admission import admit_service

    obj = service(tmpl=template(container(None)))
    for req in (AdmissionRequest("DELETE", obj, None), AdmissionRequest("UPDATE", obj, obj, subresource="status")):
        admit_service(req)
    assert "timeoutSeconds" not in obj["spec"]["template"]["spec"]


def test_ill_typed_values_do_not_crash_the_hooks(store: Store) -> None:
    # The apiserver's schema check refuses these first; written straight to the store they pass through.
    odd = service(tmpl=template(container(ports=[{"containerPort": "8080"}]), timeoutSeconds="300"))
    assert store.create(SERVICE, odd)["spec"]["template"]["spec"]["timeoutSeconds"] == "300"


def test_orphaning_dependents_is_not_refused(store: Store) -> None:
    svc = store.create(SERVICE, service())
    cfg = store.create(CONFIGURATION, resources.configuration(svc))
    cfg["metadata"].pop("ownerReferences")  # what the garbage collector writes for --cascade=orphan
    store.update(CONFIGURATION, cfg)
    relabelled = store.must_get(CONFIGURATION, "default", "hello")
    relabelled["metadata"]["labels"]["serving.knative.dev/service"] = "other"
    assert refused(store, CONFIGURATION, relabelled, update=True) == \
        "missing field(s): metadata.labels.serving.knative.dev/service"


def test_blue_green_with_byo_names_through_kubectl_style_patches(store: Store) -> None:
    store.create(SERVICE, service(tmpl=template(container(env=[{"name": "TARGET", "value": "blue"}]),
                                                name="hello-blue")))
    green = store.must_get(SERVICE, "default", "hello")
    green["spec"]["template"] = template(container(env=[{"name": "TARGET", "value": "green"}]), name="hello-green")
    green["spec"]["traffic"] = [{"revisionName": "hello-blue", "percent": 100},
                                {"revisionName": "hello-green", "percent": 0, "tag": "green"}]
    store.update(SERVICE, green)
    switch = store.must_get(SERVICE, "default", "hello")
    # A JSON merge patch from `kubectl apply` replaces the containers list with the manifest's.
    switch["spec"]["template"]["spec"]["containers"] = [container(env=[{"name": "TARGET", "value": "green"}])]
    switch["spec"]["traffic"] = [{"revisionName": "hello-blue", "percent": 0, "tag": "blue"},
                                 {"revisionName": "hello-green", "percent": 100}]
    updated = store.update(SERVICE, switch)
    assert updated["spec"]["template"]["spec"]["containers"][0]["name"] == "user-container"
    assert updated["spec"]["traffic"][1] == {"revisionName": "hello-green", "percent": 100, "latestRevision": False}
