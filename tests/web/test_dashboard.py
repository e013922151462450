"""The dashboard (moved from tests/sites/test_views.py with the home view): a person sees
their own client's sites and nobody else's, with health, releases and costs."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.web.helpers import sign_in


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_sign_in_with_email_and_password(client, owner):
    response = client.post(
        "/login/", {"username": owner.email, "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused(client, owner):
    response = client.post("/login/", {"username": owner.email, "password": "nope"})
    assert response.status_code == 200
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content


@pytest.mark.parametrize("actor", ["owner", "developer", "viewer"])
def test_members_see_their_environments_but_not_the_other_clients(
    actor, request, client, environment, other_environment
):
    user = request.getfixturevalue(actor)
    client.force_login(user)
    page = client.get("/").content.decode()
    assert environment.namespace in page
    assert other_environment.namespace not in page
    assert other_environment.site.name not in page


def test_staff_see_every_client(client, staff_operator, environment, other_environment):
    sign_in(client, staff_operator)
    page = client.get("/").content.decode()
    assert environment.namespace in page and other_environment.namespace in page


def test_home_runs_a_constant_number_of_queries(
    client, owner, environment, cluster, django_assert_max_num_queries
):
    client.force_login(owner)
    client.get("/")  # warm the session
    # Session, user, TOTP device, clients, environments (one query, subqueries for health,
    # releases and cron failures), memberships, billing's month so far (its own constant
    # set), navigation, recent operations.
    with django_assert_max_num_queries(16) as few:
        client.get("/")
    for _ in range(5):
        f.EnvironmentFactory(site=environment.site, cluster=cluster)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/")


def test_health_release_and_cron_failures_come_from_the_database(client, owner, populated, cluster):
    from clusters.models import Operation

    f.OperationFactory(
        cluster=cluster,
        client=populated.site.client,
        target_id=populated.pk,
        kind="cron.run",
        status=Operation.Status.FAILED,
    )
    sign_in(client, owner)
    page = client.get("/").content.decode()
    assert "Last operation failed" in page
    assert "registry.example.com/acme/web:1.0.0" in page
    assert f'href="/environments/{populated.pk}/cron/">1</a>' in page


def test_costs_show_a_dash_for_those_who_may_not_see_billing(client, viewer, populated):
    sign_in(client, viewer)
    page = client.get("/").content.decode()
    assert "Cost this month" in page and "—" in page


def test_a_person_without_clients_is_told_what_to_do(client, db):
    user = f.UserFactory(email="lonely@example.test")
    sign_in(client, user)
    assert "Ask your agency contact" in client.get("/").content.decode()


def test_the_dashboard_decrypts_no_secret(client, owner, populated, decrypts):
    """Neither the cluster's kubeconfig and keys nor the hash salt are on the page: loading
    them decrypted five values per environment shown."""
    f.EnvironmentFactory(site=populated.site, cluster=populated.cluster, slug="staging")
    sign_in(client, owner)
    client.get("/")  # warm the session
    decrypts.clear()
    page = client.get("/").content.decode()
    assert populated.namespace in page
    assert decrypts == []
