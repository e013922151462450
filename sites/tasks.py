"""Periodic work of the sites app."""

from __future__ import annotations

import logging

from celery import shared_task

from clusters.kube.errors import KubeError
from clusters.models import Operation
from sites.models import Environment
from sites.services.drift import environment_check_drift

logger = logging.getLogger(__name__)


@shared_task(name="sites.reconcile_environments")
def reconcile_environments_task() -> dict[str, int]:
    """Compare every active environment with its cluster and record drift. Environments
    with operations under way are skipped: they are converging already."""
    busy = Operation.objects.filter(
        status__in=[Operation.Status.PENDING, Operation.Status.RUNNING], target_type="environment"
    ).values("target_id")
    checked = drifted = failed = 0
    environments = (
        Environment.objects.filter(status=Environment.Status.ACTIVE)
        .exclude(pk__in=busy)
        .select_related("site__client", "cluster", "node_pool")
        .prefetch_related("domains", "env_vars", "cron_schedules")
    )
    for environment in environments:
        try:
            report = environment_check_drift(environment=environment)
        except KubeError as exc:
            failed += 1
            logger.warning("reconcile %s: %s", environment.namespace, exc.message)
            continue
        checked += 1
        drifted += bool(report)
    return {"checked": checked, "drifted": drifted, "failed": failed}
