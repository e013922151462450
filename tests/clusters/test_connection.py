"""'Test connection' and node sync on a Cluster, against the sandbox over HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import yaml

from clusters.connection import cluster_test_connection
from clusters.kube.client import KubeClient
from clusters.kube.transport import forget_client
from clusters.models import NodePool, NodeSize
from clusters.nodes import cluster_sync_nodes
from clusters.sandbox import SandboxCluster, cert_manager_crds
from tests import factories as f
from tests.security.conftest import hangar_cluster_role, hangar_environment_role

INGRESS_CLASS = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "IngressClass",
    "metadata": {"name": "nginx"},
    "spec": {"controller": "k8s.io/ingress-nginx"},
}


ISSUER = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "ClusterIssuer",
    "metadata": {"name": "letsencrypt"},
    "spec": {"acme": {"server": "https://acme.example/directory"}},
}


def environment_role(rules: list[dict] | None = None) -> dict:
    """The ClusterRole docs/cluster-access.md installs for Hangar to bind in namespaces."""
    role = hangar_environment_role()
    return role if rules is None else role | {"rules": rules}


@pytest.fixture
def sandbox() -> Iterator[SandboxCluster]:
    with SandboxCluster(
        token="connection-test", objects=[INGRESS_CLASS, *cert_manager_crds()]
    ) as s:
        s.create_object(ISSUER)
        s.create_object(environment_role())
        yield s


@pytest.fixture
def cluster(db, sandbox):
    cluster = f.ClusterFactory(
        api_url=sandbox.url, kubeconfig=yaml.safe_dump(sandbox.kubeconfig()), ingress_class="nginx"
    )
    yield cluster
    forget_client(cluster.pk)


def checks(report) -> dict[str, bool]:
    return {check.name: check.ok for check in report.checks}


def test_a_well_set_up_cluster_passes_every_check(cluster, sandbox):
    sandbox.create_object(METRICS)  # the metrics API is served
    report = cluster_test_connection(cluster=cluster)
    assert report.ok, report
    assert all(check.ok for check in report.checks), report
    assert {c.name for c in report.checks} >= {
        "permissions",
        "environment role",
        "metrics API",
        "ingress class",
        "cert-manager",
    }
    assert report.server_version == "v1.31.0"
    cluster.refresh_from_db()
    assert cluster.connection_ok is True
    assert cluster.connection_report["server_version"] == "v1.31.0"
    assert cluster.connection_checked_at is not None


def test_missing_permissions_are_named(cluster, sandbox):
    sandbox.deny(verb="delete", resource="namespaces")
    sandbox.deny(verb="list", resource="nodes")
    report = cluster_test_connection(cluster=cluster)
    assert not report.ok
    permissions = next(c for c in report.checks if c.name == "permissions")
    assert "delete namespaces" in permissions.detail and "list nodes" in permissions.detail
    assert "docs/cluster-access.md" in permissions.detail


# The metrics API is an APIService on a real cluster; served from a CRD here, its
# discovery document answers the same.
METRICS = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "nodes.metrics.k8s.io"},
    "spec": {
        "group": "metrics.k8s.io",
        "names": {"kind": "NodeMetrics", "plural": "nodes", "singular": "node"},
        "scope": "Cluster",
        "versions": [
            {
                "name": "v1beta1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object"}},
            }
        ],
    },
}


def test_every_missing_rule_is_named_with_what_fails(cluster, sandbox, settings):
    """Issue 15.7: with `create` taken from every namespaced resource, only "create jobs"
    was reported; provisioning then failed with a 403. Every rule is checked now, those of
    the role bound in environment namespaces too."""
    settings.HANGAR_SERVICE_ACCOUNT = ":".join(sandbox.user.split(":")[2:4])
    documented = hangar_environment_role()["rules"]
    no_create = [
        rule | {"verbs": [v for v in rule["verbs"] if v != "create"]} for rule in documented
    ]
    sandbox.delete_object("rbac.authorization.k8s.io/v1", "ClusterRole", "hangar-environment")
    sandbox.create_object(environment_role(no_create))
    sandbox.allow_only(hangar_cluster_role()["rules"])

    report = cluster_test_connection(cluster=cluster)

    assert not report.ok
    detail = {c.name: c.detail for c in report.checks}
    assert checks(report)["permissions"] is True
    missing = detail["environment role"]
    for resource in (
        "secrets",
        "configmaps",
        "serviceaccounts",
        "services",
        "resourcequotas",
        "limitranges",
        "deployments (apps)",
        "jobs (batch)",
        "cronjobs (batch)",
        "ingresses (networking.k8s.io)",
        "networkpolicies (networking.k8s.io)",
        "horizontalpodautoscalers (autoscaling)",
        "poddisruptionbudgets (policy)",
    ):
        assert f"create {resource}" in missing, resource
    assert "get secrets" not in missing
    assert "fail with 403 Forbidden" in missing


def test_refusals_without_a_reason_are_named_all_the_same(cluster, sandbox):
    """RBAC says no without a reason: every refused cluster-level rule is still named."""
    sandbox.allow_only([])
    report = cluster_test_connection(cluster=cluster)
    permissions = next(c for c in report.checks if c.name == "permissions")
    assert not permissions.ok
    for label in (
        "create namespaces",
        "delete namespaces",
        "list nodes",
        "create rolebindings (rbac.authorization.k8s.io)",
        'bind clusterroles (rbac.authorization.k8s.io) named "hangar-environment"',
        "get clusterissuers (cert-manager.io)",
    ):
        assert label in permissions.detail, label


def test_a_missing_metrics_api_is_a_warning_that_says_what_fails(cluster, sandbox):
    # A cluster without metrics-server: its API server knows no metrics.k8s.io.
    sandbox.faults.error(404, path_regex="^/apis/metrics.k8s.io", times=None)
    report = cluster_test_connection(cluster=cluster)
    metrics = next(c for c in report.checks if c.name == "metrics API")
    assert metrics.ok is False and metrics.required is False
    assert "install metrics-server" in metrics.detail
    assert "FailedGetResourceMetric" in metrics.detail
    assert report.ok  # everything else works without it


def test_the_cluster_issuer_is_checked(cluster, sandbox):
    cluster.cert_manager_issuer = "letsencrypt-prod"
    cluster.save()
    detail = {c.name: c.detail for c in cluster_test_connection(cluster=cluster).checks}
    assert 'no ClusterIssuer "letsencrypt-prod"' in detail["cert-manager"]
    issuer = sandbox.create_object(ISSUER | {"metadata": {"name": "letsencrypt-prod"}})
    # cert-manager reports on it through the status subresource.
    issuer["status"] = {
        "conditions": [
            {"type": "Ready", "status": "False", "message": "ACME account not registered"}
        ]
    }
    KubeClient.for_cluster(cluster, skip_unchanged=False).transport.request(
        "PUT",
        "/apis/cert-manager.io/v1/clusterissuers/letsencrypt-prod/status",
        body=issuer,
        content_type="application/json",
    )
    report = cluster_test_connection(cluster=cluster)
    detail = {c.name: c.detail for c in report.checks}
    assert "is not ready (ACME account not registered)" in detail["cert-manager"]
    assert not report.ok


def test_missing_ingress_class_and_cert_manager_are_explained(db):
    with SandboxCluster() as bare:
        cluster = f.ClusterFactory(kubeconfig=yaml.safe_dump(bare.kubeconfig()))
        report = cluster_test_connection(cluster=cluster)
    result = checks(report)
    assert result["reachable"] and result["permissions"]
    assert not result["ingress class"] and not result["cert-manager"]
    detail = {c.name: c.detail for c in report.checks}
    assert 'No IngressClass "nginx"' in detail["ingress class"]
    assert "install cert-manager" in detail["cert-manager"]


def test_rejected_credentials(cluster, sandbox):
    config = sandbox.kubeconfig()
    config["users"][0]["user"]["token"] = "stolen-and-revoked"
    cluster.kubeconfig = yaml.safe_dump(config)
    report = cluster_test_connection(cluster=cluster)
    assert checks(report) == {"kubeconfig": True, "reachable": True, "credentials": False}
    assert "stolen-and-revoked" not in str(report.as_dict())


def test_unreachable_cluster_is_reported_not_raised(db):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cluster = f.ClusterFactory(api_url=f"http://127.0.0.1:{port}")
    cluster.kubeconfig = cluster.kubeconfig.replace("https://k8s.example.test", cluster.api_url)
    report = cluster_test_connection(cluster=cluster)
    assert checks(report) == {"kubeconfig": True, "reachable": False}
    assert "Connection refused" in report.checks[-1].detail


def test_kubeconfig_that_does_not_parse_is_explained(db):
    cluster = f.ClusterFactory()
    cluster.kubeconfig = "clusters: [unclosed"
    report = cluster_test_connection(cluster=cluster)
    assert checks(report) == {"kubeconfig": False}
    assert "cannot be used" in report.checks[0].detail


def test_node_sync_records_pools_counts_and_capacity(cluster, sandbox, other_client):
    f.NodeSizeFactory(slug="s-4vcpu-8gb", vcpu=4, memory_mib=8192)
    gone = f.NodePoolFactory(cluster=cluster, name="old-pool", count=5)
    dedicated = f.NodePoolFactory(
        cluster=cluster, name="globex", count=1, dedicated_client=other_client
    )
    for i in range(3):
        sandbox.add_node(
            f"web-{i}",
            pool="web",
            instance_type="s-4vcpu-8gb",
            cpu="4",
            memory="8Gi",
            allocatable={"cpu": "3900m", "memory": "7000Mi"},
        )
    for i in range(2):
        sandbox.add_node(
            f"globex-{i}", pool="globex", instance_type="s-2vcpu-4gb", cpu="2", memory="4Gi"
        )
    pools = {p.name: p for p in cluster_sync_nodes(cluster=cluster).pools}
    assert pools["web"].count == 3
    assert pools["web"].size.slug == "s-4vcpu-8gb"
    assert pools["web"].allocatable_cpu_millicores == 3 * 3900
    assert pools["web"].allocatable_memory_bytes == 3 * 7000 * 2**20
    assert pools["globex"].pk == dedicated.pk and pools["globex"].count == 2
    assert pools["globex"].dedicated_client == other_client
    assert NodePool.objects.get(pk=gone.pk).count == 0
    assert NodeSize.objects.filter(slug="s-2vcpu-4gb").exists()
