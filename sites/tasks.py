"""Periodic work of the sites app."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from clusters.kube.errors import KubeError
from controlpanel.core.locks import one_at_a_time
from sites.models import Environment
from sites.selectors import environments_due_for_drift_check
from sites.services.cron_runs import report_failed_cron_runs
from sites.services.drift import environment_check_drift

logger = logging.getLogger(__name__)


@shared_task(name="sites.reconcile_environments")
@one_at_a_time
def reconcile_environments_task() -> dict[str, int]:
    """Compare the next batch of environments with their clusters and record drift (the
    longest unchecked first; see sites.selectors). Stops starting checks once its time
    budget is spent, so a slow API server makes the cycle longer, never the run."""
    deadline = time.monotonic() + settings.HANGAR_DRIFT_BUDGET_SECONDS
    checked = drifted = failed = 0
    for environment in environments_due_for_drift_check():
        if time.monotonic() >= deadline:
            break
        try:
            report = environment_check_drift(environment=environment)
        except KubeError as exc:
            failed += 1
            logger.warning("reconcile %s: %s", environment.namespace, exc.message)
            # Its turn is over: an unreachable cluster must not hold the head of the line.
            Environment.objects.filter(pk=environment.pk).update(drift_checked_at=timezone.now())
            continue
        checked += 1
        drifted += bool(report)
    return {"checked": checked, "drifted": drifted, "failed": failed}


@shared_task(name="sites.check_cron_runs")
@one_at_a_time
def check_cron_runs_task() -> dict[str, int]:
    """Announce failed scheduled cron runs (sites.services.cron_runs), environment by
    environment; one whose cluster does not answer is tried again next pass."""
    deadline = time.monotonic() + settings.HANGAR_DRIFT_BUDGET_SECONDS
    reported = failed = 0
    environments = (
        Environment.objects.filter(status=Environment.Status.ACTIVE, cron_schedules__isnull=False)
        .distinct()
        .select_related("site__client", "cluster")
        .prefetch_related("cron_schedules")
    )
    for environment in environments:
        if time.monotonic() >= deadline:
            break
        try:
            reported += len(report_failed_cron_runs(environment))
        except KubeError as exc:
            failed += 1
            logger.warning("cron runs of %s: %s", environment.namespace, exc.message)
    return {"reported": reported, "failed": failed}
