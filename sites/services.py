"""Writes on sites and what describes them. Each service checks permission, validates
(field-keyed errors; nothing is saved on error), saves and audits in one transaction.

A change of domains, variables or cron schedules bumps the environment's configuration
version and, once the environment is provisioned, queues an operation that applies it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from clusters.models import Cluster, NodePool
from controlpanel.core.audit import audit_record, save_changes_audited, save_new_audited
from controlpanel.core.models import Client, User
from controlpanel.core.permissions import Action, require
from sites.actions import config_changed
from sites.models import CronSchedule, Domain, Environment, EnvVar, Site, SiteKind, Tier


@transaction.atomic
def site_create(
    *,
    actor: User,
    client: Client,
    name: str,
    slug: str,
    kind: str = SiteKind.DRUPAL,
    repository_url: str = "",
    image_repository: str = "",
) -> Site:
    require(actor, Action.MANAGE_SITES, client)
    site = Site(
        client=client,
        name=name,
        slug=slug,
        kind=kind,
        repository_url=repository_url,
        image_repository=image_repository,
    )
    return save_new_audited(site, actor=actor, action="site.create", client=client)


@transaction.atomic
def environment_create(
    *,
    actor: User,
    site: Site,
    name: str,
    slug: str,
    cluster: Cluster,
    tier: str = Tier.DEVELOPMENT,
    node_pool: NodePool | None = None,
    **settings: Any,
) -> Environment:
    """Record a new environment. Provisioning it on the cluster is an operation of its own."""
    require(actor, Action.MANAGE_SITES, site.client)
    settings.setdefault("varnish_enabled", site.kind == SiteKind.DRUPAL)
    environment = Environment(
        site=site,
        name=name,
        slug=slug,
        cluster=cluster,
        tier=tier,
        node_pool=node_pool,
        **settings,
    )
    return save_new_audited(
        environment, actor=actor, action="environment.create", client=site.client
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
    client = environment.site.client
    require(actor, Action.MANAGE_DOMAINS, client)
    if is_primary:
        # Moving "primary" is one step for the user, two rows for the database.
        Domain.objects.filter(environment=environment, is_primary=True).update(is_primary=False)
    domain = Domain(
        environment=environment, hostname=hostname, is_primary=is_primary, tls_enabled=tls_enabled
    )
    save_new_audited(domain, actor=actor, action="domain.add", client=client)
    config_changed(actor=actor, environment=environment)
    return domain


@transaction.atomic
def domain_remove(*, actor: User, domain: Domain) -> None:
    client = domain.environment.site.client
    require(actor, Action.MANAGE_DOMAINS, client)
    audit_record(actor=actor, action="domain.remove", target=domain, client=client)
    environment = domain.environment
    domain.delete()
    config_changed(actor=actor, environment=environment)


@transaction.atomic
def env_var_set(
    *, actor: User, environment: Environment, key: str, value: str, is_secret: bool = False
) -> EnvVar:
    """Create or change one variable. A secret stays secret: it cannot be made plain again,
    since that would reveal its value."""
    client = environment.site.client
    require(actor, Action.MANAGE_ENV_VARS, client)
    existing = EnvVar.objects.select_for_update().filter(environment=environment, key=key).first()
    if existing is None:
        variable = EnvVar(environment=environment, key=key, value=value, is_secret=is_secret)
        save_new_audited(variable, actor=actor, action="envvar.create", client=client)
        config_changed(actor=actor, environment=environment)
        return variable
    if existing.is_secret and not is_secret:
        raise ValidationError(
            {"is_secret": "A secret variable cannot be made plain; delete and re-create it."}
        )
    save_changes_audited(
        existing,
        {"value": value, "is_secret": is_secret},
        allowed={"value", "is_secret"},
        actor=actor,
        action="envvar.update",
        client=client,
    )
    return existing


@transaction.atomic
def env_var_delete(*, actor: User, variable: EnvVar) -> None:
    client = variable.environment.site.client
    require(actor, Action.MANAGE_ENV_VARS, client)
    audit_record(actor=actor, action="envvar.delete", target=variable, client=client)
    environment = variable.environment
    variable.delete()
    config_changed(actor=actor, environment=environment)


CRON_EDITABLE_FIELDS = frozenset({"schedule", "command", "timeout_seconds", "suspended"})


@transaction.atomic
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
    client = environment.site.client
    require(actor, Action.MANAGE_CRON, client)
    cron = CronSchedule(
        environment=environment,
        name=name,
        schedule=schedule,
        command=command,
        timeout_seconds=timeout_seconds,
        suspended=suspended,
    )
    save_new_audited(cron, actor=actor, action="cron.create", client=client)
    config_changed(actor=actor, environment=environment)
    return cron


@transaction.atomic
def cron_schedule_update(*, actor: User, cron: CronSchedule, **fields: Any) -> CronSchedule:
    client = cron.environment.site.client
    require(actor, Action.MANAGE_CRON, client)
    changes = save_changes_audited(
        cron,
        fields,
        allowed=CRON_EDITABLE_FIELDS,
        actor=actor,
        action="cron.update",
        client=client,
    )
    if changes:
        config_changed(actor=actor, environment=cron.environment)
    return cron


@transaction.atomic
def cron_schedule_delete(*, actor: User, cron: CronSchedule) -> None:
    client = cron.environment.site.client
    require(actor, Action.MANAGE_CRON, client)
    audit_record(actor=actor, action="cron.delete", target=cron, client=client)
    environment = cron.environment
    cron.delete()
    config_changed(actor=actor, environment=environment)
