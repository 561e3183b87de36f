"""Autoscaler benchmarks: the cost of one KPA decision, and the CPU a 2 s tick takes for 500 revisions.

Everything is in-process and pure (no plane is started): the decider, the metric windows and the spec
resolution are what the autoscaler loop runs per revision. A tick records the two 1 s samples each
revision produced since the last one into its concurrency and rps windows (stable and panic each, as
Knative's collector keeps them), reads the window averages and makes one decision.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from typing import Any

from jupyter_knative.autoscaler import (
    TICK_INTERVAL,
    WEIGHTED,
    Decider,
    MetricWindows,
    decider_spec,
    metric_spec,
    parse_config,
)

T0 = 1_800_000_000.0
REVISIONS = 500


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} µs"


def _load(rng: random.Random) -> list[float]:
    """A revision's concurrency over 10 minutes of 1 s samples: idle, steady, or bursty."""
    kind = rng.random()
    if kind < 0.3:
        return [0.0] * 600
    base = rng.uniform(1, 400)
    if kind < 0.8:
        return [max(0.0, rng.gauss(base, base * 0.1)) for _ in range(600)]
    return [base * (8 if (i // 30) % 5 == 0 else 1) * rng.uniform(0.8, 1.2) for i in range(600)]


class _Revision:
    __slots__ = ("concurrency", "decider", "load", "ready", "rps")

    def __init__(self, rng: random.Random, algorithm: str) -> None:
        config = parse_config({})
        annotations = {"autoscaling.knative.dev/metric-aggregation-algorithm": algorithm}
        windows = metric_spec(config, annotations)
        cc = rng.choice([0, 0, 10, 50, 100])
        self.decider = Decider(decider_spec(config, annotations, cc, reachable=rng.random() > 0.1), ready_pods=1)
        self.concurrency = MetricWindows(windows.stable_window, windows.panic_window, windows.algorithm)
        self.rps = MetricWindows(windows.stable_window, windows.panic_window, windows.algorithm)
        self.load = _load(rng)
        self.ready = 1

    def tick(self, now: float, second: int) -> None:
        for s in (second - 1, second):
            value = self.load[s % len(self.load)]
            self.concurrency.record(now - (second - s), value)
            self.rps.record(now - (second - s), value * 4)
        averages = self.concurrency.averages(now)
        stable, panic = averages if averages is not None else (None, None)  # None: no data, tick skipped
        result = self.decider.scale(now=now, ready_pods=self.ready, stable=stable, panic=panic)
        if result.scale_valid:
            # Pods become ready a tick after they are asked for.
            self.ready = result.desired_pod_count


def bench_decision(rows: list[dict[str, Any]]) -> None:
    """Decisions alone, over a pool of deciders fed realistic (stable, panic, ready) inputs."""
    rng = random.Random(7)
    config = parse_config({})
    deciders = [Decider(decider_spec(config, {}, rng.choice([0, 10, 100]), True), ready_pods=rng.randint(0, 3))
                for _ in range(1000)]
    inputs = []
    for i in range(100_000):
        stable = rng.uniform(0, 2000)
        inputs.append((deciders[i % 1000], T0 + 2 * (i // 1000), rng.randint(0, 40), stable,
                       stable * rng.uniform(0.5, 3)))
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        for d, now, ready, stable, panic in inputs:
            d.scale(now=now, ready_pods=ready, stable=stable, panic=panic)
        runs.append((time.perf_counter() - t0) / len(inputs))
    rows.append({"metric": "one decision (Decider.scale), median of 5x100k", "value": _us(statistics.median(runs)),
                 "target": "<= 50 µs"})
    # With the delay window in play (scale-down-delay 30s).
    delayed = [Decider(decider_spec(config, {"autoscaling.knative.dev/scale-down-delay": "30s"}, 0, True), 1)
               for _ in range(1000)]
    t0 = time.perf_counter()
    for i, (_, now, ready, stable, panic) in enumerate(inputs):
        delayed[i % 1000].scale(now=now, ready_pods=ready, stable=stable, panic=panic)
    rows.append({"metric": "one decision with scale-down-delay 30s", "value": _us((time.perf_counter() - t0) / 1e5)})


def _simulate(algorithm: str, ticks: int) -> tuple[float, float]:
    """(CPU seconds per tick, wall seconds per tick) for REVISIONS revisions, after a minute of warm-up."""
    rng = random.Random(11)
    revisions = [_Revision(rng, algorithm) for _ in range(REVISIONS)]
    second = 1
    for _ in range(30):  # fill the stable windows first
        second += 2
        for r in revisions:
            r.tick(T0 + second, second)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(ticks):
        second += 2
        now = T0 + second
        for r in revisions:
            r.tick(now, second)
    return (time.process_time() - cpu0) / ticks, (time.perf_counter() - wall0) / ticks


def bench_tick(rows: list[dict[str, Any]]) -> None:
    for algorithm, label in (("linear", "linear"), (WEIGHTED, "weighted-exponential")):
        cpu, wall = _simulate(algorithm, 150)
        rows.append({"metric": f"tick, {REVISIONS} revisions ({label}): CPU (wall) per tick",
                     "value": f"{cpu * 1000:.2f} ms ({wall * 1000:.2f} ms)"})
        rows.append({"metric": f"tick, {REVISIONS} revisions ({label}): share of one core",
                     "value": f"{cpu / TICK_INTERVAL * 100:.2f} %", "target": "< 5 % at the 2 s tick"})
        rows.append({"metric": f"tick, per revision ({label})", "value": _us(cpu / REVISIONS)})


def bench_plane_loop(rows: list[dict[str, Any]], revisions: int = 500) -> None:
    """The plane's own loop (KPA.scrape + KPA.tick): the store reads, spec resolution and windows of 500
    PodAutoscalers with their Deployments, fed by a fake ingress snapshot."""
    from jupyter_knative.api.kinds import registry
    from jupyter_knative.apiserver.seed import seed
    from jupyter_knative.controllers.runtime import ObjectKey, RealClock
    from jupyter_knative.controllers.serving.context import Context
    from jupyter_knative.controllers.serving.kpa import KPA
    from jupyter_knative.dataplane.metrics import RevisionStats
    from jupyter_knative.dataplane.routing import RevisionKey
    from jupyter_knative.store import Store

    store = Store(registry())
    seed(store)
    ctx = Context.create(store, RealClock())
    t = ctx.types
    keys = []
    for i in range(revisions):
        name = f"rev-{i:03d}"
        store.create(t.deployment, {"apiVersion": "apps/v1", "kind": "Deployment",
                                    "metadata": {"name": f"{name}-deployment", "namespace": "default"},
                                    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                                             "template": {"metadata": {"labels": {"app": name}},
                                                          "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
        store.create(t.podautoscaler, {"apiVersion": "autoscaling.internal.knative.dev/v1alpha1",
                                       "kind": "PodAutoscaler", "metadata": {"name": name, "namespace": "default"},
                                       "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                                   "name": f"{name}-deployment"},
                                                "protocolType": "http1"}})
        keys.append(ObjectKey("default", name))
    snapshot = {RevisionKey("default", k.name): RevisionStats(1, 0, 100, 3.0, 10) for k in keys}
    kpa = KPA(ctx, lambda: snapshot, lambda key: None)
    for key in keys:
        kpa.track(key)
    ticks = []
    for _ in range(20):
        t0 = time.process_time()
        kpa.scrape()
        kpa.scrape()
        kpa.tick()
        ticks.append(time.process_time() - t0)
    per_tick = statistics.median(ticks)
    rows.append({"metric": f"plane loop, {revisions} revisions: CPU per 2 s tick", "value": f"{per_tick * 1e3:.2f} ms"})
    rows.append({"metric": f"plane loop, {revisions} revisions: share of one core", "value":
                 f"{per_tick / 2.0 * 100:.2f} %", "target": "< 5 % at the 2 s tick"})
    store.close()


def run() -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    bench_decision(rows)
    bench_tick(rows)
    bench_plane_loop(rows)
    return {"suite": "autoscaler", "machine": os.uname().machine, "cpus": os.cpu_count(), "rows": rows}


if __name__ == "__main__":
    for row in run()["rows"]:
        print(f"  {row['metric']:<56} {row['value']:>12}   target {row.get('target', '-')}")
