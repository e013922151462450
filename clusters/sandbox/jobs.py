"""The Job controller: one pod per Job that succeeds, or fails, after a delay."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .meta import annotation, owner_reference, random_suffix, rfc3339
from .operations import Api
from .reconcile import Reconciler, is_ready, set_condition
from .toolrun import ToolRun, is_tool_job
from .workloads import ANNOTATION_PREFIX, FAILED, SUCCEEDED, pod_from_template

RUN_SECONDS = ANNOTATION_PREFIX + "run-seconds"
FAIL_JOB = ANNOTATION_PREFIX + "fail"


class JobController(Reconciler):
    """Runs a Job for ``job_duration`` seconds (annotation ``sandbox.hangar.dev/run-seconds``).

    ``sandbox.hangar.dev/fail: "true"`` makes it fail with BackoffLimitExceeded.

    With ``execute_tool_jobs``, Jobs labelled ``hangar.dev/tool: "true"`` really run their
    container's command as a local process (see ``toolrun``): its output is the pod's log,
    its exit code the outcome. ``tool_env`` is added to (and wins over) their environment.
    """

    def __init__(
        self,
        api: Api,
        job_duration: float,
        *,
        execute_tool_jobs: bool = False,
        tool_env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(api)
        self.job_duration = job_duration
        self.execute_tool_jobs = execute_tool_jobs
        self.tool_env: dict[str, str] = dict(tool_env or {})
        self._runs: dict[str, ToolRun] = {}

    def _lookup(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        plural = {"ConfigMap": "configmaps", "Secret": "secrets"}[kind]
        return self.store.get("", plural, namespace, name)

    def _tool_run(self, job: dict[str, Any]) -> ToolRun | None:
        if not (self.execute_tool_jobs and is_tool_job(job)):
            return None
        uid = job["metadata"]["uid"]
        run = self._runs.get(uid)
        if run is None:
            run = self._runs[uid] = ToolRun(job, self._lookup, extra_env=self.tool_env)
        return run

    def forget_all_but(self, uids: set[str]) -> None:
        super().forget_all_but(uids)
        for uid in [uid for uid in self._runs if uid not in uids]:
            self._runs.pop(uid).stop()

    def stop_all(self) -> None:
        for run in self._runs.values():
            run.stop()
        self._runs.clear()

    # How often a job's local process is checked on while it runs.
    POLL_INTERVAL = 0.02

    def reconcile(self, job: dict[str, Any], now: float) -> float | None:
        """One pass; returns when time alone would change the outcome (None: only a write)."""
        meta = job["metadata"]
        spec = job.get("spec") or {}
        status = copy.deepcopy(job.get("status") or {})
        finished = any(
            c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        if finished or spec.get("suspend") or meta.get("deletionTimestamp"):
            run = self._runs.pop(meta["uid"], None)
            if run is not None:
                run.stop()
            return None
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
            if self.refused_by_admission(job, pod, "job-controller"):
                return
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
        run = self._tool_run(job)
        if run is not None:
            running = not run.poll()
            wake = now + self.POLL_INTERVAL
        else:
            wake = first + self._delay(job, RUN_SECONDS, self.job_duration)
            running = now < wake
        if running:
            status.update(active=len(pods), ready=sum(1 for p in pods if is_ready(p)))
        else:
            failing = annotation(job, FAIL_JOB) == "true"
            reason, message = "BackoffLimitExceeded", "Job has reached the specified backoff limit"
            if run is not None:
                self._runs.pop(meta["uid"], None)
                failing = run.exit_code != 0
                if run.reason == "DeadlineExceeded":
                    reason = "DeadlineExceeded"
                    message = "Job was active longer than specified deadline"
            for pod in pods:
                pod_status = self.api.start_pod_status(pod, FAILED if failing else SUCCEEDED)
                if run is not None:
                    log_key = (namespace, pod["metadata"]["name"], run.container_name)
                    self.api.custom_logs[log_key] = run.output
                    for container in pod_status.get("containerStatuses") or []:
                        terminated = (container.get("state") or {}).get("terminated")
                        if terminated is not None:
                            terminated["exitCode"] = run.exit_code
                finished_pod = {**pod, "status": pod_status}
                self.api.system_update(pod_type, pod, finished_pod, subresource="status")
            status.pop("active", None)
            status["ready"] = 0
            conditions = status.setdefault("conditions", [])
            if failing:
                status["failed"] = len(pods)
                set_condition(conditions, "Failed", "True", reason, message, False)
                self.emit(job, "Warning", reason, message, "job-controller")
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
        return wake if running else None
