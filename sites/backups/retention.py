"""Retention by reason: which verified backups to keep, and pruning the rest.

Scheduled backups follow grandfather-father-son. Every other backup (manual, before a
deploy, before a restore, before destroying) is a safety net someone asked for or will
be told to use: it is kept for HANGAR_BACKUP_SAFETY_KEEP_DAYS (default 14) after it was
taken, whatever newer backups exist, and is never a GFS candidate, so a later backup of
the same day cannot push it out. The newest verified backup of any reason is always kept.

The GFS policy keeps, going back from the newest backup, the newest backup of each of the last
``daily`` days that have a backup, of each of the last ``weekly`` ISO weeks, and of each of
the last ``monthly`` months (in the agency's time zone). Counting periods that *have*
backups, not calendar periods, means a site whose backups stopped for a month still keeps
its last seven days' worth. The newest verified backup is always kept. Only verified
backups count and are pruned; a backup still running, or one a restore is about to use, is
never touched. Pruning deletes a backup's objects first and its row after, so a row never
claims objects that are gone.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TypeVar

from django.conf import settings
from django.utils import timezone

from clusters.models import Operation
from clusters.storage import ObjectStorage, StorageError
from sites.models import Backup, BackupSchedule, Environment

logger = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Policy:
    daily: int = 7
    weekly: int = 4
    monthly: int = 12

    @classmethod
    def of(cls, environment: Environment) -> Policy:
        schedule = BackupSchedule.objects.filter(environment_id=environment.pk).first()
        if schedule is None:
            return cls()
        return cls(schedule.keep_daily, schedule.keep_weekly, schedule.keep_monthly)


def _periods(tz: tzinfo) -> dict[str, Callable[[datetime], Hashable]]:
    return {
        "daily": lambda moment: moment.astimezone(tz).date(),
        "weekly": lambda moment: moment.astimezone(tz).isocalendar()[:2],
        "monthly": lambda moment: (moment.astimezone(tz).year, moment.astimezone(tz).month),
    }


def gfs_keep(
    backups: Iterable[tuple[K, datetime]], policy: Policy, tz: tzinfo | None = None
) -> set[K]:
    """The keys of the backups to keep, from (key, taken_at) pairs."""
    tz = tz or zoneinfo.ZoneInfo(settings.TIME_ZONE)
    newest_first: Sequence[tuple[K, datetime]] = sorted(
        backups, key=lambda item: item[1], reverse=True
    )
    if not newest_first:
        return set()
    keep = {newest_first[0][0]}
    for name, period in _periods(tz).items():
        wanted = getattr(policy, name)
        seen: set[Hashable] = set()
        for key, moment in newest_first:
            if len(seen) >= wanted:
                break
            bucket = period(moment)
            if bucket not in seen:
                seen.add(bucket)
                keep.add(key)
    return keep


SAFETY_KINDS = frozenset(
    {
        Backup.Kind.MANUAL,
        Backup.Kind.PRE_DEPLOY,
        Backup.Kind.PRE_RESTORE,
        Backup.Kind.PRE_DESTROY,
    }
)


def retention_keep(
    backups: Iterable[tuple[K, datetime, str]],
    policy: Policy,
    *,
    now: datetime,
    safety_days: int | None = None,
    tz: tzinfo | None = None,
) -> set[K]:
    """The keys of the backups to keep, from (key, taken_at, kind) triples: GFS over the
    scheduled ones, every other kind younger than `safety_days`, and the newest of all.
    `now` is the clock (tests pass their own instead of waiting)."""
    items = list(backups)
    if not items:
        return set()
    days = settings.HANGAR_BACKUP_SAFETY_KEEP_DAYS if safety_days is None else safety_days
    cutoff = now - timedelta(days=days)
    scheduled = [(key, moment) for key, moment, kind in items if kind not in SAFETY_KINDS]
    keep = gfs_keep(scheduled, policy, tz)
    keep |= {key for key, moment, kind in items if kind in SAFETY_KINDS and moment >= cutoff}
    keep.add(max(items, key=lambda item: item[1])[0])
    return keep


def retention_words(policy: Policy, safety_days: int | None = None) -> str:
    """The retention `policy` gives, in words, for the schedule forms."""
    days = settings.HANGAR_BACKUP_SAFETY_KEEP_DAYS if safety_days is None else safety_days

    def count(n: int, unit: str) -> str:
        return f"{n} {unit}" + ("" if n == 1 else "s")

    periods = [
        count(n, unit)
        for n, unit in (
            (policy.daily, "day"),
            (policy.weekly, "week"),
            (policy.monthly, "month"),
        )
        if n
    ]
    if not periods:
        periods = ["0 periods"]
    listed = ", ".join(periods[:-1]) + (" and " if len(periods) > 1 else "") + periods[-1]
    most = policy.daily + policy.weekly + policy.monthly
    return (
        f"Scheduled backups: the newest of each of the last {listed} that have one "
        f"(at most {most}, as a backup can stand for a day and its week). Manual, "
        f"pre-deploy, pre-restore and pre-destroy backups: {count(days, 'day')} each, "
        "whatever newer backups exist. The newest verified backup is always kept."
    )


def _in_use(environment: Environment | None) -> set[int]:
    """Backups a pending or running restore (or restore check) is about to read."""
    ids = Operation.objects.filter(
        kind__in=["backup.restore", "backup.check_restore"],
        status__in=[Operation.Status.PENDING, Operation.Status.RUNNING],
    ).values_list("params__backup_id", flat=True)
    return {int(pk) for pk in ids if pk is not None}


def _delete(backup: Backup, storage: ObjectStorage) -> None:
    pk = backup.pk
    storage.delete_prefix(backup.key_prefix)
    backup.delete()
    backup.pk = pk  # the caller reports what was pruned


def retention_apply(
    *, environment: Environment, storage: ObjectStorage, now: datetime | None = None
) -> list[Backup]:
    """Prune the environment's verified backups that retention_keep does not keep, and
    failed ones older than HANGAR_BACKUP_FAILED_KEEP_DAYS. Returns the pruned backups."""
    now = now or timezone.now()
    verified = list(
        Backup.objects.filter(environment=environment, status=Backup.Status.SUCCEEDED).only(
            "pk", "taken_at", "key_prefix", "kind"
        )
    )
    keep = retention_keep(
        [(b.pk, b.taken_at, b.kind) for b in verified], Policy.of(environment), now=now
    )
    keep |= _in_use(environment)
    pruned = [b for b in verified if b.pk not in keep]
    cutoff = now - timedelta(days=settings.HANGAR_BACKUP_FAILED_KEEP_DAYS)
    pruned += list(
        Backup.objects.filter(
            environment=environment, status=Backup.Status.FAILED, created_at__lt=cutoff
        )
    )
    done = []
    for backup in pruned:
        _delete(backup, storage)
        done.append(backup)
    if done:
        logger.info("pruned %d backups of %s", len(done), environment.namespace)
    return done


def prune_destroyed(*, now: datetime | None = None) -> list[Backup]:
    """Backups of destroyed environments (the one taken before destroying above all) are
    kept HANGAR_BACKUP_DESTROYED_KEEP_DAYS after they were taken, then pruned: no newer
    backup will ever come to replace them, so only time decides."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.HANGAR_BACKUP_DESTROYED_KEEP_DAYS)
    in_use = _in_use(None)
    done = []
    old = (
        Backup.objects.filter(environment__isnull=True, taken_at__lt=cutoff)
        .exclude(status__in=[Backup.Status.PENDING, Backup.Status.RUNNING])
        .select_related("cluster")
    )
    for backup in old:
        if backup.pk in in_use:
            continue
        try:
            _delete(backup, ObjectStorage.for_cluster(backup.cluster))
        except StorageError as exc:
            logger.warning("could not prune backup %s: %s", backup.pk, exc.message)
            continue
        done.append(backup)
    return done
