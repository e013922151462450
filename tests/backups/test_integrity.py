"""Backups a business can bet on (issue 16): every file's checksum, an empty dump that is
not a backup of a database with tables, a restore that storage going away cannot leave
half-done, and failures whose first words are the cause. The scripts run for real against
MariaDB and the S3 server."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil

import pytest
from django.core.exceptions import ValidationError

from clusters.models import Operation
from clusters.storage import ObjectStorage, StorageError
from sites.backups import services
from sites.backups.scrub import scrub_backups
from sites.backups.verify import verify_backup
from sites.models import Backup
from tests.backups.helpers import seed, sql
from tests.backups.test_failures import failed_backup
from tests.backups.test_round_trip import backed_up, provisioned
from tests.engine import drain

S = Operation.Status


def fake_tool(tmp_path, name: str, body: str) -> str:
    """A stand-in for `name` in a directory put first on the tool Jobs' PATH."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("#!/bin/sh\n" + body)
    (folder / name).chmod(0o755)
    return f"{folder}:{os.environ['PATH']}"


def test_a_same_size_corrupted_file_fails_the_restore_and_marks_the_backup_corrupt(
    data_env, owner, mariadb, s3, bucket
):
    record = provisioned(data_env, owner)
    seed(record)
    s3.put_object(Bucket=bucket, Key=record.files_prefix + "logo.png", Body=b"original bytes")
    backup = backed_up(data_env, owner)
    # The copy in the backup rots: same size, other bytes.
    s3.put_object(Bucket=bucket, Key=backup.key_prefix + "files/logo.png", Body=b"ORIGINAL BYTES")
    sql(record, "UPDATE node SET title = 'current'")
    current = mariadb.table_checksums(record.name)

    op = services.backup_restore(actor=owner, backup=backup, target=data_env)
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED
    assert "files/logo.png is corrupt: its SHA-256 is" in op.error, op.error
    assert mariadb.table_checksums(record.name) == current
    backup.refresh_from_db()
    assert backup.status == Backup.Status.CORRUPT
    assert "files/logo.png is corrupt" in backup.error
    with pytest.raises(ValidationError, match="Only a verified backup"):
        services.backup_download_url(actor=owner, backup=backup)


def test_an_empty_dump_of_a_database_with_tables_is_not_a_backup(
    data_env, owner, tool_sandbox, tmp_path
):
    record = provisioned(data_env, owner)
    seed(record)
    # A dump tool that writes a well-formed dump of nothing (the wrong database, a broken
    # image): header and trailer, no tables.
    tool_sandbox.tool_job_env["PATH"] = fake_tool(
        tmp_path,
        "mariadb-dump",
        "printf -- '-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\\n"
        "-- Dump completed on 2026-01-01  0:00:00\\n'\n",
    )
    op, backup = failed_backup(data_env, owner)
    assert "had 2 tables when it was backed up, but the dump creates 0" in backup.error
    assert op.error == backup.error


def test_an_empty_database_is_flagged_and_restoring_it_over_tables_needs_confirming(
    data_env, staging_env, owner, mariadb
):
    provisioned(data_env, owner)  # no tables: a site not installed yet
    empty = backed_up(data_env, owner)
    assert empty.database_tables == 0 and empty.empty_database
    staging = provisioned(staging_env, owner)
    seed(staging, rows=3)
    before = mariadb.table_checksums(staging.name)

    with pytest.raises(ValidationError) as refused:
        services.backup_restore(actor=owner, backup=empty, target=staging_env)
    assert "confirm_empty" in refused.value.message_dict
    assert "has 2 tables" in refused.value.message_dict["confirm_empty"][0]
    assert not Operation.objects.filter(kind="backup.restore").exists()

    services.backup_restore(actor=owner, backup=empty, target=staging_env, confirm_empty=True)
    drain()
    assert mariadb.table_checksums(staging.name) == {}
    assert before  # it had tables


