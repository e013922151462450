"""'Test connection' for a Cluster: can Hangar reach it, and may it do its work there?

The report is stored on the Cluster and readable by people: a list of checks, each with a
name, an outcome and a sentence saying what fails without it and what to fix. A check
that is not `required` (the metrics API) is a warning: the cluster works without it,
short of one feature. More checks are functions of their own, appended to the report.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from clusters.dbserver import DatabaseServer, DatabaseServerError
from clusters.kube.client import KubeClient
from clusters.kube.errors import KubeError, KubeNotFound, KubeUnauthorized
from clusters.kube.transport import RetryPolicy, Transport, build_api_client
from clusters.models import Cluster
from clusters.storage import ObjectStorage, StorageError

# (verb, resource, API group, object name or ""). docs/cluster-access.md grants exactly
# these: the cluster-wide ones through the ClusterRole "hangar", the namespaced ones
# through the ClusterRole HANGAR_NAMESPACE_ROLE that Hangar binds in each environment
# namespace it creates. Every write is a server-side apply, which needs `patch`, and
# `create` too when the object is new (upstream authorizes an apply that creates as both).
Access = tuple[str, str, str, str]
CLUSTER_ACCESS: list[Access] = [
    *[(verb, "namespaces", "", "") for verb in ("get", "create", "patch", "delete")],
    ("list", "nodes", "", ""),
    *[(verb, "deployments", "apps", "") for verb in ("list", "watch")],
    *[(verb, "rolebindings", "rbac.authorization.k8s.io", "") for verb in ("create", "patch")],
    ("get", "ingressclasses", "networking.k8s.io", ""),
    ("get", "customresourcedefinitions", "apiextensions.k8s.io", ""),
    ("get", "clusterissuers", "cert-manager.io", ""),
]
_WRITE = ("get", "list", "create", "patch", "delete")
NAMESPACE_ACCESS: list[Access] = [
    *[
        (verb, resource, "", "")
        for resource in (
            "secrets",
            "configmaps",
            "serviceaccounts",
            "services",
            "resourcequotas",
            "limitranges",
        )
        for verb in _WRITE
    ],
    ("list", "pods", "", ""),
    ("get", "pods/log", "", ""),
    *[(verb, "deployments", "apps", "") for verb in _WRITE],
    *[(verb, "jobs", "batch", "") for verb in ("get", "list", "create", "delete")],
    *[(verb, "cronjobs", "batch", "") for verb in _WRITE],
    *[(verb, "ingresses", "networking.k8s.io", "") for verb in _WRITE],
    *[(verb, "networkpolicies", "networking.k8s.io", "") for verb in _WRITE],
    *[(verb, "horizontalpodautoscalers", "autoscaling", "") for verb in _WRITE],
    *[(verb, "poddisruptionbudgets", "policy", "") for verb in _WRITE],
]
REQUIRED_ACCESS: list[Access] = CLUSTER_ACCESS + NAMESPACE_ACCESS
CERT_MANAGER_CRDS = ("certificates.cert-manager.io", "clusterissuers.cert-manager.io")
METRICS_API = "/apis/metrics.k8s.io/v1beta1"

# "Test connection" is interactive: give up sooner than an operation would.
QUICK = RetryPolicy(attempts=2, deadline=8.0, base_delay=0.3, max_delay=1.0)
# Access reviews in flight at once: one round trip each, dozens of them.
REVIEWS_AT_ONCE = 8


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    # False: a warning; the cluster works without it, short of what `detail` names.
    required: bool = True


@dataclass
class ConnectionReport:
    ok: bool = False
    server_version: str = ""
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str, *, required: bool = True) -> bool:
        self.checks.append(Check(name, ok, detail, required))
        return ok

    def passed(self) -> bool:
        """Every required check passed (and there was at least one)."""
        return bool(self.checks) and all(c.ok or not c.required for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _label(access: Access) -> str:
    verb, resource, group, name = access
    text = f"{verb} {resource}" + (f" ({group})" if group else "")
    return text + (f' named "{name}"' if name else "")


def probe_cluster(cluster: Cluster) -> ConnectionReport:
    """Run every check against the cluster; never raises for a cluster's fault."""
    report = ConnectionReport()
    _kube_checks(cluster, report)
    if cluster.provision_data:
        check_storage(cluster, report)
        check_database_server(cluster, report)
    report.ok = report.passed()
    return report


def _kube_checks(cluster: Cluster, report: ConnectionReport) -> None:
    if not cluster.kubeconfig:
        report.add("kubeconfig", False, "No kubeconfig is stored for this cluster.")
        return
    try:
        kube = KubeClient(Transport(build_api_client(cluster.kubeconfig), retry=QUICK))
    except KubeError as exc:
        report.add("kubeconfig", False, exc.message)
        return
    report.add("kubeconfig", True, "The kubeconfig parses and names a server.")

    try:
        version = kube.version()
    except KubeUnauthorized as exc:
        report.add("reachable", True, "The API server answers.")
        report.add("credentials", False, f"The API server rejected the credentials: {exc.message}")
        return
    except KubeError as exc:
        report.add("reachable", False, f"{exc.message} Check the server address and network.")
        return
    report.server_version = str(version.get("gitVersion", ""))
    report.add("reachable", True, f"Kubernetes {report.server_version}")

    if not check_permissions(kube, report):
        return
    check_environment_role(kube, report)
    check_metrics_api(kube, report)
    check_ingress_class(kube, cluster, report)
    check_cert_manager(kube, cluster, report)


