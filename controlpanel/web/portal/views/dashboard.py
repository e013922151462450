"""The dashboard: every site and environment a person may see, how each is doing, and
what is going on."""

from __future__ import annotations

from itertools import groupby

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clusters.models import Operation
from controlpanel.core.models import Client
from controlpanel.web import integrations
from controlpanel.web.portal.selectors import health, visible_environments

RECENT_OPERATIONS = 8


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    clients = list(Client.objects.for_user(user).order_by("name"))
    environments = list(visible_environments(user))
    # Costs: billing's figures per client (owners and staff); "—" where there are none.
    costs: dict[int, object] = {}
    costs_known = False
    if not user.is_agency_staff:
        for client in clients:
            found = integrations.client_month_costs(user, client)
            if found is not None:
                costs_known = True
                costs.update(found)
    backups_known = integrations.backup_model() is not None
    rows = []
    for environment in environments:
        environment.health = health(environment)
        environment.month_cost = costs.get(environment.pk)
        rows.append(environment)
    sites = [
        (site, list(group))
        for site, group in groupby(rows, key=lambda environment: environment.site)
    ]
    operations = (
        Operation.objects.for_user(user)
        .select_related("requested_by")
        .order_by("-created_at", "-id")[:RECENT_OPERATIONS]
    )
    summary = {
        "environments": len(rows),
        "healthy": sum(1 for e in rows if e.health.state == "healthy"),
        "degraded": sum(1 for e in rows if e.health.state == "degraded"),
        "changing": sum(1 for e in rows if e.health.state == "changing"),
    }
    context = {
        "clients": clients,
        "sites": sites,
        "operations": operations,
        "summary": summary,
        "costs_known": costs_known,
        "currency": integrations.currency(),
        "backups_known": backups_known,
        "nav_section": "dashboard",
    }
    return render(request, "portal/dashboard.html", context)
