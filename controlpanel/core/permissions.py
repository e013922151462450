"""The permission matrix: which role may do which action. Views, the API and services ask
`can()` / `require()`; nothing else decides who may do what.

Client roles act only on their own client (and only while it is active, except reading).
Staff roles act on every client.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

from controlpanel.core.roles import ClientRole, StaffRole
from controlpanel.core.tenancy import is_agency_staff

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from controlpanel.core.models import Client, User


class Action(StrEnum):
    # Reading a client's sites, environments, operations, logs and releases.
    VIEW = "view"
    # Changing what runs.
    DEPLOY = "deploy"  # deploy, promote, rollback, restart
    SCALE = "scale"
    MANAGE_CRON = "manage_cron"
    MANAGE_ENV_VARS = "manage_env_vars"
    MANAGE_DOMAINS = "manage_domains"
    RUN_COMMAND = "run_command"
    BACKUP = "backup"
    RESTORE = "restore"
    # Changing what exists and who may touch it.
    MANAGE_SITES = "manage_sites"  # create sites and environments
    DESTROY_ENVIRONMENT = "destroy_environment"
    MANAGE_MEMBERS = "manage_members"
    VIEW_BILLING = "view_billing"
    VIEW_AUDIT = "view_audit"
    MANAGE_INTEGRATIONS = "manage_integrations"  # webhooks
    # Agency only.
    MANAGE_CLIENTS = "manage_clients"
    MANAGE_CLUSTERS = "manage_clusters"
    MANAGE_PRICING = "manage_pricing"  # node prices, invoices


_ANY_CLIENT = frozenset(ClientRole)
_OWNER_DEV = frozenset({ClientRole.OWNER, ClientRole.DEVELOPER})
_OWNER = frozenset({ClientRole.OWNER})
_ALL_STAFF = frozenset(StaffRole)
_ADMIN_OPS = frozenset({StaffRole.ADMIN, StaffRole.OPERATOR})
_ADMIN_BILLING = frozenset({StaffRole.ADMIN, StaffRole.BILLING})
_NONE: frozenset = frozenset()

# action: (client roles allowed, staff roles allowed)
MATRIX: dict[Action, tuple[frozenset, frozenset]] = {
    Action.VIEW: (_ANY_CLIENT, _ALL_STAFF),
    Action.DEPLOY: (_OWNER_DEV, _ADMIN_OPS),
    Action.SCALE: (_OWNER_DEV, _ADMIN_OPS),
    Action.MANAGE_CRON: (_OWNER_DEV, _ADMIN_OPS),
    Action.MANAGE_ENV_VARS: (_OWNER_DEV, _ADMIN_OPS),
    Action.MANAGE_DOMAINS: (_OWNER_DEV, _ADMIN_OPS),
    Action.RUN_COMMAND: (_OWNER_DEV, _ADMIN_OPS),
    Action.BACKUP: (_OWNER_DEV, _ADMIN_OPS),
    Action.RESTORE: (_OWNER_DEV, _ADMIN_OPS),
    Action.MANAGE_SITES: (_OWNER, _ADMIN_OPS),
    Action.DESTROY_ENVIRONMENT: (_OWNER, _ADMIN_OPS),
    Action.MANAGE_MEMBERS: (_OWNER, frozenset({StaffRole.ADMIN})),
    Action.VIEW_BILLING: (_OWNER, _ALL_STAFF),
    Action.VIEW_AUDIT: (_OWNER, _ALL_STAFF),
    Action.MANAGE_INTEGRATIONS: (_OWNER, _ADMIN_OPS),
    Action.MANAGE_CLIENTS: (_NONE, frozenset({StaffRole.ADMIN})),
    Action.MANAGE_CLUSTERS: (_NONE, _ADMIN_OPS),
    Action.MANAGE_PRICING: (_NONE, _ADMIN_BILLING),
}

# Reading stays possible while a client is suspended (invoices, history); changing does not.
_READ_ACTIONS = frozenset({Action.VIEW, Action.VIEW_BILLING, Action.VIEW_AUDIT})


def client_role(user: User, client: Client) -> ClientRole | None:
    """The user's role in `client`, or None. Uses prefetched memberships when present."""
    cache = getattr(user, "_client_roles", None)
    if cache is None:
        cache = {m.client_id: ClientRole(m.role) for m in user.memberships.all()}
        user._client_roles = cache  # type: ignore[attr-defined]
    return cache.get(client.pk)


def can(user: User | AnonymousUser | None, action: Action, client: Client | None = None) -> bool:
    """May `user` do `action` (on `client`, for client-level actions)?"""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    client_roles, staff_roles = MATRIX[action]
    if is_agency_staff(user):
        return StaffRole(user.staff_role) in staff_roles
    if client is None:
        return False
    if not client.is_active and action not in _READ_ACTIONS:
        return False
    role = client_role(user, client)
    return role is not None and role in client_roles


def require(
    user: User | AnonymousUser | None, action: Action, client: Client | None = None
) -> None:
    """Raise PermissionDenied unless `can(user, action, client)`."""
    if not can(user, action, client):
        raise PermissionDenied(f"You are not allowed to {action.value.replace('_', ' ')}.")
