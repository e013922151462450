"""The database server and object storage adapters against the real servers."""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request

import pymysql
import pytest

from clusters.dbserver import DatabaseServer, DatabaseServerError, DatabaseServerUnreachable
from clusters.storage import ObjectStorage, StorageError, StorageNotFound
from tests.backups.conftest import MARIADB, S3_KEYS
from tests.backups.helpers import MARIADB as CONNECT


@pytest.fixture
def names(mariadb, unique):
    yield f"hangar_{unique}_a", f"hangar_{unique}_b", f"u_{unique}"
    for name in (f"hangar_{unique}_a", f"hangar_{unique}_b"):
        mariadb.database_drop(name=name)
    mariadb.database_drop(name=f"hangar_{unique}_a", user=f"u_{unique}")


def test_a_database_and_a_user_with_privileges_on_it_alone(mariadb, names):
    mine, other, user = names
    creds = mariadb.database_create(name=mine, user=user)
    mariadb.database_create(name=other, user=f"{user}x")
    assert creds.name == mine and len(creds.password) >= 32
    connection = pymysql.connect(**CONNECT, user=user, password=creds.password, database=mine)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE t (a INT)")
        cursor.execute("SHOW GRANTS")
        grants = " ".join(row[0] for row in cursor.fetchall())
    connection.close()
    assert f"`{mine}`" in grants and "ON *.*" not in grants.replace("USAGE ON *.*", "")
    with pytest.raises(pymysql.err.OperationalError, match="denied"):
        pymysql.connect(**CONNECT, user=user, password=creds.password, database=other)
    mariadb.database_drop(name=other, user=f"{user}x")

    # Repeating keeps the database and sets the given password; rotating changes it.
    again = mariadb.database_create(name=mine, user=user, password=creds.password)
    assert mariadb.tables(mine) == ["t"] and again.password == creds.password
    new = mariadb.password_rotate(user=user)
    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(**CONNECT, user=user, password=creds.password, database=mine)
    pymysql.connect(**CONNECT, user=user, password=new, database=mine).close()

    mariadb.database_drop(name=mine, user=user)
    mariadb.database_drop(name=mine, user=user)  # gone already: fine
    assert not mariadb.database_exists(mine) and not mariadb.user_exists(user)


def test_names_are_checked_before_they_reach_sql(mariadb):
    for bad in ("", "a-b", "a`; DROP DATABASE mysql; --", "A" * 10, "x" * 65):
        with pytest.raises(DatabaseServerError, match="must be 1-"):
            mariadb.database_create(name=bad, user="someone")


def test_database_server_errors_say_what_to_fix(unique):
    closed = DatabaseServer(host="127.0.0.1", port=1, admin_user="root", connect_timeout=1)
    with pytest.raises(DatabaseServerUnreachable, match=r"127\.0\.0\.1:1 is unreachable"):
        closed.version()
    wrong = DatabaseServer(**{**MARIADB, "admin_user": f"nobody_{unique}", "admin_password": "x"})
    with pytest.raises(DatabaseServerError, match=r"refused nobody_.*admin user and password"):
        wrong.version()


def test_listing_heads_copies_and_deletes(storage):
    for key, body in {"a/1.txt": b"one", "a/sub/2.txt": b"two!", "b/3.txt": b"x"}.items():
        storage.put_bytes(key, body)
    assert [(o.key, o.size) for o in storage.list("a/")] == [("a/1.txt", 3), ("a/sub/2.txt", 4)]
    assert storage.folders("a/") == ["a/sub/"]
    assert storage.head("a/1.txt").size == 3 and storage.head("nope") is None
    assert storage.copy_prefix("a/", "c/") == 2
    assert storage.get_bytes("c/sub/2.txt") == b"two!"
    assert storage.delete_prefix("c/") == 2 and list(storage.list("c/")) == []
    with pytest.raises(StorageError, match="whole bucket"):
        storage.delete_prefix("/")
    with pytest.raises(StorageNotFound):
        storage.get_bytes("nope")


def test_a_multipart_upload_of_a_stream(storage):
    data = os.urandom(11 * 1024 * 1024 + 5)
    info = storage.upload_stream("big/blob", io.BytesIO(data), part_size=5 * 1024 * 1024)
    assert info.size == len(data)
    assert info.etag.endswith("-3")  # three parts
    assert storage.sha256("big/blob") == (hashlib.sha256(data).hexdigest(), len(data))


def test_a_multipart_upload_is_checked_on_the_object_not_on_an_empty_etag(
    storage, rgw_empty_etag, s3, bucket
):
    data = os.urandom(6 * 1024 * 1024)
    completed = s3.create_multipart_upload(Bucket=bucket, Key="probe")
    part = s3.upload_part(
        Bucket=bucket, Key="probe", UploadId=completed["UploadId"], PartNumber=1, Body=data
    )
    answer = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="probe",
        UploadId=completed["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    assert answer.get("ETag", "") == ""  # the server answers as RGW 16.2 does

    info = storage.upload_stream("big/blob", io.BytesIO(data), part_size=5 * 1024 * 1024)
    md5 = lambda b: hashlib.md5(b, usedforsecurity=False)  # noqa: E731 - S3's ETag
    parts = [md5(data[:5242880]).digest(), md5(data[5242880:]).digest()]
    assert info.etag == md5(b"".join(parts)).hexdigest() + "-2"
    assert info.size == len(data)


def test_a_presigned_link_reads_one_object_for_a_short_while(storage):
    storage.put_bytes("dl/db.sql.gz", b"dump")
    url = storage.presigned_get("dl/db.sql.gz", expires=86400, filename="x.sql.gz")
    assert "X-Amz-Expires=3600" in url  # capped at an hour
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - the test's S3
        assert answer.read() == b"dump"
        assert 'filename="x.sql.gz"' in answer.headers["Content-Disposition"]


def test_storage_errors_say_what_to_fix(s3_server):
    missing = ObjectStorage(
        endpoint=s3_server,
        bucket="no-such-bucket-here",
        access_key=S3_KEYS["aws_access_key_id"],
        secret_key=S3_KEYS["aws_secret_access_key"],
        addressing_style="path",
    )
    with pytest.raises(StorageError, match="bucket no-such-bucket-here does not exist"):
        list(missing.list("x/"))


def test_addressing_style_follows_the_cluster(data_cluster):
    assert ObjectStorage.for_cluster(data_cluster).client.meta.config.s3 == {
        "addressing_style": "path"
    }
    data_cluster.storage_addressing_style = ""
    assert ObjectStorage.for_cluster(data_cluster).client.meta.config.s3 == {
        "addressing_style": "virtual"
    }
