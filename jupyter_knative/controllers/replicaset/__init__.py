"""Deployments → Pods → replica processes (the ReplicaSet controller's and the kubelet's jobs)."""

from .controller import ReplicaSetController
from .process import ContainerSpec, PodRef, ReplicaRuntime, Started, StartError

__all__ = ["ContainerSpec", "PodRef", "ReplicaRuntime", "ReplicaSetController", "StartError", "Started"]
