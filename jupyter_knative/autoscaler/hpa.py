"""The HPA class (`hpa.autoscaling.knative.dev`, metric `cpu` or `memory`) as Kubernetes' horizontal pod
autoscaler decides: desired = ceil(current * usage / target) outside a 10 % tolerance, at least one
replica (the HPA never scales to zero), recommendations held for a 5-minute scale-down stabilization
window. Pure: the caller brings the time and the replicas' usage.

Knative sets the HPA's target from `autoscaling.knative.dev/target`: for `cpu` a utilization percentage
of the containers' CPU request, for `memory` an average in MiB per replica.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

TOLERANCE = 0.1
DOWNSCALE_STABILIZATION = 300.0
DEFAULT_CPU_TARGET = 80.0  # percent, as Knative's HPA default
MIB = 1024 * 1024


@dataclass(frozen=True)
class HPASpec:
    metric: str  # cpu or memory
    target: float  # cpu: percent of the request; memory: MiB per replica
    min_replicas: int = 1
    max_replicas: int = 0  # 0: unbounded
    cpu_request: float = 1.0  # cores per replica (the plane takes one core when none is requested)


def parse_cpu(quantity: str | None) -> float | None:
    """A Kubernetes CPU quantity (`250m`, `0.5`, `2`) in cores."""
    if not quantity:
        return None
    text = str(quantity).strip()
    try:
        return float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        return None


def usage_ratio(spec: HPASpec, *, cores: float, rss_bytes: float, replicas: int) -> float | None:
    """Average usage over target; None when there is no replica to measure."""
    if replicas <= 0:
        return None
    if spec.metric == "memory":
        return (rss_bytes / replicas / MIB) / spec.target
    utilization = cores / replicas / spec.cpu_request * 100.0
    return utilization / spec.target


@dataclass
class HPADecider:
    spec: HPASpec
    _recommendations: deque[tuple[float, int]] = field(default_factory=deque)

    def decide(self, *, now: float, replicas: int, ratio: float | None) -> int:
        """Desired replicas for this sample (the current count when nothing can be measured)."""
        if ratio is None or replicas <= 0:
            desired = max(replicas, self.spec.min_replicas)
        elif abs(ratio - 1.0) <= TOLERANCE:
            desired = replicas
        else:
            desired = math.ceil(replicas * ratio)
        desired = max(desired, self.spec.min_replicas, 1)
        if self.spec.max_replicas > 0:
            desired = min(desired, self.spec.max_replicas)
        return self._stabilized(now, desired)

    def _stabilized(self, now: float, desired: int) -> int:
        """Scale down only to the highest recommendation of the stabilization window."""
        self._recommendations.append((now, desired))
        while self._recommendations and self._recommendations[0][0] < now - DOWNSCALE_STABILIZATION:
            self._recommendations.popleft()
        return max(d for _, d in self._recommendations)
