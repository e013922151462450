"""Scaling in two steps: the first shows what the change does to the monthly bill, the
second (a confirm button on that preview) makes it. Nothing changes without the second."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from billing.estimates import Estimate, estimate_autoscale, estimate_scale
from controlpanel.core.permissions import Action, require
from controlpanel.web.portal.forms import AutoscaleForm, ScaleForm
from controlpanel.web.portal.views.base import render_environment
from controlpanel.web.shortcuts import apply_errors, attempt, environment_or_404
from sites import services
from sites.models import Environment


def _forms(environment: Environment) -> dict:
    return {
        "scale_form": ScaleForm(initial={"replicas": environment.replicas}),
        "autoscale_form": AutoscaleForm(
            initial={
                "enabled": True,
                "autoscale_min": environment.autoscale_min,
                "autoscale_max": environment.autoscale_max,
                "autoscale_cpu_target": environment.autoscale_cpu_target,
            }
        ),
    }


def _page(
    request: HttpRequest, environment: Environment, status: int = 200, **extra
) -> HttpResponse:
    context = _forms(environment) | extra
    return render_environment(
        request, environment, "scaling", "portal/environment/scaling.html", context, status
    )


@login_required
def scaling(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, environment_or_404(request, pk))


def _estimate(function, **kwargs) -> Estimate | None:
    """What the change does to the monthly bill, in the person's terms (a client's people see
    what they pay; staff also the agency's cost behind it), or None when it cannot be priced
    (no node price yet): the page says so and still asks for confirmation."""
    try:
        return function(**kwargs)
    except ValidationError:
        return None


def _check_scale(environment: Environment, replicas: int) -> list[str]:
    """The action's own validation, without creating anything; its capacity warnings."""
    return services.environment_scale_check(
        environment, {"replicas": replicas, "autoscale_enabled": False}
    )


@require_POST
@login_required
def scale(request: HttpRequest, pk: int) -> HttpResponse:
    """Step one shows the cost preview; step two (`confirm`) scales."""
    environment = environment_or_404(request, pk)
    require(request.user, Action.SCALE, environment.site.client)
    form = ScaleForm(request.POST)
    if not form.is_valid():
        return _page(request, environment, 400, scale_form=form)
    replicas = form.cleaned_data["replicas"]
    if request.POST.get("step") == "confirm":
        operation = attempt(
            form,
            services.environment_scale,
            actor=request.user,
            environment=environment,
            replicas=replicas,
        )
        if operation is not None:
            messages.success(
                request, f"Scaling {environment.name} to {replicas} replicas. Follow it here."
            )
            return redirect("portal:operation", operation.pk)
        return _page(request, environment, 400, scale_form=form)
    try:
        capacity = _check_scale(environment, replicas)
    except ValidationError as exc:
        apply_errors(form, exc)
        return _page(request, environment, 400, scale_form=form)
    preview = {
        "kind": "scale",
        "capacity": capacity,
        "replicas": replicas,
        "before": (
            f"{environment.autoscale_min} to {environment.autoscale_max} (autoscaling)"
            if environment.autoscale_enabled
            else environment.replicas
        ),
        "estimate": _estimate(
            estimate_scale, actor=request.user, environment=environment, replicas=replicas
        ),
    }
    return _page(request, environment, preview=preview, scale_form=form)


@require_POST
@login_required
def autoscale(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    require(request.user, Action.SCALE, environment.site.client)
    form = AutoscaleForm(request.POST)
    if not form.is_valid():
        return _page(request, environment, 400, autoscale_form=form)
    data = form.cleaned_data
    arguments = {
        "enabled": data["enabled"],
        "min_replicas": data["autoscale_min"],
        "max_replicas": data["autoscale_max"],
        "cpu_target": data["autoscale_cpu_target"],
    }
    if request.POST.get("step") == "confirm":
        operation = attempt(
            form,
            services.environment_autoscale,
            actor=request.user,
            environment=environment,
            **arguments,
        )
        if operation is not None:
            what = (
                f"Autoscaling between {data['autoscale_min']} and {data['autoscale_max']} replicas"
                if data["enabled"]
                else "Turning autoscaling off"
            )
            messages.success(request, f"{what}. Follow it here.")
            return redirect("portal:operation", operation.pk)
        return _page(request, environment, 400, autoscale_form=form)
    changes = {
        "autoscale_enabled": data["enabled"],
        "autoscale_min": data["autoscale_min"],
        "autoscale_max": data["autoscale_max"],
        "autoscale_cpu_target": data["autoscale_cpu_target"],
    }
    try:
        capacity = services.environment_scale_check(environment, changes)
    except ValidationError as exc:
        apply_errors(form, exc)
        return _page(request, environment, 400, autoscale_form=form)
    estimate = (
        _estimate(
            estimate_autoscale,
            actor=request.user,
            environment=environment,
            min_replicas=data["autoscale_min"],
            max_replicas=data["autoscale_max"],
        )
        if data["enabled"]
        else _estimate(
            estimate_scale,
            actor=request.user,
            environment=environment,
            replicas=environment.replicas,
        )
    )
    preview = {"kind": "autoscale", "data": data, "estimate": estimate, "capacity": capacity}
    return _page(request, environment, preview=preview, autoscale_form=form)
