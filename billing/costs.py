"""What infrastructure cost in given months, and who it is allocated to.

The provider bills each node per hour, capped at 672 hours a month: a node's charge is
price x min(hours, 672) / 672. Hangar counts nodes rather than naming them, so the n-th
node of a pool is the one present whenever the pool had at least n nodes; each node's hours
in the month are capped separately. When a price changes within a month whose hours pass
the cap, the cap scales all of that node's hours alike, so it does not matter in which part
of the month a client ran.

A pool's month cost is split in proportion to node-hours weighted by the price of their
day: each environment's share-weighted node-hours (see billing.shares), and the rest —
unallocated capacity — which is agency overhead for a shared pool and the dedicated
client's for a dedicated pool. A pool that changed hands mid-month is split by its days in
each mode (PoolMonth.modes): a dedicated client pays the capacity left unused on its days.
Fixed cluster items (control plane, load balancer, storage) are split in proportion to node
cost on the cluster, so the agency carries the part of unallocated capacity.

All amounts here are exact Decimals; rounding happens when lines are made (billing.money).
Query count is constant: prices, cluster items, pool days, environment days.
"""

from __future__ import annotations

import bisect
import datetime
import operator
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, DecimalField, F, Max, Q, Sum, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from billing.models import ClusterCostItem, EnvironmentUsageDay, NodePrice, PoolUsageDay
from billing.periods import hours_between, local_midnight, month_start, next_month

CAP_HOURS = Decimal(672)
_CAP_SECONDS = 672 * 3600
ZERO = Decimal("0")
ONE = Decimal("1")
_SUM = DecimalField(max_digits=40, decimal_places=12)


@dataclass
class PriceBook:
    """Node prices by size, as history: the price in force on a day is the latest one that
    took effect on or before it."""

    history: dict[int, tuple[list[datetime.date], list[Decimal]]]

    @classmethod
    def load(cls) -> PriceBook:
        history: dict[int, tuple[list[datetime.date], list[Decimal]]] = {}
        rows = NodePrice.objects.order_by("size_id", "effective_from").values_list(
            "size_id", "effective_from", "monthly_price"
        )
        for size_id, day, price in rows:
            days, prices = history.setdefault(size_id, ([], []))
            days.append(day)
            prices.append(price)
        return cls(history)

    def price(self, size_id: int | None, day: datetime.date) -> Decimal | None:
        days, prices = self.history.get(size_id, ((), ()))  # type: ignore[arg-type]
        index = bisect.bisect_right(days, day) - 1
        return prices[index] if index >= 0 else None

    def sql_price(self) -> Case | Value:
        """The same lookup as a SQL expression over rows with `size_id` and `day`."""
        whens = [
            When(size_id=size_id, day__gte=day, then=Value(price))
            for size_id, (days, prices) in self.history.items()
            for day, price in sorted(zip(days, prices, strict=True), reverse=True)
        ]
        output = DecimalField(max_digits=12, decimal_places=2)
        if not whens:
            return Value(None, output_field=output)
        return Case(*whens, default=Value(None), output_field=output)


@dataclass
class PoolMode:
    """A pool's days in one mode (dedicated to a client, or shared) within a month."""

    node_hours: Decimal = ZERO
    allocated_node_hours: Decimal = ZERO
    uncapped: Decimal = ZERO
    allocated_uncapped: Decimal = ZERO
    hours: Decimal = ZERO


