"""Clients and memberships through the services, with their audit trail."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from controlpanel.core import services
from controlpanel.core.models import AuditEvent, Client, Membership
from tests import factories as f


def test_staff_admin_creates_a_client_and_it_is_audited(staff_admin):
    client = services.client_create(
        actor=staff_admin,
        name="Umbrella",
        slug="umbrella",
        billing_email="ap@umbrella.test",
        markup_percent="12.5",
    )
    event = AuditEvent.objects.get(action="client.create")
    assert event.actor == staff_admin and event.client == client
    assert event.changes["slug"] == [None, "umbrella"]


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("slug", "Umbrella Corp", "lowercase"),
        ("billing_email", "not-an-email", "valid email"),
        ("markup_percent", "-1", "greater than or equal to 0"),
        ("markup_percent", "5000", "less than or equal to 1000"),
    ],
)
def test_client_create_rejects_bad_input(staff_admin, field, value, fragment):
    values = {"name": "Umbrella", "slug": "umbrella", "billing_email": "ap@umbrella.test"}
    values[field] = value
    with pytest.raises(ValidationError) as excinfo:
        services.client_create(actor=staff_admin, **values)
    assert fragment in " ".join(excinfo.value.message_dict[field]).lower()
    assert not Client.objects.filter(name="Umbrella").exists()


def test_client_slug_is_unique(staff_admin, client_a):
    with pytest.raises(ValidationError) as excinfo:
        services.client_create(
            actor=staff_admin, name="Acme 2", slug=client_a.slug, billing_email="a@b.test"
        )
    assert "slug" in excinfo.value.message_dict


def test_only_staff_admins_create_or_suspend_clients(staff_operator, owner, client_a):
    for actor in (staff_operator, owner):
        with pytest.raises(PermissionDenied):
            services.client_create(actor=actor, name="X", slug="x", billing_email="x@x.test")
        with pytest.raises(PermissionDenied):
            services.client_update(actor=actor, client=client_a, status="suspended")


def test_suspending_is_audited_as_such(staff_admin, client_a):
    services.client_update(actor=staff_admin, client=client_a, status="suspended")
    event = AuditEvent.objects.get(action="client.suspend")
    assert event.changes == {"status": ["active", "suspended"]}
    with pytest.raises(ValidationError) as excinfo:
        services.client_update(actor=staff_admin, client=client_a, slug="renamed")
    assert "slug" in excinfo.value.message_dict
    assert Client.objects.get(pk=client_a.pk).slug == "acme"


def test_owner_manages_members_of_their_own_client_only(owner, other_client, client_a):
    newcomer = f.UserFactory()
    membership = services.membership_add(
        actor=owner, client=client_a, user=newcomer, role="developer"
    )
    assert membership.role == "developer"
    with pytest.raises(PermissionDenied):
        services.membership_add(actor=owner, client=other_client, user=newcomer, role="viewer")
    assert not Membership.objects.filter(client=other_client, user=newcomer).exists()


def test_developers_and_viewers_cannot_manage_members(developer, viewer, client_a):
    for actor in (developer, viewer):
        with pytest.raises(PermissionDenied):
            services.membership_add(
                actor=actor, client=client_a, user=f.UserFactory(), role="owner"
            )


def test_membership_rejects_bad_role_and_duplicates(owner, client_a, viewer):
    with pytest.raises(ValidationError) as excinfo:
        services.membership_add(actor=owner, client=client_a, user=f.UserFactory(), role="god")
    assert "role" in excinfo.value.message_dict
    with pytest.raises(ValidationError, match="already a member"):
        services.membership_add(actor=owner, client=client_a, user=viewer, role="developer")


def test_staff_cannot_be_made_members(staff_admin, client_a, staff_operator):
    with pytest.raises(ValidationError) as excinfo:
        services.membership_add(
            actor=staff_admin, client=client_a, user=staff_operator, role="owner"
        )
    assert "user" in excinfo.value.message_dict


def test_the_last_owner_stays(owner, client_a, developer):
    mine = Membership.objects.get(user=owner, client=client_a)
    with pytest.raises(ValidationError, match="at least one owner"):
        services.membership_set_role(actor=owner, membership=mine, role="viewer")
    with pytest.raises(ValidationError, match="at least one owner"):
        services.membership_remove(actor=owner, membership=mine)
    promoted = Membership.objects.get(user=developer, client=client_a)
    services.membership_set_role(actor=owner, membership=promoted, role="owner")
    services.membership_remove(actor=owner, membership=mine)
    assert not Membership.objects.filter(user=owner).exists()
    assert AuditEvent.objects.filter(action="membership.remove", client=client_a).exists()
