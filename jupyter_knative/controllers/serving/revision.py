"""Revision → Deployment + PodAutoscaler + Image, and the Revision's status from them and its pods
(knative/serving's revision reconciler)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from ...api.conditions import ConditionSet, ready_condition
from ...autoscaler import AutoscalerConfig, parse_config, scale_bounds
from ...dataplane.routing import RevisionKey
from ..replicaset.controller import ImageResolver
from ..runtime import ObjectKey, Result
from . import names, resources
from .children import ensure, write_status
from .context import Context

CONDITIONS = ConditionSet("Ready", ("ResourcesAvailable", "ContainerHealthy"))
COMPONENT = "revision-controller"

# what the data plane must know of a revision (None: it is gone)
SettingsSink = Callable[[RevisionKey, dict[str, Any] | None, Mapping[str, str]], None]


def initial_scale(rev: dict[str, Any], autoscaler: dict[str, str]) -> int:
    """The replicas a new revision's Deployment starts with: its initial scale within its bounds."""
    try:
        config = parse_config(autoscaler)
    except ValueError:
        config = AutoscalerConfig()
    bounds = scale_bounds(config, rev["metadata"].get("annotations") or {}, True)
    return bounds.clamp(bounds.initial, initialized=False)


class RevisionReconciler:
    def __init__(self, ctx: Context, resolve_image: ImageResolver, settings: SettingsSink) -> None:
        self.ctx = ctx
        self.resolve_image = resolve_image
        self.settings = settings
        self.recorder = ctx.recorder(COMPONENT)

    async def reconcile(self, key: ObjectKey) -> Result | None:
        t = self.ctx.types
        rev = self.ctx.store.get(t.revision, key.namespace, key.name)
        if rev is None or rev["metadata"].get("deletionTimestamp"):
            self.settings(RevisionKey(key.namespace, key.name), None, {})
            return None
        self.settings(RevisionKey(key.namespace, key.name), rev.get("spec") or {},
                      (rev.get("metadata") or {}).get("labels") or {})
        status = copy.deepcopy(rev.get("status") or {})
        cm = CONDITIONS.manage(status, self.ctx.now())
        cm.initialize()
        if cm.get("Active") is None:
            cm.mark_unknown("Active", "Deploying", "")
        self._reconcile(rev, status, cm)
        status["observedGeneration"] = rev["metadata"].get("generation", 1)
        write_status(self.ctx.store, t.revision, rev, status)
        return None

    def _digests(self, rev: dict[str, Any], status: dict[str, Any], cm: Any) -> dict[str, str] | None:
        digests: dict[str, str] = {}
        statuses = []
        for i, container in enumerate((rev.get("spec") or {}).get("containers") or []):
            name = container.get("name") or (resources.USER_CONTAINER if i == 0 else f"user-container-{i}")
            image = container.get("image", "")
            digest, error = self.resolve_image(image, rev["metadata"]["namespace"])
            if digest is None:
                cm.mark_false("ContainerHealthy", "ContainerMissing", f'Unable to fetch image "{image}": {error}')
                return None
            digests[name] = digest
            statuses.append({"name": name, "imageDigest": digest})
        status["containerStatuses"] = statuses
        return digests

    def _reconcile(self, rev: dict[str, Any], status: dict[str, Any], cm: Any) -> None:
        t, store, cfg = self.ctx.types, self.ctx.store, self.ctx.config
        digests = self._digests(rev, status, cm)
        if digests is None:
            return
        ns = rev["metadata"]["namespace"]
        existing = store.get(t.deployment, ns, names.deployment(rev["metadata"]["name"]))
        replicas = (existing or {}).get("spec", {}).get("replicas")
        desired = resources.deployment(
            rev, replicas=replicas if replicas is not None else initial_scale(rev, cfg.autoscaler),
            queue_image=cfg.deployment.get("queue-sidecar-image", ""),
            progress_deadline=int(cfg.progress_deadline),
            image_digests=digests)
        deployment = ensure(store, t.deployment, desired, rev, self.recorder)
        if deployment.not_owned:
            cm.mark_false("ResourcesAvailable", "NotOwned",
                          f'There is an existing Deployment "{desired["metadata"]["name"]}" that we do not own.')
            return
        assert deployment.obj is not None
        self._surface_pod_failures(deployment.obj, cm)
        if (deployment.obj.get("status") or {}).get("readyReplicas", 0) > 0:
            cm.mark_true("ContainerHealthy")
        for name, digest in digests.items():
            ensure(store, t.image, resources.image_cache(rev, name, digest), rev, self.recorder)
        autoscaler_class = cfg.autoscaler.get("pod-autoscaler-class", "kpa.autoscaling.knative.dev")
        pa = ensure(store, t.podautoscaler, resources.pod_autoscaler(rev, autoscaler_class), rev, self.recorder)
        if pa.not_owned or pa.obj is None:
            cm.mark_false("ResourcesAvailable", "NotOwned",
                          f'There is an existing PodAutoscaler "{rev["metadata"]["name"]}" that we do not own.')
            return
        self._propagate_autoscaler(pa.obj.get("status") or {}, status, cm)

    def _surface_pod_failures(self, deployment: dict[str, Any], cm: Any) -> None:
        """A revision whose pods keep crashing says why: `ExitCode<N>` and the container's last words."""
        spec, st = deployment.get("spec") or {}, deployment.get("status") or {}
        if not spec.get("replicas") or st.get("availableReplicas", 0) > 0:
            return
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        entries, _ = self.ctx.store.entries(
            self.ctx.types.pod, deployment["metadata"]["namespace"],
            lambda p: all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items()))
        for entry in entries[:1]:
            for cs in (entry.obj.get("status") or {}).get("containerStatuses") or []:
                if cs.get("name") == resources.QUEUE_CONTAINER:
                    continue
                term = (cs.get("lastState") or {}).get("terminated")
                if term:
                    code = term.get("exitCode", 0)
                    message = term.get("message") or ("container exited with no error" if code == 0 else "")
                    cm.mark_false("ContainerHealthy", f"ExitCode{code}", f"Container failed with: {message}")
                    return

    @staticmethod
    def _propagate_autoscaler(ps: dict[str, Any], status: dict[str, Any], cm: Any) -> None:
        """PropagateAutoscalerStatus: replicas, ResourcesAvailable and Active from the PodAutoscaler."""
        unavailable = (cm.get("ResourcesAvailable") or {}).get("status") == "False"
        for src, dst in (("actualScale", "actualReplicas"), ("desiredScale", "desiredReplicas")):
            value = ps.get(src)
            if value is not None and value >= 0:
                status[dst] = value
            else:
                status.pop(dst, None)
        ready = ready_condition({"status": ps})
        if ready is None:
            cm.mark_unknown("Active", "Deploying", "")
            if not unavailable:
                cm.mark_unknown("ResourcesAvailable", "Deploying", "")
            return
        initialized = any(c.get("type") == "ScaleTargetInitialized" and c.get("status") == "True"
                          for c in ps.get("conditions") or [])
        if initialized and not unavailable:
            cm.mark_true("ResourcesAvailable")
            cm.mark_true("ContainerHealthy")
        if cm.is_true("ResourcesAvailable") and not ps.get("serviceName"):
            cm.mark_unknown("ResourcesAvailable", "Deploying", "")
        if ready["status"] == "Unknown":
            cm.mark_unknown("Active", ready.get("reason", ""), ready.get("message", ""))
        elif ready["status"] == "False":
            if not initialized and not unavailable and ps.get("serviceName"):
                cm.mark_false("ResourcesAvailable", "ProgressDeadlineExceeded", "Initial scale was never achieved")
            cm.mark_false("Active", ready.get("reason", ""), ready.get("message", ""))
        else:
            cm.mark_true("Active")
