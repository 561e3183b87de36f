"""Which ready replica takes the next request: the activator's load-balancing policies. Pure.

Knative picks the policy from the revision's `containerConcurrency` (cc):
- cc = 0 (unlimited): random choice of two, the one with fewer requests in flight wins;
- cc <= 3: first available, in a stable order, so that a few replicas fill up one after another;
- otherwise: round robin over the replicas that have a free slot.

A replica "has a free slot" when its requests in flight are below cc (always, for cc = 0).
The functions take the replicas' in-flight counts through any sequence of objects with an
`in_flight` attribute, so the ingress can pass its endpoint records without copying them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

__all__ = ["HasInFlight", "first_available", "pick", "random_choice_2", "round_robin"]


class HasInFlight(Protocol):
    @property
    def in_flight(self) -> int: ...


def random_choice_2(replicas: Sequence[HasInFlight], rand: Callable[[], float]) -> int:
    """Index of the less loaded of two replicas drawn at random (never the same one twice)."""
    n = len(replicas)
    if n == 1:
        return 0
    a = int(rand() * n)
    b = int(rand() * (n - 1))
    if b >= a:
        b += 1
    return b if replicas[b].in_flight < replicas[a].in_flight else a


def first_available(replicas: Sequence[HasInFlight], cc: int) -> int | None:
    for index, replica in enumerate(replicas):
        if replica.in_flight < cc:
            return index
    return None


def round_robin(replicas: Sequence[HasInFlight], cc: int, start: int) -> int | None:
    """Index of the first replica with a free slot at or after `start` (wrapping)."""
    n = len(replicas)
    for step in range(n):
        index = (start + step) % n
        if replicas[index].in_flight < cc:
            return index
    return None


def pick(replicas: Sequence[HasInFlight], cc: int, rand: Callable[[], float], start: int) -> int | None:
    """The policy Knative uses for this `containerConcurrency`; None when every replica is full."""
    if not replicas:
        return None
    if cc <= 0:
        return random_choice_2(replicas, rand)
    if cc <= 3:
        return first_available(replicas, cc)
    return round_robin(replicas, cc, start)
