"""A client's invoice lines for a month, from a cost report. Pure: no database.

One line per environment (its share of every pool it ran on, plus its part of the cluster's
fixed items), a minimum-fee line for each site that came to less than the minimum, and one
line per dedicated pool for the capacity its environments did not request (a dedicated
pool is the client's whole). Lines follow billing.money's rounding rules.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from billing.costs import CostReport, EnvironmentCost
from billing.money import ZERO, to_cents, with_markup

NODE_HOURS = "node-hours"
_QUANTITY = Decimal("0.001")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class LineDraft:
    kind: str
    description: str
    cost: Decimal  # cents, agency cost
    markup_percent: Decimal
    amount: Decimal  # cents, what the client pays
    quantity: Decimal = ZERO
    unit: str = ""
    site_id: int | None = None
    environment_id: int | None = None
    pool_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    return numerator / denominator if denominator else ZERO


def _environment_line(parts: list[EnvironmentCost], pools: dict, markup: Decimal) -> LineDraft:
    first = parts[0]
    exact = sum((p.cost for p in parts), ZERO)
    cost = to_cents(exact)
    hours = sum((p.hours for p in parts), ZERO)
    pod_hours = sum((p.pod_hours for p in parts), ZERO)
    node_hours = sum((p.node_hours for p in parts), ZERO)
    pool_labels = sorted({pools[p.pool_id].label for p in parts if p.pool_id in pools})
    return LineDraft(
        kind="environment",
        description=first.label,
        cost=cost,
        markup_percent=markup,
        amount=with_markup(cost, markup),
        quantity=node_hours.quantize(_QUANTITY),
        unit=NODE_HOURS,
        site_id=first.site_id,
        environment_id=first.environment_id,
        detail={
            "hours": str(hours.quantize(_QUANTITY)),
            "average_pods": str(_ratio(pod_hours, hours).quantize(Decimal("0.01"))),
            "pools": pool_labels,
            "node_cost": str(sum((p.node_cost for p in parts), ZERO).quantize(_QUANTITY)),
            "cluster_cost": str(sum((p.cluster_cost for p in parts), ZERO).quantize(_QUANTITY)),
        },
    )


def client_lines(
    *,
    report: CostReport,
    client_id: int,
    month: datetime.date,
    markup_percent: Decimal,
    minimum_site_fee: Decimal = ZERO,
) -> list[LineDraft]:
    pools = {pool.pool_id: pool for pool in report.pools_in(month)}
    by_environment: dict[tuple, list[EnvironmentCost]] = defaultdict(list)
    for part in report.environments_in(month, client_id):
        if part.hours <= 0:
            continue
        by_environment[(part.site_label, part.site_id, part.label, part.environment_id)].append(
            part
        )
    by_site: dict[tuple, list[LineDraft]] = defaultdict(list)
    for (site_label, site_id, *_), parts in sorted(
        by_environment.items(), key=lambda item: (item[0][0], item[0][2], item[0][3] or 0)
    ):
        by_site[(site_label, site_id)].append(_environment_line(parts, pools, markup_percent))
    lines: list[LineDraft] = []
    for (site_label, site_id), site_lines in by_site.items():
        lines.extend(site_lines)
        billed = sum((line.amount for line in site_lines), ZERO)
        if minimum_site_fee > 0 and billed < minimum_site_fee:
            topped_up = to_cents(minimum_site_fee - billed)
            lines.append(
                LineDraft(
                    kind="minimum_fee",
                    description=f"{site_label}: minimum monthly fee {minimum_site_fee}",
                    cost=ZERO,
                    markup_percent=ZERO,
                    amount=topped_up,
                    site_id=site_id,
                    detail={"minimum": str(minimum_site_fee), "site_usage": str(billed)},
                )
            )
    for pool in sorted(pools.values(), key=lambda p: p.label):
        # Only the days the pool was the client's: a pool re-dedicated mid-month is billed
        # by its days in each mode.
        if client_id not in pool.owners:
            continue
        mode = pool.modes[client_id]
        exact = pool.unallocated_cost_of(client_id) * (1 + pool.cluster_factor)
        cost = to_cents(exact)
        lines.append(
            LineDraft(
                kind="dedicated_pool",
                description=f"Dedicated node pool {pool.label}: capacity not used by environments",
                cost=cost,
                markup_percent=markup_percent,
                amount=with_markup(cost, markup_percent),
                quantity=(mode.node_hours - mode.allocated_node_hours).quantize(_QUANTITY),
                unit=NODE_HOURS,
                pool_id=pool.pool_id,
                detail={
                    "hours": str(mode.hours.quantize(_QUANTITY)),
                    "average_nodes": str(_ratio(mode.node_hours, mode.hours).quantize(_CENT)),
                    "node_hours": str(mode.node_hours.quantize(_QUANTITY)),
                    "pool_cost": str(to_cents(pool.cost * (1 + pool.cluster_factor))),
                },
            )
        )
    return lines
