"""The kubelet's environment for a container: values, the downward API, ConfigMap/Secret keys, args."""

from __future__ import annotations

import json

import pytest

from jupyter_knative.controllers.replicaset.pods import ARGS_ENV, container_env, field_ref

POD = {"metadata": {"name": "beat-6f9c", "namespace": "demo", "uid": "u-1", "labels": {"app": "beat"},
                    "annotations": {"team": "eventing"}}, "spec": {"serviceAccountName": "bot"}}


@pytest.mark.parametrize(("path", "value"), [
    ("metadata.name", "beat-6f9c"), ("metadata.namespace", "demo"), ("metadata.uid", "u-1"),
    ("metadata.labels['app']", "beat"), ("metadata.annotations['team']", "eventing"),
    ("metadata.labels['missing']", ""), ("spec.serviceAccountName", "bot"), ("status.podIP", "127.0.0.1"),
    ("no.such.path", ""),
])
def test_field_ref(path: str, value: str) -> None:
    assert field_ref(POD, path) == value


def test_container_env_resolves_every_source() -> None:
    container = {"args": ["--period", "2"], "env": [
        {"name": "PLAIN", "value": "1"},
        {"name": "EMPTY"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "color"}}},
        {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
        {"name": "MISSING_CM", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "x"}}},
    ]}
    store = {("configmap", "cfg", "color"): "blue", ("secret", "creds", "token"): "s3cret"}
    env = container_env(POD, container, lambda kind, name, key: store.get((kind, name, key)))
    assert env == {"PLAIN": "1", "EMPTY": "", "POD_NAME": "beat-6f9c", "FROM_CM": "blue", "FROM_SECRET": "s3cret",
                   ARGS_ENV: json.dumps(["--period", "2"])}


def test_no_args_no_args_variable() -> None:
    assert ARGS_ENV not in container_env(POD, {"env": []}, lambda *a: None)
