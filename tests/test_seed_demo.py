"""`manage.py seed_demo`: the demo a newcomer signs in to."""

from __future__ import annotations

import io
import shutil

import pytest
from django.core.management import call_command

from billing.models import NodePrice
from clusters.models import Cluster, Operation
from controlpanel.core.models import Client, Membership, User
from sites.models import Environment, Site
from tests.backups.conftest import s3, s3_server  # noqa: F401 - the S3 API server


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_is_complete_and_idempotent(client):
    output = seed()
    counts = [Model.objects.count() for Model in (Client, User, Site, Environment, NodePrice)]
    seed()
    assert [
        Model.objects.count() for Model in (Client, User, Site, Environment, NodePrice)
    ] == counts

    assert Client.objects.count() == 3
    # Every environment is queued for provisioning on the sandbox, once.
    assert (
        Operation.objects.filter(kind="environment.provision").count()
        == Environment.objects.count()
    )
    assert set(Site.objects.values_list("kind", flat=True)) == {
        "drupal",
        "wordpress",
        "php",
        "static",
    }
    assert set(Environment.objects.values_list("slug", flat=True)) == {
        "dev",
        "staging",
        "production",
    }
    assert Cluster.objects.get(slug="sandbox").is_sandbox
    assert {str(p.monthly_price) for p in NodePrice.objects.all()} >= {"12.00", "24.00", "96.00"}
    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == {"owner", "developer", "viewer"}
    assert set(User.objects.exclude(staff_role="").values_list("staff_role", flat=True)) == {
        "admin",
        "operator",
        "billing",
    }

    # The printed logins work.
    assert "owner@acme.test" in output and "hangar-demo-password" in output
    assert client.login(username="owner@acme.test", password="hangar-demo-password")
    page = client.get("/").content.decode()
    assert "acme-www-production" in page and "globex" not in page


# --- Backups in the demo: the sandbox cluster provisions data only when it can for real ---


@pytest.fixture
def demo_storage(request) -> str:
    """The S3 API server (the backup tests'), with the demo's bucket; its URL."""
    from controlpanel.demo_storage import DEMO_BUCKET

    client = request.getfixturevalue("s3")
    client.create_bucket(Bucket=DEMO_BUCKET)
    yield request.getfixturevalue("s3_server")
    client.delete_bucket(Bucket=DEMO_BUCKET)  # seed_demo only looks at it


def _mariadb_url(settings) -> str:
    server = settings.TEST_MARIADB
    user = f"{server['admin_user']}:{server['admin_password']}"
    return f"mysql://{user}@{server['host']}:{server['port']}"


@pytest.mark.django_db
def test_with_mariadb_and_the_s3_server_the_sandbox_provisions_data(settings, demo_storage):
    settings.HANGAR_DEMO_S3_URL = demo_storage
    settings.HANGAR_DEMO_MARIADB_URL = _mariadb_url(settings)
    output = seed()
    sandbox = Cluster.objects.get(slug="sandbox")
    assert sandbox.provision_data
    assert (sandbox.db_host, sandbox.db_port) == (
        settings.TEST_MARIADB["host"],
        settings.TEST_MARIADB["port"],
    )
    assert (sandbox.storage_endpoint, sandbox.storage_bucket) == (demo_storage, "hangar-demo")
    assert "Backups are on" in output


@pytest.mark.django_db
def test_without_what_backups_need_the_demo_goes_without_and_says_why(
    settings, demo_storage, monkeypatch, tmp_path
):
    settings.HANGAR_DEMO_S3_URL = ""
    output = seed()
    assert not Cluster.objects.get(slug="sandbox").provision_data
    assert "Backups are off in this demo: no S3 API server" in output

    settings.HANGAR_DEMO_S3_URL = demo_storage
    settings.HANGAR_DEMO_MARIADB_URL = "mysql://root@127.0.0.1:1"
    output = seed()
    assert not Cluster.objects.get(slug="sandbox").provision_data
    assert "Backups are off in this demo: no MariaDB at 127.0.0.1:1" in output

    # A machine without rclone: the backup Jobs, run here, could not work.
    settings.HANGAR_DEMO_MARIADB_URL = _mariadb_url(settings)
    for tool in ("mariadb-dump", "mariadb", "gzip", "sha256sum"):
        (tmp_path / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(tmp_path))
    output = seed()
    assert not Cluster.objects.get(slug="sandbox").provision_data
    assert "Backups are off in this demo: rclone not installed" in output
