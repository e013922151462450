"""A site's previews page (issue 22): each preview with its branch, image and digest, age,
URL and cost so far (billed like any environment); the owner's settings show what
max_alive previews would cost at most, from the estimate helpers."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.estimates import estimate_environment_add
from billing.sampling import usage_rollup, usage_sample
from sites.models import Environment, Release
from sites.previews.services import preview_deploy, preview_settings_set
from tests import factories as f
from tests.billing.conftest import price, size_4vcpu

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def shared_pool(cluster):
    size = size_4vcpu()
    price(size, "48.00", effective_from=datetime.date(2020, 1, 1))
    return f.NodePoolFactory(cluster=cluster, size=size, count=4, dedicated_client=None)


@pytest.fixture
def preview(settings, owner, site, environment, shared_pool):
    settings.TIME_ZONE = "UTC"
    settings.HANGAR_BILLING_SAMPLE_SECONDS = 86400
    preview_settings_set(
        actor=owner,
        site=site,
        enabled=True,
        node_pool=shared_pool,
        max_alive=3,
        data_source="empty",
        host_pattern="{branch}.preview.example.com",
    )
    created, _, _ = preview_deploy(
        actor=owner,
        site=site,
        branch="feature/search",
        image=f"registry.example.com/acme/web:pr-12@{DIGEST}",
    )
    # It ran for two days, as the engine and the billing sampler would have seen it.
    two_days_ago = timezone.now() - datetime.timedelta(days=2)
    Environment.objects.filter(pk=created.pk).update(
        status=Environment.Status.ACTIVE,
        created_at=two_days_ago - datetime.timedelta(hours=1),
        image=f"registry.example.com/acme/web:pr-12@{DIGEST}",
    )
    Release.objects.filter(environment=created).update(status=Release.Status.SUCCEEDED)
    for days in (2, 1):
        moment = timezone.now() - datetime.timedelta(days=days)
        usage_sample(at=moment, readings={})
        usage_rollup(day=moment.date())
    return Environment.objects.get(pk=created.pk)


def test_the_owner_sees_the_preview_its_cost_and_the_estimate(
    client, owner, site, preview, shared_pool
):
    client.force_login(owner)
    page = client.get(f"/sites/{site.pk}/previews/").content.decode()
    assert "feature/search" in page and preview.namespace in page
    assert "registry.example.com/acme/web:pr-12@sha256:abababababab…" in page
    host = preview.domains.get().hostname
    assert f"https://{host}/" in page and host.startswith("feature-search-")
    assert "2\xa0days" in page  # its age
    row = page[page.index('data-branch="feature/search"') :].split("</tr>")[0]
    cost = row.rsplit('class="text-end money">', 1)[1].split("<")[0]
    assert cost.endswith(" USD") and Decimal(cost.split()[0]) > 0

    one = estimate_environment_add(
        actor=owner, site=site, cluster=shared_pool.cluster, node_pool=shared_pool
    )
    assert one.difference > 0
    estimate = page[page.index('data-testid="preview-estimate"') :].split("</p>")[0]
    assert f"{one.difference * 3:,.2f} USD" in estimate and "3 previews alive" in estimate
    assert "Create a CI token" in page


def test_a_developer_sees_previews_without_costs_or_settings(client, developer, site, preview):
    client.force_login(developer)
    page = client.get(f"/sites/{site.pk}/previews/").content.decode()
    assert "feature/search" in page
    assert "preview-estimate" not in page and "Create a CI token" not in page
    assert "Costs show “—”" in page


def test_another_clients_owner_gets_404(client, other_owner, site, preview):
    client.force_login(other_owner)
    assert client.get(f"/sites/{site.pk}/previews/").status_code == 404


def test_enabling_previews_from_the_page_then_shows_the_estimate(
    client, owner, site, environment, shared_pool
):
    client.force_login(owner)
    url = f"/sites/{site.pk}/previews/"
    assert "preview-estimate" not in client.get(url).content.decode()
    bad = client.post(
        f"{url}settings/",
        {"enabled": "on", "max_alive": 2, "ttl_days": 7, "data_source": "empty",
         "host_pattern": "preview.example.com"},
    )  # fmt: skip
    assert bad.status_code == 400 and "{branch}" in bad.content.decode()
    saved = client.post(
        f"{url}settings/",
        {"enabled": "on", "max_alive": 2, "ttl_days": 7, "data_source": "empty",
         "host_pattern": "{branch}.pr.example.com"},
    )  # fmt: skip
    assert saved.status_code == 302
    page = client.get(url).content.decode()
    assert "2 previews alive at once" in page
    token = client.post(f"{url}tokens/", {"name": "GitHub Actions"}).content.decode()
    assert 'id="new-token">hgr_' in token