def _denied(kube: KubeClient, wanted: list[Access]) -> list[Access]:
    """The entries of `wanted` a SelfSubjectAccessReview refuses at the cluster scope
    (allowed everywhere), asked several at a time. A refusal counts whatever its reason:
    RBAC gives none when it denies."""

    def refused(access: Access) -> bool:
        verb, resource, group, name = access
        plural, _, sub = resource.partition("/")
        allowed, _ = kube.can_i(verb, plural, group=group, subresource=sub or None, name=name)
        return not allowed

    with ThreadPoolExecutor(max_workers=REVIEWS_AT_ONCE) as pool:
        answers = list(pool.map(refused, wanted))
    return [access for access, no in zip(wanted, answers, strict=True) if no]


def check_permissions(kube: KubeClient, report: ConnectionReport) -> bool:
    """What Hangar does outside environment namespaces (and binding its role in them).
    False when the credentials were rejected: nothing else can be checked then."""
    role = settings.HANGAR_NAMESPACE_ROLE
    wanted = list(CLUSTER_ACCESS)
    if role:
        wanted.append(("bind", "clusterroles", "rbac.authorization.k8s.io", role))
        wanted.append(("get", "clusterroles", "rbac.authorization.k8s.io", role))
    else:
        wanted += NAMESPACE_ACCESS  # one role grants all of it, everywhere
    try:
        denied = _denied(kube, wanted)
    except KubeUnauthorized as exc:
        report.add("credentials", False, f"The API server rejected the credentials: {exc.message}")
        return False
    except KubeError as exc:
        report.add("permissions", False, f"Could not review permissions: {exc.message}")
        return True
    report.add("credentials", True, "The API server accepts the credentials.")
    report.add(
        "permissions",
        not denied,
        "Hangar may do everything it needs at the cluster level."
        if not denied
        else "Not allowed to: "
        + ", ".join(map(_label, denied))
        + ". Operations that need these fail with 403 Forbidden; apply docs/cluster-access.md.",
    )
    return True


def _grants(rule: dict[str, Any], access: Access) -> bool:
    """Whether one RBAC PolicyRule grants `access` (its resourceNames limit it)."""
    verb, resource, group, name = access

    def has(key: str, value: str) -> bool:
        return bool({value, "*"} & set(rule.get(key) or ()))

    names = rule.get("resourceNames") or []
    return (
        has("verbs", verb)
        and has("resources", resource)
        and has("apiGroups", group)
        and (not names or name in names)
    )


def check_environment_role(kube: KubeClient, report: ConnectionReport) -> None:
    """What Hangar does inside each environment namespace, granted there by the role it
    binds at provisioning: read from the role itself, since no namespace may exist yet."""
    role = settings.HANGAR_NAMESPACE_ROLE
    if not role:
        return
    try:
        rules = kube.get("rbac.authorization.k8s.io/v1", "ClusterRole", role).get("rules") or []
    except KubeNotFound:
        report.add(
            "environment role",
            False,
            f'ClusterRole "{role}" does not exist: Hangar binds it in every namespace it '
            "creates, so provisioning fails with 403 Forbidden. Apply docs/cluster-access.md.",
        )
        return
    except KubeError as exc:
        report.add("environment role", False, f'Could not read ClusterRole "{role}": {exc.message}')
        return
    missing = [a for a in NAMESPACE_ACCESS if not any(_grants(r, a) for r in rules)]
    report.add(
        "environment role",
        not missing,
        f'ClusterRole "{role}" grants everything an environment needs.'
        if not missing
        else f'ClusterRole "{role}" does not grant: '
        + ", ".join(map(_label, missing))
        + ". Operations on environments that need these fail with 403 Forbidden; "
        "apply docs/cluster-access.md.",
    )


def check_metrics_api(kube: KubeClient, report: ConnectionReport) -> None:
    """metrics.k8s.io, which metrics-server serves: autoscaling reads CPU use there."""
    try:
        kube.transport.request("GET", METRICS_API)
    except KubeNotFound:
        report.add(
            "metrics API",
            False,
            "The metrics API (metrics.k8s.io) is not served: install metrics-server. Without "
            "it autoscalers cannot read CPU use (FailedGetResourceMetric) and autoscaled "
            "environments never scale.",
            required=False,
        )
        return
    except KubeError as exc:
        report.add(
            "metrics API",
            False,
            f"The metrics API (metrics.k8s.io) does not answer ({exc.message}): autoscaled "
            "environments cannot scale until metrics-server is healthy.",
            required=False,
        )
        return
    report.add("metrics API", True, "metrics.k8s.io answers: autoscaling can read CPU use.")


