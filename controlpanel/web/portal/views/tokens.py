"""Personal API tokens: created with scopes, shown once, revoked with the name typed back."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from controlpanel.integrations.models import ApiToken, Scope
from controlpanel.integrations.tokens import token_create, token_revoke
from controlpanel.web.confirm import confirm_form, token_revoke_page
from controlpanel.web.forms import ConfirmNameForm
from controlpanel.web.portal.forms import TokenForm
from controlpanel.web.shortcuts import attempt, reauthenticated


def _page(request: HttpRequest, status: int = 200, **extra) -> HttpResponse:
    tokens = ApiToken.objects.filter(
        user=request.user, environment__isnull=True, site__isnull=True
    ).order_by("-created_at")
    context = {
        "tokens": tokens,
        "form": TokenForm(staff=request.user.is_agency_staff, initial={"scopes": ["read"]}),
        "nav_section": "account",
    } | extra
    return render(request, "portal/tokens.html", context, status=status)


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@login_required
@sensitive_post_parameters("password")
def token_add(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST, staff=request.user.is_agency_staff)
    if form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        # An admin token outlives the session that made it: prove the password first.
        if Scope.ADMIN in form.cleaned_data["scopes"] and not reauthenticated(
            form, actor=request.user, password=form.cleaned_data.get("password", "")
        ):
            return _page(request, 400, form=form)
        created = attempt(
            form,
            token_create,
            actor=request.user,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
        if created is not None:
            row, token = created
            # Shown in this response only: never stored in a message or the session.
            return _page(request, new_token=token, new_token_row=row)
    return _page(request, 400, form=form)


@login_required
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user, environment__isnull=True)
    form = confirm_form(request, ConfirmNameForm, expected=token.name)
    if request.method == "POST" and form.is_valid():
        token_revoke(actor=request.user, token=token)
        messages.success(
            request, f"Revoked {token.name}. Anything using it is refused from now on."
        )
        return redirect("portal:tokens")
    return token_revoke_page(
        request,
        form,
        token,
        what="API token",
        stops="Anything using it (scripts, integrations) is refused from then on.",
        action=reverse("portal:token_revoke", args=[token.pk]),
        cancel=reverse("portal:tokens"),
        facts=[("Scopes", ", ".join(token.scopes))],
        nav_section="account",
    )
