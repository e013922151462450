"""An environment's database, user and files prefix, and what the cluster gets to know of
them: the DB_* and S3_* variables of the Secret ``app-env`` and the tool objects.

Only clusters with ``provision_data`` get any of this; on the others nothing changes.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from clusters.dbserver import DatabaseServer, new_password
from clusters.storage import ObjectStorage
from sites.backups import naming
from sites.manifests.backups import render_backup_cronjob, render_tools_configmap
from sites.manifests.common import Manifest
from sites.models import BackupSchedule, Environment, EnvironmentDatabase


def data_enabled(environment: Environment) -> bool:
    return bool(environment.cluster.provision_data)


def database_server(environment: Environment) -> DatabaseServer:
    return DatabaseServer.for_cluster(environment.cluster)


def object_storage(environment: Environment) -> ObjectStorage:
    return ObjectStorage.for_cluster(environment.cluster)


def environment_database(environment: Environment) -> EnvironmentDatabase | None:
    return EnvironmentDatabase.objects.filter(environment_id=environment.pk).first()


def environment_data_ensure(*, environment: Environment) -> EnvironmentDatabase | None:
    """Create (or repair) the environment's database and user, with the password Hangar
    holds, and check the bucket is reachable. Safe to repeat; None without provision_data."""
    if not data_enabled(environment):
        return None
    record = environment_database(environment)
    name = record.name if record else naming.database_name(environment)
    user = record.user if record else naming.database_user(environment)
    password = record.password if record and record.password else new_password()
    object_storage(environment).check()
    database_server(environment).database_create(name=name, user=user, password=password)
    if record is None:
        record, _ = EnvironmentDatabase.objects.get_or_create(
            environment=environment,
            defaults={
                "name": name,
                "user": user,
                "password": password,
                "files_prefix": naming.files_prefix(environment),
            },
        )
    return record


@transaction.atomic
def environment_password_rotate(*, environment: Environment) -> EnvironmentDatabase:
    """A new password on the server and in Hangar; the caller re-applies the Secret."""
    record = EnvironmentDatabase.objects.select_for_update().get(environment=environment)
    record.password = database_server(environment).password_rotate(user=record.user)
    record.rotated_at = timezone.now()
    record.save(update_fields=["password", "rotated_at"])
    return record


def environment_data_drop(*, environment: Environment) -> int:
    """Drop the database and user and delete the files. Returns the files deleted."""
    record = environment_database(environment)
    if record is None:
        return 0
    database_server(environment).database_drop(name=record.name, user=record.user)
    deleted = object_storage(environment).delete_prefix(record.files_prefix)
    record.delete()
    return deleted


def environment_secret_env(environment: Environment) -> dict[str, str]:
    """The variables provisioning adds to ``app-env``: the database (DB_*, with the aliases
    Flight Deck's MYSQL_* and Lagoon's MARIADB_* images read) and object storage (S3_*)."""
    if not data_enabled(environment):
        return {}
    cluster = environment.cluster
    values = {
        "S3_ENDPOINT": cluster.storage_endpoint,
        "S3_REGION": cluster.storage_region,
        "S3_BUCKET": cluster.storage_bucket,
        "S3_PREFIX": naming.files_prefix(environment),
        "S3_ACCESS_KEY": cluster.storage_access_key,
        "S3_SECRET_KEY": cluster.storage_secret_key,
    }
    record = environment_database(environment)
    if record is not None:
        port = str(cluster.db_port)
        values.update(
            {
                "S3_PREFIX": record.files_prefix,
                "DB_HOST": cluster.db_host,
                "DB_PORT": port,
                "DB_NAME": record.name,
                "DB_USER": record.user,
                "DB_PASSWORD": record.password,
                "MYSQL_HOST": cluster.db_host,
                "MYSQL_PORT": port,
                "MYSQL_DATABASE": record.name,
                "MYSQL_USER": record.user,
                "MYSQL_PASSWORD": record.password,
                "MARIADB_HOST": cluster.db_host,
                "MARIADB_PORT": port,
                "MARIADB_DATABASE": record.name,
                "MARIADB_USERNAME": record.user,
                "MARIADB_PASSWORD": record.password,
            }
        )
    return values


def tool_objects(environment: Environment) -> list[Manifest]:
    """The scripts' ConfigMap and, with a BackupSchedule, the ``backup`` CronJob."""
    if not data_enabled(environment):
        return []
    objects = [render_tools_configmap(environment)]
    schedule = BackupSchedule.objects.filter(environment_id=environment.pk).first()
    if schedule is not None:
        schedule.environment = environment
        objects.append(render_backup_cronjob(environment, schedule))
    return objects
