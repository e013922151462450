"""What people do with backups: take one, restore one (into its own environment or another
of the same site), schedule them, check that one restores, download one, and give an
environment a new database password. Each checks permission and validates first (field-
keyed errors, nothing recorded on error); long work becomes an Operation.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet

from clusters.dbserver import DatabaseServerError
from clusters.models import Operation
from clusters.storage import ObjectStorage, StorageError
from controlpanel.core.audit import audit_record
from controlpanel.core.models import User
from controlpanel.core.permissions import Action, client_role, require
from controlpanel.core.roles import ClientRole, StaffRole
from controlpanel.core.tenancy import is_agency_staff
from sites.backups.data import data_enabled, database_server, environment_database
from sites.backups.jobs import backup_mark_corrupt, backup_start
from sites.models import Backup, BackupSchedule, Environment
from sites.services.config import Verb, configuration_change
from sites.services.operations import environment_operation, require_provisioned

SCHEDULE_FIELDS = (
    "schedule",
    "enabled",
    "keep_daily",
    "keep_weekly",
    "keep_monthly",
    "pre_deploy",
    "verify_restore",
)
DOWNLOADS = {"database": "db.sql.gz", "manifest": "manifest.json"}


def _require_data(environment: Environment) -> None:
    require_provisioned(environment)
    if not data_enabled(environment):
        raise ValidationError(
            {
                "environment": f"{environment.cluster} does not provision databases and storage, "
                "so there is nothing Hangar can back up or restore."
            }
        )
    # A provisioning queued before this operation makes the database (operations of one
    # environment run in order): a new preview's restore is queued that way.
    if (
        environment_database(environment) is None
        and environment.status != Environment.Status.PROVISIONING
    ):
        raise ValidationError(
            {"environment": f"{environment} has no database yet; provision it again first."}
        )


def backups_visible(actor: User) -> QuerySet[Backup]:
    return Backup.objects.for_user(actor).select_related("site__client", "environment")


def _visible(actor: User, backup: Backup) -> Backup:
    """The backup, if `actor` may see it at all; another client's is "not found"."""
    found = backups_visible(actor).filter(pk=backup.pk).first()
    if found is None:
        raise PermissionDenied("No such backup.")
    return found


@transaction.atomic
def backup_create(*, actor: User, environment: Environment, idempotency_key: str = "") -> Operation:
    """A manual backup, verified before it counts."""
    require(actor, Action.BACKUP, environment.site.client)
    _require_data(environment)
    backup = backup_start(environment, kind=Backup.Kind.MANUAL, created_by_id=actor.pk)
    operation, created = environment_operation(
        kind="backup.create",
        environment=environment,
        actor=actor,
        params={"backup_id": backup.pk},
        fingerprint_params={},
        idempotency_key=idempotency_key,
        steps_total=1,
    )
    if created:
        Backup.objects.filter(pk=backup.pk).update(operation=operation)
    else:
        backup.delete()  # the same request again: its backup exists already
    return operation


def _refuse_emptying(backup: Backup, target: Environment) -> None:
    record = environment_database(target)
    assert record is not None  # noqa: S101 - _require_data
    try:
        tables = len(database_server(target).tables(record.name))
    except DatabaseServerError:
        tables = -1  # cannot tell: ask all the same
    if tables == 0:
        return
    has = f"has {tables} tables" if tables > 0 else "may have tables"
    raise ValidationError(
        {
            "confirm_empty": f"Backup #{backup.pk} holds an empty database (no tables) and "
            f"{target.name} {has}: restoring it empties them. Confirm to go ahead."
        }
    )


@transaction.atomic
def backup_restore(
    *,
    actor: User,
    backup: Backup,
    target: Environment,
    restore_files: bool = True,
    confirm_empty: bool = False,
    idempotency_key: str = "",
    safety_backup: bool = True,
    sanitize_sql: str = "",
) -> Operation:
    """Restore `backup` into `target`, its own environment or another of the same site
    (production into staging). A safety backup of the target is taken first and put back
    if the restore fails; without `safety_backup` (a new, empty preview) it is not. A
    backup of an empty database over a database with tables needs `confirm_empty`: it
    would empty the target. `sanitize_sql` (the site's validated sanitize rules, for a
    preview's copy) runs in the target database once the dump is loaded."""
    backup = _visible(actor, backup)
    require(actor, Action.RESTORE, target.site.client)
    if backup.site_id != target.site_id:
        raise ValidationError(
            {"backup": "A backup can only be restored into an environment of its own site."}
        )
    if backup.status != Backup.Status.SUCCEEDED:
        raise ValidationError({"backup": "Only a verified backup can be restored."})
    _require_data(target)
    if backup.empty_database and not confirm_empty:
        _refuse_emptying(backup, target)
    source, here = backup.cluster, target.cluster
    if (source.storage_endpoint, source.storage_bucket) != (
        here.storage_endpoint,
        here.storage_bucket,
    ):
        raise ValidationError(
            {
                "target": f"The backup is in {source}'s object storage and {target.name} uses "
                f"{here}'s; restoring across storages is not supported."
            }
        )
    operation, _ = environment_operation(
        kind="backup.restore",
        environment=target,
        actor=actor,
        params={
            "backup_id": backup.pk,
            "source": backup.environment_slug,
            "restore_files": bool(restore_files),
            **({} if safety_backup else {"safety_backup": False}),
            **({"sanitize_sql": sanitize_sql} if sanitize_sql else {}),
        },
        idempotency_key=idempotency_key,
        steps_total=4,
    )
    return operation


