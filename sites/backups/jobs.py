"""Running backup.sh and restore.sh in Jobs, and taking a backup that counts only once
it is verified. Used by the backup and restore operations and by the hooks in
provisioning, deploys and destroying."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from clusters.engine import OperationContext, OperationFailed
from clusters.storage import ObjectStorage, StorageError
from sites.backups import naming
from sites.backups.data import environment_database, object_storage
from sites.backups.retention import retention_apply
from sites.backups.verify import VerificationFailed, VerifiedBackup, verify_backup
from sites.manifests.backups import render_backup_job, render_tools_configmap
from sites.manifests.common import Manifest
from sites.models import Backup, Environment

logger = logging.getLogger(__name__)
LOG_LINES = 200


@dataclass(frozen=True)
class JobOutcome:
    name: str
    ok: bool
    message: str
    output: str

    def tail(self, chars: int = 2000) -> str:
        return self.output[-chars:].strip()


def run_tool_job(ctx: OperationContext, environment: Environment, job: Manifest) -> JobOutcome:
    """Make sure the scripts are current, start the Job (once: a retried operation finds
    it), wait for it and read its output."""
    namespace = environment.namespace
    name = job["metadata"]["name"]
    ctx.kube.apply(render_tools_configmap(environment))
    if ctx.kube.get_or_none("batch/v1", "Job", name, namespace) is None:
        ctx.kube.create(job)
    ctx.progress(f"Job {name} is running.")
    status = ctx.kube.wait_job(
        namespace,
        name,
        timeout=settings.HANGAR_BACKUP_TIMEOUT + 60,
        poll=settings.HANGAR_POLL_SECONDS,
    )
    pods = ctx.kube.list("v1", "Pod", namespace, label_selector={"job-name": name})
    output = ""
    if pods:
        output = ctx.kube.pod_logs(namespace, pods[-1]["metadata"]["name"], tail_lines=LOG_LINES)
    return JobOutcome(name=name, ok=status.ok, message=status.message, output=output)


def log_output(ctx: OperationContext, outcome: JobOutcome) -> None:
    if outcome.output.strip():
        level = "info" if outcome.ok else "error"
        ctx.log(f"Output of {outcome.name}:\n{outcome.tail(3500)}", level)


def files_prefix(environment: Environment) -> str:
    record = environment_database(environment)
    return record.files_prefix if record is not None else ""


def backup_start(
    environment: Environment,
    *,
    kind: str,
    operation_id: int | None = None,
    created_by_id: int | None = None,
) -> Backup:
    """A Backup row (pending) with a folder of its own under the environment's base."""
    now = timezone.now()
    for attempt in range(1, 20):
        suffix = "" if attempt == 1 else f"-{attempt}"
        try:
            with transaction.atomic():
                return Backup.objects.create(
                    site=environment.site,
                    environment=environment,
                    environment_slug=environment.slug,
                    cluster=environment.cluster,
                    kind=kind,
                    key_prefix=naming.backup_prefix(environment, now, suffix),
                    taken_at=now,
                    operation_id=operation_id,
                    created_by_id=created_by_id,
                )
        except IntegrityError:
            continue  # two backups in the same second: the next suffix
    raise OperationFailed("Could not find a free backup folder name.")


def backup_failed(backup: Backup, reason: str, *, storage_ok: bool = True) -> None:
    """Record the failure and remove what the failed run left in the bucket."""
    Backup.objects.filter(pk=backup.pk).update(
        status=Backup.Status.FAILED, error=reason[:4000], finished_at=timezone.now()
    )
    backup.status, backup.error = Backup.Status.FAILED, reason
    if not storage_ok:
        return  # pruning removes the leftovers once the storage answers again
    try:
        ObjectStorage.for_cluster(backup.cluster).delete_prefix(backup.key_prefix)
    except StorageError as exc:
        logger.warning("could not delete the objects of failed backup %s: %s", backup.pk, exc)


def backup_mark_corrupt(backup: Backup, reason: str) -> None:
    """A verified backup found changed or missing: it can no longer be restored or
    downloaded, and says why."""
    Backup.objects.filter(pk=backup.pk).update(status=Backup.Status.CORRUPT, error=reason[:4000])
    backup.status, backup.error = Backup.Status.CORRUPT, reason


