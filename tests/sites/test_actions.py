"""Each action end to end: service call → operation → objects read back from the cluster."""

from __future__ import annotations

import itertools

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clusters.models import Operation
from sites import selectors, services
from sites.manifests.common import selector_labels
from sites.models import Environment, Release
from tests import factories as f
from tests.engine import drain, provisioned

S = Operation.Status


def test_provision_creates_every_object_and_waits_for_the_rollout(
    live_environment, owner, live_kube
):
    op = services.environment_provision(actor=owner, environment=live_environment)
    assert op.status == S.PENDING
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    assert op.steps_done == op.steps_total == 3
    namespace = live_environment.namespace
    assert (
        live_kube.get("v1", "Namespace", namespace)["metadata"]["labels"][
            "pod-security.kubernetes.io/enforce"
        ]
        == "restricted"
    )
    for api_version, kind, name in [
        ("v1", "ServiceAccount", "web"),
        ("v1", "Secret", "app-env"),
        ("v1", "ConfigMap", "app-config"),
        ("apps/v1", "Deployment", "web"),
        ("v1", "Service", "web"),
        ("policy/v1", "PodDisruptionBudget", "web"),
        ("networking.k8s.io/v1", "NetworkPolicy", "default"),
    ]:
        assert live_kube.get(api_version, kind, name, namespace), (kind, name)
    rollout = live_kube.rollout_status(namespace, "web")
    assert rollout.done and rollout.available == 2
    messages = [e.message for e in op.events.all()]
    assert any("Rollout complete" in m for m in messages)
    live_environment.refresh_from_db()
    assert live_environment.status == Environment.Status.ACTIVE
    assert not live_environment.config_pending


def test_deploy_records_a_release_and_updates_the_pods(live_environment, owner, live_kube):
    provisioned(live_environment, owner)
    op = services.environment_deploy(
        actor=owner, environment=live_environment, image="registry.example.com/acme/web:1.1.0"
    )
    release = Release.objects.get(operation=op)
    assert release.status == Release.Status.PENDING
    live_environment.refresh_from_db()
    assert live_environment.image.endswith(":1.0.0")  # not before the rollout succeeds
    drain()
    release.refresh_from_db()
    live_environment.refresh_from_db()
    assert release.status == Release.Status.SUCCEEDED
    assert live_environment.image == "registry.example.com/acme/web:1.1.0"
    deployment = live_kube.get("apps/v1", "Deployment", "web", live_environment.namespace)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.1.0")


def test_failed_rollout_fails_with_the_reason_and_keeps_the_last_good_release(
    live_environment, owner, live_kube, live_sandbox, settings
):
    provisioned(live_environment, owner)
    settings.HANGAR_ROLLOUT_TIMEOUT = 1.0
    live_sandbox.controllers.rollout_delay = 30  # the new pods never become ready in time
    op = services.environment_deploy(
        actor=owner, environment=live_environment, image="registry.example.com/acme/web:2.0.0"
    )
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED
    assert "did not become ready" in op.error
    live_environment.refresh_from_db()
    assert live_environment.image.endswith(":1.0.0")
    assert Release.objects.get(operation=op).status == Release.Status.FAILED
    # Rolled back on the cluster too.
    deployment = live_kube.get("apps/v1", "Deployment", "web", live_environment.namespace)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.0.0")


def test_scale_and_autoscale(live_environment, owner, live_kube):
    provisioned(live_environment, owner)
    services.environment_scale(actor=owner, environment=live_environment, replicas=4)
    drain()
    namespace = live_environment.namespace
    assert live_kube.get("apps/v1", "Deployment", "web", namespace)["spec"]["replicas"] == 4
    live_environment.refresh_from_db()
    assert live_environment.replicas == 4

    services.environment_autoscale(
        actor=owner,
        environment=live_environment,
        enabled=True,
        min_replicas=2,
        max_replicas=6,
        cpu_target=60,
    )
    drain()
    hpa = live_kube.get("autoscaling/v2", "HorizontalPodAutoscaler", "web", namespace)
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)

    services.environment_autoscale(actor=owner, environment=live_environment, enabled=False)
    drain()
    assert (
        live_kube.get_or_none("autoscaling/v2", "HorizontalPodAutoscaler", "web", namespace) is None
    )


