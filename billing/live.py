"""What really runs: the pods of every environment's web Deployment as the cluster reports
them, and their CPU and memory use where the cluster serves the metrics API.

One list call per cluster for pods (label selector: Hangar's web pods, in every namespace)
and one for PodMetrics (metrics.k8s.io/v1beta1, as metrics-server serves it). A cluster that
cannot be read is left out with the reason, and sampling counts its environments from the
database instead (EnvironmentSample.source). Reads are not retried: the next sample is an
hour away, and a slow cluster must not hold the others up.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from clusters.kube.client import KubeClient
from clusters.kube.errors import KubeError, KubeNotFound
from clusters.kube.transport import RetryPolicy
from clusters.models import Cluster
from clusters.quantities import parse_cpu, parse_memory
from sites.manifests.common import MANAGED_BY, NAME_LABEL, WEB

logger = logging.getLogger(__name__)

_MI = 2**20
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


def _requests(pod: dict) -> tuple[int, int]:
    cpu = memory = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        if requests.get("cpu"):
            cpu += parse_cpu(requests["cpu"])
        if requests.get("memory"):
            memory += parse_memory(requests["memory"])
    return cpu, memory


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
        entry.memory_mib += memory // _MI
    return dict(found)


def usage_by_namespace(metrics: Iterable[dict]) -> dict[str, NamespaceUse]:
    found: dict[str, NamespaceUse] = defaultdict(NamespaceUse)
    for item in metrics:
        entry = found[(item.get("metadata") or {}).get("namespace", "")]
        for container in item.get("containers") or []:
            usage = container.get("usage") or {}
            if usage.get("cpu"):
                entry.cpu_millicores += parse_cpu(usage["cpu"])
            if usage.get("memory"):
                entry.memory_mib += parse_memory(usage["memory"]) // _MI
    return dict(found)


def read_cluster(cluster: Cluster, kube: KubeClient | None = None) -> ClusterReading:
    kube = kube or KubeClient.for_cluster(cluster, retry=_ONE_TRY, skip_unchanged=False)
    reading = ClusterReading()
    try:
        reading.pods = pods_by_namespace(kube.list("v1", "Pod", label_selector=WEB_PODS))
    except KubeError as exc:
        reading.error = exc.message
        logger.warning("billing: pods of cluster %s not read: %s", cluster.slug, exc.message)
        return reading
    try:
        reading.usage = usage_by_namespace(
            kube.list("metrics.k8s.io/v1beta1", "PodMetrics", label_selector=WEB_PODS)
        )
    except KubeNotFound:
        reading.metrics_error = "the cluster serves no metrics API (metrics-server)"
    except KubeError as exc:
        reading.metrics_error = exc.message
    return reading


def read_clusters(clusters: Iterable[Cluster]) -> dict[int, ClusterReading]:
    """Every cluster's reading, by cluster id. Never raises for a cluster: an unreadable
    one has its error set (sampling then counts from the database)."""
    readings = {}
    for cluster in clusters:
        try:
            readings[cluster.pk] = read_cluster(cluster)
        except Exception as exc:  # a broken kubeconfig, say: fall back, never stop sampling
            logger.warning("billing: cluster %s not read: %s", cluster.slug, exc)
            readings[cluster.pk] = ClusterReading(error=f"{type(exc).__name__}: {exc}")
    return readings