@transaction.atomic
def backup_check_restore(
    *, actor: User | None, environment: Environment, backup: Backup | None = None
) -> Operation:
    """Restore the newest verified backup (or `backup`) into a scratch database, check
    that it loads tables, and drop it. `actor` None: the weekly check."""
    if actor is not None:
        require(actor, Action.BACKUP, environment.site.client)
    _require_data(environment)
    if backup is None:
        backup = (
            Backup.objects.filter(environment=environment, status=Backup.Status.SUCCEEDED)
            .order_by("-taken_at", "-pk")
            .first()
        )
        if backup is None:
            raise ValidationError({"backup": f"{environment} has no verified backup yet."})
    elif backup.environment_id != environment.pk or backup.status != Backup.Status.SUCCEEDED:
        raise ValidationError({"backup": "Pick a verified backup of this environment."})
    operation, _ = environment_operation(
        kind="backup.check_restore",
        environment=environment,
        actor=actor,
        params={"backup_id": backup.pk},
        steps_total=3,
    )
    return operation


@transaction.atomic
def backup_schedule_set(*, actor: User, environment: Environment, **fields: Any) -> BackupSchedule:
    """Create or change the environment's backup schedule and retention; the CronJob
    follows with the configuration apply this queues."""
    require(actor, Action.BACKUP, environment.site.client)
    if not data_enabled(environment):
        raise ValidationError(
            {"environment": f"{environment.cluster} does not provision databases and storage."}
        )
    schedule = BackupSchedule.objects.filter(environment=environment).first()
    if schedule is None:
        unknown = set(fields) - set(SCHEDULE_FIELDS)
        if unknown:
            raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})
        schedule = BackupSchedule(environment=environment, **fields)
        verb, action = Verb.CREATE, "backup.schedule.create"
    else:
        verb, action = Verb.UPDATE, "backup.schedule.change"
    configuration_change(
        actor=actor,
        environment=environment,
        permission=Action.BACKUP,
        action=action,
        instance=schedule,
        verb=verb,
        fields=fields,
        editable=SCHEDULE_FIELDS,
    )
    return schedule


def backup_schedule_delete(*, actor: User, environment: Environment) -> None:
    schedule = BackupSchedule.objects.filter(environment=environment).first()
    if schedule is None:
        require(actor, Action.BACKUP, environment.site.client)
        return
    configuration_change(
        actor=actor,
        environment=environment,
        permission=Action.BACKUP,
        action="backup.schedule.delete",
        instance=schedule,
        verb=Verb.DELETE,
    )


def can_download(actor: User, backup: Backup) -> bool:
    """Downloads hold a client's whole database: its owners and agency admins and
    operators only (not developers, viewers or billing staff)."""
    if is_agency_staff(actor):
        return actor.staff_role in (StaffRole.ADMIN, StaffRole.OPERATOR)
    return client_role(actor, backup.site.client) == ClientRole.OWNER


def backup_download_url(*, actor: User, backup: Backup, what: str = "database") -> str:
    """A short-lived presigned link to the dump (or the manifest); audited."""
    backup = _visible(actor, backup)
    if not can_download(actor, backup):
        raise PermissionDenied("Only the client's owners and agency staff can download backups.")
    if what not in DOWNLOADS:
        raise ValidationError({"what": f"Choose one of: {', '.join(DOWNLOADS)}."})
    if backup.status != Backup.Status.SUCCEEDED:
        raise ValidationError({"backup": "Only a verified backup can be downloaded."})
    name = DOWNLOADS[what]
    filename = f"{backup.site.client.slug}-{backup.site.slug}-{backup.environment_slug}-" + (
        f"{backup.taken_at:%Y%m%d-%H%M%S}-{name}"
    )
    try:
        storage = ObjectStorage.for_cluster(backup.cluster)
        # A link that answers 404 is worse than an error now: look first.
        found = storage.head(backup.key_prefix + name)
        if found is None:
            reason = f"Backup #{backup.pk} is no longer usable: {name} is missing from the bucket."
            backup_mark_corrupt(backup, reason)
            raise ValidationError({"backup": reason})
        url = storage.presigned_get(backup.key_prefix + name, filename=filename)
    except StorageError as exc:
        raise ValidationError({"backup": exc.message}) from exc
    audit_record(
        actor=actor,
        action="backup.download",
        target=backup,
        client=backup.site.client,
        changes={"object": backup.key_prefix + name},
    )
    return url


@transaction.atomic
def environment_rotate_database_password(
    *, actor: User, environment: Environment, idempotency_key: str = ""
) -> Operation:
    """A new password for the environment's database user; the pods roll onto it."""
    require(actor, Action.MANAGE_ENV_VARS, environment.site.client)
    _require_data(environment)
    operation, _ = environment_operation(
        kind="environment.rotate_database_password",
        environment=environment,
        actor=actor,
        params={},
        idempotency_key=idempotency_key,
    )
    return operation
