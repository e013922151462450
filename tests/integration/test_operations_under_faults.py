"""Operations under faults with real parts: Celery workers on a private Redis, PostgreSQL,
the sandbox cluster (issue 14, items 3, 6, 7 and 8)."""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
from functools import partial

import pytest
import redis
from django.conf import settings as django_settings

from clusters.engine.runner import run_operation
from clusters.models import Operation
from controlpanel.celery import app
from sites import services
from sites.models import Environment
from tests import factories as f
from tests.helpers import wait_for
from tests.integration.conftest import use_broker

S = Operation.Status
pytestmark = pytest.mark.django_db(transaction=True)


def provision_fleet(cluster, client, owner, count: int, slug: str) -> list[Operation]:
    """`count` new environments of one site, each provisioned by its owner's action."""
    site = f.SiteFactory(client=client, slug=slug)
    return [
        services.environment_provision(
            actor=owner,
            environment=f.EnvironmentFactory(
                site=site, cluster=cluster, slug=f"e{i}", image="", replicas=1
            ),
        )
        for i in range(count)
    ]


def finished(op: Operation) -> Operation | None:
    op.refresh_from_db()
    return op if op.is_finished else None


# --- 14.6: a killed worker's run is taken back when its message comes back ---------------


def test_a_redelivered_task_of_a_killed_pool_process_takes_the_operation_back_at_once(
    live_environment, owner, live_kube, live_sandbox, start_worker
):
    """No sweeper runs here, and heartbeats would take an hour to go stale: only the
    redelivered message can bring the operation back, and it must not be refused."""
    live_sandbox.controllers.rollout_delay = 3.0  # long enough to kill the process mid-wait
    worker = start_worker(pool="prefork", concurrency=1, env={"HANGAR_STALE_AFTER_SECONDS": "3600"})
    op = services.environment_provision(actor=owner, environment=live_environment)

    def waiting_for_rollout() -> bool:
        op.refresh_from_db()
        return op.status == S.RUNNING and op.steps_done >= 2

    wait_for(waiting_for_rollout, timeout=30, what="the worker to reach the rollout")
    [child] = worker.children()
    assert f":{child}:" in op.worker  # the claim names the process that runs it
    live_sandbox.controllers.rollout_delay = 0.05
    os.kill(child, signal.SIGKILL)
    wait_for(lambda: finished(op), timeout=60, what="the redelivered run")
    assert op.status == S.SUCCEEDED, op.error
    assert op.attempts == 2
    assert op.events.filter(message__contains="is gone; running it again").exists()
    assert "not-claimed" not in worker.log.read_text()


def test_refusals_are_rare_in_a_fleet_larger_than_the_cluster_limit(
    live_cluster, owner, client_a, start_worker
):
    """12 environments, 2 at a time on the cluster, 4 worker threads: messages go out as
    slots free, so almost none is turned away (one per operation, and more, before)."""
    live_cluster.max_concurrent_operations = 2
    live_cluster.save()
    worker = start_worker(pool="threads", concurrency=4)
    ops = provision_fleet(live_cluster, client_a, owner, 12, "fleet")
    for op in ops:
        wait_for(partial(finished, op), timeout=90, what="the fleet")
    assert all(op.status == S.SUCCEEDED for op in ops), [op.error for op in ops]

    def results() -> list[str]:
        return re.findall(r"succeeded in [0-9.]+s: '([a-z-]+)'", worker.log.read_text())

    # The worker logs a task's result just after the row says it finished.
    wait_for(lambda: results().count("succeeded") == len(ops), what="the worker's log")
    refused = results().count("not-claimed")
    assert refused <= len(ops) // 4, f"{refused} refusals for {len(ops)} operations"


# --- 14.8: a retry goes on the queue workers poll first ----------------------------------


def test_a_retry_is_published_on_the_queue_workers_poll_first(
    live_environment, live_sandbox, owner, broker, settings
):
    settings.HANGAR_OPERATION_DISPATCH = "celery"
    queues = redis.Redis.from_url(broker.url)
    op = services.environment_provision(actor=owner, environment=live_environment)
    assert queues.llen("operations") == 1  # sent on commit; no worker takes it here
    rule = live_sandbox.faults.error(503, times=None)  # a moment of trouble
    try:
        assert run_operation(op.pk) == S.PENDING
    finally:
        live_sandbox.faults.remove(rule)
    op.refresh_from_db()
    assert op.status == S.PENDING and op.attempts == 1 and op.enqueued_at is not None
    assert queues.llen("operation-retries") == 1
    assert queues.llen("operations") == 1


