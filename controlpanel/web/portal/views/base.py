"""The frame every environment page shares: its header, health and tabs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from controlpanel.core.permissions import Action, can
from controlpanel.web import integrations
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
    backups = integrations.backup_actions() is not None
    tabs = [t for t in TABS if t[0] != "backups" or backups]
    page = {
        "environment": environment,
        "site": environment.site,
        "client": environment.site.client,
        "health": health(environment),
        "may": permissions(request.user, environment),
        "tab": tab,
        "tabs": tabs,
        "nav_section": "dashboard",
    }
    return render(request, template, page | (context or {}), status=status)
