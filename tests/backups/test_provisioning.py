"""An environment's database, user and files: created at provisioning, injected into its
Secret, rotated, and dropped after a final backup when it is destroyed."""

from __future__ import annotations

import base64

import pymysql
import pytest

from clusters.models import Operation
from clusters.services import cluster_update
from sites import services as site_services
from sites.backups import services
from sites.backups.data import environment_secret_env
from sites.models import Backup, Environment, EnvironmentDatabase
from sites.services.drift import environment_drift
from tests.backups.helpers import MARIADB, seed, sql
from tests.backups.test_round_trip import provisioned
from tests.engine import drain

S = Operation.Status


def secret_values(sandbox, environment) -> dict[str, str]:
    secret = sandbox.get_object("v1", "Secret", "app-env", environment.namespace)
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_provisioning_creates_a_database_the_environment_alone_can_use(
    data_env, staging_env, owner, mariadb, tool_sandbox, live_kube_for
):
    production = provisioned(data_env, owner)
    staging = provisioned(staging_env, owner)
    assert production.name == data_env.namespace.replace("-", "_")
    assert len(production.user) <= 32 and production.password
    assert mariadb.database_exists(production.name) and mariadb.user_exists(production.user)

    values = secret_values(tool_sandbox, data_env)
    assert values["DB_NAME"] == values["MYSQL_DATABASE"] == values["MARIADB_DATABASE"]
    assert values["DB_USER"] == values["MYSQL_USER"] == values["MARIADB_USERNAME"]
    assert values["DB_PASSWORD"] == production.password
    assert values["DB_HOST"] == MARIADB["host"] and values["DB_PORT"] == str(MARIADB["port"])
    assert values["S3_PREFIX"] == production.files_prefix == f"sites/acme/www/{data_env.slug}/"
    assert values["S3_BUCKET"] == data_env.cluster.storage_bucket
    # The password is encrypted at rest.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT password FROM sites_environmentdatabase WHERE id = %s", [production.pk]
        )
        assert production.password not in cursor.fetchone()[0]

    seed(production)
    with pytest.raises(pymysql.err.OperationalError, match="denied"):
        pymysql.connect(
            **MARIADB, user=production.user, password=production.password, database=staging.name
        )
    # Nothing differs from what Hangar would apply, Secret and tool objects included.
    assert environment_drift(data_env, live_kube_for(data_env.cluster)) == []


def test_provisioning_again_keeps_the_password(data_env, owner):
    first = provisioned(data_env, owner)
    second = provisioned(data_env, owner)
    assert (first.name, first.user, first.password) == (second.name, second.user, second.password)
    sql(second, "SELECT 1")


def test_clusters_without_data_provisioning_are_left_alone(environment):
    assert environment_secret_env(environment) == {}


def test_a_new_password_reaches_the_pods(data_env, owner, tool_sandbox):
    record = provisioned(data_env, owner)
    old = record.password
    template = tool_sandbox.get_object("apps/v1", "Deployment", "web", data_env.namespace)
    checksum = template["spec"]["template"]["metadata"]["annotations"]
    op = services.environment_rotate_database_password(actor=owner, environment=data_env)
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    record.refresh_from_db()
    assert record.password != old and record.rotated_at is not None
    assert secret_values(tool_sandbox, data_env)["DB_PASSWORD"] == record.password
    rolled = tool_sandbox.get_object("apps/v1", "Deployment", "web", data_env.namespace)
    assert rolled["spec"]["template"]["metadata"]["annotations"] != checksum
    sql(record, "SELECT 1")
    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(**MARIADB, user=record.user, password=old, database=record.name)


def test_destroying_takes_a_final_backup_then_drops_the_data(
    data_env, owner, mariadb, storage, s3, bucket
):
    record = provisioned(data_env, owner)
    seed(record)
    s3.put_object(Bucket=bucket, Key=record.files_prefix + "upload.jpg", Body=b"jpeg")
    op = site_services.environment_destroy(
        actor=owner, environment=data_env, confirm=data_env.namespace
    )
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    assert not Environment.objects.filter(pk=data_env.pk).exists()
    assert not EnvironmentDatabase.objects.filter(pk=record.pk).exists()
    assert not mariadb.database_exists(record.name) and not mariadb.user_exists(record.user)
    assert list(storage.list(record.files_prefix)) == []
    final = Backup.objects.get(kind=Backup.Kind.PRE_DESTROY)
    assert final.status == Backup.Status.SUCCEEDED
    assert final.environment is None and final.environment_slug == data_env.slug
    assert final.files_count == 1
    assert storage.head(final.database_key) is not None


def test_a_failing_final_backup_destroys_nothing(data_env, owner, mariadb, tool_sandbox):
    record = provisioned(data_env, owner)
    mariadb.password_rotate(user=record.user)  # the dump will be refused
    op = site_services.environment_destroy(
        actor=owner, environment=data_env, confirm=data_env.namespace
    )
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED
    assert "Nothing was destroyed" in op.error
    assert mariadb.database_exists(record.name)
    assert tool_sandbox.get_object("v1", "Namespace", data_env.namespace) is not None


def test_a_new_storage_key_reaches_every_environments_secret(
    data_env, staging_env, owner, staff_admin, tool_sandbox
):
    """The cluster's storage key changes: each environment's Secret app-env (which the
    backup Jobs read) follows through a visible apply, with no repair."""
    provisioned(data_env, owner)
    provisioned(staging_env, owner)
    cluster = data_env.cluster
    cluster_update(actor=staff_admin, cluster=cluster, storage_secret_key="rotated-secret")
    applies = Operation.objects.filter(kind="environment.apply_config", cluster=cluster)
    assert {op.target_id for op in applies} == {data_env.pk, staging_env.pk}
    drain()
    for environment in (data_env, staging_env):
        secret = tool_sandbox.get_object("v1", "Secret", "app-env", environment.namespace)
        assert base64.b64decode(secret["data"]["S3_SECRET_KEY"]) == b"rotated-secret"

    # A change that is not about data re-applies nothing.
    before = Operation.objects.count()
    cluster_update(actor=staff_admin, cluster=cluster, name="Renamed")
    assert Operation.objects.count() == before


def test_test_connection_checks_the_storage_and_the_database_server(data_cluster, storage):
    from clusters.connection import probe_cluster

    checks = {c.name: c for c in probe_cluster(data_cluster).checks}
    assert checks["object storage"].ok, checks["object storage"].detail
    assert checks["database server"].ok, checks["database server"].detail
    assert list(storage.list("hangar-probe/")) == []  # the probe cleaned up

    data_cluster.storage_bucket += "-gone"
    data_cluster.db_admin_password = "wrong"
    checks = {c.name: c for c in probe_cluster(data_cluster).checks}
    assert not checks["object storage"].ok
    assert "does not exist" in checks["object storage"].detail
    assert not checks["database server"].ok
    assert (
        "Access denied" in checks["database server"].detail
        or "refused" in checks["database server"].detail
    )
