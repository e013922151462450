"""The ``backup.sanitize`` operation: sanitize.sh in the backup's environment's namespace,
on a scratch database and a throwaway user that can reach nothing else. Registered when
the sites app loads."""

from __future__ import annotations

from django.utils import timezone

from clusters.dbserver import DatabaseServerError, new_password, validate_identifier
from clusters.engine import OperationContext, OperationFailed, register
from clusters.models import Operation
from clusters.storage import ObjectStorage, StorageError
from sites.backups.data import database_server
from sites.backups.handlers import require_data, verify_again
from sites.backups.hooks import data_service_errors
from sites.backups.jobs import log_output, run_tool_job
from sites.handlers.converge import load_environment
from sites.local.models import SanitizedDump
from sites.manifests.backups import render_sanitize_job
from sites.models import Backup


def _failed(operation: Operation) -> None:
    SanitizedDump.objects.filter(
        operation=operation,
        status__in=[SanitizedDump.Status.PENDING, SanitizedDump.Status.RUNNING],
    ).update(status=SanitizedDump.Status.FAILED, error=operation.error[:4000])


@register("backup.sanitize", on_failure=_failed)
def backup_sanitize(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    require_data(environment)
    backup = Backup.objects.select_related("cluster").get(pk=ctx.params["backup_id"])
    dump = SanitizedDump.objects.get(pk=ctx.params["dump_id"])
    ctx.plan(3)
    verify_again(ctx, backup)
    ctx.step(f"Backup #{backup.pk} verified again.")
    key = f"{backup.key_prefix}sanitized/{dump.pk}.sql.gz"
    SanitizedDump.objects.filter(pk=dump.pk).update(status=SanitizedDump.Status.RUNNING, key=key)
    server = database_server(environment)
    # A retried attempt starts over: the last attempt's scratch database was dropped.
    suffix = f"{ctx.operation.pk}_{ctx.operation.attempts}"
    scratch = validate_identifier(f"hangar_sanitize_{suffix}", limit=64, what="Scratch database")
    user = validate_identifier(f"hangar_sz_{suffix}", limit=32, what="Scratch user")
    try:
        with data_service_errors(DatabaseServerError):
            server.database_create(name=scratch, user=user, password=(password := new_password()))
            job = render_sanitize_job(
                environment,
                name=f"sanitize-{suffix.replace('_', '-')}",
                source_prefix=backup.key_prefix,
                database_sha256=backup.database_sha256,
                scratch_database=scratch,
                scratch_user=user,
                scratch_password=password,
                sanitize_sql=dump.sanitize_sql,
                target_key=key,
            )
            outcome = run_tool_job(ctx, environment, job)
            log_output(ctx, outcome)
            tables = server.tables(scratch) if outcome.ok else []
    finally:
        try:
            server.database_drop(name=scratch, user=user)
        except DatabaseServerError as exc:
            ctx.log(f"Could not drop the scratch database {scratch}: {exc.message}", "warning")
    ctx.step(f"Scratch database {scratch} and its user dropped.")
    if not outcome.ok:
        raise OperationFailed(
            f"Sanitizing backup #{backup.pk} failed: {outcome.message}. {outcome.tail(1500)}"
        )
    try:
        sha256, size = ObjectStorage.for_cluster(backup.cluster).sha256(key)
    except StorageError as exc:
        raise OperationFailed(f"The sanitized dump cannot be read: {exc.message}") from exc
    SanitizedDump.objects.filter(pk=dump.pk).update(
        status=SanitizedDump.Status.SUCCEEDED,
        size=size,
        sha256=sha256,
        tables=len(tables),
        error="",
        finished_at=timezone.now(),
    )
    ctx.step(f"Sanitized dump of backup #{backup.pk}: {len(tables)} tables, {size} bytes.")
    return {"dump_id": dump.pk, "key": key, "tables": len(tables), "size": size}
