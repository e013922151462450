"""The landing page: a person sees their own client's sites and nobody else's."""

from __future__ import annotations

import pytest

from tests import factories as f


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
    client.force_login(staff_operator)
    page = client.get("/").content.decode()
    assert environment.namespace in page and other_environment.namespace in page


def test_home_runs_a_constant_number_of_queries(
    client, owner, environment, cluster, django_assert_max_num_queries
):
    client.force_login(owner)
    client.get("/")  # warm the session
    with django_assert_max_num_queries(8) as few:
        client.get("/")
    for _ in range(5):
        f.EnvironmentFactory(site=environment.site, cluster=cluster)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/")
