"""An environment's settings: provisioning, deploy tokens for CI, and destroying it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from controlpanel.core.permissions import Action, can, require
from controlpanel.integrations.models import ApiToken
from controlpanel.integrations.tokens import deploy_token_create, token_revoke
from controlpanel.web.confirm import confirm_form, token_revoke_page
from controlpanel.web.forms import ConfirmNameForm, ReauthConfirmNameForm
from controlpanel.web.portal.forms import DeployTokenForm
from controlpanel.web.portal.views.base import render_environment
from controlpanel.web.shortcuts import attempt, environment_or_404, reauthenticated
from sites import services
from sites.models import Environment


def _page(
    request: HttpRequest, environment: Environment, status: int = 200, **extra
) -> HttpResponse:
    may_tokens = can(request.user, Action.DEPLOY, environment.site.client)
    tokens = (
        list(
            ApiToken.objects.filter(environment=environment)
            .select_related("user")
            .order_by("-created_at")
        )
        if may_tokens
        else []
    )
    context = {
        "deploy_tokens": tokens,
        "may_tokens": may_tokens,
        "token_form": DeployTokenForm(),
        "destroy_form": ReauthConfirmNameForm(
            expected=environment.namespace, label=f"Type {environment.namespace} to confirm"
        ),
    } | extra
    return render_environment(
        request,
        environment,
        "settings",
        "portal/environment/settings.html",
        context,
        status,
    )


@login_required
def environment_settings(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, environment_or_404(request, pk))


@require_POST
@login_required
def deploy_token_add(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    form = DeployTokenForm(request.POST)
    if form.is_valid():
        created = attempt(
            form,
            deploy_token_create,
            actor=request.user,
            environment=environment,
            name=form.cleaned_data["name"],
        )
        if created is not None:
            row, token = created
            # Shown in this response only: never stored in a message or session.
            return _page(request, environment, new_token=token, new_token_row=row)
    return _page(request, environment, 400, token_form=form)


@login_required
def deploy_token_revoke(request: HttpRequest, pk: int, token_pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    token = get_object_or_404(ApiToken, pk=token_pk, environment=environment)
    if not can(request.user, Action.DEPLOY, environment.site.client):
        raise PermissionDenied
    form = confirm_form(request, ConfirmNameForm, expected=token.name)
    if request.method == "POST" and form.is_valid():
        token_revoke(actor=request.user, token=token)
        messages.success(request, f"Revoked {token.name}. Pipelines using it can no longer deploy.")
        return redirect("portal:environment_settings", environment.pk)
    return token_revoke_page(
        request,
        form,
        token,
        what="deploy token",
        stops=f"CI pipelines using it can no longer deploy {environment}.",
        action=reverse("portal:deploy_token_revoke", args=[environment.pk, token.pk]),
        cancel=reverse("portal:environment_settings", args=[environment.pk]),
    )


@require_POST
@login_required
@sensitive_post_parameters("password")
def destroy(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    # Refuse before asking for a password that would not help.
    require(request.user, Action.DESTROY_ENVIRONMENT, environment.site.client)
    form = ReauthConfirmNameForm(request.POST, expected=environment.namespace)
    if form.is_valid() and reauthenticated(
        form, actor=request.user, password=form.cleaned_data["password"]
    ):
        operation = attempt(
            form,
            services.environment_destroy,
            actor=request.user,
            environment=environment,
            confirm=form.cleaned_data["confirm"],
        )
        if operation is not None:
            messages.warning(
                request,
                f"Destroying {environment}: its namespace and everything in it are being deleted.",
            )
            return redirect("portal:operation", operation.pk)
    return _page(request, environment, 400, destroy_form=form)
