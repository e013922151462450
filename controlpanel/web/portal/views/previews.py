"""A site's previews: the list (branch, image, age, URL, cost so far), the owner's
preview settings with their estimate, and the site's CI tokens (docs/previews.md). The
page joins sites' previews and billing's figures for them: sites does not import billing."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from billing.estimates import estimate_previews
from billing.models.prices import billing_currency
from billing.selectors import previews_cost_so_far
from controlpanel.core.models import User
from controlpanel.core.permissions import Action, can
from controlpanel.integrations.models import ApiToken
from controlpanel.integrations.tokens import preview_token_create, token_revoke
from controlpanel.web.confirm import confirm_form, token_revoke_page
from controlpanel.web.forms import ConfirmNameForm
from controlpanel.web.portal.forms import DeployTokenForm, PreviewSettingsForm
from controlpanel.web.shortcuts import attempt, scoped_or_404
from sites.models import Site
from sites.previews.models import PreviewSettings
from sites.previews.selectors import site_previews
from sites.previews.services import preview_settings_set


def _site(request: HttpRequest, pk: int) -> Site:
    return scoped_or_404(request, Site.objects.select_related("client"), pk=pk)


def _page(request: HttpRequest, site: Site, status: int = 200, **extra) -> HttpResponse:
    user = cast(User, request.user)  # the views that call _page are @login_required
    found = PreviewSettings.objects.filter(site=site).select_related("cluster", "node_pool").first()
    may_manage = can(user, Action.MANAGE_SITES, site.client)
    estimate = None
    if may_manage and found is not None:
        estimate = estimate_previews(
            actor=user,
            site=site,
            cluster=found.cluster,
            node_pool=found.node_pool,
            max_alive=found.max_alive,
        )
    rows = site_previews(actor=user, site=site)
    costs = previews_cost_so_far(actor=user, site=site, previews=[row.environment for row in rows])
    initial = (
        {f: getattr(found, f) for f in ("enabled", "max_alive", "ttl_days", "data_source")}
        | {"host_pattern": found.host_pattern}
        if found
        else {"enabled": True}
    )
    context = {
        "site": site,
        # (row, cost so far), the cost None for those who do not see the client's costs.
        "previews": [(row, None if costs is None else costs[row.environment.pk]) for row in rows],
        "preview_settings": found,
        "may_manage": may_manage,
        "may_costs": can(user, Action.VIEW_BILLING, site.client),
        "estimate": estimate,
        "currency": billing_currency(),
        "settings_form": PreviewSettingsForm(initial=initial),
        "tokens": (
            ApiToken.objects.filter(site=site).select_related("user").order_by("-created_at")
            if may_manage
            else []
        ),
        "token_form": DeployTokenForm(),
        "nav_section": "dashboard",
    } | extra
    return render(request, "portal/previews.html", context, status=status)


@login_required
def previews(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, _site(request, pk))


@require_POST
@login_required
def settings_set(request: HttpRequest, pk: int) -> HttpResponse:
    site = _site(request, pk)
    form = PreviewSettingsForm(request.POST)
    if form.is_valid() and attempt(
        form, preview_settings_set, actor=request.user, site=site, **form.cleaned_data
    ):
        messages.success(request, "Saved the preview settings.")
        return redirect("portal:previews", site.pk)
    return _page(request, site, 400, settings_form=form)


@require_POST
@login_required
def token_add(request: HttpRequest, pk: int) -> HttpResponse:
    site = _site(request, pk)
    form = DeployTokenForm(request.POST)
    if form.is_valid():
        created = attempt(
            form,
            preview_token_create,
            actor=request.user,
            site=site,
            name=form.cleaned_data["name"],
        )
        if created is not None:
            row, token = created
            # Shown in this response only: never stored in a message or session.
            return _page(request, site, new_token=token, new_token_row=row)
    return _page(request, site, 400, token_form=form)


@login_required
def token_revoke_view(request: HttpRequest, pk: int, token_pk: int) -> HttpResponse:
    """Revoking a CI token breaks the pipelines that use it: asked on a page of its own,
    done only with the token's name typed back."""
    site = _site(request, pk)
    token = get_object_or_404(ApiToken, pk=token_pk, site=site)
    if not can(request.user, Action.MANAGE_SITES, site.client):
        raise PermissionDenied
    form = confirm_form(request, ConfirmNameForm, expected=token.name)
    if request.method == "POST" and form.is_valid():
        token_revoke(actor=request.user, token=token)
        messages.success(
            request, f"Revoked {token.name}. Pipelines using it can no longer make previews."
        )
        return redirect("portal:previews", site.pk)
    return token_revoke_page(
        request,
        form,
        token,
        what="CI token",
        stops=f"CI pipelines using it can no longer create, deploy or delete {site.name}'s "
        "previews.",
        action=reverse("portal:preview_token_revoke", args=[site.pk, token.pk]),
        cancel=reverse("portal:previews", args=[site.pk]),
    )
