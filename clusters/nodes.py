"""Node sync: read the cluster's Nodes and record its pools, sizes and capacity."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from clusters.kube.client import KubeClient
from clusters.models import Cluster, NodePool, NodeSize, Provider
from clusters.quantities import parse_cpu, parse_memory

POOL_LABELS = ("doks.digitalocean.com/node-pool", "node.kubernetes.io/instance-type")
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"


@dataclass(frozen=True)
class ObservedPool:
    name: str
    instance_type: str
    count: int
    cpu_millicores: int
    memory_bytes: int
    node_cpu_millicores: int
    node_memory_bytes: int


def group_nodes(nodes: list[dict]) -> list[ObservedPool]:
    """Nodes grouped into pools by DigitalOcean's pool label, else by instance type."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for node in nodes:
        labels = (node.get("metadata") or {}).get("labels") or {}
        name = next((labels[label] for label in POOL_LABELS if labels.get(label)), "default")
        groups[name].append(node)
    pools = []
    for name, members in sorted(groups.items()):
        labels = (members[0].get("metadata") or {}).get("labels") or {}
        allocatable = [(n.get("status") or {}).get("allocatable") or {} for n in members]
        capacity = (members[0].get("status") or {}).get("capacity") or {}
        pools.append(
            ObservedPool(
                name=name,
                instance_type=labels.get(INSTANCE_TYPE_LABEL, ""),
                count=len(members),
                cpu_millicores=sum(parse_cpu(a["cpu"]) for a in allocatable if a.get("cpu")),
                memory_bytes=sum(parse_memory(a["memory"]) for a in allocatable if a.get("memory")),
                node_cpu_millicores=parse_cpu(capacity["cpu"]) if capacity.get("cpu") else 0,
                node_memory_bytes=parse_memory(capacity["memory"]) if capacity.get("memory") else 0,
            )
        )
    return pools


def _size_for(cluster: Cluster, pool: ObservedPool) -> NodeSize:
    provider = cluster.provider
    slug = pool.instance_type or f"{pool.name}-nodes"
    size = NodeSize.objects.filter(provider=provider, slug=slug).first()
    if size is None:
        # An unknown size still gets a catalogue entry (without a price) so the pool shows.
        size = NodeSize.objects.create(
            provider=provider if provider in Provider.values else Provider.GENERIC,
            slug=slug,
            vcpu=max(1, round(pool.node_cpu_millicores / 1000)),
            memory_mib=max(256, pool.node_memory_bytes // 2**20),
            description="Discovered by node sync",
        )
    return size


def cluster_sync_nodes(*, cluster: Cluster, kube: KubeClient | None = None) -> list[NodePool]:
    """List the cluster's Nodes and update its NodePools to match. Pools that no longer
    have nodes keep their row (and dedicated client) with a count of zero."""
    kube = kube or KubeClient.for_cluster(cluster)
    observed = group_nodes(kube.list("v1", "Node"))
    now = timezone.now()
    seen = []
    with transaction.atomic():
        for pool in observed:
            row, _ = NodePool.objects.update_or_create(
                cluster=cluster,
                name=pool.name,
                defaults={
                    "size": _size_for(cluster, pool),
                    "count": pool.count,
                    "allocatable_cpu_millicores": pool.cpu_millicores,
                    "allocatable_memory_bytes": pool.memory_bytes,
                    "synced_at": now,
                },
            )
            seen.append(row.pk)
        NodePool.objects.filter(cluster=cluster).exclude(pk__in=seen).update(
            count=0, allocatable_cpu_millicores=0, allocatable_memory_bytes=0, synced_at=now
        )
    return list(NodePool.objects.filter(cluster=cluster).select_related("size"))
