"""The Job controller: one pod per Job that succeeds, or fails, after a delay."""

from __future__ import annotations

import copy
from typing import Any

from .meta import annotation, owner_reference, random_suffix, rfc3339
from .operations import Api
from .reconcile import Reconciler, is_ready, set_condition
from .workloads import ANNOTATION_PREFIX, FAILED, SUCCEEDED, pod_from_template

RUN_SECONDS = ANNOTATION_PREFIX + "run-seconds"
FAIL_JOB = ANNOTATION_PREFIX + "fail"


class JobController(Reconciler):
    """Runs a Job for ``job_duration`` seconds (annotation ``sandbox.hangar.dev/run-seconds``).

    ``sandbox.hangar.dev/fail: "true"`` makes it fail with BackoffLimitExceeded.
    """

    def __init__(self, api: Api, job_duration: float) -> None:
        super().__init__(api)
        self.job_duration = job_duration

    def reconcile(self, job: dict[str, Any], now: float) -> None:
        meta = job["metadata"]
        spec = job.get("spec") or {}
        status = copy.deepcopy(job.get("status") or {})
        finished = any(
            c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        if finished or spec.get("suspend") or meta.get("deletionTimestamp"):
            return
        namespace = meta["namespace"]
        first = self._first_seen(job, now)
        pod_type = self._rt("", "v1", "pods")
        pods = self._owned("", "pods", namespace, meta["uid"])
        if not pods:
            pod = pod_from_template(
                spec.get("template") or {},
                f"{meta['name']}-{random_suffix()}",
                namespace,
                owner_reference(job),
                {},
                "",
            )
            pod["spec"].pop("nodeName")
            pods = [self.api.system_create(pod_type, namespace, pod)]
            self.emit(
                job,
                "Normal",
                "SuccessfulCreate",
                f"Created pod: {pods[0]['metadata']['name']}",
                "job-controller",
            )
        status.setdefault("startTime", rfc3339())
        status.update(terminating=0, uncountedTerminatedPods={})
        if now - first < self._delay(job, RUN_SECONDS, self.job_duration):
            status.update(active=len(pods), ready=sum(1 for p in pods if is_ready(p)))
        else:
            failing = annotation(job, FAIL_JOB) == "true"
            for pod in pods:
                finished_pod = {
                    **pod,
                    "status": self.api.start_pod_status(pod, FAILED if failing else SUCCEEDED),
                }
                self.api.system_update(pod_type, pod, finished_pod, subresource="status")
            status.pop("active", None)
            status["ready"] = 0
            conditions = status.setdefault("conditions", [])
            if failing:
                status["failed"] = len(pods)
                set_condition(
                    conditions,
                    "Failed",
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    False,
                )
                self.emit(
                    job,
                    "Warning",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    "job-controller",
                )
            else:
                status["succeeded"] = len(pods)
                status["completionTime"] = rfc3339()
                set_condition(conditions, "Complete", "True", "", "", False)
                self.emit(job, "Normal", "Completed", "Job completed", "job-controller")
            for condition in conditions:
                condition["lastProbeTime"] = condition["lastTransitionTime"]
                if not condition.get("reason"):
                    condition.pop("reason", None)
                    condition.pop("message", None)
        if status != job.get("status"):
            self.api.system_update(
                self._rt("batch", "v1", "jobs"),
                job,
                {**job, "status": status},
                subresource="status",
            )
