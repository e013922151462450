"""Waiting for a rollout survives a network blip (issue 14.2): losing contact with the
API server while waiting is not a failed rollout, and never a reason to roll back."""

from __future__ import annotations

from clusters.models import Operation
from sites import services
from tests.engine import drain, provisioned

S = Operation.Status
NEW = "registry.example.com/acme/web:2.0.0"


def test_connections_reset_while_waiting_do_not_fail_a_good_deploy(
    live_environment, owner, live_sandbox, live_kube, settings
):
    environment = provisioned(live_environment, owner)
    # The Deployment read at each poll, as when the watch of Deployments is down.
    settings.HANGAR_WATCH_DEPLOYMENTS = False
    # More resets than one request's own retries absorb (5 attempts).
    live_sandbox.faults.drop("GET", r"/deployments/web$", times=7)
    op = services.environment_deploy(actor=owner, environment=environment, image=NEW)
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    assert op.attempts == 1
    assert not any("Rolling back" in e.message for e in op.events.all())
    deployment = live_kube.get("apps/v1", "Deployment", "web", environment.namespace)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == NEW


def test_no_answer_until_the_waits_deadline_retries_the_operation_not_a_rollback(
    live_environment, owner, live_sandbox, live_kube, settings
):
    environment = provisioned(live_environment, owner)
    settings.HANGAR_ROLLOUT_TIMEOUT = 0.5
    settings.HANGAR_WATCH_DEPLOYMENTS = False  # as when the watch is down
    # Each dropped read takes 0.2 s, so one read's three tries outlast the wait's deadline
    # whatever the backoff's jitter; the two drops left are absorbed by the retried run's read.
    live_sandbox.faults.add("GET", r"/deployments/web$", drop=True, latency=0.2, times=5)
    op = services.environment_deploy(actor=owner, environment=environment, image=NEW)
    drain()
    op.refresh_from_db()
    events = [e.message for e in op.events.all()]
    assert op.status == S.SUCCEEDED, (op.error, events)
    assert op.attempts == 2  # the first run lost contact and was retried
    assert any("Lost contact with the API server" in m for m in events), events
    assert not any("Rolling back" in m for m in events), events
    environment.refresh_from_db()
    assert environment.image == NEW
