"""An environment's domains: add (with TLS), make primary, remove."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from controlpanel.web.portal.forms import DomainForm
from controlpanel.web.portal.views.base import render_environment
from controlpanel.web.shortcuts import attempt, environment_or_404
from sites import services
from sites.models import Domain, Environment
from sites.selectors import environment_routing


def _page(request: HttpRequest, environment: Environment, form=None) -> HttpResponse:
    domains = list(environment.domains.all())
    context = {
        "domains": domains,
        # Read from the cluster: what DNS must point at, and the certificate's state.
        "routing": environment_routing(actor=request.user, environment=environment)
        if domains
        else None,
        "form": form or DomainForm(initial={"tls_enabled": True}),
    }
    return render_environment(
        request,
        environment,
        "domains",
        "portal/environment/domains.html",
        context,
        400 if form is not None else 200,
    )


@login_required
def domains(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, environment_or_404(request, pk))


@require_POST
@login_required
def domain_add(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    form = DomainForm(request.POST)
    if form.is_valid():
        domain = attempt(
            form,
            services.domain_add,
            actor=request.user,
            environment=environment,
            **form.cleaned_data,
        )
        if domain is not None:
            messages.success(
                request,
                f"Added {domain.hostname}. Point its DNS at the cluster's ingress; the "
                "certificate is issued once the name resolves.",
            )
            return redirect("portal:domains", environment.pk)
    return _page(request, environment, form)


@require_POST
@login_required
def domain_remove(request: HttpRequest, pk: int, domain_pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    domain = get_object_or_404(Domain, pk=domain_pk, environment=environment)
    services.domain_remove(actor=request.user, domain=domain)
    messages.success(request, f"Removed {domain.hostname}. The site no longer answers to it.")
    return redirect("portal:domains", environment.pk)
