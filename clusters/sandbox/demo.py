"""The worker nodes of the sandbox cluster that `make run` starts: the node pools the demo
data (seed_demo) records, labelled as DigitalOcean Kubernetes labels its nodes, so that
"Sync nodes" maps each node onto its pool. One definition for both sides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DemoPool:
    name: str
    instance_type: str
    nodes: int
    cpu: str
    memory: str
    # What the kubelet leaves for pods, roughly as DigitalOcean reserves it.
    allocatable_cpu: str
    allocatable_memory: str


DEMO_POOLS = (
    DemoPool("shared", "s-4vcpu-8gb", 3, "4", "8Gi", "3900m", "6900Mi"),
    DemoPool("initech-dedicated", "s-2vcpu-4gb", 2, "2", "4Gi", "1900m", "3000Mi"),
)


def demo_pool(name: str) -> DemoPool:
    return next(pool for pool in DEMO_POOLS if pool.name == name)


def demo_nodes() -> list[dict[str, Any]]:
    """Keyword arguments of SandboxCluster.add_node for every demo node."""
    return [
        {
            "name": f"{pool.name}-{index}",
            "pool": pool.name,
            "instance_type": pool.instance_type,
            "cpu": pool.cpu,
            "memory": pool.memory,
            "allocatable": {"cpu": pool.allocatable_cpu, "memory": pool.allocatable_memory},
        }
        for pool in DEMO_POOLS
        for index in range(1, pool.nodes + 1)
    ]
