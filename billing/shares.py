"""How a node pool is shared at one moment. Pure functions: no database.

For each sample, a client's share of a pool is the larger of its share of the pool's
allocatable CPU and of its allocatable memory (a client that fills the memory of a node
keeps others off it, however little CPU it asks for). When the shares add up to more than
the whole (requests beyond capacity: pods pending, or a pool that just shrank) they are
scaled down to add up to exactly the whole; otherwise what is left is unallocated capacity,
which the agency pays as overhead. A client's share is split among its environments in
proportion to their own larger-of-CPU-and-memory shares.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

ZERO = Decimal("0")
ONE = Decimal("1")
# Stored shares are truncated (never rounded up) so they never add up to more than the pool.
SHARE_PLACES = Decimal("1e-12")


@dataclass(frozen=True)
class Demand:
    """What one environment requests of a pool: all its pods together."""

    key: Hashable
    client_id: int
    cpu_millicores: int
    memory_mib: int


@dataclass(frozen=True)
class PoolShares:
    shares: dict[Hashable, Decimal]  # per demand key, fraction of the pool
    unallocated: Decimal

    @property
    def allocated(self) -> Decimal:
        return ONE - self.unallocated


def _fraction(requested: int, capacity: int) -> Decimal:
    return Decimal(requested) / Decimal(capacity)


def pool_shares(
    *, cpu_capacity: int, memory_capacity_mib: int, demands: Iterable[Demand]
) -> PoolShares:
    """Each demand's fraction of the pool and the unallocated rest; they add up to 1 (the
    stored shares, truncated to 12 places, add up to at most 1)."""
    demands = list(demands)
    if cpu_capacity <= 0 or memory_capacity_mib <= 0:
        # No nodes, no cost to share.
        return PoolShares({d.key: ZERO for d in demands}, ONE)
    own: dict[Hashable, Decimal] = {}
    per_client: dict[int, list[Demand]] = defaultdict(list)
    for demand in demands:
        own[demand.key] = max(
            _fraction(demand.cpu_millicores, cpu_capacity),
            _fraction(demand.memory_mib, memory_capacity_mib),
        )
        per_client[demand.client_id].append(demand)
    client_share = {
        client_id: max(
            _fraction(sum(d.cpu_millicores for d in items), cpu_capacity),
            _fraction(sum(d.memory_mib for d in items), memory_capacity_mib),
        )
        for client_id, items in per_client.items()
    }
    scale = ONE / max(ONE, sum(client_share.values(), ZERO))
    shares: dict[Hashable, Decimal] = {}
    for client_id, items in per_client.items():
        weight = sum((own[d.key] for d in items), ZERO)
        for demand in items:
            share = client_share[client_id] * scale * own[demand.key] / weight if weight else ZERO
            shares[demand.key] = share.quantize(SHARE_PLACES, rounding=ROUND_DOWN)
    unallocated = max(ZERO, ONE - sum(shares.values(), ZERO))
    return PoolShares(shares, unallocated)
