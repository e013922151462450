"""Nodes with DOKS labels, preloaded CRDs, and custom resources they define."""

from __future__ import annotations

import pytest
from kubernetes import client, config

from clusters.sandbox import SandboxCluster, cert_manager_crds


@pytest.fixture
def loaded():
    with SandboxCluster(
        nodes=[
            {
                "name": "pool-a-1",
                "pool": "pool-a",
                "instance_type": "s-4vcpu-8gb",
                "cpu": "4",
                "memory": "8Gi",
                "allocatable": {"cpu": "3900m", "memory": "6Gi"},
            }
        ],
        objects=cert_manager_crds(),
        controllers=False,
    ) as sandbox:
        api = config.new_client_from_config_dict(sandbox.kubeconfig())
        yield sandbox, api
        api.close()


def test_nodes(loaded):
    sandbox, api = loaded
    sandbox.add_node("pool-b-1", pool="pool-b")
    core = client.CoreV1Api(api)
    nodes = {n.metadata.name: n for n in core.list_node().items}
    node = nodes["pool-a-1"]
    assert node.metadata.labels["doks.digitalocean.com/node-pool"] == "pool-a"
    assert node.metadata.labels["node.kubernetes.io/instance-type"] == "s-4vcpu-8gb"
    assert node.status.capacity == {
        "cpu": "4",
        "memory": "8Gi",
        "pods": "110",
        "ephemeral-storage": "82Gi",
    }
    assert node.status.allocatable["cpu"] == "3900m"
    assert node.status.node_info.kubelet_version == "v1.31.0"
    pool_b = core.list_node(label_selector="doks.digitalocean.com/node-pool=pool-b").items
    assert [n.metadata.name for n in pool_b] == ["pool-b-1"]


def test_pods_are_scheduled_on_nodes(loaded):
    _, api = loaded
    core = client.CoreV1Api(api)
    pod = core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        },
    )
    assert pod.spec.node_name == "pool-a-1"
    assert pod.status.phase == "Running"
    assert pod.status.host_ip == "10.0.0.2"


def test_crds_can_be_listed_and_read(loaded):
    _, api = loaded
    ext = client.ApiextensionsV1Api(api)
    names = {c.metadata.name for c in ext.list_custom_resource_definition().items}
    assert {"certificates.cert-manager.io", "clusterissuers.cert-manager.io"} <= names
    crd = ext.read_custom_resource_definition("certificates.cert-manager.io")
    assert crd.spec.names.kind == "Certificate"
    assert any(c.type == "Established" and c.status == "True" for c in crd.status.conditions)
    with pytest.raises(client.ApiException) as caught:
        ext.read_custom_resource_definition("gateways.gateway.networking.k8s.io")
    assert caught.value.status == 404


def test_custom_resources_of_a_crd_are_served(loaded):
    _, api = loaded
    custom = client.CustomObjectsApi(api)
    body = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "shop-tls"},
        "spec": {
            "secretName": "shop-tls",
            "dnsNames": ["shop.example.com"],
            "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"},
        },
    }
    created = custom.create_namespaced_custom_object(
        "cert-manager.io", "v1", "default", "certificates", body
    )
    assert created["metadata"]["generation"] == 1
    custom.create_cluster_custom_object(
        "cert-manager.io",
        "v1",
        "clusterissuers",
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "ClusterIssuer",
            "metadata": {"name": "letsencrypt"},
            "spec": {"acme": {}},
        },
    )
    listed = custom.list_namespaced_custom_object(
        "cert-manager.io", "v1", "default", "certificates"
    )
    assert [i["metadata"]["name"] for i in listed["items"]] == ["shop-tls"]
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert "cert-manager.io" in groups
