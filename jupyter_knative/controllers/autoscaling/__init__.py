"""Autoscaling on the plane: Knative's KPA driving PodAutoscalers from the ingress's request metrics."""

from .kpa import KPA

__all__ = ["KPA"]
