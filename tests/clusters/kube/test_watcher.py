"""Waiting for a rollout through the watch of a cluster's Deployments (issue 23), against a
live API server: woken by the watch's events, and told when the Deployment goes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from clusters.kube.errors import KubeNotFound
from clusters.kube.status import RolloutStatus
from clusters.kube.transport import Transport
from clusters.kube.watcher import DeploymentWatch
from tests.clusters.kube.test_adapter import deployment
from tests.helpers import wait_for


@pytest.fixture
def watched(target) -> Iterator:
    """`target`, its client waiting through a watch of its own."""
    watch = DeploymentWatch(Transport(target.kube.transport.api_client))
    target.kube.deployments = lambda: watch
    yield target
    watch.stop()


def test_a_rollout_is_followed_through_the_watch(watched):
    namespace = watched.namespace()
    watched.kube.apply(deployment(namespace, replicas=2))
    seen: list[RolloutStatus] = []
    status = watched.kube.wait_rollout(
        namespace, "web", timeout=60, poll=0.05, on_progress=seen.append, watch=True
    )
    assert status.done and status.available == 2
    assert seen[-1].done


def test_a_deployment_deleted_while_waited_for_ends_the_wait(sandbox_target):
    watch = DeploymentWatch(Transport(sandbox_target.kube.transport.api_client))
    sandbox_target.kube.deployments = lambda: watch
    namespace = sandbox_target.namespace()
    held = deployment(namespace)
    held["metadata"]["annotations"] = {"sandbox.hangar.dev/rollout-delay-seconds": "120"}
    sandbox_target.kube.apply(held)
    failures: list[Exception] = []
    progress: list[RolloutStatus] = []

    def wait() -> None:
        try:
            sandbox_target.kube.wait_rollout(
                namespace, "web", timeout=60, poll=0.05, on_progress=progress.append, watch=True
            )
        except Exception as exc:
            failures.append(exc)

    thread = threading.Thread(target=wait)
    thread.start()
    wait_for(lambda: watch.streaming and progress, what="the wait to follow the watch")
    sandbox_target.kube.delete("apps/v1", "Deployment", "web", namespace)
    thread.join(timeout=60)
    watch.stop()
    assert len(failures) == 1 and isinstance(failures[0], KubeNotFound), failures
