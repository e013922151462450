"""One CronJob per cron schedule, running the site's own image."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from sites.manifests.common import NAME_LABEL, Manifest, environment_labels, job_spec, metadata
from sites.manifests.workload import app_container, app_volumes, pod_spec
from sites.validators import CRONJOB_PREFIX

if TYPE_CHECKING:
    from sites.models import CronSchedule, Environment

CRON = "cron"
CRON_LABEL = "hangar.dev/cron"


def cronjob_name(schedule: CronSchedule) -> str:
    return f"{CRONJOB_PREFIX}{schedule.name}"


def render_cronjob(environment: Environment, schedule: CronSchedule) -> Manifest:
    """CronJob ``cron-{name}``. Its pods are labelled ``app.kubernetes.io/name: cron``, so the
    web Deployment, Service and PodDisruptionBudget never select them."""
    labels = {NAME_LABEL: CRON, CRON_LABEL: schedule.name}
    container = app_container(environment, CRON)
    container["command"] = ["/bin/sh", "-c", schedule.command]
    pod = pod_spec(environment, [container], app_volumes())
    pod["restartPolicy"] = "Never"
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(environment, cronjob_name(schedule), labels=labels),
        "spec": {
            "schedule": schedule.resolved_schedule,
            "timeZone": settings.TIME_ZONE,
            "suspend": schedule.suspended,
            # A run that overlaps the next (a slow drush cron) must not start a second one.
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 300,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {"labels": environment_labels(environment) | labels},
                "spec": job_spec(
                    environment,
                    labels,
                    pod,
                    deadline_seconds=schedule.timeout_seconds,
                    keep_seconds=3600,
                ),
            },
        },
    }
