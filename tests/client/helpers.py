"""Builders shared by the client tests: traffic targets, discovery entries and small manifests."""

from __future__ import annotations

from typing import Any

from jupyter_knative.client.kinds import ResourceInfo


def latest(percent: int = 0, tag: str = "") -> dict[str, Any]:
    target: dict[str, Any] = {"tag": tag} if tag else {}
    return {**target, "latestRevision": True, "percent": percent}


def rev(name: str, percent: int = 0, tag: str = "") -> dict[str, Any]:
    target: dict[str, Any] = {"tag": tag} if tag else {}
    return {**target, "revisionName": name, "latestRevision": False, "percent": percent}


def resource(plural: str, kind: str, group: str = "", version: str = "v1", short: tuple[str, ...] = (),
             namespaced: bool = True, preferred: bool = True) -> ResourceInfo:
    return ResourceInfo(group=group, version=version, plural=plural, singular=kind.lower(), kind=kind,
                        namespaced=namespaced, short_names=short, verbs=("create", "get", "list", "watch"),
                        preferred=preferred)


HELLO = """\
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: {name}
spec:
  template:
    spec:
      containers:
        - image: {image}
          env:
            - name: TARGET
              value: "{target}"
"""


def hello(name: str = "hello", target: str = "World", image: str = "ghcr.io/knative/helloworld-go:latest") -> str:
    return HELLO.format(name=name, target=target, image=image)


def configmap(name: str, **data: str) -> str:
    lines = "".join(f"  {k}: \"{v}\"\n" for k, v in data.items())
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n{lines}"
