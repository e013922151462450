"""The permission matrix, as people in each role would meet it."""

from __future__ import annotations

import pytest

from controlpanel.core.models import Client
from controlpanel.core.permissions import MATRIX, Action, can, require
from controlpanel.core.roles import ClientRole, StaffRole

CLIENT_ACTIONS_ALL_MEMBERS = {Action.VIEW}
CLIENT_ACTIONS_OWNER_AND_DEVELOPER = {
    Action.DEPLOY,
    Action.SCALE,
    Action.MANAGE_CRON,
    Action.MANAGE_ENV_VARS,
    Action.MANAGE_DOMAINS,
    Action.RUN_COMMAND,
    Action.BACKUP,
    Action.RESTORE,
}
CLIENT_ACTIONS_OWNER_ONLY = {
    Action.MANAGE_SITES,
    Action.DESTROY_ENVIRONMENT,
    Action.MANAGE_MEMBERS,
    Action.VIEW_BILLING,
    Action.VIEW_AUDIT,
    Action.MANAGE_INTEGRATIONS,
}
AGENCY_ONLY = {Action.MANAGE_CLIENTS, Action.MANAGE_CLUSTERS, Action.MANAGE_PRICING}


def test_every_action_is_in_the_matrix_and_the_tables_above():
    assert set(MATRIX) == set(Action)
    covered = (
        CLIENT_ACTIONS_ALL_MEMBERS
        | CLIENT_ACTIONS_OWNER_AND_DEVELOPER
        | CLIENT_ACTIONS_OWNER_ONLY
        | AGENCY_ONLY
    )
    assert covered == set(Action)


@pytest.mark.parametrize("action", sorted(Action))
def test_client_roles_on_their_own_client(action, client_a, owner, developer, viewer):
    assert can(owner, action, client_a) == (action not in AGENCY_ONLY)
    assert can(developer, action, client_a) == (
        action in CLIENT_ACTIONS_ALL_MEMBERS | CLIENT_ACTIONS_OWNER_AND_DEVELOPER
    )
    assert can(viewer, action, client_a) == (action in CLIENT_ACTIONS_ALL_MEMBERS)


@pytest.mark.parametrize("action", sorted(Action))
def test_nobody_acts_on_another_client(action, client_a, other_owner):
    assert not can(other_owner, action, client_a)


@pytest.mark.parametrize("action", sorted(Action))
def test_client_users_cannot_do_client_actions_without_a_client(action, owner):
    assert not can(owner, action)


def test_staff_roles(client_a, staff_admin, staff_operator, staff_billing):
    for action in Action:
        assert can(staff_admin, action, client_a), action
    assert can(staff_operator, Action.DEPLOY, client_a)
    assert can(staff_operator, Action.MANAGE_CLUSTERS)
    assert not can(staff_operator, Action.MANAGE_PRICING)
    assert not can(staff_operator, Action.MANAGE_CLIENTS)
    assert can(staff_billing, Action.MANAGE_PRICING)
    assert can(staff_billing, Action.VIEW, client_a)
    assert can(staff_billing, Action.VIEW_BILLING, client_a)
    assert not can(staff_billing, Action.DEPLOY, client_a)
    assert not can(staff_billing, Action.MANAGE_CLUSTERS)


def test_suspended_client_can_read_but_not_change(client_a, owner):
    client_a.status = Client.Status.SUSPENDED
    client_a.save()
    assert can(owner, Action.VIEW, client_a)
    assert can(owner, Action.VIEW_BILLING, client_a)
    assert not can(owner, Action.DEPLOY, client_a)
    assert not can(owner, Action.MANAGE_MEMBERS, client_a)


def test_inactive_and_anonymous_users_can_do_nothing(client_a, owner):
    from django.contrib.auth.models import AnonymousUser

    owner.is_active = False
    owner.save()
    assert not can(owner, Action.VIEW, client_a)
    assert not can(AnonymousUser(), Action.VIEW, client_a)
    assert not can(None, Action.VIEW, client_a)


def test_require_raises_with_a_readable_message(client_a, viewer):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied, match="not allowed to deploy"):
        require(viewer, Action.DEPLOY, client_a)
    require(viewer, Action.VIEW, client_a)


def test_role_enums_match_the_matrix():
    for client_roles, staff_roles in MATRIX.values():
        assert client_roles <= set(ClientRole)
        assert staff_roles <= set(StaffRole)
