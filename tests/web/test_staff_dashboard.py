"""The staff dashboard: where agency staff land, every client's environments a page at a
time, with filters a person would reach for (client, cluster, environment, site kind,
status, health, a search over names and domains), in a constant number of queries."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db.models import Q

from clusters.models import Operation
from sites.models import Environment, Tier
from tests import factories as f
from tests.web.helpers import sign_in


@pytest.fixture
def fleet(client_a, other_client, cluster):
    """Acme's Drupal site in Amsterdam (production healthy with a domain, staging not
    provisioned), Globex's WordPress shop in Frankfurt (production whose last operation
    failed)."""
    frankfurt = f.ClusterFactory(slug="fra", name="Frankfurt")
    www = f.SiteFactory(client=client_a, slug="www", name="Acme website", kind="drupal")
    shop = f.SiteFactory(client=other_client, slug="shop", name="Globex shop", kind="wordpress")
    active = Environment.Status.ACTIVE
    acme_prod = f.EnvironmentFactory(site=www, cluster=cluster, slug="production", status=active)
    acme_stg = f.EnvironmentFactory(
        site=www, cluster=cluster, slug="staging", name="Staging", tier=Tier.STAGING
    )
    globex = f.EnvironmentFactory(site=shop, cluster=frankfurt, slug="production", status=active)
    f.DomainFactory(environment=acme_prod, hostname="www.acme-shoes.example")
    f.OperationFactory(
        cluster=frankfurt,
        client=other_client,
        target_id=globex.pk,  # type: ignore[attr-defined]
        kind="environment.deploy",
        status=Operation.Status.FAILED,
    )
    return SimpleNamespace(
        acme_prod=acme_prod, acme_stg=acme_stg, globex=globex, frankfurt=frankfurt
    )


def shown(page: str, fleet) -> set[str]:
    names = {"acme_prod": fleet.acme_prod, "acme_stg": fleet.acme_stg, "globex": fleet.globex}
    return {name for name, env in names.items() if env.namespace in page}


def test_staff_land_on_every_clients_environments(client, staff_operator, fleet):
    sign_in(client, staff_operator)
    page = client.get("/").content.decode()
    assert shown(page, fleet) == {"acme_prod", "acme_stg", "globex"}
    assert "3 environments" in page
    assert "Last operation failed" in page and "<td>Frankfurt</td>" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("client={acme}", {"acme_prod", "acme_stg"}),
        ("cluster={frankfurt}", {"globex"}),
        ("tier=staging", {"acme_stg"}),
        ("site_kind=wordpress", {"globex"}),
        ("status=new", {"acme_stg"}),
        ("health=degraded", {"globex"}),
        ("health=healthy", {"acme_prod"}),
        ("health=unknown", {"acme_stg"}),
        ("search=acme-shoes", {"acme_prod"}),
        ("search=GLOBEX", {"globex"}),
        ("search=staging", {"acme_stg"}),
        ("client={acme}&tier=production", {"acme_prod"}),
        ("search=nothing-like-this", set()),
    ],
)
def test_filters_show_only_the_matching_environments(
    query, expected, client, staff_operator, fleet, client_a
):
    sign_in(client, staff_operator)
    url = "/?" + query.format(acme=client_a.pk, frankfurt=fleet.frankfurt.pk)
    page = client.get(url).content.decode()
    assert shown(page, fleet) == expected
    if not expected:
        assert "No environment matches these filters." in page


def test_a_page_at_a_time_keeping_the_filters(client, staff_operator, client_a, cluster):
    site = f.SiteFactory(client=client_a, slug="big", name="Big site")
    for i in range(52):
        f.EnvironmentFactory(site=site, cluster=cluster, slug=f"e{i:02d}")
    envs = list(Environment.objects.filter(site=site).order_by("created_at", "pk"))
    f.EnvironmentFactory(cluster=cluster)  # another client's: filtered out
    sign_in(client, staff_operator)
    first = client.get(f"/?client={client_a.pk}").content.decode()
    assert "52 environments found" in first
    assert sum(env.namespace in first for env in envs) == 50
    assert f'href="?client={client_a.pk}&amp;page=2">Next</a>' in first
    second = client.get(f"/?client={client_a.pk}&page=2").content.decode()
    assert [env.namespace in second for env in envs] == [False] * 50 + [True] * 2
    assert "Page 2 of 2" in second


def test_queries_do_not_grow_with_the_page(
    client, staff_admin, fleet, cluster, django_assert_max_num_queries
):
    sign_in(client, staff_admin)
    client.get("/")  # warm the session
    # Session, user, TOTP device, navigation, the filter form's clients and clusters, the
    # count and the page (one query: subqueries for operations, releases, backups, cron).
    with django_assert_max_num_queries(12) as few:
        client.get("/?health=healthy")
    site = fleet.acme_prod.site
    for i in range(60):
        env = f.EnvironmentFactory(site=site, cluster=cluster, slug=f"more{i}")
        f.ReleaseFactory(environment=env)
        f.DomainFactory(environment=env)
    for _ in range(3):  # more choices in the filters
        f.ClusterFactory()
        f.ClientFactory()
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/").content.decode()
    assert "63 environments" in page
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/?health=healthy&search=example&page=2")


def test_the_staff_dashboard_decrypts_no_secret(client, staff_operator, fleet, decrypts):
    sign_in(client, staff_operator)
    client.get("/")  # warm the session
    decrypts.clear()
    page = client.get("/").content.decode()
    assert shown(page, fleet) == {"acme_prod", "acme_stg", "globex"}
    assert decrypts == []


def test_client_people_keep_their_own_dashboard(client, owner, fleet):
    sign_in(client, owner)
    page = client.get("/").content.decode()
    assert 'aria-label="Filter environments"' not in page
    assert shown(page, fleet) == {"acme_prod", "acme_stg"}


@pytest.mark.django_db
def test_the_health_filter_and_the_health_shown_agree_on_every_state(client_a, cluster):
    """The health filter is health()'s rule written in SQL (with_health_state): two
    writings of one rule, so every combination of environment status, last operation and
    image must get the same verdict from both, or a filter would hide what the row shows."""
    from controlpanel.web.portal.selectors import health, with_glance, with_health_state

    site = f.SiteFactory(client=client_a, slug="matrix")
    last_operations = [None, *Operation.Status.values]
    n = 0
    for status in Environment.Status.values:
        for last in last_operations:
            for image in ("", "registry.example.com/acme/web:1"):
                n += 1
                env = f.EnvironmentFactory(
                    site=site, cluster=cluster, slug=f"e{n}", status=status, image=image
                )
                if last is not None:
                    f.OperationFactory(
                        cluster=cluster,
                        client=client_a,
                        target_id=env.pk,  # type: ignore[attr-defined]
                        kind="environment.deploy",
                        status=last,
                    )
    rows = list(with_glance(Environment.objects.filter(site=site)))
    assert len(rows) == n
    shown = {row.pk: health(row).state for row in rows}
    for state in ("healthy", "changing", "degraded", "unknown"):
        filtered = set(
            with_health_state(Environment.objects.filter(site=site))
            .filter(Q(health_state=state))  # an alias the stubs do not know
            .values_list("pk", flat=True)
        )
        assert filtered == {pk for pk, s in shown.items() if s == state}, state
    assert set(shown.values()) == {"healthy", "changing", "degraded", "unknown"}