def test_storage_going_away_during_a_restore_leaves_the_target_as_it_was(
    data_env, owner, mariadb, s3, bucket, tool_sandbox, tmp_path
):
    record = provisioned(data_env, owner)
    seed(record)
    s3.put_object(Bucket=bucket, Key=record.files_prefix + "a.txt", Body=b"a")
    backup = backed_up(data_env, owner)
    sql(record, "UPDATE node SET title = 'current'")
    current = mariadb.table_checksums(record.name)
    # From the restore on, every read of a dump dies half-way, the undo's too, as when
    # the storage went away for a while: some bytes, then a broken connection.
    real = shutil.which("rclone")
    tool_sandbox.tool_job_env["PATH"] = fake_tool(
        tmp_path,
        "rclone",
        f"""case "$1" in
  cat|copyto)
    echo "ERROR : db.sql.gz: Failed to copy: connection reset by peer" >&2
    [ "$1" = cat ] && "{real}" cat "$2" | head -c 300
    exit 1 ;;
esac
exec "{real}" "$@"
""",
    )
    # The safety backup is taken before; it only writes and lists.
    op = services.backup_restore(actor=owner, backup=backup, target=data_env)
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED
    assert op.error.startswith(f"The restore failed before changing {data_env.name}"), op.error
    assert "connection reset by peer" in op.error
    assert mariadb.table_checksums(record.name) == current
    assert {v for (v,) in sql(record, "SELECT COUNT(*) FROM titles")} == {50}


def test_a_deleted_bucket_is_named_as_the_cause(data_env, owner, s3_server, bucket):
    record = provisioned(data_env, owner)
    seed(record)
    backup = backed_up(data_env, owner)
    cluster = data_env.cluster
    gone = ObjectStorage(
        endpoint=s3_server,
        bucket=f"{bucket}-deleted",
        access_key=cluster.storage_access_key,
        secret_key=cluster.storage_secret_key,
        addressing_style="path",
    )
    with pytest.raises(StorageError, match=rf"The bucket {bucket}-deleted does not exist"):
        verify_backup(gone, backup.key_prefix)


def test_a_failed_upload_leads_with_the_storages_words(data_env, owner, tool_sandbox, bucket):
    record = provisioned(data_env, owner)
    seed(record)
    tool_sandbox.tool_job_env["S3_BUCKET"] = f"{bucket}-deleted"
    _op, backup = failed_backup(data_env, owner)
    first = backup.error.split("(")[0]
    assert first.startswith("The backup job failed: uploading db.sql.gz:"), backup.error
    assert "NoSuchBucket" in first or "does not exist" in first, backup.error
    assert not first.startswith("The backup job failed: database dump: tee")


def test_keys_the_copy_tool_cannot_represent_fail_the_backup_naming_them(
    data_env, owner, s3, bucket, storage
):
    record = provisioned(data_env, owner)
    seed(record)
    for key in ("ok.txt", "a//b.txt", "./x", "docs/"):
        s3.put_object(
            Bucket=bucket, Key=record.files_prefix + key, Body=b"" if key == "docs/" else b"data"
        )
    op, backup = failed_backup(data_env, owner)
    assert "2 file(s) were not backed up" in backup.error, backup.error
    assert f"'{record.files_prefix}a//b.txt'" in backup.error
    assert f"'{record.files_prefix}./x'" in backup.error
    assert "docs/" not in backup.error  # an empty folder marker has no content
    assert op.error == backup.error

    # Renamed, it is backed up, and the marker is reported as left out.
    s3.delete_object(Bucket=bucket, Key=record.files_prefix + "a//b.txt")
    s3.delete_object(Bucket=bucket, Key=record.files_prefix + "./x")
    backup = backed_up(data_env, owner)
    assert backup.files_count == 1
    op = Operation.objects.get(pk=backup.operation_id)
    assert any("empty folder marker" in e.message for e in op.events.all())