# --- 14.7: the broker down costs an action one bounded try -------------------------------


class Blackhole:
    """A port that accepts connections and never answers; counts them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        for conn in self.accepted:
            conn.close()
        self.sock.close()


def _connects(monkeypatch) -> list[int]:
    """Counts redis-py's connection attempts (a spy: each still connects for real)."""
    calls: list[int] = []
    original = redis.connection.AbstractConnection.connect

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "connect", counted)
    return calls


@pytest.mark.parametrize("outage", ["refused", "blackhole"])
def test_actions_with_the_broker_down_try_once_briefly_and_are_delivered_later(
    live_cluster, owner, client_a, settings, monkeypatch, outage, broker, start_worker
):
    settings.HANGAR_OPERATION_DISPATCH = "celery"
    hole = Blackhole() if outage == "blackhole" else None
    if hole is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
    else:
        port = hole.port
    use_broker(f"redis://127.0.0.1:{port}/0")
    connects = _connects(monkeypatch)
    try:
        ops = provision_fleet(live_cluster, client_a, owner, 3, "down")
    finally:
        if hole is not None:
            hole.close()
    # Accepted and recorded; one connection attempt in all, no retry by kombu or redis-py.
    assert all(Operation.objects.get(pk=op.pk).status == S.PENDING for op in ops)
    assert len(connects) == 1
    if hole is not None:
        assert len(hole.accepted) == 1
    transport = app.connection_for_write().transport_options
    assert transport["max_retries"] == 0 and transport["retry_on_timeout"] is False
    assert transport["socket_timeout"] == django_settings.HANGAR_BROKER_TIMEOUT
    # The broker is back: the sweeper delivers them.
    use_broker(broker.url)
    monkeypatch.undo()
    start_worker()
    from clusters.engine.sweeper import sweep

    def all_done() -> bool:
        sweep()
        return all(finished(op) for op in ops)

    wait_for(all_done, timeout=60, what="the operations accepted while the broker was down")
    assert all(op.status == S.SUCCEEDED and op.attempts == 1 for op in ops)


# --- 14.3: periodic work never holds the operations' workers -----------------------------


def test_a_slow_api_server_during_the_drift_pass_never_holds_up_operations(
    live_cluster, live_sandbox, owner, client_a, start_worker, tmp_path
):
    """The deployment's two workers: operations, and periodic work. Every drift read
    answers after 3 s; a provision started meanwhile finishes while the pass still runs."""
    start_worker(queues="operation-retries,operations")
    start_worker(queues="periodic,webhooks", pool="threads", concurrency=2)
    site = f.SiteFactory(client=client_a, slug="slow")
    checked = [
        f.EnvironmentFactory(
            site=site,
            cluster=live_cluster,
            slug=f"a{i}",
            image="registry.example.com/acme/web:1",
            status=Environment.Status.ACTIVE,
        )
        for i in range(3)
    ]
    # Their namespaces were never made: a drift check reads the Namespace, finds it gone
    # and reports just that (sites.services.drift).
    drift_read = r"/api/v1/namespaces/acme-slow-a\d$"
    live_sandbox.faults.delay(3.0, method="GET", path_regex=drift_read, times=None)
    from sites.tasks import reconcile_environments_task

    reconcile_environments_task.delay()
    reconcile_environments_task.delay()  # overlaps the first: skipped by its lock

    def drift_reading() -> bool:
        return live_sandbox.requests.count("GET", drift_read) > 0

    wait_for(drift_reading, timeout=30, what="the drift pass to start reading")
    op = services.environment_provision(
        actor=owner,
        environment=f.EnvironmentFactory(site=site, cluster=live_cluster, slug="new", image=""),
    )
    wait_for(lambda: finished(op), timeout=30, what="the provision")
    assert op.status == S.SUCCEEDED, op.error
    still_unchecked = Environment.objects.filter(
        pk__in=[e.pk for e in checked], drift_checked_at__isnull=True
    )
    assert still_unchecked.exists()  # the pass was still running when it finished
    wait_for(lambda: not still_unchecked.exists(), timeout=60, what="the drift pass")
    logs = "".join(path.read_text() for path in tmp_path.glob("worker*.log"))
    assert "'skipped': 'already running'" in logs
