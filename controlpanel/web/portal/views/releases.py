"""The environment's main page: what runs, its release history, and deploy, promote,
rollback and restart."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from clusters.models import Operation
from controlpanel.web.portal.forms import DeployForm, PromoteForm
from controlpanel.web.portal.views.base import render_environment
from controlpanel.web.shortcuts import attempt, environment_or_404
from sites import services
from sites.models import Environment, Release, Tier
from sites.selectors import release_digest_warnings

RELEASES_SHOWN = 20


def _siblings(environment: Environment) -> list[Environment]:
    return list(
        Environment.objects.filter(site=environment.site)
        .exclude(pk=environment.pk)
        .order_by("created_at")
    )


def _page(
    request: HttpRequest,
    environment: Environment,
    deploy_form: DeployForm | None = None,
    promote_form: PromoteForm | None = None,
    confirm: dict | None = None,
) -> HttpResponse:
    siblings = _siblings(environment)
    releases = release_digest_warnings(
        list(environment.releases.select_related("created_by", "operation")[:RELEASES_SHOWN])
    )
    operations = Operation.objects.filter(
        target_type="environment", target_id=environment.pk
    ).order_by("-created_at", "-id")[:5]
    context = {
        "deploy_form": deploy_form or DeployForm(initial={"image": environment.image}),
        "promote_form": promote_form or PromoteForm(siblings=[s for s in siblings if s.image]),
        "siblings": siblings,
        "releases": releases,
        # Exactly one release is live: the newest that went live (a rollback is a new one).
        "live_release": environment.releases.filter(status=Release.Status.SUCCEEDED)
        .values_list("pk", flat=True)
        .first(),
        "operations": operations,
        "confirm": confirm,
    }
    status = 200 if not (deploy_form or promote_form) else 400
    return render_environment(
        request, environment, "overview", "portal/environment/overview.html", context, status
    )


@login_required
def overview(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, environment_or_404(request, pk))


def _started(request: HttpRequest, operation: Operation, what: str) -> HttpResponse:
    messages.success(
        request, f"{what} Follow its progress here; you can leave this page, it carries on."
    )
    return redirect("portal:operation", operation.pk)


@require_POST
@login_required
def deploy(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    form = DeployForm(request.POST)
    if form.is_valid():
        operation = attempt(
            form,
            services.environment_deploy,
            actor=request.user,
            environment=environment,
            image=form.cleaned_data["image"],
        )
        if operation is not None:
            return _started(request, operation, f"Deploying {operation.params['image']}.")
    return _page(request, environment, deploy_form=form)


def _needs_confirmation(request: HttpRequest, environment: Environment) -> bool:
    """Production actions ask first: the first POST shows what will change, the second
    (step=confirm, sent by the confirmation's button) does it."""
    return environment.tier == Tier.PRODUCTION and request.POST.get("step") != "confirm"


def _confirmation(
    request: HttpRequest,
    environment: Environment,
    *,
    title: str,
    lines: list[str],
    action: str,
    button: str,
    hidden: dict[str, object] | None = None,
) -> HttpResponse:
    return _page(
        request,
        environment,
        confirm={
            "title": title,
            "lines": lines,
            "action": action,
            "button": button,
            "hidden": hidden or {},
        },
    )


def _running(environment: Environment) -> str:
    live = environment.releases.filter(status=Release.Status.SUCCEEDED).first()
    image = environment.image or "nothing"
    return f"{image} (release #{live.pk})" if live is not None else image


@require_POST
@login_required
def promote(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    siblings = [s for s in _siblings(environment) if s.image]
    form = PromoteForm(request.POST, siblings=siblings)
    if form.is_valid():
        source = next(s for s in siblings if s.pk == form.cleaned_data["source"])
        if _needs_confirmation(request, environment):
            live = source.releases.filter(status=Release.Status.SUCCEEDED).first()
            incoming = services.pinned(source.image, live.digest if live is not None else "")
            return _confirmation(
                request,
                environment,
                title=f"Promote {source.name} to {environment.name}?",
                lines=[
                    f"{incoming} (what runs in {source.name}) replaces "
                    f"{_running(environment)} in {environment.name}.",
                    "If the new pods do not become ready, the current release keeps running.",
                ],
                action=reverse("portal:promote", args=[environment.pk]),
                button=f"Promote to {environment.name}",
                hidden={"source": source.pk},
            )
        operation = attempt(
            form,
            services.environment_promote,
            actor=request.user,
            source=source,
            target=environment,
        )
        if operation is not None:
            return _started(
                request, operation, f"Promoting what runs in {source.name} to {environment.name}."
            )
    return _page(request, environment, promote_form=form)


@require_POST
@login_required
def rollback(request: HttpRequest, pk: int, release_pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    release = get_object_or_404(Release, pk=release_pk, environment=environment)
    if _needs_confirmation(request, environment):
        return _confirmation(
            request,
            environment,
            title=f"Roll {environment.name} back to release #{release.pk}?",
            lines=[
                f"{services.pinned(release.image, release.digest)} (release #{release.pk}) "
                f"replaces {_running(environment)} in {environment.name}."
            ],
            action=reverse("portal:rollback", args=[environment.pk, release.pk]),
            button=f"Roll back to release #{release.pk}",
        )
    form = DeployForm()
    operation = attempt(
        form,
        services.environment_rollback,
        actor=request.user,
        environment=environment,
        release=release,
    )
    if operation is not None:
        return _started(request, operation, f"Rolling back to release #{release.pk}.")
    return _page(request, environment, deploy_form=form)


def _simple_action(request: HttpRequest, pk: int, action, what: str) -> HttpResponse:
    environment = environment_or_404(request, pk)
    form = DeployForm()
    operation = attempt(form, action, actor=request.user, environment=environment)
    if operation is not None:
        return _started(request, operation, what)
    for error in form.non_field_errors():
        messages.error(request, error)
    return redirect("portal:environment", environment.pk)


@require_POST
@login_required
def restart(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    if _needs_confirmation(request, environment):
        return _confirmation(
            request,
            environment,
            title=f"Restart every pod of {environment.name}?",
            lines=[
                f"Each of its {environment.replicas} pod(s) is replaced by a new one running "
                f"{environment.image}, one at a time as the new ones become ready."
            ],
            action=reverse("portal:restart", args=[environment.pk]),
            button="Restart the pods",
        )
    return _simple_action(request, pk, services.environment_restart, "Restarting the pods.")


@require_POST
@login_required
def provision(request: HttpRequest, pk: int) -> HttpResponse:
    return _simple_action(
        request,
        pk,
        services.environment_provision,
        "Provisioning: creating the namespace and everything in it.",
    )


@require_POST
@login_required
def repair(request: HttpRequest, pk: int) -> HttpResponse:
    return _simple_action(
        request, pk, services.environment_repair, "Repairing: re-applying every object."
    )
