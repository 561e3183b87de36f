"""What the eventing controllers write validates against Knative's published CRDs, and holds no field those
schemas would prune (the integrator's kubectl test checks the same end to end; this one runs in-process)."""

from __future__ import annotations

from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from ...crdschema import CRDS as ALL_CRDS
from ...crdschema import crd_schema, pruned
from .conftest import EVENTING_V1, FLOWS_V1, MESSAGING_V1, SOURCES_V1, Env, broker, status_of, subscription, trigger
from .test_sources import deployment

CRDS = ALL_CRDS / "eventing"
FILES = {"Broker": "broker.yaml", "Trigger": "trigger.yaml", "InMemoryChannel": "in-memory-channel.yaml",
         "Channel": "channel.yaml", "Subscription": "subscription.yaml", "PingSource": "pingsource.yaml",
         "ApiServerSource": "apiserversource.yaml", "SinkBinding": "sinkbindings.yaml",
         "ContainerSource": "containersource.yaml", "Sequence": "sequence.yaml", "Parallel": "parallel.yaml"}

pytestmark = pytest.mark.skipif(not CRDS.is_dir(), reason=f"upstream CRDs (test data) not found at {CRDS}")


def schema(kind: str, version: str) -> dict[str, Any]:
    return crd_schema(CRDS / FILES[kind], version)


async def test_written_objects_match_the_upstream_crds(env: Env) -> None:
    env.create(broker(delivery={"retry": 2, "deadLetterSink": {"uri": "http://dls.example.com"}}))
    env.create(trigger("t", delivery={"retry": 1}))
    env.create({"apiVersion": MESSAGING_V1, "kind": "Channel", "metadata": {"name": "ch"},
                "spec": {"channelTemplate": {"apiVersion": MESSAGING_V1, "kind": "InMemoryChannel"}}})
    env.create(subscription("s", "ch", kind="Channel", reply={"uri": "http://reply.example.com"}))
    env.create({"apiVersion": SOURCES_V1, "kind": "PingSource", "metadata": {"name": "p"},
                "spec": {"schedule": "* * * * *", "sink": {"uri": "http://sink.example.com"}}})
    env.create({"apiVersion": SOURCES_V1, "kind": "ApiServerSource", "metadata": {"name": "a"},
                "spec": {"resources": [{"apiVersion": "v1", "kind": "ConfigMap"}], "mode": "Reference",
                         "serviceAccountName": "sa", "sink": {"uri": "http://sink.example.com"}}})
    env.create(deployment("subject"))
    env.create({"apiVersion": SOURCES_V1, "kind": "SinkBinding", "metadata": {"name": "b"},
                "spec": {"subject": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "subject"},
                         "sink": {"uri": "http://sink.example.com"}, "ceOverrides": {"extensions": {"x": "y"}}}})
    env.create({"apiVersion": SOURCES_V1, "kind": "ContainerSource", "metadata": {"name": "cs"},
                "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "ok/heartbeats"}]}},
                         "sink": {"uri": "http://sink.example.com"}}})
    env.create({"apiVersion": FLOWS_V1, "kind": "Sequence", "metadata": {"name": "seq"},
                "spec": {"channelTemplate": {"apiVersion": MESSAGING_V1, "kind": "InMemoryChannel"},
                         "steps": [{"uri": "http://a.example.com"}]}})
    env.create({"apiVersion": FLOWS_V1, "kind": "Parallel", "metadata": {"name": "par"},
                "spec": {"channelTemplate": {"apiVersion": MESSAGING_V1, "kind": "InMemoryChannel"},
                         "branches": [{"subscriber": {"uri": "http://a.example.com"}}]}})
    ready = [(EVENTING_V1, "Broker", "default"), (EVENTING_V1, "Trigger", "t"), (MESSAGING_V1, "Subscription", "s"),
             (SOURCES_V1, "PingSource", "p"), (SOURCES_V1, "ApiServerSource", "a"), (SOURCES_V1, "SinkBinding", "b"),
             (FLOWS_V1, "Sequence", "seq"), (FLOWS_V1, "Parallel", "par")]
    await env.until(lambda: all(status_of(env.get(*r)) == "True" for r in ready))
    problems: list[str] = []
    for kind in FILES:
        objs, _ = env.store.list(env.eventing.reconcilers[kind].rt)
        assert objs, f"no {kind} was written"
        for obj in objs:
            sch = schema(kind, obj["apiVersion"].rsplit("/", 1)[1])
            name = f'{kind} {obj["metadata"]["name"]}'
            problems += [f"{name}: {'.'.join(map(str, e.absolute_path))}: {e.message}"
                         for e in jsonschema.Draft7Validator(sch).iter_errors(obj)]
            extra: list[str] = []
            pruned({k: v for k, v in obj.items() if k not in ("metadata", "apiVersion", "kind")}, sch, "", extra)
            problems += [f"{name}: field {p} is not in the CRD schema" for p in extra]
    assert not problems, "\n".join(problems)
