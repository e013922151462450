"""Named actors, so every test can ask "and what about the other client?".

- staff_admin / staff_operator / staff_billing: agency staff;
- owner / developer / viewer: members of `client` (Acme);
- other_owner: owner of `other_client` (Globex), who must never see Acme's objects.
"""

from __future__ import annotations

import pytest

from controlpanel.core.roles import ClientRole, StaffRole
from tests import factories as f


@pytest.fixture
def client_a(db):
    return f.ClientFactory(name="Acme", slug="acme")


@pytest.fixture
def other_client(db):
    return f.ClientFactory(name="Globex", slug="globex")


def _member(client, role):
    return f.MembershipFactory(
        client=client, role=role, user=f.UserFactory(email=f"{role}@{client.slug}.test")
    ).user


@pytest.fixture
def owner(client_a):
    return _member(client_a, ClientRole.OWNER)


@pytest.fixture
def developer(client_a):
    return _member(client_a, ClientRole.DEVELOPER)


@pytest.fixture
def viewer(client_a):
    return _member(client_a, ClientRole.VIEWER)


@pytest.fixture
def other_owner(other_client):
    return _member(other_client, ClientRole.OWNER)


@pytest.fixture
def staff_admin(db):
    return f.UserFactory(email="admin@agency.test", staff_role=StaffRole.ADMIN)


@pytest.fixture
def staff_operator(db):
    return f.UserFactory(email="operator@agency.test", staff_role=StaffRole.OPERATOR)


@pytest.fixture
def staff_billing(db):
    return f.UserFactory(email="billing@agency.test", staff_role=StaffRole.BILLING)


@pytest.fixture
def cluster(db):
    return f.ClusterFactory(slug="ams", name="Amsterdam")


@pytest.fixture
def site(client_a):
    return f.SiteFactory(client=client_a, slug="www", name="Acme website")


@pytest.fixture
def environment(site, cluster):
    return f.EnvironmentFactory(site=site, cluster=cluster, slug="production")


@pytest.fixture
def other_environment(other_client, cluster):
    other_site = f.SiteFactory(client=other_client, slug="shop", name="Globex shop")
    return f.EnvironmentFactory(site=other_site, cluster=cluster, slug="production")