@dataclass
class PoolMonth:
    """One pool in one month."""

    pool_id: int
    month: datetime.date
    label: str = ""
    cluster_id: int | None = None
    size_id: int | None = None
    dedicated_client_id: int | None = None
    hours: Decimal = ZERO
    node_hours: Decimal = ZERO
    allocated_node_hours: Decimal = ZERO
    cpu_allocatable_hours: Decimal = ZERO
    cpu_requested_hours: Decimal = ZERO
    memory_allocatable_mib_hours: Decimal = ZERO
    memory_requested_mib_hours: Decimal = ZERO
    uncapped: Decimal = ZERO  # Σ node-hours x price / 672
    allocated_uncapped: Decimal = ZERO
    cost: Decimal = ZERO  # with each node's 672-hour cap
    unpriced_days: set[datetime.date] = field(default_factory=set)
    cluster_factor: Decimal = ZERO  # cluster items per unit of node cost
    # Per owner of the pool's days (a client id, or None for shared days).
    modes: dict[int | None, PoolMode] = field(default_factory=dict)

    @property
    def is_shared(self) -> bool:
        """Shared at the end of the month (the latest day's mode)."""
        return self.dedicated_client_id is None

    @property
    def owners(self) -> set[int]:
        """Clients the pool was dedicated to on some day of the month with nodes running."""
        return {c for c, mode in self.modes.items() if c is not None and mode.node_hours > 0}

    def unallocated_cost_of(self, owner: int | None) -> Decimal:
        """Capacity nobody requested on the days `owner` had the pool (None: shared days)."""
        mode = self.modes.get(owner)
        if mode is None:
            return ZERO
        return max(ZERO, (mode.uncapped - mode.allocated_uncapped) * self.cap_factor)

    @property
    def cap_factor(self) -> Decimal:
        """Cost per unit of uncapped cost: 1 when no node passed 672 hours."""
        return self.cost / self.uncapped if self.uncapped else ZERO

    @property
    def allocated_cost(self) -> Decimal:
        return self.allocated_uncapped * self.cap_factor

    @property
    def unallocated_cost(self) -> Decimal:
        """Capacity nobody requested: overhead (shared) or the dedicated client's."""
        return max(ZERO, self.cost - self.allocated_cost)

    @property
    def average_nodes(self) -> Decimal:
        return self.node_hours / self.hours if self.hours else ZERO


@dataclass
class ClusterMonth:
    cluster_id: int
    month: datetime.date
    items_cost: Decimal = ZERO
    node_cost: Decimal = ZERO
    items: list[tuple[str, Decimal]] = field(default_factory=list)

    @property
    def factor(self) -> Decimal:
        """Cluster items per unit of node cost."""
        return self.items_cost / self.node_cost if self.node_cost else ZERO


@dataclass
class EnvironmentCost:
    """One environment on one pool in one month."""

    client_id: int
    site_id: int | None
    site_label: str
    environment_id: int | None
    label: str
    pool_id: int | None
    cluster_id: int | None
    month: datetime.date
    hours: Decimal
    pod_hours: Decimal
    node_hours: Decimal
    node_cost: Decimal = ZERO
    cluster_cost: Decimal = ZERO

    @property
    def cost(self) -> Decimal:
        return self.node_cost + self.cluster_cost


@dataclass
class CostReport:
    months: list[datetime.date]
    pools: dict[tuple[int, datetime.date], PoolMonth]
    clusters: dict[tuple[int, datetime.date], ClusterMonth]
    environments: list[EnvironmentCost]

    def pools_in(self, month: datetime.date) -> list[PoolMonth]:
        return [p for (_, m), p in self.pools.items() if m == month]

    def environments_in(
        self, month: datetime.date, client_id: int | None = None
    ) -> list[EnvironmentCost]:
        return [
            e
            for e in self.environments
            if e.month == month and (client_id is None or e.client_id == client_id)
        ]

    def missing_prices(
        self, month: datetime.date | None = None, pool_ids: Collection[int] | None = None
    ) -> list[str]:
        """'pool on day' for every pool-day without a price; such node-hours cost nothing."""
        missing = {
            (pool.label, day)
            for pool in self.pools.values()
            if (month is None or pool.month == month)
            and (pool_ids is None or pool.pool_id in pool_ids)
            for day in pool.unpriced_days
        }
        return [f"{label} on {day:%Y-%m-%d}" for label, day in sorted(missing)]


def cost_report(
    *,
    months: Sequence[datetime.date],
    client_ids: Collection[int] | None = None,
    until: datetime.datetime | None = None,
) -> CostReport:
    """Costs of the given months (first days), for every pool and cluster, and for the
    environments of `client_ids` (all when None), as of `until` (default now): a month
    not over yet has its cluster items so far, as its nodes have their usage so far."""
    months = sorted({month_start(m) for m in months})
    if not months:
        return CostReport([], {}, {}, [])
    first, end = months[0], next_month(months[-1])
    prices = PriceBook.load()
    pools = _pool_months(prices, months, first, end)
    clusters = _cluster_months(pools, months, first, end, until or timezone.now())
    for pool in pools.values():
        if pool.cluster_id is not None:
            cluster = clusters.get((pool.cluster_id, pool.month))
            pool.cluster_factor = cluster.factor if cluster else ZERO
    environments = _environment_costs(prices, pools, months, first, end, client_ids)
    return CostReport(months, pools, clusters, environments)


