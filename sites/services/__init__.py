"""Writes of the sites app: every change people make to sites and environments.

Import from here (``from sites import services``); the modules are grouped by concern:
``sites`` (creating sites and environments), ``environments`` (actions that become
operations), ``config`` (domains, variables, cron: one write path), ``fleet``, ``drift``,
``capacity`` (whether pods fit the nodes) and ``operations`` (the one operation
constructor).
"""

from sites.services.capacity import environment_capacity_check
from sites.services.config import (
    CRON_EDITABLE_FIELDS,
    DOMAIN_EDITABLE_FIELDS,
    Verb,
    configuration_change,
    configurations_changed,
    cron_schedule_create,
    cron_schedule_delete,
    cron_schedule_update,
    domain_add,
    domain_remove,
    domain_update,
    env_var_delete,
    env_var_set,
)
from sites.services.drift import environment_check_drift, environment_drift
from sites.services.environments import (
    COMMON_TASKS,
    cron_run_now,
    environment_autoscale,
    environment_deploy,
    environment_destroy,
    environment_destroy_expired,
    environment_promote,
    environment_provision,
    environment_repair,
    environment_restart,
    environment_rollback,
    environment_run_command,
    environment_scale,
    environment_scale_check,
    pinned,
)
from sites.services.fleet import fleet_deploy
from sites.services.operations import PROVISIONED, environment_operation, require_provisioned
from sites.services.sites import environment_create, site_create

__all__ = [
    "COMMON_TASKS",
    "CRON_EDITABLE_FIELDS",
    "DOMAIN_EDITABLE_FIELDS",
    "PROVISIONED",
    "Verb",
    "configuration_change",
    "configurations_changed",
    "cron_run_now",
    "cron_schedule_create",
    "cron_schedule_delete",
    "cron_schedule_update",
    "domain_add",
    "domain_remove",
    "domain_update",
    "env_var_delete",
    "env_var_set",
    "environment_autoscale",
    "environment_capacity_check",
    "environment_check_drift",
    "environment_create",
    "environment_deploy",
    "environment_destroy",
    "environment_destroy_expired",
    "environment_drift",
    "environment_operation",
    "environment_promote",
    "environment_provision",
    "environment_repair",
    "environment_restart",
    "environment_rollback",
    "environment_run_command",
    "environment_scale",
    "environment_scale_check",
    "fleet_deploy",
    "pinned",
    "require_provisioned",
    "site_create",
]
