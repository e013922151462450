"""Operation handlers: a backup, a restore (after a safety backup, undone when it fails), a
restore check into a scratch database, and a new database password. Registered when the
sites app loads."""

from __future__ import annotations

import time

from django.conf import settings
from django.utils import timezone

from clusters.dbserver import DatabaseServerError, quote, validate_identifier
from clusters.engine import OperationContext, OperationFailed, register
from clusters.engine.services import operations_after_cancel
from clusters.models import Operation
from clusters.storage import ObjectStorage, StorageError
from controlpanel.core.permissions import Action
from sites.backups.data import (
    data_enabled,
    database_server,
    environment_database,
    environment_password_rotate,
)
from sites.backups.hooks import data_service_errors
from sites.backups.jobs import (
    JobOutcome,
    backup_mark_corrupt,
    job_failure,
    log_output,
    run_tool_job,
    take_backup,
)
from sites.backups.verify import VerificationFailed, verify_backup
from sites.handlers.converge import converge, load_environment
from sites.manifests.backups import render_restore_job
from sites.models import Backup, Environment


def require_data(environment: Environment) -> None:
    if not data_enabled(environment) or environment_database(environment) is None:
        raise OperationFailed(
            f"{environment} has no provisioned database and storage to back up or restore."
        )


def verify_again(ctx: OperationContext, backup: Backup) -> None:
    """Before a backup is used: is it still exactly what was verified?"""
    try:
        verify_backup(
            ObjectStorage.for_cluster(backup.cluster),
            backup.key_prefix,
            expect_manifest_sha256=backup.manifest_sha256,
            expect_database_sha256=backup.database_sha256,
        )
    except VerificationFailed as exc:
        reason = f"Backup #{backup.pk} is no longer usable: {exc}"
        backup_mark_corrupt(backup, reason)
        raise OperationFailed(reason) from exc
    except StorageError as exc:
        raise OperationFailed(f"Backup #{backup.pk} could not be checked: {exc.message}") from exc


def _backup_failed(operation: Operation) -> None:
    Backup.objects.filter(
        operation=operation, status__in=[Backup.Status.PENDING, Backup.Status.RUNNING]
    ).update(status=Backup.Status.FAILED, error=operation.error[:4000])