_POOL_DAY_FIELDS = (
    "day", "pool_id", "cluster_id", "size_id", "dedicated_client_id", "label", "hours",
    "node_hours", "allocated_node_hours", "slot_seconds", "cpu_allocatable_hours",
    "cpu_requested_hours", "memory_allocatable_mib_hours", "memory_requested_mib_hours",
)  # fmt: skip


def _pool_months(
    prices: PriceBook, months: list[datetime.date], first: datetime.date, end: datetime.date
) -> dict[tuple[int, datetime.date], PoolMonth]:
    wanted = set(months)
    pools: dict[tuple[int, datetime.date], PoolMonth] = {}
    # Per pool-month, per price, per node slot: seconds present. Prices change rarely, so
    # the per-slot sums stay integer additions (done in C by map), priced once at the end.
    slot_seconds: dict[tuple[int, datetime.date], dict[Decimal, list[int]]] = defaultdict(dict)
    # Named tuples, not model instances: a year of 100 pools is 36,500 rows.
    days = (
        PoolUsageDay.objects.filter(day__gte=first, day__lt=end)
        .order_by("pool_id", "day")
        .values_list(*_POOL_DAY_FIELDS, named=True)
    )
    for day in days.iterator(chunk_size=2000):
        month = month_start(day.day)
        if month not in wanted or day.pool_id is None:
            continue
        key = (day.pool_id, month)
        pool = pools.get(key)
        if pool is None:
            pool = pools[key] = PoolMonth(pool_id=day.pool_id, month=month)
        pool.label, pool.cluster_id, pool.size_id = day.label, day.cluster_id, day.size_id
        pool.dedicated_client_id = day.dedicated_client_id
        price = prices.price(day.size_id, day.day)
        if price is None:
            if day.node_hours:
                pool.unpriced_days.add(day.day)
            price = ZERO
        mode = pool.modes.setdefault(day.dedicated_client_id, PoolMode())
        mode.hours += day.hours
        mode.node_hours += day.node_hours
        mode.allocated_node_hours += day.allocated_node_hours
        mode.uncapped += day.node_hours * price / CAP_HOURS
        mode.allocated_uncapped += day.allocated_node_hours * price / CAP_HOURS
        pool.hours += day.hours
        pool.node_hours += day.node_hours
        pool.allocated_node_hours += day.allocated_node_hours
        pool.cpu_allocatable_hours += day.cpu_allocatable_hours
        pool.cpu_requested_hours += day.cpu_requested_hours
        pool.memory_allocatable_mib_hours += day.memory_allocatable_mib_hours
        pool.memory_requested_mib_hours += day.memory_requested_mib_hours
        pool.uncapped += day.node_hours * price / CAP_HOURS
        pool.allocated_uncapped += day.allocated_node_hours * price / CAP_HOURS
        seconds = slot_seconds[key].setdefault(price, [])
        slots = day.slot_seconds
        if len(slots) > len(seconds):
            seconds.extend([0] * (len(slots) - len(seconds)))
        seconds[: len(slots)] = map(operator.add, seconds, slots)
    for key, pool in pools.items():
        by_price = slot_seconds[key]
        width = max((len(slots) for slots in by_price.values()), default=0)
        cost = ZERO
        for index in range(width):
            present = sum(slots[index] for slots in by_price.values() if index < len(slots))
            if not present:
                continue
            priced = sum(
                (price * slots[index] for price, slots in by_price.items() if index < len(slots)),
                ZERO,
            )
            # priced / 3600 / 672 is the uncapped charge of this node; the cap scales it.
            capped = min(ONE, Decimal(_CAP_SECONDS) / Decimal(present))
            cost += priced / 3600 / CAP_HOURS * capped
        pool.cost = cost
    return pools


