"""Tenant scoping in one place: every query that serves a person goes through `for_user`.

A model declares `tenant_path`, the lookup from it to its Client:
- "pk" for Client itself, "client", "site__client", ... for tenant-owned rows;
- `PUBLIC` for catalogues every signed-in person may read (node sizes);
- `None` (the default) for agency-internal rows only staff see (clusters, prices).
Agency staff see every row; client users see rows of the clients they are members of.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from controlpanel.core.models import User

PUBLIC = "*"


def is_agency_staff(user: User | AnonymousUser | None) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and getattr(user, "staff_role", "")
    )


def member_client_ids(user: User) -> models.QuerySet:
    """A subquery of the ids of the clients `user` belongs to."""
    membership = apps.get_model("core", "Membership")
    return membership.objects.filter(user=user).values("client_id")


class TenantQuerySet(models.QuerySet):
    def for_user(self, user: User | AnonymousUser | None) -> TenantQuerySet:
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if is_agency_staff(user):
            return self.all()
        path: str | None = getattr(self.model, "tenant_path", None)
        if path is None:
            return self.none()
        if path == PUBLIC:
            return self.all()
        lookup: dict[str, Any] = {f"{path}__in": member_client_ids(user)}
        return self.filter(**lookup)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    pass
