"""Event counters of the data plane, and their Prometheus text (format 0.0.4), rendered on scrape.

The hot path only bumps integers in dicts. Metric families:

- `event_count` (counter; Knative's broker ingress and filter): labels `namespace_name`, `broker_name`,
  `event_type`, `response_code`, `response_code_class`, plus `trigger_name` for the filter side;
- `event_dispatch_latencies` (histogram, milliseconds, Knative's buckets 1, 2, 5, … 10000): the time
  to hand an event on (ingress: until it is durable in the channel; filter: the subscriber call);
- `jupyter_knative_delivery_total` (counter): per channel subscriber, the outcome of deliveries:
  `delivered` (finished with success), `retried` (a retry was scheduled), `failed` (the destination
  failed for good), `dead_lettered` (the dead letter sink took the event); labels `namespace_name`,
  `channel_name`, `broker_name`, `trigger_name` (the last two empty for plain channel subscribers),
  `subscription_uid`, `subscription_name` (empty unless the controller names subscribers), `outcome`.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

__all__ = ["LATENCY_BOUNDS_MS", "OUTCOMES", "FlowLabels", "Metrics"]

LATENCY_BOUNDS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
OUTCOMES = ("delivered", "retried", "failed", "dead_lettered")
DELIVERED, RETRIED, FAILED, DEAD_LETTERED = range(4)

# (namespace, broker, trigger or "", event type, response code)
EventKey = tuple[str, str, str, str, int]


@dataclass(frozen=True, slots=True)
class FlowLabels:
    """Who a channel subscriber is, for the outcome counters."""

    namespace: str
    channel: str
    uid: str
    name: str = ""
    broker: str = ""
    trigger: str = ""


class _Histogram:
    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BOUNDS_MS) + 1)
        self.total = 0.0

    def observe(self, ms: float) -> None:
        self.counts[bisect_left(LATENCY_BOUNDS_MS, ms)] += 1
        self.total += ms


class Metrics:
    """All counters of one plane."""

    def __init__(self) -> None:
        self.events: dict[EventKey, int] = {}
        self.latencies: dict[EventKey, _Histogram] = {}
        self.flows: dict[FlowLabels, list[int]] = {}

    def event(self, key: EventKey, latency_ms: float | None = None) -> None:
        self.events[key] = self.events.get(key, 0) + 1
        if latency_ms is not None:
            hist = self.latencies.get(key)
            if hist is None:
                hist = self.latencies[key] = _Histogram()
            hist.observe(latency_ms)

    def flow(self, labels: FlowLabels) -> list[int]:
        """The four outcome counters of one subscriber (bump them in place)."""
        counts = self.flows.get(labels)
        if counts is None:
            counts = self.flows[labels] = [0, 0, 0, 0]
        return counts

    def flow_stats(self) -> dict[tuple[str, str, str], dict[str, int]]:
        """Per channel subscriber (namespace, channel, subscriber uid): outcome counts."""
        out: dict[tuple[str, str, str], dict[str, int]] = {}
        for labels, counts in self.flows.items():
            _add(out.setdefault((labels.namespace, labels.channel, labels.uid), _zero()), counts)
        return out

    def trigger_stats(self) -> dict[tuple[str, str], dict[str, int]]:
        """Per trigger (namespace, trigger name): outcome counts of its deliveries."""
        out: dict[tuple[str, str], dict[str, int]] = {}
        for labels, counts in self.flows.items():
            if labels.trigger:
                _add(out.setdefault((labels.namespace, labels.trigger), _zero()), counts)
        return out

    def render(self) -> bytes:
        lines = ["# HELP event_count Number of events received by a broker or dispatched by a trigger",
                 "# TYPE event_count counter"]
        for key, count in sorted(self.events.items()):
            lines.append(f"event_count{{{_event_labels(key)}}} {count}")
        lines += ["# HELP event_dispatch_latencies The time spent dispatching an event, in milliseconds",
                  "# TYPE event_dispatch_latencies histogram"]
        for key, hist in sorted(self.latencies.items(), key=lambda item: item[0]):
            labels = _event_labels(key)
            running = 0
            for bound, count in zip(LATENCY_BOUNDS_MS, hist.counts, strict=False):
                running += count
                lines.append(f'event_dispatch_latencies_bucket{{{labels},le="{bound}"}} {running}')
            running += hist.counts[-1]
            lines.append(f'event_dispatch_latencies_bucket{{{labels},le="+Inf"}} {running}')
            lines.append(f"event_dispatch_latencies_sum{{{labels}}} {hist.total!r}")
            lines.append(f"event_dispatch_latencies_count{{{labels}}} {running}")
        lines += ["# HELP jupyter_knative_delivery_total Deliveries to channel subscribers by outcome",
                  "# TYPE jupyter_knative_delivery_total counter"]
        for flow, counts in sorted(self.flows.items(), key=lambda item: _flow_sort(item[0])):
            base = (f'namespace_name="{_esc(flow.namespace)}",channel_name="{_esc(flow.channel)}",'
                    f'broker_name="{_esc(flow.broker)}",trigger_name="{_esc(flow.trigger)}",'
                    f'subscription_uid="{_esc(flow.uid)}",subscription_name="{_esc(flow.name)}"')
            for outcome, count in zip(OUTCOMES, counts, strict=True):
                lines.append(f'jupyter_knative_delivery_total{{{base},outcome="{outcome}"}} {count}')
        return ("\n".join(lines) + "\n").encode()


def _zero() -> dict[str, int]:
    return dict.fromkeys(OUTCOMES, 0)


def _add(into: dict[str, int], counts: list[int]) -> None:
    for outcome, count in zip(OUTCOMES, counts, strict=True):
        into[outcome] += count


def _flow_sort(flow: FlowLabels) -> tuple[str, ...]:
    return flow.namespace, flow.channel, flow.uid, flow.name, flow.broker, flow.trigger


def _event_labels(key: EventKey) -> str:
    namespace, broker, trigger, event_type, code = key
    labels = f'namespace_name="{_esc(namespace)}",broker_name="{_esc(broker)}",'
    if trigger:
        labels += f'trigger_name="{_esc(trigger)}",'
    return (labels + f'event_type="{_esc(event_type)}",response_code="{code}",'
            f'response_code_class="{code // 100}xx"')


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
