"""What provisioning, deploys and destroying do about an environment's data. Called from
the handlers in sites.handlers; each does nothing on clusters without provision_data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from clusters.dbserver import DatabaseServerError
from clusters.engine import OperationContext, OperationFailed
from clusters.kube.errors import KubeTransientError
from clusters.storage import StorageError
from sites.backups.data import (
    data_enabled,
    environment_data_drop,
    environment_data_ensure,
    environment_database,
)
from sites.backups.jobs import take_backup
from sites.models import Backup, BackupSchedule, Environment, Tier


class DataServiceUnavailable(KubeTransientError):
    """The database server or object storage did not answer. Raised as a transient
    failure, so the engine retries the operation with backoff as it does for Kubernetes."""


@contextmanager
def data_service_errors(*kinds: type[DatabaseServerError | StorageError]) -> Iterator[None]:
    """Errors of these kinds (of the database server, of object storage) become the
    engine's: retried later when the service may answer again, failed otherwise."""
    try:
        yield
    except kinds as exc:
        if exc.retryable:
            raise DataServiceUnavailable(exc.message) from exc
        raise OperationFailed(exc.message) from exc


def provision_data(ctx: OperationContext, environment: Environment) -> None:
    """Before the Secret is applied: the database, its user and the files prefix."""
    if not data_enabled(environment):
        return
    with data_service_errors(DatabaseServerError, StorageError):
        record = environment_data_ensure(environment=environment)
    assert record is not None  # noqa: S101 - data_enabled
    ctx.log(
        f"Database {record.name} and user {record.user} are ready on "
        f"{environment.cluster.db_host}; files live under {record.files_prefix}."
    )


def pre_deploy_backup(ctx: OperationContext, environment: Environment) -> None:
    """Production is backed up before every deploy unless its schedule says otherwise.
    A deploy whose backup fails does not start."""
    if environment.tier != Tier.PRODUCTION or not data_enabled(environment):
        return
    if environment_database(environment) is None:
        return  # nothing was provisioned yet: nothing to lose
    schedule = BackupSchedule.objects.filter(environment_id=environment.pk).first()
    if schedule is not None and not schedule.pre_deploy:
        return
    try:
        take_backup(ctx, environment, kind=Backup.Kind.PRE_DEPLOY)
    except OperationFailed as exc:
        raise OperationFailed(
            f"The deploy did not start: the backup before it failed. {exc}"
        ) from exc


def final_backup(ctx: OperationContext, environment: Environment) -> None:
    """Before the namespace goes: a verified backup, kept beyond the environment's life.
    If it fails, nothing is destroyed."""
    if not data_enabled(environment) or environment_database(environment) is None:
        return
    try:
        take_backup(ctx, environment, kind=Backup.Kind.PRE_DESTROY, prune=False)
    except OperationFailed as exc:
        raise OperationFailed(f"Nothing was destroyed: the final backup failed. {exc}") from exc


def drop_data(ctx: OperationContext, environment: Environment) -> None:
    """After the namespace is gone: drop the database and user, delete the files."""
    record = environment_database(environment)
    if record is None or not data_enabled(environment):
        return
    name, user = record.name, record.user
    with data_service_errors(DatabaseServerError, StorageError):
        deleted = environment_data_drop(environment=environment)
    ctx.log(f"Dropped database {name} and user {user}; deleted {deleted} file(s).")
