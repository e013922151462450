"""What the page chrome needs: the person's clients for the navigation, and whether the
staff console and its billing pages are there for them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from controlpanel.core.models import Client
from controlpanel.core.permissions import Action, can


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        # Evaluated only by pages that show the client menu.
        "nav_clients": SimpleLazyObject(
            lambda: list(Client.objects.for_user(user).only("pk", "name", "status"))
        ),
        "nav_staff": user.is_agency_staff,
        "nav_clusters": can(user, Action.MANAGE_CLUSTERS),
        # Every staff role reads billing (VIEW_BILLING); admins and billing staff change it.
        "nav_billing": user.is_agency_staff and can(user, Action.VIEW_BILLING),
    }
