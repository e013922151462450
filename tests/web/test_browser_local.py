"""Run locally in the browser (Playwright driving Debian's Chromium, as tests/web/
test_browser.py does): a developer downloads the compose project and follows the link to
the sanitized dump, which leads to a short-lived signed URL of that dump alone."""

from __future__ import annotations

import os
import zipfile

import pytest

from sites.local.models import SanitizedDump
from sites.models import Environment
from tests import factories as f
from tests.web.test_browser import (  # noqa: F401 - browser and page are fixtures
    CHROMIUM,
    browser,
    page,
    sign_in,
)

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"
)


def test_a_developer_downloads_the_compose_project_and_the_sanitized_dump_link(
    page,  # noqa: F811 - the fixture
    developer,
    site,
):
    cluster = f.ClusterFactory(
        slug="stor",
        provision_data=True,
        storage_endpoint="http://127.0.0.1:9",  # signing a link asks no server
        storage_region="us-east-1",
        storage_bucket="acme-backups",
        storage_access_key="AKIDEXAMPLE",
        storage_secret_key="secret-example",
        storage_addressing_style="path",
    )
    environment = f.EnvironmentFactory(
        site=site,
        cluster=cluster,
        slug="production",
        image="registry.example.com/acme/web:1.0@sha256:" + "ab" * 32,
        status=Environment.Status.ACTIVE,
    )
    backup = f.BackupFactory(environment=environment)
    dump = SanitizedDump.objects.create(
        backup=backup,
        status=SanitizedDump.Status.SUCCEEDED,
        key=backup.key_prefix + "sanitized/1.sql.gz",
        size=2048,
        tables=42,
    )
    sign_in(page, developer.email)
    page.goto(f"/environments/{environment.pk}/local/")

    with page.expect_download() as project:
        page.get_by_role("link", name=f"Download {environment.namespace}.zip").click()
    names = zipfile.ZipFile(project.value.path()).namelist()
    assert f"{environment.namespace}/compose.yaml" in names

    assert page.locator("#sanitized-dump").get_attribute("data-status") == "succeeded"
    assert "42 tables" in page.locator("#sanitized-dump").inner_text()
    link = page.get_by_role("link", name="Download the sanitized dump")
    answer = page.request.get(link.get_attribute("href"), max_redirects=0)
    assert answer.status == 302
    target = answer.headers["location"]
    assert target.startswith(f"http://127.0.0.1:9/acme-backups/{dump.key}?")
    assert "X-Amz-Signature=" in target and "X-Amz-Expires=" in target
    # Owners change the rules; a developer reads them.
    assert page.locator("textarea#id_sanitize_sql").count() == 0
    assert "UPDATE users_field_data" in page.locator("pre").last.inner_text()
