"""Claims under faults: a run that lost its claim stops, refusals take no lock, a dead
worker's run is taken back at once, heartbeats outlive a lost connection, retries go
first (issue 14, items 4, 6 and 8)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from clusters.engine import register
from clusters.engine.runner import claim, run_operation
from clusters.engine.services import operation_create
from clusters.engine.sweeper import recover_stale, sweep
from clusters.engine.workers import WorkerIdentity, current
from clusters.models import Operation
from tests import factories as f
from tests.helpers import wait_for

S = Operation.Status
gate = threading.Event()


def configmap(namespace: str, name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"k": "v"},
    }


@register("test.taken_back")
def taken_back(ctx):
    """Writes once, is taken back by the sweeper (missed heartbeats), then tries to go on."""
    namespace = ctx.params["namespace"]
    ctx.plan(2)
    ctx.kube.apply(configmap(namespace, "before"))
    Operation.objects.filter(pk=ctx.operation.pk).update(
        heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert recover_stale() == [ctx.operation.pk]
    if ctx.params["next"] == "step":
        ctx.step("Wrote the first object.")
    ctx.kube.apply(configmap(namespace, "after"))
    ctx.step("Wrote the second object.")
    return {}


@register("test.wait_for_gate")
def wait_for_gate(ctx):
    assert gate.wait(30)
    return {}


def create(cluster, kind="test.wait_for_gate", lock="environment:1", **params):
    op, _ = operation_create(
        kind=kind, cluster=cluster, target=cluster, lock_key=lock, params=params
    )
    return op


@pytest.mark.parametrize("next_call", ["step", "write"])
def test_a_run_that_lost_its_claim_stops_and_never_writes_again(
    live_cluster, live_sandbox, live_kube, next_call
):
    namespace = "claims"
    live_kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    op = create(live_cluster, kind="test.taken_back", namespace=namespace, next=next_call)
    assert run_operation(op.pk) == "lost"
    op.refresh_from_db()
    assert op.status == S.PENDING and op.worker == ""  # the sweeper's, for the next worker
    assert live_kube.get_or_none("v1", "ConfigMap", "before", namespace) is not None
    assert live_kube.get_or_none("v1", "ConfigMap", "after", namespace) is None
    assert live_sandbox.requests.count("PATCH", "/configmaps/after") == 0
    assert not op.events.filter(message__startswith="Wrote").exists()
    assert not op.events.filter(level="error").exists()


@pytest.mark.django_db(transaction=True)
def test_a_claim_that_cannot_win_is_refused_without_waiting_for_locks():
    """The cluster is full and another transaction holds its row (a claim in progress):
    the refusal reads, it does not queue up for the lock (here: it would time out)."""
    cluster = f.ClusterFactory(max_concurrent_operations=1)
    running = create(cluster, lock="environment:1")
    waiting = create(cluster, lock="environment:2")
    Operation.objects.filter(pk=running.pk).update(status=S.RUNNING, worker="elsewhere")
    other = connection.copy()  # a claim in progress elsewhere, holding the cluster's row
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT 1 FROM clusters_cluster WHERE id = %s FOR UPDATE", [cluster.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")
        assert claim(waiting.pk) is None
    finally:
        other.rollback()
        other.close()
        connection.close()  # drops the session's lock_timeout


def test_a_claim_recorded_for_a_gone_process_of_this_host_is_taken_back_at_once(cluster):
    op = create(cluster, kind="test.taken_back")  # any kind; it is not run here
    me = current()
    gone = WorkerIdentity(me.host, me.pid, str(int(me.started or "0") + 1))  # pid reused
    Operation.objects.filter(pk=op.pk).update(
        status=S.RUNNING, attempts=1, worker=f"{gone}:abcd1234", heartbeat_at=timezone.now()
    )
    claimed = claim(op.pk)
    assert claimed is not None and claimed.attempts == 2
    assert claimed.worker.startswith(f"{me}:")
    assert op.events.filter(message__contains="is gone; running it again").exists()


def test_a_claim_of_a_live_process_or_another_host_is_left_alone(cluster):
    op = create(cluster)
    me = current()
    for token in (f"{me}:live0000", "other-host:1:12345:abcd1234"):
        Operation.objects.filter(pk=op.pk).update(
            status=S.RUNNING, attempts=1, worker=token, heartbeat_at=timezone.now()
        )
        assert claim(op.pk) is None
        op.refresh_from_db()
        assert op.status == S.RUNNING and op.worker == token


def test_a_retry_due_now_is_sent_before_work_that_has_not_started(cluster, monkeypatch):
    cluster.max_concurrent_operations = 1
    cluster.save()
    fleet = [create(cluster, lock=f"environment:{i}") for i in range(1, 4)]
    retry = create(cluster, lock="environment:9")
    Operation.objects.filter(pk=retry.pk).update(attempts=1, not_before=timezone.now())
    sent: list[tuple[int, bool]] = []
    monkeypatch.setattr(
        "clusters.engine.dispatch.enqueue",
        lambda pk, retry=False, **kw: sent.append((pk, retry)) or True,
    )
    assert sweep()["enqueued"] == [retry.pk]  # one free slot: the retry's
    assert sent == [(retry.pk, True)]  # on the queue workers poll first
    Operation.objects.filter(pk=retry.pk).update(status=S.SUCCEEDED)
    sent.clear()
    assert sweep()["enqueued"] == [fleet[0].pk]


def test_the_dispatcher_sends_no_more_than_the_free_slots(
    cluster, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """A fleet of 12 on a cluster that runs 3 at a time: 3 messages, not 12 (the other 9
    would only be refused, and a retry would wait behind them)."""
    settings.HANGAR_OPERATION_DISPATCH = "thread"
    cluster.max_concurrent_operations = 3
    cluster.save()
    submitted: list[int] = []

    class Recorder:  # the embedded worker's queue, without its thread
        def submit(self, pk, delay=0):
            submitted.append(pk)
            return True  # taken, as by a running worker

    monkeypatch.setattr("clusters.engine.dispatch.embedded_worker", Recorder)
    with django_capture_on_commit_callbacks(execute=True):
        fleet = [create(cluster, lock=f"environment:{i}") for i in range(12)]
    assert submitted == [op.pk for op in fleet[:3]]
    assert Operation.objects.filter(enqueued_at__isnull=False).count() == 3


@pytest.mark.django_db(transaction=True)
def test_heartbeats_resume_after_their_database_connection_is_killed(settings):
    settings.HANGAR_HEARTBEAT_SECONDS = 0.05
    gate.clear()
    op = create(f.ClusterFactory())
    runner = threading.Thread(target=lambda: (run_operation(op.pk), connection.close()))
    runner.start()
    try:

        def beating_backends() -> list[int]:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND query LIKE %s",
                    ['UPDATE "clusters_operation" SET "heartbeat_at"%'],
                )
                return [row[0] for row in cursor.fetchall()]

        pids = wait_for(beating_backends, timeout=10, what="the heartbeat's connection")
        with connection.cursor() as cursor:
            for pid in pids:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        killed_at = timezone.now()

        def beat_after_kill() -> bool:
            op.refresh_from_db()
            return op.heartbeat_at > killed_at + timedelta(seconds=0.2)

        wait_for(beat_after_kill, timeout=10, what="a heartbeat on a new connection")
        assert set(beating_backends()).isdisjoint(pids)
    finally:
        gate.set()
        runner.join(timeout=30)
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED
