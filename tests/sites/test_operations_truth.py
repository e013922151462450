"""Operations that tell the truth (issue 17): running work can be stopped, cancelling
puts back what the cancelled action had marked, the environment's status follows the
operations that really ran, and every release ends in a final state, one of them live."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from clusters.engine import operation_cancel
from clusters.engine.runner import run_operation
from clusters.models import Operation
from sites import services
from sites.models import Environment, Release
from tests.engine import drain, provisioned

S = Operation.Status
E = Environment.Status
OLD = "registry.example.com/acme/web:1.0.0"
NEW = "registry.example.com/acme/web:2.0.0"


def test_cancelling_a_pending_destroy_leaves_the_environment_as_it_was(
    live_environment, owner, developer
):
    environment = provisioned(live_environment, owner)
    destroy = services.environment_destroy(
        actor=owner, environment=environment, confirm=environment.namespace
    )
    environment.refresh_from_db()
    assert environment.status == E.DESTROYING
    # A developer, who may not destroy, may not cancel the owner's destroy either.
    with pytest.raises(PermissionDenied):
        operation_cancel(actor=developer, operation=destroy)
    operation_cancel(actor=owner, operation=destroy)
    environment.refresh_from_db()
    assert environment.status == E.ACTIVE
    # ... and everything works again.
    services.environment_deploy(actor=owner, environment=environment, image=NEW)
    drain()
    environment.refresh_from_db()
    assert (environment.status, environment.image) == (E.ACTIVE, NEW)


def test_a_deploy_finishing_while_a_destroy_waits_does_not_make_it_active(live_environment, owner):
    environment = provisioned(live_environment, owner)
    deploy = services.environment_deploy(actor=owner, environment=environment, image=NEW)
    services.environment_destroy(
        actor=owner, environment=environment, confirm=environment.namespace
    )
    assert run_operation(deploy.pk) == S.SUCCEEDED
    environment.refresh_from_db()
    assert (environment.status, environment.image) == (E.DESTROYING, NEW)


def test_a_finished_operation_says_so_when_cancelled(live_environment, owner):
    environment = provisioned(live_environment, owner)
    op = Operation.objects.filter(kind="environment.provision").get()
    with pytest.raises(ValidationError) as caught:
        operation_cancel(actor=owner, operation=op)
    assert caught.value.message_dict == {"status": ["This operation has already succeeded."]}
    assert environment.status == E.ACTIVE


def test_release_history_ends_every_release_and_starts_at_provisioning(live_environment, owner):
    environment = provisioned(live_environment, owner)
    first = environment.releases.get()
    assert (first.image, first.status, first.note) == (OLD, Release.Status.SUCCEEDED, "Provisioned")

    cancelled = services.environment_deploy(actor=owner, environment=environment, image=NEW)
    operation_cancel(actor=owner, operation=cancelled)
    assert Release.objects.get(operation=cancelled).status == Release.Status.CANCELLED

    services.environment_deploy(actor=owner, environment=environment, image=NEW)
    drain()
    statuses = [r.status for r in environment.releases.order_by("created_at", "pk")]
    assert statuses == [
        Release.Status.SUCCEEDED,
        Release.Status.CANCELLED,
        Release.Status.SUCCEEDED,
    ]
    # The provisioned image can be rolled back to.
    services.environment_rollback(actor=owner, environment=environment, release=first)
    drain()
    environment.refresh_from_db()
    assert environment.image == OLD
    assert not environment.releases.filter(status=Release.Status.PENDING).exists()


def _run_in_background(op: Operation) -> threading.Thread:
    def run() -> None:
        try:
            run_operation(op.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _until(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


@pytest.mark.django_db(transaction=True)
def test_stopping_a_running_deploy_rolls_it_back(live_environment, owner, live_sandbox, live_kube):
    environment = provisioned(live_environment, owner)
    live_sandbox.controllers.rollout_delay = 120  # the new pods take their time
    op = services.environment_deploy(actor=owner, environment=environment, image=NEW)
    thread = _run_in_background(op)
    _until(
        lambda: Operation.objects.get(pk=op.pk).progress_message.startswith("Rollout"),
        "the deploy waits for its rollout",
    )
    operation_cancel(actor=owner, operation=Operation.objects.get(pk=op.pk))
    thread.join(timeout=30)
    op.refresh_from_db()
    assert op.status == S.CANCELLED, op.error
    assert op.error.startswith("Stopped on request. Stop requested by")
    events = [e.message for e in op.events.all()]
    assert any(f"Rolled back: the environment runs {OLD} again" in m for m in events), events
    deployment = live_kube.get("apps/v1", "Deployment", "web", environment.namespace)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == OLD
    environment.refresh_from_db()
    assert (environment.status, environment.image) == (E.ACTIVE, OLD)
    assert Release.objects.get(operation=op).status == Release.Status.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_stopping_a_running_command_deletes_its_job(
    live_environment, owner, developer, live_sandbox, live_kube
):
    environment = provisioned(live_environment, owner)
    live_sandbox.controllers.job_duration = 120
    op = services.environment_run_command(
        actor=developer, environment=environment, command="drush updb -y"
    )
    thread = _run_in_background(op)
    _until(
        lambda: Operation.objects.get(pk=op.pk).progress_message.startswith("Job "),
        "the command's Job runs",
    )
    operation_cancel(actor=developer, operation=Operation.objects.get(pk=op.pk))
    thread.join(timeout=30)
    op.refresh_from_db()
    assert op.status == S.CANCELLED, op.error
    job = op.params["job_name"]
    assert live_kube.get_or_none("batch/v1", "Job", job, environment.namespace) is None


def test_a_running_operation_that_cannot_stop_says_so(live_environment, owner):
    environment = provisioned(live_environment, owner)
    op = services.environment_scale(actor=owner, environment=environment, replicas=3)
    Operation.objects.filter(pk=op.pk).update(status=S.RUNNING)
    op.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        operation_cancel(actor=owner, operation=op)
    assert "cannot be stopped safely" in caught.value.message_dict["status"][0]
