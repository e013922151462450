"""Provision → write data → back up → change data → restore → the data as it was,
checked with CHECKSUM TABLE; every step through operations, the scripts run for real."""

from __future__ import annotations

import json

from clusters.models import Operation
from sites import services as site_services
from sites.backups import services
from sites.models import Backup, Environment, EnvironmentDatabase
from tests.backups.helpers import seed, sql
from tests.engine import drain

S = Operation.Status


def provisioned(environment, actor):
    op = site_services.environment_provision(actor=actor, environment=environment)
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    environment.refresh_from_db()
    assert environment.status == Environment.Status.ACTIVE
    return EnvironmentDatabase.objects.get(environment=environment)


def backed_up(environment, actor):
    op = services.backup_create(actor=actor, environment=environment)
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, (op.error, [e.message for e in op.events.all()])
    return Backup.objects.get(pk=op.params["backup_id"])


def test_round_trip_restores_the_data_as_it_was(
    data_env, owner, mariadb, storage, s3, bucket, tool_sandbox
):
    record = provisioned(data_env, owner)
    secret = tool_sandbox.get_object("v1", "Secret", "app-env", data_env.namespace)
    assert set(secret["data"]) >= {"DB_HOST", "DB_PASSWORD", "S3_BUCKET", "MYSQL_DATABASE"}

    seed(record)
    s3.put_object(Bucket=bucket, Key=record.files_prefix + "images/logo.png", Body=b"\x89PNG")
    before = mariadb.table_checksums(record.name)
    assert set(before) == {"node", "users"}

    backup = backed_up(data_env, owner)
    assert backup.status == Backup.Status.SUCCEEDED
    assert backup.kind == Backup.Kind.MANUAL
    assert backup.database_size > 0 and len(backup.database_sha256) == 64
    assert backup.files_count == 1 and backup.files_size == 4
    manifest = json.loads(storage.get_bytes(backup.manifest_key))
    assert manifest["files"][0]["key"] == "files/images/logo.png"

    sql(
        record, "UPDATE node SET title = 'changed'", "DROP TABLE users", "CREATE TABLE junk (a INT)"
    )
    s3.put_object(Bucket=bucket, Key=record.files_prefix + "images/logo.png", Body=b"changed!")
    s3.put_object(Bucket=bucket, Key=record.files_prefix + "new.txt", Body=b"new")
    assert mariadb.table_checksums(record.name) != before

    op = services.backup_restore(actor=owner, backup=backup, target=data_env)
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, (op.error, [e.message for e in op.events.all()])
    assert mariadb.table_checksums(record.name) == before
    files = {o.key[len(record.files_prefix) :]: o.size for o in storage.list(record.files_prefix)}
    assert files == {"images/logo.png": 4}
    safety = Backup.objects.get(operation=op, kind=Backup.Kind.PRE_RESTORE)
    assert safety.status == Backup.Status.SUCCEEDED
    log = "\n".join(e.message for e in op.events.all())
    assert "verified again" in log and f"Safety backup #{safety.pk}" in log
    assert "restore complete" in log
