"""What the API server refuses is refused before anything is written (issue 15.2).

Hangar validates what the server validates (the CronJob schedule grammar, the size of a
ConfigMap or Secret, the length of every name it derives), and an operation that writes
several objects dry-runs them all first, so a refusal never leaves half an environment
applied and the database disagreeing with the cluster.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from clusters.models import Operation
from sites import services
from sites.models import CronSchedule, Environment, Release
from tests import factories as f
from tests.engine import drain, provisioned

S = Operation.Status
IMAGE = "registry.example.com/acme/web:{}"
KIB_32 = "x" * (32 * 1024)


def image_on_cluster(kube, environment) -> str:
    deployment = kube.get("apps/v1", "Deployment", "web", environment.namespace)
    return deployment["spec"]["template"]["spec"]["containers"][0]["image"]


def test_a_schedule_the_server_refuses_fails_the_deploy_before_any_write(
    any_environment, owner, any_kube
):
    """The issue's sequence: a cron schedule with day-of-week 7, stored before that rule
    was known, made a deploy write its Deployment and then fail on the CronJob; deleting
    the schedule later rolled the site back to the database's image."""
    environment = provisioned(any_environment, owner)
    # Stored as it was before the rule: the model's validation is not run.
    CronSchedule.objects.create(
        environment=environment, name="weekly", schedule="0 3 * * 7", command="drush cron"
    )
    before = any_kube.get("apps/v1", "Deployment", "web", environment.namespace)

    op = services.environment_deploy(
        actor=owner, environment=environment, image=IMAGE.format("1.2.0")
    )
    drain()

    op.refresh_from_db()
    assert op.status == S.FAILED
    assert "day-of-week: 7 is out of range 0-6" in op.error, op.error
    assert Release.objects.get(operation=op).status == Release.Status.FAILED
    after = any_kube.get("apps/v1", "Deployment", "web", environment.namespace)
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert any_kube.get_or_none("batch/v1", "CronJob", "cron-weekly", environment.namespace) is None
    environment.refresh_from_db()
    assert environment.image == image_on_cluster(any_kube, environment) == IMAGE.format("1.0.0")

    # Deleting the schedule applies what the database says: nothing to roll back.
    services.cron_schedule_delete(actor=owner, cron=CronSchedule.objects.get(name="weekly"))
    drain()
    environment.refresh_from_db()
    assert not environment.config_pending
    assert environment.image == image_on_cluster(any_kube, environment) == IMAGE.format("1.0.0")

    # And the deploy goes through once the configuration is one the server accepts.
    op = services.environment_deploy(
        actor=owner, environment=environment, image=IMAGE.format("1.2.0")
    )
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    assert image_on_cluster(any_kube, environment) == IMAGE.format("1.2.0")


def test_the_servers_refusal_of_one_object_writes_none(live_environment, owner, live_sandbox):
    """An operation writing several objects dry-runs them all first (dryRun=All): a 422
    from the server for the last of them fails the operation before its first write."""
    environment = provisioned(live_environment, owner)
    live_sandbox.faults.add(
        method="PATCH",
        path_regex=r"/cronjobs/cron-nightly$",
        status=422,
        times=None,
        message='CronJob.batch "cron-nightly" is invalid: spec.schedule: Invalid value: '
        '"0 3 * * 7": end of range (7) above maximum (6): 7',
    )
    live_sandbox.requests.clear()
    services.cron_schedule_create(
        actor=owner, environment=environment, name="nightly", schedule="0 3 * * 0", command="ls"
    )
    drain()
    op = Operation.objects.filter(kind="environment.apply_config").latest("pk")
    assert op.status == S.FAILED
    assert "end of range (7) above maximum (6)" in op.error
    writes = [r for r in live_sandbox.requests.writes if "dryRun" not in r.query]
    assert writes == [], [(r.method, r.path) for r in writes]
    dry_runs = [r.path.rsplit("/", 2)[-2] for r in live_sandbox.requests.writes]
    assert "resourcequotas" in dry_runs and "cronjobs" in dry_runs
    environment.refresh_from_db()
    assert environment.config_pending  # the database does not claim it reached the cluster


def test_variables_that_would_overflow_the_configmap_are_refused(any_environment, owner, any_kube):
    """34 variables of 32 KiB made a ConfigMap over the server's 1 MiB, and every later
    operation failed. What fits is accepted by the server; what does not is refused when
    it is typed, on its value."""
    environment = provisioned(any_environment, owner)
    for index in range(31):
        services.env_var_set(
            actor=owner, environment=environment, key=f"BLOB_{index}", value=KIB_32
        )
    drain()
    environment.refresh_from_db()
    assert not environment.config_pending
    configmap = any_kube.get("v1", "ConfigMap", "app-config", environment.namespace)
    assert len(configmap["data"]["BLOB_30"]) == 32 * 1024

    with pytest.raises(ValidationError) as excinfo:
        services.env_var_set(actor=owner, environment=environment, key="BLOB_31", value=KIB_32)
    (message,) = excinfo.value.message_dict["value"]
    assert "ConfigMap app-config would hold 1,048,5" in message
    assert "over 1 MiB (1,048,576 bytes)" in message
    assert not environment.env_vars.filter(key="BLOB_31").exists()
    # A secret goes into the Secret, which has room.
    services.env_var_set(
        actor=owner, environment=environment, key="BLOB_31", value=KIB_32, is_secret=True
    )


def test_a_secret_over_the_limit_is_refused_too(environment, owner):
    for index in range(31):
        f.EnvVarFactory(environment=environment, key=f"S_{index}", value=KIB_32, is_secret=True)
    with pytest.raises(ValidationError) as excinfo:
        services.env_var_set(
            actor=owner, environment=environment, key="S_31", value=KIB_32, is_secret=True
        )
    assert "The Secret app-env would hold" in excinfo.value.message_dict["value"][0]


def test_cron_names_leave_room_for_the_cronjob_name(environment, owner):
    longest = "a" * 47
    cron = services.cron_schedule_create(
        actor=owner, environment=environment, name=longest, schedule="H * * * *", command="ls"
    )
    assert len(f"cron-{cron.name}") == 52
    with pytest.raises(ValidationError) as excinfo:
        services.cron_schedule_create(
            actor=owner, environment=environment, name="b" * 48, schedule="H * * * *", command="ls"
        )
    assert "name" in excinfo.value.message_dict


def test_a_manual_run_of_the_longest_cron_gets_a_job_name_that_fits(environment, owner):
    environment.status = Environment.Status.ACTIVE
    environment.save()
    cron = services.cron_schedule_create(
        actor=owner, environment=environment, name="a" * 47, schedule="H * * * *", command="ls"
    )
    op = services.cron_run_now(actor=owner, cron=cron)
    name = op.params["job_name"]
    assert len(name) <= 63 and not name.endswith("-")
    assert name.startswith("cron-aaaa") and len(name.rsplit("-", 1)[1]) == 6
