"""Previews in the browser (Playwright driving Debian's Chromium, as tests/web/test_browser.py
does): the owner enables previews and sees their estimate, CI makes a preview with the
site's token, and the site's previews page shows it with its URL and image."""

from __future__ import annotations

import os
import re

import pytest
from rest_framework.test import APIClient

from controlpanel.integrations.tokens import preview_token_create
from sites.models import Environment
from tests.engine import drain
from tests.web.test_browser import (  # noqa: F401 - browser, page and priced_pool are fixtures
    CHROMIUM,
    browser,
    page,
    priced_pool,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"
)
DIGEST = "sha256:" + "5e" * 32


@pytest.mark.django_db(transaction=True)
def test_an_owner_enables_previews_and_sees_cis_preview_on_the_site_page(
    page,  # noqa: F811
    owner,
    site,
    live_environment,
    priced_pool,  # noqa: F811
):
    Environment.objects.filter(pk=live_environment.pk).update(node_pool=priced_pool)
    sign_in(page, owner.email)
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_role("link", name="Previews", exact=True).click()
    page.wait_for_url(re.compile(r"/sites/\d+/previews/$"))
    page.get_by_text("Previews are not enabled for this site.").wait_for()

    page.get_by_label("Previews alive at once").fill("3")
    page.get_by_label("Data").select_option("empty")
    page.get_by_label("Host names").fill("{branch}.preview.example.com")
    page.get_by_role("button", name="Save preview settings").click()
    estimate = page.get_by_test_id("preview-estimate")
    estimate.wait_for()
    assert "3 previews alive at once" in estimate.inner_text()
    assert re.search(r"At most [\d,.]+ USD a month", estimate.inner_text())

    # What the pipeline does, with the site's CI token.
    _, token = preview_token_create(actor=owner, site=site, name="GitHub Actions")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.put(
        f"/api/v1/sites/{site.pk}/previews/feature/checkout/",
        {"image": f"registry.example.com/acme/web:pr-42@{DIGEST}"},
        format="json",
    )
    assert response.status_code == 202, response.json()
    drain()
    url = response.json()["url"]

    page.reload()
    row = page.get_by_role("row", name=re.compile(r"feature.checkout"))
    row.wait_for()
    assert row.get_by_role("link", name=url).get_attribute("href") == url
    assert "registry.example.com/acme/web:pr-42@sha256:5e5e5e5e5e5e…" in row.inner_text()
    assert "Active" in row.inner_text()
    screenshot(page, "previews.png")
