"""What must never pass for a backup, and restores that must leave the target as it was."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import socket
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clusters.models import Operation
from clusters.storage import ObjectStorage, StorageUnreachable
from sites.backups import services
from sites.backups.verify import VerificationFailed, verify_backup
from sites.models import Backup
from tests import factories as f
from tests.backups.helpers import seed, sql
from tests.backups.test_round_trip import backed_up, provisioned
from tests.engine import drain

S = Operation.Status


def failed_backup(environment, actor) -> tuple[Operation, Backup]:
    op = services.backup_create(actor=actor, environment=environment)
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED
    return op, Backup.objects.get(pk=op.params["backup_id"])


def objects_under(storage, prefix):
    return {item.key[len(prefix) :]: item.size for item in storage.list(prefix)}


def test_a_failing_dump_fails_the_backup_with_the_reason(data_env, owner, mariadb, storage):
    record = provisioned(data_env, owner)
    seed(record)
    # The server no longer accepts the password the Secret holds.
    mariadb.password_rotate(user=record.user)
    op, backup = failed_backup(data_env, owner)
    assert backup.status == Backup.Status.FAILED
    assert "Access denied" in backup.error, backup.error
    assert "Access denied" in op.error
    assert not Backup.objects.filter(status=Backup.Status.SUCCEEDED).exists()
    # What the failed run uploaded (a gzip of nothing) is gone.
    assert objects_under(storage, backup.key_prefix) == {}


def test_an_empty_dump_is_not_a_backup(data_env, owner, tool_sandbox, tmp_path):
    record = provisioned(data_env, owner)
    seed(record)
    # A dump tool that "succeeds" without writing a byte, as a broken image might.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "mariadb-dump").write_text("#!/bin/sh\nexit 0\n")
    (fake / "mariadb-dump").chmod(0o755)
    tool_sandbox.tool_job_env["PATH"] = f"{fake}:{os.environ['PATH']}"
    op, backup = failed_backup(data_env, owner)
    assert backup.status == Backup.Status.FAILED
    assert "The database dump is empty" in backup.error
    assert "did not verify" in op.error


def test_a_missing_object_or_a_wrong_size_fails_verification(data_env, owner, s3, bucket):
    record = provisioned(data_env, owner)
    seed(record)
    for name in ("a.txt", "b.txt"):
        s3.put_object(Bucket=bucket, Key=record.files_prefix + name, Body=b"content")
    backup = backed_up(data_env, owner)
    storage = ObjectStorage.for_cluster(data_env.cluster)
    verify_backup(storage, backup.key_prefix)  # verified as it is

    s3.put_object(Bucket=bucket, Key=backup.key_prefix + "files/b.txt", Body=b"longer content")
    with pytest.raises(VerificationFailed, match=r"files/b.txt is 14 bytes; the manifest says 7"):
        verify_backup(storage, backup.key_prefix)
    s3.delete_object(Bucket=bucket, Key=backup.key_prefix + "files/a.txt")
    with pytest.raises(VerificationFailed, match=r"files/a.txt is missing"):
        verify_backup(storage, backup.key_prefix)
    s3.delete_object(Bucket=bucket, Key=backup.key_prefix + "manifest.json")
    with pytest.raises(VerificationFailed, match=r"manifest.json is missing"):
        verify_backup(storage, backup.key_prefix)


class _Dead:
    """A port that accepts connections and closes them at once; counts the attempts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def dead_endpoint():
    dead = _Dead()
    yield dead
    dead.close()


def test_unreachable_storage_is_retried_then_reported(dead_endpoint):
    storage = ObjectStorage(
        endpoint=dead_endpoint.url,
        bucket="hangar-sites",
        access_key="key",
        secret_key="secret",
        addressing_style="path",
        max_attempts=3,
    )
    with pytest.raises(StorageUnreachable, match=r"unreachable \(reading x, 3 attempts\)"):
        storage.head("x")
    assert dead_endpoint.connections == 3