def check_ingress_class(kube: KubeClient, cluster: Cluster, report: ConnectionReport) -> None:
    try:
        kube.get("networking.k8s.io/v1", "IngressClass", cluster.ingress_class)
        report.add("ingress class", True, f'IngressClass "{cluster.ingress_class}" exists.')
    except KubeNotFound:
        report.add(
            "ingress class",
            False,
            f'No IngressClass "{cluster.ingress_class}": the Ingresses of environments with '
            "domains would get no address, so no site is reachable. Install an ingress "
            "controller or change the cluster's ingress class.",
        )
    except KubeError as exc:
        report.add("ingress class", False, exc.message)


def check_cert_manager(kube: KubeClient, cluster: Cluster, report: ConnectionReport) -> None:
    """cert-manager's CRDs and the ClusterIssuer the cluster's settings name."""
    missing = []
    for crd in CERT_MANAGER_CRDS:
        try:
            kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd)
        except KubeNotFound:
            missing.append(crd)
        except KubeError as exc:
            missing.append(f"{crd} ({exc.message})")
    if missing:
        report.add(
            "cert-manager",
            False,
            "Missing " + ", ".join(missing) + ": install cert-manager. Without it no domain "
            "gets a TLS certificate and HTTPS fails.",
        )
        return
    issuer = cluster.cert_manager_issuer
    try:
        found = kube.get("cert-manager.io/v1", "ClusterIssuer", issuer)
    except KubeNotFound:
        report.add(
            "cert-manager",
            False,
            f'cert-manager is installed, but there is no ClusterIssuer "{issuer}": no '
            "certificate is issued for any domain. Create it or change the cluster's issuer.",
        )
        return
    except KubeError as exc:
        report.add("cert-manager", False, f'Could not read ClusterIssuer "{issuer}": {exc.message}')
        return
    ready = next(
        (
            c
            for c in (found.get("status") or {}).get("conditions") or []
            if c.get("type") == "Ready"
        ),
        None,
    )
    if ready is not None and ready.get("status") == "False":
        report.add(
            "cert-manager",
            False,
            f'ClusterIssuer "{issuer}" is not ready ({ready.get("message") or ready.get("reason")}'
            "): certificates are not issued until it is.",
        )
        return
    report.add("cert-manager", True, f'cert-manager is installed with ClusterIssuer "{issuer}".')


def check_storage(cluster: Cluster, report: ConnectionReport) -> None:
    """List, put, get and delete a probe object: what backups and restores do."""
    key = f"hangar-probe/{uuid.uuid4().hex}"
    step = "configuring"
    try:
        storage = ObjectStorage.for_cluster(cluster, max_attempts=2)
        step = "checking the bucket"
        storage.check()
        step = "listing"
        list(storage.list("hangar-probe/"))
        step = "writing a probe object"
        storage.put_bytes(key, b"hangar probe")
        step = "reading it back"
        if storage.get_bytes(key) != b"hangar probe":
            raise StorageError(f"{key} read back other bytes than were written.")
        step = "deleting it"
        storage.delete(key)
    except StorageError as exc:
        report.add(
            "object storage",
            False,
            f"{step} failed: {exc.message} Backups and restores need list, put, get and delete.",
        )
        return
    report.add("object storage", True, f"Listed, wrote, read and deleted {key} in {storage.where}.")


def check_database_server(cluster: Cluster, report: ConnectionReport) -> None:
    """Connect as the admin user, and see it may create databases and users and grant."""
    try:
        server = DatabaseServer.for_cluster(cluster)
        version = server.version()
        with server.connect() as cursor:
            cursor.execute("SHOW GRANTS")
            grants = " ".join(str(row[0]) for row in cursor.fetchall()).upper()
    except DatabaseServerError as exc:
        report.add("database server", False, exc.message)
        return
    # ALL PRIVILEGES ON *.* holds the rest; otherwise each must be named.
    missing = [] if "GRANT OPTION" in grants else ["GRANT OPTION"]
    if "ALL PRIVILEGES ON *.*" not in grants:
        named = grants.replace(",", " ,")
        missing += [w for w in ("CREATE USER", "CREATE", "DROP") if f" {w} " not in named]
    if missing:
        report.add(
            "database server",
            False,
            f"{cluster.db_admin_user} lacks {', '.join(missing)} on the server: Hangar needs "
            "them to create each environment's database and user.",
        )
        return
    report.add("database server", True, f"Connected ({version}); may create databases and users.")


def cluster_test_connection(*, cluster: Cluster) -> ConnectionReport:
    """Probe the cluster and store the report on it."""
    report = probe_cluster(cluster)
    cluster.connection_ok = report.ok
    cluster.connection_report = report.as_dict()
    cluster.connection_checked_at = timezone.now()
    cluster.save(update_fields=["connection_ok", "connection_report", "connection_checked_at"])
    return report
