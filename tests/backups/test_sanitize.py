"""A sanitized dump for local development (issue 21.2): sanitize.sh loads a verified backup
into a scratch database in the cluster, runs the site's rules and uploads only the result.
Proven with the real MariaDB: no original e-mail or hash survives in the dump, and the
site's tables and row counts do."""

from __future__ import annotations

import gzip
import urllib.request

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from clusters.models import Operation
from controlpanel.integrations.tokens import token_create
from sites.local import services as local
from sites.local.models import SanitizedDump
from sites.models import Backup
from tests.backups.helpers import sql
from tests.backups.test_round_trip import backed_up, provisioned
from tests.engine import drain

S = Operation.Status
EMAILS = ["alice.liddell@acme.test", "bob.builder@acme.test"]
HASHES = ["$S$EabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012", "$S$Ezyxwvutsrqponmlk"]


USERS = (
    "(0, '', NULL, NULL, NULL), "
    f"(1, 'alice', '{EMAILS[0]}', '{EMAILS[0]}', '{HASHES[0]}'), "
    f"(2, 'bob', '{EMAILS[1]}', '{EMAILS[1]}', '{HASHES[1]}')"
)


def seed_drupal(record) -> None:
    sql(
        record,
        "CREATE TABLE users_field_data (uid INT PRIMARY KEY, name VARCHAR(60) NOT NULL, "
        "mail VARCHAR(254), init VARCHAR(254), pass VARCHAR(255))",
        "INSERT INTO users_field_data VALUES " + USERS,  # noqa: S608 - test data
        "CREATE TABLE node_field_data (nid INT PRIMARY KEY, title VARCHAR(255))",
        "INSERT INTO node_field_data VALUES (1, 'Welcome'), (2, 'About us'), (3, 'Contact')",
    )


def row_counts(server, database: str) -> dict[str, int]:
    counts = {}
    with server.connect(database) as cursor:
        for table in server.tables(database):
            cursor.execute(f"SELECT COUNT(*) FROM `{table}`")  # noqa: S608 - test tables
            counts[table] = cursor.fetchone()[0]
    return counts


def sanitized(actor, backup) -> SanitizedDump:
    dump = local.backup_sanitize(actor=actor, backup=backup)
    drain()
    dump.refresh_from_db()
    return dump


