"""The scrub: verified backups are verified again, a bounded batch at a time, so a backup
whose objects later rot or disappear stops saying "Verified" before someone needs it.

Each run takes the verified backups checked longest ago (at most
HANGAR_BACKUP_SCRUB_BATCH) and verifies each again exactly as before a restore (manifest
and dump unchanged, every object present with its size and SHA-256). One that fails is
marked corrupt (it can no longer be restored or downloaded) and the client's owners and
the agency are alerted; one that passes gets a new verified_at. Backups that failed only
because the storage could not be reached to verify them (their objects were kept) are
verified again too, and count once they pass. A storage that does not answer changes
nothing: the next run tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F
from django.utils import timezone

from clusters.storage import ObjectStorage, StorageError
from sites.backups.imports import alert_recipients
from sites.backups.jobs import backup_mark_corrupt, backup_record_verified
from sites.backups.verify import VerificationFailed, verify_backup
from sites.models import Backup

logger = logging.getLogger(__name__)
# take_backup's words for a verification the storage did not answer (objects kept).
UNVERIFIED = "The backup could not be verified:"


@dataclass
class ScrubReport:
    verified: list[int] = field(default_factory=list)
    corrupt: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)
    unreachable: list[int] = field(default_factory=list)


def _alert(backup: Backup, reason: str) -> None:
    if backup.environment is not None:
        recipients = alert_recipients(backup.environment)
    else:  # the environment is gone: the agency only
        from controlpanel.core.models import User
        from controlpanel.core.roles import StaffRole

        recipients = list(
            User.objects.filter(
                is_active=True, staff_role__in=[StaffRole.ADMIN, StaffRole.OPERATOR]
            ).values_list("email", flat=True)
        )
    subject = (
        f"[Hangar] Backup #{backup.pk} of {backup.site} / {backup.environment_slug} is corrupt"
    )
    body = (
        f"The backup taken at {backup.taken_at:%Y-%m-%d %H:%M} UTC no longer verifies:\n\n"
        f"{reason}\n\nIt can no longer be restored or downloaded. Take a new backup."
    )
    if recipients:
        send_mail(subject, body, None, sorted(set(recipients)))
    logger.warning("backup %s is corrupt: %s", backup.pk, reason)


def scrub_backups(*, limit: int | None = None, now: datetime | None = None) -> ScrubReport:
    """Verify again the `limit` verified backups checked longest ago, and backups that
    failed only because their verification could not reach the storage."""
    limit = settings.HANGAR_BACKUP_SCRUB_BATCH if limit is None else limit
    now = now or timezone.now()
    report = ScrubReport()
    due = list(
        Backup.objects.filter(status=Backup.Status.SUCCEEDED)
        .select_related("cluster", "site", "environment")
        .order_by(F("verified_at").asc(nulls_first=True), "pk")[:limit]
    )
    blips = list(
        Backup.objects.filter(status=Backup.Status.FAILED, error__startswith=UNVERIFIED)
        .select_related("cluster", "site", "environment")
        .order_by("-taken_at")[:limit]
    )
    for backup in due + blips:
        try:
            result = verify_backup(
                ObjectStorage.for_cluster(backup.cluster),
                backup.key_prefix,
                expect_manifest_sha256=backup.manifest_sha256 if backup in due else "",
                expect_database_sha256=backup.database_sha256 if backup in due else "",
            )
        except VerificationFailed as exc:
            if backup in due:
                reason = f"Backup #{backup.pk} no longer verifies (scrub): {exc}"
                backup_mark_corrupt(backup, reason)
                _alert(backup, reason)
                report.corrupt.append(backup.pk)
            else:  # not a blip after all: say why, and stop asking
                Backup.objects.filter(pk=backup.pk).update(
                    error=f"The backup did not verify: {exc}"[:4000]
                )
            continue
        except StorageError as exc:
            logger.info("scrub: backup %s not checked: %s", backup.pk, exc.message)
            report.unreachable.append(backup.pk)
            continue
        if backup in due:
            Backup.objects.filter(pk=backup.pk).update(verified_at=now)
            report.verified.append(backup.pk)
        else:
            backup_record_verified(backup, result)
            report.recovered.append(backup.pk)
    return report
