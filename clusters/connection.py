"""'Test connection' for a Cluster: can Hangar reach it, and may it do its work there?

The report is stored on the Cluster and readable by people: every check has a name, an
outcome and a sentence saying what to fix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils import timezone

from clusters.kube.client import KubeClient
from clusters.kube.errors import KubeError, KubeNotFound, KubeUnauthorized
from clusters.kube.transport import RetryPolicy, Transport, build_api_client
from clusters.models import Cluster

# What Hangar's service account must be allowed to do (verb, resource, API group).
# docs/cluster-access.md holds the ClusterRole granting exactly this.
REQUIRED_ACCESS: list[tuple[str, str, str]] = [
    *[(verb, "namespaces", "") for verb in ("get", "list", "create", "patch", "delete")],
    ("list", "nodes", ""),
    *[
        (verb, resource, "")
        for resource in (
            "secrets",
            "configmaps",
            "serviceaccounts",
            "services",
            "resourcequotas",
            "limitranges",
        )
        for verb in ("get", "patch", "delete")
    ],
    ("list", "pods", ""),
    ("get", "pods/log", ""),
    *[(verb, "deployments", "apps") for verb in ("get", "patch", "delete")],
    *[(verb, "jobs", "batch") for verb in ("get", "create", "delete")],
    *[(verb, "cronjobs", "batch") for verb in ("get", "patch", "delete")],
    *[(verb, "ingresses", "networking.k8s.io") for verb in ("get", "patch", "delete")],
    *[(verb, "networkpolicies", "networking.k8s.io") for verb in ("get", "patch", "delete")],
    *[(verb, "horizontalpodautoscalers", "autoscaling") for verb in ("get", "patch", "delete")],
    *[(verb, "poddisruptionbudgets", "policy") for verb in ("get", "patch", "delete")],
]
CERT_MANAGER_CRDS = ("certificates.cert-manager.io", "clusterissuers.cert-manager.io")

# "Test connection" is interactive: give up sooner than an operation would.
QUICK = RetryPolicy(attempts=2, deadline=8.0, base_delay=0.3, max_delay=1.0)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class ConnectionReport:
    ok: bool = False
    server_version: str = ""
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _resource_label(verb: str, resource: str, group: str) -> str:
    return f"{verb} {resource}" + (f" ({group})" if group else "")


def probe_cluster(cluster: Cluster) -> ConnectionReport:
    """Run every check against the cluster; never raises for a cluster's fault."""
    report = ConnectionReport()
    if not cluster.kubeconfig:
        report.add("kubeconfig", False, "No kubeconfig is stored for this cluster.")
        return report
    try:
        kube = KubeClient(Transport(build_api_client(cluster.kubeconfig), retry=QUICK))
    except KubeError as exc:
        report.add("kubeconfig", False, exc.message)
        return report
    report.add("kubeconfig", True, "The kubeconfig parses and names a server.")

    try:
        version = kube.version()
    except KubeUnauthorized as exc:
        report.add("reachable", True, "The API server answers.")
        report.add("credentials", False, f"The API server rejected the credentials: {exc.message}")
        return report
    except KubeError as exc:
        report.add("reachable", False, f"{exc.message} Check the server address and network.")
        return report
    report.server_version = str(version.get("gitVersion", ""))
    report.add("reachable", True, f"Kubernetes {report.server_version}")

    denied = []
    try:
        for verb, resource, group in REQUIRED_ACCESS:
            plural, _, sub = resource.partition("/")
            allowed, _ = kube.can_i(verb, plural, group=group, subresource=sub or None)
            if not allowed:
                denied.append(_resource_label(verb, resource, group))
    except KubeUnauthorized as exc:
        report.add("credentials", False, f"The API server rejected the credentials: {exc.message}")
        return report
    except KubeError as exc:
        report.add("permissions", False, f"Could not review permissions: {exc.message}")
        return report
    report.add("credentials", True, "The API server accepts the credentials.")
    report.add(
        "permissions",
        not denied,
        "Hangar may do everything it needs."
        if not denied
        else "Not allowed to: " + ", ".join(denied) + ". Apply docs/cluster-access.md.",
    )

    try:
        kube.get("networking.k8s.io/v1", "IngressClass", cluster.ingress_class)
        report.add("ingress class", True, f'IngressClass "{cluster.ingress_class}" exists.')
    except KubeNotFound:
        report.add(
            "ingress class",
            False,
            f'No IngressClass "{cluster.ingress_class}": install an ingress controller or '
            "change the cluster's ingress class.",
        )
    except KubeError as exc:
        report.add("ingress class", False, exc.message)

    missing = []
    for crd in CERT_MANAGER_CRDS:
        try:
            kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd)
        except KubeNotFound:
            missing.append(crd)
        except KubeError as exc:
            missing.append(f"{crd} ({exc.message})")
    report.add(
        "cert-manager",
        not missing,
        "cert-manager is installed."
        if not missing
        else "Missing " + ", ".join(missing) + ": install cert-manager for TLS certificates.",
    )
    report.ok = all(check.ok for check in report.checks)
    return report


def cluster_test_connection(*, cluster: Cluster) -> ConnectionReport:
    """Probe the cluster and store the report on it."""
    report = probe_cluster(cluster)
    cluster.connection_ok = report.ok
    cluster.connection_report = report.as_dict()
    cluster.connection_checked_at = timezone.now()
    cluster.save(update_fields=["connection_ok", "connection_report", "connection_checked_at"])
    return report
