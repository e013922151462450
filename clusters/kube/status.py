"""Reading outcomes from live objects, as `kubectl rollout status` and `kubectl wait` do."""

from __future__ import annotations

from dataclasses import dataclass
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
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return RolloutStatus(
            desired,
            updated,
            ready,
            available,
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
        return RolloutStatus(
            desired,
            updated,
            ready,
            available,
            True,
            False,
            f'Deployment "{name}" successfully rolled out',
        )
    return RolloutStatus(desired, updated, ready, available, False, False, message)


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
