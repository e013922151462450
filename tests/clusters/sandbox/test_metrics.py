"""The resource metrics API (metrics.k8s.io/v1beta1), as metrics-server serves it, read with
the official client. Runs against the sandbox always, and against KUBECONFIG's cluster (with
metrics-server installed) under `pytest -m cluster`."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

from clusters.sandbox import SandboxCluster

GROUP, VERSION = "metrics.k8s.io", "v1beta1"
# Real clusters: metrics-server scrapes every 15-60 s.
PATIENCE = 120


@pytest.fixture(params=["sandbox", pytest.param("real", marks=pytest.mark.cluster)])
def api(request) -> Iterator[client.ApiClient]:
    if request.param == "real":
        path = os.environ.get("KUBECONFIG")
        if not path:
            pytest.skip("KUBECONFIG is not set: no real cluster to test against")
        api = config.new_client_from_config_dict(yaml.safe_load(Path(path).read_text()))
        yield api
        api.close()
        return
    with SandboxCluster(token="metrics-test", rollout_delay=0.05) as sandbox:
        sandbox.add_node("pool-a-1", pool="pool-a", cpu="2", memory="4Gi")
        api = config.new_client_from_config_dict(sandbox.kubeconfig())
        yield api
        api.close()


@pytest.fixture
def namespace(api) -> Iterator[str]:
    name = f"hangar-test-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


def web(namespace: str, replicas: int) -> dict:
    labels = {"app.kubernetes.io/name": "web", "app.kubernetes.io/managed-by": "hangar"}
    container = {
        "name": "web",
        "image": "registry.k8s.io/pause:3.9",
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


def pod_metrics(api, namespace: str, selector: str = "") -> list[dict]:
    found = client.CustomObjectsApi(api).list_namespaced_custom_object(
        GROUP, VERSION, namespace, "pods", label_selector=selector
    )
    assert found["kind"] == "PodMetricsList" and found["apiVersion"] == f"{GROUP}/{VERSION}"
    return found["items"]


def eventually(check, patience: float = PATIENCE):
    deadline = time.monotonic() + patience
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_discovery_lists_the_metrics_group_and_its_two_read_only_resources(api):
    groups = client.ApisApi(api).get_api_versions()
    (metrics,) = [g for g in groups.groups if g.name == GROUP]
    assert metrics.preferred_version.group_version == f"{GROUP}/{VERSION}"
    resources = client.CustomObjectsApi(api).get_api_resources(GROUP, VERSION)
    found = {r.name: r for r in resources.resources}
    assert (found["pods"].kind, found["pods"].namespaced) == ("PodMetrics", True)
    assert (found["nodes"].kind, found["nodes"].namespaced) == ("NodeMetrics", False)
    assert sorted(found["pods"].verbs) == ["get", "list"]


def test_running_pods_report_cpu_and_memory_use_by_container(api, namespace):
    client.AppsV1Api(api).create_namespaced_deployment(namespace, web(namespace, 2))
    items = eventually(
        lambda: len(pod_metrics(api, namespace)) == 2 and pod_metrics(api, namespace)
    )
    assert items, "no pod metrics within the patience"
    for item in items:
        assert item["metadata"]["namespace"] == namespace
        assert item["window"] and item["timestamp"]
        (container,) = item["containers"]
        assert container["name"] == "web"
        assert set(container["usage"]) == {"cpu", "memory"}
    # Label selectors filter as on any list.
    assert len(pod_metrics(api, namespace, "app.kubernetes.io/name=web")) == 2
    assert pod_metrics(api, namespace, "app.kubernetes.io/name=cron") == []
    # One pod by name.
    name = items[0]["metadata"]["name"]
    one = client.CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "pods", name
    )
    assert one["kind"] == "PodMetrics" and one["metadata"]["name"] == name


def test_a_pod_without_metrics_is_not_found(api, namespace):
    with pytest.raises(client.ApiException) as excinfo:
        client.CustomObjectsApi(api).get_namespaced_custom_object(
            GROUP, VERSION, namespace, "pods", "web-nothing-here"
        )
    assert excinfo.value.status == 404
    assert yaml.safe_load(excinfo.value.body)["reason"] == "NotFound"


def test_nodes_report_their_use(api):
    nodes = client.CoreV1Api(api).list_node().items
    found = client.CustomObjectsApi(api).list_cluster_custom_object(GROUP, VERSION, "nodes")
    assert found["kind"] == "NodeMetricsList"
    assert {i["metadata"]["name"] for i in found["items"]} == {n.metadata.name for n in nodes}
    for item in found["items"]:
        assert set(item["usage"]) == {"cpu", "memory"}


def test_metrics_are_read_only(api, namespace):
    with pytest.raises(client.ApiException) as excinfo:
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, namespace, "pods", {"metadata": {"name": "x"}}
        )
    assert excinfo.value.status == 405
