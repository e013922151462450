"""Schedules (the backup CronJob), importing its backups, alerts, backups before deploys
and the restore check."""

from __future__ import annotations

import datetime as dt
import time

from django.core import mail
from django.utils import timezone

from clusters.kube.client import KubeClient
from clusters.models import Operation
from sites import services as site_services
from sites.backups import services
from sites.backups.imports import import_scheduled_backups
from sites.backups.naming import backups_base
from sites.backups.tasks import import_scheduled_backups_task, verify_restores_due_task
from sites.models import Backup, BackupSchedule, Environment, Release
from tests.backups.helpers import seed
from tests.backups.test_round_trip import backed_up, provisioned
from tests.engine import drain

S = Operation.Status


def kube(environment) -> KubeClient:
    return KubeClient.for_cluster(environment.cluster, skip_unchanged=False)


def test_a_schedule_becomes_the_backup_cronjob(data_env, owner):
    provisioned(data_env, owner)
    schedule = services.backup_schedule_set(
        actor=owner, environment=data_env, schedule="30 H(1-4) * * *", keep_daily=3
    )
    drain()
    cronjob = kube(data_env).get("batch/v1", "CronJob", "backup", data_env.namespace)
    assert cronjob["spec"]["schedule"] == schedule.resolved_schedule
    assert cronjob["spec"]["schedule"].startswith("30 ")
    assert cronjob["spec"]["suspend"] is False
    template = cronjob["spec"]["jobTemplate"]
    assert template["metadata"]["labels"]["hangar.dev/tool"] == "true"
    container = template["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["HANGAR_BACKUP_BASE"] == backups_base(data_env)

    services.backup_schedule_set(actor=owner, environment=data_env, enabled=False)
    drain()
    cronjob = kube(data_env).get("batch/v1", "CronJob", "backup", data_env.namespace)
    assert cronjob["spec"]["suspend"] is True

    services.backup_schedule_delete(actor=owner, environment=data_env)
    drain()
    assert kube(data_env).get_or_none("batch/v1", "CronJob", "backup", data_env.namespace) is None


def test_scheduled_runs_are_imported_verified_and_pruned(data_env, owner):
    seed(provisioned(data_env, owner))
    services.backup_schedule_set(actor=owner, environment=data_env, keep_daily=1)
    drain()
    client = kube(data_env)
    for run in (1, 2):
        time.sleep(1.0 if run > 1 else 0)  # folders are named by the second, like cron runs
        client.create_job_from_cronjob(data_env.namespace, "backup", f"backup-run-{run}")
        status = client.wait_job(data_env.namespace, f"backup-run-{run}", timeout=30, poll=0.05)
        assert status.ok, status.message
    report = import_scheduled_backups(environment=data_env)
    # Both runs were imported and verified; keeping one a day prunes the older one at once.
    assert len(report.imported) == 2 and len(report.pruned) <= 1
    kept = Backup.objects.get(environment=data_env, kind=Backup.Kind.SCHEDULED)
    assert kept.status == Backup.Status.SUCCEEDED and kept.database_size > 0
    assert kept.key_prefix.startswith(backups_base(data_env))
    assert import_scheduled_backups(environment=data_env).imported == []  # nothing new


def test_a_failed_or_missing_scheduled_backup_alerts_owners_and_staff(
    data_env, owner, staff_admin, viewer, storage
):
    provisioned(data_env, owner)
    services.backup_schedule_set(actor=owner, environment=data_env)
    drain()
    BackupSchedule.objects.filter(environment=data_env).update(
        created_at=timezone.now() - dt.timedelta(days=3)
    )
    # A run that died half-way: a dump, no manifest, long ago.
    folder = f"{backups_base(data_env)}20260101T021700Z/"
    storage.put_bytes(folder + "db.sql.gz", b"partial")
    mail.outbox.clear()

    report = import_scheduled_backups(environment=data_env)

    failed = Backup.objects.get(key_prefix=folder)
    assert failed.status == Backup.Status.FAILED and "no manifest.json" in failed.error
    assert list(storage.list(folder)) == []
    assert report.missing_since is not None
    subjects = sorted(message.subject for message in mail.outbox)
    assert subjects == [
        f"[Hangar] Backup of {data_env} failed",
        f"[Hangar] Backup of {data_env} is missing",
    ]
    for message in mail.outbox:
        assert set(message.to) == {owner.email, staff_admin.email}
    # One missed run alerts once.
    mail.outbox.clear()
    import_scheduled_backups(environment=data_env)
    assert mail.outbox == []
    assert import_scheduled_backups_task()["missing"] == 1


def test_production_is_backed_up_before_a_deploy(data_env, owner):
    seed(provisioned(data_env, owner))
    op = site_services.environment_deploy(
        actor=owner, environment=data_env, image="registry.example.com/acme/web:1.1.0"
    )
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    backup = Backup.objects.get(kind=Backup.Kind.PRE_DEPLOY)
    assert backup.status == Backup.Status.SUCCEEDED and backup.operation_id == op.pk

    services.backup_schedule_set(actor=owner, environment=data_env, pre_deploy=False)
    drain()
    site_services.environment_deploy(
        actor=owner, environment=data_env, image="registry.example.com/acme/web:1.2.0"
    )
    drain()
    assert Backup.objects.filter(kind=Backup.Kind.PRE_DEPLOY).count() == 1


def test_a_deploy_whose_backup_fails_does_not_start(data_env, owner, mariadb):
    record = provisioned(data_env, owner)
    mariadb.password_rotate(user=record.user)
    op = site_services.environment_deploy(
        actor=owner, environment=data_env, image="registry.example.com/acme/web:2.0.0"
    )
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED
    assert op.error.startswith("The deploy did not start: the backup before it failed.")
    assert Environment.objects.get(pk=data_env.pk).image.endswith(":1.0.0")
    assert Release.objects.get(operation=op).status == Release.Status.FAILED


def test_staging_is_not_backed_up_before_deploys(staging_env, owner):
    provisioned(staging_env, owner)
    site_services.environment_deploy(
        actor=owner, environment=staging_env, image="registry.example.com/acme/web:1.1.0"
    )
    drain()
    assert not Backup.objects.exists()


def test_the_restore_check_loads_the_newest_backup_into_a_scratch_database(
    data_env, owner, mariadb
):
    seed(provisioned(data_env, owner))
    backup = backed_up(data_env, owner)
    services.backup_schedule_set(actor=owner, environment=data_env, verify_restore=True)
    drain()
    assert verify_restores_due_task() == {"started": 1}
    op = Operation.objects.get(kind="backup.check_restore")
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, (op.error, [e.message for e in op.events.all()])
    backup.refresh_from_db()
    assert backup.restore_check == Backup.Check.PASSED
    assert "Loaded 2 tables" in backup.restore_check_detail
    assert not mariadb.database_exists(f"hangar_check_{op.pk}")
    assert verify_restores_due_task() == {"started": 0}  # checked this week
