"""Every create, update and delete of an environment's configuration (domains, variables,
cron schedules, the backup schedule) counts a new configuration version, is audited and
queues the operation that applies it; a change that changes nothing queues nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from clusters.models import Operation
from controlpanel.core.models import AuditEvent
from sites import services
from sites.backups import services as backup_services
from sites.models import Environment
from tests import factories as f


def _domain(env, owner):
    return services.domain_add(actor=owner, environment=env, hostname="www.acme.test")


def _variable(env, owner):
    return services.env_var_set(actor=owner, environment=env, key="COLOR", value="blue")


def _cron(env, owner):
    return services.cron_schedule_create(
        actor=owner, environment=env, name="nightly", schedule="0 3 * * *", command="drush cron"
    )


def _schedule(env, owner):
    return backup_services.backup_schedule_set(actor=owner, environment=env, keep_daily=5)


# kind → (create, update, delete, audit action prefix / actions)
KINDS = {
    "domain": (
        _domain,
        lambda env, owner, domain: services.domain_update(
            actor=owner, domain=domain, is_primary=True
        ),
        lambda env, owner, domain: services.domain_remove(actor=owner, domain=domain),
        ("domain.add", "domain.update", "domain.remove"),
    ),
    "variable": (
        _variable,
        lambda env, owner, _: services.env_var_set(
            actor=owner, environment=env, key="COLOR", value="green"
        ),
        lambda env, owner, variable: services.env_var_delete(actor=owner, variable=variable),
        ("envvar.create", "envvar.update", "envvar.delete"),
    ),
    "cron": (
        _cron,
        lambda env, owner, cron: services.cron_schedule_update(
            actor=owner, cron=cron, schedule="30 4 * * *"
        ),
        lambda env, owner, cron: services.cron_schedule_delete(actor=owner, cron=cron),
        ("cron.create", "cron.update", "cron.delete"),
    ),
    "backup schedule": (
        _schedule,
        lambda env, owner, _: backup_services.backup_schedule_set(
            actor=owner, environment=env, keep_daily=9
        ),
        lambda env, owner, _: backup_services.backup_schedule_delete(actor=owner, environment=env),
        ("backup.schedule.create", "backup.schedule.change", "backup.schedule.delete"),
    ),
}


@pytest.fixture
def active(site, owner):
    cluster = f.ClusterFactory(slug="config", provision_data=True)
    return f.EnvironmentFactory(
        site=site, cluster=cluster, slug="staging", status=Environment.Status.ACTIVE
    )


def _applies(env) -> list[Operation]:
    return list(
        Operation.objects.filter(
            kind="environment.apply_config", target_type="environment", target_id=env.pk
        ).order_by("pk")
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("verb", ["create", "update", "delete"])
def test_every_configuration_change_is_applied(kind, verb, active, owner):
    create, update, delete, audit_actions = KINDS[kind]
    obj = create(active, owner)
    if verb != "create":
        if verb == "update":
            update(active, owner, obj)
        else:
            delete(active, owner, obj)
    active.refresh_from_db()
    steps = {"create": 1, "update": 2, "delete": 2}[verb]
    assert active.config_version == steps, f"{kind} {verb} did not count a new version"
    applies = _applies(active)
    assert len(applies) == steps, f"{kind} {verb} queued no apply"
    assert applies[-1].params["config_version"] == active.config_version
    assert active.config_pending
    action = audit_actions[["create", "update", "delete"].index(verb)]
    assert AuditEvent.objects.filter(action=action, client=active.site.client).exists()


@pytest.mark.parametrize("kind", ["variable", "cron", "backup schedule"])
def test_an_update_that_changes_nothing_queues_nothing(kind, active, owner):
    create, _, _, _ = KINDS[kind]
    obj = create(active, owner)
    if kind == "variable":
        services.env_var_set(actor=owner, environment=active, key="COLOR", value="blue")
    elif kind == "cron":
        services.cron_schedule_update(actor=owner, cron=obj, schedule="0 3 * * *")
    else:
        backup_services.backup_schedule_set(actor=owner, environment=active, keep_daily=5)
    active.refresh_from_db()
    assert active.config_version == 1
    assert len(_applies(active)) == 1


def test_changes_before_provisioning_count_but_queue_nothing(environment, owner):
    services.env_var_set(actor=owner, environment=environment, key="A", value="1")
    services.env_var_set(actor=owner, environment=environment, key="A", value="2")
    environment.refresh_from_db()
    assert environment.config_version == 2
    assert not _applies(environment)


def test_refused_changes_change_nothing(active, viewer, other_owner, owner):
    variable = _variable(active, owner)
    for actor in (viewer, other_owner):
        with pytest.raises(PermissionDenied):
            services.env_var_set(actor=actor, environment=active, key="COLOR", value="red")
        with pytest.raises(PermissionDenied):
            services.env_var_delete(actor=actor, variable=variable)
    active.refresh_from_db()
    variable.refresh_from_db()
    assert variable.value == "blue" and active.config_version == 1
