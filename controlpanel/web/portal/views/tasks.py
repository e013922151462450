"""One-off tasks: the common commands of the site's kind as buttons, or any command."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from clusters.models import Operation
from controlpanel.web.portal.forms import CommandForm
from controlpanel.web.portal.views.base import render_environment
from controlpanel.web.shortcuts import attempt, environment_or_404
from sites import services
from sites.models import Environment


def _page(request: HttpRequest, environment: Environment, form=None) -> HttpResponse:
    recent = Operation.objects.filter(
        target_type="environment", target_id=environment.pk, kind="environment.command"
    ).order_by("-created_at", "-id")[:10]
    context = {
        "common_tasks": services.COMMON_TASKS.get(environment.site.kind, []),
        "form": form or CommandForm(initial={"timeout": 3600}),
        "recent": recent,
    }
    return render_environment(
        request,
        environment,
        "tasks",
        "portal/environment/tasks.html",
        context,
        400 if form is not None else 200,
    )


@login_required
def tasks(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, environment_or_404(request, pk))


@require_POST
@login_required
def task_run(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    form = CommandForm(request.POST)
    if form.is_valid():
        operation = attempt(
            form,
            services.environment_run_command,
            actor=request.user,
            environment=environment,
            command=form.cleaned_data["command"],
            timeout=form.cleaned_data["timeout"],
        )
        if operation is not None:
            messages.success(
                request,
                f"Running “{operation.params['command']}” as a Job with the site's image. "
                "Its output appears below as it comes.",
            )
            return redirect("portal:operation", operation.pk)
    return _page(request, environment, form)
