"""Periodic backup work: importing scheduled backups (with alerts) and the weekly restore
checks. Thin tasks: they find the environments and call the services."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.utils import timezone

from clusters.models import Operation
from clusters.storage import StorageError
from controlpanel.core.locks import one_at_a_time
from sites.backups.imports import import_scheduled_backups
from sites.backups.retention import prune_destroyed
from sites.backups.scrub import scrub_backups
from sites.backups.services import backup_check_restore
from sites.models import Backup, Environment

logger = logging.getLogger(__name__)
RESTORE_CHECK_EVERY = timedelta(days=7)


def _scheduled_environments(**filters):
    return (
        Environment.objects.filter(
            status=Environment.Status.ACTIVE,
            cluster__provision_data=True,
            backup_schedule__isnull=False,
            **filters,
        )
        .select_related("site__client", "cluster", "backup_schedule")
        .order_by("pk")
    )


@shared_task(name="sites.import_scheduled_backups")
@one_at_a_time
def import_scheduled_backups_task() -> dict[str, int]:
    imported = failed = missing = errors = 0
    for environment in _scheduled_environments():
        try:
            report = import_scheduled_backups(environment=environment)
        except StorageError as exc:
            errors += 1
            logger.warning("importing backups of %s: %s", environment.namespace, exc.message)
            continue
        imported += len(report.imported)
        failed += len(report.failed)
        missing += report.missing_since is not None
    return {"imported": imported, "failed": failed, "missing": missing, "errors": errors}


@shared_task(name="sites.verify_restores_due")
@one_at_a_time
def verify_restores_due_task() -> dict[str, int]:
    """Start a restore check for environments that want one weekly and had none for a
    week (and none under way)."""
    started = 0
    now = timezone.now()
    busy = Operation.objects.filter(
        kind="backup.check_restore",
        status__in=[Operation.Status.PENDING, Operation.Status.RUNNING],
    ).values("target_id")
    environments = _scheduled_environments(backup_schedule__verify_restore=True).exclude(
        pk__in=busy
    )
    for environment in environments:
        last = Backup.objects.filter(environment=environment).aggregate(
            at=Max("restore_checked_at")
        )["at"]
        if last is not None and now - last < RESTORE_CHECK_EVERY:
            continue
        try:
            backup_check_restore(actor=None, environment=environment)
        except ValidationError as exc:
            logger.info("no restore check for %s: %s", environment.namespace, exc.messages)
            continue
        started += 1
    return {"started": started}


@shared_task(name="sites.scrub_backups")
@one_at_a_time
def scrub_backups_task() -> dict[str, int]:
    """Verify again the verified backups checked longest ago (a bounded batch)."""
    report = scrub_backups()
    pruned = prune_destroyed()
    return {
        "pruned_destroyed": len(pruned),
        "verified": len(report.verified),
        "corrupt": len(report.corrupt),
        "recovered": len(report.recovered),
        "unreachable": len(report.unreachable),
    }
