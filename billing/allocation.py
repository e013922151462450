"""Splitting month costs into cents per client and agency overhead.

A pool's cost goes to the clients whose environments requested it and, for capacity
nobody requested, to the agency (shared pool) or the dedicated client. A cluster's fixed
items follow node cost on the cluster (all overhead in a month no node ran). Splits use
the largest-remainder method (billing.money.apportion): the parts add up to the rounded
whole exactly. Needs a cost report of every client (cost_report without client_ids).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from billing.costs import ClusterMonth, CostReport, PoolMonth
from billing.money import ZERO, apportion, to_cents

OVERHEAD = "overhead"

Party = int | str  # a client id, or OVERHEAD
_Key = tuple[int, datetime.date]


def _ordered(parts: dict[Party, Decimal]) -> dict[Party, Decimal]:
    """Clients by id, overhead last: the deterministic order ties are broken in."""
    ordered = {key: parts[key] for key in sorted(k for k in parts if k != OVERHEAD)}
    if OVERHEAD in parts:
        ordered[OVERHEAD] = parts[OVERHEAD]
    return ordered


def _unallocated(pool: PoolMonth, rest: Decimal) -> dict[Party, Decimal]:
    """The pool's cost nobody requested, to the owner of each of its days (a dedicated
    client, or overhead for shared days), in proportion to each mode's unused capacity."""
    weights: dict[Party, Decimal] = defaultdict(lambda: ZERO)
    for owner in pool.modes:
        weights[owner if owner is not None else OVERHEAD] += pool.unallocated_cost_of(owner)
    total = sum(weights.values(), ZERO)
    if not total:
        return {pool.dedicated_client_id or OVERHEAD: rest}
    return {party: rest * weight / total for party, weight in weights.items()}


class Allocations:
    def __init__(self, report: CostReport) -> None:
        self.report = report
        requested: dict[_Key, dict[Party, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
        for cost in report.environments:
            if cost.pool_id is not None:
                requested[(cost.pool_id, cost.month)][cost.client_id] += cost.node_cost
        # Exact parts of every pool, and of every cluster's node cost.
        self._pool_parts: dict[_Key, dict[Party, Decimal]] = {}
        self._cluster_parts: dict[_Key, dict[Party, Decimal]] = defaultdict(
            lambda: defaultdict(lambda: ZERO)
        )
        for key, pool in report.pools.items():
            parts = dict(requested.get(key, {}))
            rest = max(ZERO, pool.cost - sum(parts.values(), ZERO))
            for owner, amount in _unallocated(pool, rest).items():
                parts[owner] = parts.get(owner, ZERO) + amount
            self._pool_parts[key] = parts
            if pool.cluster_id is not None:
                for party, amount in parts.items():
                    self._cluster_parts[(pool.cluster_id, pool.month)][party] += amount

    def pool(self, pool: PoolMonth) -> dict[Party, Decimal]:
        """Cents per party; they add up to the pool's cost rounded to cents."""
        parts = self._pool_parts.get((pool.pool_id, pool.month), {OVERHEAD: ZERO})
        return apportion(to_cents(pool.cost), _ordered(parts))

    def cluster(self, cluster: ClusterMonth) -> dict[Party, Decimal]:
        """The cluster's fixed items in cents per party."""
        parts = dict(self._cluster_parts.get((cluster.cluster_id, cluster.month), {}))
        if not cluster.node_cost or not any(parts.values()):
            parts = {OVERHEAD: Decimal(1)}
        return apportion(to_cents(cluster.items_cost), _ordered(parts))

    def by_party(self) -> dict[tuple[Party, datetime.date], Decimal]:
        """(party, month) → cents of pools and cluster items together."""
        totals: dict[tuple[Party, datetime.date], Decimal] = defaultdict(lambda: ZERO)
        for pool in self.report.pools.values():
            for party, cents in self.pool(pool).items():
                totals[(party, pool.month)] += cents
        for cluster in self.report.clusters.values():
            for party, cents in self.cluster(cluster).items():
                totals[(party, cluster.month)] += cents
        return dict(totals)
