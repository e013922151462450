"""The dashboard: every site and environment a person may see, how each is doing, and
what is going on."""

from __future__ import annotations

from itertools import groupby

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billing.models.prices import billing_currency
from billing.selectors import clients_month_costs
from clusters.models import Operation
from controlpanel.core.models import Client
from controlpanel.web.portal.selectors import health, visible_environments
from controlpanel.web.staff.views.environments import environments as staff_dashboard

RECENT_OPERATIONS = 8


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    # Staff see every client's environments: thousands, a page at a time, with filters.
    if user.is_agency_staff:
        return staff_dashboard(request)
    clients = list(Client.objects.for_user(user).order_by("name"))
    environments = list(visible_environments(user))
    # This month's cost so far, for the clients whose billing the person may see (owners).
    months = clients_month_costs(actor=user, clients=clients)
    costs = {
        env: amount for month in months.values() for env, amount in month.by_environment().items()
    }
    rows = []
    for environment in environments:
        environment.health = health(environment)
        known = environment.site.client_id in months
        environment.month_cost = costs.get(environment.pk, 0) if known else None
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
        "costs_known": bool(months),
        "cost_clients": [c for c in clients if c.pk in months],
        "currency": billing_currency(),
        "backups_known": True,
        "nav_section": "dashboard",
    }
    return render(request, "portal/dashboard.html", context)
