"""Driving the operation engine from tests, without a broker."""

from __future__ import annotations

import time

from django.utils import timezone

from clusters.engine.runner import run_operation
from clusters.models import Operation


def drain(timeout: float = 30.0) -> list[str]:
    """Run pending operations in order until none is left (retries included)."""
    outcomes: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = list(
            Operation.objects.filter(status=Operation.Status.PENDING)
            .order_by("pk")
            .values_list("pk", "not_before")
        )
        if not pending:
            return outcomes
        due = [pk for pk, not_before in pending if not_before <= timezone.now()]
        ran = False
        for pk in due:
            outcome = run_operation(pk)
            if outcome != "not-claimed":
                outcomes.append(outcome)
                ran = True
        if not ran:
            time.sleep(0.02)
    raise AssertionError(f"operations still pending after {timeout}s: {pending}")


def provisioned(environment, actor):
    """`environment` provisioned on its cluster through the service and the engine."""
    from sites import services
    from sites.models import Environment

    services.environment_provision(actor=actor, environment=environment)
    drain()
    environment.refresh_from_db()
    assert environment.status == Environment.Status.ACTIVE, environment.status
    return environment
