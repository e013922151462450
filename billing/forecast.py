"""A client's month so far and its forecast, per site and environment, in the client's
terms: amounts the client pays (markup included), never the agency's cost, node prices or
markup. Pure: works on invoice line drafts (billing.lines).

The forecast assumes that whatever still runs keeps running as it ran this month: each line
grows at its own average rate so far (its amount per hour it ran) for the hours left in the
month, up to the 672 hours a month the provider bills at most (a node running all month
costs its monthly price). A line that no longer runs (an environment destroyed, a pool no
longer dedicated to the client) stays at what it came to. Minimum fees are applied to each
site's forecast as the invoice would.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal

from billing.costs import CAP_HOURS
from billing.lines import LineDraft
from billing.money import ZERO, to_cents

ONE = Decimal(1)


@dataclass
class CostLine:
    kind: str  # environment, minimum_fee, dedicated_pool
    description: str
    so_far: Decimal
    forecast: Decimal
    site_id: int | None = None
    environment_id: int | None = None


@dataclass
class SiteCosts:
    site_id: int | None
    name: str
    lines: list[CostLine] = field(default_factory=list)

    @property
    def so_far(self) -> Decimal:
        return sum((line.so_far for line in self.lines), ZERO)

    @property
    def forecast(self) -> Decimal:
        return sum((line.forecast for line in self.lines), ZERO)


@dataclass
class MonthCosts:
    client_id: int
    month: datetime.date
    currency: str
    sites: list[SiteCosts]
    other: list[CostLine]  # dedicated pools: not one site's

    @property
    def so_far(self) -> Decimal:
        return sum((s.so_far for s in self.sites), ZERO) + sum((o.so_far for o in self.other), ZERO)

    @property
    def forecast(self) -> Decimal:
        return sum((s.forecast for s in self.sites), ZERO) + sum(
            (o.forecast for o in self.other), ZERO
        )

    def by_environment(self) -> dict[int, Decimal]:
        """This month so far per environment id."""
        return {
            line.environment_id: line.so_far
            for site in self.sites
            for line in site.lines
            if line.environment_id is not None
        }


def grown(amount: Decimal, hours: Decimal, remaining_hours: Decimal) -> Decimal:
    """`amount` for `hours` so far, continued for `remaining_hours` more at the same rate,
    capped at 672 billed hours; never less than `amount`."""
    if hours <= 0 or remaining_hours <= 0:
        return amount
    factor = max(ONE, min(hours + remaining_hours, CAP_HOURS) / hours)
    return to_cents(amount * factor)


def month_costs(
    *,
    client_id: int,
    month: datetime.date,
    currency: str,
    lines: list[LineDraft],
    remaining_hours: Decimal,
    site_names: dict[int, str],
    running_environments: Collection[int],
    dedicated_pools: Collection[int],
    minimum_site_fee: Decimal,
) -> MonthCosts:
    sites: dict[int | None, SiteCosts] = {}
    other: list[CostLine] = []
    for line in lines:
        if line.kind == "minimum_fee":
            continue  # recomputed below, for the forecast as for the month so far
        hours = Decimal(line.detail.get("hours", "0"))
        still = (
            line.environment_id in running_environments
            if line.kind == "environment"
            else line.pool_id in dedicated_pools
        )
        forecast = grown(line.amount, hours, remaining_hours) if still else line.amount
        cost = CostLine(
            kind=line.kind,
            description=line.description,
            so_far=line.amount,
            forecast=forecast,
            site_id=line.site_id,
            environment_id=line.environment_id,
        )
        if line.kind != "environment":
            other.append(cost)
            continue
        site = sites.get(line.site_id)
        if site is None:
            name = site_names.get(line.site_id or 0) or line.description.split(" / ")[0]
            site = sites[line.site_id] = SiteCosts(line.site_id, name)
        site.lines.append(cost)
    if minimum_site_fee > 0:
        for site in sites.values():
            # Topped up as the invoice would be now, and as it would be at the month's end.
            so_far = to_cents(max(ZERO, minimum_site_fee - site.so_far))
            forecast = to_cents(max(ZERO, minimum_site_fee - site.forecast))
            if so_far or forecast:
                site.lines.append(
                    CostLine(
                        kind="minimum_fee",
                        description=f"Minimum monthly fee {minimum_site_fee}",
                        so_far=so_far,
                        forecast=forecast,
                        site_id=site.site_id,
                    )
                )
    ordered = sorted(sites.values(), key=lambda s: (s.name, s.site_id or 0))
    return MonthCosts(client_id, month, currency, ordered, other)