def test_a_developer_gets_a_dump_without_personal_data_and_with_every_row(
    data_env, owner, developer, mariadb, unique
):
    record = provisioned(data_env, owner)
    seed_drupal(record)
    before = row_counts(mariadb, record.name)
    backup = backed_up(data_env, owner)

    dump = sanitized(developer, backup)

    assert dump.status == SanitizedDump.Status.SUCCEEDED, dump.error
    assert dump.key.startswith(backup.key_prefix + "sanitized/")
    assert dump.tables == 2 and dump.size > 0
    # Through the API, as a developer would fetch it: a short-lived link.
    api = APIClient()
    _, token = token_create(actor=developer, name="laptop", scopes=["read", "deploy"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = api.get(f"/api/v1/backups/{backup.pk}/sanitized/").json()
    assert body["dump"]["id"] == dump.pk and body["expires_in"] > 0
    with urllib.request.urlopen(body["url"]) as response:  # noqa: S310 - the test's S3
        text = gzip.decompress(response.read()).decode()

    for secret in EMAILS + HASHES + ["'alice'", "'bob'"]:
        assert secret not in text
    assert "user1@example.invalid" in text
    # Loaded into a fresh database: the same tables with the same row counts.
    scratch = f"laptop_{unique}"
    mariadb.database_create(name=scratch, user=f"lap_{unique}")
    with mariadb.connect(scratch) as cursor:
        for statement in text.split(";\n"):
            if statement.strip():
                cursor.execute(statement)
    assert row_counts(mariadb, scratch) == before
    with mariadb.connect(scratch) as cursor:
        cursor.execute("SELECT uid, name, mail, pass FROM users_field_data ORDER BY uid")
        assert cursor.fetchall() == (
            (0, "", None, None),
            (1, "user1", "user1@example.invalid", None),
            (2, "user2", "user2@example.invalid", None),
        )
    # The raw data is untouched and no scratch database or user is left behind.
    assert sql(record, "SELECT mail FROM users_field_data WHERE uid = 1") == [(EMAILS[0],)]
    with mariadb.connect() as cursor:
        cursor.execute("SHOW DATABASES LIKE 'hangar_sanitize_%'")
        assert cursor.fetchall() == ()
        cursor.execute("SELECT user FROM mysql.user WHERE user LIKE 'hangar_sz_%'")
        assert cursor.fetchall() == ()


def test_rules_that_fail_fail_the_dump_with_the_servers_reason(data_env, owner, mariadb):
    record = provisioned(data_env, owner)
    sql(record, "CREATE TABLE node (nid INT PRIMARY KEY)")
    backup = backed_up(data_env, owner)  # a site of kind Drupal, without its users table

    dump = sanitized(owner, backup)

    assert dump.status == SanitizedDump.Status.FAILED
    assert "users_field_data" in dump.error and "doesn't exist" in dump.error
    op = Operation.objects.get(pk=dump.operation_id)
    assert op.status == S.FAILED
    with pytest.raises(ValidationError) as caught:
        local.sanitized_download(actor=owner, backup=backup)
    assert "no sanitized dump yet" in str(caught.value)


def test_rules_are_validated_and_only_owners_change_them(site, owner, developer):
    with pytest.raises(ValidationError) as caught:
        local.site_sanitize_rules_set(
            actor=owner, site=site, sanitize_sql="UPDATE otherdb.users SET mail = '';"
        )
    assert "sanitize_sql" in caught.value.message_dict
    assert "with its database" in caught.value.message_dict["sanitize_sql"][0]
    site.refresh_from_db()
    assert site.sanitize_sql == ""
    assert "users_field_data" in local.site_sanitize_rules(site)

    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        local.site_sanitize_rules_set(actor=developer, site=site, sanitize_sql="DELETE FROM cache;")
    local.site_sanitize_rules_set(actor=owner, site=site, sanitize_sql="DELETE FROM cache;")
    site.refresh_from_db()
    assert local.site_sanitize_rules(site) == "DELETE FROM cache;"


def test_only_a_verified_backup_is_sanitized(data_env, owner):
    provisioned(data_env, owner)
    backup = backed_up(data_env, owner)
    Backup.objects.filter(pk=backup.pk).update(status=Backup.Status.FAILED)
    backup.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        local.backup_sanitize(actor=owner, backup=backup)
    assert caught.value.message_dict == {"backup": ["Only a verified backup can be sanitized."]}
    assert not SanitizedDump.objects.exists()


def test_the_files_script_fetches_every_file_with_links_of_its_own(
    data_env, owner, developer, bucket, s3, tmp_path
):
    import subprocess

    record = provisioned(data_env, owner)
    s3.put_object(Bucket=bucket, Key=record.files_prefix + "images/logo.png", Body=b"\x89PNG")
    s3.put_object(Bucket=bucket, Key=record.files_prefix + "a b/it's.txt", Body=b"quoted")
    api = APIClient()
    _, token = token_create(actor=developer, name="laptop", scopes=["read", "deploy"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = api.get(f"/api/v1/environments/{data_env.pk}/files.sh")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/x-shellscript")
    script = tmp_path / "files.sh"
    script.write_bytes(response.content)
    assert "hangar-test-secret" not in response.content.decode()  # presigned, no keys
    done = subprocess.run(  # noqa: S603 - the script under test, as a developer runs it
        ["/bin/sh", str(script)], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "2 files in files/" in done.stdout
    assert (tmp_path / "files/images/logo.png").read_bytes() == b"\x89PNG"
    assert (tmp_path / "files/a b/it's.txt").read_bytes() == b"quoted"


def test_the_api_queues_the_sanitize_operation(data_env, owner, developer):
    provisioned(data_env, owner)
    backup = backed_up(data_env, owner)
    api = APIClient()
    _, token = token_create(actor=developer, name="laptop", scopes=["read", "deploy"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = api.post(f"/api/v1/backups/{backup.pk}/sanitize/")

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending" and body["operation"]
    assert response["Location"].endswith(f"/operations/{body['operation']}/")
    assert "users_field_data" in body["sanitize_sql"]