def test_config_changes_reach_the_cluster_and_roll_the_pods(live_environment, owner, live_kube):
    provisioned(live_environment, owner)
    namespace = live_environment.namespace

    def checksum():
        deployment = live_kube.get("apps/v1", "Deployment", "web", namespace)
        return deployment["spec"]["template"]["metadata"]["annotations"][
            "hangar.dev/config-checksum"
        ]

    before = checksum()
    services.env_var_set(actor=owner, environment=live_environment, key="FEATURE", value="on")
    live_environment.refresh_from_db()
    assert live_environment.config_pending
    services.domain_add(actor=owner, environment=live_environment, hostname="www.acme.test")
    drain()
    assert live_kube.get("v1", "ConfigMap", "app-config", namespace)["data"]["FEATURE"] == "on"
    assert checksum() != before
    ingress = live_kube.get("networking.k8s.io/v1", "Ingress", "web", namespace)
    assert ingress["spec"]["rules"][0]["host"] == "www.acme.test"
    live_environment.refresh_from_db()
    assert not live_environment.config_pending

    # Changing an existing variable (issue 17.1) reaches the cluster and rolls the pods too.
    applied = checksum()
    services.env_var_set(actor=owner, environment=live_environment, key="FEATURE", value="off")
    drain()
    assert live_kube.get("v1", "ConfigMap", "app-config", namespace)["data"]["FEATURE"] == "off"
    assert checksum() != applied
    pods = live_kube.list(
        "v1", "Pod", namespace, label_selector=selector_labels(live_environment, "web")
    )
    assert {p["metadata"]["annotations"]["hangar.dev/config-checksum"] for p in pods} == {
        checksum()
    }

    domain = live_environment.domains.get()
    services.domain_remove(actor=owner, domain=domain)
    drain()
    assert live_kube.get_or_none("networking.k8s.io/v1", "Ingress", "web", namespace) is None


def test_cron_create_suspend_run_now_and_delete(live_environment, owner, live_kube):
    provisioned(live_environment, owner)
    namespace = live_environment.namespace
    cron = services.cron_schedule_create(
        actor=owner,
        environment=live_environment,
        name="drupal",
        schedule="H/15 * * * *",
        command="drush cron",
    )
    drain()
    live = live_kube.get("batch/v1", "CronJob", "cron-drupal", namespace)
    assert live["spec"]["schedule"] == cron.resolved_schedule
    assert live["spec"]["concurrencyPolicy"] == "Forbid"

    services.cron_schedule_update(actor=owner, cron=cron, suspended=True)
    drain()
    assert live_kube.get("batch/v1", "CronJob", "cron-drupal", namespace)["spec"]["suspend"]

    op = services.cron_run_now(actor=owner, cron=cron)
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    assert op.result["succeeded"] is True
    job = live_kube.get("batch/v1", "Job", op.params["job_name"], namespace)
    assert job["metadata"]["ownerReferences"][0]["name"] == "cron-drupal"

    services.cron_schedule_delete(actor=owner, cron=cron)
    drain()
    assert live_kube.get_or_none("batch/v1", "CronJob", "cron-drupal", namespace) is None


def test_one_off_command_captures_its_output(live_environment, owner, live_sandbox):
    provisioned(live_environment, owner)
    op = services.environment_run_command(
        actor=owner, environment=live_environment, command="drush cr"
    )
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    assert op.result["output"]
    assert op.result["job"].startswith("task-")


def test_restart_rolls_new_pods(live_environment, owner, live_kube):
    provisioned(live_environment, owner)
    op = services.environment_restart(actor=owner, environment=live_environment)
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    deployment = live_kube.get("apps/v1", "Deployment", "web", live_environment.namespace)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/restartedAt" in annotations
    # A later apply by Hangar keeps the restart stamp (a different field manager owns it).
    services.environment_scale(actor=owner, environment=live_environment, replicas=3)
    drain()
    deployment = live_kube.get("apps/v1", "Deployment", "web", live_environment.namespace)
    assert (
        "kubectl.kubernetes.io/restartedAt"
        in deployment["spec"]["template"]["metadata"]["annotations"]
    )


def test_destroy_needs_the_name_then_deletes_everything(live_environment, owner, live_kube):
    provisioned(live_environment, owner)
    namespace = live_environment.namespace
    with pytest.raises(ValidationError) as excinfo:
        services.environment_destroy(actor=owner, environment=live_environment, confirm="yes")
    assert namespace in excinfo.value.message_dict["confirm"][0]
    assert not Operation.objects.filter(kind="environment.destroy").exists()
    op = services.environment_destroy(actor=owner, environment=live_environment, confirm=namespace)
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    assert live_kube.get_or_none("v1", "Namespace", namespace) is None
    assert not Environment.objects.filter(pk=live_environment.pk).exists()


