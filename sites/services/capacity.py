"""Room on the nodes: whether an environment's pods fit the nodes they may run on.

One rule for every place that changes how many pods run or what each asks for (scaling,
autoscaling, creating an environment, the cost preview): a pod whose requests no node of
the environment's pool (or, without a pool, of the cluster) can hold is refused, since the
scheduler would leave it Pending forever; a number of pods whose requests add up to more
than the pool holds is a warning, since the pool may grow.

Pools are groups of identical nodes: one node's allocatable share is the pool's synced
allocatable total over its node count, or the node size's nominal one before a sync.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from clusters.models import NodePool
from sites.manifests.common import Resources, cpu_quantity, memory_quantity
from sites.manifests.policy import pod_resources
from sites.models import Environment


@dataclass(frozen=True)
class PoolRoom:
    name: str
    size: str
    nodes: int
    node_cpu: int  # millicores one node can give pods
    node_memory: int  # bytes

    @classmethod
    def of(cls, pool: NodePool) -> PoolRoom:
        synced = pool.count and pool.allocatable_cpu_millicores and pool.allocatable_memory_bytes
        return cls(
            name=pool.name,
            size=pool.size.slug,
            nodes=pool.count,
            node_cpu=pool.allocatable_cpu_millicores // pool.count
            if synced
            else pool.size.vcpu * 1000,
            node_memory=pool.allocatable_memory_bytes // pool.count
            if synced
            else pool.size.memory_mib * 2**20,
        )

    def holds(self, pod: Resources) -> bool:
        return pod.cpu_request <= self.node_cpu and pod.memory_request <= self.node_memory


def _pools(environment: Environment) -> list[PoolRoom]:
    if environment.node_pool_id is not None:
        pools = [environment.node_pool]
    else:
        pools = list(
            NodePool.objects.filter(cluster_id=environment.cluster_id, count__gt=0).select_related(
                "size"
            )
        )
    return [PoolRoom.of(pool) for pool in pools if pool.count]


def _where(pools: list[PoolRoom], environment: Environment) -> str:
    if environment.node_pool_id is not None:
        return f'pool "{pools[0].name}"'
    return "this cluster's pools"


def environment_capacity_check(environment: Environment, *, pods: int) -> list[str]:
    """Raise a field-keyed ValidationError (cpu_request, memory_request) when no node can
    hold one pod of `environment` as it would be; return warnings when `pods` of them
    would not all fit. Nothing to check (no pods, no known nodes): no complaint."""
    pools = _pools(environment)
    if pods <= 0 or not pools:
        return []
    pod = pod_resources(environment)
    if not any(pool.holds(pod) for pool in pools):
        largest = max(pools, key=lambda p: (p.node_cpu, p.node_memory))
        where = _where(pools, environment)
        node = (
            f"its largest node ({largest.size}) has {cpu_quantity(largest.node_cpu)} CPU and "
            f"{memory_quantity(largest.node_memory)} for pods"
        )
        errors = {}
        if pod.cpu_request > max(p.node_cpu for p in pools):
            errors["cpu_request"] = ValidationError(
                f"A pod of this environment requests {cpu_quantity(pod.cpu_request)} CPU, more "
                f"than any node of {where} can give: {node}. Request less CPU or run it on "
                "a pool of larger nodes.",
                code="capacity",
            )
        if pod.memory_request > max(p.node_memory for p in pools) or not errors:
            errors["memory_request"] = ValidationError(
                f"A pod of this environment requests {memory_quantity(pod.memory_request)} of "
                f"memory and {cpu_quantity(pod.cpu_request)} CPU, more than any node of "
                f"{where} can give: {node}. Request less or run it on a pool of larger nodes.",
                code="capacity",
            )
        raise ValidationError(errors)
    total = pod * pods
    room_cpu = sum(p.node_cpu * p.nodes for p in pools)
    room_memory = sum(p.node_memory * p.nodes for p in pools)
    if total.cpu_request <= room_cpu and total.memory_request <= room_memory:
        return []
    return [
        f"{pods} pods request {cpu_quantity(total.cpu_request)} CPU and "
        f"{memory_quantity(total.memory_request)} in all; {_where(pools, environment)} "
        f"{'has' if environment.node_pool_id else 'have'} {cpu_quantity(room_cpu)} CPU and "
        f"{memory_quantity(room_memory)} for pods, shared with everything else there. Pods "
        "that do not fit stay Pending until the pool grows."
    ]
