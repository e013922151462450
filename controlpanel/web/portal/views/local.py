"""Run an environment on a laptop: the compose project to download and the steps, a
sanitized copy of the newest verified backup, the files script, the sanitize rules."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from controlpanel.core.permissions import Action, can
from controlpanel.web.portal.views.base import render_environment
from controlpanel.web.shortcuts import environment_or_404
from sites.local.compose import LOCAL_PORT, MAIL_UI_PORT
from sites.local.selectors import (
    environment_local_project,
    live_image,
    local_project_zip,
    newest_sanitized_dump,
    newest_verified_backup,
)
from sites.local.services import (
    backup_sanitize,
    environment_files_script,
    sanitized_download,
    site_sanitize_rules,
    site_sanitize_rules_set,
)
from sites.models import Backup


def _page(
    request: HttpRequest, environment, rules_errors: list[str] | None = None, rules: str = ""
) -> HttpResponse:
    project, problem = None, ""
    may_deploy = can(request.user, Action.DEPLOY, environment.site.client)
    if not may_deploy:
        problem = "Members who may deploy to this environment can download it to run locally."
    else:
        try:
            project = environment_local_project(actor=request.user, environment=environment)
        except ValidationError as exc:
            problem = " ".join(exc.messages)
    backup = newest_verified_backup(environment) if may_deploy else None
    context = {
        "project": project,
        "problem": problem,
        "image": live_image(environment),
        "folder": environment.namespace,
        "local_port": LOCAL_PORT,
        "mail_port": MAIL_UI_PORT,
        "may_deploy": may_deploy,
        "may_edit_rules": can(request.user, Action.MANAGE_SITES, environment.site.client),
        "backup": backup,
        "dump": newest_sanitized_dump(backup),
        "rules": rules or site_sanitize_rules(environment.site),
        "rules_default": not environment.site.sanitize_sql,
        "rules_errors": rules_errors or [],
        "has_files": environment.cluster.provision_data,
    }
    return render_environment(
        request,
        environment,
        "local",
        "portal/environment/local.html",
        context,
        400 if rules_errors else 200,
    )


@login_required
def local(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, environment_or_404(request, pk))


@login_required
def local_zip(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    project = environment_local_project(actor=request.user, environment=environment)
    response = HttpResponse(
        local_project_zip(project, folder=environment.namespace), content_type="application/zip"
    )
    response["Content-Disposition"] = f'attachment; filename="{environment.namespace}.zip"'
    return response


def _backup(request: HttpRequest, environment, backup_pk: int) -> Backup:
    return get_object_or_404(
        Backup.objects.for_user(request.user).filter(environment=environment), pk=backup_pk
    )


@require_POST
@login_required
def local_sanitize(request: HttpRequest, pk: int, backup_pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    try:
        dump = backup_sanitize(actor=request.user, backup=_backup(request, environment, backup_pk))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("portal:local", environment.pk)
    messages.success(
        request,
        "Sanitizing in the cluster: the raw data never leaves it. The download appears on "
        "the Run locally tab when it is done.",
    )
    return redirect("portal:operation", dump.operation_id)


@login_required
def local_sanitized(request: HttpRequest, pk: int, backup_pk: int) -> HttpResponse:
    """Redirect to a short-lived link of the newest sanitized dump (audited)."""
    environment = environment_or_404(request, pk)
    try:
        _, url = sanitized_download(
            actor=request.user, backup=_backup(request, environment, backup_pk)
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("portal:local", environment.pk)
    return redirect(url)


@login_required
def local_files(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    try:
        script = environment_files_script(actor=request.user, environment=environment)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("portal:local", environment.pk)
    response = HttpResponse(script, content_type="text/x-shellscript; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="files.sh"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def local_rules(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    rules = request.POST.get("sanitize_sql", "")
    try:
        site_sanitize_rules_set(actor=request.user, site=environment.site, sanitize_sql=rules)
    except ValidationError as exc:
        return _page(request, environment, rules_errors=exc.messages, rules=rules)
    messages.success(request, "The sanitize rules are saved; the next sanitized dump uses them.")
    return redirect("portal:local", environment.pk)
