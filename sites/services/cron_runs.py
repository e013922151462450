"""Scheduled cron runs that failed: the CronJob controller starts them, so no operation
sees them end. A periodic pass (sites.check_cron_runs) reads each environment's cron Jobs
and announces every failed scheduled run once, as `cron.failed`, with its output. A run
started by "Run now" is an operation and announces its own failure (sites.handlers.jobs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime

from clusters.kube.client import KubeClient
from clusters.kube.status import job_status
from controlpanel.core.events import publish
from sites.manifests.cron import CRON_LABEL
from sites.models import CronSchedule, Environment

MANUAL = "cronjob.kubernetes.io/instantiate"
OUTPUT_LINES = 50


def _failed_at(job: dict[str, Any]) -> datetime | None:
    raw = job.get("status") or {}
    for condition in raw.get("conditions") or []:
        if (
            condition.get("type") in ("Failed", "FailureTarget")
            and condition.get("status") == "True"
        ):
            stamp = condition.get("lastTransitionTime")
            return parse_datetime(stamp) if stamp else None
    return None


def cron_failure_data(
    environment: Environment, cron: CronSchedule, job: str, message: str, output: str
) -> dict[str, Any]:
    return {
        "environment_id": environment.pk,
        "environment": str(environment),
        "cron": cron.name,
        "job": job,
        "message": message,
        "output": output,
    }


def report_failed_cron_runs(
    environment: Environment, *, kube: KubeClient | None = None
) -> list[str]:
    """Announce the scheduled runs of `environment`'s cron schedules that failed since the
    last pass (since the schedule was created, the first time). Returns their Job names."""
    crons = {cron.name: cron for cron in environment.cron_schedules.all()}
    if not crons:
        return []
    kube = kube or KubeClient.for_cluster(environment.cluster)
    jobs = kube.list("batch/v1", "Job", environment.namespace, label_selector=CRON_LABEL)
    client = environment.site.client
    reported: list[str] = []
    for job in sorted(jobs, key=lambda j: j["metadata"].get("creationTimestamp") or ""):
        meta = job["metadata"]
        cron = crons.get((meta.get("labels") or {}).get(CRON_LABEL, ""))
        if cron is None or (meta.get("annotations") or {}).get(MANUAL) == "manual":
            continue
        status = job_status(job)
        failed_at = _failed_at(job)
        if not status.done or status.ok or failed_at is None:
            continue
        # Stamps are whole seconds: the schedule's creation counts from its second.
        since = cron.failures_reported_until or cron.created_at.replace(microsecond=0)
        if failed_at <= since:
            continue
        output = kube.job_log(environment.namespace, meta["name"], tail_lines=OUTPUT_LINES)
        with transaction.atomic():
            publish(
                client=client,
                event="cron.failed",
                data=cron_failure_data(environment, cron, meta["name"], status.message, output),
            )
            CronSchedule.objects.filter(pk=cron.pk).update(failures_reported_until=failed_at)
        cron.failures_reported_until = failed_at
        reported.append(meta["name"])
    return reported