def backup_record_verified(backup: Backup, result: VerifiedBackup) -> None:
    now = timezone.now()
    fields = {
        "status": Backup.Status.SUCCEEDED,
        "error": "",
        "finished_at": backup.finished_at or now,
        "verified_at": now,
        "database_size": result.database_size,
        "database_sha256": result.database_sha256,
        "files_count": result.files_count,
        "files_size": result.files_size,
        "database_tables": result.database_tables,
        "manifest_sha256": result.manifest_sha256,
    }
    Backup.objects.filter(pk=backup.pk).update(**fields)
    for name, value in fields.items():
        setattr(backup, name, value)


def take_backup(
    ctx: OperationContext,
    environment: Environment,
    *,
    kind: str,
    backup: Backup | None = None,
    prune: bool = True,
) -> Backup:
    """Run backup.sh in a Job, verify what it wrote, and record a verified Backup; raise
    OperationFailed (after recording the failure) otherwise. With ``backup``, continue
    that row (a retried operation); otherwise one is made, tied to this operation."""
    if backup is None:
        backup = (
            Backup.objects.filter(operation=ctx.operation, kind=kind)
            .exclude(status=Backup.Status.FAILED)
            .first()
        )
    if backup is not None and backup.status == Backup.Status.SUCCEEDED:
        return backup  # this operation made it before a retry
    if backup is None:
        backup = backup_start(
            environment,
            kind=kind,
            operation_id=ctx.operation.pk,
            created_by_id=ctx.operation.requested_by_id,
        )
    Backup.objects.filter(pk=backup.pk).update(
        status=Backup.Status.RUNNING, operation=ctx.operation
    )
    label = Backup.Kind(kind).label.lower()
    ctx.log(f"Backing up ({label}) to {backup.key_prefix}")
    job = render_backup_job(environment, name=f"backup-{backup.pk}", key_prefix=backup.key_prefix)
    outcome = run_tool_job(ctx, environment, job)
    log_output(ctx, outcome)
    if not outcome.ok:
        reason = f"The backup job failed: {job_failure(outcome)}"
        backup_failed(backup, reason)
        raise OperationFailed(reason)
    Backup.objects.filter(pk=backup.pk).update(finished_at=timezone.now())
    storage = object_storage(environment)
    try:
        result = verify_backup(
            storage,
            backup.key_prefix,
            files_prefix=files_prefix(environment),
            started=backup.taken_at,
        )
    except VerificationFailed as exc:
        reason = f"The backup did not verify: {exc}"
        backup_failed(backup, reason)
        raise OperationFailed(reason) from exc
    except StorageError as exc:
        reason = f"The backup could not be verified: {exc.message}"
        backup_failed(backup, reason, storage_ok=False)
        raise OperationFailed(reason) from exc
    backup.refresh_from_db()
    backup_record_verified(backup, result)
    ctx.log(
        f"Backup verified: dump {result.database_size} bytes (sha256 "
        f"{result.database_sha256[:12]}…, {result.database_tables} tables), "
        f"{result.files_count} files, {result.files_size} bytes, every checksum read back."
    )
    if result.directory_markers:
        ctx.log(
            f"{len(result.directory_markers)} empty folder marker(s) hold no content and are "
            f"not in the backup: {', '.join(result.directory_markers[:10])}",
            "warning",
        )
    if result.database_tables == 0:
        ctx.log(
            f"Backup #{backup.pk} holds an empty database (no tables): restoring it over a "
            "database with tables needs confirming.",
            "warning",
        )
    if prune:
        try:
            pruned = retention_apply(environment=environment, storage=storage)
        except StorageError as exc:
            ctx.log(f"Pruning old backups failed, to be retried: {exc.message}", "warning")
        else:
            if pruned:
                ctx.log(f"Retention pruned {len(pruned)} older backup(s).")
    return backup


def job_failure(outcome: JobOutcome) -> str:
    """The cause of a failed Job, as its script said it (the Job's own status, such as
    BackoffLimitExceeded, only when the script said nothing)."""
    return _last_error(outcome.output) or outcome.message


_STAMPED = re.compile(r"^\d\d:\d\d:\d\d ")


def _last_error(output: str) -> str:
    """The script's FAILED line and what the failing tool printed just before it."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    for index in range(len(lines) - 1, -1, -1):
        if "FAILED:" in lines[index]:
            detail = lines[index].split("FAILED:", 1)[1].strip()
            context: list[str] = []
            for line in reversed(lines[:index]):
                if _STAMPED.match(line) or len(context) == 5:
                    break  # the script's own progress lines are not the reason
                context.insert(0, line)
            return f"{detail}: {' '.join(context)}" if context else detail
    return lines[-1] if lines else ""
