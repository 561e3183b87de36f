"""Knative's KPA on the plane: request metrics from the ingress every second into per-revision windows,
a decision per revision every 2 s (at once on a scale-from-zero poke), and the PodAutoscaler reconciler
turning decisions into Deployment replicas with Knative's bounds and scale-to-zero gating."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...api.conditions import ConditionSet
from ...api.printing import parse_timestamp
from ...autoscaler import (
    ACTIVATING,
    ACTIVE,
    HPA_CLASS,
    INACTIVE,
    PROXY,
    TICK_INTERVAL,
    AutoscalerConfig,
    Decider,
    DeciderStatus,
    MetricWindows,
    PAState,
    active_condition,
    decider_spec,
    gate,
    initial_status,
    metric_spec,
    next_status,
    parse_config,
    scale_bounds,
    should_poke,
    sks_mode,
)
from ...autoscaler.hpa import DEFAULT_CPU_TARGET, HPADecider, HPASpec, parse_cpu, usage_ratio
from ...dataplane.metrics import RevisionStats
from ...dataplane.routing import RevisionKey
from ..runtime import Clock, ObjectKey, Result
from .children import write_status
from .context import Context

log = logging.getLogger(__name__)
CONDITIONS = ConditionSet("Ready", ("Active", "ScaleTargetInitialized", "SKSReady"))
SCRAPE_INTERVAL = 1.0
KPA_CLASS = "kpa.autoscaling.knative.dev"
ANNOTATION_CLASS = "autoscaling.knative.dev/class"
Stats = Callable[[], Mapping[RevisionKey, RevisionStats]]
# per revision, each running replica's (pid, CPU seconds so far, resident bytes)
Usage = Callable[[], Mapping[RevisionKey, list[tuple[int, float, int]]]]


@dataclass
class _HPARevision:
    """The HPA class's memory of one revision: its decider, the last CPU sample per replica."""

    decider: HPADecider
    samples: dict[int, tuple[float, float]]  # pid -> (time, CPU seconds)
    desired: int = -1


@dataclass
class _Revision:
    """The autoscaler's memory of one revision: its windows, decider and last decision."""

    concurrency: MetricWindows
    rps: MetricWindows
    decider: Decider
    status: DeciderStatus
    metric: str = "concurrency"
    stable: float = 0.0
    panic: float = 0.0
    proxy_since: float | None = None