def test_promote_and_rollback(live_environment, owner, site, live_cluster, live_kube):
    provisioned(live_environment, owner)
    staging = provisioned(
        f.EnvironmentFactory(
            site=site,
            cluster=live_cluster,
            slug="staging",
            image="registry.example.com/acme/web:1.0.0",
        ),
        owner,
    )
    digest = "sha256:" + "ab" * 32
    services.environment_deploy(
        actor=owner, environment=staging, image=f"registry.example.com/acme/web:1.2.0@{digest}"
    )
    drain()
    services.environment_promote(actor=owner, source=staging, target=live_environment)
    drain()
    live_environment.refresh_from_db()
    assert live_environment.image == f"registry.example.com/acme/web:1.2.0@{digest}"
    first = live_environment.releases.filter(status=Release.Status.SUCCEEDED).last()
    assert first is not None


def test_bad_input_creates_no_operation(live_environment, owner, other_owner, other_environment):
    provisioned(live_environment, owner)
    before = Operation.objects.count()
    cases = [
        (
            lambda: services.environment_deploy(
                actor=owner, environment=live_environment, image="Not A Reference"
            ),
            "image",
        ),
        (
            lambda: services.environment_deploy(
                actor=owner, environment=live_environment, image="nginx"
            ),
            "image",
        ),
        (
            lambda: services.environment_scale(
                actor=owner, environment=live_environment, replicas=500
            ),
            "replicas",
        ),
        (
            lambda: services.environment_autoscale(
                actor=owner,
                environment=live_environment,
                enabled=True,
                min_replicas=5,
                max_replicas=2,
            ),
            "autoscale_max",
        ),
        (
            lambda: services.cron_schedule_create(
                actor=owner,
                environment=live_environment,
                name="bad",
                schedule="99 * * * *",
                command="x",
            ),
            "schedule",
        ),
        (
            lambda: services.environment_run_command(
                actor=owner, environment=live_environment, command="  "
            ),
            "command",
        ),
    ]
    services.domain_add(actor=other_owner, environment=other_environment, hostname="taken.test")
    cases.append(
        (
            lambda: services.domain_add(
                actor=owner, environment=live_environment, hostname="taken.test"
            ),
            "hostname",
        )
    )
    for call, field in cases:
        with pytest.raises(ValidationError) as excinfo:
            call()
        assert field in excinfo.value.message_dict, (field, excinfo.value.message_dict)
    assert Operation.objects.count() == before


def test_viewers_and_other_clients_cannot_act(live_environment, owner, viewer, other_owner):
    provisioned(live_environment, owner)
    for actor in (viewer, other_owner):
        with pytest.raises(PermissionDenied):
            services.environment_deploy(
                actor=actor, environment=live_environment, image="registry.example.com/acme/web:9"
            )
        with pytest.raises(PermissionDenied):
            services.environment_scale(actor=actor, environment=live_environment, replicas=3)
        with pytest.raises(PermissionDenied):
            services.environment_destroy(
                actor=actor, environment=live_environment, confirm=live_environment.namespace
            )
    assert not Operation.objects.filter(requested_by__in=[viewer, other_owner]).exists()


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_scale_requests_run_one_at_a_time_and_the_last_wins(
    live_environment, owner, live_kube
):
    import random
    import threading

    from django.db import connection

    from clusters.engine.runner import run_operation

    provisioned(live_environment, owner)
    wanted = random.sample(range(1, 11), 10)

    def request(replicas):
        try:
            services.environment_scale(actor=owner, environment=live_environment, replicas=replicas)
        finally:
            connection.close()

    requests = [threading.Thread(target=request, args=(n,)) for n in wanted]
    for thread in requests:
        thread.start()
    for thread in requests:
        thread.join()

    scale_ops = list(Operation.objects.filter(kind="environment.scale").order_by("pk"))
    assert len(scale_ops) == 10

    def worker():
        try:
            for _ in range(200):
                for op in scale_ops:
                    run_operation(op.pk)
                if not Operation.objects.filter(status__in=[S.PENDING, S.RUNNING]).exists():
                    return
        finally:
            connection.close()

    workers = [threading.Thread(target=worker) for _ in range(3)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()

    rows = list(Operation.objects.filter(kind="environment.scale").order_by("pk"))
    assert [row.status for row in rows] == [S.SUCCEEDED] * 10
    for earlier, later in itertools.pairwise(rows):
        assert earlier.finished_at <= later.started_at  # never two at once
    last = rows[-1].params["replicas"]
    live_environment.refresh_from_db()
    assert live_environment.replicas == last
    deployment = live_kube.get("apps/v1", "Deployment", "web", live_environment.namespace)
    assert deployment["spec"]["replicas"] == last


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500, "times": 2},
        {"status": 503, "times": 3},
        {"status": 429, "retry_after": 1, "times": 1},
        {"latency": 0.5, "times": 1},
    ],
    ids=["500", "503", "429", "slow"],
)
def test_injected_transient_faults_are_retried_and_converge(
    live_environment, owner, live_sandbox, live_kube, fault
):
    provisioned(live_environment, owner)
    live_sandbox.faults.add(method="PATCH", path_regex="/deployments/web", **fault)
    op = services.environment_deploy(
        actor=owner, environment=live_environment, image="registry.example.com/acme/web:4.0.0"
    )
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    deployment = live_kube.get("apps/v1", "Deployment", "web", live_environment.namespace)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":4.0.0")


