"""The scheduled backups: the ``backup`` CronJob writes them into the bucket on its own;
Hangar finds their folders, verifies each like any backup, records it, prunes, and alerts
the client's owners and the agency when a scheduled backup failed or is missing."""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from croniter import croniter
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from clusters.storage import ObjectStorage, StorageError
from controlpanel.core.models import Membership, User
from controlpanel.core.roles import ClientRole, StaffRole
from sites.backups import naming
from sites.backups.jobs import backup_record_verified, files_prefix
from sites.backups.retention import retention_apply
from sites.backups.verify import VerificationFailed, verify_backup
from sites.models import Backup, BackupSchedule, Environment

logger = logging.getLogger(__name__)
# A run may start this much before or after its slot (startingDeadlineSeconds and clocks).
SLACK = timedelta(minutes=10)


@dataclass
class ImportReport:
    imported: list[Backup] = field(default_factory=list)
    failed: list[Backup] = field(default_factory=list)
    pruned: list[Backup] = field(default_factory=list)
    missing_since: datetime | None = None
    alerts: list[str] = field(default_factory=list)


def alert_recipients(environment: Environment) -> list[str]:
    """The client's owners and the agency's admins and operators."""
    owners = Membership.objects.filter(
        client=environment.site.client, role=ClientRole.OWNER, user__is_active=True
    ).values_list("user__email", flat=True)
    staff = User.objects.filter(
        is_active=True, staff_role__in=[StaffRole.ADMIN, StaffRole.OPERATOR]
    ).values_list("email", flat=True)
    return sorted(set(owners) | set(staff))


def _alert(environment: Environment, subject: str, body: str, report: ImportReport) -> None:
    recipients = alert_recipients(environment)
    if recipients:
        send_mail(f"[Hangar] {subject}", body, None, recipients)
    report.alerts.append(subject)
    logger.warning("backup alert for %s: %s", environment.namespace, subject)


def last_due(schedule: BackupSchedule, now: datetime) -> datetime | None:
    """The latest scheduled run whose backup should exist by `now` (allowing it the Job's
    timeout to finish), and not before the schedule itself existed."""
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    horizon = (now - timedelta(seconds=settings.HANGAR_BACKUP_TIMEOUT) - SLACK).astimezone(tz)
    due = croniter(schedule.resolved_schedule, horizon).get_prev(datetime)
    if due < schedule.created_at:
        return None
    return due


def _import_folder(
    environment: Environment, storage: ObjectStorage, folder: str, now: datetime
) -> Backup | None:
    taken_at = naming.parse_stamp(folder)
    if taken_at is None:
        return None
    common = {
        "site": environment.site,
        "environment": environment,
        "environment_slug": environment.slug,
        "cluster": environment.cluster,
        "kind": Backup.Kind.SCHEDULED,
        "key_prefix": folder,
        "taken_at": taken_at,
    }
    if storage.head(folder + "manifest.json") is None:
        if now - taken_at < timedelta(seconds=settings.HANGAR_BACKUP_TIMEOUT) + SLACK:
            return None  # still running
        backup = Backup.objects.create(
            **common,
            status=Backup.Status.FAILED,
            finished_at=now,
            error="The scheduled backup did not finish: its folder has no manifest.json.",
        )
        storage.delete_prefix(folder)
        return backup
    backup = Backup.objects.create(**common, status=Backup.Status.RUNNING)
    try:
        result = verify_backup(
            storage, folder, files_prefix=files_prefix(environment), started=taken_at
        )
    except VerificationFailed as exc:
        Backup.objects.filter(pk=backup.pk).update(
            status=Backup.Status.FAILED,
            finished_at=now,
            error=f"The scheduled backup did not verify: {exc}",
        )
        backup.refresh_from_db()
        storage.delete_prefix(folder)
        return backup
    except StorageError:
        backup.delete()  # try again next time
        raise
    backup_record_verified(backup, result)
    return backup


def import_scheduled_backups(
    *, environment: Environment, storage: ObjectStorage | None = None, now: datetime | None = None
) -> ImportReport:
    """Import the environment's new scheduled backups, prune, and alert on failed and
    missing ones. Raises StorageError when the storage cannot be read."""
    now = now or timezone.now()
    storage = storage or ObjectStorage.for_cluster(environment.cluster)
    report = ImportReport()
    base = naming.backups_base(environment)
    known = set(
        Backup.objects.filter(key_prefix__startswith=base).values_list("key_prefix", flat=True)
    )
    for folder in storage.folders(base):
        if folder in known:
            continue
        backup = _import_folder(environment, storage, folder, now)
        if backup is None:
            continue
        if backup.status == Backup.Status.SUCCEEDED:
            report.imported.append(backup)
        else:
            report.failed.append(backup)
            _alert(
                environment,
                f"Backup of {environment} failed",
                f"The scheduled backup of {environment} taken at {backup.taken_at:%Y-%m-%d %H:%M} "
                f"UTC failed:\n\n{backup.error}\n\nIts objects were removed; the previous "
                "verified backups are kept.",
                report,
            )
    report.pruned = retention_apply(environment=environment, storage=storage, now=now)
    schedule = BackupSchedule.objects.filter(environment=environment).first()
    if schedule is not None and schedule.enabled:
        due = last_due(schedule, now)
        if due is not None:
            found = Backup.objects.filter(
                environment=environment,
                kind=Backup.Kind.SCHEDULED,
                status=Backup.Status.SUCCEEDED,
                taken_at__gte=due - SLACK,
            ).exists()
            key = f"missing:{due.isoformat()}"
            if not found:
                report.missing_since = due
                if schedule.last_alert != key:
                    _alert(
                        environment,
                        f"Backup of {environment} is missing",
                        f"No verified scheduled backup of {environment} exists for the run due "
                        f"at {due:%Y-%m-%d %H:%M %Z} (schedule {schedule.resolved_schedule}). "
                        "Check the backup CronJob's last run in Hangar.",
                        report,
                    )
                    BackupSchedule.objects.filter(pk=schedule.pk).update(last_alert=key)
    return report
