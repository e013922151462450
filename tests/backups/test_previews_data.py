"""A preview starts with a copy of staging's data (issue 22): its creation restores the
latest verified backup of staging into it, sanitized with the site's rules, with the real
MariaDB and S3 API server, and its deletion drops its data without a final backup."""

from __future__ import annotations

from rest_framework.test import APIClient

from clusters.models import Operation
from controlpanel.integrations.tokens import preview_token_create
from sites.local.services import site_sanitize_rules_set
from sites.models import Backup, Environment, EnvironmentDatabase
from sites.previews.services import preview_settings_set
from tests.backups.helpers import seed, sql
from tests.backups.test_round_trip import backed_up, provisioned
from tests.engine import drain


def ci_creates_a_preview(site, owner, *, branch: str, tag: str) -> tuple[APIClient, str]:
    """Previews with staging's data enabled, then CI's request for `branch`'s preview, run
    to the end. Returns CI's API client and the preview's URL."""
    preview_settings_set(
        actor=owner,
        site=site,
        enabled=True,
        data_source="staging",
        host_pattern="{branch}.preview.example.com",
    )
    _, token = preview_token_create(actor=owner, site=site, name="ci")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    url = f"/api/v1/sites/{site.pk}/previews/{branch}/"
    created = api.put(url, {"image": f"registry.example.com/acme/web:{tag}"}, format="json")
    assert created.status_code == 202, created.json()
    drain(timeout=120)
    return api, url


def test_a_preview_gets_stagings_latest_verified_backup_and_leaves_no_backup(
    staging_env, site, owner, mariadb, s3, bucket, unique
):
    record = provisioned(staging_env, owner)
    seed(record)
    s3.put_object(Bucket=bucket, Key=record.files_prefix + "logo.png", Body=b"\x89PNG")
    backed_up(staging_env, owner)
    expected = mariadb.table_checksums(record.name)
    site_sanitize_rules_set(
        actor=owner,
        site=site,
        sanitize_sql="UPDATE users SET name = CONCAT('user', uid), pass = NULL;",
    )
    api, url = ci_creates_a_preview(site, owner, branch=f"feature/{unique}", tag="pr-7")
    preview = Environment.objects.get(is_preview=True)
    kinds = list(
        Operation.objects.filter(target_type="environment", target_id=preview.pk)
        .order_by("pk")
        .values_list("kind", "status")
    )
    assert kinds == [
        ("environment.provision", "succeeded"),
        ("backup.restore", "succeeded"),
        ("environment.deploy", "succeeded"),
    ], [o.error for o in Operation.objects.filter(target_id=preview.pk)]
    copy = EnvironmentDatabase.objects.get(environment=preview)
    assert copy.name != record.name
    copied = mariadb.table_checksums(copy.name)
    assert copied.keys() == expected.keys()
    assert {k: v for k, v in copied.items() if k != "users"} == {
        k: v for k, v in expected.items() if k != "users"
    }
    assert copied["users"] != expected["users"]  # the site's rules ran on the copy only
    assert sql(copy, "SELECT uid, name, pass FROM users ORDER BY uid") == [
        (1, "user1", None),
        (2, "user2", None),
    ]
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=copy.files_prefix)["Contents"]
    files = [o["Key"] for o in listing]
    assert files == [copy.files_prefix + "logo.png"]
    assert not Backup.objects.filter(kind=Backup.Kind.PRE_RESTORE).exists()

    assert api.delete(url).status_code == 202
    drain(timeout=120)
    assert not Environment.objects.filter(is_preview=True).exists()
    assert not Backup.objects.filter(kind=Backup.Kind.PRE_DESTROY).exists()
    assert not mariadb.table_checksums(copy.name)  # dropped with the preview
    assert mariadb.table_checksums(record.name) == expected  # staging untouched


def test_a_preview_whose_data_copy_fails_is_not_deployed_and_shows_failed(
    staging_env, site, owner, mariadb, s3, bucket, unique, client
):
    record = provisioned(staging_env, owner)
    seed(record)
    backup = backed_up(staging_env, owner)
    # The dump changed in storage since it was verified: the restore refuses it.
    s3.put_object(Bucket=bucket, Key=backup.database_key, Body=b"not the verified dump")
    ci_creates_a_preview(site, owner, branch=f"feature/{unique}", tag="pr-8")
    preview = Environment.objects.get(is_preview=True)
    operations = {
        o.kind: o for o in Operation.objects.filter(target_type="environment", target_id=preview.pk)
    }
    restore, deploy = operations["backup.restore"], operations["environment.deploy"]
    assert restore.status == "failed"
    assert deploy.status == "cancelled", deploy.error
    assert f"restore #{restore.pk}" in deploy.error
    assert "no longer usable" in deploy.error  # the restore's own reason
    assert deploy.started_at is None  # never reached the cluster
    preview.refresh_from_db()
    assert preview.status == Environment.Status.FAILED
    assert preview.image == ""
    assert preview.releases.get().status == "cancelled"

    client.force_login(owner)
    page = client.get(f"/sites/{site.pk}/previews/").content.decode()
    row = page.split(f'data-branch="feature/{unique}"')[1].split("</tr>")[0]
    assert "Failed" in row
    assert "Active" not in row
    shown = client.get(f"/operations/{deploy.pk}/").content.decode()
    assert f"restore #{restore.pk}" in shown
