"""The engine on its own: ordering, limits, retries, cancellation, idempotency, recovery."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from clusters.engine import OperationFailed, operation_cancel, operation_create, register
from clusters.engine.runner import claim, run_operation
from clusters.engine.services import IdempotencyConflict
from clusters.engine.sweeper import sweep
from clusters.kube.errors import KubeInvalid, KubeTransientError
from clusters.models import Operation
from tests import factories as f
from tests.engine import drain

S = Operation.Status
ran: list[tuple[int, str]] = []
failures: list[int] = []


@register("test.record")
def record(ctx):
    ran.append((ctx.operation.pk, ctx.params.get("label", "")))
    ctx.plan(2)
    ctx.step("first half")
    ctx.step("second half")
    return {"label": ctx.params.get("label", "")}


@register("test.flaky")
def flaky(ctx):
    if ctx.operation.attempts <= ctx.params["fail_times"]:
        raise KubeTransientError("the API server answered 503", status=503)
    return {"attempts": ctx.operation.attempts}


@register("test.invalid")
def invalid(ctx):
    raise KubeInvalid('Deployment.apps "web" is invalid: spec.replicas: must be >= 0', status=422)


@register("test.verdict", on_failure=lambda op: failures.append(op.pk))
def verdict(ctx):
    raise OperationFailed("The site answered 500 after the deploy.")


@register("test.while_running")
def while_running(ctx):
    """Tries to run another operation while this one holds a slot of the cluster."""
    ran.append((ctx.operation.pk, run_operation(ctx.params["other"])))
    return {}


@register("test.waits")
def waits(ctx):
    """Waits for its cluster to act (as a rollout wait does), running another meanwhile."""
    with ctx.waiting():
        ran.append((ctx.operation.pk, run_operation(ctx.params["other"])))
    return {}


@pytest.fixture(autouse=True)
def reset():
    ran.clear()
    failures.clear()


def create(cluster, kind="test.record", lock="environment:1", client=None, **params):
    op, _ = operation_create(
        kind=kind, cluster=cluster, target=cluster, lock_key=lock, client=client, params=params
    )
    return op


def test_an_operation_runs_and_logs_its_steps(cluster):
    op = create(cluster, label="hello")
    assert run_operation(op.pk) == S.SUCCEEDED
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED and op.result == {"label": "hello"}
    assert (op.steps_done, op.steps_total, op.progress) == (2, 2, 1.0)
    assert op.started_at and op.finished_at and op.attempts == 1
    messages = [event.message for event in op.events.all()]
    assert messages[0].startswith("Requested by") and "first half" in messages
    assert messages[-1] == "Succeeded."


def test_operations_of_one_key_run_one_at_a_time_in_order(cluster):
    first, second, _third = (create(cluster, label=x) for x in "abc")
    assert run_operation(second.pk) == "not-claimed"  # the older one goes first
    assert claim(first.pk) is not None
    assert run_operation(second.pk) == "not-claimed"  # one running per key
    Operation.objects.filter(pk=first.pk).update(status=S.PENDING, worker="")
    drain()
    assert [label for _, label in ran] == ["a", "b", "c"]


def test_other_keys_run_alongside(cluster):
    a = create(cluster, lock="environment:1")
    b = create(cluster, lock="environment:2")
    assert claim(a.pk) is not None
    assert claim(b.pk) is not None


def test_the_cluster_limit_protects_its_api_server(cluster):
    cluster.max_concurrent_operations = 1
    cluster.save()
    a = create(cluster, lock="environment:1")
    b = create(cluster, lock="environment:2")
    assert claim(a.pk) is not None
    assert claim(b.pk) is None
    other_cluster_op = create(f.ClusterFactory(), lock="environment:3")
    assert claim(other_cluster_op.pk) is not None


def test_work_turned_away_at_the_cluster_limit_starts_when_a_slot_frees(cluster, monkeypatch):
    """More worker slots than the cluster's limit (a fleet deploy): the operation that found
    the cluster full must not wait for the sweeper; the next finish enqueues it."""
    cluster.max_concurrent_operations = 1
    cluster.save()
    waiting = create(cluster, lock="environment:2", label="waiting")
    running = create(cluster, kind="test.while_running", lock="environment:1", other=waiting.pk)
    enqueued: list[int] = []
    monkeypatch.setattr(
        "clusters.engine.dispatch.enqueue", lambda pk, **kw: enqueued.append(pk) or True
    )
    assert run_operation(running.pk) == S.SUCCEEDED
    assert ran == [(running.pk, "not-claimed")]  # the cluster was full: turned away
    assert enqueued == [waiting.pk]  # and enqueued again once the slot was free
    assert run_operation(waiting.pk) == S.SUCCEEDED


def test_a_finish_enqueues_no_more_than_the_free_slots(cluster, monkeypatch):
    cluster.max_concurrent_operations = 2
    cluster.save()
    first, second = (create(cluster, lock=f"environment:{i}", label=str(i)) for i in (1, 2))
    queued = [create(cluster, lock=f"environment:{i}", label=str(i)) for i in (3, 4, 5)]
    create(cluster, lock="environment:3", label="later, same key")
    assert claim(second.pk) is not None  # holds one of the two slots throughout
    enqueued: list[int] = []
    monkeypatch.setattr(
        "clusters.engine.dispatch.enqueue", lambda pk, **kw: enqueued.append(pk) or True
    )
    assert run_operation(first.pk) == S.SUCCEEDED
    assert enqueued == [queued[0].pk]  # one free slot: the oldest waiting key only


def test_an_operation_waiting_for_its_cluster_gives_its_slot_to_the_next(cluster, monkeypatch):
    cluster.max_concurrent_operations = 1
    cluster.save()
    queued = create(cluster, lock="environment:2", label="queued")
    waiter = create(cluster, kind="test.waits", lock="environment:1", other=queued.pk)
    sent: list[int] = []

    def send(pk: int, **options: object) -> bool:
        sent.append(pk)
        return True

    monkeypatch.setattr("clusters.engine.dispatch.enqueue", send)
    assert run_operation(waiter.pk) == S.SUCCEEDED
    assert sent[0] == queued.pk  # sent as the wait began
    assert ran == [(queued.pk, "queued"), (waiter.pk, S.SUCCEEDED)]  # and ran meanwhile
    assert Operation.objects.get(pk=waiter.pk).waiting_since is None


def test_a_waiting_operation_taken_back_by_the_sweeper_holds_a_slot_again(cluster, settings):
    cluster.max_concurrent_operations = 1
    cluster.save()
    op = create(cluster)
    other = create(cluster, lock="environment:2")
    assert claim(op.pk) is not None
    Operation.objects.filter(pk=op.pk).update(
        waiting_since=timezone.now(), heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert sweep()["recovered"] == [op.pk]
    assert claim(op.pk) is not None  # running again, not waiting: the only slot is its
    assert claim(other.pk) is None


def test_transient_failures_are_retried_until_they_pass(cluster):
    op = create(cluster, kind="test.flaky", fail_times=2)
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED and op.attempts == 3
    warnings = op.events.filter(level="warning")
    assert warnings.count() == 2 and "503" in warnings.first().message


def test_retries_are_bounded(cluster):
    op = create(cluster, kind="test.flaky", fail_times=99)
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED and op.attempts == op.max_attempts
    assert "503" in op.error


def test_permanent_failures_fail_at_once_with_the_servers_message(cluster):
    op = create(cluster, kind="test.invalid")
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED and op.attempts == 1
    assert "spec.replicas: must be >= 0" in op.error


def test_a_handler_verdict_fails_and_calls_the_failure_hook(cluster):
    op = create(cluster, kind="test.verdict")
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED and op.error == "The site answered 500 after the deploy."
    assert failures == [op.pk]


def test_pending_operations_can_be_cancelled(cluster, client_a, owner, viewer, other_owner):
    op = create(cluster, client=client_a)
    for outsider in (viewer, other_owner):
        with pytest.raises(PermissionDenied):
            operation_cancel(actor=outsider, operation=op)
    operation_cancel(actor=owner, operation=op)
    op.refresh_from_db()
    assert op.status == S.CANCELLED
    assert run_operation(op.pk) == "not-claimed"
    with pytest.raises(ValidationError, match="has already been cancelled"):
        operation_cancel(actor=owner, operation=op)


def test_idempotency_key_returns_the_same_operation(cluster, client_a):
    first, created = operation_create(
        kind="test.record",
        cluster=cluster,
        target=cluster,
        lock_key="k",
        client=client_a,
        params={"label": "x"},
        idempotency_key="build-42",
    )
    again, created_again = operation_create(
        kind="test.record",
        cluster=cluster,
        target=cluster,
        lock_key="k",
        client=client_a,
        params={"label": "x"},
        idempotency_key="build-42",
    )
    assert created and not created_again and again.pk == first.pk
    with pytest.raises(IdempotencyConflict):
        operation_create(
            kind="test.record",
            cluster=cluster,
            target=cluster,
            lock_key="k",
            client=client_a,
            params={"label": "y"},
            idempotency_key="build-42",
        )
    assert Operation.objects.count() == 1


def test_a_racing_request_with_the_same_key_and_another_body_is_a_conflict(
    cluster, client_a, monkeypatch
):
    """The other request's row lands between this one's look-up and its insert: its
    look-up saw nothing, its insert hits the unique key."""
    from clusters.engine import services as engine_services

    operation_create(
        kind="test.record",
        cluster=cluster,
        target=cluster,
        lock_key="k",
        client=client_a,
        params={"label": "winner"},
        idempotency_key="build-43",
    )
    real_filter = Operation.objects.filter

    def missed_once(*args, **kwargs):
        monkeypatch.setattr(Operation.objects, "filter", real_filter)
        return real_filter(*args, **kwargs).none()

    monkeypatch.setattr(Operation.objects, "filter", missed_once)
    with pytest.raises(IdempotencyConflict):
        engine_services.operation_create(
            kind="test.record",
            cluster=cluster,
            target=cluster,
            lock_key="k",
            client=client_a,
            params={"label": "loser"},
            idempotency_key="build-43",
        )
    assert Operation.objects.get().params == {"label": "winner"}


def test_sweeper_recovers_operations_whose_worker_stopped(cluster, settings):
    op = create(cluster)
    assert claim(op.pk) is not None
    Operation.objects.filter(pk=op.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.HANGAR_STALE_AFTER_SECONDS + 5)
    )
    result = sweep()
    op.refresh_from_db()
    assert result["recovered"] == [op.pk] and op.status == S.PENDING
    assert "stopped heart-beating" in op.events.filter(level="warning").get().message
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED and op.attempts == 2


def test_sweeper_fails_a_stale_operation_without_attempts_left(cluster, settings):
    op = create(cluster, kind="test.verdict")
    Operation.objects.filter(pk=op.pk).update(max_attempts=1)
    assert claim(op.pk) is not None
    Operation.objects.filter(pk=op.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    sweep()
    op.refresh_from_db()
    assert op.status == S.FAILED and "no attempts are left" in op.error
    assert failures == [op.pk]


def test_a_stale_worker_cannot_overwrite_the_new_owners_result(cluster):
    op = create(cluster)
    stale = claim(op.pk)
    Operation.objects.filter(pk=op.pk).update(status=S.PENDING, worker="")
    fresh = claim(op.pk)
    assert fresh.worker != stale.worker
    from clusters.engine.runner import _finish

    assert _finish(stale, S.FAILED, error="late") is False
    op.refresh_from_db()
    assert op.status == S.RUNNING and op.worker == fresh.worker


def test_sweeper_enqueues_due_pending_work(cluster, settings):
    settings.HANGAR_OPERATION_DISPATCH = "none"
    a = create(cluster, lock="environment:1")
    create(cluster, lock="environment:1")
    c = create(cluster, lock="environment:2")
    Operation.objects.filter(pk=c.pk).update(not_before=timezone.now() + timedelta(hours=1))
    assert sweep()["enqueued"] == [a.pk]


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_never_run_two_operations_of_one_key():
    cluster = f.ClusterFactory()
    ops = [create(cluster, label=str(i)) for i in range(10)]

    def worker():
        try:
            for _ in range(40):
                for op in ops:
                    run_operation(op.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [label for _, label in ran] == [str(i) for i in range(10)]
    rows = list(Operation.objects.order_by("pk"))
    assert all(row.status == S.SUCCEEDED for row in rows)
    for earlier, later in itertools.pairwise(rows):
        assert earlier.finished_at <= later.started_at


def test_an_operation_of_an_unknown_kind_is_left_pending(cluster):
    op = f.OperationFactory(cluster=cluster, kind="from.a.newer.release")
    assert run_operation(op.pk) == "unknown-kind"
    op.refresh_from_db()
    assert op.status == S.PENDING and op.attempts == 0
