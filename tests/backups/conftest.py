"""Real parts for backup tests: an S3 API server (moto, over HTTP, on a free loopback port),
the MariaDB server of settings.TEST_MARIADB (127.0.0.1:3306 unless tests/services.py
started one), and a sandbox cluster that runs tool Jobs (backup.sh,
restore.sh) as local processes.

Every test gets its own bucket and its own environment slug, so its databases
(acme_www_{slug}) and users are its own; they are dropped when it ends.
"""

from __future__ import annotations

import logging
import re
import uuid

import boto3
import pytest
import yaml
from django.conf import settings

from clusters.dbserver import DatabaseServer, DatabaseServerError
from clusters.storage import ObjectStorage
from tests import factories as f

MARIADB = settings.TEST_MARIADB
S3_KEYS = {"aws_access_key_id": "hangar-test", "aws_secret_access_key": "hangar-test-secret"}


@pytest.fixture(autouse=True)
def _no_heartbeat_across_the_test_transaction(settings):
    """These tests run in a transaction, and the heartbeat thread beats on a connection of
    its own that cannot see the operation row: its first beat (after
    HANGAR_HEARTBEAT_SECONDS) finds "no claim" and stops the run. Backups and restores
    that run the real scripts take longer than that on a busy machine."""
    settings.HANGAR_HEARTBEAT_SECONDS = 3600.0


@pytest.fixture(scope="session")
def s3_server():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def rgw_empty_etag(s3_server, monkeypatch):
    """The S3 server answers CompleteMultipartUpload with an empty ETag, as Ceph RGW 16.2
    does (its HEAD and GET carry the right one)."""
    from moto.s3.responses import S3Response

    original = S3Response._key_response_post

    def answer(self, request, body, bucket_name, query, key_name):
        status, headers, payload = original(self, request, body, bucket_name, query, key_name)
        if query.get("uploadId") and isinstance(payload, str | bytes):
            text = payload.decode() if isinstance(payload, bytes) else payload
            payload = re.sub(r"<ETag>[^<]*</ETag>", "<ETag></ETag>", text)
        return status, headers, payload

    monkeypatch.setattr(S3Response, "_key_response_post", answer)


@pytest.fixture
def s3(s3_server):
    """boto3 on the S3 server, as an operator's own tools would see the bucket."""
    return boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", **S3_KEYS)


@pytest.fixture
def bucket(s3):
    name = f"hangar-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    # moto answers CompleteMultipartUpload on an unversioned bucket with the version id
    # "null" and then refuses a HEAD for it, which rclone does after a streamed upload;
    # real S3, Spaces and MinIO do not. A versioned bucket sidesteps that moto quirk.
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    yield name
    versions = s3.list_object_versions(Bucket=name)
    for item in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
        s3.delete_object(Bucket=name, Key=item["Key"], VersionId=item["VersionId"])
    s3.delete_bucket(Bucket=name)


@pytest.fixture(scope="session")
def mariadb():
    server = DatabaseServer(**MARIADB)
    try:
        server.version()
    except DatabaseServerError as exc:  # pragma: no cover - the machine's setup
        pytest.fail(f"MariaDB is needed at HANGAR_TEST_MARIADB_URL (an admin): {exc}")
    return server


@pytest.fixture
def unique():
    return f"t{uuid.uuid4().hex[:7]}"


@pytest.fixture
def tool_sandbox_token():
    """The sandbox's bearer token (the secret-scan tests use one they can look for)."""
    return "backup-test"


@pytest.fixture
def tool_sandbox(tool_sandbox_token):
    from clusters.sandbox import SandboxCluster

    with SandboxCluster(
        token=tool_sandbox_token,
        rollout_delay=0.05,
        job_duration=0.05,
        namespace_deletion_delay=0.1,
        execute_tool_jobs=True,
    ) as sandbox:
        yield sandbox


@pytest.fixture
def data_cluster(db, tool_sandbox, s3_server, bucket, mariadb):
    """A cluster (the sandbox) that provisions databases on MariaDB and prefixes in S3."""
    from clusters.kube.transport import forget_client

    cluster = f.ClusterFactory(
        slug=f"data-{uuid.uuid4().hex[:6]}",
        name="Data sandbox",
        api_url=tool_sandbox.url,
        is_sandbox=True,
        kubeconfig=yaml.safe_dump(tool_sandbox.kubeconfig()),
        provision_data=True,
        db_host=MARIADB["host"],
        db_port=MARIADB["port"],
        db_admin_user=MARIADB["admin_user"],
        db_admin_password=MARIADB["admin_password"],
        storage_endpoint=s3_server,
        storage_region="us-east-1",
        storage_bucket=bucket,
        storage_access_key=S3_KEYS["aws_access_key_id"],
        storage_secret_key=S3_KEYS["aws_secret_access_key"],
        storage_addressing_style="path",
    )
    yield cluster
    forget_client(cluster.pk)


@pytest.fixture
def storage(data_cluster):
    return ObjectStorage.for_cluster(data_cluster)


def _drop_test_databases(server: DatabaseServer, token: str) -> None:
    with server.connect() as cursor:
        cursor.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s",
            (f"%{token}%",),
        )
        names = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT user FROM mysql.user WHERE user LIKE %s", (f"%{token[:6]}%",))
        users = [row[0] for row in cursor.fetchall()]
    for name in names:
        server.database_drop(name=name)
    for user in users:
        with server.connect() as cursor:
            cursor.execute("DROP USER IF EXISTS %s@'%%'", (user,))


@pytest.fixture
def data_env(site, data_cluster, mariadb, unique):
    """A production environment on the data cluster, with an image, not yet provisioned.
    Its slug is unique to the test, and so are its database and user."""
    environment = f.EnvironmentFactory(
        site=site,
        cluster=data_cluster,
        slug=f"prod{unique}",
        name="Production",
        tier="production",
        image="registry.example.com/acme/web:1.0.0",
        replicas=1,
    )
    yield environment
    _drop_test_databases(mariadb, unique)


@pytest.fixture
def staging_env(site, data_cluster, mariadb, unique):
    environment = f.EnvironmentFactory(
        site=site,
        cluster=data_cluster,
        slug=f"stag{unique}",
        name="Staging",
        tier="staging",
        image="registry.example.com/acme/web:1.0.0",
        replicas=1,
    )
    yield environment
    _drop_test_databases(mariadb, unique)


@pytest.fixture
def live_kube_for():
    """Reads a cluster over HTTP, to compare with what Hangar would apply."""
    from clusters.kube.client import KubeClient

    return lambda cluster: KubeClient.for_cluster(cluster, skip_unchanged=False)


def backup_in_bucket(backup, s3_server: str, s3, bucket: str):
    """`backup`'s objects stored in `bucket` on the S3 API server, its cluster pointed there:
    a backup that can really be downloaded (the link is handed out only for an object that
    exists)."""
    from sites.backups.services import DOWNLOADS

    cluster = backup.cluster
    cluster.storage_endpoint = s3_server
    cluster.storage_region = "us-east-1"
    cluster.storage_bucket = bucket
    cluster.storage_access_key = S3_KEYS["aws_access_key_id"]
    cluster.storage_secret_key = S3_KEYS["aws_secret_access_key"]
    cluster.storage_addressing_style = "path"
    cluster.save()
    for name in DOWNLOADS.values():
        s3.put_object(Bucket=bucket, Key=backup.key_prefix + name, Body=b"backup")
    return backup
