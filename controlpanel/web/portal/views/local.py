"""Run an environment on a laptop: the compose project to download and the steps."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from controlpanel.core.permissions import Action, can
from controlpanel.web.portal.views.base import render_environment
from controlpanel.web.shortcuts import environment_or_404
from sites.local.compose import LOCAL_PORT, MAIL_UI_PORT
from sites.local.selectors import environment_local_project, live_image, local_project_zip


@login_required
def local(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    project, problem = None, ""
    if not can(request.user, Action.DEPLOY, environment.site.client):
        problem = "Members who may deploy to this environment can download it to run locally."
    else:
        try:
            project = environment_local_project(actor=request.user, environment=environment)
        except ValidationError as exc:
            problem = " ".join(exc.messages)
    context = {
        "project": project,
        "problem": problem,
        "image": live_image(environment),
        "folder": environment.namespace,
        "local_port": LOCAL_PORT,
        "mail_port": MAIL_UI_PORT,
    }
    return render_environment(
        request, environment, "local", "portal/environment/local.html", context
    )


@login_required
def local_zip(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    project = environment_local_project(actor=request.user, environment=environment)
    response = HttpResponse(
        local_project_zip(project, folder=environment.namespace), content_type="application/zip"
    )
    response["Content-Disposition"] = f'attachment; filename="{environment.namespace}.zip"'
    return response
