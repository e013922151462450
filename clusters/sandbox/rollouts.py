"""The Deployment controller: ReplicaSets, their pods, and rollout status."""

from __future__ import annotations

import copy
import hashlib
import math
from typing import Any

from .meta import annotation, owner_reference, random_suffix
from .operations import Api
from .reconcile import Reconciler, is_ready, set_condition
from .workloads import (
    ANNOTATION_PREFIX,
    CRASHING,
    NO_ROOM,
    PULL_FAILING,
    RUNNING,
    UNSCHEDULABLE,
    pod_from_template,
    pull_error,
    template_hash,
)

ROLLOUT_DELAY = ANNOTATION_PREFIX + "rollout-delay-seconds"
FAIL_ROLLOUT = ANNOTATION_PREFIX + "fail-rollout"
REVISION = "deployment.kubernetes.io/revision"
# FAIL_ROLLOUT's values: how the new pods fail ("true" is the crash loop).
FAILURES = {
    "true": CRASHING,
    "crash-loop": CRASHING,
    "image-pull": PULL_FAILING,
    "unschedulable": UNSCHEDULABLE,
}


def _max_unavailable(spec: dict[str, Any], desired: int) -> int:
    value = ((spec.get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return math.floor(desired * int(value[:-1]) / 100)
    return int(value)


class DeploymentController(Reconciler):
    """Rolls a Deployment out ``rollout_delay`` seconds after each new generation.

    The annotation ``sandbox.hangar.dev/rollout-delay-seconds`` overrides the
    delay; ``sandbox.hangar.dev/fail-rollout: "true"`` makes the new pods
    crash-loop so the rollout never completes; ``"image-pull"`` makes their image one
    the node cannot pull, ``"unschedulable"`` makes them fit no node (with the kubelet's
    or the scheduler's statuses and events).
    """

    def __init__(self, api: Api, rollout_delay: float, rollout_spread: float = 0.0) -> None:
        super().__init__(api)
        self.rollout_delay = rollout_delay
        # Up to this many seconds more per rollout, the same for a given Deployment
        # generation (a hash, not a random draw), like image pulls and readiness that vary.
        self.rollout_spread = rollout_spread

    def _rollout_delay(self, deployment: dict[str, Any]) -> float:
        if annotation(deployment, ROLLOUT_DELAY) is not None or not self.rollout_spread:
            return self._delay(deployment, ROLLOUT_DELAY, self.rollout_delay)
        meta = deployment["metadata"]
        seed = f"{meta['uid']}/{meta.get('generation', 0)}".encode()
        share = int.from_bytes(hashlib.sha256(seed).digest()[:4], "big") / 2**32
        return self.rollout_delay + self.rollout_spread * share

    def reconcile(self, deployment: dict[str, Any], now: float) -> float | None:
        """One pass; returns when time alone would change the outcome (None: only a write)."""
        meta = deployment["metadata"]
        if meta.get("deletionTimestamp") or (deployment.get("spec") or {}).get("paused"):
            return None
        spec = deployment.get("spec") or {}
        namespace, uid = meta["namespace"], meta["uid"]
        first = self._first_seen(deployment, now)
        desired = int(spec.get("replicas", 1))
        rs_name = f"{meta['name']}-{template_hash(spec.get('template') or {})}"
        failing = FAILURES.get(annotation(deployment, FAIL_ROLLOUT) or "")
        delay = self._rollout_delay(deployment)
        if now - first >= delay:
            replica_sets = self._owned("apps", "replicasets", namespace, uid)
            current = next((r for r in replica_sets if r["metadata"]["name"] == rs_name), None)
            if current is None:
                current = self._new_replica_set(deployment, rs_name, replica_sets)
            self._scale_replica_set(current, desired, failing or RUNNING)
            if not failing:
                for other in replica_sets:
                    if other["metadata"]["name"] != rs_name:
                        self._scale_replica_set(other, 0, RUNNING)
            revision = annotation(current, REVISION)
            if revision and annotation(deployment, REVISION) != revision:
                updated = copy.deepcopy(deployment)
                updated["metadata"].setdefault("annotations", {})[REVISION] = revision
                deployment = self.api.system_update(
                    self._rt("apps", "v1", "deployments"), deployment, updated
                )
        else:
            self._deployment_status(deployment, rs_name, desired, first, now)
            return first + delay
        return self._deployment_status(deployment, rs_name, desired, first, now)

    def _new_replica_set(
        self, deployment: dict[str, Any], name: str, existing: list[dict[str, Any]]
    ) -> dict[str, Any]:
        spec = deployment["spec"]
        pod_hash = name.rsplit("-", 1)[1]
        template = copy.deepcopy(spec.get("template") or {})
        template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = pod_hash
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
        revisions = [int(annotation(r, REVISION) or 0) for r in existing]
        replica_set = {
            "metadata": {
                "name": name,
                "labels": dict(template["metadata"]["labels"]),
                "annotations": {
                    REVISION: str(max(revisions, default=0) + 1),
                    "deployment.kubernetes.io/desired-replicas": str(spec.get("replicas", 1)),
                    "deployment.kubernetes.io/max-replicas": str(spec.get("replicas", 1)),
                },
                "ownerReferences": [owner_reference(deployment)],
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        created = self.api.system_create(
            self._rt("apps", "v1", "replicasets"),
            deployment["metadata"]["namespace"],
            replica_set,
        )
        self.emit(
            deployment,
            "Normal",
            "ScalingReplicaSet",
            f"Scaled up replica set {name} to {spec.get('replicas', 1)}",
            "deployment-controller",
        )
        return created

    def _scale_replica_set(self, replica_set: dict[str, Any], desired: int, state: str) -> None:
        rs_type = self._rt("apps", "v1", "replicasets")
        meta = replica_set["metadata"]
        namespace = meta["namespace"]
        if (replica_set.get("spec") or {}).get("replicas") != desired:
            updated = copy.deepcopy(replica_set)
            updated["spec"]["replicas"] = desired
            replica_set = self.api.system_update(rs_type, replica_set, updated)
        pods = self._owned("", "pods", namespace, meta["uid"])
        pod_type = self._rt("", "v1", "pods")
        for _ in range(desired - len(pods)):
            pod = pod_from_template(
                replica_set["spec"]["template"],
                f"{meta['name']}-{random_suffix()}",
                namespace,
                owner_reference(replica_set),
                {},
                "",
            )
            pod["spec"].pop("nodeName")
            if self.refused_by_admission(replica_set, pod, "replicaset-controller"):
                break
            created = self.api.system_create(pod_type, namespace, pod, pod_state=state)
            self.emit(
                replica_set,
                "Normal",
                "SuccessfulCreate",
                f"Created pod: {created['metadata']['name']}",
                "replicaset-controller",
            )
            self._pod_events(created, state)
            pods.append(created)
        for pod in sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"])[desired:]:
            self.api.system_delete(pod_type, pod)
        pods = self._owned("", "pods", namespace, meta["uid"])
        ready = sum(1 for p in pods if is_ready(p))
        status: dict[str, Any] = {"replicas": len(pods)}
        if pods:
            status["fullyLabeledReplicas"] = len(pods)
        if ready:
            status.update(readyReplicas=ready, availableReplicas=ready)
        status["observedGeneration"] = replica_set["metadata"].get("generation", 1)
        if status != replica_set.get("status"):
            self.api.system_update(
                rs_type, replica_set, {**replica_set, "status": status}, subresource="status"
            )

    def _pod_events(self, pod: dict[str, Any], state: str) -> None:
        """The events a kubelet or the scheduler records for a pod that does not start."""
        container = (pod["spec"].get("containers") or [{}])[0]
        name, image = container.get("name", ""), container.get("image", "")
        meta = pod["metadata"]
        if state == CRASHING:
            self.emit(
                pod,
                "Warning",
                "BackOff",
                f"Back-off restarting failed container {name} in pod "
                f"{meta['name']}_{meta['namespace']}({meta['uid']})",
                "kubelet",
            )
        elif state == PULL_FAILING:
            self.emit(pod, "Normal", "Pulling", f'Pulling image "{image}"', "kubelet")
            self.emit(pod, "Warning", "Failed", pull_error(image), "kubelet")
            self.emit(pod, "Warning", "Failed", "Error: ErrImagePull", "kubelet")
            self.emit(pod, "Normal", "BackOff", f'Back-off pulling image "{image}"', "kubelet")
            self.emit(pod, "Warning", "Failed", "Error: ImagePullBackOff", "kubelet")
        elif state == UNSCHEDULABLE:
            self.emit(pod, "Warning", "FailedScheduling", NO_ROOM, "default-scheduler")

    def _deployment_status(
        self, deployment: dict[str, Any], rs_name: str, desired: int, first: float, now: float
    ) -> float | None:
        """Writes the status; returns when the progress deadline passes (None: complete)."""
        meta = deployment["metadata"]
        spec = deployment.get("spec") or {}
        namespace = meta["namespace"]
        replica_sets = self._owned("apps", "replicasets", namespace, meta["uid"])
        pods, new_pods = [], []
        for replica_set in replica_sets:
            owned = self._owned("", "pods", namespace, replica_set["metadata"]["uid"])
            pods += owned
            if replica_set["metadata"]["name"] == rs_name:
                new_pods = owned
        available = sum(1 for p in pods if is_ready(p))
        old_status = deployment.get("status") or {}
        status: dict[str, Any] = {"observedGeneration": meta.get("generation", 1)}
        # Upstream omits zero counts (omitempty), so callers must treat None as 0.
        for key, value in (
            ("replicas", len(pods)),
            ("updatedReplicas", len(new_pods)),
            ("readyReplicas", available),
            ("availableReplicas", available),
            ("unavailableReplicas", max(desired - available, 0)),
        ):
            if value:
                status[key] = value
        conditions = copy.deepcopy(old_status.get("conditions") or [])
        if available >= desired - _max_unavailable(spec, desired):
            set_condition(
                conditions,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            )
        else:
            set_condition(
                conditions,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        complete = len(new_pods) == desired == len(pods) and available >= desired
        deadline = float(spec.get("progressDeadlineSeconds", 600))
        if complete:
            set_condition(
                conditions,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
            )
        elif now - first > deadline:
            set_condition(
                conditions,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{rs_name}" has timed out progressing.',
            )
        else:
            set_condition(
                conditions,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                f'ReplicaSet "{rs_name}" is progressing.',
            )
        conditions.sort(key=lambda c: 0 if c["type"] == "Available" else 1)
        status["conditions"] = conditions
        if status != old_status:
            self.api.system_update(
                self._rt("apps", "v1", "deployments"),
                deployment,
                {**deployment, "status": status},
                subresource="status",
            )
        # A strict comparison above: wake just after the deadline.
        return None if complete or now - first > deadline else first + deadline + 0.001