@register(
    "backup.create",
    on_failure=_backup_failed,
    on_cancel=_backup_failed,  # a backup cancelled before it ran ends, with the reason
    permission=Action.BACKUP,
    label="Back up",
)
def backup_create(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    backup = Backup.objects.get(pk=ctx.params["backup_id"])
    ctx.plan(1)
    require_data(environment)
    take_backup(ctx, environment, kind=backup.kind, backup=backup)
    ctx.step(f"Backup #{backup.pk} is verified.")
    return {"backup_id": backup.pk, "key_prefix": backup.key_prefix}


def _restore_ended(operation: Operation) -> None:
    """A restore that did not succeed. What was queued with it after it (a new preview's
    deploy, which needs the data) does not run either, with a reason that names it; and
    the environment it was to fill is left failed: it holds no usable data, and serving it
    as if all were well would hide that."""
    _backup_failed(operation)
    ended = "failed" if operation.status == Operation.Status.FAILED else "was cancelled"
    reason = f"Not run: restore #{operation.pk}, which loads the data it needs, {ended}"
    if not operations_after_cancel(
        operation, reason=f"{reason}: {operation.error}" if operation.error else f"{reason}."
    ):
        return
    # A destroy queued meanwhile keeps its status.
    Environment.objects.filter(
        pk=operation.target_id, status__in=[Environment.Status.ACTIVE, Environment.Status.NEW]
    ).update(status=Environment.Status.FAILED)


@register(
    "backup.restore",
    on_failure=_restore_ended,
    on_cancel=_restore_ended,
    permission=Action.RESTORE,
    label="Restore",
)
def backup_restore(ctx: OperationContext) -> dict:
    target = load_environment(ctx.operation.target_id)
    backup = Backup.objects.select_related("cluster", "environment").get(pk=ctx.params["backup_id"])
    ctx.plan(4)
    require_data(target)
    if backup.site_id != target.site_id:
        raise OperationFailed("Refused: that backup belongs to another site.")
    if backup.status != Backup.Status.SUCCEEDED:
        raise OperationFailed(f"Backup #{backup.pk} is not a verified backup.")
    verify_again(ctx, backup)
    ctx.step(
        f"Backup #{backup.pk} ({backup.environment_slug}, {backup.taken_at:%Y-%m-%d %H:%M}"
        " UTC) verified again."
    )

    safety = None
    if ctx.params.get("safety_backup", True):
        safety = take_backup(ctx, target, kind=Backup.Kind.PRE_RESTORE, prune=False)
        ctx.step(f"Safety backup #{safety.pk} of {target.name} is verified.")
    else:
        ctx.step(f"No safety backup: {target.name} is new and holds nothing yet.")

    restore_files = bool(ctx.params.get("restore_files", True))
    job = render_restore_job(
        target,
        name=f"restore-{ctx.operation.pk}",
        source_prefix=backup.key_prefix,
        database_sha256=backup.database_sha256,
        restore_files=restore_files,
        database_size=backup.database_size,
        sanitize_sql=ctx.params.get("sanitize_sql", ""),
    )
    outcome = run_tool_job(ctx, target, job)
    log_output(ctx, outcome)
    if outcome.ok:
        ctx.step(f"Restored backup #{backup.pk} into {target.name}.")
        ctx.step("Done: the database" + (" and files are" if restore_files else " is") + " back.")
        return {
            "backup_id": backup.pk,
            "safety_backup_id": safety.pk if safety else None,
            "target": target.slug,
        }

    cause = job_failure(outcome)
    if "was not touched" in cause:
        # restore.sh fetches and checks the dump before it changes anything.
        raise OperationFailed(
            f"The restore failed before changing {target.name}: {cause}. {target.name} is "
            "as it was" + (f"; safety backup #{safety.pk} was not needed." if safety else ".")
        )
    reason = f"the restore job failed: {cause}"
    if safety is None:
        raise OperationFailed(f"The restore failed: {reason}.")
    ctx.log(f"The restore failed; putting safety backup #{safety.pk} back.", "error")
    undone = _undo(ctx, target, safety)
    if undone.ok:
        raise OperationFailed(
            f"The restore failed: {reason}. {target.name} was put back as it was before, "
            f"from safety backup #{safety.pk}."
        )
    # Neither the old state nor the new: say so first, loudly, with what to do.
    raise OperationFailed(
        f"{target.name} IS HALF-RESTORED: the restore failed ({reason}) and putting safety "
        f"backup #{safety.pk} back failed too ({job_failure(undone)}). Restore backup "
        f"#{safety.pk} into {target.name} as soon as the cause is fixed."
    )


def _undo(ctx: OperationContext, target: Environment, safety: Backup) -> JobOutcome:
    """Put the safety backup back. restore.sh fetches the dump before it changes anything,
    so an attempt the storage did not answer left the target as the failed restore did:
    try again, with growing pauses, while the storage is away."""
    attempts = max(1, settings.HANGAR_RESTORE_UNDO_ATTEMPTS)
    pause = settings.HANGAR_RESTORE_UNDO_BACKOFF
    for attempt in range(1, attempts + 1):
        undo = render_restore_job(
            target,
            name=f"restore-{ctx.operation.pk}-undo" + (f"-{attempt}" if attempt > 1 else ""),
            source_prefix=safety.key_prefix,
            database_sha256=safety.database_sha256,
            restore_files=True,
            database_size=safety.database_size,
        )
        undone = run_tool_job(ctx, target, undo)
        log_output(ctx, undone)
        if undone.ok or "was not touched" not in job_failure(undone) or attempt == attempts:
            return undone
        ctx.log(
            f"Putting safety backup #{safety.pk} back failed ({job_failure(undone)}); "
            f"trying again in {pause:.0f}s (attempt {attempt + 1} of {attempts}).",
            "warning",
        )
        time.sleep(pause)
        pause *= 2
    raise AssertionError("unreachable")  # pragma: no cover


def _record_check(backup: Backup, passed: bool, detail: str) -> None:
    Backup.objects.filter(pk=backup.pk).update(
        restore_check=Backup.Check.PASSED if passed else Backup.Check.FAILED,
        restore_checked_at=timezone.now(),
        restore_check_detail=detail[:4000],
    )


@register("backup.check_restore", permission=Action.BACKUP, label="Test a restore")
def backup_check_restore(ctx: OperationContext) -> dict:
    """Restore a backup into a scratch database, check that it loaded tables, drop it."""
    environment = load_environment(ctx.operation.target_id)
    require_data(environment)
    backup = Backup.objects.get(pk=ctx.params["backup_id"])
    record = environment_database(environment)
    assert record is not None  # noqa: S101 - require_data
    ctx.plan(3)
    verify_again(ctx, backup)
    ctx.step(f"Backup #{backup.pk} verified again.")
    server = database_server(environment)
    scratch = validate_identifier(
        f"hangar_check_{ctx.operation.pk}", limit=64, what="Scratch database"
    )
    try:
        with data_service_errors(DatabaseServerError):
            with server.connect() as cursor:
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quote(scratch)}")
            server.grant(name=scratch, user=record.user)
            job = render_restore_job(
                environment,
                # A retried attempt starts over: the scratch database was dropped after the last.
                name=f"restore-check-{ctx.operation.pk}-{ctx.operation.attempts}",
                source_prefix=backup.key_prefix,
                database_sha256=backup.database_sha256,
                target_database=scratch,
                database_size=backup.database_size,
            )
            outcome = run_tool_job(ctx, environment, job)
            log_output(ctx, outcome)
            tables = server.tables(scratch) if outcome.ok else []
    finally:
        try:
            server.revoke(name=scratch, user=record.user)
            server.database_drop(name=scratch)
        except DatabaseServerError as exc:
            ctx.log(f"Could not drop the scratch database {scratch}: {exc.message}", "warning")
    ctx.step(f"Scratch database {scratch} dropped.")
    if not outcome.ok:
        detail = f"The dump did not load: {job_failure(outcome)}"
        _record_check(backup, False, detail)
        raise OperationFailed(f"Backup #{backup.pk} does not restore. {detail}")
    if not tables:
        detail = "The dump loaded but created no tables."
        _record_check(backup, False, detail)
        raise OperationFailed(f"Backup #{backup.pk} does not restore: {detail}")
    detail = f"Loaded {len(tables)} tables into a scratch database."
    _record_check(backup, True, detail)
    ctx.step(f"Backup #{backup.pk} restores: {detail}")
    return {"backup_id": backup.pk, "tables": len(tables)}


@register("environment.rotate_database_password", label="Rotate database password")
def rotate_database_password(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    require_data(environment)
    ctx.plan(3 if environment.image else 2)
    with data_service_errors(DatabaseServerError):
        record = environment_password_rotate(environment=environment)
    ctx.step(f"The database user {record.user} has a new password.")
    # The Secret changes, so its checksum on the pod template rolls the pods.
    converge(ctx, environment)
    return {"user": record.user, "rotated_at": record.rotated_at.isoformat()}
