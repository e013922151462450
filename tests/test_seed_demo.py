"""`manage.py seed_demo`: the demo a newcomer signs in to."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from billing.models import NodePrice
from clusters.models import Cluster, Operation
from controlpanel.core.models import Client, Membership, User
from sites.models import Environment, Site


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
