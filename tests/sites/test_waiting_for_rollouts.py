"""Waiting for a rollout holds no slot of the cluster (issue 23): the cluster's concurrency
limit governs the work sent to its API server, not the waiting, so another environment's
operation runs while a slow rollout is waited for."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from clusters.engine.runner import run_operation
from clusters.models import Operation
from sites import services
from tests import factories as f
from tests.engine import provisioned
from tests.helpers import wait_for

S = Operation.Status
NEW = "registry.example.com/acme/web:2.0.0"
DELAY = "sandbox.hangar.dev/rollout-delay-seconds"


def _hold_rollouts(kube, environment, seconds: str) -> None:
    """How long the emulator takes to roll the web Deployment out, set by someone other
    than Hangar (its applies leave the annotation alone)."""
    kube.merge_patch(
        "apps/v1",
        "Deployment",
        "web",
        {"metadata": {"annotations": {DELAY: seconds}}},
        namespace=environment.namespace,
        field_manager="test",
    )


def _waiting_in_background(op: Operation) -> tuple[threading.Thread, list[str]]:
    """Run `op` in a thread of its own until it waits for its rollout; the thread and,
    once it ends, what the run returned."""
    outcome: list[str] = []

    def run() -> None:
        try:
            outcome.append(run_operation(op.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    wait_for(
        lambda: Operation.objects.get(pk=op.pk).progress_message.startswith("Rollout"),
        what="the operation to wait for its rollout",
    )
    return thread, outcome


def _second_environment(live_environment):
    site = f.SiteFactory(client=live_environment.site.client, slug="shop", name="Acme shop")
    return f.EnvironmentFactory(
        site=site,
        cluster=live_environment.cluster,
        slug="production",
        image=live_environment.image,
        replicas=1,
        varnish_enabled=False,
    )


@pytest.mark.django_db(transaction=True)
def test_another_environment_deploys_while_a_rollout_is_waited_for(
    live_environment, owner, live_kube
):
    first = provisioned(live_environment, owner)
    second = provisioned(_second_environment(live_environment), owner)
    cluster = first.cluster
    cluster.max_concurrent_operations = 1
    cluster.save(update_fields=["max_concurrent_operations"])
    _hold_rollouts(live_kube, first, "120")

    slow = services.environment_deploy(actor=owner, environment=first, image=NEW)
    thread, outcome = _waiting_in_background(slow)

    # The only slot is free: the second environment's deploy is claimed, writes and
    # finishes while the first one still waits.
    quick = services.environment_deploy(actor=owner, environment=second, image=NEW)
    assert run_operation(quick.pk) == S.SUCCEEDED
    deployment = live_kube.get("apps/v1", "Deployment", "web", second.namespace)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == NEW
    assert Operation.objects.get(pk=slow.pk).status == S.RUNNING

    _hold_rollouts(live_kube, first, "0")
    thread.join(timeout=60)
    assert outcome == [S.SUCCEEDED]
    slow.refresh_from_db()
    assert slow.status == S.SUCCEEDED, slow.error
    assert slow.waiting_since is None
    first.refresh_from_db()
    assert first.image == NEW
    assert live_kube.rollout_status(first.namespace, "web").done


def _deployment_reads(sandbox, environment) -> int:
    return sandbox.requests.count("GET", rf"/namespaces/{environment.namespace}/deployments/web$")


def test_the_wait_follows_the_watch_without_reading_the_deployment(
    live_environment, owner, live_sandbox, live_kube
):
    environment = provisioned(live_environment, owner)  # the worker's watch runs from here
    live_sandbox.controllers.rollout_delay = 1.0  # the rollout has a few steps to follow
    live_sandbox.requests.clear()
    op = services.environment_deploy(actor=owner, environment=environment, image=NEW)
    assert run_operation(op.pk) == S.SUCCEEDED
    assert _deployment_reads(live_sandbox, environment) == 0
    watches = live_sandbox.requests.filter("GET", r"^/apis/apps/v1/deployments$")
    assert all("true" in r.query.get("watch", []) for r in watches), watches  # no re-list
    assert live_kube.rollout_status(environment.namespace, "web").done


@pytest.mark.django_db(transaction=True)
def test_a_watch_answered_410_lists_again_and_the_wait_completes(
    live_environment, owner, live_sandbox, live_kube, monkeypatch
):
    from clusters.kube import watcher

    monkeypatch.setattr(watcher, "STREAM_SECONDS", 1)  # streams end, and resume, often
    environment = provisioned(live_environment, owner)
    _hold_rollouts(live_kube, environment, "120")
    op = services.environment_deploy(actor=owner, environment=environment, image=NEW)
    thread, outcome = _waiting_in_background(op)

    def lists() -> int:
        found = live_sandbox.requests.filter("GET", r"^/apis/apps/v1/deployments$")
        return sum(1 for r in found if "watch" not in r.query)

    listed, reads = lists(), _deployment_reads(live_sandbox, environment)
    # A write the watch does not follow, then the API server forgets the events so far:
    # the watch's next resume is too old (410 Gone).
    live_kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "unrelated", "namespace": environment.namespace},
            "data": {"a": "b"},
        }
    )
    live_sandbox.expire_watch_history()
    wait_for(lambda: lists() > listed, what="the watch to list again")
    _hold_rollouts(live_kube, environment, "0")
    thread.join(timeout=60)
    assert outcome == [S.SUCCEEDED]
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    # What happened before the list is unknown to the watch: the waiter read its
    # Deployment once, then followed the watch again to the end of the rollout.
    assert _deployment_reads(live_sandbox, environment) == reads + 1
    assert live_kube.rollout_status(environment.namespace, "web").done


def test_a_cluster_role_without_the_watch_falls_back_to_reading_and_asks_once(
    live_environment, owner, live_sandbox, live_kube
):
    """A ClusterRole applied before the watch was documented refuses it (403): the wait
    reads its Deployment instead, and the refused watch is not asked again at every
    backoff (one 403 in the API server's audit log, not dozens)."""
    live_sandbox.deny(verb="list", resource="deployments", namespace=None)
    live_sandbox.deny(verb="watch", resource="deployments", namespace=None)

    def refused() -> list:
        found = live_sandbox.requests.filter("GET", r"^/apis/apps/v1/deployments$")
        return [r for r in found if r.status == 403]

    environment = provisioned(live_environment, owner)  # its wait starts the watch
    reads = _deployment_reads(live_sandbox, environment)
    live_sandbox.controllers.rollout_delay = 2.0
    for image in (NEW, "registry.example.com/acme/web:2.0.1"):
        op = services.environment_deploy(actor=owner, environment=environment, image=image)
        assert run_operation(op.pk) == S.SUCCEEDED
    assert _deployment_reads(live_sandbox, environment) > reads
    assert len(refused()) == 1, refused()
    assert live_kube.rollout_status(environment.namespace, "web").done