def test_a_backup_that_cannot_be_verified_fails(data_env, owner, dead_endpoint, settings):
    """The job wrote to the storage, but Hangar cannot reach it to verify: no success."""
    settings.HANGAR_STORAGE_MAX_ATTEMPTS = 2
    record = provisioned(data_env, owner)
    seed(record)
    cluster = data_env.cluster
    cluster.storage_endpoint = dead_endpoint.url  # Hangar's view only; the Secret is as before
    cluster.save()
    op, backup = failed_backup(data_env, owner)
    assert backup.status == Backup.Status.FAILED
    assert "could not be verified" in backup.error and "unreachable" in backup.error
    assert op.error == backup.error
    assert dead_endpoint.connections >= 2
    assert not Backup.objects.filter(status=Backup.Status.SUCCEEDED).exists()


def test_restoring_another_clients_backup_is_refused(
    data_env, owner, other_owner, other_environment, staff_admin
):
    provisioned(data_env, owner)
    theirs = f.BackupFactory(environment=other_environment)
    with pytest.raises(PermissionDenied):
        services.backup_restore(actor=owner, backup=theirs, target=data_env)
    with pytest.raises(ValidationError) as refused:
        services.backup_restore(actor=staff_admin, backup=theirs, target=data_env)
    assert "its own site" in str(refused.value)
    assert not Operation.objects.filter(kind="backup.restore").exists()


def test_a_corrupt_dump_never_starts_a_restore(data_env, owner, mariadb, s3, bucket, tool_sandbox):
    record = provisioned(data_env, owner)
    seed(record)
    backup = backed_up(data_env, owner)
    sql(record, "UPDATE node SET title = 'current'")
    current = mariadb.table_checksums(record.name)
    dump = s3.get_object(Bucket=bucket, Key=backup.database_key)["Body"].read()
    corrupt = dump[:40] + bytes(b ^ 0xFF for b in dump[40:80]) + dump[80:]
    s3.put_object(Bucket=bucket, Key=backup.database_key, Body=corrupt)

    op = services.backup_restore(actor=owner, backup=backup, target=data_env)
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED
    assert f"Backup #{backup.pk} is no longer usable" in op.error
    assert mariadb.table_checksums(record.name) == current
    assert not Backup.objects.filter(kind=Backup.Kind.PRE_RESTORE).exists()
    jobs = tool_sandbox.list_objects("batch/v1", "Job", data_env.namespace)
    assert not [j for j in jobs if j["metadata"]["name"].startswith("restore-")]


def test_a_dump_that_fails_to_load_is_undone_from_the_safety_backup(
    data_env, staging_env, owner, mariadb, s3, bucket
):
    """A dump that verified but does not load (say, from a newer server): the target is
    put back from its safety backup, data and files."""
    production = provisioned(data_env, owner)
    seed(production)
    backup = backed_up(data_env, owner)

    staging = provisioned(staging_env, owner)
    seed(staging, rows=7)
    s3.put_object(Bucket=bucket, Key=staging.files_prefix + "keep.txt", Body=b"staging file")
    before = mariadb.table_checksums(staging.name)

    # Break the dump half-way through, and make the manifest and record agree with it.
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

    op = services.backup_restore(actor=owner, backup=backup, target=staging_env)
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED
    assert "was put back as it was before" in op.error, op.error
    # The loader's own words, not the Job's status (BackoffLimitExceeded).
    assert "SQL syntax" in op.error and "BackoffLimitExceeded" not in op.error, op.error
    assert mariadb.table_checksums(staging.name) == before
    keys = {o.key for o in ObjectStorage.for_cluster(data_env.cluster).list(staging.files_prefix)}
    assert keys == {staging.files_prefix + "keep.txt"}
    log = "\n".join(e.message for e in op.events.all())
    assert "putting safety backup" in log and "THIS IS NOT SQL" in log
