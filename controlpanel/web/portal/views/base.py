"""The frame every environment page shares: its header, health and tabs."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from controlpanel.core.permissions import Action, can
from controlpanel.web.portal.selectors import health, with_glance
from sites.models import Environment

TABS = [
    ("overview", "Releases", "portal:environment"),
    ("scaling", "Scaling", "portal:scaling"),
    ("domains", "Domains", "portal:domains"),
    ("variables", "Variables", "portal:variables"),
    ("cron", "Cron", "portal:cron"),
    ("mail", "Mail", "portal:mail"),
    ("logs", "Logs", "portal:logs"),
    ("usage", "Usage", "portal:usage"),
    ("tasks", "Tasks", "portal:tasks"),
    ("local", "Run locally", "portal:local"),
    ("backups", "Backups", "portal:backups"),
    ("settings", "Settings", "portal:environment_settings"),
]


def permissions(user: Any, environment: Environment) -> dict[str, bool]:
    client = environment.site.client
    return {
        "deploy": can(user, Action.DEPLOY, client),
        "scale": can(user, Action.SCALE, client),
        "cron": can(user, Action.MANAGE_CRON, client),
        "variables": can(user, Action.MANAGE_ENV_VARS, client),
        "domains": can(user, Action.MANAGE_DOMAINS, client),
        "run_command": can(user, Action.RUN_COMMAND, client),
        "backup": can(user, Action.BACKUP, client),
        "restore": can(user, Action.RESTORE, client),
        "manage_sites": can(user, Action.MANAGE_SITES, client),
        "destroy": can(user, Action.DESTROY_ENVIRONMENT, client),
    }


def render_environment(
    request: HttpRequest,
    environment: Environment,
    tab: str,
    template: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    glance = with_glance(Environment.objects.filter(pk=environment.pk)).first() or environment
    environment.__dict__.update(
        {
            key: getattr(glance, key, None)
            for key in (
                "last_op_id",
                "last_op_kind",
                "last_op_status",
                "live_image",
                "last_deploy_at",
                "cron_failures",
            )
        }
    )
    page = {
        "environment": environment,
        "site": environment.site,
        "client": environment.site.client,
        "health": health(environment),
        "may": permissions(request.user, environment),
        "tab": tab,
        "tabs": TABS,
        "nav_section": "dashboard",
    }
    return render(request, template, page | (context or {}), status=status)


def render_editable_list(
    request: HttpRequest,
    environment: Environment,
    tab: str,
    rows: dict[str, Any],
    *,
    form_class: type[Form],
    form: Form | None = None,
    editing: Model | None = None,
    edit_form: Form | None = None,
) -> HttpResponse:
    """A tab that lists rows with a form to add one and, while one is edited, its edit form
    in place. A submitted form shown again (with its errors) answers 400."""
    context = rows | {
        "form": form or form_class(),
        "editing": editing,
        "edit_form": edit_form,
    }
    failed = form is not None or (edit_form is not None and edit_form.is_bound)
    return render_environment(
        request,
        environment,
        tab,
        f"portal/environment/{tab}.html",
        context,
        400 if failed else 200,
    )
