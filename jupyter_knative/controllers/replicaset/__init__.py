"""Deployments → Pods → replica processes (the ReplicaSet controller's and the kubelet's jobs)."""

from ...dataplane.replicas import ContainerSpec, PodRef, ReplicaRuntime, Started, StartError
from .controller import ReplicaSetController

__all__ = ["ContainerSpec", "PodRef", "ReplicaRuntime", "ReplicaSetController", "StartError", "Started"]
