"""Reading outcomes from live objects, as `kubectl rollout status` and `kubectl wait` do."""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass
from functools import partial
from typing import Any


@dataclass(frozen=True)
class RolloutStatus:
    desired: int
    updated: int
    ready: int
    available: int
    done: bool
    failed: bool
    message: str

    @property
    def progress(self) -> float:
        """0..1: how far the rollout is, for progress bars."""
        if self.desired == 0:
            return 1.0 if self.done else 0.0
        return min(self.updated, self.available, self.desired) / self.desired


def rollout_status(deployment: dict[str, Any]) -> RolloutStatus:
    """Mirrors kubectl's DeploymentStatusViewer: done when the controller has seen the
    latest generation and every replica is updated and available, with no old ones left."""
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    metadata = deployment.get("metadata") or {}
    desired = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas", 0))
    total = int(status.get("replicas", 0))
    ready = int(status.get("readyReplicas", 0))
    available = int(status.get("availableReplicas", 0))
    name = metadata.get("name", "deployment")
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    progressing = conditions.get("Progressing") or {}
    replica_failure = conditions.get("ReplicaFailure") or {}
    # Every outcome reports the same counts; only done, failed and the message differ.
    outcome = partial(RolloutStatus, desired, updated, ready, available)
    if replica_failure.get("status") == "True":
        # The ReplicaSet could not even create its pods (a ResourceQuota, a LimitRange,
        # an admission webhook): retries by the controller meet the same refusal.
        return outcome(
            False,
            True,
            f'Deployment "{name}" cannot create its pods '
            f"({replica_failure.get('reason', 'FailedCreate')}): "
            f"{replica_failure.get('message', '')}",
        )
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return outcome(
            False,
            True,
            f'Deployment "{name}" exceeded its progress deadline: '
            f"{progressing.get('message', 'pods did not become ready')}",
        )
    if int(metadata.get("generation", 0)) > int(status.get("observedGeneration", 0)):
        message = "Waiting for the deployment spec update to be observed"
    elif updated < desired:
        message = f"{updated} of {desired} new replicas have been updated"
    elif total > updated:
        message = f"{total - updated} old replicas are pending termination"
    elif available < updated:
        message = f"{available} of {updated} updated replicas are available"
    else:
        return outcome(True, False, f'Deployment "{name}" successfully rolled out')
    return outcome(False, False, message)


@dataclass(frozen=True)
class JobStatus:
    active: int
    succeeded: int
    failed: int
    done: bool
    ok: bool
    message: str


def job_status(job: dict[str, Any]) -> JobStatus:
    status = job.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    active = int(status.get("active", 0))
    succeeded = int(status.get("succeeded", 0))
    failed = int(status.get("failed", 0))
    for kind in ("Complete", "SuccessCriteriaMet"):
        if (conditions.get(kind) or {}).get("status") == "True":
            return JobStatus(active, succeeded, failed, True, True, "Job completed")
    failure = conditions.get("Failed") or conditions.get("FailureTarget") or {}
    if failure.get("status") == "True":
        reason = failure.get("reason") or "Failed"
        detail = failure.get("message") or ""
        return JobStatus(
            active,
            succeeded,
            failed,
            True,
            False,
            f"Job failed ({reason}){': ' + detail if detail else ''}",
        )
    return JobStatus(active, succeeded, failed, False, False, f"{active} pod(s) running")


@dataclass(frozen=True)
class PodTrouble:
    """Why a pod cannot become ready, once that is certain: waiting longer would not help."""

    pod: str
    container: str  # "" when the pod never got as far as its containers (unscheduled)
    reason: str  # the kubelet's or scheduler's word: CrashLoopBackOff, ImagePullBackOff, ...
    message: str  # what a person reads first

    @property
    def has_log(self) -> bool:
        return self.reason in CRASHED


# A container that ran and exited: its log says why.
CRASHED = frozenset({"CrashLoopBackOff", "RunContainerError"})
# Waiting reasons no retry of the kubelet's cures: the pod spec itself is wrong.
BROKEN_SPEC = frozenset(
    {"CreateContainerConfigError", "CreateContainerError", "InvalidImageName", "ErrImageNeverPull"}
)
# What the registry answers for an image that is not there or not ours to pull.
NOT_PULLABLE = ("not found", "manifest unknown", "unauthorized", "denied", "forbidden")


def _seconds_since(stamp: str | None, now: float) -> float:
    if not stamp:
        return 0.0
    try:
        then = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return 0.0
    return now - then


def pod_trouble(
    pod: dict[str, Any],
    *,
    restarts: int = 3,
    unschedulable_seconds: float = 120.0,
    now: float | None = None,
) -> PodTrouble | None:
    """Read one pod's status as `kubectl describe pod` shows it and say whether it will
    never become ready on its own: a container crash-looping after `restarts` restarts,
    an image that cannot be pulled (the kubelet is backing off, or the registry said the
    image is not there), a spec the kubelet cannot run, or a pod no node could take for
    `unschedulable_seconds` (a cluster autoscaler may still add a node before that).
    None while the pod may yet start."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    name = meta.get("name", "pod")
    now = time.time() if now is None else now
    if meta.get("deletionTimestamp") or status.get("phase") in ("Succeeded", "Failed"):
        return None
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
            and _seconds_since(condition.get("lastTransitionTime"), now) >= unschedulable_seconds
        ):
            detail = condition.get("message") or "no node can run it"
            return PodTrouble(
                name, "", "Unschedulable", f"Pod {name} cannot be scheduled: {detail}"
            )
    for container in (status.get("initContainerStatuses") or []) + (
        status.get("containerStatuses") or []
    ):
        cname = container.get("name", "")
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason") or ""
        detail = waiting.get("message") or ""
        count = int(container.get("restartCount") or 0)
        if reason in CRASHED and count >= restarts:
            last = ((container.get("lastState") or {}).get("terminated")) or {}
            exit_code = last.get("exitCode")
            exited = f", last exit code {exit_code}" if exit_code is not None else ""
            if last.get("reason") == "OOMKilled":
                exited = ", killed for using more memory than its limit (OOMKilled)"
            return PodTrouble(
                name,
                cname,
                reason,
                f"Container {cname} of pod {name} keeps crashing ({reason}: restarted "
                f"{count} times{exited}).",
            )
        pull_failed = reason == "ImagePullBackOff" or (
            reason == "ErrImagePull" and any(word in detail.lower() for word in NOT_PULLABLE)
        )
        if pull_failed or reason in BROKEN_SPEC:
            image = container.get("image") or ""
            what = f"image {image} cannot be pulled" if pull_failed else "it cannot be started"
            return PodTrouble(
                name,
                cname,
                reason,
                f"Container {cname} of pod {name}: {what} ({reason}"
                + (f": {detail}" if detail else "")
                + ").",
            )
    return None


def pod_digests(pods: list[dict[str, Any]], container: str) -> dict[str, str]:
    """Pod name → the digest its `container` runs, as the kubelet reports it in
    containerStatuses[].imageID. Pods on their way out and containers not pulled yet are
    left out. Only a repository digest (``name@sha256:...``) names what was pulled; a bare
    ``sha256:...`` is the local image id, a different number, and is left out too."""
    found: dict[str, str] = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            _, at, pulled = str(status.get("imageID") or "").rpartition("@")
            if status.get("name") == container and at and pulled:
                found[meta.get("name", "")] = pulled
    return found
