"""Node sync: read the cluster's Nodes and record its pools, sizes and capacity.

Live nodes are mapped onto the cluster's existing NodePools by their pool label (the
provider's, or Hangar's generic `hangar.dev/node-pool`, which any cluster's nodes can carry),
so a pool keeps its row, its dedicated client and its environments. Nodes without a pool
label are grouped by instance type and mapped onto the one existing pool of that size, if
there is exactly one. A pool that environments run on is never emptied because no node
named it: the sync keeps its last known nodes and says so, unless asked to empty it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from clusters.kube.client import KubeClient
from clusters.models import Cluster, NodePool, NodeSize, Provider
from clusters.quantities import parse_cpu, parse_memory

GENERIC_POOL_LABEL = "hangar.dev/node-pool"
POOL_LABELS = (
    "doks.digitalocean.com/node-pool",  # DigitalOcean Kubernetes
    GENERIC_POOL_LABEL,  # any cluster: label the nodes yourself
    "cloud.google.com/gke-nodepool",  # GKE
    "eks.amazonaws.com/nodegroup",  # EKS managed node groups
    "kubernetes.azure.com/agentpool",  # AKS
)
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
    labelled: bool = True  # named by a pool label (else grouped by instance type)


@dataclass
class NodeSync:
    """What a sync did: the cluster's pools afterwards, and what needs a person's eye."""

    pools: list[NodePool]
    warnings: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # pools in use that no node named


def _pool_label(labels: dict[str, str]) -> str:
    return next((labels[label] for label in POOL_LABELS if labels.get(label)), "")


def group_nodes(nodes: list[dict]) -> list[ObservedPool]:
    """Nodes grouped into pools by their pool label, else by instance type."""
    groups: dict[tuple[str, bool], list[dict]] = defaultdict(list)
    for node in nodes:
        labels = (node.get("metadata") or {}).get("labels") or {}
        name = _pool_label(labels)
        if name:
            groups[(name, True)].append(node)
        else:
            groups[(labels.get(INSTANCE_TYPE_LABEL) or "default", False)].append(node)
    pools = []
    for (name, labelled), members in sorted(groups.items()):
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
                labelled=labelled,
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


def _match(
    observed: ObservedPool, existing: dict[str, NodePool], taken: set[int]
) -> NodePool | None:
    """The existing pool these nodes belong to: the one of their pool label's name or, for
    nodes without a pool label, the only untaken pool of their instance type."""
    pool = existing.get(observed.name)
    if pool is not None and pool.pk not in taken:
        return pool
    if observed.labelled or not observed.instance_type:
        return None
    same_size = [
        p for p in existing.values() if p.pk not in taken and p.size.slug == observed.instance_type
    ]
    return same_size[0] if len(same_size) == 1 else None


def cluster_sync_nodes(
    *, cluster: Cluster, kube: KubeClient | None = None, empty_missing: bool = False
) -> NodeSync:
    """List the cluster's Nodes and update its NodePools to match (see the module's
    docstring). Pools without nodes keep their row and dedicated client; those that
    environments use keep their last known nodes too, with a warning, unless
    `empty_missing`."""
    kube = kube or KubeClient.for_cluster(cluster)
    observed = group_nodes(kube.list("v1", "Node"))
    now = timezone.now()
    result = NodeSync(pools=[])
    with transaction.atomic():
        existing = {
            pool.name: pool
            for pool in NodePool.objects.select_for_update(of=("self",))
            .filter(cluster=cluster)
            .select_related("size")
        }
        taken: set[int] = set()
        for group in observed:
            fields = {
                "size": _size_for(cluster, group),
                "count": group.count,
                "allocatable_cpu_millicores": group.cpu_millicores,
                "allocatable_memory_bytes": group.memory_bytes,
                "synced_at": now,
            }
            pool = _match(group, existing, taken)
            if pool is None:
                pool = NodePool.objects.create(cluster=cluster, name=group.name, **fields)
            else:
                for name, value in fields.items():
                    setattr(pool, name, value)
                pool.save(update_fields=[*fields, "updated_at"])
            taken.add(pool.pk)
        missing = [pool for pool in existing.values() if pool.pk not in taken]
        in_use = dict(
            NodePool.objects.filter(pk__in=[p.pk for p in missing])
            .annotate(n=Count("environments"))
            .values_list("pk", "n")
        )
        for pool in missing:
            used = in_use.get(pool.pk, 0)
            if used and not empty_missing and pool.count:
                result.kept.append(pool.name)
                result.warnings.append(
                    f"No node carries the pool label of {pool.name}, which {used} "
                    f"environment{'s' if used != 1 else ''} run on: kept its {pool.count} "
                    f"known node{'s' if pool.count != 1 else ''}. Label its nodes "
                    f"{GENERIC_POOL_LABEL}={pool.name} (or the provider's pool label), or "
                    "sync again and empty it."
                )
                continue
            if used and pool.count:
                result.warnings.append(
                    f"Emptied {pool.name}: no node carries its label, yet {used} "
                    f"environment{'s' if used != 1 else ''} run on it."
                )
            NodePool.objects.filter(pk=pool.pk).update(
                count=0, allocatable_cpu_millicores=0, allocatable_memory_bytes=0, synced_at=now
            )
    result.pools = list(NodePool.objects.filter(cluster=cluster).select_related("size"))
    return result
