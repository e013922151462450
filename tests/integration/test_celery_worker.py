"""The engine with real parts: Celery workers on Redis, the database, the sandbox cluster."""

from __future__ import annotations

import pytest

from clusters.engine.sweeper import sweep
from clusters.models import Operation
from sites import services
from sites.models import Environment
from tests.helpers import wait_for

S = Operation.Status
pytestmark = pytest.mark.django_db(transaction=True)


def finished(op: Operation) -> Operation | None:
    op.refresh_from_db()
    return op if op.is_finished else None


def test_a_real_worker_provisions_and_deploys(live_environment, owner, live_kube, start_worker):
    start_worker()
    provision = services.environment_provision(actor=owner, environment=live_environment)
    deploy = services.environment_deploy(
        actor=owner, environment=live_environment, image="registry.example.com/acme/web:3.0.0"
    )
    wait_for(lambda: finished(deploy), timeout=60, what="the deploy")
    provision.refresh_from_db()
    assert provision.status == S.SUCCEEDED, provision.error
    assert deploy.status == S.SUCCEEDED, deploy.error
    assert provision.finished_at <= deploy.started_at
    deployment = live_kube.get("apps/v1", "Deployment", "web", live_environment.namespace)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":3.0.0")


def test_a_killed_worker_is_recovered_and_the_environment_converges(
    live_environment, owner, live_kube, live_sandbox, start_worker, settings
):
    settings.HANGAR_STALE_AFTER_SECONDS = 3600  # heartbeats would take an hour to go stale
    live_sandbox.controllers.rollout_delay = 3.0  # long enough to kill the worker mid-wait
    first = start_worker()
    op = services.environment_provision(actor=owner, environment=live_environment)

    def waiting_for_rollout() -> bool:
        op.refresh_from_db()
        return op.status == S.RUNNING and op.steps_done >= 2

    wait_for(waiting_for_rollout, timeout=30, what="the worker to reach the rollout")
    first.kill()
    # The sweeper runs on the same host: it sees the worker's process is gone at once,
    # without waiting for missed heartbeats.
    assert sweep()["recovered"] == [op.pk]
    op.refresh_from_db()
    assert op.status == S.PENDING
    live_sandbox.controllers.rollout_delay = 0.05
    start_worker()
    sweep()  # enqueue it again (a running beat would do this on its own)
    wait_for(lambda: finished(op), timeout=60, what="the recovered operation")
    assert op.status == S.SUCCEEDED, op.error
    assert op.attempts == 2
    assert op.events.filter(message__contains="is gone; running it again").exists()
    live_environment.refresh_from_db()
    assert live_environment.status == Environment.Status.ACTIVE
    assert live_kube.rollout_status(live_environment.namespace, "web").done
    assert not Operation.objects.filter(status=S.RUNNING).exists()


def test_an_action_submitted_while_the_broker_is_down_runs_once_it_is_back(
    live_environment, owner, broker, start_worker
):
    broker.stop()
    op = services.environment_provision(actor=owner, environment=live_environment)
    op.refresh_from_db()
    assert op.status == S.PENDING  # recorded, not lost
    broker.start()
    start_worker()
    sweep()
    wait_for(lambda: finished(op), timeout=60, what="the operation after the broker returned")
    assert op.status == S.SUCCEEDED, op.error
    assert op.attempts == 1