def test_injected_422_fails_at_once_with_the_servers_message(live_environment, owner, live_sandbox):
    provisioned(live_environment, owner)
    live_sandbox.faults.add(
        method="PATCH",
        path_regex="/deployments/web",
        status=422,
        message='Deployment.apps "web" is invalid: spec.template.spec.containers[0].image: '
        "Required value",
    )
    live_sandbox.requests.clear()
    op = services.environment_deploy(
        actor=owner, environment=live_environment, image="registry.example.com/acme/web:5.0.0"
    )
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED and op.attempts == 1
    assert "containers[0].image: Required value" in op.error
    assert live_sandbox.requests.count("PATCH", "/deployments/web$") == 1  # nothing retried
    live_environment.refresh_from_db()
    assert live_environment.image.endswith(":1.0.0")


def test_same_idempotency_key_gives_one_operation(live_environment, owner):
    provisioned(live_environment, owner)
    image = "registry.example.com/acme/web:6.0.0"
    first = services.environment_deploy(
        actor=owner, environment=live_environment, image=image, idempotency_key="ci-run-77"
    )
    again = services.environment_deploy(
        actor=owner, environment=live_environment, image=image, idempotency_key="ci-run-77"
    )
    assert first.pk == again.pk
    assert Operation.objects.filter(kind="environment.deploy").count() == 1
    assert Release.objects.filter(image=image).count() == 1
    with pytest.raises(ValidationError):
        services.environment_deploy(
            actor=owner,
            environment=live_environment,
            image=image + "1",
            idempotency_key="ci-run-77",
        )


def test_a_no_op_redeploy_writes_nothing(live_environment, owner, live_sandbox):
    provisioned(live_environment, owner)
    live_sandbox.requests.clear()
    op = services.environment_deploy(
        actor=owner, environment=live_environment, image=live_environment.image
    )
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    assert live_sandbox.requests.writes == []
    assert any("0 written" in event.message for event in op.events.all())


def test_fleet_deploy_reaches_every_matching_environment(
    live_environment, owner, staff_operator, site, live_cluster, live_kube
):
    provisioned(live_environment, owner)
    staging = provisioned(
        f.EnvironmentFactory(
            site=site,
            cluster=live_cluster,
            slug="staging",
            image="registry.example.com/acme/web:1.0.0",
        ),
        owner,
    )
    with pytest.raises(PermissionDenied):
        services.fleet_deploy(
            actor=owner, image="registry.example.com/base:2", where=selectors.FleetFilter()
        )
    batch, operations = services.fleet_deploy(
        actor=staff_operator,
        image="registry.example.com/acme/web:1.0.1",
        where=selectors.FleetFilter(site_kind="drupal"),
    )
    assert len(operations) == 2
    assert selectors.fleet_progress(batch)["counts"]["pending"] == 2
    drain()
    progress = selectors.fleet_progress(batch)
    assert progress["counts"]["succeeded"] == 2 and progress["progress"] == 1.0
    for environment in (live_environment, staging):
        deployment = live_kube.get("apps/v1", "Deployment", "web", environment.namespace)
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.0.1")
    with pytest.raises(ValidationError) as excinfo:
        services.fleet_deploy(
            actor=staff_operator,
            image="registry.example.com/acme/web:1.0.2",
            where=selectors.FleetFilter(site_kind="wordpress"),
        )
    assert "filter" in excinfo.value.message_dict


def test_one_image_rule_a_sha512_reference_deploys(environment, owner):
    """The parser, the model and the forms share one rule: a sha512 digest is as valid as
    a sha256 one, and a reference's length limit is the parser's."""
    from sites import validators as v
    from sites.models import Release

    environment.status = Environment.Status.ACTIVE
    environment.save()
    digest = "sha512:" + "ab" * 64
    operation = services.environment_deploy(
        actor=owner, environment=environment, image=f"registry.example.com/acme/web:2@{digest}"
    )
    release = Release.objects.get(operation=operation)
    assert release.digest == digest
    too_long = "registry.example.com/" + "a" * 300 + ":" + "t" * 128 + "@" + digest
    with pytest.raises(ValidationError) as caught:
        services.environment_deploy(actor=owner, environment=environment, image=too_long)
    assert f"the limit is {v.MAX_IMAGE_REFERENCE_LENGTH}" in str(caught.value.message_dict["image"])
