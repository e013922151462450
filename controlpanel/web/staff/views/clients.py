"""Clients: the list, creating one, and a client's page (edit, suspend or reactivate, its
sites and environments, adding either)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from controlpanel.core import services
from controlpanel.core.models import Client
from controlpanel.core.permissions import Action, can
from controlpanel.web.shortcuts import attempt
from controlpanel.web.staff.access import staff_required
from controlpanel.web.staff.forms import ClientEditForm, ClientForm, EnvironmentForm, SiteForm
from sites import services as site_services
from sites.models import Environment
from sites.selectors import backup_storage


def _list(request: HttpRequest, form=None) -> HttpResponse:
    clients = Client.objects.annotate(
        site_count=Count("sites", distinct=True), member_count=Count("memberships", distinct=True)
    ).order_by("name")
    context = {
        "clients": clients,
        "form": form or ClientForm(initial={"markup_percent": 0}),
        "may_manage": can(request.user, Action.MANAGE_CLIENTS),
        "nav_section": "staff",
        "staff_tab": "clients",
    }
    return render(request, "staff/clients.html", context, status=400 if form else 200)


@staff_required
def clients(request: HttpRequest) -> HttpResponse:
    return _list(request)


@require_POST
@staff_required
def client_add(request: HttpRequest) -> HttpResponse:
    form = ClientForm(request.POST)
    if form.is_valid():
        client = attempt(form, services.client_create, actor=request.user, **form.cleaned_data)
        if client is not None:
            messages.success(
                request, f"Created {client.name}. Next: invite its owner and add its sites."
            )
            return redirect("staff:client", client.pk)
    return _list(request, form)


def _detail(request: HttpRequest, client: Client, status: int = 200, **forms) -> HttpResponse:
    environments = (
        Environment.objects.filter(site__client=client)
        .select_related("site", "cluster", "node_pool")
        .order_by("site__name", "site_id", "created_at")
    )
    storage = backup_storage(client.pk)
    environments = list(environments)
    for environment in environments:
        environment.backup_bytes = storage["per_environment"].get(
            (environment.site_id, environment.slug), 0
        )
    context = {
        "client": client,
        "sites": client.sites.order_by("name"),
        "environments": environments,
        "backup_bytes": storage["total"],
        "edit_form": forms.get("edit_form")
        or ClientEditForm(
            initial={
                "name": client.name,
                "billing_email": client.billing_email,
                "markup_percent": client.markup_percent,
            }
        ),
        "site_form": forms.get("site_form") or SiteForm(),
        "environment_form": forms.get("environment_form") or EnvironmentForm(client=client),
        "may_manage": can(request.user, Action.MANAGE_CLIENTS),
        "may_sites": can(request.user, Action.MANAGE_SITES, client),
        "nav_section": "staff",
        "staff_tab": "clients",
    }
    return render(request, "staff/client.html", context, status=status)


@staff_required
def client(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, get_object_or_404(Client, pk=pk))


@require_POST
@staff_required
def client_edit(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    form = ClientEditForm(request.POST)
    if form.is_valid() and attempt(
        form, services.client_update, actor=request.user, client=client, **form.cleaned_data
    ):
        messages.success(request, f"Saved {client.name}.")
        return redirect("staff:client", client.pk)
    return _detail(request, client, 400, edit_form=form)


@require_POST
@staff_required
def client_status(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    suspend = request.POST.get("status") == Client.Status.SUSPENDED
    services.client_update(
        actor=request.user,
        client=client,
        status=Client.Status.SUSPENDED if suspend else Client.Status.ACTIVE,
    )
    messages.success(
        request,
        f"{client.name} is suspended: its people can still read, but change nothing."
        if suspend
        else f"{client.name} is active again.",
    )
    return redirect("staff:client", client.pk)


@require_POST
@staff_required
def site_add(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    form = SiteForm(request.POST)
    if form.is_valid():
        site = attempt(
            form, site_services.site_create, actor=request.user, client=client, **form.cleaned_data
        )
        if site is not None:
            messages.success(request, f"Created {site.name}. Next: add its environments.")
            return redirect("staff:client", client.pk)
    return _detail(request, client, 400, site_form=form)


@require_POST
@staff_required
def environment_add(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    form = EnvironmentForm(request.POST, client=client)
    if form.is_valid():
        environment = attempt(
            form,
            site_services.environment_create,
            actor=request.user,
            **form.cleaned_data,
        )
        if environment is not None:
            messages.success(
                request,
                f"Created {environment}. Provision it from its settings page to create it on "
                "the cluster.",
            )
            return redirect("portal:environment_settings", environment.pk)
    return _detail(request, client, 400, environment_form=form)