def test_the_scrub_marks_backups_found_corrupt_or_missing_and_alerts(
    data_env, owner, s3, bucket, mailoutbox
):
    record = provisioned(data_env, owner)
    seed(record)
    s3.put_object(Bucket=bucket, Key=record.files_prefix + "a.txt", Body=b"alpha")
    rotted = backed_up(data_env, owner)
    gone = backed_up(data_env, owner)
    fine = backed_up(data_env, owner)
    s3.put_object(Bucket=bucket, Key=rotted.key_prefix + "files/a.txt", Body=b"ALPHA")
    s3.delete_object(Bucket=bucket, Key=gone.database_key)
    # A backup that failed only because its verification could not reach the storage.
    blip = backed_up(data_env, owner)
    Backup.objects.filter(pk=blip.pk).update(
        status=Backup.Status.FAILED,
        error="The backup could not be verified: Object storage is unreachable",
    )
    mailoutbox.clear()

    report = scrub_backups(limit=10)

    assert set(report.corrupt) == {rotted.pk, gone.pk}
    assert fine.pk in report.verified and report.recovered == [blip.pk]
    states = dict(Backup.objects.values_list("pk", "status"))
    assert states[rotted.pk] == states[gone.pk] == Backup.Status.CORRUPT
    assert states[fine.pk] == states[blip.pk] == Backup.Status.SUCCEEDED
    assert "files/a.txt is corrupt" in Backup.objects.get(pk=rotted.pk).error
    assert {m.subject for m in mailoutbox} == {
        f"[Hangar] Backup #{b.pk} of {b.site} / {b.environment_slug} is corrupt"
        for b in (rotted, gone)
    }
    with pytest.raises(ValidationError, match="Only a verified backup"):
        services.backup_download_url(actor=owner, backup=gone)


def test_a_download_link_is_never_handed_out_for_a_missing_object(data_env, owner, s3, bucket):
    record = provisioned(data_env, owner)
    seed(record)
    backup = backed_up(data_env, owner)
    s3.delete_object(Bucket=bucket, Key=backup.database_key)
    with pytest.raises(ValidationError, match=r"db\.sql\.gz is missing from the bucket"):
        services.backup_download_url(actor=owner, backup=backup)
    backup.refresh_from_db()
    assert backup.status == Backup.Status.CORRUPT


def test_the_undo_is_tried_again_while_the_storage_is_away(
    data_env, owner, mariadb, s3, bucket, tool_sandbox, tmp_path, settings
):
    """The restore changed the target and then failed; the storage is away for the first
    attempt to put the safety backup back: the next attempt puts it back."""
    settings.HANGAR_RESTORE_UNDO_BACKOFF = 0
    record = provisioned(data_env, owner)
    seed(record)
    backup = backed_up(data_env, owner)
    sql(record, "UPDATE node SET title = 'current'")
    before = mariadb.table_checksums(record.name)
    # A dump that verifies but does not load, as in test_failures.
    plain = gzip.decompress(s3.get_object(Bucket=bucket, Key=backup.database_key)["Body"].read())
    cut = plain.index(b"INSERT INTO `users`")
    broken = gzip.compress(plain[:cut] + b"THIS IS NOT SQL;\n" + plain[cut:])
    s3.put_object(Bucket=bucket, Key=backup.database_key, Body=broken)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=backup.manifest_key)["Body"].read())
    manifest["database"].update(size=len(broken), sha256=hashlib.sha256(broken).hexdigest())
    raw = json.dumps(manifest).encode()
    s3.put_object(Bucket=bucket, Key=backup.manifest_key, Body=raw)
    Backup.objects.filter(pk=backup.pk).update(
        database_sha256=manifest["database"]["sha256"],
        manifest_sha256=hashlib.sha256(raw).hexdigest(),
    )
    # The restore's download works; the first undo's does not; later ones do.
    real = shutil.which("rclone")
    count = tmp_path / "count"
    count.write_text("0")
    tool_sandbox.tool_job_env["PATH"] = fake_tool(
        tmp_path,
        "rclone",
        f"""if [ "$1" = copyto ]; then
  n=$(($(cat "{count}") + 1)); echo "$n" > "{count}"
  if [ "$n" = 2 ]; then
    echo "ERROR : db.sql.gz: Failed to copy: dial tcp: connection refused" >&2; exit 1
  fi
fi
exec "{real}" "$@"
""",
    )
    op = services.backup_restore(actor=owner, backup=backup, target=data_env)
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED
    assert "was put back as it was before" in op.error, op.error
    assert mariadb.table_checksums(record.name) == before
    log = "\n".join(e.message for e in op.events.all())
    assert "trying again in 0s (attempt 2 of 5)" in log
    assert count.read_text().strip() == "3"
