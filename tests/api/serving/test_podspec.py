"""The PodSpec subset a revision may use: containers, ports, env, probes, volumes, security and features,
each with the message and path the webhook gives inside a Service."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.api.meta import DNS1123_SUBDOMAIN_MSG
from jupyter_knative.api.serving.config import Features, WebhookConfig, load_config
from jupyter_knative.api.serving.defaults import default_service
from jupyter_knative.api.serving.podspec import valid_reference, validate_pod_spec
from jupyter_knative.api.serving.validation import validate_service

from .builders import container, service, template

C0 = "spec.template.spec.containers[0]"
DIGEST = "sha256:" + "ab" * 32


def config(features: dict[str, str] | None = None) -> WebhookConfig:
    return load_config(lambda ns, name: features if name == "config-features" else None)


def result(tmpl: dict[str, Any], features: dict[str, str] | None = None) -> tuple[str, list[str]]:
    cfg = config(features)
    svc = service(tmpl=tmpl)
    default_service(svc, cfg, user="u")
    found = validate_service(svc, None, cfg)
    return str(found.errors()), found.warnings()


def errors(tmpl: dict[str, Any], features: dict[str, str] | None = None) -> str:
    return result(tmpl, features)[0]


def one(**fields: Any) -> dict[str, Any]:
    return template(container(**fields))


# --- containers ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("tmpl", "want"), [
    pytest.param(template(container(None)), f"missing field(s): {C0}.image", id="image-missing"),
    pytest.param(template(container("Foo/Bar")), f"Failed to parse image reference: {C0}.image\n"
                 'image: "Foo/Bar", error: could not parse reference: Foo/Bar', id="image-invalid"),
    pytest.param(one(lifecycle={}), f"must not set the field(s): {C0}.lifecycle", id="lifecycle"),
    pytest.param(one(stdin=True, tty=True), f"must not set the field(s): {C0}.stdin, {C0}.tty", id="stdin-tty"),
    pytest.param(one(stdin=False), "", id="zero-values-are-unset"),
    pytest.param(one(name="queue-proxy"), f'"queue-proxy" is a reserved container name: {C0}.name', id="reserved-name"),
    pytest.param(one(terminationMessagePolicy="Sometimes"),
                 f"invalid value: Sometimes: {C0}.terminationMessagePolicy", id="termination-policy"),
    pytest.param(one(resources={"claims": [{"name": "gpu"}]}), f"must not set the field(s): {C0}.resources.claims",
                 id="resource-claims"),
    pytest.param(template(container(ports=[{"containerPort": 8080}]), container("ghcr.io/example/sidecar")),
                 "", id="serving-container-and-sidecar"),
    pytest.param(template(container(), container("ghcr.io/example/sidecar")),
                 "missing field(s): spec.template.spec.containers[*].ports", id="several-without-port"),
    pytest.param(template(container(ports=[{"containerPort": 8080}]),
                          container("ghcr.io/example/sidecar", ports=[{"containerPort": 9000}])),
                 "more than one container port is set: spec.template.spec.containers[*].ports\n"
                 "Only a single port is allowed across all containers", id="two-ports"),
    pytest.param(template(container(name="a", ports=[{"containerPort": 8080}]),
                          container("ghcr.io/example/sidecar", name="a")),
                 'duplicate container name "a": spec.template.spec.containers[1].name', id="duplicate-names"),
])
def test_containers(tmpl: dict[str, Any], want: str) -> None:
    assert errors(tmpl) == want


def test_multi_container_flag() -> None:
    tmpl = template(container(ports=[{"containerPort": 8080}]), container("ghcr.io/example/sidecar"))
    assert errors(tmpl, {"multi-container": "disabled"}) == "multi-container is off, but found 2 containers: "


@pytest.mark.parametrize(("image", "ok"), [
    pytest.param("ghcr.io/knative/helloworld-go:latest", True, id="registry-tag"),
    pytest.param("localhost:5000/app", True, id="registry-port"),
    pytest.param(f"dev.local/default/fn@{DIGEST}", True, id="digest"),
    pytest.param(f"busybox:1.36@{DIGEST}", True, id="tag-and-digest"),
    pytest.param("nginx", True, id="docker-hub"),
    pytest.param("Nginx", False, id="uppercase"),
    pytest.param("nginx:", False, id="empty-tag"),
    pytest.param("nginx@sha256:abc", False, id="short-digest"),
    pytest.param("a", False, id="one-character"),
])
def test_image_references(image: str, ok: bool) -> None:
    assert valid_reference(image) is ok


# --- env ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("tmpl", "features", "want"), [
    pytest.param(one(env=[{"name": "K_SERVICE", "value": "x"}]), None,
                 f'"K_SERVICE" is a reserved environment variable: {C0}.env[0].name', id="k-service"),
    pytest.param(one(env=[{"name": "PORT", "value": "1"}]), None,
                 f'"PORT" is a reserved environment variable: {C0}.env[0].name', id="port"),
    pytest.param(template(container(ports=[{"containerPort": 8080}]),
                          container("ghcr.io/example/sidecar", env=[{"name": "PORT", "value": "1"}])), None, "",
                 id="port-allowed-in-sidecar"),
    pytest.param(one(env=[{"value": "x"}]), None, f"missing field(s): {C0}.env[0].name", id="name-missing"),
    pytest.param(one(env=[{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]), None,
                 f"must not set the field(s): {C0}.env[0].valueFrom.fieldRef", id="field-ref-off"),
    pytest.param(one(env=[{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]),
                 {"kubernetes.podspec-fieldref": "enabled"}, "", id="field-ref-on"),
    pytest.param(one(envFrom=[{"prefix": "X_"}]), None,
                 f"expected exactly one, got neither: {C0}.envFrom.configMapRef, {C0}.envFrom.secretRef",
                 id="env-from-neither"),
    pytest.param(one(envFrom=[{"configMapRef": {"name": "a"}, "secretRef": {"name": "b"}}]), None,
                 f"expected exactly one, got both: {C0}.envFrom.configMapRef, {C0}.envFrom.secretRef",
                 id="env-from-both"),
])
def test_env(tmpl: dict[str, Any], features: dict[str, str] | None, want: str) -> None:
    assert errors(tmpl, features) == want


# --- ports --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("port", "want"), [
    pytest.param({"containerPort": 8012}, f"invalid value: 8012 is a reserved port: {C0}.ports.containerPort\n"
                 "8012 is a reserved port, please use a different value", id="reserved-8012"),
    pytest.param({"containerPort": 9091}, f"invalid value: 9091 is a reserved port: {C0}.ports.containerPort\n"
                 "9091 is a reserved port, please use a different value", id="reserved-9091"),
    pytest.param({"containerPort": 70000}, f"expected 0 <= 70000 <= 65535: {C0}.ports.containerPort", id="range"),
    pytest.param({"containerPort": 8080, "name": "grpc"}, f"Port name grpc is not allowed: {C0}.ports\n"
                 "Name must be empty, or one of: 'h2c', 'http1'", id="name"),
    pytest.param({"containerPort": 8080, "name": "h2c"}, "", id="h2c"),
    pytest.param({"containerPort": 8080, "protocol": "UDP"}, f"invalid value: UDP: {C0}.ports.protocol", id="udp"),
    pytest.param({"containerPort": 8080, "hostPort": 80}, f"must not set the field(s): {C0}.ports.hostPort",
                 id="host-port"),
])
def test_ports(port: dict[str, Any], want: str) -> None:
    assert errors(one(ports=[port])) == want


# --- probes -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "want"), [
    pytest.param({"readinessProbe": {"failureThreshold": 3}},
                 f"failureThreshold is disallowed when periodSeconds is zero: {C0}.readinessProbe.failureThreshold",
                 id="aggressive-probe-retries"),
    pytest.param({"readinessProbe": {"periodSeconds": 5, "timeoutSeconds": -1}},
                 f"expected 1 <= -1 <= 2147483647: {C0}.readinessProbe.timeoutSeconds", id="timeout"),
    pytest.param({"readinessProbe": {"httpGet": {"path": "/"}, "tcpSocket": {}}},
                 f"expected exactly one, got both: {C0}.readinessProbe.httpGet, {C0}.readinessProbe.tcpSocket",
                 id="two-handlers"),
    pytest.param({"readinessProbe": {"httpGet": {"path": "/", "port": "web"}}},
                 f"invalid value: web: {C0}.readinessProbe.httpGet.port\nProbe port must match container port",
                 id="named-port"),
    pytest.param({"ports": [{"containerPort": 8080, "name": "http1"}],
                  "readinessProbe": {"httpGet": {"path": "/", "port": "http1"}}}, "", id="named-port-matches"),
    pytest.param({"livenessProbe": {"periodSeconds": 3}},
                 f"expected exactly one, got neither: {C0}.livenessProbe.exec, {C0}.livenessProbe.grpc, "
                 f"{C0}.livenessProbe.httpGet, {C0}.livenessProbe.tcpSocket", id="liveness-without-handler"),
    pytest.param({"livenessProbe": {"exec": {"command": ["true"]}, "terminationGracePeriodSeconds": 5}},
                 f"must not set the field(s): {C0}.livenessProbe.exec.terminationGracePeriodSeconds",
                 id="handler-reprefixes-earlier-errors"),
])
def test_probes(fields: dict[str, Any], want: str) -> None:
    assert errors(one(**fields)) == want


def test_sidecar_probes_refused_unless_multi_container_probing() -> None:
    tmpl = template(container(ports=[{"containerPort": 8080}]),
                    container("ghcr.io/example/sidecar",
                              readinessProbe={"tcpSocket": {"port": 9000}, "periodSeconds": 2}))
    sidecar = "spec.template.spec.containers[1].readinessProbe"
    fields = ", ".join(f"{sidecar}.{f}" for f in ("failureThreshold", "periodSeconds", "successThreshold",
                                                  "timeoutSeconds"))
    assert errors(tmpl) == f"must not set the field(s): {sidecar}, {fields}"
    assert errors(tmpl, {"multi-container-probing": "enabled"}) == ""


# --- volumes ------------------------------------------------------------------------------------------------

def _mounted(volume: dict[str, Any], mount: dict[str, Any] | None = None) -> dict[str, Any]:
    mount = mount or {"name": volume["name"], "mountPath": "/data"}
    return template(container(volumeMounts=[mount]), volumes=[volume])


V0 = "spec.template.spec.volumes[0]"


@pytest.mark.parametrize(("tmpl", "features", "want"), [
    pytest.param(_mounted({"name": "cfg", "configMap": {"name": "c"}}), None, "", id="config-map"),
    pytest.param(template(volumes=[{"name": "cfg", "secret": {"secretName": "s"}}]), None,
                 f'volume with name "cfg" not mounted: {V0}.name', id="not-mounted"),
    pytest.param(template(container(volumeMounts=[{"name": "nope", "mountPath": "/x"}])), None,
                 f"volumeMount has no matching volume: {C0}.volumeMounts[0].name", id="no-volume"),
    pytest.param(_mounted({"name": "cfg", "configMap": {"name": "c"}}, {"name": "cfg", "mountPath": "/dev"}), None,
                 f'mountPath "/dev" is a reserved path: {C0}.volumeMounts[0].mountPath', id="reserved-path"),
    pytest.param(_mounted({"name": "cfg", "configMap": {"name": "c"}}, {"name": "cfg", "mountPath": "data"}), None,
                 f"invalid value: data: {C0}.volumeMounts[0].mountPath", id="relative-path"),
    pytest.param(_mounted({"name": "d", "emptyDir": {}}), {"kubernetes.podspec-volumes-emptydir": "disabled"},
                 f"EmptyDir volume support is disabled, but found EmptyDir volume d: \n"
                 f"must not set the field(s): {V0}.emptyDir", id="empty-dir-off"),
    pytest.param(_mounted({"name": "d", "emptyDir": {"medium": "Disk"}}), None,
                 f"invalid value: Disk: {V0}.emptyDir.medium", id="empty-dir-medium"),
    pytest.param(_mounted({"name": "d", "hostPath": {"path": "/"}}), None,
                 f"expected exactly one, got neither: {V0}.configMap, {V0}.emptyDir, {V0}.projected, {V0}.secret\n"
                 f"must not set the field(s): {V0}.hostPath", id="host-path"),
    pytest.param(_mounted({"name": "d", "persistentVolumeClaim": {"claimName": "c", "readOnly": True}},
                          {"name": "d", "mountPath": "/data", "readOnly": True}), None,
                 "Persistent volume claim support is disabled, but found persistent volume claim c: \n"
                 f"must not set the field(s): {V0}.persistentVolumeClaim", id="pvc-off"),
    pytest.param(_mounted({"name": "Bad", "configMap": {"name": "c"}}), None, f"invalid value: Bad: {V0}.name",
                 id="volume-name"),
    pytest.param(_mounted({"name": "both", "configMap": {"name": "c"}, "secret": {"secretName": "s"}}), None,
                 f"expected exactly one, got both: {V0}.configMap, {V0}.secret", id="two-sources"),
    pytest.param(_mounted({"name": "p", "projected": {"sources": [{"secret": {}}]}}), None,
                 f"missing field(s): {V0}.projected[0].secret.name", id="projected-secret-name"),
])
def test_volumes(tmpl: dict[str, Any], features: dict[str, str] | None, want: str) -> None:
    assert errors(tmpl, features) == want


def test_mount_of_read_only_volume_must_be_read_only() -> None:
    spec = {"containers": [{"image": "img", "volumeMounts": [{"name": "cfg", "mountPath": "/cfg"}]}],
            "volumes": [{"name": "cfg", "configMap": {"name": "c"}}]}
    assert str(validate_pod_spec(spec, Features()).errors()) == \
        "volume mount should be readOnly for this type of volume: containers[0].volumeMounts[0].readOnly"


# --- the pod and features -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "features", "want"), [
    pytest.param({"nodeSelector": {"disk": "ssd"}}, None, "must not set the field(s): spec.template.spec.nodeSelector",
                 id="node-selector-off"),
    pytest.param({"nodeSelector": {"disk": "ssd"}}, {"kubernetes.podspec-nodeselector": "enabled"}, "",
                 id="node-selector-on"),
    pytest.param({"tolerations": []}, {"kubernetes.podspec-tolerations": "allowed"}, "", id="allowed-counts"),
    pytest.param({"hostNetwork": True}, None, "must not set the field(s): spec.template.spec.hostNetwork",
                 id="host-network"),
    pytest.param({"automountServiceAccountToken": True}, None,
                 "must not set the field(s): spec.template.spec.automountServiceAccountToken", id="automount-true"),
    pytest.param({"automountServiceAccountToken": False}, None, "", id="automount-false"),
    pytest.param({"serviceAccountName": "Builder"}, None,
                 f"invalid value: Builder: spec.template.spec.serviceAccountName\n{DNS1123_SUBDOMAIN_MSG}",
                 id="service-account"),
    pytest.param({"initContainers": [{"image": "busybox"}]}, None,
                 "must not set the field(s): spec.template.spec.initContainers\n"
                 "pod spec support for init-containers is off, but found 1 init containers: ", id="init-off"),
    pytest.param({"initContainers": [{"image": "busybox", "readinessProbe": {"exec": {"command": ["x"]}}}]},
                 {"kubernetes.podspec-init-containers": "enabled"},
                 "field not allowed in an init container: spec.template.spec.containers[0].readinessProbe",
                 id="init-probe"),
    pytest.param({"securityContext": {"runAsUser": 1000}}, None,
                 "must not set the field(s): spec.template.spec.securityContext.runAsUser", id="pod-security-off"),
    pytest.param({"securityContext": {"runAsUser": 1000}}, {"kubernetes.podspec-securitycontext": "enabled"}, "",
                 id="pod-security-on"),
])
def test_pod_fields(spec: dict[str, Any], features: dict[str, str] | None, want: str) -> None:
    assert errors(template(**spec), features) == want


@pytest.mark.parametrize(("context", "features", "want"), [
    pytest.param({"privileged": True}, None, f"must not set the field(s): {C0}.securityContext.privileged",
                 id="privileged"),
    pytest.param({"privileged": False, "readOnlyRootFilesystem": True}, None, "", id="unprivileged"),
    pytest.param({"capabilities": {"add": ["NET_ADMIN"]}}, None,
                 f"must not set the field(s): {C0}.securityContext.capabilities.add", id="add-capabilities"),
    pytest.param({"capabilities": {"add": ["NET_ADMIN"]}}, {"kubernetes.containerspec-addcapabilities": "enabled"},
                 "", id="add-capabilities-on"),
    pytest.param({"runAsUser": -1}, None, f"expected 0 <= -1 <= 2147483647: {C0}.securityContext.runAsUser",
                 id="run-as-user"),
    pytest.param({"seLinuxOptions": {"level": "s0"}}, None,
                 f"must not set the field(s): {C0}.securityContext.seLinuxOptions", id="selinux"),
])
def test_container_security_context(context: dict[str, Any], features: dict[str, str] | None, want: str) -> None:
    assert errors(one(securityContext=context), features) == want


INSECURE = "Kubernetes default value is insecure, Knative may default this to secure in a future release: "


@pytest.mark.parametrize(("context", "want"), [
    pytest.param(None, [INSECURE + ", ".join(f"{C0}.securityContext.{f}" for f in (
        "allowPrivilegeEscalation", "capabilities", "runAsNonRoot", "seccompProfile"))], id="nothing-set"),
    pytest.param({"allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
                  "seccompProfile": {"type": "RuntimeDefault"}}, [], id="restricted"),
    pytest.param({"allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["all"]},
                  "seccompProfile": {"type": "RuntimeDefault"}},
                 [f"invalid value: all: {C0}.securityContext.capabilities.drop\nMust be spelled as 'ALL'"],
                 id="misspelt-all"),
])
def test_insecure_defaults_are_warnings(context: dict[str, Any] | None, want: list[str]) -> None:
    tmpl = one(securityContext=context) if context else one()
    assert result(tmpl) == ("", want)


def test_secure_pod_defaults_silence_the_warnings() -> None:
    assert result(one(), {"secure-pod-defaults": "enabled"}) == ("", [])
