"""What really runs: the pods of every environment's web Deployment as the cluster reports
them, and their CPU and memory use where the cluster serves the metrics API.

One list call per environment namespace for pods (label selector: Hangar's web pods; the
role Hangar holds reads pods only in its environments' namespaces) and one for PodMetrics
(metrics.k8s.io/v1beta1, as metrics-server serves it). A cluster that cannot be read is
left out with the reason, and sampling counts its environments from the database instead
(EnvironmentSample.source); so is a namespace Hangar cannot read. Reads are not retried:
the next sample is an hour away, and a slow cluster must not hold the others up.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from clusters.kube.client import KubeClient
from clusters.kube.errors import KubeError, KubeNotFound
from clusters.kube.transport import RetryPolicy
from clusters.models import Cluster
from sites.manifests.common import MANAGED_BY, NAME_LABEL, WEB

logger = logging.getLogger(__name__)

_MI = 2**20
# Quantities as a server writes them (canonical forms, metrics in nanocores and KiB). Users'
# input goes through clusters.quantities' stricter rules; this reads what a cluster says.
_SUFFIX = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12),
    "P": Decimal(10**15), "E": Decimal(10**18), "Ki": Decimal(2**10), "Mi": Decimal(2**20),
    "Gi": Decimal(2**30), "Ti": Decimal(2**40), "Pi": Decimal(2**50), "Ei": Decimal(2**60),
}  # fmt: skip
_QUANTITY = re.compile(r"([0-9.]+(?:[eE][-+]?[0-9]+)?)([a-zA-Z]*)")


def quantity(text: object) -> Decimal:
    """The value of a Kubernetes quantity ("250m" is 0.25, "1Ki" 1024); 0 if unreadable."""
    match = _QUANTITY.fullmatch(str(text).strip())
    if match is None or match[2] not in _SUFFIX:
        return Decimal(0)
    try:
        return Decimal(match[1]) * _SUFFIX[match[2]]
    except ArithmeticError:
        return Decimal(0)


def _millicores(text: object) -> int:
    return int(quantity(text) * 1000)


def _mib(text: object) -> int:
    return int(quantity(text) / _MI)


WEB_PODS = {**MANAGED_BY, NAME_LABEL: WEB}
# One try within a few seconds: sampling falls back to the database rather than wait.
_ONE_TRY = RetryPolicy(attempts=1, deadline=10.0)


@dataclass
class NamespacePods:
    """The running web pods of one namespace and what they request together."""

    pods: int = 0
    cpu_millicores: int = 0
    memory_mib: int = 0


@dataclass
class NamespaceUse:
    cpu_millicores: int = 0
    memory_mib: int = 0


@dataclass
class ClusterReading:
    """One cluster's pods by namespace (None: could not be read, see `error`) and measured
    use by namespace (None: no metrics API, or it failed)."""

    pods: dict[str, NamespacePods] | None = None
    usage: dict[str, NamespaceUse] | None = None
    error: str = ""
    metrics_error: str = ""
    namespaces: set[str] = field(default_factory=set)
    # Namespaces whose pods could not be read (no binding yet): counted from the database.
    unread: set[str] = field(default_factory=set)


def _requests(pod: dict) -> tuple[int, int]:
    """Millicores and MiB its containers request."""
    cpu = memory = Decimal(0)
    for container in (pod.get("spec") or {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += quantity(requests.get("cpu", 0))
        memory += quantity(requests.get("memory", 0))
    return int(cpu * 1000), int(memory / _MI)


def _running(pod: dict) -> bool:
    """Scheduled, running and not on its way out: what holds a node's capacity now."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    return status.get("phase") == "Running" and not meta.get("deletionTimestamp")


def pods_by_namespace(pods: Iterable[dict]) -> dict[str, NamespacePods]:
    found: dict[str, NamespacePods] = defaultdict(NamespacePods)
    for pod in pods:
        if not _running(pod):
            continue
        cpu, memory = _requests(pod)
        entry = found[(pod.get("metadata") or {}).get("namespace", "")]
        entry.pods += 1
        entry.cpu_millicores += cpu
        entry.memory_mib += memory
    return dict(found)


def usage_by_namespace(metrics: Iterable[dict]) -> dict[str, NamespaceUse]:
    found: dict[str, NamespaceUse] = defaultdict(NamespaceUse)
    for item in metrics:
        entry = found[(item.get("metadata") or {}).get("namespace", "")]
        for container in item.get("containers") or []:
            usage = container.get("usage") or {}
            entry.cpu_millicores += _millicores(usage.get("cpu", 0))
            entry.memory_mib += _mib(usage.get("memory", 0))
    return dict(found)


def read_cluster(
    cluster: Cluster, namespaces: Iterable[str], kube: KubeClient | None = None
) -> ClusterReading:
    """The web pods and their use in each of `namespaces`, one namespace at a time: Hangar
    may read pods only where it bound its environment role (docs/cluster-access.md). A
    namespace that cannot be read is counted from the database; a cluster that does not
    answer at all, wholly."""
    kube = kube or KubeClient.for_cluster(cluster, retry=_ONE_TRY, skip_unchanged=False)
    reading = ClusterReading(pods={}, usage={})
    metrics = True
    for namespace in sorted(set(namespaces)):
        try:
            pods = kube.list("v1", "Pod", namespace, label_selector=WEB_PODS)
        except KubeError as exc:
            if exc.status is None or exc.retryable:  # the cluster itself is away
                reading.pods, reading.usage, reading.error = None, None, exc.message
                logger.warning("billing: pods of cluster %s not read: %s", cluster.slug, exc)
                return reading
            reading.unread.add(namespace)
            continue
        reading.pods.update(pods_by_namespace(pods))  # type: ignore[union-attr]
        if not metrics:
            continue
        try:
            used = kube.list(
                "metrics.k8s.io/v1beta1", "PodMetrics", namespace, label_selector=WEB_PODS
            )
        except KubeNotFound:
            reading.metrics_error = "the cluster serves no metrics API (metrics-server)"
            reading.usage, metrics = None, False
        except KubeError as exc:
            reading.metrics_error = exc.message
            reading.usage, metrics = None, False
        else:
            reading.usage.update(usage_by_namespace(used))  # type: ignore[union-attr]
    return reading


def read_clusters(namespaces: Mapping[Cluster, Iterable[str]]) -> dict[int, ClusterReading]:
    """Every cluster's reading of its environments' namespaces, by cluster id. Never raises
    for a cluster: an unreadable one has its error set (sampling then counts from the
    database)."""
    readings = {}
    for cluster, names in namespaces.items():
        try:
            readings[cluster.pk] = read_cluster(cluster, names)
        except Exception as exc:  # a broken kubeconfig, say: fall back, never stop sampling
            logger.warning("billing: cluster %s not read: %s", cluster.slug, exc)
            readings[cluster.pk] = ClusterReading(error=f"{type(exc).__name__}: {exc}")
    return readings
