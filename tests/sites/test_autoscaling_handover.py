"""Turning autoscaling on or off never dips the running count (issue 15.4).

On a real API server, a Deployment applied without `spec.replicas` by its only owner is
reset to 1 (3 → 1, and the autoscaler raised it to 2 fifteen seconds later). Every count
the Deployment has during the operation is watched here.
"""

from __future__ import annotations

import threading
import uuid

from kubernetes import client as k8s
from kubernetes import watch

from clusters.kube.ownership import field_managers
from clusters.kube.transport import api_client_for
from clusters.models import Operation
from sites import services
from tests.engine import drain, provisioned

S = Operation.Status


class ReplicaWatch:
    """Every spec.replicas the web Deployment has, from a watch started now until the
    watch sees the mark `stop` writes (so it has seen every write before it)."""

    MARK = "test.hangar.dev/mark"

    def __init__(self, cluster, namespace: str, kube) -> None:
        self.apps = k8s.AppsV1Api(api_client_for(cluster.pk, cluster.kubeconfig))
        self.namespace = namespace
        self.seen: list[int] = []
        self.marked = threading.Event()
        self.token = uuid.uuid4().hex
        start = kube.get("apps/v1", "Deployment", "web", namespace)
        self.version = start["metadata"]["resourceVersion"]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        stream = watch.Watch()
        for event in stream.stream(
            self.apps.list_namespaced_deployment,
            self.namespace,
            field_selector="metadata.name=web",
            resource_version=self.version,
            timeout_seconds=120,
        ):
            deployment = event["object"]
            self.seen.append(deployment.spec.replicas)
            if (deployment.metadata.annotations or {}).get(self.MARK) == self.token:
                self.marked.set()
                stream.stop()

    def stop(self, kube) -> list[int]:
        kube.merge_patch(
            "apps/v1",
            "Deployment",
            "web",
            {"metadata": {"annotations": {self.MARK: self.token}}},
            self.namespace,
            field_manager="test",
        )
        assert self.marked.wait(timeout=60), "the watch never saw the end mark"
        return self.seen


def replicas_during(environment, kube, action) -> list[int]:
    """Run `action` and its operations; the counts the Deployment had meanwhile."""
    watcher = ReplicaWatch(environment.cluster, environment.namespace, kube)
    op = action()
    drain()
    op.refresh_from_db()
    assert op.status == S.SUCCEEDED, op.error
    return watcher.stop(kube)


def test_autoscaling_on_and_off_keeps_the_running_count(any_environment, owner, any_kube):
    any_environment.replicas = 3
    any_environment.save()
    environment = provisioned(any_environment, owner)
    namespace = environment.namespace

    counts = replicas_during(
        environment,
        any_kube,
        lambda: services.environment_autoscale(
            actor=owner, environment=environment, enabled=True, min_replicas=2, max_replicas=6
        ),
    )

    assert counts and min(counts) >= 3, counts
    deployment = any_kube.get("apps/v1", "Deployment", "web", namespace)
    assert deployment["spec"]["replicas"] >= 3
    assert "hangar" not in field_managers(deployment, "spec", "replicas")
    hpa = any_kube.get("autoscaling/v2", "HorizontalPodAutoscaler", "web", namespace)
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)

    # The autoscaler scales up, through the scale subresource as its controller does.
    any_kube.transport.request(
        "PATCH",
        f"/apis/apps/v1/namespaces/{namespace}/deployments/web/scale",
        body={"spec": {"replicas": 5}},
        content_type="application/merge-patch+json",
        query=[("fieldManager", "kube-controller-manager")],
    )
    environment.refresh_from_db()

    counts = replicas_during(
        environment,
        any_kube,
        lambda: services.environment_autoscale(actor=owner, environment=environment, enabled=False),
    )

    assert counts and min(counts) >= 5, counts
    deployment = any_kube.get("apps/v1", "Deployment", "web", namespace)
    assert deployment["spec"]["replicas"] == 5
    assert "hangar" in field_managers(deployment, "spec", "replicas")
    assert (
        any_kube.get_or_none("autoscaling/v2", "HorizontalPodAutoscaler", "web", namespace) is None
    )
    environment.refresh_from_db()
    assert environment.replicas == 5 and not environment.autoscale_enabled
