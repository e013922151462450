"""Pages about sites and environments."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from controlpanel.core.models import Client
from sites.models import Environment


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The clients, sites and environments the signed-in person may see."""
    clients = Client.objects.for_user(request.user).order_by("name")
    environments = (
        Environment.objects.for_user(request.user)
        .select_related("site__client", "cluster")
        .order_by("site__client__name", "site__name", "created_at")
    )
    return render(request, "home.html", {"clients": clients, "environments": environments})
