"""Grandfather-father-son retention: a property test against an independent statement of
the policy, and pruning that deletes objects and rows together."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusters.models import Operation
from sites.backups.retention import SAFETY_KINDS, Policy, gfs_keep, retention_apply, retention_keep
from sites.models import Backup
from tests import factories as f

TZ = zoneinfo.ZoneInfo("Europe/Amsterdam")
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def expected(backups: list[tuple[int, dt.datetime]], policy: Policy) -> set[int]:
    """The policy as a person states it: group the backups by day, ISO week and month; in
    each of the most recent N groups that have backups, keep the newest; and the newest."""
    keep: set[int] = set()
    for count, period in (
        (policy.daily, lambda m: m.astimezone(TZ).date()),
        (policy.weekly, lambda m: m.astimezone(TZ).isocalendar()[:2]),
        (policy.monthly, lambda m: (m.astimezone(TZ).year, m.astimezone(TZ).month)),
    ):
        groups: dict[object, list[tuple[int, dt.datetime]]] = {}
        for key, moment in backups:
            groups.setdefault(period(moment), []).append((key, moment))
        recent = sorted(groups, key=lambda g: max(m for _, m in groups[g]), reverse=True)
        for group in recent[:count]:
            keep.add(max(groups[group], key=lambda item: item[1])[0])
    if backups:
        keep.add(max(backups, key=lambda item: item[1])[0])
    return keep


moments = st.lists(
    st.integers(min_value=0, max_value=3 * 365 * 24 * 60).map(
        lambda minutes: START + dt.timedelta(minutes=minutes)
    ),
    max_size=80,
    unique=True,
)
policies = st.builds(
    Policy,
    daily=st.integers(0, 10),
    weekly=st.integers(0, 6),
    monthly=st.integers(0, 14),
)


@settings(max_examples=300, deadline=None)
@given(moments=moments, policy=policies)
def test_the_kept_set_is_the_gfs_policy_and_holds_the_newest(moments, policy):
    backups = list(enumerate(moments))
    kept = gfs_keep(backups, policy, TZ)
    assert kept == expected(backups, policy)
    if backups:
        newest = max(backups, key=lambda item: item[1])[0]
        assert newest in kept
    # Never more than one per period and policy slot, plus the newest.
    assert len(kept) <= policy.daily + policy.weekly + policy.monthly + 1


kinds = st.sampled_from([k.value for k in Backup.Kind])


@settings(max_examples=300, deadline=None)
@given(
    moments=moments,
    policy=policies,
    kinds=st.lists(kinds, min_size=80, max_size=80),
    now_minutes=st.integers(min_value=0, max_value=4 * 365 * 24 * 60),
    safety_days=st.integers(0, 30),
)
def test_no_safety_backup_within_its_period_and_never_the_newest_is_pruned(
    moments, policy, kinds, now_minutes, safety_days
):
    now = START + dt.timedelta(minutes=now_minutes)
    backups = [(key, moment, kinds[key]) for key, moment in enumerate(moments)]
    kept = retention_keep(backups, policy, now=now, safety_days=safety_days, tz=TZ)
    for key, moment, kind in backups:
        if kind in SAFETY_KINDS and moment >= now - dt.timedelta(days=safety_days):
            assert key in kept, (kind, moment)
        if kind in SAFETY_KINDS and moment < now - dt.timedelta(days=safety_days):
            newest = max(backups, key=lambda item: item[1])[0]
            assert key not in kept or key == newest
    if backups:
        assert max(backups, key=lambda item: item[1])[0] in kept
    # Scheduled backups follow GFS among themselves: a safety backup never displaces one.
    scheduled = [(key, moment) for key, moment, kind in backups if kind == "scheduled"]
    assert expected(scheduled, policy) <= kept


def test_default_policy_over_a_year_of_nightly_backups():
    nightly = [(day, START + dt.timedelta(days=day, hours=2)) for day in range(365)]
    kept = gfs_keep(nightly, Policy(), TZ)
    # 7 daily, 4 weekly (the newest week is also a daily), 12 monthly, with overlaps.
    assert {day for day in range(358, 365)} <= kept
    assert 15 <= len(kept) <= 23
    assert 364 in kept


@pytest.mark.django_db
def test_pruning_deletes_objects_and_rows_and_keeps_what_it_must(data_cluster, site, storage):
    environment = f.EnvironmentFactory(site=site, cluster=data_cluster, slug="retention")
    f.BackupScheduleFactory(environment=environment, keep_daily=2, keep_weekly=0, keep_monthly=0)
    base = dt.datetime(2026, 3, 10, 2, tzinfo=dt.UTC)
    backups = []
    for day in range(5):
        prefix = f"backups/acme/www/retention/2026031{day}T020000Z/"
        storage.put_bytes(prefix + "db.sql.gz", b"dump")
        storage.put_bytes(prefix + "manifest.json", b"{}")
        backups.append(
            f.BackupFactory(
                environment=environment,
                kind=Backup.Kind.SCHEDULED,
                key_prefix=prefix,
                taken_at=base + dt.timedelta(days=day),
            )
        )
    running = f.BackupFactory(
        environment=environment, status=Backup.Status.RUNNING, taken_at=base - dt.timedelta(1)
    )
    old_failed = f.BackupFactory(
        environment=environment,
        status=Backup.Status.FAILED,
        taken_at=base - dt.timedelta(days=90),
        key_prefix="backups/acme/www/retention/20251210T020000Z/",
    )
    storage.put_bytes(old_failed.key_prefix + "db.sql.gz", b"partial")
    # Failed backups stay listed for a while after they failed, then go.
    Backup.objects.filter(pk=old_failed.pk).update(created_at=base - dt.timedelta(days=60))
    recent_failed = f.BackupFactory(environment=environment, status=Backup.Status.FAILED)
    Backup.objects.filter(pk=recent_failed.pk).update(created_at=base - dt.timedelta(days=2))
    # A restore waits for the oldest one: it must survive this pruning.
    f.OperationFactory(
        kind="backup.restore",
        cluster=data_cluster,
        status=Operation.Status.PENDING,
        params={"backup_id": backups[0].pk},
    )

    pruned = retention_apply(environment=environment, storage=storage, now=base)

    assert {b.pk for b in pruned} == {backups[1].pk, backups[2].pk, old_failed.pk}
    left = set(Backup.objects.filter(environment=environment).values_list("pk", flat=True))
    assert left == {backups[0].pk, backups[3].pk, backups[4].pk, running.pk, recent_failed.pk}
    prefixes = {item.key.rsplit("/", 1)[0] + "/" for item in storage.list("backups/")}
    assert prefixes == {backups[0].key_prefix, backups[3].key_prefix, backups[4].key_prefix}


@pytest.mark.django_db
def test_the_newest_verified_backup_survives_any_policy(data_cluster, site, storage):
    environment = f.EnvironmentFactory(site=site, cluster=data_cluster, slug="newest")
    f.BackupScheduleFactory(environment=environment, keep_daily=0, keep_weekly=0, keep_monthly=1)
    older = f.BackupFactory(environment=environment, kind="scheduled", taken_at=START)
    newest = f.BackupFactory(
        environment=environment, kind="scheduled", taken_at=START + dt.timedelta(hours=1)
    )
    f.BackupFactory(
        environment=environment,
        status=Backup.Status.FAILED,
        taken_at=START + dt.timedelta(hours=2),
    )
    retention_apply(environment=environment, storage=storage, now=START + dt.timedelta(hours=3))
    assert Backup.objects.filter(pk=newest.pk).exists()
    assert not Backup.objects.filter(pk=older.pk).exists()


@pytest.mark.django_db
def test_safety_backups_of_one_day_all_survive_a_later_backup(data_cluster, site, storage):
    """Deploy v2 (a pre-deploy backup), a bad migration, a hotfix deploy (another), a
    restore (a pre-restore backup), then a manual backup, all on one day: each stays
    for the safety period; then only the newest (and GFS's scheduled ones) remain."""
    environment = f.EnvironmentFactory(site=site, cluster=data_cluster, slug="sameday")
    f.BackupScheduleFactory(environment=environment, keep_daily=7, keep_weekly=0, keep_monthly=0)
    morning = dt.datetime(2026, 3, 10, 2, tzinfo=dt.UTC)
    taken = {}
    for hour, kind in enumerate(["scheduled", "pre-deploy", "pre-deploy", "pre-restore", "manual"]):
        backup = f.BackupFactory(
            environment=environment, kind=kind, taken_at=morning + dt.timedelta(hours=hour)
        )
        storage.put_bytes(backup.key_prefix + "manifest.json", b"{}")
        taken[backup.pk] = kind
    evening = morning + dt.timedelta(hours=12)
    assert retention_apply(environment=environment, storage=storage, now=evening) == []
    assert set(Backup.objects.values_list("pk", flat=True)) == set(taken)

    # 15 days on, with a scheduled backup every night: the safety period is over.
    for day in range(1, 16):
        f.BackupFactory(
            environment=environment, kind="scheduled", taken_at=morning + dt.timedelta(days=day)
        )
    later = morning + dt.timedelta(days=15, hours=12)
    pruned = retention_apply(environment=environment, storage=storage, now=later)
    assert {taken[b.pk] for b in pruned if b.pk in taken} == {
        "scheduled",
        "pre-deploy",
        "pre-restore",
        "manual",
    }
    assert Backup.objects.filter(environment=environment).count() == 7


@pytest.mark.django_db
def test_backups_of_a_destroyed_environment_go_after_their_period(
    data_cluster, site, storage, settings
):
    from sites.backups.retention import prune_destroyed

    settings.HANGAR_BACKUP_DESTROYED_KEEP_DAYS = 90
    environment = f.EnvironmentFactory(site=site, cluster=data_cluster, slug="gone")
    last = f.BackupFactory(environment=environment, kind="pre-destroy", taken_at=START)
    storage.put_bytes(last.key_prefix + "manifest.json", b"{}")
    environment.delete()  # destroyed: its backups outlive it
    assert prune_destroyed(now=START + dt.timedelta(days=89)) == []
    assert [b.pk for b in prune_destroyed(now=START + dt.timedelta(days=91))] == [last.pk]
    assert not Backup.objects.filter(pk=last.pk).exists()
    assert list(storage.list(last.key_prefix)) == []