class KPA:
    def __init__(self, ctx: Context, stats: Stats, enqueue: Callable[[ObjectKey], None],
                 usage: Usage | None = None) -> None:
        self.ctx = ctx
        self.stats = stats
        self.enqueue = enqueue
        self.usage = usage or (lambda: {})
        self.revisions: dict[ObjectKey, _Revision] = {}
        self.hpas: dict[ObjectKey, _HPARevision] = {}
        self._config_data: dict[str, str] | None = None
        self._config = AutoscalerConfig()

    # --- configuration -------------------------------------------------------------------------------

    @property
    def config(self) -> AutoscalerConfig:
        """config-autoscaler, re-parsed when it changes; an invalid edit keeps the last valid config."""
        data = dict(self.ctx.store.config("knative-serving", "config-autoscaler") or {})
        data = {k: v for k, v in data.items() if not k.startswith("_")}
        if data != self._config_data:
            self._config_data = data
            try:
                self._config = parse_config(data)
            except ValueError as e:
                log.error("config-autoscaler is invalid, keeping the previous settings: %s", e)
        return self._config

    def _pa(self, key: ObjectKey) -> dict[str, Any] | None:
        return self.ctx.store.get(self.ctx.types.podautoscaler, key.namespace, key.name)

    def _state(self, key: ObjectKey, pa: dict[str, Any]) -> _Revision:
        """The revision's windows and decider, created or brought in line with the PA and the config."""
        config, ann = self.config, pa["metadata"].get("annotations") or {}
        reachable = (pa.get("spec") or {}).get("reachability") != "Unreachable"
        spec = decider_spec(config, ann, int((pa.get("spec") or {}).get("containerConcurrency") or 0), reachable)
        windows = metric_spec(config, ann)
        rev = self.revisions.get(key)
        now = self.ctx.now()
        if rev is None:
            ready = self._ready(pa)
            rev = _Revision(MetricWindows(windows.stable_window, windows.panic_window, windows.algorithm),
                            MetricWindows(windows.stable_window, windows.panic_window, windows.algorithm),
                            Decider(spec, ready, now=now),
                            initial_status(spec, scale_bounds(config, ann, reachable).initial))
            self.revisions[key] = rev
        else:
            rev.decider.update(spec)
            rev.concurrency.resize(windows.stable_window, windows.panic_window, now=now)
            rev.rps.resize(windows.stable_window, windows.panic_window, now=now)
        rev.metric = spec.scaling_metric
        return rev

    def _deployment(self, pa: dict[str, Any]) -> dict[str, Any] | None:
        target = ((pa.get("spec") or {}).get("scaleTargetRef") or {}).get("name", "")
        return self.ctx.store.get(self.ctx.types.deployment, pa["metadata"]["namespace"], target)

    def _ready(self, pa: dict[str, Any]) -> int:
        return int(((self._deployment(pa) or {}).get("status") or {}).get("readyReplicas") or 0)

    # --- metrics and decisions -----------------------------------------------------------------------

    def scrape(self) -> None:
        """One second of the ingress's numbers into every revision's windows."""
        now = self.ctx.now()
        snapshot = self.stats()
        for key, rev in self.revisions.items():
            stat = snapshot.get(RevisionKey(key.namespace, key.name))
            concurrency = stat.average_concurrency if stat else 0.0
            rev.concurrency.record(now, concurrency)
            rev.rps.record(now, float(stat.request_count) / SCRAPE_INTERVAL if stat else 0.0)
            if should_poke(rev.status, concurrency):
                self.decide(key)

    def poke(self, key: ObjectKey) -> None:
        """The activator's first stat for a revision at zero: concurrency 1, decided at once."""
        pa = self._pa(key)
        if pa is None:
            return
        rev = self._state(key, pa)
        now = self.ctx.now()
        rev.concurrency.record(now, 1.0)
        rev.rps.record(now, 1.0)
        self.decide(key, force=True)

    def tick(self) -> None:
        for key in list(self.revisions):
            self.decide(key)
        if self.hpas:
            self._tick_hpa()

    def decide(self, key: ObjectKey, force: bool = False) -> None:
        pa = self._pa(key)
        if pa is None:
            self.revisions.pop(key, None)
            return
        rev = self._state(key, pa)
        now = self.ctx.now()
        windows = rev.rps if rev.metric == "rps" else rev.concurrency
        averages = windows.averages(now)
        if averages is None:
            return
        rev.stable, rev.panic = averages
        result = rev.decider.scale(now=now, ready_pods=self._ready(pa), stable=rev.stable, panic=rev.panic)
        rev.status, changed = next_status(rev.status, result)
        if changed or force:
            self.enqueue(key)

    def track(self, key: ObjectKey) -> None:
        """A PA exists: keep windows and a decider (KPA class) or a usage decider (HPA class) for it."""
        pa = self._pa(key)
        if pa is None:
            return
        if _kpa_class(pa):
            self._state(key, pa)
        elif _hpa_class(pa):
            self._hpa_state(key, pa)

    # --- the HPA class ---------------------------------------------------------------------------------

    def _hpa_spec(self, pa: dict[str, Any]) -> HPASpec:
        config, ann = self.config, pa["metadata"].get("annotations") or {}
        bounds = scale_bounds(config, ann, True)
        metric = ann.get("autoscaling.knative.dev/metric", "cpu")
        try:
            target = float(ann.get("autoscaling.knative.dev/target", "")) or DEFAULT_CPU_TARGET
        except ValueError:
            target = DEFAULT_CPU_TARGET
        dep = self._deployment(pa)
        containers = (((dep or {}).get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or [{}]
        request = parse_cpu(((containers[0].get("resources") or {}).get("requests") or {}).get("cpu"))
        return HPASpec(metric, target, max(bounds.min, 1), bounds.max, request or 1.0)

    def _hpa_state(self, key: ObjectKey, pa: dict[str, Any]) -> _HPARevision:
        spec = self._hpa_spec(pa)
        state = self.hpas.get(key)
        if state is None:
            state = self.hpas[key] = _HPARevision(HPADecider(spec), {})
        else:
            state.decider.spec = spec
        return state

    def _tick_hpa(self) -> None:
        now = self.ctx.now()
        usage = self.usage()
        for key in list(self.hpas):
            pa = self._pa(key)
            if pa is None:
                del self.hpas[key]
                continue
            state = self._hpa_state(key, pa)
            replicas = usage.get(RevisionKey(key.namespace, key.name), [])
            cores, measured = 0.0, 0
            for pid, cpu, _ in replicas:
                before = state.samples.get(pid)
                if before is not None and now > before[0]:
                    cores += (cpu - before[1]) / (now - before[0])
                    measured += 1
            state.samples = {pid: (now, cpu) for pid, cpu, _ in replicas}
            rss = float(sum(r for _, _, r in replicas))
            ratio = usage_ratio(state.decider.spec, cores=cores, rss_bytes=rss, replicas=len(replicas)) \
                if measured == len(replicas) else None
            desired = state.decider.decide(now=now, replicas=len(replicas), ratio=ratio)
            if desired != state.desired:
                state.desired = desired
                self.enqueue(key)

    def _reconcile_hpa(self, key: ObjectKey, pa: dict[str, Any], deployment: dict[str, Any] | None,
                       status: dict[str, Any], cm: Any) -> None:
        state = self._hpa_state(key, pa)
        bounds = scale_bounds(self.config, pa["metadata"].get("annotations") or {}, True)
        if deployment is None:
            cm.mark_unknown("ScaleTargetInitialized", "Deploying", "")
            return
        current = int((deployment.get("spec") or {}).get("replicas") or 0)
        ready = int((deployment.get("status") or {}).get("readyReplicas") or 0)
        want = state.desired if state.desired > 0 else max(bounds.initial, bounds.min, 1)
        if want != current:
            scaled = copy.deepcopy(deployment)
            scaled["spec"]["replicas"] = want
            self.ctx.store.update(self.ctx.types.deployment, scaled)
        status.update({"desiredScale": want, "actualScale": ready, "serviceName": key.name,
                       "metricsServiceName": f"{key.name}-private"})
        if ready >= max(bounds.initial, 1):
            cm.mark_true("ScaleTargetInitialized")
        cm.mark_true("SKSReady")
        if ready >= 1:
            cm.mark_true("Active")
        else:
            cm.mark_unknown("Active", "Queued", "Requests to the target are being buffered as resources are "
                                                "provisioned.")

    async def run(self) -> None:
        """Scrape every second, decide every tick (2 s), until cancelled."""
        clock: Clock = self.ctx.clock
        elapsed = 0.0
        while True:
            await clock.sleep(SCRAPE_INTERVAL)
            try:
                self.scrape()
                elapsed += SCRAPE_INTERVAL
                if elapsed >= TICK_INTERVAL:
                    elapsed = 0.0
                    self.tick()
            except Exception:
                log.exception("autoscaler tick failed")

    # --- the PodAutoscaler reconciler ----------------------------------------------------------------

    async def reconcile(self, key: ObjectKey) -> Result | None:
        t = self.ctx.types
        pa = self._pa(key)
        if pa is None or pa["metadata"].get("deletionTimestamp"):
            self.revisions.pop(key, None)
            return None
        if not (_kpa_class(pa) or _hpa_class(pa)):
            return None
        deployment = self._deployment(pa)
        status = copy.deepcopy(pa.get("status") or {})
        cm = CONDITIONS.manage(status, self.ctx.now())
        cm.initialize()
        requeue = None
        if _hpa_class(pa):
            self._reconcile_hpa(key, pa, deployment, status, cm)
        elif deployment is None:
            cm.mark_unknown("ScaleTargetInitialized", "Deploying", "")
        else:
            requeue = self._scale(key, pa, self._state(key, pa), deployment, status, cm)
        status["observedGeneration"] = pa["metadata"].get("generation", 1)
        write_status(self.ctx.store, t.podautoscaler, pa, status)
        return Result(requeue_after=requeue) if requeue else None

    def _scale(self, key: ObjectKey, pa: dict[str, Any], rev: _Revision, deployment: dict[str, Any],
               status: dict[str, Any], cm: Any) -> float | None:
        config, now = self.config, self.ctx.now()
        ann = pa["metadata"].get("annotations") or {}
        reachable = (pa.get("spec") or {}).get("reachability") != "Unreachable"
        bounds = scale_bounds(config, ann, reachable)
        ready = int((deployment.get("status") or {}).get("readyReplicas") or 0)
        current = int((deployment.get("spec") or {}).get("replicas") or 0)
        initialized = cm.is_true("ScaleTargetInitialized")
        state, since = _active_state(cm.get("Active"))
        decision = gate(rev.status.desired_scale, pa_state=state,
                        active_since=since if state == ACTIVE else None,
                        inactive_since=since if state == INACTIVE else None,
                        activating_since=since if state == ACTIVATING else None,
                        now=now, config=config, annotations=ann, reachable=reachable,
                        sks_proxy_since=rev.proxy_since, initialized=initialized, activator_in_path=True,
                        deployment_progress_deadline=self.ctx.config.progress_deadline)
        if decision.scale_to is not None and decision.scale_to != current:
            scaled = copy.deepcopy(deployment)
            scaled["spec"]["replicas"] = decision.scale_to
            self.ctx.store.update(self.ctx.types.deployment, scaled)
        want = decision.report if decision.report >= 0 else int(status.get("desiredScale", -1))
        if decision.report >= 0:
            status["desiredScale"] = decision.report
        status.update({"actualScale": ready, "serviceName": key.name, "metricsServiceName": f"{key.name}-private"})
        min_ready = bounds.min_ready(initialized)  # as computeActiveCondition: before this reconcile marks it
        if not initialized and ready >= min_ready:
            cm.mark_true("ScaleTargetInitialized")
        elif not initialized:
            cm.mark_unknown("ScaleTargetInitialized", "Queued",
                            "Requests to the target are being buffered as resources are provisioned.")
        cm.mark_true("SKSReady")
        if decision.mark is not None:
            _mark(cm, decision.mark, decision.reason, decision.message)
        else:
            mark = active_condition(want, ready, min_ready, state)
            if mark.status is not None:
                _mark(cm, mark.status, mark.reason, mark.message)
        mode = sks_mode(want, rev.status.excess_burst_capacity, pa_inactive=state == INACTIVE)
        if mode == PROXY:
            rev.proxy_since = rev.proxy_since or now
        else:
            rev.proxy_since = None
        return decision.requeue_after

    # --- metrics -------------------------------------------------------------------------------------

    def metrics_text(self) -> bytes:
        """Knative's autoscaler metrics (Prometheus text), per revision."""
        lines = []
        names = (("autoscaler_desired_pods", "gauge", lambda r: r.status.desired_scale),
                 ("autoscaler_stable_request_concurrency", "gauge", lambda r: r.stable),
                 ("autoscaler_panic_request_concurrency", "gauge", lambda r: r.panic),
                 ("autoscaler_target_concurrency_per_pod", "gauge", lambda r: r.decider.spec.target_value),
                 ("autoscaler_excess_burst_capacity", "gauge", lambda r: r.status.excess_burst_capacity),
                 ("autoscaler_panic_mode", "gauge", lambda r: 1 if r.decider.in_panic else 0))
        for name, kind, value in names:
            lines.append(f"# TYPE {name} {kind}")
            for key, rev in sorted(self.revisions.items()):
                labels = f'namespace_name="{key.namespace}",revision_name="{key.name}"'
                lines.append(f"{name}{{{labels}}} {value(rev)}")
        lines.append("# TYPE autoscaler_actual_pods gauge")
        for key in sorted(self.revisions):
            pa = self._pa(key)
            actual = int(((pa or {}).get("status") or {}).get("actualScale") or 0)
            lines.append(f'autoscaler_actual_pods{{namespace_name="{key.namespace}",revision_name="{key.name}"}} '
                         f"{actual}")
        return ("\n".join(lines) + "\n").encode()


def _hpa_class(pa: dict[str, Any]) -> bool:
    return bool((pa["metadata"].get("annotations") or {}).get(ANNOTATION_CLASS) == HPA_CLASS)


def _kpa_class(pa: dict[str, Any]) -> bool:
    return bool((pa["metadata"].get("annotations") or {}).get(ANNOTATION_CLASS, KPA_CLASS) == KPA_CLASS)


def _active_state(cond: dict[str, Any] | None) -> tuple[PAState, float | None]:
    status = (cond or {}).get("status", "Unknown")
    since = (cond or {}).get("lastTransitionTime")
    when = parse_timestamp(since) if since else None
    state: PAState = ACTIVE if status == "True" else INACTIVE if status == "False" else ACTIVATING
    return state, when


def _mark(cm: Any, state: PAState, reason: str, message: str) -> None:
    if state == ACTIVE:
        cm.mark_true("Active")
    elif state == INACTIVE:
        cm.mark_false("Active", reason, message)
    else:
        cm.mark_unknown("Active", reason, message)