def cluster_item_costs(
    items: Iterable[ClusterCostItem],
    month: datetime.date,
    until: datetime.datetime | None = None,
) -> dict[int, list[tuple[str, Decimal]]]:
    """Each cluster's fixed items in `month` (up to `until`, if given): (name, cost), with
    the 672-hour cap applied to each item's hours across its rows (a price change is a new
    row)."""
    month_begin, month_end = local_midnight(month), local_midnight(next_month(month))
    if until is not None:
        month_end = max(month_begin, min(month_end, until))
    grouped: dict[tuple[int, str], list[tuple[Decimal, Decimal]]] = defaultdict(list)
    for item in items:
        start = max(month_begin, local_midnight(item.effective_from))
        stop = month_end
        if item.ends_on is not None:
            stop = min(stop, local_midnight(item.ends_on + datetime.timedelta(days=1)))
        hours = hours_between(start, stop)
        if hours > 0:
            grouped[(item.cluster_id, item.name)].append((hours, item.monthly_price))
    result: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for (cluster_id, name), rows in sorted(grouped.items()):
        total_hours = sum((hours for hours, _ in rows), ZERO)
        capped = min(ONE, CAP_HOURS / total_hours)
        cost = sum((price * hours / CAP_HOURS for hours, price in rows), ZERO) * capped
        result[cluster_id].append((name, cost))
    return result


def _cluster_months(
    pools: dict[tuple[int, datetime.date], PoolMonth],
    months: list[datetime.date],
    first: datetime.date,
    end: datetime.date,
    until: datetime.datetime,
) -> dict[tuple[int, datetime.date], ClusterMonth]:
    clusters: dict[tuple[int, datetime.date], ClusterMonth] = {}
    for pool in pools.values():
        if pool.cluster_id is None:
            continue
        key = (pool.cluster_id, pool.month)
        cluster = clusters.setdefault(key, ClusterMonth(pool.cluster_id, pool.month))
        cluster.node_cost += pool.cost
    items = list(
        ClusterCostItem.objects.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=first)).filter(
            effective_from__lt=end
        )
    )
    for month in months:
        for cluster_id, costs in cluster_item_costs(items, month, until).items():
            cluster = clusters.setdefault((cluster_id, month), ClusterMonth(cluster_id, month))
            cluster.items = costs
            cluster.items_cost = sum((cost for _, cost in costs), ZERO)
    return clusters


def _environment_costs(
    prices: PriceBook,
    pools: dict[tuple[int, datetime.date], PoolMonth],
    months: list[datetime.date],
    first: datetime.date,
    end: datetime.date,
    client_ids: Collection[int] | None,
) -> list[EnvironmentCost]:
    rows = EnvironmentUsageDay.objects.filter(day__gte=first, day__lt=end)
    if client_ids is not None:
        rows = rows.filter(client_id__in=list(client_ids))
    grouped = (
        rows.order_by()
        .annotate(month=TruncMonth("day"))
        .values("client_id", "site_id", "environment_id", "pool_id", "cluster_id", "month")
        .annotate(
            label_=Max("label"),
            site_label_=Max("site_label"),
            hours_=Sum("hours"),
            pod_hours_=Sum("pod_hours"),
            node_hours_=Sum("node_hours"),
            priced_=Sum(F("node_hours") * prices.sql_price(), output_field=_SUM),
        )
        .order_by("client_id", "site_label_", "label_", "environment_id", "pool_id")
    )
    wanted = set(months)
    result = []
    for row in grouped:
        month = row["month"]
        if isinstance(month, datetime.datetime):
            month = month.date()
        if month not in wanted:
            continue
        cost = EnvironmentCost(
            client_id=row["client_id"],
            site_id=row["site_id"],
            site_label=row["site_label_"],
            environment_id=row["environment_id"],
            label=row["label_"],
            pool_id=row["pool_id"],
            cluster_id=row["cluster_id"],
            month=month,
            hours=row["hours_"] or ZERO,
            pod_hours=row["pod_hours_"] or ZERO,
            node_hours=row["node_hours_"] or ZERO,
        )
        pool = pools.get((row["pool_id"], month)) if row["pool_id"] is not None else None
        if pool is not None and row["priced_"]:
            cost.node_cost = row["priced_"] / CAP_HOURS * pool.cap_factor
            cost.cluster_cost = cost.node_cost * pool.cluster_factor
        result.append(cost)
    return result
