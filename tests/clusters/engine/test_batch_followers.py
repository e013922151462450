"""A failure hook ends what was queued with the failed operation after it
(operations_after_cancel): only its batch's followers under its lock key, each cancelled
with the reason and its cancel hook run, before any reaches its handler; work queued on
its own later (a destroy) still runs. A follower already started is asked to stop."""

from __future__ import annotations

from django.db.models import F

from clusters.engine import OperationFailed, operation_create, register
from clusters.engine.services import operations_after_cancel
from clusters.models import Operation
from tests.engine import drain

S = Operation.Status
ran: list[int] = []
cancelled: list[int] = []


def _end_followers(operation: Operation) -> None:
    operations_after_cancel(operation, reason=f"Not run: #{operation.pk} failed.")


@register("test.needed", on_failure=_end_followers)
def needed(ctx):
    raise OperationFailed("The data could not be loaded.")


@register("test.follower", on_cancel=lambda op: cancelled.append(op.pk), abortable=True)
def follower(ctx):
    ran.append(ctx.operation.pk)
    return {}


def create(cluster, kind, lock="environment:1", batch=""):
    op, _ = operation_create(kind=kind, cluster=cluster, target=cluster, lock_key=lock)
    Operation.objects.filter(pk=op.pk).update(batch=batch)
    return op


def test_a_failure_ends_its_batch_followers_and_nothing_else(cluster):
    ran.clear()
    cancelled.clear()
    first = create(cluster, "test.needed", batch="b1")
    deploy = create(cluster, "test.follower", batch="b1")
    elsewhere = create(cluster, "test.follower", lock="environment:2", batch="b1")
    later = create(cluster, "test.follower")  # queued on its own, after
    drain()
    first.refresh_from_db()
    deploy.refresh_from_db()
    assert first.status == S.FAILED
    assert deploy.status == S.CANCELLED and deploy.error == f"Not run: #{first.pk} failed."
    assert deploy.started_at is None and deploy.pk not in ran
    assert cancelled == [deploy.pk]  # its kind's cancel hook ran
    assert sorted(ran) == sorted([elsewhere.pk, later.pk])


def test_a_follower_already_started_is_asked_to_stop(cluster):
    first = create(cluster, "test.needed", batch="b2")
    started = create(cluster, "test.follower", batch="b2")
    Operation.objects.filter(pk=first.pk).update(status=S.FAILED)
    Operation.objects.filter(pk=started.pk).update(status=S.RUNNING, attempts=F("attempts") + 1)
    first.refresh_from_db()
    assert operations_after_cancel(first, reason="Not run.") == [started]
    started.refresh_from_db()
    assert started.status == S.RUNNING and started.abort_requested_at is not None
    assert started.events.filter(message="Stop requested by the system: Not run.").exists()
