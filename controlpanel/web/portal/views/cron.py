"""Cron schedules: their human description, next runs (computed here) and last runs (read
from the cluster after the page has loaded, so a slow cluster never blocks the page)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from clusters.kube.errors import KubeError
from controlpanel.core.permissions import Action, require
from controlpanel.web.portal.forms import CronEditForm, CronForm
from controlpanel.web.portal.views.base import render_editable_list
from controlpanel.web.shortcuts import attempt, environment_or_404
from sites import services
from sites.models import CronSchedule, Environment
from sites.selectors import cron_last_runs

NEXT_RUNS = 3


def _page(
    request: HttpRequest,
    environment: Environment,
    form=None,
    editing: CronSchedule | None = None,
    edit_form=None,
) -> HttpResponse:
    schedules = list(environment.cron_schedules.all())
    for cron in schedules:
        cron.environment = environment  # the namespace seeds H; no query per row
        try:
            cron.upcoming = cron.next_runs(NEXT_RUNS)
        except Exception:
            cron.upcoming = []
    return render_editable_list(
        request,
        environment,
        "cron",
        {"schedules": schedules},
        form_class=CronForm,
        form=form,
        editing=editing,
        edit_form=edit_form,
    )


@login_required
def cron(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, environment_or_404(request, pk))


@require_POST
@login_required
def cron_add(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    form = CronForm(request.POST)
    if form.is_valid():
        schedule = attempt(
            form,
            services.cron_schedule_create,
            actor=request.user,
            environment=environment,
            **form.cleaned_data,
        )
        if schedule is not None:
            messages.success(request, f"Added {schedule.name}: {schedule.description}.")
            return redirect("portal:cron", environment.pk)
    return _page(request, environment, form=form)


@login_required
def cron_edit(request: HttpRequest, pk: int, cron_pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    schedule = get_object_or_404(CronSchedule, pk=cron_pk, environment=environment)
    require(request.user, Action.MANAGE_CRON, environment.site.client)
    initial = {
        "schedule": schedule.schedule,
        "command": schedule.command,
        "timeout_seconds": schedule.timeout_seconds,
        "suspended": schedule.suspended,
    }
    form = CronEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = attempt(
            form,
            services.cron_schedule_update,
            actor=request.user,
            cron=schedule,
            **form.cleaned_data,
        )
        if saved is not None:
            messages.success(request, f"Saved {schedule.name}: {schedule.description}.")
            return redirect("portal:cron", environment.pk)
    return _page(request, environment, editing=schedule, edit_form=form)


@require_POST
@login_required
def cron_delete(request: HttpRequest, pk: int, cron_pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    schedule = get_object_or_404(CronSchedule, pk=cron_pk, environment=environment)
    services.cron_schedule_delete(actor=request.user, cron=schedule)
    messages.success(request, f"Deleted {schedule.name}; its CronJob is removed on the next apply.")
    return redirect("portal:cron", environment.pk)


@require_POST
@login_required
def cron_run(request: HttpRequest, pk: int, cron_pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    schedule = get_object_or_404(CronSchedule, pk=cron_pk, environment=environment)
    form = CronForm()
    operation = attempt(form, services.cron_run_now, actor=request.user, cron=schedule)
    if operation is None:
        for error in form.non_field_errors():
            messages.error(request, error)
        return redirect("portal:cron", environment.pk)
    messages.success(request, f"Running {schedule.name} now.")
    return redirect("portal:operation", operation.pk)


@login_required
def cron_runs(request: HttpRequest, pk: int, cron_pk: int) -> HttpResponse:
    """The last runs, as Kubernetes keeps them (a fragment loaded by htmx)."""
    environment = environment_or_404(request, pk)
    schedule = get_object_or_404(CronSchedule, pk=cron_pk, environment=environment)
    schedule.environment = environment
    runs, problem = [], ""
    if environment.status == Environment.Status.NEW:
        problem = "Not provisioned yet: nothing has run."
    else:
        try:
            runs = cron_last_runs(actor=request.user, cron=schedule)
        except KubeError as exc:
            problem = f"Could not read the runs from the cluster: {exc.message} Try again later."
        except Exception:  # the page must survive any cluster trouble
            problem = "Could not read the runs from the cluster. Try again later."
    return render(request, "portal/environment/_cron_runs.html", {"runs": runs, "problem": problem})
