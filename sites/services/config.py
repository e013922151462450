"""An environment's configuration: its domains, variables, cron schedules (and, through
sites.backups, its backup schedule).

Every create, update and delete of any of them goes through `configuration_change`: check
the permission, validate (field-keyed errors; nothing saved on error), save, audit, count a
new configuration version and, once the environment exists on its cluster, queue the
operation that applies it. One path, so no kind and no verb can skip a step.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F

from clusters.models import Operation
from controlpanel.core.audit import audit_record, save_changes_audited, save_new_audited
from controlpanel.core.models import User
from controlpanel.core.permissions import Action, require
from sites import validators as v
from sites.backups.data import environment_secret_env
from sites.manifests.common import CONFIGMAP_NAME, SECRET_NAME
from sites.manifests.config import configuration
from sites.models import CronSchedule, Domain, Environment, EnvVar
from sites.services.operations import PROVISIONED, environment_operation


class Verb(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


def _queue_apply(*, actor: User | None, environment: Environment) -> Operation | None:
    """Count a new configuration version and, when the environment exists on its cluster,
    queue its apply (inside the changing transaction)."""
    Environment.objects.filter(pk=environment.pk).update(config_version=F("config_version") + 1)
    environment.refresh_from_db(fields=["config_version", "status"])
    if environment.status not in PROVISIONED:
        return None
    operation, _ = environment_operation(
        kind="environment.apply_config",
        environment=environment,
        actor=actor,
        params={"config_version": environment.config_version},
    )
    return operation


@transaction.atomic
def configurations_changed(*, actor: User, environments: Iterable[Environment]) -> None:
    """Something several environments share changed (a client's mail relay): a new
    configuration version for each, and an apply for each that exists on its cluster.
    The caller has saved and audited the change."""
    for environment in environments:
        _queue_apply(actor=actor, environment=environment)


@transaction.atomic
def configuration_change(
    *,
    actor: User,
    environment: Environment,
    permission: Action,
    action: str,
    instance: models.Model,
    verb: Verb,
    fields: dict[str, Any] | None = None,
    editable: Iterable[str] = (),
) -> bool:
    """Create, update (`fields`, limited to `editable`) or delete one piece of
    `environment`'s configuration. Returns whether anything changed; an update that
    changes nothing queues nothing."""
    client = environment.site.client
    require(actor, permission, client)
    if verb == Verb.CREATE:
        save_new_audited(instance, actor=actor, action=action, client=client)
    elif verb == Verb.UPDATE:
        changes = save_changes_audited(
            instance, fields or {}, allowed=editable, actor=actor, action=action, client=client
        )
        if not changes:
            return False
    else:
        audit_record(actor=actor, action=action, target=instance, client=client)
        instance.delete()
    _queue_apply(actor=actor, environment=environment)
    return True


# --- domains ------------------------------------------------------------------------------

DOMAIN_EDITABLE_FIELDS = frozenset({"is_primary", "tls_enabled"})


def _clear_primary(environment_id: int, *, keep: int | None = None) -> None:
    # Moving "primary" is one step for the user, two rows for the database.
    Domain.objects.filter(environment_id=environment_id, is_primary=True).exclude(pk=keep).update(
        is_primary=False
    )


@transaction.atomic
def domain_add(
    *,
    actor: User,
    environment: Environment,
    hostname: str,
    is_primary: bool = False,
    tls_enabled: bool = True,
) -> Domain:
    require(actor, Action.MANAGE_DOMAINS, environment.site.client)
    domain = Domain(
        environment=environment, hostname=hostname, is_primary=is_primary, tls_enabled=tls_enabled
    )
    if is_primary:
        _clear_primary(environment.pk)
    configuration_change(
        actor=actor,
        environment=environment,
        permission=Action.MANAGE_DOMAINS,
        action="domain.add",
        instance=domain,
        verb=Verb.CREATE,
    )
    return domain


@transaction.atomic
def domain_update(*, actor: User, domain: Domain, **fields: Any) -> Domain:
    """Make a domain the primary one, or turn its TLS certificate on or off."""
    require(actor, Action.MANAGE_DOMAINS, domain.environment.site.client)
    if fields.get("is_primary"):
        _clear_primary(domain.environment_id, keep=domain.pk)
    configuration_change(
        actor=actor,
        environment=domain.environment,
        permission=Action.MANAGE_DOMAINS,
        action="domain.update",
        instance=domain,
        verb=Verb.UPDATE,
        fields=fields,
        editable=DOMAIN_EDITABLE_FIELDS,
    )
    return domain


def domain_remove(*, actor: User, domain: Domain) -> None:
    configuration_change(
        actor=actor,
        environment=domain.environment,
        permission=Action.MANAGE_DOMAINS,
        action="domain.remove",
        instance=domain,
        verb=Verb.DELETE,
    )


# --- variables ----------------------------------------------------------------------------


def check_config_size(*, environment: Environment, key: str, value: str, is_secret: bool) -> None:
    """With `key` set to `value`, the ConfigMap and the Secret (Hangar's own values
    included) must each stay within what the API server accepts; else a field error on
    `value`, before anything is saved."""
    variables = [var for var in environment.env_vars.all() if var.key != key]
    variables.append(EnvVar(environment=environment, key=key, value=value, is_secret=is_secret))
    try:
        secret, plain = configuration(environment, variables, environment_secret_env(environment))
    except ValueError:
        return  # a key no object can hold: the key's own validation says so
    try:
        v.validate_config_size(secret, kind="Secret", name=SECRET_NAME)
        v.validate_config_size(plain, kind="ConfigMap", name=CONFIGMAP_NAME)
    except ValidationError as exc:
        raise ValidationError({"value": exc}) from None


@transaction.atomic
def env_var_set(
    *, actor: User, environment: Environment, key: str, value: str, is_secret: bool = False
) -> EnvVar:
    """Create or change one variable. A secret stays secret: it cannot be made plain again,
    since that would reveal its value."""
    require(actor, Action.MANAGE_ENV_VARS, environment.site.client)
    existing = EnvVar.objects.select_for_update().filter(environment=environment, key=key).first()
    check_config_size(
        environment=environment,
        key=key,
        value=value,
        is_secret=is_secret or (existing is not None and existing.is_secret),
    )
    if existing is None:
        variable = EnvVar(environment=environment, key=key, value=value, is_secret=is_secret)
        configuration_change(
            actor=actor,
            environment=environment,
            permission=Action.MANAGE_ENV_VARS,
            action="envvar.create",
            instance=variable,
            verb=Verb.CREATE,
        )
        return variable
    if existing.is_secret and not is_secret:
        raise ValidationError(
            {"is_secret": "A secret variable cannot be made plain; delete and re-create it."}
        )
    configuration_change(
        actor=actor,
        environment=environment,
        permission=Action.MANAGE_ENV_VARS,
        action="envvar.update",
        instance=existing,
        verb=Verb.UPDATE,
        fields={"value": value, "is_secret": is_secret},
        editable={"value", "is_secret"},
    )
    return existing


def env_var_delete(*, actor: User, variable: EnvVar) -> None:
    configuration_change(
        actor=actor,
        environment=variable.environment,
        permission=Action.MANAGE_ENV_VARS,
        action="envvar.delete",
        instance=variable,
        verb=Verb.DELETE,
    )


# --- cron schedules -----------------------------------------------------------------------

CRON_EDITABLE_FIELDS = frozenset({"schedule", "command", "timeout_seconds", "suspended"})


def cron_schedule_create(
    *,
    actor: User,
    environment: Environment,
    name: str,
    schedule: str,
    command: str,
    timeout_seconds: int = 3600,
    suspended: bool = False,
) -> CronSchedule:
    cron = CronSchedule(
        environment=environment,
        name=name,
        schedule=schedule,
        command=command,
        timeout_seconds=timeout_seconds,
        suspended=suspended,
    )
    configuration_change(
        actor=actor,
        environment=environment,
        permission=Action.MANAGE_CRON,
        action="cron.create",
        instance=cron,
        verb=Verb.CREATE,
    )
    return cron


def cron_schedule_update(*, actor: User, cron: CronSchedule, **fields: Any) -> CronSchedule:
    configuration_change(
        actor=actor,
        environment=cron.environment,
        permission=Action.MANAGE_CRON,
        action="cron.update",
        instance=cron,
        verb=Verb.UPDATE,
        fields=fields,
        editable=CRON_EDITABLE_FIELDS,
    )
    return cron


def cron_schedule_delete(*, actor: User, cron: CronSchedule) -> None:
    configuration_change(
        actor=actor,
        environment=cron.environment,
        permission=Action.MANAGE_CRON,
        action="cron.delete",
        instance=cron,
        verb=Verb.DELETE,
    )
